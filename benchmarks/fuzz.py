"""Fuzz the container and frame-decoding path for a bounded time through the real CLI.

Mutates the bytes of a 10-frame cut of a shared clip (random overwrites, sometimes a truncation;
seeded, so runs repeat) and runs ``emodirector edit`` on each mutant in a subprocess with a
timeout, with the same checks as ``tests/test_robustness_fuzz.py``: exit 0, 4 or 6, one error
line and no traceback, no partial output, input unchanged, no hang. Counts per exit code and
every failure go to ``benchmarks/results/fuzz.json``.

Run from the repository root::

    .venv/bin/python benchmarks/fuzz.py --seconds 600
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

from _common import REPO_ROOT, RESULTS_DIR, machine_info, resolve_clip, write_json

sys.path.insert(0, str(REPO_ROOT))

from tests._media import transcode  # noqa: E402
from tests.test_robustness_fuzz import check_mutant, mutate  # noqa: E402

DEFAULT_CLIP = "grid_bbaf2n_man_360x288_speech.mpg"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", default=DEFAULT_CLIP)
    parser.add_argument("--seconds", type=float, default=300.0, help="time budget")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "fuzz.json")
    args = parser.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    codes: Counter[int] = Counter()
    failures: list[dict[str, object]] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="emodirector-fuzz-") as tmp:
        folder = Path(tmp) / "run"
        folder.mkdir()
        seed = transcode(resolve_clip(args.clip), Path(tmp) / "seed.mp4", max_frames=10)
        data = seed.read_bytes()
        n = 0
        while time.perf_counter() - t0 < args.seconds:
            k = int(rng.integers(1, 41))
            positions, values = rng.integers(0, len(data), k), rng.integers(0, 256, k)
            flips = [(int(p), int(v)) for p, v in zip(positions, values, strict=True)]
            cut = len(data) if rng.random() < 0.7 else int(rng.integers(0, len(data)))
            try:
                codes[check_mutant(mutate(data, flips, cut), folder)] += 1
            except Exception as exc:  # a broken contract: record it and go on
                failures.append({"case": n, "flips": flips, "cut": cut, "error": str(exc)[-500:]})
            n += 1
    result = {
        "benchmark": "fuzz",
        "machine": machine_info(),
        "clip": args.clip,
        "seed": args.seed,
        "seconds": round(time.perf_counter() - t0, 1),
        "cases": n,
        "exit_codes": {str(k): v for k, v in sorted(codes.items())},
        "failures": failures,
    }
    write_json(args.output, result)
    print(json.dumps({k: result[k] for k in ("seconds", "cases", "exit_codes")}))
    print(f"{len(failures)} failures; wrote {args.output}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
