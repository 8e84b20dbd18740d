"""Reading the ``.npz`` data files the stages use (prototypes, detail, action units).

The packaged files always read; a file a user names (``edit --prototypes FILE``) may be missing
or something else, and that is a one-line error, never a traceback.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

from emodirector.errors import InputNotFoundError, InvalidOptionError

T = TypeVar("T")


def read_npz(
    path: str | os.PathLike[str],
    what: str,
    kind: str,
    build: Callable[[np.lib.npyio.NpzFile], T],
) -> T:
    """``build`` applied to the arrays of the ``.npz`` file at ``path``.

    Args:
        path: The file.
        what: What it holds, for messages (``"prototypes"``).
        kind: What it must be, for messages (``"a prototype file made by ..."``).
        build: Makes the object from the open file; a missing array (``KeyError``) or a wrong
            shape (``ValueError``) means the file holds something else.

    Raises:
        InputNotFoundError: No such file, or a folder.
        InvalidOptionError: Not an ``.npz`` file, or not one of ``what``.
    """
    src = Path(path)
    if not src.exists():
        raise InputNotFoundError(f"{what} {src}: no such file")
    if src.is_dir():
        raise InputNotFoundError(f"{what} {src}: is a folder, not a file")
    try:
        data = np.load(src, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            raise ValueError("a single array, not an .npz archive")
        with data:
            return build(data)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise InvalidOptionError(f"{what} {src}: not {kind} ({exc})") from None


__all__ = ["read_npz"]
