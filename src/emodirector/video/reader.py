"""Probing and streaming decode of video files with PyAV.

Frames are yielded one at a time; nothing here holds more than the decoder's own buffers, so
memory does not grow with the length of the video.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Literal

import av
import numpy as np

from emodirector.errors import InputNotFoundError, UnsupportedVideoError

PixelFormat = Literal["rgb24", "yuv420p"]


@dataclass(frozen=True)
class VideoInfo:
    """What the pipeline needs to know about an input video.

    Attributes:
        path: The file.
        width: Coded frame width in pixels (before any display rotation).
        height: Coded frame height in pixels.
        fps: Average frame rate as an exact fraction (e.g. 1350/61 for 22.13 fps).
        time_base: Time base of the video stream's timestamps.
        frame_count: Frames in the stream as declared by the container, or 0 if unknown.
        duration: Duration in seconds as declared by the container (0.0 if unknown).
        codec: Name of the video codec.
        pix_fmt: Decoded pixel format.
        rotation: Display rotation in degrees, counter-clockwise, one of 0, 90, 180, 270.
        color_range: FFmpeg colour range code of the stream (1 limited, 2 full, 0 unknown).
        audio_streams: Indices of the audio streams in the container.
    """

    path: Path
    width: int
    height: int
    fps: Fraction
    time_base: Fraction
    frame_count: int
    duration: float
    codec: str
    pix_fmt: str
    rotation: int
    color_range: int
    audio_streams: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise UnsupportedVideoError(
                f"{self.path}: invalid frame size {self.width}x{self.height}"
            )
        if self.fps <= 0:
            raise UnsupportedVideoError(f"{self.path}: invalid frame rate {self.fps}")

    @property
    def has_audio(self) -> bool:
        return bool(self.audio_streams)


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Attributes:
        index: Position in decode order, from 0.
        pts: Presentation timestamp in ``VideoInfo.time_base`` units (None if the file has none).
        time: Presentation time in seconds.
        image: ``(H, W, 3) uint8`` RGB for ``rgb24``; ``(H * 3 // 2, W) uint8`` planar Y, U, V
            for ``yuv420p`` (FFmpeg's layout: Y rows, then U rows, then V rows at half size).
    """

    index: int
    pts: int | None
    time: float
    image: np.ndarray


def check_input_path(path: str | os.PathLike[str]) -> Path:
    """Return ``path`` as a Path after checking it names a readable regular file.

    Raises:
        InputNotFoundError: It does not exist, or is a directory.
    """
    p = Path(path)
    if not p.exists():
        raise InputNotFoundError(f"{p}: no such file")
    if not p.is_file():
        raise InputNotFoundError(f"{p}: is not a regular file")
    return p


def _rotation_of(
    stream: av.video.stream.VideoStream, container: av.container.InputContainer
) -> int:
    """Display rotation from the stream's display matrix (via the first frame), in degrees."""
    try:
        for frame in container.decode(stream):
            rot = int(round(frame.rotation)) % 360
            return rot if rot in (0, 90, 180, 270) else 0
    except av.error.FFmpegError:
        return 0
    return 0


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Read the stream parameters of a video file without decoding all of it.

    Args:
        path: Video file.

    Returns:
        Its VideoInfo.

    Raises:
        InputNotFoundError: The path does not exist or is not a file.
        UnsupportedVideoError: The file cannot be opened or has no decodable video stream.
    """
    p = check_input_path(path)
    try:
        with av.open(str(p)) as container:
            if not container.streams.video:
                raise UnsupportedVideoError(f"{p}: has no video stream")
            stream = container.streams.video[0]
            cc = stream.codec_context
            fps = stream.average_rate or stream.guessed_rate or stream.base_rate
            if fps is None or fps <= 0:
                raise UnsupportedVideoError(f"{p}: frame rate unknown")
            duration = float(container.duration / av.time_base) if container.duration else 0.0
            audio = tuple(s.index for s in container.streams.audio)
            info_args = dict(
                path=p,
                width=int(cc.width),
                height=int(cc.height),
                fps=Fraction(fps),
                time_base=Fraction(stream.time_base) if stream.time_base else Fraction(1, 90000),
                frame_count=int(stream.frames or 0),
                duration=duration,
                codec=cc.name,
                pix_fmt=str(cc.pix_fmt),
                color_range=int(cc.color_range or 0),
                audio_streams=audio,
            )
            rotation = _rotation_of(stream, container)
    except av.error.FFmpegError as exc:
        raise UnsupportedVideoError(
            f"{p}: cannot be read as a video ({exc.strerror or exc})"
        ) from None
    return VideoInfo(rotation=rotation, **info_args)  # type: ignore[arg-type]


def iter_frames(
    info: VideoInfo,
    pixel_format: PixelFormat,
    size: tuple[int, int] | None = None,
) -> Iterator[Frame]:
    """Decode the video stream frame by frame.

    Args:
        info: The probed video.
        pixel_format: ``"rgb24"`` for analysis, ``"yuv420p"`` for editing and re-encoding.
        size: Optional ``(width, height)`` to scale to while converting (cheap, one pass).

    Yields:
        Frames in presentation order, as the decoder outputs them.

    Raises:
        UnsupportedVideoError: The stream is corrupt beyond what the decoder can conceal.
    """
    width, height = size if size is not None else (info.width, info.height)
    tb = info.time_base
    try:
        with av.open(str(info.path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for index, frame in enumerate(container.decode(stream)):
                time = float(frame.pts * tb) if frame.pts is not None else index / float(info.fps)
                image = frame.reformat(width=width, height=height, format=pixel_format).to_ndarray()
                yield Frame(index=index, pts=frame.pts, time=time, image=image)
    except av.error.FFmpegError as exc:
        raise UnsupportedVideoError(
            f"{info.path}: decoding failed ({exc.strerror or exc})"
        ) from None
