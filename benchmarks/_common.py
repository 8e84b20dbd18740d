"""Helpers shared by the benchmarks: test clips, machine description, result files.

Not a benchmark itself. ``speed.py`` and ``memory.py`` import it as a sibling module (they are
run as scripts, so their own folder is on ``sys.path``). Nothing here does any work at import.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from fractions import Fraction
from importlib import metadata
from pathlib import Path
from typing import Any

import av
import numpy as np

#: The repository root (benchmarks/ sits directly under it).
REPO_ROOT = Path(__file__).resolve().parents[1]

#: Where results are written.
RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"

#: Cache of generated clips, reused between runs (never inside the repository).
DEFAULT_CACHE_DIR = Path(os.environ.get("TMPDIR", "/tmp")) / "emodirector-bench-cache"

#: How far ahead of the video (seconds) audio packets are muxed.
_AUDIO_LEAD_S = 0.5


def data_dir() -> Path:
    """The shared footage folder: ``$EMODIRECTOR_DATA`` or ``../shared/data`` beside the repo."""
    env = os.environ.get("EMODIRECTOR_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


def resolve_clip(name_or_path: str) -> Path:
    """A clip given as a path, or as a file name inside ``<data>/videos``."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    q = data_dir() / "videos" / name_or_path
    if q.is_file():
        return q
    raise SystemExit(f"clip not found: {name_or_path} (looked in . and {q.parent})")


def _even(x: float) -> int:
    return int(round(x / 2.0)) * 2


def _paste(dst: np.ndarray, src: np.ndarray, ox: int, oy: int) -> None:
    """Copy ``src`` into ``dst`` with its top-left corner at ``(ox, oy)``, clipped to ``dst``."""
    h, w = dst.shape
    sh, sw = src.shape
    x0, y0 = max(ox, 0), max(oy, 0)
    x1, y1 = min(ox + sw, w), min(oy + sh, h)
    if x1 > x0 and y1 > y0:
        dst[y0:y1, x0:x1] = src[y0 - oy : y1 - oy, x0 - ox : x1 - ox]


