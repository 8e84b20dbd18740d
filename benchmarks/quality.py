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
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from emodirector import EditOptions, EmotionTarget, analyze_video, edit_video
from emodirector.evaluate.compare import compare_clips
from emodirector.evaluate.measure import measure_clip

EMOTIONS = ("neutral", "happy", "sad", "angry", "surprised", "fearful", "disgusted")
INTENSITIES = (0.5, 1.0)
VIDEO_SUFFIXES = {".mp4", ".mpg", ".mov", ".mkv"}
DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
DEFAULT_OUT = Path(__file__).resolve().parent / "results"
_MEAD_NAMES = {"fear": "fearful"}


def _edit_rows(clip: Path, emotions: list[str], work: Path) -> list[dict[str, Any]]:
    analysis = analyze_video(clip)
    original = measure_clip(clip)
    rows = []
    for emotion in emotions:
        for intensity in INTENSITIES:
            out = work / f"{clip.stem}_{emotion}_{intensity}.mp4"
            result = edit_video(
                clip,
                out,
                EmotionTarget.from_label(emotion, intensity),
                EditOptions(overwrite=True),
                analysis=analysis,
            )
            edited = measure_clip(out, identity_frames=original.identity_frames)
            d = compare_clips(original, edited, emotion, edit_fps=result.fps).to_dict()
            rows.append(
                {
                    "clip": clip.name,
                    "emotion": emotion,
                    "intensity": intensity,
                    "p_before": d["emotion"]["target_probability_before"],
                    "p_after": d["emotion"]["target_probability_after"],
                    "top_before": d["emotion"]["target_top_share_before"],
                    "top_after": d["emotion"]["target_top_share_after"],
                    "identity_distance": d["identity"]["mean_distance"],
                    "lip_r": d["speech"]["lip_correlation"],
                    "jitter_before": d["stability"]["jitter_before"],
                    "jitter_after": d["stability"]["jitter_after"],
                    "flicker_before": d["stability"]["face_flicker_before"],
                    "flicker_after": d["stability"]["face_flicker_after"],
                    "outside_mean_abs": d["outside_face"]["mean_abs_difference"],
                    # the clip was tracked once for all targets, so this is the speed of the
                    # second pass (render + encode), not of a whole edit
                    "render_fps": d["speed"]["edit_fps"],
                }
            )
            out.unlink(missing_ok=True)
            print(json.dumps(rows[-1]), flush=True)
    return rows


def _mead_rows(folder: Path) -> list[dict[str, Any]]:
    rows = []
    for clip in sorted(folder.glob("*_front_*.mp4")):
        label = clip.stem.split("_")[2]
        label = _MEAD_NAMES.get(label, label)
        series = measure_clip(clip, dlib_measures=False).emotion
        rows.append({"clip": clip.name, "label": label, "named": series.dominant()})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def _fmt(v: object) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _markdown(edits: list[dict[str, Any]], mead: list[dict[str, Any]]) -> str:
    lines = ["# Edit quality", "", f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.", ""]
    if mead:
        scored = [r for r in mead if r["label"] != "contempt"]
        hits = sum(r["named"] == r["label"] for r in scored)
        lines += [
            f"`analyze` names the acted MEAD emotion on {hits} of {len(scored)} clips "
            f"(contempt, which the classifier lacks, left out; "
            f"{sum(r['named'] == r['label'] for r in mead)} of {len(mead)} with it).",
            "",
            "| clip | acted | named |",
            "| --- | --- | --- |",
            *(f"| {r['clip']} | {r['label']} | {r['named']} |" for r in mead),
            "",
        ]
    if edits:
        keys = list(edits[0])
        lines += ["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
        lines += ["| " + " | ".join(_fmt(r[k]) for k in keys) + " |" for r in edits]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--clips", default="*", help="glob of clip names (default all)")
    ap.add_argument("--emotions", default=",".join(EMOTIONS))
    ap.add_argument("--no-mead", action="store_true", help="skip the MEAD analyze accuracy")
    args = ap.parse_args()
    clips = sorted(
        p
        for p in (args.data / "videos").iterdir()
        if p.suffix in VIDEO_SUFFIXES and fnmatch.fnmatch(p.name, args.clips)
    )
    emotions = [e for e in args.emotions.split(",") if e]
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
