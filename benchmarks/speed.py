"""Throughput of the whole default edit next to the codec floor, at 720p, 1080p and 2160p.

For each size the benchmark builds (or takes) one clip and measures, in the same run and in turn,
``--repeats`` rounds (after ``--warmup`` rounds) of:

* ``decode``: ``emodirector.video.iter_frames(info, "yuv420p")`` only;
* ``decode_encode``: decode and re-encode with ``VideoWriter``/``EncodeOptions()`` (libx264
  veryfast, audio copied) and nothing else: the floor any edit at these settings pays;
* ``library``: ``emodirector.edit_video`` towards ``happy`` at intensity 1.0 with the default
  options (every render stage, watermark and manifest), in a fresh Python process that times the
  call itself (imports excluded) and reports its per-stage seconds and its peak RSS;
* ``cli``: ``emodirector edit IN -o OUT --emotion happy`` as a user runs it: the wall time of
  the whole command (start-up included) and its peak RSS.

Each measurement records the load average (``os.getloadavg``) when it started and the cores
other processes used while it ran; the ratios (edit seconds over decode+encode seconds) compare
measurements taken minutes apart on the same machine, so they are what to read on a shared
machine. Results are medians; ``benchmarks/results/speed.json`` and a markdown table.

Clips (built once into ``--cache-dir``, never into the repository):

* ``720p``: 1280x720, 25 fps, ``--seconds`` long: the shared clip ``--clip`` (default
  ``videoretalking_face2_man_mapbg_844x844_speech.mp4``) scaled to 720x720 on a black canvas,
  looped, its audio copied (libx264 crf 18, preset medium);
* ``1080p``: the same at 1920x1080 (landscape);
* ``1080p-portrait``: the shared 1080x1920 clip
  ``latentsync_demo1_woman_seated_outdoor_1080x1920_speech.mp4`` as it is;
* ``2160p``: the 1080p clip upscaled to 3840x2160 (``--seconds-2160p`` long, preset veryfast).

Every clip is long enough (200 frames or more) for its tracking pass to run in two halves at
once, as it does for any clip of that length.

CI mode (``--ci``): an 8-second 720p clip (200 frames: tracked in two halves, as a longer clip
is), no warm-up, two rounds of decode+encode and the library call; prints
``edit/decode+encode`` and exits 0 (a regression check to read, not a timed test; about 1-2
minutes on two cores).

Run from the repository root::

    .venv/bin/python benchmarks/speed.py                      # every size, 3 repeats
    .venv/bin/python benchmarks/speed.py --sizes 720p --repeats 5
    .venv/bin/python benchmarks/speed.py --sizes 2160p --update   # keep the other sizes
    .venv/bin/python benchmarks/speed.py --ci
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
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
    cached,
    code_state,
    machine_info,
    make_canvas_clip,
    markdown_table,
    resolve_clip,
    write_json,
)

DEFAULT_CLIP = "videoretalking_face2_man_mapbg_844x844_speech.mp4"
PORTRAIT_CLIP = "latentsync_demo1_woman_seated_outdoor_1080x1920_speech.mp4"
SIZES = ("720p", "1080p-portrait", "1080p", "2160p")

#: What the edit should reach (issue targets): fps at 720p, and edit time over decode+encode.
GOALS = {
    "720p": {"library_fps": 60.0, "library_ratio": 2.0, "cli_ratio": 2.3},
    "1080p-portrait": {"library_ratio": 2.5},
    "1080p": {"library_ratio": 2.5},
    "2160p": {"peak_rss_mib": 1536.0},
}

#: Order in which the pipeline's stages are reported; unknown stages follow, sorted.
STAGE_ORDER = (
    "track",
    "fit",
    "manipulate",
    "prepare",
    "decode",
    "render",
    "eyes",
    "detail",
    "mouth",
    "glasses",
    "blend",
    "watermark",
    "encode",
)

_CHILD = """
import json, resource, sys, time
from emodirector import EditOptions, EmotionTarget, edit_video
t0 = time.perf_counter()
r = edit_video(sys.argv[1], sys.argv[2], EmotionTarget.from_label("happy", 1.0),
               EditOptions(overwrite=True))