def _planes(image: np.ndarray, w: int, h: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The Y, U, V planes of an FFmpeg-layout ``(h * 3 // 2, w)`` yuv420p array."""
    flat = image.reshape(-1)
    y = flat[: w * h].reshape(h, w)
    u = flat[w * h : w * h + (w // 2) * (h // 2)].reshape(h // 2, w // 2)
    v = flat[w * h + (w // 2) * (h // 2) : w * h + 2 * (w // 2) * (h // 2)].reshape(h // 2, w // 2)
    return y, u, v


def _source_frames(path: Path) -> Iterator[av.VideoFrame]:
    """Decoded video frames of ``path``, looping forever."""
    while True:
        n = 0
        with av.open(str(path)) as c:
            stream = c.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in c.decode(stream):
                n += 1
                yield frame
        if n == 0:
            raise RuntimeError(f"{path}: no decodable video frames")


def _video_loop(path: Path) -> tuple[int, Fraction]:
    """``(frames, fps)`` of one pass through the source (frames counted from packets)."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        fps = Fraction(stream.average_rate or stream.guessed_rate or 25)
        n = sum(1 for p in c.demux(stream) if p.size > 0)
    return n, fps


def _looped_audio(
    path: Path, loop_seconds: float, total_seconds: float
) -> Iterator[tuple[av.Packet, float]]:
    """The source's audio packets repeated every ``loop_seconds`` up to ``total_seconds``.

    Packets keep their bytes; only their timestamps are shifted. Yields ``(packet, time)``.
    """
    loop = 0
    while loop * loop_seconds < total_seconds:
        with av.open(str(path)) as c:
            ins = list(c.streams.audio)
            if not ins:
                return
            for packet in c.demux(ins):
                if packet.dts is None or packet.size == 0 or packet.time_base is None:
                    continue
                tb = packet.time_base
                ts = packet.pts if packet.pts is not None else packet.dts
                t = float(ts * tb)
                if t >= loop_seconds or (loop > 0 and t < 0):
                    continue
                t_out = t + loop * loop_seconds
                if t_out >= total_seconds:
                    continue
                shift = int(round(loop * loop_seconds / tb))
                packet.pts = None if packet.pts is None else packet.pts + shift
                packet.dts = packet.dts + shift
                yield packet, t_out
        loop += 1


def make_canvas_clip(
    source: Path,
    output: Path,
    seconds: float,
    width: int = 1280,
    height: int = 720,
    fps: int = 25,
    layout: str = "auto",
    crop_y: float = 0.3,
    crf: int = 18,
    preset: str = "medium",
) -> dict[str, Any]:
    """Re-encode ``source`` as a ``width`` x ``height`` clip of ``seconds`` with its audio copied.

    The source is scaled and placed on a black canvas. ``layout``: ``fit`` scales it to fit inside
    the canvas and pads (a square 844x844 clip becomes 720x720 centred on 1280x720); ``fill``
    scales it to cover the canvas and crops (a 1080x1920 portrait clip keeps a 16:9 band whose
    top sits ``crop_y`` of the way down the spare height); ``auto`` is ``fit`` for landscape or
    square sources and ``fill`` for portrait ones. The source loops if it is shorter than
    ``seconds``; its audio packets loop with it, copied unchanged (timestamps shifted).

    Written with libx264 (``crf``, ``preset``) to a temporary name and renamed at the end.

    Returns:
        A description of the clip (source, size, frames, layout, encoder settings).
    """
    n_loop, src_fps = _video_loop(source)
    loop_seconds = n_loop / float(src_fps)
    n_out = int(round(seconds * fps))
    total_seconds = n_out / fps
    tmp = output.with_name(f".{output.stem}.{os.getpid()}.part{output.suffix}")
    frames = _source_frames(source)
    first = next(frames)
    w0, h0 = first.width, first.height
    if layout == "auto":
        layout = "fit" if w0 >= h0 else "fill"
    if layout not in ("fit", "fill"):
        raise ValueError(f"unknown layout {layout!r}")
    s = (min if layout == "fit" else max)(width / w0, height / h0)
    sw, sh = max(2, _even(w0 * s)), max(2, _even(h0 * s))
    ox = _even((width - sw) / 2) if sw <= width else -_even((sw - width) / 2)
    oy = _even((height - sh) / 2) if sh <= height else -_even((sh - height) * crop_y)
    canvas = np.empty((height * 3 // 2, width), np.uint8)
    cy, cu, cv = _planes(canvas, width, height)
    audio = _looped_audio(source, loop_seconds, total_seconds)
    try:
        with av.open(str(tmp), mode="w", format="mp4") as out:
            vs = out.add_stream("libx264", rate=fps)
            vs.width, vs.height, vs.pix_fmt = width, height, "yuv420p"
            vs.codec_context.options = {"crf": str(crf), "preset": preset}
            vs.codec_context.thread_type = "AUTO"
            with av.open(str(source)) as templates:
                amap = {a.index: out.add_stream_from_template(a) for a in templates.streams.audio}

            pending: tuple[av.Packet, float] | None = None

            def mux_audio(limit: float) -> None:
                nonlocal pending
                while True:
                    item = pending if pending is not None else next(audio, None)
                    pending = None
                    if item is None:
                        return
                    if item[1] > limit:
                        pending = item
                        return
                    item[0].stream = amap[item[0].stream_index]
                    out.mux(item[0])

            src_index, current = 0, first
            for k in range(n_out):
                want = math.floor(k / fps * float(src_fps) + 1e-6)
                while src_index < want:
                    current = next(frames)
                    src_index += 1
                img = current.reformat(width=sw, height=sh, format="yuv420p").to_ndarray()
                py, pu, pv = _planes(img, sw, sh)
                cy.fill(16)
                cu.fill(128)
                cv.fill(128)
                _paste(cy, py, ox, oy)
                _paste(cu, pu, ox // 2, oy // 2)
                _paste(cv, pv, ox // 2, oy // 2)
                frame = av.VideoFrame.from_ndarray(canvas, format="yuv420p")
                frame.pts = k
                frame.time_base = Fraction(1, fps)
                for packet in vs.encode(frame):
                    out.mux(packet)
                mux_audio((k + 1) / fps + _AUDIO_LEAD_S)
            for packet in vs.encode(None):
                out.mux(packet)
            mux_audio(math.inf)
            n_audio = len(amap)
        os.replace(tmp, output)
    finally:
        audio.close()  # type: ignore[attr-defined]
        frames.close()  # type: ignore[attr-defined]
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return {
        "source": source.name,
        "width": width,
        "height": height,
        "fps": fps,
        "frames": n_out,
        "seconds": total_seconds,
        "source_loops": math.ceil(n_out / fps / loop_seconds - 1e-9),
        "layout": layout,
        "placed": {"width": sw, "height": sh, "x": ox, "y": oy},
        "audio_streams": n_audio,
        "encoder": {"codec": "libx264", "crf": crf, "preset": preset},
    }


def remux_loop_clip(source: Path, output: Path, seconds: float) -> dict[str, Any]:
    """Concatenate whole copies of ``source`` (all streams, packets copied, no re-encoding).

    Enough copies are written to reach at least ``seconds``. Each copy starts with the source's
    first (key) frame and carries the same codec parameters, so the concatenated H.264 stream
    decodes cleanly; only timestamps are shifted.

    Returns:
        A description of the clip.
    """
    n_loop, src_fps = _video_loop(source)
    loop_seconds = n_loop / float(src_fps)
    loops = max(1, math.ceil(seconds / loop_seconds - 1e-9))
    tmp = output.with_name(f".{output.stem}.{os.getpid()}.part{output.suffix}")
    try:
        with av.open(str(source)) as first, av.open(str(tmp), mode="w", format="mp4") as out:
            smap = {s.index: out.add_stream_from_template(s) for s in first.streams}
            for loop in range(loops):
                with av.open(str(source)) as c:
                    for packet in c.demux(list(c.streams)):
                        if packet.dts is None or packet.size == 0 or packet.time_base is None:
                            continue
                        tb = packet.time_base
                        ts = packet.pts if packet.pts is not None else packet.dts
                        t = float(ts * tb)
                        if packet.stream.type == "audio" and (
                            t >= loop_seconds or (loop > 0 and t < 0)
                        ):
                            continue
                        shift = int(round(loop * loop_seconds / tb))
                        packet.pts = None if packet.pts is None else packet.pts + shift
                        packet.dts = packet.dts + shift
                        packet.stream = smap[packet.stream_index]
                        out.mux(packet)
        os.replace(tmp, output)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    return {
        "source": source.name,
        "frames": n_loop * loops,
        "seconds": loops * loop_seconds,
        "source_loops": loops,
        "method": "remux (stream copy, timestamps shifted)",
    }


def cached(path: Path, build: Any) -> tuple[Path, bool]:
    """``build(path)`` unless ``path`` already exists; returns ``(path, built_now)``."""
    if path.is_file() and path.stat().st_size > 0:
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    build(path)
    return path, True


def _busy_cpu_seconds() -> float | None:
    """CPU seconds spent busy by the whole machine since boot (all cores), from /proc/stat."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    v = [int(x) for x in fields[:8]] + [0] * max(0, 8 - len(fields))
    user, nice, system, _idle, _iowait, irq, softirq, steal = v[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    """CPU seconds of this process (all threads) and of its waited-for children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


class CpuMeter:
    """Measures how much CPU *other* processes used while something was timed.

    On a shared machine, timings are only comparable when nobody else was busy; the benchmarks
    report ``other_cores``, the average number of cores used by other processes.

    Example:
        >>> m = CpuMeter()  # doctest: +SKIP
        >>> ...; m.stop()["other_cores"]  # doctest: +SKIP
    """

    def __init__(self) -> None:
        self._busy = _busy_cpu_seconds()
        self._own = _own_cpu_seconds()
        self._t = time.perf_counter()

    def stop(self) -> dict[str, float | None]:
        wall = time.perf_counter() - self._t
        own = _own_cpu_seconds() - self._own
        busy = _busy_cpu_seconds()
        other = None if busy is None or self._busy is None else max(0.0, busy - self._busy - own)
        return {
            "wall_seconds": round(wall, 4),
            "own_cpu_seconds": round(own, 4),
            "other_cpu_seconds": None if other is None else round(other, 4),
            "other_cores": None if other is None or wall <= 0 else round(other / wall, 3),
        }


def wait_for_idle(max_wait: float, threshold: float = 0.3, probe_seconds: float = 2.0) -> float:
    """Wait (at most ``max_wait`` s) until other processes use under ``threshold`` cores.

    Returns the seconds waited. For shared machines; it cannot stop others starting later.
    """
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < max_wait:
        m = CpuMeter()
        time.sleep(probe_seconds)
        other = m.stop()["other_cores"]
        if other is None or other < threshold:
            break
    return time.perf_counter() - t0


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor()


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def _git(*args: str) -> str | None:
    """Output of a read-only git command in the repository, or None."""
    try:
        r = subprocess.run(
            ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=20, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return r.stdout.strip()


def code_state() -> dict[str, Any]:
    """The commit checked out and whether ``src/`` has uncommitted changes (None if unknown).

    Others may commit while a long benchmark runs, so the benchmarks record this per run.
    """
    status = _git("status", "--porcelain", "--", "src")
    return {
        "git_commit": _git("rev-parse", "HEAD"),
        "src_modified": None if status is None else bool(status),
    }


def machine_info() -> dict[str, Any]:
    """CPU, OS, Python, library versions and the code under test (git commit, dirty or not)."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "cpu_model": _cpu_model(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            "emodirector": _version("emodirector"),
            "av": av.__version__,
            "ffmpeg_libavcodec": ".".join(map(str, av.library_versions.get("libavcodec", ()))),
            "mediapipe": _version("mediapipe"),
            "numpy": np.__version__,
            "opencv": _version("opencv-contrib-python"),
            "scipy": _version("scipy"),
        },
        **code_state(),
        "loadavg_at_start": list(os.getloadavg()),
        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "argv": sys.argv[1:],
    }


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` to ``path`` atomically (via a ``.tmp`` sibling)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False) + "\n")
    os.replace(tmp, path)


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    """A GitHub-flavoured markdown table (first column left-aligned, the rest right-aligned)."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        parts = [
            str(c).ljust(widths[i]) if i == 0 else str(c).rjust(widths[i])
            for i, c in enumerate(cells)
        ]
        return "| " + " | ".join(parts) + " |"

    sep = (
        "|"
        + "|".join(
            ("-" * (w + 2)) if i == 0 else ("-" * (w + 1) + ":") for i, w in enumerate(widths)
        )
        + "|"
    )
    return "\n".join([line(header), sep, *(line(r) for r in rows)])
