"""Headroom: how far more strength, or a mouth free of the speech constraint, takes each edit.

``mouth.md`` judges each talking clip's edit at intensity 1 against MEAD's acted level. Where an
edit falls short, this says whether more of the same would get there: per clip and judged
emotion, the classifier's reading of the edit with the emotion's calibrated strength times 1,
1.5 and 2 (the candidates stop at 1.6 times the prototype because faces distort past it, so 2
times the calibrated strength is well beyond what the editor would ship), and of the edit at
the calibrated strength with the speech constraint lifted (``ExpressionEdit.speech`` None: the
prototype's mouth applied as it is, its jaw motion still taken out). Next to it, how wide the
talker opens the mouth while speaking (the 90th percentile of MediaPipe's inner-lip gap over
the mouth's width): the classifier reads surprise mostly from an open mouth, which the speech
constraint scales by at most 1.35.

MEAD's three neutral takes are edited the same way as a reference: they are the footage the
shipped prototypes were calibrated on (in sample), spoken with the mouth opened wide.

Every ``STEP``-th frame with a face is rendered (``render_frame``, the full render without the
encoder) and read on the luma plane with the edited landmarks' crop (``evaluate`` re-tracks the
encoded output instead, so the strength-1 column differs from ``mouth.md``'s by a few hundredths).
MEAD's acted level is taken from ``mouth.json`` (the same classifier and crop).

Writes ``headroom.json`` and ``headroom.md`` into ``benchmarks/results`` (or ``--out``).

Usage::

    .venv/bin/python benchmarks/headroom.py [--clips GLOB]
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
from emodirector import EmotionTarget, analyze_video, plan_edit, render_frame  # noqa: E402
from emodirector.evaluate.emotion import EMOTION_CLASSES, EmotionClassifier  # noqa: E402
from emodirector.evaluate.lips import lip_aperture  # noqa: E402
from emodirector.manipulate.emotions import Emotion  # noqa: E402
from emodirector.manipulate.prototypes import EmotionPrototypes  # noqa: E402
from emodirector.pipeline import edited_landmarks  # noqa: E402
from emodirector.video import iter_frames  # noqa: E402
from emodirector.video.rotation import upright  # noqa: E402
from stills import face_crop, write_strip  # noqa: E402

#: The emotions ``mouth.md`` judges against MEAD's acted level.
JUDGED = ("happy", "sad", "angry", "surprised")
#: Multiples of the calibrated strength tried.
FACTORS = (1.0, 1.5, 2.0)
#: Every this many frames with a face is rendered and read.
STEP = 3
VIDEO_SUFFIXES = {".mp4", ".mpg", ".mov", ".mkv", ".avi", ".webm"}


def with_strength(prototypes: EmotionPrototypes, emotion: Emotion, factor: float):
    """``prototypes`` with ``emotion``'s calibrated strength times ``factor``."""
    strength = prototypes.strength.copy()
    strength[prototypes.emotions.index(emotion)] *= factor
    return dataclasses.replace(prototypes, strength=strength)


def opening(analysis) -> float:
    """90th percentile of the inner-lip gap (``lip_aperture``: over the outer eye corners'
    distance) on the frames with a face."""
    present = analysis.track.present
    return float(np.nanpercentile(lip_aperture(analysis.track.landmarks[present]), 90))


