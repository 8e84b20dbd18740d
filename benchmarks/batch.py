"""Batch throughput on Ray: jobs per minute and frames per second for 1 and 2 workers, CPU time
per job, and one long video split in ranges (speed-up 1 vs 2 workers, CPU time per range).

Two rounds, each with a local Ray of ``workers x --cpus-per-job`` CPU slots started per run
(its start-up is timed apart; the worker processes' own start-up and imports fall inside the
batch, as they do for a user):

* ``jobs``: ``--jobs`` edits of the two 75-frame GRID clips (happy, sad, angry, surprised ...).
* ``long``: a GRID clip looped (forwards, backwards) to ``--long-seconds``, rendered in ranges of
  half that length with 1 and 2 workers, and as one plain ``edit_video`` for reference (no Ray);
  the joined output is compared with it (frames, timestamps, audio, PSNR per frame).

From the 1-worker long run: the serial part (pass 1, the join and the scheduling) and the
ranges' wall time give the expected time on a machine with more cores,
``serial + ranges / k`` for ``k`` workers of ``--cpus-per-job`` cores each (each range then
covers ``1/k`` of the video; a range also decodes, without rendering, the frames before it).

The machine may be shared: the load average before and after every run is recorded, with the
CPU time of the whole machine against the batch's own tasks. Writes
``benchmarks/results/batch.json``. Run from the repository root::

    .venv/bin/python benchmarks/batch.py
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from _common import RESULTS_DIR, machine_info, resolve_clip, write_json

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))  # tests._media: the clip writer and independent readers

GRID_CLIPS = ("grid_bbaf2n_man_360x288_speech.mpg", "grid_brbk7n_woman_360x288_speech.mpg")
EMOTIONS = ("happy", "sad", "angry", "surprised", "fearful", "disgusted")


def _uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def _machine_cpu_seconds() -> float:
    """CPU seconds all processes of the machine have used (from /proc/stat)."""
    with open("/proc/stat") as f:
        fields = [float(x) for x in f.readline().split()[1:]]
    busy = sum(fields) - fields[3] - (fields[4] if len(fields) > 4 else 0.0)
    return busy / os.sysconf("SC_CLK_TCK")


def _run(jobs_file: Path, out: Path, workers: int, cpus: int, range_seconds: float) -> dict:
    import ray

    from emodirector.batch.journal import Journal, read_records
    from emodirector.batch.runner import BatchOptions, run_batch

    load_before = os.getloadavg()
    t = time.perf_counter()
    ray.init(num_cpus=workers * cpus, include_dashboard=False, log_to_driver=False,
             object_store_memory=128 * 1024 * 1024)  # fmt: skip
    ray_start = time.perf_counter() - t
    machine0 = _machine_cpu_seconds()
    t = time.perf_counter()
    try:
        options = BatchOptions(workers=workers, cpus_per_job=cpus, range_seconds=range_seconds,
                               progress=False)  # fmt: skip
        result = run_batch(jobs_file, out, options)
    finally:
        wall = time.perf_counter() - t
        machine = _machine_cpu_seconds() - machine0
        ray.shutdown()
    journal = Journal(out)
    states = [journal.jobs[j.output] for j in result.jobs]
    assert all(s.state == "done" for s in states), [s.message for s in states]
    frames = sum(s.frames for s in states)
    task_cpu = sum(s.cpu_seconds for s in states)
    return {
        "workers": workers,
        "cpus_per_job": cpus,
        "ray_start_seconds": round(ray_start, 2),
        "wall_seconds": round(wall, 2),
        "jobs": len(states),
        "frames": frames,
        "jobs_per_minute": round(60 * len(states) / wall, 2),
        "frames_per_second": round(frames / wall, 2),
        "job_seconds": [round(s.seconds, 2) for s in states],
        "job_cpu_seconds": [round(s.cpu_seconds, 2) for s in states],
        "cpu_seconds_per_job": round(task_cpu / len(states), 2),
        "machine_cpu_seconds": round(machine, 1),
        "others_cpu_seconds_estimate": round(max(0.0, machine - task_cpu), 1),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "records": read_records(journal.path),
    }


def bench_jobs(tmp: Path, n_jobs: int, cpus: int) -> dict[str, Any]:
    clips = [resolve_clip(c) for c in GRID_CLIPS]
    rows = [f"{clips[k % 2]},job{k}.mp4,{EMOTIONS[k % len(EMOTIONS)]}" for k in range(n_jobs)]
    jobs = tmp / "jobs.csv"
    jobs.write_text("input,output,emotion\n" + "\n".join(rows) + "\n")
    runs = {}
    for workers in (1, 2):
        run = _run(jobs, tmp / f"jobs_w{workers}", workers, cpus, 0.0)
        run.pop("records")
        runs[f"workers_{workers}"] = run
        print(f"jobs, {workers} worker(s): {run['jobs_per_minute']} jobs/min, "
              f"{run['frames_per_second']} frames/s, {run['cpu_seconds_per_job']} CPU s/job "
              f"(load {run['loadavg_before'][0]} -> {run['loadavg_after'][0]})")  # fmt: skip
    return {"clips": list(GRID_CLIPS), "runs": runs}


def _compare(joined: Path, single: Path, source: Path) -> dict[str, Any]:
    from tests._media import audio_packets, decoded_yuv, frame_count, video_times

    psnr = []
    for a, b in zip(decoded_yuv(joined), decoded_yuv(single), strict=True):
        mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
        psnr.append(99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse))
    return {
        "frames": [frame_count(joined), frame_count(single), frame_count(source)],
        "timestamps_equal": video_times(joined) == video_times(single) == video_times(source),
        "audio_packets_equal": audio_packets(joined) == audio_packets(source),
        "psnr_db_min": round(min(psnr), 2),
        "psnr_db_median": round(float(np.median(psnr)), 2),
    }


def bench_long(tmp: Path, seconds: float, cpus: int) -> dict[str, Any]:
    from tests._media import looped_clip

    from emodirector import EditOptions, EmotionTarget, edit_video
    from emodirector.batch.journal import Journal

    source = looped_clip(resolve_clip(GRID_CLIPS[0]), tmp / "long.mp4", seconds)
    jobs = tmp / "long.csv"
    jobs.write_text(f"input,output,emotion\n{source},long_sad.mp4,sad\n")
    runs: dict[str, Any] = {}
    for workers in (1, 2):
        run = _run(jobs, tmp / f"long_w{workers}", workers, cpus, seconds / 2)
        records = run.pop("records")
        done = [r for r in records if r["state"] == "done"][-1]
        run["edit_id"] = done.get("edit_id", "")
        runs[f"workers_{workers}"] = run
    # per-part wall and CPU time, from a run of the parts in this process (no Ray), 1 at a time
    runs["parts_in_process"] = _parts_in_process(jobs, tmp / "parts", seconds / 2, cpus)
    options = EditOptions()
    edit_id = runs["workers_2"]["edit_id"]
    if edit_id and hasattr(options, "provenance"):
        provenance = dataclasses.replace(options.provenance, edit_id=int(edit_id, 16))
        options = dataclasses.replace(options, provenance=provenance)
    load_before = os.getloadavg()
    t, cpu = time.perf_counter(), time.process_time()
    edit_video(source, tmp / "single.mp4", EmotionTarget.from_label("sad"), options)
    single = {
        "wall_seconds": round(time.perf_counter() - t, 2),
        "cpu_seconds": round(time.process_time() - cpu, 2),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    comparison = _compare(tmp / "long_w2" / "long_sad.mp4", tmp / "single.mp4", source)
    parts = runs["parts_in_process"]
    serial = parts["analyze"]["wall_seconds"] + parts["join"]["wall_seconds"]
    ranges = sum(v["wall_seconds"] for k, v in parts.items() if k.startswith("range"))
    wall1, wall2 = runs["workers_1"]["wall_seconds"], runs["workers_2"]["wall_seconds"]
    projection = {
        f"{k}_workers_{k * cpus}_cores": round((serial + ranges) / (serial + ranges / k), 2)
        for k in (2, 4, 8, 16)
    }
    print(f"long {seconds:g} s: 1 worker {wall1} s, 2 workers {wall2} s "
          f"(speed-up {wall1 / wall2:.2f}), single edit {single['wall_seconds']} s; "
          f"min PSNR {comparison['psnr_db_min']} dB")  # fmt: skip
    journal = Journal(tmp / "long_w2").jobs["long_sad.mp4"]
    return {
        "clip": f"{GRID_CLIPS[0]} looped forwards and backwards to {seconds:g} s",
        "frames": journal.frames,
        "range_seconds": seconds / 2,
        "runs": runs,
        "single_edit_no_ray": single,
        "speedup_1_to_2_workers": round(wall1 / wall2, 2),
        "joined_vs_single_edit": comparison,
        "expected_speedup_with_more_cores": {
            "model": "serial (pass 1 + join) + ranges' wall time / k, from the in-process parts",
            "serial_seconds": round(serial, 2),
            "ranges_seconds": round(ranges, 2),
            **projection,
        },
    }


def _parts_in_process(jobs_file: Path, tmp: Path, range_seconds: float, cpus: int) -> dict:
    """Pass 1, each range and the join run one after the other in this process: the wall and
    CPU time of each part with nothing else of the batch running."""
    from emodirector.batch.jobs import read_jobs
    from emodirector.batch.ranges import join_ranges, plan_ranges
    from emodirector.batch.runner import _check_row
    from emodirector.batch.worker import range_path, run_analysis, run_range

    job = _check_row(read_jobs(jobs_file)[0])
    parts: dict[str, Any] = {}
    analysis = run_analysis(job, str(tmp / "analysis"), cpus, lambda _: None)
    parts["analyze"] = {"wall_seconds": round(analysis.seconds, 2),
                        "cpu_seconds": round(analysis.cpu_seconds, 2)}  # fmt: skip
    ranges = plan_ranges(analysis.n_frames, analysis.fps, range_seconds)
    for i, frames in enumerate(ranges):
        r = run_range(job, str(tmp / "analysis"), str(tmp), i, frames, lambda _: None)
        assert r.ok, r.message
        parts[f"range {i}"] = {"frames": list(frames), "wall_seconds": round(r.seconds, 2),
                               "cpu_seconds": round(r.cpu_seconds, 2)}  # fmt: skip
    t, cpu = time.perf_counter(), time.process_time()
    join_ranges([range_path(str(tmp), job, i) for i in range(len(ranges))], job.input,
                tmp / "joined.mp4", analysis.audio_streams)  # fmt: skip
    parts["join"] = {"wall_seconds": round(time.perf_counter() - t, 2),
                     "cpu_seconds": round(time.process_time() - cpu, 2)}  # fmt: skip
    return parts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4, help="jobs of the jobs round")
    parser.add_argument("--long-seconds", type=float, default=30.0)
    parser.add_argument("--cpus-per-job", type=int, default=2)
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "batch.json")
    args = parser.parse_args()
    os.environ["RAY_USAGE_STATS_ENABLED"] = "0"
    info = machine_info()
    uptime_before = _uptime()
    with tempfile.TemporaryDirectory(prefix="emodirector-batch-bench-") as tmp:
        jobs = bench_jobs(Path(tmp), args.jobs, args.cpus_per_job)
        long = bench_long(Path(tmp), args.long_seconds, args.cpus_per_job)
    write_json(args.out, {
        "benchmark": "batch",
        "note": "measured on a machine shared with other work: see uptime and the load "
                "averages of each run; timings are noisy",
        "machine": info,
        "uptime_before": uptime_before,
        "uptime_after": _uptime(),
        "jobs": jobs,
        "long_video": long,
    })  # fmt: skip
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
