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

#: Container formats FFmpeg uses for single still images (``*_pipe`` covers png, webp, bmp...).
_IMAGE_FORMATS = {"image2", "image2pipe", "apng"}


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
        colorspace: FFmpeg colour matrix code (1 BT.709, 6 BT.601, 2 unspecified).
        color_primaries: FFmpeg colour primaries code (2 unspecified).
        color_trc: FFmpeg transfer characteristic code (2 unspecified).
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
    colorspace: int = 2
    color_primaries: int = 2
    color_trc: int = 2

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

    @property
    def padded_size(self) -> tuple[int, int]:
        """``(width, height)`` rounded up to even: the size of ``yuv420p`` frames.

        4:2:0 frames need an even width and height; an odd-sized video is decoded with its last
        column and/or row repeated once (see ``iter_frames``) and cropped back when written.
        """
        return self.width + self.width % 2, self.height + self.height % 2


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Attributes:
        index: Position in decode order, from 0.
        pts: Presentation timestamp in ``VideoInfo.time_base`` units (None if the file has none).
        time: Presentation time in seconds.
        image: ``(H, W, 3) uint8`` RGB for ``rgb24``; ``(H * 3 // 2, W) uint8`` planar Y, U, V
            for ``yuv420p`` (FFmpeg's layout: Y rows, then U rows, then V rows at half size),
            where ``(W, H)`` is ``VideoInfo.padded_size`` (odd sizes get one repeated edge).
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
            fmt = container.format.name
            if fmt in _IMAGE_FORMATS or fmt.endswith("_pipe"):
                raise UnsupportedVideoError(f"{p}: is a still image ({fmt}), not a video")
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
                colorspace=int(cc.colorspace or 2),
                color_primaries=int(cc.color_primaries or 2),
                color_trc=int(cc.color_trc or 2),
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
    start: int = 0,
) -> Iterator[Frame]:
    """Decode the video stream frame by frame.

    Args:
        info: The probed video.
        pixel_format: ``"rgb24"`` for analysis, ``"yuv420p"`` for editing and re-encoding.
        size: Optional ``(width, height)`` to scale to while converting (cheap, one pass).
        start: The first frame yielded: the frames before it are decoded (the decoder needs
            them, and checks them for damage) but not converted.

    Yields:
        Frames in presentation order, as the decoder outputs them. ``yuv420p`` frames of an
        odd-sized video (without ``size``) are ``VideoInfo.padded_size``: the last column
        and/or row is repeated once.

    Raises:
        UnsupportedVideoError: The stream is truncated or corrupt: the decoder failed, or it
            marked a frame as damaged (concealed errors are refused rather than edited).
    """
    width, height = size if size is not None else (info.width, info.height)
    pad = pixel_format == "yuv420p" and (width % 2 or height % 2)
    tb = info.time_base
    index = -1
    try:
        with av.open(str(info.path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            declared = int(stream.frames or 0)
            packets = 0
            for frame in _decode(container, stream):
                if isinstance(frame, int):  # a packet was read
                    packets += 1
                    continue
                index += 1
                if frame.is_corrupt:
                    raise UnsupportedVideoError(
                        f"{info.path}: corrupt or truncated video (frame {index} is damaged)"
                    )
                if index < start:
                    continue
                time = float(frame.pts * tb) if frame.pts is not None else index / float(info.fps)
                if pad:
                    yuv = frame.reformat(width=width, height=height, format="yuv444p")
                    image = pad_yuv444_to_yuv420(yuv.to_ndarray())
                else:
                    image = frame.reformat(
                        width=width, height=height, format=pixel_format
                    ).to_ndarray()
                yield Frame(index=index, pts=frame.pts, time=time, image=image)
            if packets < declared:
                raise UnsupportedVideoError(
                    f"{info.path}: corrupt or truncated video (the file ends after {packets} of "
                    f"its {declared} video packets)"
                )
    except av.error.FFmpegError as exc:
        raise UnsupportedVideoError(
            f"{info.path}: corrupt or truncated video (decoding failed after frame {index}: "
            f"{exc.strerror or exc})"
        ) from None


def _decode(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> Iterator[av.VideoFrame | int]:
    """Decoded frames of ``stream``, with a ``1`` yielded for every non-empty packet read."""
    for packet in container.demux(stream):
        if packet.size:
            yield 1
        yield from packet.decode()  # the final, empty packet flushes the decoder


def pad_yuv444_to_yuv420(planes: np.ndarray) -> np.ndarray:
    """Planar ``(3, H, W)`` yuv444p to a yuv420p frame of even size, edges repeated.

    Args:
        planes: ``(3, H, W) uint8`` Y, U, V at full resolution (any H, W).

    Returns:
        ``(H2 * 3 // 2, W2) uint8`` yuv420p (FFmpeg layout) with ``H2, W2`` rounded up to even:
        the last row/column repeated, chroma the mean of each 2x2 block.

    >>> pad_yuv444_to_yuv420(np.full((3, 3, 5), 7, np.uint8)).shape
    (6, 6)
    """
    _, h, w = planes.shape
    padded = np.pad(planes, ((0, 0), (0, h % 2), (0, w % 2)), mode="edge")
    h2, w2 = padded.shape[1:]
    chroma = padded[1:].reshape(2, h2 // 2, 2, w2 // 2, 2).astype(np.uint16).sum(axis=(2, 4))
    chroma = ((chroma + 2) // 4).astype(np.uint8)
    return np.concatenate([padded[0], chroma.reshape(-1, w2)])


def yuv420_to_yuv444(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A yuv420p frame (FFmpeg layout) as planar ``(3, h, w) uint8`` yuv444p cropped to ``size``.

    The inverse of ``pad_yuv444_to_yuv420`` up to chroma resolution: chroma samples are
    repeated over their 2x2 block, then the padding is cropped.

    >>> yuv420_to_yuv444(np.zeros((6, 6), np.uint8), (5, 3)).shape
    (3, 3, 5)
    """
    w, h = size
    h2, w2 = image.shape[0] * 2 // 3, image.shape[1]
    chroma = image[h2:].reshape(2, h2 // 2, w2 // 2)
    full = chroma.repeat(2, axis=1).repeat(2, axis=2)
    return np.ascontiguousarray(np.concatenate([image[None, :h2], full])[:, :h, :w])
