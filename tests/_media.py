"""Helpers the tests share: synthetic clips written with PyAV, and independent readers.

The readers here use PyAV directly (not emodirector) so that what the library wrote is checked
by code that does not share its assumptions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from emodirector.video import iter_frames, probe

#: Display rotation of the rotated copy of a clip (portrait coded frames, landscape display).
ROTATION = 90
#: Inner-lip landmark pairs (upper, lower) of the MediaPipe face mesh used for the lip aperture.
INNER_LIP_PAIRS = ((13, 14), (82, 87), (312, 317))


def synthetic_plane(width: int, height: int, index: int) -> np.ndarray:
    """A ``(H * 3 // 2, W)`` yuv420p frame with a texture that moves with ``index``."""
    yy, xx = np.mgrid[0:height, 0:width]
    y = 16 + (2 * xx + yy + 5 * index) % 220
    cy, cx = np.mgrid[0 : height // 2, 0 : width // 2]
    u = 128 + 40 * np.sin((cx + index) / 6.0)
    v = 128 + 40 * np.cos((cy - index) / 5.0)
    return np.concatenate([y, u.reshape(-1, width), v.reshape(-1, width)]).astype(np.uint8)


def make_clip(
    path: Path,
    *,
    n_frames: int = 25,
    size: tuple[int, int] = (128, 96),
    fps: Fraction = Fraction(25),
    start_frame: int = 0,
    audio: bool = True,
    audio_codec: str = "aac",
    sample_rate: int = 44100,
    tone_hz: float = 440.0,
    rotation: int = 0,
    frames: Iterator[np.ndarray] | None = None,
    crf: int = 18,
) -> Path:
    """Write a short H.264 clip (optionally with a sine tone) and return its path.

    Args:
        path: Output file; the container follows the suffix.
        n_frames: Video frames.
        size: ``(width, height)``.
        fps: Frame rate; frame ``i`` gets pts ``start_frame + i`` in units of ``1 / fps``.
        start_frame: Offset of the first timestamp, in frames.
        audio: Add a mono tone as long as the video.
        audio_codec: FFmpeg encoder of the tone.
        sample_rate: Of the tone.
        tone_hz: Frequency of the tone.
        rotation: Display rotation (degrees counter-clockwise) stored in the stream.
        frames: ``(H * 3 // 2, W)`` yuv420p frames to encode instead of the synthetic texture.
        crf: x264 quality.
    """
    width, height = size
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = width, height, "yuv420p"
        v.codec_context.options = {"crf": str(crf), "preset": "ultrafast"}
        if rotation:
            v.set_display_rotation(rotation)
        a = None
        if audio:
            a = c.add_stream(audio_codec, rate=sample_rate)
            a.layout = "mono"
        source = (
            frames
            if frames is not None
            else (synthetic_plane(width, height, i) for i in range(n_frames))
        )
        for i, plane in enumerate(source):
            frame = av.VideoFrame.from_ndarray(plane, format="yuv420p")
            frame.pts = start_frame + i
            frame.time_base = Fraction(1) / fps
            for packet in v.encode(frame):
                c.mux(packet)
            n_frames = i + 1
        for packet in v.encode(None):
            c.mux(packet)
        if a is not None:
            total = int(round(sample_rate * n_frames / fps))
            chunk = 1024
            t0 = int(round(sample_rate * start_frame / fps))
            for start in range(0, total, chunk):
                n = min(chunk, total - start)
                t = (start + np.arange(n)) / sample_rate
                samples = (0.3 * np.sin(2 * np.pi * tone_hz * t)).astype(np.float32)[None]
                af = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
                af.sample_rate = sample_rate
                af.pts = t0 + start
                af.time_base = Fraction(1, sample_rate)
                for packet in a.encode(af):
                    c.mux(packet)
            for packet in a.encode(None):
                c.mux(packet)
    return path


def looped_clip(source: Path, path: Path, seconds: float) -> Path:
    """``source``'s frames played forwards then backwards (no cut) until ``seconds``, as H.264
    with a tone (a long video made of a short real clip)."""
    info = probe(source)
    frames = [f.image for f in iter_frames(info, "yuv420p")]
    cycle = frames + frames[::-1]
    n = int(seconds * info.fps)
    return make_clip(path, n_frames=n, size=(info.width, info.height), fps=Fraction(info.fps),
                     frames=(cycle[i % len(cycle)] for i in range(n)))  # fmt: skip


def audio_packets(path: Path) -> list[bytes]:
    """Payload of every audio packet of the first audio stream, in file order."""
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return []
        stream = c.streams.audio[0]
        return [bytes(p) for p in c.demux(stream) if p.size]


def audio_packet_times(path: Path) -> tuple[list[Fraction], Fraction]:
    """Presentation time (seconds, exact) of every audio packet of the first audio stream, and
    the stream's time base (the resolution of those times)."""
    with av.open(str(path)) as c:
        stream = c.streams.audio[0]
        return [p.pts * p.time_base for p in c.demux(stream) if p.size], stream.time_base


def video_times(path: Path) -> list[Fraction]:
    """Presentation time (seconds, exact) of every decoded video frame, in output order."""
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        return [f.pts * stream.time_base for f in c.decode(stream)]


def container_duration(path: Path) -> float:
    """Duration of the file in seconds as the container declares it."""
    with av.open(str(path)) as c:
        return float(c.duration / av.time_base)


def decoded_yuv(path: Path) -> Iterator[np.ndarray]:
    """Every video frame as a ``(H * 3 // 2, W)`` yuv420p array, decoded with PyAV alone."""
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            yield f.to_ndarray(format="yuv420p")


def frame_count(path: Path) -> int:
    """Frames actually decodable from the file (not the header's claim)."""
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def lip_aperture(landmarks: np.ndarray) -> np.ndarray:
    """``(T,)`` mean inner-lip gap of ``(T, 478, 2+)`` landmarks, over the face height.

    The gap of each pair is the lower point's y minus the upper point's; the face height is the
    vertical extent of all landmarks of the frame.
    """
    gaps = [landmarks[:, lo, 1] - landmarks[:, up, 1] for up, lo in INNER_LIP_PAIRS]
    return np.mean(gaps, axis=0) / np.ptp(landmarks[:, :, 1], axis=1)


def mouth_width(landmarks: np.ndarray) -> np.ndarray:
    """``(T,)`` distance between the outer lip corners (61, 291) over the face height."""
    d = landmarks[:, 291, :2] - landmarks[:, 61, :2]
    return np.hypot(d[:, 0], d[:, 1]) / np.ptp(landmarks[:, :, 1], axis=1)


def write_rotated_copy(source: Path, output: Path, rotation: int) -> Path:
    """Losslessly re-encode ``source`` so that its *display* is unchanged but the coded frames are
    rotated: the coded frame is the upright frame turned ``rotation`` degrees clockwise, and the
    stream carries a display rotation of ``rotation`` degrees counter-clockwise."""
    info = probe(source)
    swap = rotation % 180 == 90
    with av.open(str(output), "w") as c:
        stream = c.add_stream("libx264", rate=info.fps)
        stream.width, stream.height = (
            (info.height, info.width) if swap else (info.width, info.height)
        )
        stream.pix_fmt = "yuv444p"
        stream.codec_context.options = {"qp": "0", "preset": "ultrafast"}
        stream.set_display_rotation(rotation)
        for frame in iter_frames(info, "rgb24"):
            coded = np.ascontiguousarray(np.rot90(frame.image, k=-(rotation // 90)))
            vf = av.VideoFrame.from_ndarray(coded, format="rgb24")
            vf.pts = frame.index
            for packet in stream.encode(vf):
                c.mux(packet)
        for packet in stream.encode(None):
            c.mux(packet)
    return output


def transcode(
    source: Path,
    output: Path,
    *,
    pix_fmt: str = "yuv420p",
    canvas: tuple[int, int] | None = None,
    offset: tuple[int, int] = (0, 0),
    max_frames: int | None = None,
    pts_ms: Callable[[int], int] | None = None,
    audio_copies: int = 1,
    rotation: int = 0,
    edit: Callable[[int, np.ndarray], np.ndarray] | None = None,
    sources: tuple[Path, ...] = (),
) -> Path:
    """Re-encode a real clip into an awkward variant (lossless libx264), audio copied.

    Args:
        source: The clip (its first audio stream is copied, packet for packet).
        output: The file to write.
        pix_fmt: Encoded pixel format (``yuv420p10le``, ``yuv444p``, ...; odd sizes need 4:4:4).
        canvas: ``(width, height)`` of a mid-grey canvas the frames are pasted on at ``offset``
            (frames are cropped where they do not fit); default: the source's own size.
        offset: ``(x, y)`` of the frame's top-left corner on the canvas.
        max_frames: Take at most this many frames of each clip.
        pts_ms: Timestamp of frame ``i`` in milliseconds (default: the source's frame rate).
        audio_copies: How many audio streams to write, each a copy of the source's first one.
        rotation: Display rotation to store.
        edit: ``edit(i, rgb) -> rgb`` applied to each (canvas) frame before encoding.
        sources: More clips whose frames follow the first's (a hard cut between them).
    """
    info = probe(source)
    width, height = canvas or (info.width, info.height)
    fps = info.fps
    tb = Fraction(1, 1000) if pts_ms is not None else Fraction(1) / fps
    with av.open(str(output), "w") as c, av.open(str(source)) as src:
        v = c.add_stream("libx264", rate=fps)
        v.width, v.height, v.pix_fmt = width, height, pix_fmt
        v.time_base = tb
        v.codec_context.time_base = tb
        v.codec_context.options = {"qp": "0", "preset": "ultrafast"}
        if rotation:
            v.set_display_rotation(rotation)
        template = src.streams.audio[0] if src.streams.audio else None
        outs = (
            [c.add_stream_from_template(template) for _ in range(audio_copies)] if template else []
        )
        index = 0
        for clip in (source, *sources):
            for frame in iter_frames(probe(clip), "rgb24"):
                if max_frames is not None and frame.index >= max_frames:
                    break
                rgb = np.full((height, width, 3), 128, np.uint8)
                x, y = offset
                h = min(frame.image.shape[0], height - y)
                w = min(frame.image.shape[1], width - x)
                rgb[y : y + h, x : x + w] = frame.image[:h, :w]
                if edit is not None:
                    rgb = edit(index, rgb)
                vf = av.VideoFrame.from_ndarray(rgb, format="rgb24").reformat(format=pix_fmt)
                vf.pts = pts_ms(index) if pts_ms is not None else index
                vf.time_base = tb
                for packet in v.encode(vf):
                    c.mux(packet)
                index += 1
        for packet in v.encode(None):
            c.mux(packet)
        end = float((pts_ms(index) if pts_ms is not None else index) * tb)
        if template is not None:
            for packet in src.demux(template):
                if packet.dts is None or packet.size == 0:
                    continue
                if float(packet.pts * packet.time_base) >= end:
                    break
                for out in outs:
                    packet.stream = out
                    c.mux(packet)
    return output
