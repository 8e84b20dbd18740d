"""Own reading: how much of each emotion the prototype editor reads in MEAD's acted takes,
held out (each actor read with prototypes calibrated from the other two actors' takes), and
with the packaged prototypes (in sample).

The editor takes the actor's own emotion away before it adds the target's
(``ExpressionEditor.estimate_own``). A level-3 take stands for weight 1 of its emotion's
prototype; where the estimate reads less, that much of the actor's own emotion stays in the
edit. This measures the estimate on every take and gives, per emotion, the median over the
actors of its own takes' reading and the gain that would bring it to 1, next to the highest
reading of that emotion in the actors' neutral takes and in the other emotions' takes (what
such a gain would scale up too).

Writes ``own_reading.json`` and ``own_reading.md`` into ``benchmarks/results`` (or ``--out``).

Usage::

    .venv/bin/python benchmarks/own_reading.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS_DIR, data_dir, machine_info, markdown_table, write_json  # noqa: E402
from emodirector.calibrate.prototypes import (  # noqa: E402
    LabeledFit,
    calibrate_prototypes,
    find_mead_clips,
    fit_labeled_clips,
)
from emodirector.manipulate.editor import ExpressionEditor  # noqa: E402
from emodirector.manipulate.emotions import Emotion  # noqa: E402
from emodirector.manipulate.prototypes import EmotionPrototypes  # noqa: E402
from emodirector.video import probe  # noqa: E402


def readings(prototypes: EmotionPrototypes, takes: list[LabeledFit]) -> dict[str, list[float]]:
    """``{take's emotion: median estimated weight of each prototype over its frames}``."""
    editor = ExpressionEditor(prototypes.basis())  # the default options
    out: dict[str, list[float]] = {}
    for take in takes:
        if take.clip.emotion.value in out:
            raise SystemExit(f"two {take.clip.emotion.value} takes of {take.clip.actor}")
        fps = float(probe(take.clip.path).fps)
        own = editor.estimate_own(take.fit, fps)[take.fit.present]
        out[take.clip.emotion.value] = [round(float(v), 4) for v in np.median(own, axis=0)]
    return out


def summary(per_actor: dict[str, dict[str, list[float]]], names: tuple[str, ...]) -> list[dict]:
    """Per emotion: its own takes' median reading, the gain to 1, the highest elsewhere."""
    rows = []
    for k, name in enumerate(names):
        own = [r[name][k] for r in per_actor.values() if name in r]
        neutral = [r["neutral"][k] for r in per_actor.values() if "neutral" in r]
        others = [
            v[k] for r in per_actor.values() for e, v in r.items() if e not in (name, "neutral")
        ]
        median = float(np.median(own))
        rows.append({
            "emotion": name,
            "own_takes": own,
            "median": round(median, 4),
            "gain_to_1": round(1.0 / median, 2) if median > 0 else None,
            "neutral_max": round(max(neutral), 4) if neutral else None,
            "others_max": round(max(others), 4) if others else None,
        })  # fmt: skip
    return rows


def _num(v: float | None) -> str:
    return "–" if v is None else f"{v:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=data_dir())
    ap.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = ap.parse_args()
    t0 = time.perf_counter()
    names = tuple(e.value for e in Emotion if e is not Emotion.NEUTRAL)
    default = EmotionPrototypes.load_default()
    if tuple(default.basis().names) != names:
        raise SystemExit(f"unexpected prototype names {default.basis().names}")
    fits = fit_labeled_clips(find_mead_clips(args.data / "labeled" / "mead"))
    actors = sorted({f.clip.actor for f in fits})
    held: dict[str, dict[str, list[float]]] = {}
    packaged: dict[str, dict[str, list[float]]] = {}
    for actor in actors:
        takes = [f for f in fits if f.clip.actor == actor]
        held[actor] = readings(calibrate_prototypes([f for f in fits if f.clip.actor != actor]),
                               takes)  # fmt: skip
        packaged[actor] = readings(default, takes)
        print(actor, "done", flush=True)
    result: dict[str, Any] = {
        "schema": 1,
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine_info(),
        "actors": actors,
        "modes": list(names),
        "held_out": {"per_actor": held, "summary": summary(held, names)},
        "packaged": {"per_actor": packaged, "summary": summary(packaged, names)},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    write_json(args.out / "own_reading.json", result)
    lines = [
        "# Own reading: the editor's estimate of an actor's own emotion on MEAD's acted takes",
        "",
        f"Measured {result['date']} (`benchmarks/own_reading.py`), {result['seconds']} s. "
        "The estimate with the default `EditorOptions`, median over each take's frames. "
        "A level-3 take stands for weight 1 of its emotion. held out: each actor read with "
        "prototypes calibrated from the other two actors' takes (`calibrate_prototypes`, no "
        "contrast, complement or strength step); packaged: the shipped prototypes (in sample).",
        "",
    ]
    for label, part in (("Held out", result["held_out"]), ("Packaged", result["packaged"])):
        rows = [
            [r["emotion"], " / ".join(f"{v:.2f}" for v in r["own_takes"]), f"{r['median']:.2f}",
             "–" if r["gain_to_1"] is None else f"{r['gain_to_1']:.2f}",
             _num(r["neutral_max"]), _num(r["others_max"])]
            for r in part["summary"]
        ]  # fmt: skip
        lines += [
            f"## {label}",
            "",
            f"own takes: the reading of the emotion in its own takes ({', '.join(actors)}); "
            "neutral max / others max: the highest reading of it in the neutral takes / in the "
            "other emotions' takes.",
            "",
            markdown_table(
                ["emotion", "own takes", "median", "gain to 1", "neutral max", "others max"], rows
            ),
            "",
        ]
    (args.out / "own_reading.md").write_text("\n".join(lines))
    print(args.out / "own_reading.md")


if __name__ == "__main__":
    main()
