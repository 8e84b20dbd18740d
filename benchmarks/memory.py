"""Peak memory of a full edit as a function of video length.

Builds looped versions of a shared clip, a short one (``--short-seconds``, default 30 s) and a long
one (``--long-seconds``, default 600 s = 10 minutes), and runs ``emodirector.edit_video`` (happy,
intensity 1.0) on each in its own fresh Python process, which reports its peak resident set size
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``) at the end, together with wall time, frames and
RSS samples taken along the way (on the first frame of each pass and every ``--sample-every``
frames). A streaming
pipeline should need about the same peak for both; the difference long minus short is what grows
with the length of the video.

Clips (``--clip``, default ``videoretalking_face2_man_mapbg_844x844_speech.mp4``) are made once
and cached in ``--cache-dir`` (default ``/tmp/emodirector-bench-cache``):

* ``--mode remux``: whole copies of the source concatenated by stream copy (packets
  untouched, timestamps shifted), at the source's own size (844x844 for the default clip);
  seconds to build;
* ``--mode 720p``: re-encoded onto a 1280x720 canvas like ``speed.py`` does (libx264 crf 18,
  preset veryfast); a few minutes for 10 minutes of video;
* ``--mode 1080p``: one pass of the source re-encoded onto a 1920x1080 canvas (libx264 crf 18,
  preset veryfast), then that pass concatenated by stream copy to the length wanted; about a
  minute to build. This is the mode of the recorded ``memory.json``.

Results go to ``benchmarks/results/memory.json`` and a markdown table is printed.

Run from the repository root (the 10-minute edit takes roughly 10-20 minutes on two cores, so
run it in the background and watch the log)::

    .venv/bin/python benchmarks/memory.py                       # 30 s and 600 s
    .venv/bin/python benchmarks/memory.py --long-seconds 120    # quicker check
    nohup .venv/bin/python benchmarks/memory.py > /tmp/memory.log 2>&1 &
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    DEFAULT_CACHE_DIR,
    RESULTS_DIR,
    CpuMeter,
    _video_loop,
    cached,
    code_state,
    machine_info,
    make_canvas_clip,
    markdown_table,
    remux_loop_clip,
    resolve_clip,
    write_json,
)

DEFAULT_CLIP = "videoretalking_face2_man_mapbg_844x844_speech.mp4"
_MARK = "@@EMODIRECTOR_MEMORY_RESULT@@"

#: Runs in a fresh interpreter: argv = input, output, sample_every. Prints one JSON line.
CHILD_CODE = f"""
import json, os, resource, sys, time
t0 = time.perf_counter()

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

def rss_split_mib():
    # (anonymous, file-backed, shmem) resident MiB: memmapped arrays show up as file/shmem
    parts = {{}}
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(("RssAnon:", "RssFile:", "RssShmem:")):
                key, value = line.split(":", 1)
                parts[key] = int(value.split()[0]) / 1024
    return [round(parts.get(k, 0.0), 1) for k in ("RssAnon", "RssFile", "RssShmem")]

from emodirector import EditOptions, EmotionTarget, edit_video

src, dst, every = sys.argv[1], sys.argv[2], int(sys.argv[3])
import_rss = rss_mib()
import_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
samples = []

def progress(stage, done, total):
    if done % every == 0 or done == 1:
        samples.append(
            [stage, done, round(rss_mib(), 1), *rss_split_mib(), round(time.perf_counter() - t0, 2)]
        )

