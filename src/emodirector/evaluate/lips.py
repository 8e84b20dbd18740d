"""Lip-sync preservation: does the edited mouth still open and close with the speech?

The measure is the inner-lip aperture, the mean gap between the inner upper and inner lower lip,
divided by the distance between the outer eye corners so that it does not change with the size of
the face in the frame or with zoom. An edit that keeps the speech keeps this series: its Pearson
correlation with the original's stays close to 1.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from emodirector.face_model import (
    LEFT_EYE_CORNERS,
    LIPS_INNER_LOWER,
    LIPS_INNER_UPPER,
    N_LANDMARKS,
    RIGHT_EYE_CORNERS,
)
from emodirector.track.tracker import FaceTracker, TrackerOptions
from emodirector.video.reader import probe

#: Inner upper/lower lip pairs, without the shared mouth corners at both ends.
_INNER_UPPER = np.asarray(LIPS_INNER_UPPER[1:-1], dtype=np.int64)
_INNER_LOWER = np.asarray(LIPS_INNER_LOWER[1:-1], dtype=np.int64)
#: The outer eye corners (first of each corner pair): 33 on the subject's right, 263 on the left.
_OUTER_RIGHT_EYE = RIGHT_EYE_CORNERS[0]
_OUTER_LEFT_EYE = LEFT_EYE_CORNERS[0]

#: Fewest frames a correlation is computed over.
MIN_FRAMES = 3


@dataclass(frozen=True)
class LipSyncReport:
    """How closely an edited clip's lip motion follows the original's.

    Attributes:
        correlation: Pearson r of the two aperture series over frames where both are finite
            (NaN if either series is constant there).
        mean_abs_difference: Mean absolute difference of the apertures over the same frames,
            in units of the inter-ocular distance.
        frames: Number of frames compared.
    """

    correlation: float
    mean_abs_difference: float
    frames: int


def lip_aperture(landmarks: np.ndarray) -> np.ndarray:
    """Inner-lip aperture per frame, normalised by face size.

    The mean 3-D distance between the inner upper and inner lower lip points (mouth corners
    excluded), divided by the 3-D distance between the outer eye corners.

    Args:
        landmarks: ``(T, 478, 3)`` MediaPipe landmarks (x, y, z in consistent units, e.g. the
            pixels of ``FaceTrack.landmarks``); rows of NaN where there is no face.

    Returns:
        ``(T,) float64`` aperture: about 0.01 with closed lips, up to about 0.1 in speech. NaN on
        frames without a face (or with a degenerate zero inter-ocular distance).

    Raises:
        ValueError: ``landmarks`` is not ``(T, 478, 3)``.

    >>> lm = np.zeros((1, 478, 3))
    >>> lm[0, 263, 0] = 10.0
    >>> lm[0, list(LIPS_INNER_LOWER), 1] = 2.0
    >>> lip_aperture(lm).tolist()
    [0.2]
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim != 3 or lm.shape[1:] != (N_LANDMARKS, 3):
        raise ValueError(f"landmarks must be (T, {N_LANDMARKS}, 3), got {lm.shape}")
    gaps = np.linalg.norm(lm[:, _INNER_UPPER] - lm[:, _INNER_LOWER], axis=-1)  # (T, pairs)
    eyes = np.linalg.norm(lm[:, _OUTER_RIGHT_EYE] - lm[:, _OUTER_LEFT_EYE], axis=-1)  # (T,)
    with np.errstate(invalid="ignore", divide="ignore"):
        aperture = gaps.mean(axis=1) / eyes
    aperture[~np.isfinite(aperture)] = np.nan
    return aperture


def track_lip_aperture(
    path: str | os.PathLike[str], options: TrackerOptions | None = None
) -> np.ndarray:
    """Track the face through a video and return its lip aperture.

    Args:
        path: Video file.
        options: Tracker settings (the defaults, as the edit pipeline uses, if None).

    Returns:
        ``(T,) float64`` aperture per decoded frame, NaN where no face was tracked.

    Raises:
        InputNotFoundError, UnsupportedVideoError: See ``emodirector.video.probe``.
    """
    info = probe(path)
    with FaceTracker(options or TrackerOptions()) as tracker:
        track = tracker.track_video(info)
    return lip_aperture(track.landmarks)


def _common_finite(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``(N,)`` values of two ``(T,)`` series on frames where both are finite."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"series must be 1-D and of equal length, got {x.shape} and {y.shape}")
    both = np.isfinite(x) & np.isfinite(y)
    if int(both.sum()) < MIN_FRAMES:
        raise ValueError(
            f"need at least {MIN_FRAMES} frames where both series are finite, got {int(both.sum())}"
        )
    return x[both], y[both]


def lip_correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two aperture series over the frames where both are finite.

    Args:
        a: ``(T,)`` aperture series (NaN where unknown).
        b: ``(T,)`` aperture series of the same frames.

    Returns:
        r in ``[-1, 1]``; NaN if either series is constant on the common frames.

    Raises:
        ValueError: The series differ in length or are not 1-D, or fewer than 3 frames are
            finite in both.

    >>> a = np.array([0.0, 0.1, np.nan, 0.3, 0.2])
    >>> b = np.array([0.1, 0.3, 0.5, 0.7, np.nan])
    >>> round(lip_correlation(a, b), 6)
    1.0
    >>> lip_correlation(a[:3], b[:3])
    Traceback (most recent call last):
        ...
    ValueError: need at least 3 frames where both series are finite, got 2
    """
    x, y = _common_finite(a, b)
    x = x - x.mean()
    y = y - y.mean()
    denom = float(np.sqrt((x * x).sum() * (y * y).sum()))
    if denom == 0.0:
        return float("nan")
    return float(np.clip((x * y).sum() / denom, -1.0, 1.0))


def compare_apertures(original: np.ndarray, edited: np.ndarray) -> LipSyncReport:
    """The LipSyncReport of two ``(T,)`` aperture series of the same frames.

    Raises:
        ValueError: As ``lip_correlation``.
    """
    x, y = _common_finite(original, edited)
    return LipSyncReport(
        correlation=lip_correlation(original, edited),
        mean_abs_difference=float(np.abs(x - y).mean()),
        frames=int(x.size),
    )


def compare_lips(
    original_path: str | os.PathLike[str],
    edited_path: str | os.PathLike[str],
    options: TrackerOptions | None = None,
) -> LipSyncReport:
    """Track both videos and compare their lip motion frame by frame.

    Args:
        original_path: The input video.
        edited_path: The edited video (same frames, same order).
        options: Tracker settings used for both.

    Returns:
        The LipSyncReport.

    Raises:
        ValueError: The videos differ in frame count, or fewer than 3 frames have a face in both.
        InputNotFoundError, UnsupportedVideoError: See ``emodirector.video.probe``.
    """
    return compare_apertures(
        track_lip_aperture(original_path, options), track_lip_aperture(edited_path, options)
    )


__all__ = [
    "MIN_FRAMES",
    "LipSyncReport",
    "compare_apertures",
    "compare_lips",
    "lip_aperture",
    "lip_correlation",
    "track_lip_aperture",
]