def measure_clip(
    path: Path, prototypes: EmotionPrototypes, clf: EmotionClassifier, still: Path | None = None
) -> dict:
    """Readings of ``path``'s input and of every variant of every judged emotion's edit; with
    ``still``, a PNG of the face on the middle frame read: per emotion, the input, then x1,
    x1.5, x2 and free."""
    t0 = time.perf_counter()
    analysis = analyze_video(path)
    variants: dict[str, Any] = {}
    for name in JUDGED:
        emotion = Emotion.parse(name)
        for factor in FACTORS:
            edit = plan_edit(analysis, EmotionTarget(emotion, 1.0),
                             prototypes=with_strength(prototypes, emotion, factor))  # fmt: skip
            variants[f"{name} x{factor:g}"] = (name, edit)
        shipped = variants[f"{name} x1"][1]  # FACTORS[0] is 1
        variants[f"{name} free"] = (name, dataclasses.replace(shipped, speech=None))
    readings: dict[str, list[np.ndarray]] = {k: [] for k in ["input", *variants]}
    h = analysis.track.frame_size[1]
    rotation = analysis.info.rotation
    sampled = np.flatnonzero(analysis.track.present)[::STEP]
    wanted = set(sampled.tolist())
    middle = int(sampled[len(sampled) // 2])
    tiles: dict[str, list[np.ndarray]] = {}
    for frame in iter_frames(analysis.info, "yuv420p"):
        if frame.index not in wanted:
            continue
        i = frame.index
        lm = analysis.track.landmarks[i][:, :2]
        readings["input"].append(clf.predict_face(frame.image[:h], lm, rotation))
        box = face_crop(analysis, i)
        for key, (name, edit) in variants.items():
            out = render_frame(frame.image, i, analysis, edit)
            if still is not None and i == middle:
                tiles.setdefault(name, [_rgb(frame.image, box, rotation)])
                tiles[name].append(_rgb(out, box, rotation))
            moved = edited_landmarks(analysis, edit, i)
            pts = moved[:, :2] if moved is not None else lm
            readings[key].append(clf.predict_face(out[:h], pts, rotation))
    mean = {k: np.mean(v, axis=0) for k, v in readings.items() if v}
    row: dict[str, Any] = {
        "clip": path.name,
        "frames_read": len(sampled),
        "opening_p90": round(opening(analysis), 3),
        "input": dict(
            zip(EMOTION_CLASSES, np.round(mean["input"].astype(float), 4).tolist(), strict=True)
        ),
        "target": {},
    }
    for key, (name, _) in variants.items():
        row["target"][key] = round(float(mean[key][EMOTION_CLASSES.index(name)]), 4)
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
    keys = [f"x{f:g}" for f in FACTORS] + ["free"]
    reach = {
        k: sum(r["target"][f"{e} {k}"] >= levels[e] for r in talking for e in JUDGED) for k in keys
    }
    never = [
        f"{r['clip']} {e}"
        for r in talking
        for e in JUDGED
        if max(r["target"][f"{e} {k}"] for k in keys) < levels[e]
    ]
    return {"cases": len(talking) * len(JUDGED), "reach": reach, "never": never}


def markdown(result: dict[str, Any]) -> str:
    levels = result["mead_level"]
    keys = [f"x{f:g}" for f in FACTORS] + ["free"]
    head = ["clip", "opening", "emotion", "MEAD", "input", *keys]
    rows = []
    for r in result["clips"]:
        for e in JUDGED:
            vals = [r["target"][f"{e} {k}"] for k in keys]
            rows.append([
                r["clip"][:28] + (" (ref)" if r["reference"] else ""), f"{r['opening_p90']:.2f}",
                e, f"{levels[e]:.3f}", f"{r['input'][e]:.3f}",
                *[f"**{v:.3f}**" if v >= levels[e] else f"{v:.3f}" for v in vals],
            ])  # fmt: skip
    s = result["summary"]
    reach = ", ".join(f"{k} {v}" for k, v in s["reach"].items())
    return "\n".join(
        [
            "# Headroom: what more strength, or a free mouth, would read",
            "",
            f"Measured {result['date']} (`benchmarks/headroom.py`, commit "
            f"{str(result['machine'].get('git_commit'))[:10]}), {result['seconds']} s. Every "
            f"{STEP}rd frame with a face, full render without the encoder, read on the luma plane "
            "in the edited landmarks' crop. MEAD: the acted level from "
            f"`{result['mead_source']}`. x1, x1.5, x2: the emotion's calibrated strength times "
            "that (the editor ships x1; its candidates stop at 1.6 times the prototype, where "
            "faces distort); free: x1 with the speech constraint lifted (the prototype's mouth as "
            "it is, its jaw motion taken out). opening: the 90th percentile of the input's inner-"
            "lip gap over its outer eye corners' distance. Bold: at or above MEAD's level. "
            "(ref): MEAD's neutral takes, the prototypes' own footage (in sample).",
            "",
            f"Talking clips, {s['cases']} cases, reaching MEAD's level: {reach}. "
            f"Reached by none of the variants: {len(s['never'])}.",
            "",
            markdown_table(head, rows),
            "",
            *[
                f"![{r['clip']}: per emotion the input, x1, x1.5, x2, free]({r['still']})\n"
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
