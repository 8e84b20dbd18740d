"""Per-frame arrays that live on disk, so that memory does not grow with the video's length.

A 10-minute clip has ~15,000 frames of 478 x 3 landmarks (86 MB per array in float32). Such
arrays are kept in anonymous temporary files (created and unlinked at once, so nothing is left
behind even if the process is killed) and mapped with ``np.memmap``; stages walk them in chunks
of ``CHUNK`` frames and call ``release`` afterwards, which drops the pages from the resident set.
Consumers see ordinary NumPy arrays.
"""

from __future__ import annotations

import contextlib
import ctypes
import mmap
import os
import tempfile
from collections.abc import Iterator

import numpy as np

#: Frames processed at a time by the chunked stages.
CHUNK = 512


def empty_frames(n: int, frame_shape: tuple[int, ...], dtype: type = np.float32) -> np.ndarray:
    """A disk-backed ``(n, *frame_shape)`` array, filled with zeros.

    Args:
        n: Number of frames.
        frame_shape: Shape of one frame's entry.
        dtype: Element type.

    Returns:
        An ``np.memmap`` (an ndarray) backed by an already unlinked temporary file; a plain
        array when ``n == 0``.
    """
    shape = (n, *frame_shape)
    if n == 0:
        return np.zeros(shape, dtype)
    fd, name = tempfile.mkstemp(prefix="emodirector-", suffix=".frames")
    try:
        os.unlink(name)
        nbytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
        os.ftruncate(fd, nbytes)
        with os.fdopen(fd, "r+b", closefd=False) as f:
            return np.memmap(f, dtype=dtype, mode="r+", shape=shape)
    finally:
        os.close(fd)


def release(*arrays: np.ndarray) -> None:
    """Drop the resident pages of disk-backed arrays (their data stays valid on disk)."""
    for a in arrays:
        mm = getattr(a, "_mmap", None)
        if isinstance(a, np.memmap) and mm is not None:
            mm.madvise(mmap.MADV_DONTNEED)


def return_free_heap() -> None:
    """Hand the heap freed so far back to the system (glibc keeps it otherwise; a no-op
    without glibc): called where a large native user (MediaPipe's graphs, the encoder) has been
    closed and before the next one, so that their peaks do not add up."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def chunks(n: int, size: int = CHUNK) -> Iterator[slice]:
    """Consecutive slices covering ``range(n)``.

    >>> [(s.start, s.stop) for s in chunks(5, 2)]
    [(0, 2), (2, 4), (4, 5)]
    """
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


class FrameSpool:
    """Collects one fixed-shape array per frame without holding them in memory.

    Args:
        frame_shape: Shape of each appended array.
        dtype: Element type.
    """

    def __init__(self, frame_shape: tuple[int, ...], dtype: type = np.float32) -> None:
        self.frame_shape = frame_shape
        self.dtype: np.dtype = np.dtype(dtype)
        self._file = tempfile.TemporaryFile(prefix="emodirector-", suffix=".spool")  # noqa: SIM115
        self._buffer: list[np.ndarray] = []
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, frame: np.ndarray) -> None:
        """Add one frame's array (shape ``frame_shape``)."""
        if frame.shape != self.frame_shape:
            raise ValueError(f"expected {self.frame_shape}, got {frame.shape}")
        self._buffer.append(np.ascontiguousarray(frame, dtype=self.dtype))
        self._count += 1
        if len(self._buffer) >= CHUNK:
            self._flush()

    def extend(self, later: FrameSpool) -> None:
        """Append every frame of ``later`` (same shape and type), a chunk at a time; ``later``
        is closed."""
        if (later.frame_shape, later.dtype) != (self.frame_shape, self.dtype):
            raise ValueError(f"expected {self.frame_shape} {self.dtype} frames")
        self._flush()
        later._flush()
        later._file.seek(0)
        frame_bytes = int(np.prod(self.frame_shape)) * self.dtype.itemsize
        for sl in chunks(len(later)):
            self._file.write(later._file.read(frame_bytes * (sl.stop - sl.start)))
        self._count += len(later)
        later.close()

    def close(self) -> None:
        """Drop the frames collected (their temporary file is deleted)."""
        self._buffer.clear()
        self._file.close()

    def _flush(self) -> None:
        for a in self._buffer:
            self._file.write(a.tobytes())
        self._buffer.clear()

    def finish(self) -> np.ndarray:
        """All frames as a disk-backed ``(T, *frame_shape)`` array; the spool is closed."""
        self._flush()
        out = empty_frames(self._count, self.frame_shape, self.dtype.type)
        self._file.seek(0)
        frame_bytes = int(np.prod(self.frame_shape)) * self.dtype.itemsize
        for sl in chunks(self._count):
            data = self._file.read(frame_bytes * (sl.stop - sl.start))
            out[sl] = np.frombuffer(data, self.dtype).reshape(-1, *self.frame_shape)
            release(out)
        self._file.close()
        return out
