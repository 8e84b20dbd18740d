"""One long video over several workers: the analysis handed over, ranges planned and joined.

Pass 1 (tracking and fitting) needs the whole video and runs once. Its ``VideoAnalysis`` is
saved to a folder (``save_analysis``): the object graph pickled, every large array beside it as
an ``.npy`` file that workers map read-only (copy-on-write), so memory does not grow with the
video's length on any worker, as with the disk-backed arrays of one edit. Each worker then
renders a disjoint range of frames (``edit_video(..., frame_range=...)``) into its own file,
which the encoder starts with a keyframe, and ``join_ranges`` remuxes their packets, without
decoding or encoding again, into one container with the input's timestamps and its original
audio packets.
"""

from __future__ import annotations

import heapq
import io
import math
import pickle
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from emodirector.errors import EmodirectorError, OutputError
from emodirector.files import replacing
from emodirector.pipeline import VideoAnalysis
from emodirector.video.writer import OUTPUT_SUFFIXES

#: Arrays at least this large (bytes) are stored as separate, memory-mapped .npy files.
_MAP_BYTES = 1 << 16


class _ArrayPickler(pickle.Pickler):
    def __init__(self, file: io.BufferedWriter, folder: Path) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.folder = folder
        self.count = 0

    def persistent_id(self, obj: Any) -> str | None:
        if isinstance(obj, np.ndarray) and obj.dtype != object and obj.nbytes >= _MAP_BYTES:
            name = f"array{self.count:04d}.npy"
            self.count += 1
            np.save(self.folder / name, np.ascontiguousarray(obj))
            return name
        return None


class _ArrayUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedReader, folder: Path) -> None:
        super().__init__(file)
        self.folder = folder

    def persistent_load(self, pid: Any) -> np.ndarray:
        return np.load(self.folder / str(pid), mmap_mode="c")


def save_analysis(analysis: VideoAnalysis, folder: Path) -> Path:
    """Write ``analysis`` into ``folder`` (created) for ``load_analysis`` on any worker."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "analysis.pickle"
    with path.open("wb") as f:
        _ArrayPickler(f, folder).dump(analysis)
    return path


def load_analysis(folder: Path) -> VideoAnalysis:
    """The analysis ``save_analysis`` wrote; its large arrays are mapped, not read."""
    with (folder / "analysis.pickle").open("rb") as f:
        analysis = _ArrayUnpickler(f, folder).load()
    if not isinstance(analysis, VideoAnalysis):
        raise EmodirectorError(f"{folder}: not a saved analysis")
    return analysis


def plan_ranges(n_frames: int, fps: float, range_seconds: float) -> list[tuple[int, int]]:
    """Split ``n_frames`` into equal consecutive ranges of at most about ``range_seconds``.

    >>> plan_ranges(1500, 25.0, 30.0)
    [(0, 750), (750, 1500)]
    >>> plan_ranges(75, 25.0, 300.0)
    [(0, 75)]
    """
    if range_seconds <= 0 or n_frames == 0:
        return [(0, n_frames)]
    count = max(1, math.ceil(n_frames / max(1.0, range_seconds * fps)))
    bounds = [round(k * n_frames / count) for k in range(count + 1)]
    return [(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def _packets(path: Path) -> Iterator[av.Packet]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        for packet in container.demux(stream):
            if packet.size:
                yield packet


def join_ranges(
    ranges: Sequence[Path],
    source: Path,
    output: Path,
    audio_streams: Sequence[int],
    rotation: int = 0,
) -> int:
    """Remux the video packets of ``ranges`` (in order) and ``source``'s audio into ``output``.

    Nothing is decoded or encoded: the ranges were encoded with the same settings, each from a
    keyframe, with the input's timestamps, so their packets follow one another as one stream.
    The audio packets of ``source`` are copied as they are, interleaved by time. The result is
    written to a hidden temporary name beside ``output`` and renamed when complete.

    Args:
        ranges: The range files, in frame order.
        source: The input video (its audio streams are copied).
        output: The joined video.
        audio_streams: Indices of ``source``'s audio streams.
        rotation: Display rotation to store (the input's, as the range files have it).

    Returns:
        Video packets written.

    Raises:
        OutputError: The ranges do not fit together (different encoder parameters).
    """
    fmt = OUTPUT_SUFFIXES[output.suffix.lower()]
    first = av.open(str(ranges[0]))
    audio_in = av.open(str(source)) if audio_streams else None
    count = 0
    try:
        template = first.streams.video[0]
        for other in ranges[1:]:
            with av.open(str(other)) as c:
                if c.streams.video[0].codec_context.extradata != template.codec_context.extradata:
                    raise OutputError(f"{other}: encoded with other parameters than {ranges[0]}")
        with replacing(output) as temp, av.open(str(temp), mode="w", format=fmt) as out:
            video = out.add_stream_from_template(template)
            video.time_base = template.time_base
            if rotation:
                video.set_display_rotation(rotation)
            audio_map: dict[int, Any] = {}
            audio_list = []
            if audio_in is not None:
                audio_list = [s for s in audio_in.streams if s.index in audio_streams]
                for s in audio_list:
                    audio_map[s.index] = out.add_stream_from_template(s)
            streams: list[Iterator[tuple[Fraction, int, av.Packet]]] = [
                _timed((p for path in ranges for p in _packets(path)), 0)
            ]
            if audio_in is not None and audio_list:
                streams.append(_timed(audio_in.demux(audio_list), 1))
            for _, kind, packet in heapq.merge(*streams, key=lambda t: (t[0], t[1])):
                if kind == 0:
                    packet.stream = video
                    count += 1
                else:
                    packet.stream = audio_map[packet.stream_index]
                out.mux(packet)
    finally:
        first.close()
        if audio_in is not None:
            audio_in.close()
    return count


def _timed(packets: Iterator[av.Packet], kind: int) -> Iterator[tuple[Fraction, int, av.Packet]]:
    """Packets with their decode time in seconds, for merging streams in time order."""
    for packet in packets:
        if packet.dts is None or packet.size == 0 or packet.time_base is None:
            continue
        yield Fraction(packet.dts) * Fraction(packet.time_base), kind, packet


__all__ = ["join_ranges", "load_analysis", "plan_ranges", "save_analysis"]
