"""Complement: every try of the calibration's complement step (``calibrate.complement``),
read on held-out MEAD actors: each candidate FACS unit at each weight, per actor, against the
prototype without it, and which one ``emodirector calibrate`` adopts.

The step runs as in ``emodirector calibrate``: the contrast is chosen first
(``calibrate.contrast``) and applied to the held-out prototypes the units are tried on.

Writes ``complement.json`` and ``complement.md`` into ``benchmarks/results`` (or ``--out``).

Usage::

    .venv/bin/python benchmarks/complement.py
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
from emodirector.calibrate.complement import calibrate_complement  # noqa: E402
from emodirector.calibrate.contrast import (  # noqa: E402
    CONTRAST_STRENGTH,
    calibrate_contrast,
    choose_contrast,
    contrasted,
)
from emodirector.calibrate.prototypes import find_mead_clips, fit_labeled_clips  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=data_dir())
    ap.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = ap.parse_args()
    t0 = time.perf_counter()
    fits = fit_labeled_clips(find_mead_clips(args.data / "labeled" / "mead"))
    contrast = calibrate_contrast(fits)
    cal = calibrate_complement(fits, transform=lambda p: contrasted(p, contrast), progress=print)
    results: list[dict[str, Any]] = []
    for k, emotion in enumerate(cal.emotions):
        plain = list(cal.plain[:, k])
        for unit, w, readings in cal.tried[k]:
            passes = choose_contrast(plain, [(unit, w, list(readings))])[0] is not None
            results.append({
                "emotion": emotion.value,
                "unit": unit,
                "weight": w,
                "held_out": [round(float(v), 4) for v in readings],
                "mean": round(float(np.mean(readings)), 4),
                "plain": [round(float(v), 4) for v in plain],
                "passes_rule": passes,
                "chosen": cal.unit[k] == unit and float(cal.weight[k]) == w,
            })  # fmt: skip
    data = {
        "schema": "emodirector.bench.complement/2",
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "argv": sys.argv[1:],
        "machine": machine_info(),
        "actors": list(cal.actors),
        "strength": CONTRAST_STRENGTH,
        "acted": {e.value: round(float(cal.acted[k]), 4) for k, e in enumerate(cal.emotions)},
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
         f"{data['acted'][r['emotion']]:.3f}",
         "chosen" if r["chosen"] else "passes" if r["passes_rule"] else "–"]
        for r in data["results"]
    ]  # fmt: skip
    commit = (data["machine"]["git_commit"] or "unknown")[:10]
    return "\n".join([
        "# Complement: a FACS unit added, read on held-out MEAD actors",
        "",
        f"Measured {data['date']} (`benchmarks/complement.py {' '.join(data['argv'])}`, commit "
        f"{commit}; {data['seconds']:.0f} s). Edits at strength {data['strength']:g}, the unit "
        "cut from the other two actors' prototypes; plain: the same edit without it. rule: the "
        "try passes the rule (0.05 above plain on average, lower for no actor); chosen: the "
        "one `emodirector calibrate` adopts (the highest passing). Contrast applied first, "
        "as in the calibration.",
        "",
        markdown_table(header, rows),
        "",
    ])  # fmt: skip


if __name__ == "__main__":
    main()
