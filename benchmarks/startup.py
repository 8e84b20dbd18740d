"""Start-up: how long ``import emodirector`` and ``emodirector --help`` take in a new process,
and what an edit's start-up costs before its first frame.

Each command runs ``--repeats`` times in a fresh interpreter (after one warm-up run, so the
files are in the page cache); the median and the fastest wall times are kept, with the median
CPU time of the process (user + system: the figure to read on a loaded machine), next to a bare
``python -c pass``, with the CPU other processes used meanwhile (timings are noisy when
``other_cores`` > 0.3). ``import emodirector`` must load none of OpenCV, PyAV, MediaPipe or
SciPy (``tests/test_light_imports.py`` checks that); the target for ``--help`` is 0.5 s.

An edit imports the pipeline (NumPy, OpenCV, PyAV, SciPy: every stage of a default edit uses
them), then MediaPipe's face mesh and builds its graph when tracking starts. Those are timed as
``import emodirector.pipeline``, ``import the face mesh as edit does`` (the tracker's
``import_face_mesh``, matplotlib stood in), the same with matplotlib (a plain import), and
``face mesh graph built`` (import, graph, one 64x64 frame).

Writes ``startup.json`` into ``benchmarks/results`` (or ``--out``).

Usage::

    .venv/bin/python benchmarks/startup.py [--repeats 10]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import RESULTS_DIR, CpuMeter, machine_info, write_json  # noqa: E402

#: ``--help`` should answer within this (seconds).
HELP_TARGET_S = 0.5


def commands() -> dict[str, list[str]]:
    """The timed commands, by name."""
    python = sys.executable
    out = {
        "python -c pass": [python, "-c", "pass"],
        "import emodirector": [python, "-c", "import emodirector"],
        "python -m emodirector.cli --help": [python, "-m", "emodirector.cli", "--help"],
    }
    mesh = "from mediapipe.python.solutions import face_mesh"
    as_edit = (
        "from emodirector.track.tracker import import_face_mesh; face_mesh = import_face_mesh()"
    )
    graph = (
        "; import numpy as np; m = face_mesh.FaceMesh(refine_landmarks=True); "
        "m.process(np.zeros((64, 64, 3), np.uint8)); m.close()"
    )
    out["import emodirector.pipeline"] = [python, "-c", "import emodirector.pipeline"]
    out["import the face mesh as edit does"] = [python, "-c", as_edit]
    out["import the face mesh (with pyplot)"] = [python, "-c", mesh]
    out["face mesh graph built"] = [python, "-c", as_edit + graph]
    script = shutil.which("emodirector", path=str(Path(python).parent))
    if script is not None:
        out["emodirector --help"] = [script, "--help"]
        out["emodirector edit --help"] = [script, "edit", "--help"]
    return out


def time_command(argv: list[str], repeats: int) -> dict[str, object]:
    """Median and fastest wall time, and median CPU time, of ``argv`` over ``repeats`` runs (one
    warm-up first)."""
    subprocess.run(argv, capture_output=True, check=True)
    times, cpu = [], []
    meter = CpuMeter()
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        times.append(time.perf_counter() - t0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(f"{argv} failed")
        cpu.append(usage.ru_utime + usage.ru_stime)
    load = meter.stop()
    return {
        "median_s": round(statistics.median(times), 4),
        "min_s": round(min(times), 4),
        "cpu_median_s": round(statistics.median(cpu), 4),
        "runs": repeats,
        "other_cores": load["other_cores"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--out", type=Path, default=RESULTS_DIR)
    args = ap.parse_args()
    result: dict[str, object] = {
        "schema": "emodirector.bench.startup/1",
        "machine": machine_info(),
        "help_target_s": HELP_TARGET_S,
        "commands": {},
    }
    for name, argv in commands().items():
        row = time_command(argv, args.repeats)
        result["commands"][name] = row  # type: ignore[index]
        print(f"{name:36s} median {row['median_s']:.3f} s, fastest {row['min_s']:.3f} s, "
              f"CPU {row['cpu_median_s']:.3f} s, other cores {row['other_cores']}",
              flush=True)  # fmt: skip
    write_json(args.out / "startup.json", result)
    print(f"wrote {args.out / 'startup.json'}")


if __name__ == "__main__":
    main()
