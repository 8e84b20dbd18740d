"""What a re-upload does to a video, made with PyAV: re-encode, downscale, trim.

Shared by the provenance tests and ``benchmarks/provenance.py``.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av

from emodirector.video.reader import probe


def attack(
    source: Path,
    output: Path,
    *,
    crf: int = 18,
    height: int | None = None,
    trim_seconds: float | None = None,
) -> Path:
    """Re-encode ``source``'s video (H.264 yuv420p, ``crf``) into ``output``, without audio.

    Args:
        source: The video.
        output: The file to write (``.mp4``).
        crf: x264 constant rate factor of the re-encode.
        height: Scale to this height (width keeps the aspect, rounded to even), if smaller than
            the source's.
        trim_seconds: Keep only this many seconds from the middle.
    """
    info = probe(source)
    w, h = info.width, info.height
    if height is not None and height < h:
        w, h = int(round(w * height / h / 2)) * 2, height
    start, end = 0.0, float("inf")
    if trim_seconds is not None and info.duration > trim_seconds:
        start = (info.duration - trim_seconds) / 2
        end = start + trim_seconds
    fps = info.fps
    tb = Fraction(1) / fps
    with av.open(str(source)) as src, av.open(str(output), "w") as out:
        v = out.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = w, h, "yuv420p"
        v.time_base = tb
        v.codec_context.time_base = tb
        v.codec_context.options = {"crf": str(crf), "preset": "veryfast"}
        index = 0
        for frame in src.decode(video=0):
            t = float(frame.time) if frame.time is not None else index / float(fps)
            if t < start:
                continue
            if t >= end:
                break
            f = frame.reformat(width=w, height=h, format="yuv420p", interpolation="AREA")
            f.pts = index
            f.time_base = tb
            for packet in v.encode(f):
                out.mux(packet)
            index += 1
        for packet in v.encode(None):
            out.mux(packet)
    return output