print(json.dumps({"seconds": time.perf_counter() - t0, "frames": r.frames,
                  "frames_with_face": r.frames_with_face, "stages": r.seconds,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def build_clip(size: str, cache: Path, source: Path, seconds: float, seconds_2160p: float) -> Path:
    """The clip of ``size`` (built into ``cache`` unless it is there already)."""
    if size == "1080p-portrait":
        return resolve_clip(PORTRAIT_CLIP)
    if size == "2160p":
        base = build_clip("1080p", cache, source, seconds, seconds_2160p)
        out = cache / f"speed_2160p_{base.stem}_{seconds_2160p:g}s.mp4"
        return cached(
            out,
            lambda p: make_canvas_clip(
                base, p, seconds_2160p, 3840, 2160, layout="fit", preset="veryfast"
            ),
        )[0]
    w, h = {"720p": (1280, 720), "1080p": (1920, 1080)}[size]
    out = cache / f"speed_{size}_{source.stem}_{seconds:g}s.mp4"
    return cached(out, lambda p: make_canvas_clip(source, p, seconds, w, h, layout="fit"))[0]


def _decode(clip: Path) -> tuple[float, int]:
    from emodirector.video import iter_frames, probe

    t0 = time.perf_counter()
    info = probe(clip)
    n = sum(1 for _ in iter_frames(info, "yuv420p"))
    return time.perf_counter() - t0, n


def _decode_encode(clip: Path, out: Path) -> tuple[float, int]:
    from emodirector.video import EncodeOptions, VideoWriter, iter_frames, probe

    t0 = time.perf_counter()
    info = probe(clip)
    n = 0
    with VideoWriter(out, info, EncodeOptions()) as writer:
        for frame in iter_frames(info, "yuv420p"):
            writer.write(frame.image, frame.pts)
            n += 1
    return time.perf_counter() - t0, n


def _library(clip: Path, out: Path) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(clip), str(out)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise RuntimeError(f"edit_video failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _cli(clip: Path, out: Path) -> dict[str, Any]:
    script = shutil.which("emodirector", path=str(Path(sys.executable).parent))
    argv = [script] if script else [sys.executable, "-m", "emodirector.cli"]
    argv += [
        "edit",
        str(clip),
        "-o",
        str(out),
        "--emotion",
        "happy",
        "--intensity",
        "1",
        "--overwrite",
        "-q",
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"emodirector edit failed ({proc.returncode}): {err.strip()[-400:]}")
    return {"seconds": wall, "peak_rss_mib": usage.ru_maxrss / 1024}


def _measured(fn: Any) -> tuple[Any, dict[str, Any]]:
    """``fn()`` and the machine's state around it (load average at start, others' cores)."""
    load = os.getloadavg()
    meter = CpuMeter()
    value = fn()
    return value, {"loadavg_1m": round(load[0], 2), "other_cores": meter.stop()["other_cores"]}


def _block(seconds: list[float], frames: int) -> dict[str, Any]:
    med = statistics.median(seconds)
    return {
        "seconds_median": round(med, 4),
        "fps": round(frames / med, 2) if med > 0 else None,
        "fps_best": round(frames / min(seconds), 2) if min(seconds) > 0 else None,
        "seconds_all": [round(s, 4) for s in seconds],
    }


def measure_size(
    size: str, clip: Path, repeats: int, warmup: int, cli: bool, tmp: Path
) -> dict[str, Any]:
    """Every measurement of one clip, ``warmup`` + ``repeats`` rounds (see the module docstring)."""
    runs: dict[str, list[Any]] = {"decode": [], "decode_encode": [], "library": [], "cli": []}
    state: dict[str, list[dict[str, Any]]] = {k: [] for k in runs}
    frames = 0
    for i in range(warmup + repeats):
        label = "warm-up" if i < warmup else f"repeat {i - warmup + 1}/{repeats}"
        (dec, frames), s1 = _measured(lambda: _decode(clip))
        (de, _), s2 = _measured(lambda: _decode_encode(clip, tmp / "reencoded.mp4"))
        lib, s3 = _measured(lambda: _library(clip, tmp / "edited_lib.mp4"))
        line = (
            f"{size} {label}: decode {dec:.2f}s, decode+encode {de:.2f}s, library "
            f"{lib['seconds']:.2f}s ({lib['seconds'] / de:.2f}x)"
        )
        measured: list[tuple[str, Any, dict[str, Any]]] = [
            ("decode", dec, s1),
            ("decode_encode", de, s2),
            ("library", lib, s3),
        ]
        if cli:
            c, s4 = _measured(lambda: _cli(clip, tmp / "edited_cli.mp4"))
            line += f", cli {c['seconds']:.2f}s ({c['seconds'] / de:.2f}x)"
            measured.append(("cli", c, s4))
        loads = [s["loadavg_1m"] for _, _, s in measured]
        print(f"{line}; load {min(loads):.1f}-{max(loads):.1f}", file=sys.stderr, flush=True)
        if i >= warmup:
            for name, value, st in measured:
                runs[name].append(value)
                state[name].append(st)
    out: dict[str, Any] = {
        "frames": frames,
        "decode": _block(runs["decode"], frames),
        "decode_encode": _block(runs["decode_encode"], frames),
    }
    libs = runs["library"]
    lib = _block([r["seconds"] for r in libs], frames)
    names = sorted(
        {k for r in libs for k in r["stages"]},
        key=lambda k: (STAGE_ORDER.index(k) if k in STAGE_ORDER else 99, k),
    )
    lib["frames_with_face"] = libs[-1]["frames_with_face"]
    lib["stages_ms_per_frame"] = {
        k: round(1000 * statistics.median(r["stages"].get(k, 0.0) for r in libs) / frames, 2)
        for k in names
    }
    lib["peak_rss_mib_max"] = round(max(r["peak_rss_mib"] for r in libs), 1)
    out["library"] = lib
    # ratios per round (same round, minutes apart at most), then their median
    de_all = runs["decode_encode"]
    out["library_ratio"] = round(
        statistics.median(r["seconds"] / d for r, d in zip(libs, de_all, strict=True)), 3
    )
    if runs["cli"]:
        c = _block([r["seconds"] for r in runs["cli"]], frames)
        c["peak_rss_mib_max"] = round(max(r["peak_rss_mib"] for r in runs["cli"]), 1)
        out["cli"] = c
        out["cli_ratio"] = round(
            statistics.median(r["seconds"] / d for r, d in zip(runs["cli"], de_all, strict=True)),
            3,
        )
    out["machine_state"] = state
    loads = [s["loadavg_1m"] for sts in state.values() for s in sts]
    others = [
        s["other_cores"] for sts in state.values() for s in sts if s["other_cores"] is not None
    ]
    out["loadavg_1m_range"] = [min(loads), max(loads)] if loads else None
    out["other_cores_max"] = max(others) if others else None
    out["goals"] = _goals(size, out)
    out["goals_peak_rss_mib"] = max(
        lib["peak_rss_mib_max"], out.get("cli", {}).get("peak_rss_mib_max", 0.0)
    )
    return out


def _goals(size: str, res: dict[str, Any]) -> dict[str, Any]:
    """Each goal of ``size`` with the measured value and whether it is met."""
    got = {
        "library_fps": res["library"]["fps"],
        "library_ratio": res["library_ratio"],
        "cli_ratio": res.get("cli_ratio"),
        "peak_rss_mib": max(
            res["library"]["peak_rss_mib_max"], res.get("cli", {}).get("peak_rss_mib_max", 0.0)
        ),
    }
    out = {}
    for name, target in GOALS.get(size, {}).items():
        value = got[name]
        met = (
            None
            if value is None
            else (value >= target if name.endswith("fps") else value <= target)
        )
        out[name] = {"target": target, "measured": value, "met": met}
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Build the clips, measure each size, and return the results."""
    source = resolve_clip(args.clip)
    results: dict[str, Any] = {
        "benchmark": "speed",
        "schema": 2,
        "machine": machine_info(),
        "ci": args.ci,
        "repeats": args.repeats,
        "warmup_rounds": args.warmup,
        "target": {"emotion": "happy", "intensity": 1.0},
        "sizes": {},
    }
    with tempfile.TemporaryDirectory(prefix="emodirector-speed-") as tmpdir:
        tmp = Path(tmpdir)
        for size in args.sizes:
            t0 = time.perf_counter()
            clip = build_clip(size, args.cache_dir, source, args.seconds, args.seconds_2160p)
            from emodirector.video import probe

            info = probe(clip)
            print(
                f"{size}: {clip.name} {info.width}x{info.height} ({time.perf_counter() - t0:.0f}s"
                " to build or find)",
                file=sys.stderr,
                flush=True,
            )
            repeats = args.repeats if size != "2160p" else min(args.repeats, args.repeats_2160p)
            res = measure_size(size, clip, repeats, args.warmup, not args.no_cli, tmp)
            res["clip"] = {
                "path": str(clip),
                "name": clip.name,
                "width": info.width,
                "height": info.height,
                "fps": float(info.fps),
            }
            res["repeats"] = repeats
            res["warmup_rounds"] = args.warmup
            res["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            res["git_commit"] = results["machine"].get("git_commit")
            results["sizes"][size] = res
    results["code_at_end"] = code_state()
    return results


def report(res: dict[str, Any]) -> str:
    """The markdown summary of a result dictionary."""

    def fps(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    rows = []
    for size, r in res["sizes"].items():
        c = r["clip"]
        rows.append(
            [
                size,
                f"{c['width']}x{c['height']}",
                str(r["frames"]),
                fps(r["decode"]["fps"]),
                fps(r["decode_encode"]["fps"]),
                fps(r["library"]["fps"]),
                f"{r['library_ratio']:.2f}x",
                fps(r["cli"]["fps"]) if "cli" in r else "-",
                f"{r['cli_ratio']:.2f}x" if "cli_ratio" in r else "-",
                f"{r['goals_peak_rss_mib']:.0f}",
                "{:.1f}-{:.1f}".format(*r["loadavg_1m_range"]),
            ]
        )
    lines = [
        markdown_table(
            [
                "size",
                "clip",
                "frames",
                "decode fps",
                "decode+encode fps",
                "library fps",
                "library / d+e",
                "CLI fps",
                "CLI / d+e",
                "peak RSS MiB",
                "load (1 min)",
            ],
            rows,
        ),
        "",
        "Medians of each size's rounds ("
        + ", ".join(
            f"{k}: {r['repeats']} after {r.get('warmup_rounds', res['warmup_rounds'])} warm-up"
            for k, r in res["sizes"].items()
        )
        + "); ratios are edit seconds over decode+encode seconds of the same round.",
        "",
        "Per stage, library call (ms per frame, medians):",
    ]
    for size, r in res["sizes"].items():
        stages = ", ".join(f"{k} {v:.1f}" for k, v in r["library"]["stages_ms_per_frame"].items())
        lines.append(f"- {size}: {stages}")
    lines.append("")
    for size, r in res["sizes"].items():
        for name, g in r["goals"].items():
            mark = {True: "met", False: "NOT met", None: "-"}[g["met"]]
            lines.append(f"- {size} {name}: {g['measured']} (goal {g['target']}): {mark}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default=",".join(SIZES), help=f"comma-separated, of {', '.join(SIZES)}"
    )
    parser.add_argument("--clip", default=DEFAULT_CLIP, help="source of the canvas clips")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the canvas clips")
    parser.add_argument("--seconds-2160p", type=float, default=8.0, help="length at 2160p")
    parser.add_argument("--repeats", type=int, default=3, help="measured rounds per size")
    parser.add_argument("--repeats-2160p", type=int, default=1, help="at most this many at 2160p")
    parser.add_argument("--warmup", type=int, default=1, help="rounds before the measured ones")
    parser.add_argument("--no-cli", action="store_true", help="skip the command-line runs")
    parser.add_argument("--cache-dir", type=Path, default=DEFAULT_CACHE_DIR)
    parser.add_argument(
        "--update", action="store_true", help="keep the other sizes already in the results JSON"
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="results JSON (default benchmarks/results/speed.json; none in --ci)",
    )
    parser.add_argument(
        "--ci",
        action="store_true",
        help="an 8 s 720p clip, 2 rounds, library only: print the ratio, exit 0",
    )
    args = parser.parse_args(argv)
    args.sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    unknown = [s for s in args.sizes if s not in SIZES]
    if unknown:
        parser.error(f"unknown size(s) {', '.join(unknown)}; known: {', '.join(SIZES)}")
    if args.repeats < 1 or args.warmup < 0:
        parser.error("--repeats must be at least 1 and --warmup at least 0")
    if args.ci:
        args.sizes, args.seconds, args.repeats, args.warmup, args.no_cli = (
            ["720p"],
            8.0,
            2,
            0,
            True,
        )
    res = run(args)
    if args.ci:
        r = res["sizes"]["720p"]
        print(
            f"speed (ci, 720p, {r['frames']} frames): edit/decode+encode {r['library_ratio']:.2f}x"
            f", edit {r['library']['fps']:.1f} fps, decode+encode {r['decode_encode']['fps']:.1f}"
            f" fps, load {r['loadavg_1m_range'][0]:.1f}-{r['loadavg_1m_range'][1]:.1f}"
        )
        if args.output is not None:
            write_json(args.output, res)
        return 0
    output = args.output or RESULTS_DIR / "speed.json"
    if args.update and output.is_file():
        # keep the sizes measured earlier (each says when, at which commit, under which load)
        earlier = json.loads(output.read_text()).get("sizes", {})
        res["sizes"] = {**{k: v for k, v in earlier.items() if k not in res["sizes"]},
                        **res["sizes"]}  # fmt: skip
        res["sizes"] = {k: res["sizes"][k] for k in SIZES if k in res["sizes"]}
    write_json(output, res)
    print(report(res))
    print(f"\nwrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
