"""Throughput of emodirector at 720p: decode, the codec floor, and the full edit per stage.

Builds a 1280x720, 25 fps test clip (``--seconds`` long, default 10 s) from a shared clip (default
``videoretalking_face2_man_mapbg_844x844_speech.mp4`` scaled to 720x720 and centred on a black
1280x720 canvas, looped to length; portrait sources such as the LatentSync clip are scaled to
cover the canvas and cropped) with the source's audio packets copied, encoded with PyAV/libx264
crf 18 into a temporary folder (never into the repository). Then, after one warm-up round,
measures ``--repeats`` rounds (default 3) of:

* ``decode``: ``emodirector.video.iter_frames(info, "yuv420p")`` only;
* ``decode_encode``: decode and re-encode with ``VideoWriter``/``EncodeOptions()`` (libx264
  veryfast, audio copied) and nothing else, the floor any edit at these settings pays;
* ``edit``: ``emodirector.edit_video`` towards ``happy`` at intensity 1.0, end to end, with its
  per-stage seconds turned into per-stage fps (frames / seconds spent in that stage).

Reports medians, writes ``benchmarks/results/speed.json`` and prints a markdown table.

Run from the repository root::

    .venv/bin/python benchmarks/speed.py                      # 10 s clip, 3 repeats
    .venv/bin/python benchmarks/speed.py --repeats 5 --seconds 20
    .venv/bin/python benchmarks/speed.py --wait-idle 120    # shared machine: wait for quiet
    .venv/bin/python benchmarks/speed.py \\
        --clip latentsync_demo1_woman_seated_outdoor_1080x1920_speech.mp4

``--clip`` takes a path or a file name in ``$EMODIRECTOR_DATA/videos`` (default
``../shared/data/videos``). Takes about a minute per repeat on two cores.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    RESULTS_DIR,
    CpuMeter,
    code_state,
    machine_info,
    make_canvas_clip,
    markdown_table,
    resolve_clip,
    wait_for_idle,
    write_json,
)

DEFAULT_CLIP = "videoretalking_face2_man_mapbg_844x844_speech.mp4"
GOAL_FPS = 45.0

#: Order in which the pipeline's stages are reported; unknown stages follow, sorted.
STAGE_ORDER = ("track", "fit", "manipulate", "decode", "render", "blend", "watermark", "encode")

#: What each of edit_video's stages covers (as of the pipeline this benchmark was written for).
STAGE_NOTES = {
    "track": "pass 1: decode to rgb24 + MediaPipe face mesh + smoothing",
    "fit": "fit pose, neutral shape and expression to the whole track",
    "manipulate": "plan the per-frame expression edit",
    "decode": "pass 2: decode to yuv420p",
    "render": "warp field + warp of the face region",
    "blend": "composite (and the no-edit path of render_frame)",
    "watermark": "the invisible watermark added to the luminance (provenance)",
    "encode": "libx264 encode + audio copy + final flush",
}


def _decode(clip: Path) -> tuple[float, int]:
    from emodirector.video import iter_frames, probe

    t0 = time.perf_counter()
    info = probe(clip)
    n = 0
    for _frame in iter_frames(info, "yuv420p"):
        n += 1
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


def _edit(clip: Path, out: Path) -> dict[str, Any]:
    from emodirector import EditOptions, EmotionTarget, edit_video

    t0 = time.perf_counter()
    r = edit_video(clip, out, EmotionTarget.from_label("happy", 1.0), EditOptions(overwrite=True))
    wall = time.perf_counter() - t0
    return {
        "wall": wall,
        "total": r.total_seconds,
        "frames": r.frames,
        "frames_with_face": r.frames_with_face,
        "stages": dict(r.seconds),
    }


def _fps(frames: int, seconds: float) -> float | None:
    return frames / seconds if seconds > 0 else None


def _median_block(values: list[float], frames: int) -> dict[str, Any]:
    med = statistics.median(values)
    fps = _fps(frames, med)
    best = _fps(frames, min(values))
    return {
        "seconds_median": round(med, 4),
        "fps": None if fps is None else round(fps, 2),
        "fps_best": None if best is None else round(best, 2),
        "seconds_all": [round(v, 4) for v in values],
    }


def run(
    clip_src: Path, seconds: float, repeats: int, keep: Path | None, wait_idle: float = 0.0
) -> dict[str, Any]:
    """Build the 720p clip, measure, and return the results (see the module docstring)."""
    machine = machine_info()
    with tempfile.TemporaryDirectory(prefix="emodirector-speed-") as tmpdir:
        tmp = Path(tmpdir)
        clip = tmp / "clip_720p.mp4"
        print(f"building 1280x720 test clip from {clip_src.name} ...", file=sys.stderr)
        t0 = time.perf_counter()
        clip_info = make_canvas_clip(clip_src, clip, seconds)
        clip_info["build_seconds"] = round(time.perf_counter() - t0, 2)
        clip_info["path"] = str(clip)
        if keep is not None:
            keep.write_bytes(clip.read_bytes())
            clip_info["kept_at"] = str(keep)

        dec: list[float] = []
        enc: list[float] = []
        edits: list[dict[str, Any]] = []
        frames = {"decode": 0, "decode_encode": 0}
        other: dict[str, list[float | None]] = {"decode": [], "decode_encode": [], "edit": []}
        waited = 0.0
        for i in range(repeats + 1):
            label = "warm-up" if i == 0 else f"repeat {i}/{repeats}"
            waited += wait_for_idle(wait_idle)
            m = CpuMeter()
            s, frames["decode"] = _decode(clip)
            o1 = m.stop()["other_cores"]
            waited += wait_for_idle(wait_idle)
            m = CpuMeter()
            s2, frames["decode_encode"] = _decode_encode(clip, tmp / "reencoded.mp4")
            o2 = m.stop()["other_cores"]
            waited += wait_for_idle(wait_idle)
            m = CpuMeter()
            e = _edit(clip, tmp / "edited.mp4")
            o3 = m.stop()["other_cores"]
            print(
                f"{label}: decode {s:.2f}s, decode+encode {s2:.2f}s, edit {e['total']:.2f}s"
                f" (other processes used {o1}, {o2}, {o3} cores)",
                file=sys.stderr,
            )
            if i > 0:
                dec.append(s)
                enc.append(s2)
                edits.append(e)
                other["decode"].append(o1)
                other["decode_encode"].append(o2)
                other["edit"].append(o3)

    n_edit = edits[-1]["frames"]
    stage_names = sorted(
        {k for e in edits for k in e["stages"]},
        key=lambda k: (STAGE_ORDER.index(k) if k in STAGE_ORDER else len(STAGE_ORDER), k),
    )
    stages = {}
    for name in stage_names:
        vals = [e["stages"].get(name, 0.0) for e in edits]
        block = _median_block(vals, n_edit)
        block["covers"] = STAGE_NOTES.get(name)
        stages[name] = block
    edit_block = _median_block([e["total"] for e in edits], n_edit)
    edit_block.update(
        {
            "frames": n_edit,
            "frames_with_face": edits[-1]["frames_with_face"],
            "wall_seconds_median": round(statistics.median(e["wall"] for e in edits), 4),
            "stage_seconds_sum_median": round(
                statistics.median(sum(e["stages"].values()) for e in edits), 4
            ),
            "stages": stages,
        }
    )
    decode_block = _median_block(dec, frames["decode"])
    decode_block["frames"] = frames["decode"]
    codec_block = _median_block(enc, frames["decode_encode"])
    codec_block["frames"] = frames["decode_encode"]
    ratio = (
        edit_block["fps"] / codec_block["fps"] if edit_block["fps"] and codec_block["fps"] else None
    )
    return {
        "benchmark": "speed",
        "schema": 1,
        "machine": machine,
        "code_at_end": code_state(),
        "clip": clip_info,
        "warmup_rounds": 1,
        "repeats": repeats,
        "target": {"emotion": "happy", "intensity": 1.0},
        "decode": decode_block,
        "decode_encode": codec_block,
        "edit": edit_block,
        "other_processes_cores": other,
        "waited_for_idle_seconds": round(waited, 1),
        "other_processes_cores_max": max(
            (v for vs in other.values() for v in vs if v is not None), default=None
        ),
        "edit_fps_fraction_of_decode_encode": None if ratio is None else round(ratio, 4),
        "goal": {
            "fps": GOAL_FPS,
            "resolution": "1280x720",
            "met": bool(edit_block["fps"] and edit_block["fps"] >= GOAL_FPS),
        },
    }


def report(res: dict[str, Any]) -> str:
    """The markdown summary of a result dictionary."""

    def fmt_fps(v: float | None) -> str:
        return "-" if v is None else f"{v:.1f}"

    def row(label: str, b: dict[str, Any]) -> list[str]:
        return [label, f"{b['seconds_median']:.3f}", fmt_fps(b["fps"]), fmt_fps(b["fps_best"])]

    rows = [
        row("decode only (iter_frames yuv420p)", res["decode"]),
        row("decode + encode (codec floor)", res["decode_encode"]),
    ]
    rows += [row(f"edit: {name}", b) for name, b in res["edit"]["stages"].items()]
    rows.append(row("**edit_video end to end**", res["edit"]))
    clip = res["clip"]
    m = res["machine"]
    frac = res["edit_fps_fraction_of_decode_encode"]
    lines = [
        f"Clip: {clip['width']}x{clip['height']} @ {clip['fps']} fps, {clip['frames']} frames "
        f"({clip['seconds']:.1f} s) from {clip['source']} ({clip['layout']}); "
        f"{res['edit']['frames_with_face']} frames with a face.",
        f"Machine: {m['cpu_count']} CPUs ({m['cpu_model']}), Python {m['python']}, "
        f"av {m['versions']['av']}, mediapipe {m['versions']['mediapipe']}, "
        f"numpy {m['versions']['numpy']}. Medians of {res['repeats']} repeats after 1 warm-up.",
        "",
        markdown_table(["stage", "median s", "fps", "best fps"], rows),
        "",
        f"End-to-end fps as a fraction of decode+encode fps: "
        f"{'-' if frac is None else f'{frac:.1%}'}",
        f"Other processes used up to {res['other_processes_cores_max']} cores (of "
        f"{m['cpu_count']}) during the measured runs (0 means the timings are clean; "
        f"'best fps' is from the fastest repeat).",
        f"Goal: >= {res['goal']['fps']:.0f} fps at 720p: "
        f"{'MET' if res['goal']['met'] else 'not met'} ({fmt_fps(res['edit']['fps'])} fps)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", default=DEFAULT_CLIP, help="source clip (path or shared name)")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the 720p clip")
    parser.add_argument("--repeats", type=int, default=3, help="measured rounds after a warm-up")
    parser.add_argument(
        "--output", type=Path, default=RESULTS_DIR / "speed.json", help="results JSON"
    )
    parser.add_argument("--keep-clip", type=Path, default=None, help="also save the 720p clip here")
    parser.add_argument(
        "--wait-idle",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="on a shared machine, wait up to this long before each measurement for other "
        "processes to go quiet (default 0: do not wait)",
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if args.seconds <= 0:
        parser.error("--seconds must be positive")
    res = run(resolve_clip(args.clip), args.seconds, args.repeats, args.keep_clip, args.wait_idle)
    write_json(args.output, res)
    print(report(res))
    print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