r = edit_video(
    src, dst, EmotionTarget.from_label("happy", 1.0), EditOptions(overwrite=True),
    progress=progress,
)
print("{_MARK}" + json.dumps({{
    "frames": r.frames,
    "frames_with_face": r.frames_with_face,
    "edit_total_seconds": r.total_seconds,
    "stage_seconds": r.seconds,
    "process_seconds": time.perf_counter() - t0,
    "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "rss_after_import_mib": import_rss,
    "peak_rss_after_import_mib": import_maxrss,
    "rss_at_end_mib": rss_mib(),
    "rss_split_at_end_mib": rss_split_mib(),
    "samples": samples,
}}), flush=True)
"""


def build_clip(
    source: Path, seconds: float, mode: str, cache_dir: Path
) -> tuple[Path, dict[str, Any]]:
    """The cached looped clip of ``source`` lasting ``seconds`` (built if missing)."""
    info: dict[str, Any] = {}
    if mode == "remux":
        path = cache_dir / f"{source.stem}__remux_{seconds:g}s.mp4"

        def build(p: Path) -> None:
            info.update(remux_loop_clip(source, p, seconds))

    elif mode == "1080p":
        path = cache_dir / f"{source.stem}__1080p_{seconds:g}s_crf18_veryfast.mp4"

        def build(p: Path) -> None:
            n_loop, src_fps = _video_loop(source)
            one_pass = cache_dir / f"{source.stem}__1080p_one_pass_crf18_veryfast.mp4"
            canvas: dict[str, Any] = {}

            def build_pass(q: Path) -> None:
                canvas.update(
                    make_canvas_clip(
                        source, q, n_loop / float(src_fps), 1920, 1080, preset="veryfast"
                    )
                )

            cached(one_pass, build_pass)
            info.update(remux_loop_clip(one_pass, p, seconds))
            info.update(width=1920, height=1080, canvas=canvas or "cached")

    else:
        path = cache_dir / f"{source.stem}__720p_{seconds:g}s_crf18_veryfast.mp4"

        def build(p: Path) -> None:
            info.update(make_canvas_clip(source, p, seconds, preset="veryfast"))

    t0 = time.perf_counter()
    path, built = cached(path, build)
    info["build_seconds"] = round(time.perf_counter() - t0, 2) if built else None
    info["cached"] = not built
    info["path"] = str(path)
    info["bytes"] = path.stat().st_size
    return path, info


def run_child(
    clip: Path, out: Path, sample_every: int, timeout: float, log: Path
) -> dict[str, Any]:
    """Edit ``clip`` in a fresh interpreter; its report plus wall time and CPU contention."""
    cmd = [sys.executable, "-c", CHILD_CODE, str(clip), str(out), str(sample_every)]
    meter = CpuMeter()
    t0 = time.perf_counter()
    with log.open("w") as err:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=err, text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    cpu = meter.stop()
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(_MARK)]
    if proc.returncode != 0 or not lines:
        tail = log.read_text(errors="replace")[-6000:]
        raise RuntimeError(f"edit of {clip} failed (exit {proc.returncode}); stderr tail:\n{tail}")
    res: dict[str, Any] = json.loads(lines[-1][len(_MARK) :])
    res["wall_seconds"] = wall
    res["other_processes_cores"] = cpu["other_cores"]
    return res


def _r(x: float | None, nd: int = 1) -> float | None:
    return None if x is None else round(x, nd)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", default=DEFAULT_CLIP, help="source clip (path or shared name)")
    parser.add_argument("--short-seconds", type=float, default=30.0)
    parser.add_argument("--long-seconds", type=float, default=600.0)
    parser.add_argument("--mode", choices=("remux", "720p", "1080p"), default="1080p")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    parser.add_argument("--sample-every", type=int, default=250, help="frames between samples")
    parser.add_argument("--timeout", type=float, default=4 * 3600, help="seconds per edit")
    parser.add_argument("--output", type=Path, default=RESULTS_DIR / "memory.json")
    args = parser.parse_args(argv)
    if not 0 < args.short_seconds < args.long_seconds:
        parser.error("need 0 < --short-seconds < --long-seconds")

    source = resolve_clip(args.clip)
    machine = machine_info()
    runs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="emodirector-memory-") as tmpdir:
        tmp = Path(tmpdir)
        for label, seconds in (("short", args.short_seconds), ("long", args.long_seconds)):
            print(f"[{label}] preparing {seconds:g} s clip ({args.mode}) ...", file=sys.stderr)
            clip, clip_info = build_clip(source, seconds, args.mode, args.cache_dir)
            print(f"[{label}] editing {clip} ...", file=sys.stderr, flush=True)
            code = code_state()
            res = run_child(
                clip,
                tmp / f"edited_{label}.mp4",
                args.sample_every,
                args.timeout,
                args.cache_dir / f"memory_{label}.stderr.log",
            )
            res["clip"] = clip_info
            res["code"] = code
            res["video_seconds"] = clip_info.get("seconds") or seconds
            runs[label] = res
            print(
                f"[{label}] {res['frames']} frames, wall {res['wall_seconds']:.1f} s, "
                f"peak RSS {res['peak_rss_mib']:.1f} MiB",
                file=sys.stderr,
                flush=True,
            )
            (tmp / f"edited_{label}.mp4").unlink(missing_ok=True)

    short, long_ = runs["short"], runs["long"]
    diff = long_["peak_rss_mib"] - short["peak_rss_mib"]
    extra_minutes = (long_["video_seconds"] - short["video_seconds"]) / 60.0
    extra_frames = long_["frames"] - short["frames"]
    result = {
        "benchmark": "memory",
        "schema": 1,
        "machine": machine,
        "source": source.name,
        "mode": args.mode,
        "runs": {
            label: {
                "video_seconds": r["video_seconds"],
                "frames": r["frames"],
                "frames_with_face": r["frames_with_face"],
                "wall_seconds": _r(r["wall_seconds"], 2),
                "edit_total_seconds": _r(r["edit_total_seconds"], 2),
                "fps": _r(r["frames"] / r["edit_total_seconds"], 2),
                "peak_rss_mib": _r(r["peak_rss_mib"]),
                "rss_after_import_mib": _r(r["rss_after_import_mib"]),
                "rss_at_end_mib": _r(r["rss_at_end_mib"]),
                "rss_anon_file_shmem_at_end_mib": r["rss_split_at_end_mib"],
                "other_processes_cores": r["other_processes_cores"],
                "stage_seconds": {k: round(v, 3) for k, v in r["stage_seconds"].items()},
                "clip": r["clip"],
                "code": r["code"],
                "rss_samples": {
                    "columns": [
                        "stage",
                        "frames_done",
                        "rss_mib",
                        "rss_anon_mib",
                        "rss_file_mib",
                        "rss_shmem_mib",
                        "seconds",
                    ],
                    "rows": r["samples"],
                },
            }
            for label, r in runs.items()
        },
        "peak_rss_diff_long_minus_short_mib": round(diff, 1),
        "peak_rss_growth_mib_per_minute": round(diff / extra_minutes, 2) if extra_minutes else None,
        "peak_rss_growth_kib_per_frame": round(diff * 1024 / extra_frames, 2)
        if extra_frames
        else None,
        "reference_landmarks_float32_mib_per_frame": round(478 * 3 * 4 / 2**20, 5),
    }
    write_json(args.output, result)

    rows = []
    for label, r in result["runs"].items():
        rows.append(
            [
                label,
                f"{r['video_seconds']:.0f}",
                str(r["frames"]),
                f"{r['wall_seconds']:.1f}",
                f"{r['fps']:.1f}",
                f"{r['rss_after_import_mib']:.0f}",
                f"{r['peak_rss_mib']:.0f}",
                f"{r['other_processes_cores']}",
            ]
        )
    header = [
        "run",
        "video s",
        "frames",
        "wall s",
        "edit fps",
        "RSS after import MiB",
        "peak RSS MiB",
        "other procs' cores",
    ]
    print(f"Source: {source.name} ({args.mode}); one fresh process per edit.\n")
    print(markdown_table(header, rows))
    print(
        f"\nPeak RSS, long minus short: {diff:+.1f} MiB "
        f"({result['peak_rss_growth_mib_per_minute']} MiB per extra minute of video, "
        f"{result['peak_rss_growth_kib_per_frame']} KiB per extra frame; the (478, 3) float32 "
        f"landmarks alone are {478 * 3 * 4 / 1024:.1f} KiB per frame)."
    )
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
