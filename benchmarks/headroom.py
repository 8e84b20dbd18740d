"""Headroom: how far more strength, or a wider mouth, would take each edit.

``mouth.md`` judges each talking clip's edit at intensity 1 against MEAD's acted level. Where an
edit falls short, this says whether more of the same would get there. Per clip and judged
emotion, the classifier reads:

- x1, x1.5, x2: the edit with the emotion's calibrated strength times 1, 1.5 and 2 (the
  calibration's candidates stop at 1.6 times the prototype because faces distort past it, so 2
  times the calibrated strength is well beyond what the editor would ship). The speech
  constraint stays: the amplitude factor is the emotion's calibrated one (at most 1.35: more
  strength does not open the mouth more);
- wide, x2 wide: x1 and x2 with the speech's openings widened to ``WIDE`` times the input's
  (the constraint's band stops at 1.35), the timing and the closures kept (the extra opening is
  gated by the input's own: ``SpeechPlan.open_gap``). MEAD's actors open 1.3 to 2.9 times
  wider in their acted takes than in their neutral ones; the classifier reads surprise mostly
  from an open mouth.

Each variant's ``open`` is the median, over the read frames where the input's lips are apart,
of the edited inner-lip gap over the input's (``lip_aperture`` of the edited landmarks): it
shows that a variant opens the mouth as it says. Next to it, how wide the talker opens the mouth
while speaking (``opening``). MEAD's three neutral takes are edited the same way as a
reference: they are the footage the shipped prototypes were calibrated on (in sample).

Every ``STEP`` th frame with a face is rendered with a renderer prepared for the edit as
``edit_video`` prepares it (mouth interior from the clip's own frames, glasses; the glasses
keeper sees only the read frames) and read on the luma plane in the edited landmarks' crop, as
``calibrate.strength`` reads its edits. ``evaluate`` re-tracks the encoded output instead, so
the x1 column differs from ``mouth.md``'s ``p after`` (by up to about 0.05).
MEAD's acted level is taken from ``mouth.json`` (the same classifier and crop).

Writes ``headroom.json`` and ``headroom.md`` into ``benchmarks/results`` (or ``--out``).

Usage::

    .venv/bin/python benchmarks/headroom.py [--clips GLOB] [--stills GLOB,GLOB]
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import json
import sys
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))  # stills: the grids

from _common import RESULTS_DIR, data_dir, machine_info, markdown_table, write_json  # noqa: E402
from emodirector import (  # noqa: E402
    EmotionTarget,
    VideoAnalysis,
    analyze_video,
    plan_edit,
    render_frame,
)
from emodirector.evaluate.emotion import EMOTION_CLASSES, EmotionClassifier  # noqa: E402
from emodirector.evaluate.lips import lip_aperture  # noqa: E402
from emodirector.manipulate.editor import ExpressionEdit  # noqa: E402
from emodirector.manipulate.emotions import Emotion  # noqa: E402
from emodirector.manipulate.prototypes import EmotionPrototypes  # noqa: E402
from emodirector.pipeline import FaceFrames, clip_faces, edited_landmarks  # noqa: E402
from emodirector.render.renderer import WarpRenderer  # noqa: E402
from emodirector.video import iter_frames  # noqa: E402
from emodirector.video.rotation import upright  # noqa: E402
from stills import face_crop, write_strip  # noqa: E402

#: The emotions ``mouth.md`` judges against MEAD's acted level.
JUDGED = ("happy", "sad", "angry", "surprised")
#: Multiples of the calibrated strength tried.
FACTORS = (1.0, 1.5, 2.0)
#: The speech's openings in the wide variants, times the input's (the band's top is 1.35).
WIDE = 2.0
#: Every this many frames with a face is rendered and read.
STEP = 3
#: The variants, in the order of the tables and the stills.
VARIANTS = (*(f"x{f:g}" for f in FACTORS), "wide", "x2 wide")
VIDEO_SUFFIXES = {".mp4", ".mpg", ".mov", ".mkv", ".avi", ".webm"}


def with_strength(
    prototypes: EmotionPrototypes, emotion: Emotion, factor: float
) -> EmotionPrototypes:
    """``prototypes`` with ``emotion``'s calibrated strength times ``factor``."""
    strength = prototypes.strength.copy()
    strength[prototypes.emotions.index(emotion)] *= factor
    return dataclasses.replace(prototypes, strength=strength)


def widened(edit: ExpressionEdit, factor: float = WIDE) -> ExpressionEdit:
    """``edit`` with the speech's openings ``factor`` times the input's where its lips are apart
    (on top of the amplitude factor's, up to ``factor``; closures stay closed)."""
    s = edit.speech
    if s is None or s.open_gap is None:
        raise ValueError("the edit has no speech plan to widen")
    more = np.maximum(factor - s.scale, 0.0) * s.open_gap
    return dataclasses.replace(
        edit, speech=dataclasses.replace(s, opening=(s.opening + more).astype(np.float32))
    )


