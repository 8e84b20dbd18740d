"""Encoding edited frames and carrying the original audio packets over untouched.

The output is written to a hidden temporary file beside the destination and renamed into place
only when everything succeeded, so a failed or interrupted run leaves no partial file and the
input is never opened for writing.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from emodirector.errors import InvalidOptionError, OutputError
from emodirector.files import temp_beside
from emodirector.framearrays import return_free_heap
from emodirector.video.reader import VideoInfo, yuv420_to_yuv444

#: Containers we write; each can hold H.264 video and the audio codecs our inputs carry.
OUTPUT_SUFFIXES = {".mp4": "mp4", ".mov": "mov", ".mkv": "matroska", ".m4v": "mp4"}

#: Frames that may wait for the encoder thread.
_QUEUE_FRAMES = 4
#: How far ahead of the video (seconds) audio packets are muxed, keeping the interleave tight.
_AUDIO_LEAD_S = 0.5


@dataclass(frozen=True)
class EncodeOptions:
    """Video encoder settings.

    Attributes:
        crf: libx264 constant rate factor, 0 (lossless) to 51; 18 is visually transparent.
        preset: libx264 speed preset (``ultrafast`` ... ``veryslow``).
        threads: Encoder threads; 0 lets the encoder choose.
    """

    crf: int = 18
    preset: str = "veryfast"
    threads: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.crf <= 51:
            raise InvalidOptionError(f"crf must be within 0..51, got {self.crf}")
        presets = {
            "ultrafast", "superfast", "veryfast", "faster", "fast",
            "medium", "slow", "slower", "veryslow",
        }  # fmt: skip
        if self.preset not in presets:
            raise InvalidOptionError(f"unknown x264 preset {self.preset!r}")


def check_output_path(output: str | os.PathLike[str], input_path: Path, overwrite: bool) -> Path:
    """Validate the destination before any work is done.

    Raises:
        OutputError: Same file as the input, exists without ``overwrite``, folder missing or not
            writable, or a container we cannot write.
    """
    out = Path(output)
    if out.suffix.lower() not in OUTPUT_SUFFIXES:
        raise OutputError(f"{out}: output must end in one of {', '.join(sorted(OUTPUT_SUFFIXES))}")
    if out.exists() and input_path.exists() and out.resolve() == input_path.resolve():
        raise OutputError(f"{out}: output is the input file; choose another output path")
    if out.is_dir():
        raise OutputError(f"{out}: is a directory")
    if out.exists() and not overwrite:
        raise OutputError(f"{out}: already exists (pass --overwrite to replace it)")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"{parent}: output folder does not exist")
    if not os.access(parent, os.W_OK):
        raise OutputError(f"{parent}: output folder is not writable")
    return out


class VideoWriter:
    """Context manager that encodes frames into a temporary file and renames it on success.

    The video is H.264 yuv420p at the input's size. H.264 4:2:0 needs an even width and height,
    so a video of odd width or height is written as H.264 4:4:4 (yuv444p, High 4:4:4 profile)
    at its exact size instead: nothing is cropped or padded, but some players (browsers,
    QuickTime) cannot play 4:4:4.

    Args:
        output: Final path of the video.
        info: The input video: frame rate, time base, rotation and colour range are copied.
        options: Encoder settings.
        copy_audio: Copy every audio stream of ``info.path`` packet for packet.
        finalize: Called with the path of the finished temporary file (closed, complete) before
            it is renamed to ``output``; it may rewrite that file in place (the C2PA manifest is
            signed in here). If it raises, nothing is left at ``output``.

    Example:
        >>> with VideoWriter(out, info, EncodeOptions()) as w:  # doctest: +SKIP
        ...     for frame in iter_frames(info, "yuv420p"):
        ...         w.write(frame.image, frame.pts)
    """

    def __init__(
        self,
        output: Path,
        info: VideoInfo,
        options: EncodeOptions,
        copy_audio: bool = True,
        finalize: Callable[[Path], None] | None = None,
    ) -> None:
        self.output = output
        self.finalize = finalize
        self.info = info
        self.options = options
        self.copy_audio = copy_audio and info.has_audio
        self.temp_path = temp_beside(output)
        self.frames_written = 0
        self._out: av.container.OutputContainer | None = None
        self._audio_in: av.container.InputContainer | None = None
        self._audio_packets: Iterator[av.Packet] | None = None
        self._pending: av.Packet | None = None
        self._audio_map: dict[int, av.stream.Stream] = {}
        self._last_pts: int | None = None
        # Encoding runs in a worker thread (x264 and the muxer release the GIL), overlapping
        # with the caller's rendering of the next frame.
        self._queue: queue.Queue[av.VideoFrame | None] = queue.Queue(maxsize=_QUEUE_FRAMES)
        self._worker: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def pix_fmt(self) -> str:
        """The encoded pixel format: yuv420p, or yuv444p for odd frame sizes."""
        return "yuv444p" if self.info.width % 2 or self.info.height % 2 else "yuv420p"

    def __enter__(self) -> VideoWriter:
        fmt = OUTPUT_SUFFIXES[self.output.suffix.lower()]
        try:
            self._out = av.open(str(self.temp_path), mode="w", format=fmt)
        except (OSError, av.error.FFmpegError) as exc:
            raise OutputError(f"{self.output}: cannot create output ({exc})") from None
        try:
            self._open_streams()
        except BaseException:
            self._abort()
            raise
        self._worker = threading.Thread(
            target=self._encode_frames, name="emodirector-encode", daemon=True
        )
        self._worker.start()
        return self

    def _open_streams(self) -> None:
        assert self._out is not None
        info = self.info
        stream = self._out.add_stream("libx264", rate=info.fps)
        stream.width = info.width
        stream.height = info.height
        stream.pix_fmt = self.pix_fmt
        stream.time_base = info.time_base
        cc = stream.codec_context
        cc.time_base = info.time_base
        cc.framerate = info.fps
        if info.color_range:
            cc.color_range = info.color_range
        cc.colorspace = info.colorspace
        cc.color_primaries = info.color_primaries
        cc.color_trc = info.color_trc
        cc.thread_type = "AUTO"
        cc.thread_count = self.options.threads
        cc.options = {"crf": str(self.options.crf), "preset": self.options.preset}
        if info.rotation:
            stream.set_display_rotation(info.rotation)
        self._video = stream
        if self.copy_audio:
            self._audio_in = av.open(str(info.path))
            in_streams = [s for s in self._audio_in.streams if s.index in info.audio_streams]
            for s in in_streams:
                self._audio_map[s.index] = self._out.add_stream_from_template(s)
            self._audio_packets = iter(self._audio_in.demux(in_streams))
        try:
            self._out.start_encoding()  # writes the header: fails now if a stream cannot fit
        except av.error.FFmpegError as exc:
            raise OutputError(
                f"{self.output}: this container cannot hold the input's streams "
                f"({exc.strerror or exc}); try an .mkv output"
            ) from None

    def write(self, image: np.ndarray, pts: int | None) -> None:
        """Encode one ``(H * 3 // 2, W) uint8`` yuv420p frame at timestamp ``pts``.

        ``(W, H)`` is ``info.padded_size``: for an odd-sized video the repeated edge is cropped
        and the frame encoded as yuv444p. Timestamps that are missing or not increasing are
        replaced by the next frame slot, so that the encoder always receives a strictly
        increasing sequence.
        """
        assert self._out is not None, "use VideoWriter as a context manager"
        if self.pix_fmt == "yuv444p":
            size = (self.info.width, self.info.height)
            frame = av.VideoFrame.from_ndarray(yuv420_to_yuv444(image, size), format="yuv444p")
        else:
            frame = av.VideoFrame.from_ndarray(image, format="yuv420p")
        if self.info.color_range:
            frame.color_range = self.info.color_range
        frame.colorspace = self.info.colorspace
        step = max(1, round(1 / (self.info.fps * self.info.time_base)))
        if pts is None or (self._last_pts is not None and pts <= self._last_pts):
            pts = step * self.frames_written if self._last_pts is None else self._last_pts + step
        frame.pts = pts
        frame.time_base = self.info.time_base
        self._last_pts = pts
        self._raise_worker_error()
        self._queue.put(frame)
        self.frames_written += 1

    def _encode_frames(self) -> None:
        """Worker thread: encode queued frames and mux them with the audio, until None."""
        assert self._out is not None
        while True:
            frame = self._queue.get()
            if frame is None:
                return
            if self._error is not None:
                continue  # drain after a failure
            try:
                for packet in self._video.encode(frame):
                    self._out.mux(packet)
                pts = frame.pts or 0
                self._mux_audio_until(float(pts * self.info.time_base) + _AUDIO_LEAD_S)
            except BaseException as exc:
                self._error = exc

    def _raise_worker_error(self) -> None:
        if self._error is not None:
            exc = self._error
            if isinstance(exc, av.error.FFmpegError):
                raise OutputError(f"{self.output}: encoding failed ({exc})") from None
            raise exc

    def _stop_worker(self) -> None:
        if self._worker is not None:
            self._queue.put(None)
            self._worker.join()
            self._worker = None

    def _mux_audio_until(self, t: float | None) -> None:
        """Mux audio packets whose timestamp is before ``t`` seconds (all if ``t`` is None)."""
        if self._audio_packets is None or self._out is None:
            return
        while True:
            packet = self._pending
            self._pending = None
            if packet is None:
                packet = next(self._audio_packets, None)
                if packet is None:
                    self._audio_packets = None
                    return
            if packet.dts is None or packet.size == 0:
                continue
            ts = packet.dts if packet.pts is None else packet.pts
            if t is not None and packet.time_base is not None and float(ts * packet.time_base) > t:
                self._pending = packet
                return
            packet.stream = self._audio_map[packet.stream_index]
            self._out.mux(packet)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self._abort()
            return
        try:
            self._stop_worker()
            self._raise_worker_error()
            assert self._out is not None
            for packet in self._video.encode(None):
                self._out.mux(packet)
            self._mux_audio_until(None)
            self._close()
            # the encoder's freed buffers go back before ``finalize`` (signing) reads the output
            return_free_heap()
            if self.finalize is not None:
                self.finalize(self.temp_path)
            os.replace(self.temp_path, self.output)
        except BaseException:
            self._abort()
            raise

    def _close(self) -> None:
        if self._audio_in is not None:
            self._audio_in.close()
            self._audio_in = None
        if self._out is not None:
            self._out.close()
            self._out = None

    def _abort(self) -> None:
        self._stop_worker()
        with contextlib.suppress(Exception):
            self._close()
        with contextlib.suppress(FileNotFoundError):
            self.temp_path.unlink()
