"""Smooth 0..1 ramps shared by the stages (fades, transitions, soft thresholds)."""

from __future__ import annotations

import numpy as np


def smoothstep(x: np.ndarray | float) -> np.ndarray:
    """``3x² - 2x³`` of ``x`` clipped to 0..1: eases in and out with zero slope at both ends.

    The dtype of an array ``x`` is kept.

    >>> smoothstep(np.array([-1.0, 0.25, 0.5, 2.0])).tolist()
    [0.0, 0.15625, 0.5, 1.0]
    """
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3 - 2 * x)


__all__ = ["smoothstep"]
