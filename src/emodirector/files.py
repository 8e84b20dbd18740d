"""Writing a file so that no half of it is ever at its final path: a temporary name beside it,
renamed into place when complete (the rename is atomic on one file system)."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path


def temp_beside(path: Path, tag: str = "part") -> Path:
    """A hidden, unique temporary name in ``path``'s folder, with ``path``'s suffix.

    >>> name = temp_beside(Path("out/talk.mp4")).name
    >>> name.startswith(".talk.") and name.endswith(".part.mp4")
    True
    """
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}.{tag}{path.suffix}")


@contextlib.contextmanager
def replacing(path: Path, tag: str = "part") -> Iterator[Path]:
    """Yield a temporary path to write ``path``'s new content to; on success it is renamed to
    ``path``, on any error removed (``path`` is then left as it was)."""
    temp = temp_beside(path, tag)
    try:
        yield temp
        os.replace(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


__all__ = ["replacing", "temp_beside"]
