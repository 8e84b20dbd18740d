"""A frame's rotation metadata: the displayed (upright) image and points mapped both ways.

A phone video is coded sideways with a rotation tag; the tracker and the measurements read the
upright image, while the edit works in the coded frame.
"""

from __future__ import annotations

import numpy as np


def upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """The frame as it is displayed: rotated ``rotation`` degrees counter-clockwise."""
    return np.ascontiguousarray(np.rot90(image, k=(rotation // 90) % 4))


def to_upright(points: np.ndarray, rotation: int, coded_size: tuple[int, int]) -> np.ndarray:
    """Map ``(N, 2+)`` coded-frame pixels into the upright (displayed) frame.

    The inverse of ``from_upright``.

    >>> to_upright(np.array([[10.0, 0.0]]), 90, (20, 10)).tolist()
    [[0.0, 10.0]]
    """
    w, h = coded_size
    out = points.copy()
    x, y = points[:, 0], points[:, 1]
    k = (rotation // 90) % 4
    if k == 1:
        out[:, 0], out[:, 1] = y, w - x
    elif k == 2:
        out[:, 0], out[:, 1] = w - x, h - y
    elif k == 3:
        out[:, 0], out[:, 1] = h - y, x
    return out


def from_upright(points: np.ndarray, rotation: int, coded_size: tuple[int, int]) -> np.ndarray:
    """Map ``(N, 2+)`` pixel points of the upright frame back into the coded frame.

    >>> from_upright(np.array([[0.0, 10.0]]), 90, (20, 10)).tolist()
    [[10.0, 0.0]]
    """
    w, h = coded_size
    out = points.copy()
    x, y = points[:, 0], points[:, 1]
    k = (rotation // 90) % 4
    if k == 1:  # np.rot90 once: coded (x, y) -> upright (y, w - x)
        out[:, 0], out[:, 1] = w - y, x
    elif k == 2:
        out[:, 0], out[:, 1] = w - x, h - y
    elif k == 3:
        out[:, 0], out[:, 1] = y, h - x
    return out


__all__ = ["from_upright", "to_upright", "upright"]
