"""Complement: does an emotion read better on held-out MEAD actors with a FACS unit it lacks
added, the unit cut from another emotion's prototype (a candidate calibration step, measured,
not applied).

EMFACS (Friesen and Ekman) lists the action units of each emotion's prototype expression. Some
of them come, in this project, from another emotion's measured prototype
(``calibrate.action_units.SOURCES``): fear's upper-lid raise (AU5) and brow raises (AU1, AU2)
from surprise, its brow lowering (AU4) and lid tightening (AU7) from anger; sadness's inner-brow
raise (AU1) from surprise and its brow lowering (AU4) from anger; anger's upper-lid raise (AU5)
from surprise (``CANDIDATES``). Disgust (AU9 from anger) is left out: the classifier cannot
read it (``calibrate.strength.BLIND_LEVEL``).

Leave-one-actor-out, as ``calibrate.contrast`` chooses its rivals: for each actor in turn the
prototypes and the expression detail are calibrated from the *other* actors, the unit is cut
from those prototypes (``calibrate.action_units.cut_unit``), ``weight`` times it is added to the
emotion's prototype, and the held-out actor's neutral take is edited towards the emotion at
``CONTRAST_STRENGTH`` and read by the classifier (every ``FRAME_STEP``-th frame). A unit at a
weight would pass the contrast step's rule (``calibrate.contrast.choose_contrast``: at least
``MIN_RISE`` above the plain prototype on average, lower for no actor), which is reported.

Writes ``complement.json`` and ``complement.md`` into ``benchmarks/results`` (or ``--out``).

Usage::

    .venv/bin/python benchmarks/complement.py [--weights 0.5,1,1.5]
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS_DIR, data_dir, machine_info, markdown_table, write_json  # noqa: E402
from emodirector.calibrate.action_units import cut_unit  # noqa: E402
from emodirector.calibrate.contrast import CONTRAST_STRENGTH, choose_contrast  # noqa: E402
from emodirector.calibrate.detail import calibrate_detail  # noqa: E402
from emodirector.calibrate.prototypes import (  # noqa: E402
    calibrate_prototypes,
    find_mead_clips,
    fit_labeled_clips,
)
from emodirector.calibrate.strength import (  # noqa: E402
    FRAME_STEP,
    HeldOut,
    acted_readings,
    held_out_actors,
    mean_probabilities,
)
from emodirector.emotion import Emotion  # noqa: E402
from emodirector.evaluate.emotion import EMOTION_CLASSES, EmotionClassifier  # noqa: E402

#: Emotion -> EMFACS units of its prototype that are cut from another emotion's prototype.
CANDIDATES: dict[Emotion, tuple[str, ...]] = {
    Emotion.FEARFUL: ("AU05", "AU01", "AU02", "AU04", "AU07"),
    Emotion.SAD: ("AU01", "AU04"),
    Emotion.ANGRY: ("AU05",),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=data_dir())
    ap.add_argument("--weights", default="0.5,1,1.5", help="comma-separated unit weights")
    ap.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = ap.parse_args()
    weights = [float(w) for w in args.weights.split(",")]
    t0 = time.perf_counter()
    fits = fit_labeled_clips(find_mead_clips(args.data / "labeled" / "mead"))
    by_actor, actors = held_out_actors(fits)
    emotions = tuple(CANDIDATES)
    # per emotion: the plain readings, and per (unit, weight) the readings, per actor
    plain = np.full((len(emotions), len(actors)), np.nan)
    tried = {(e, u, w): np.full(len(actors), np.nan) for e in emotions
             for u in CANDIDATES[e] for w in weights}  # fmt: skip
    with EmotionClassifier() as clf:
        acted = acted_readings(clf, by_actor, actors, emotions, FRAME_STEP)
        for i, actor in enumerate(actors):
            rest = [f for f in fits if f.clip.actor != actor]
            prototypes = calibrate_prototypes(rest)
            neutral = HeldOut.of(by_actor[actor][Emotion.NEUTRAL], FRAME_STEP,
                                 calibrate_detail(rest))  # fmt: skip
            for k, emotion in enumerate(emotions):
                c = EMOTION_CLASSES.index(emotion.value)
                _, faces = neutral.edit(prototypes, emotion, CONTRAST_STRENGTH)
                plain[k, i] = mean_probabilities(clf, faces, neutral.rotation)[c]
                e = prototypes.index(emotion)
                for unit in CANDIDATES[emotion]:
                    field = cut_unit(prototypes, unit)
                    for w in weights:
                        offsets = prototypes.offsets.copy()
                        # the edit scales the prototype by the strength: the unit is added at
                        # ``w`` of itself in the edit
                        offsets[e] += (w * field / CONTRAST_STRENGTH).astype(np.float32)
                        more = dataclasses.replace(prototypes, offsets=offsets)
                        _, faces = neutral.edit(more, emotion, CONTRAST_STRENGTH)
                        tried[emotion, unit, w][i] = mean_probabilities(
                            clf, faces, neutral.rotation)[c]  # fmt: skip
                print(f"{actor} {emotion.value}: plain {plain[k, i]:.3f}", flush=True)
    results: list[dict[str, Any]] = []
    for k, emotion in enumerate(emotions):
        for unit in CANDIDATES[emotion]:
            for w in weights:
                readings = tried[emotion, unit, w]
                rival, _ = choose_contrast(list(plain[k]), [(emotion, w, list(readings))])
                results.append({
                    "emotion": emotion.value,
                    "unit": unit,
                    "weight": w,
                    "held_out": [round(float(v), 4) for v in readings],
                    "mean": round(float(np.mean(readings)), 4),
                    "plain": [round(float(v), 4) for v in plain[k]],
                    "passes_contrast_rule": rival is not None,
                })  # fmt: skip
    data = {
        "schema": "emodirector.bench.complement/1",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "argv": sys.argv[1:],
        "machine": machine_info(),
        "actors": list(actors),
        "strength": CONTRAST_STRENGTH,
        "acted": {e.value: round(float(acted[k]), 4) for k, e in enumerate(emotions)},
        "results": results,
        "seconds": round(time.perf_counter() - t0, 1),
    }
    write_json(args.out / "complement.json", data)
    (args.out / "complement.md").write_text(markdown(data))


def markdown(data: dict[str, Any]) -> str:
    actors = data["actors"]
    header = ["emotion", "unit", "weight", "held out (mean)", *actors, "plain (mean)",
              "acted", "rule"]  # fmt: skip
    rows = [
        [r["emotion"], r["unit"], f"{r['weight']:g}", f"{r['mean']:.3f}",
         *(f"{v:.3f}" for v in r["held_out"]), f"{np.mean(r['plain']):.3f}",
         f"{data['acted'][r['emotion']]:.3f}", "passes" if r["passes_contrast_rule"] else "–"]
        for r in data["results"]
    ]  # fmt: skip
    commit = (data["machine"]["git_commit"] or "unknown")[:10]
    return "\n".join([
        "# Complement: a FACS unit added, read on held-out MEAD actors",
        "",
        f"Measured {data['date']} (`benchmarks/complement.py {' '.join(data['argv'])}`, commit "
        f"{commit}; {data['seconds']:.0f} s). Edits at strength {data['strength']:g}, the unit "
        "cut from the other two actors' prototypes; plain: the same edit without it. rule: the "
        "try would pass the contrast step's rule (0.05 above plain on average, lower for no "
        "actor). Measured only: no prototype is changed by it.",
        "",
        markdown_table(header, rows),
        "",
    ])  # fmt: skip


if __name__ == "__main__":
    main()