def opening(analysis: VideoAnalysis) -> float:
    """90th percentile of the inner-lip gap (``lip_aperture``: over the outer eye corners'
    distance) on the frames with a face."""
    present = analysis.track.present
    return float(np.nanpercentile(lip_aperture(analysis.track.landmarks[present]), 90))


def measure_clip(
    path: Path, prototypes: EmotionPrototypes, clf: EmotionClassifier, still: Path | None = None
) -> dict:
    """Readings of ``path``'s input and of every variant of every judged emotion's edit; with
    ``still``, a PNG of the face on the middle frame read: per emotion, the input, then the
    variants in ``VARIANTS``' order."""
    t0 = time.perf_counter()
    analysis = analyze_video(path)
    variants: dict[str, tuple[str, ExpressionEdit]] = {}
    for name in JUDGED:
        emotion = Emotion.parse(name)
        for factor in FACTORS:
            edit = plan_edit(analysis, EmotionTarget(emotion, 1.0),
                             prototypes=with_strength(prototypes, emotion, factor))  # fmt: skip
            variants[f"{name} x{factor:g}"] = (name, edit)
        variants[f"{name} wide"] = (name, widened(variants[f"{name} x1"][1]))
        variants[f"{name} x2 wide"] = (name, widened(variants[f"{name} x2"][1]))
    h = analysis.track.frame_size[1]
    rotation = analysis.info.rotation
    sampled = np.flatnonzero(analysis.track.present)[::STEP]
    wanted = set(sampled.tolist())
    middle = int(sampled[len(sampled) // 2])
    own = lip_aperture(analysis.track.landmarks[sampled])
    apart = own > np.nanmedian(own)  # the read frames where the input's lips are most apart
    # the read frames, decoded once for the input and all the variants
    frames = [
        (f.index, f.image) for f in iter_frames(analysis.info, "yuv420p") if f.index in wanted
    ]
    readings: dict[str, list[np.ndarray]] = {"input": []}
    tiles: dict[str, list[np.ndarray]] = {}
    for i, image in frames:
        lm = analysis.track.landmarks[i][:, :2]
        readings["input"].append(clf.predict_face(image[:h], lm, rotation))
        if i == middle:
            box = face_crop(analysis, middle)
            for name in JUDGED:
                tiles[name] = [_rgb(image, box, rotation)]
    gaps: dict[str, float] = {}
    renderer = WarpRenderer.from_options()  # one per clip: the mouth's bank is read once
    for key, (name, edit) in variants.items():
        renderer.prepare([clip_faces(analysis, edit)])
        faces = FaceFrames(analysis, edit)
        readings[key], moved = [], []
        for i, image in frames:
            out = render_frame(image, i, analysis, edit, renderer=renderer, faces=faces)
            pts = edited_landmarks(analysis, edit, i)
            pts = analysis.track.landmarks[i] if pts is None else pts
            moved.append(pts)
            readings[key].append(clf.predict_face(out[:h], pts[:, :2], rotation))
            if still is not None and i == middle:
                tiles[name].append(_rgb(out, face_crop(analysis, i), rotation))
        ratio = lip_aperture(np.stack(moved)) / own
        gaps[key] = round(float(np.nanmedian(ratio[apart])), 3)
    mean = {k: np.mean(v, axis=0) for k, v in readings.items()}
    row: dict[str, Any] = {
        "clip": path.name,
        "frames_read": len(sampled),
        "opening_p90": round(opening(analysis), 3),
        "input": dict(
            zip(EMOTION_CLASSES, np.round(mean["input"].astype(float), 4).tolist(), strict=True)
        ),
        "target": {
            key: round(float(mean[key][EMOTION_CLASSES.index(name)]), 4)
            for key, (name, _) in variants.items()
        },
        "open": gaps,
    }
    if still is not None:
        write_strip(list(tiles.items()), still / f"{path.stem}_headroom.png")
        row["still"] = f"stills/{path.stem}_headroom.png"
    row["seconds"] = round(time.perf_counter() - t0, 1)
    return row


def _rgb(frame: np.ndarray, box: tuple[slice, slice], rotation: int) -> np.ndarray:
    """The ``box`` of a yuv420p frame, upright RGB."""
    return upright(cv2.cvtColor(frame, cv2.COLOR_YUV2RGB_I420)[box], rotation)


def mead_levels(path: Path) -> dict[str, float]:
    """MEAD's acted level per judged emotion from a ``mouth.json``."""
    mead = json.loads(path.read_text())["mead"]["probability"]
    return {e: float(mead[e]["mean"]) for e in JUDGED}


def summary(rows: list[dict], levels: dict[str, float]) -> dict[str, Any]:
    """Cases (talking clips only) reaching MEAD's level per variant, and those none reaches."""
    talking = [r for r in rows if not r["reference"]]
    reach = {
        k: sum(r["target"][f"{e} {k}"] >= levels[e] for r in talking for e in JUDGED)
        for k in VARIANTS
    }
    never = [
        f"{r['clip']} {e}"
        for r in talking
        for e in JUDGED
        if max(r["target"][f"{e} {k}"] for k in VARIANTS) < levels[e]
    ]
    return {"cases": len(talking) * len(JUDGED), "reach": reach, "never": never}


def markdown(result: dict[str, Any]) -> str:
    levels = result["mead_level"]
    head = ["clip", "opening", "emotion", "MEAD", "input", *VARIANTS, "open (x1 / wide)"]
    rows = []
    for r in result["clips"]:
        for e in JUDGED:
            vals = [r["target"][f"{e} {k}"] for k in VARIANTS]
            rows.append([
                r["clip"][:28] + (" (ref)" if r["reference"] else ""), f"{r['opening_p90']:.2f}",
                e, f"{levels[e]:.3f}", f"{r['input'][e]:.3f}",
                *[f"**{v:.3f}**" if v >= levels[e] else f"{v:.3f}" for v in vals],
                f"{r['open'][f'{e} x1']:.2f} / {r['open'][f'{e} wide']:.2f}",
            ])  # fmt: skip
    s = result["summary"]
    reach = ", ".join(f"{k} {v}" for k, v in s["reach"].items())
    order = ", ".join(VARIANTS)
    return "\n".join(
        [
            "# Headroom: what more strength, or a wider mouth, would read",
            "",
            f"Measured {result['date']} (`benchmarks/headroom.py`, commit "
            f"{str(result['machine'].get('git_commit'))[:10]}), {result['seconds']} s. One frame "
            f"with a face in {STEP}, rendered as `edit_video` renders it without the encoder, "
            "read on the luma plane in the edited landmarks' crop. MEAD: the acted level from "
            f"`{result['mead_source']}`. x1, x1.5, x2: the emotion's calibrated strength times "
            "that (the editor ships x1; the calibration's candidates stop at 1.6 times the "
            "prototype, where faces distort), the speech constraint kept; wide, x2 wide: x1 and "
            f"x2 with the speech's openings {WIDE:g} times the input's (the constraint stops at "
            "1.35), its timing and closures kept. open: the median edited inner-lip gap over the "
            "input's where the input's lips are apart, for x1 and wide. opening: the 90th "
            "percentile of the input's inner-lip gap over its outer eye corners' distance. "
            "Bold: at or above MEAD's level. (ref): MEAD's neutral takes, the prototypes' own "
            "footage (in sample).",
            "",
            f"Talking clips, {s['cases']} cases, reaching MEAD's level: {reach}. "
            f"Reached in none of the variants: {len(s['never'])}.",
            "",
            markdown_table(head, rows),
            "",
            *[
                f"![{r['clip']}: per emotion the input, then {order}]({r['still']})\n"
                for r in result["clips"]
                if "still" in r
            ],
        ]
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=data_dir())
    ap.add_argument("--out", type=Path, default=RESULTS_DIR)
    ap.add_argument("--clips", default="*", help="glob of talking clip names (default all)")
    ap.add_argument("--mead-level", type=Path, default=RESULTS_DIR / "mouth.json",
                    help="a mouth.json whose MEAD acted level is the bar")  # fmt: skip
    ap.add_argument("--no-reference", action="store_true", help="skip MEAD's neutral takes")
    ap.add_argument(
        "--stills", default="", help="comma-separated globs of clips to write a still grid of"
    )
    args = ap.parse_args()
    t0 = time.perf_counter()
    levels = mead_levels(args.mead_level)
    clips = sorted(
        p
        for p in (args.data / "videos").iterdir()
        if p.suffix.lower() in VIDEO_SUFFIXES and fnmatch.fnmatch(p.name, args.clips)
    )
    refs = [] if args.no_reference else sorted((args.data / "labeled" / "mead").glob("*neutral*"))
    prototypes = EmotionPrototypes.load_default()
    rows = []
    with EmotionClassifier() as clf:
        for path, reference in [(c, False) for c in clips] + [(r, True) for r in refs]:
            wanted = any(fnmatch.fnmatch(path.name, g) for g in args.stills.split(",") if g)
            still = args.out / "stills" if wanted else None
            row = measure_clip(path, prototypes, clf, still) | {"reference": reference}
            rows.append(row)
            print(json.dumps(row), flush=True)
    result: dict[str, Any] = {
        "schema": 1,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine_info(),
        "mead_source": str(args.mead_level.relative_to(RESULTS_DIR.parent.parent))
        if args.mead_level.is_relative_to(RESULTS_DIR.parent.parent)
        else args.mead_level.name,
        "mead_level": levels,
        "factors": list(FACTORS),
        "step": STEP,
        "clips": rows,
        "summary": summary(rows, levels),
        "seconds": round(time.perf_counter() - t0, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "headroom.json", result)
    (args.out / "headroom.md").write_text(markdown(result))
    print(args.out / "headroom.md")


if __name__ == "__main__":
    main()
