"""Quality run: edit clips towards each emotion and measure what the edit did.

For each talking clip in ``$EMODIRECTOR_DATA/videos`` (default ``../shared/data``), each emotion
and each intensity (0.5 and 1), the clip is edited with the library (tracked once per clip) and
the edit is compared with the original by ``emodirector.evaluate.compare_clips``: target-emotion
probability before/after, share of frames whose top class is the target, dlib identity
distance, lip-aperture correlation, jitter and flicker, difference outside the face, and the speed
of the render pass (``render_fps``: tracking is done once per clip and reused, so this is not the
speed of a whole ``edit``).
It also runs ``analyze`` on every MEAD clip and counts how often the acted emotion is named.

Writes ``quality.json`` and ``quality.md`` into ``benchmarks/results`` (or ``--out``).

Usage::

    .venv/bin/python benchmarks/quality.py
    .venv/bin/python benchmarks/quality.py --clips 'grid_*' --emotions happy,sad --no-mead
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
import tempfile
from datetime import UTC, datetime
from operator import itemgetter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emodirector import Emotion, EmotionTarget  # noqa: E402
from emodirector.evaluate.measure import measure_clip  # noqa: E402
from harness import Case, CaseRow, Column, num, run_cases, table  # noqa: E402

INTENSITIES = (0.5, 1.0)
VIDEO_SUFFIXES = {".mp4", ".mpg", ".mov", ".mkv"}
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def _cases(emotions: list[Emotion]) -> list[Case]:
    return [Case(f"{e.value}_{i:g}", EmotionTarget(e, i), e) for e in emotions for i in INTENSITIES]


def _row(r: CaseRow) -> dict[str, Any]:
    """A result row (the keys of quality.json)."""
    s = r.summary
    assert isinstance(r.case.target, EmotionTarget)
    return {
        "clip": r.clip,
        "emotion": s.target,
        "intensity": r.case.target.intensity,
        "p_before": num(s.p_before, 6),
        "p_after": num(s.p_after, 6),
        "top_before": num(s.top_before, 6),
        "top_after": num(s.top_after, 6),
        "identity_distance": num(s.identity_distance, 6),
        "lip_r": num(s.lip_correlation, 6),
        "jitter_before": num(s.jitter_before, 6),
        "jitter_after": num(s.jitter_after, 6),
        "flicker_before": num(s.flicker_before, 6),
        "flicker_after": num(s.flicker_after, 6),
        "outside_mean_abs": num(s.outside_mean_abs, 6),
        # the clip was tracked once for all targets, so this is the speed of the second pass
        # (render + encode), not of a whole edit
        "render_fps": num(s.edit_fps, 6),
    }


def _edit_rows(clip: Path, emotions: list[Emotion], work: Path) -> list[dict[str, Any]]:
    rows = []
    for r in run_cases(clip, _cases(emotions), work):
        rows.append(_row(r))
        print(json.dumps(rows[-1]), flush=True)
    return rows


def _mead_rows(folder: Path) -> list[dict[str, Any]]:
    rows = []
    for clip in sorted(folder.glob("*_front_*.mp4")):
        label = clip.stem.split("_")[2]
        if label != "contempt":  # the classifier has no contempt; kept as the clip names it
            label = Emotion.parse(label).value
        series = measure_clip(clip, dlib_measures=False).emotion
        rows.append({"clip": clip.name, "label": label, "named": series.dominant()})
        print(json.dumps(rows[-1]), flush=True)
    return rows


Row = dict[str, Any]


def _markdown(edits: list[Row], mead: list[Row]) -> str:
    lines = ["# Edit quality", "", f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.", ""]
    if mead:
        scored = [r for r in mead if r["label"] != "contempt"]
        hits = sum(r["named"] == r["label"] for r in scored)
        lines += [
            f"`analyze` names the acted MEAD emotion on {hits} of {len(scored)} clips "
            f"(contempt, which the classifier lacks, left out; "
            f"{sum(r['named'] == r['label'] for r in mead)} of {len(mead)} with it).",
            "",
            table(mead, [Column[Row](k, itemgetter(k)) for k in ("clip", "label", "named")]),
            "",
        ]
    if edits:
        lines.append(table(edits, [Column[Row](k, itemgetter(k)) for k in edits[0]]))
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--clips", default="*", help="glob of clip names (default all)")
    ap.add_argument("--emotions", default=",".join(e.value for e in Emotion))
    ap.add_argument("--no-mead", action="store_true", help="skip the MEAD analyze accuracy")
    args = ap.parse_args()
    clips = sorted(
        p
        for p in (args.data / "videos").iterdir()
        if p.suffix in VIDEO_SUFFIXES and fnmatch.fnmatch(p.name, args.clips)
    )
    emotions = [Emotion.parse(e) for e in args.emotions.split(",") if e]
    edits: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for clip in clips:
            edits += _edit_rows(clip, emotions, Path(tmp))
    mead = [] if args.no_mead else _mead_rows(args.data / "labeled" / "mead")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "quality.json").write_text(
        json.dumps({"edits": edits, "mead_analyze": mead}, indent=1) + "\n"
    )
    (args.out / "quality.md").write_text(_markdown(edits, mead))
    print(f"wrote {args.out / 'quality.md'}")


if __name__ == "__main__":
    main()
