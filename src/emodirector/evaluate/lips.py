"""Lip-sync preservation: does the edited mouth still open and close with the speech?

The measure is the inner-lip aperture, the mean gap between the inner upper and inner lower lip,
divided by the distance between the outer eye corners so that it does not change with the size of
the face in the frame or with zoom. An edit that keeps the speech keeps this series: its Pearson
correlation with the original's stays close to 1.

Closures (m, b, p, a closed mouth at rest) are counted on dlib's 68 points, independently of the
MediaPipe tracker the editor uses: the lips touch on a frame where the inner-lip gap is below
``CLOSED_LIP_GAP`` of the mouth width (``closed_lips``); ``lip_closures`` says how many of the
input's closed frames stay closed in an edit, and how many of its open frames the edit closes.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from emodirector.evaluate.dlibface import inner_lip_gap68, mouth_width68
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
#: The lips touch when dlib's inner-lip gap (points 61-63 to 67-65) is below this share of the
#: mouth width (outer corners 48-54). Set on GRID (360x288) and MEAD's neutral speech (256x256),
#: looked at frame by frame: touching lips read 0.00-0.05 (up to 0.06-0.07 on the full lips of
#: GRID's man, whose "b" of "blue" reads 0.060), lips parted over the teeth 0.05-0.08 and up.
#: dlib misplaces the inner lip on the teeth edges of small open mouths (MEAD's 256 px clips),
#: where an open frame can read as closed; the measure is meant for faces whose mouth is at
#: least about 50 px wide.
CLOSED_LIP_GAP = 0.055
#: An edit's frame still counts as closed up to this much above ``CLOSED_LIP_GAP``, and only an
#: input frame this much above it counts as open when asking what an edit wrongly closed: dlib's
#: own noise between two encodes of the same frame (a plain re-encode of GRID's man: median 0.009,
#: 90th percentile 0.018, largest 0.035 of the mouth width; without the margin 2 of his 33 closed
#: frames read open after a re-encode).
CLOSED_LIP_MARGIN = 0.02


@dataclass(frozen=True)
class LipSyncReport:
    """How closely an edited clip's lip motion follows the original's.

    Attributes:
        correlation: Pearson r of the two aperture series over frames where both are finite
            (NaN if either series is constant there).
        mean_abs_difference: Mean absolute difference of the apertures over the same frames,
            in units of the inter-ocular distance.
        frames: Number of frames compared.
        closures_kept: Share of the original's closed-lip frames (``closed_lips``) whose lips
            are closed in the edit too (NaN: not measured, or no closed frame).
        wrongly_closed: Share of the original's open-lip frames closed in the edit (NaN: not
            measured, or no open frame).
        closed_frames: The original's closed-lip frames counted (face in both clips).
        open_frames: The original's open-lip frames counted.
    """

    correlation: float
    mean_abs_difference: float
    frames: int
    closures_kept: float = math.nan
    wrongly_closed: float = math.nan
    closed_frames: int = 0
    open_frames: int = 0


@dataclass(frozen=True)
class LipClosures:
    """Closed-lip frames of an original and its edit (dlib 68 points), frame by frame.

    Attributes:
        original: ``(T,) bool`` the original's lips touch (``closed_lips``).
        edited: ``(T,) bool`` the edit's lips touch, measured against the original's mouth width.
        measured: ``(T,) bool`` frames with lips in both clips.
        lost: ``(T,) bool`` closed in the original, open in the edit by more than the margin.
        added: ``(T,) bool`` open in the original by more than the margin, closed in the edit.
        kept: Share of the original's closed frames closed in the edit, within
            ``CLOSED_LIP_MARGIN`` (NaN: none closed).
        wrongly_closed: Share of the original's open frames (more than the margin above the
            threshold) closed in the edit (NaN: none open).
        closed_frames: Count of the original's closed frames (where measured).
        open_frames: Count of its open frames (where measured, beyond the margin).
    """

    original: np.ndarray
    edited: np.ndarray
    measured: np.ndarray
    lost: np.ndarray
    added: np.ndarray
    kept: float
    wrongly_closed: float
    closed_frames: int
    open_frames: int


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


def lip_gap_ratio(points: np.ndarray, width_from: np.ndarray | None = None) -> np.ndarray:
    """dlib inner-lip gap over the mouth width, per frame.

    Args:
        points: ``(T, 68, 2)`` dlib landmarks in pixels (NaN rows without a face).
        width_from: ``(T, 68, 2)`` landmarks of the same frames whose mouth width is the unit
            (default ``points``). An edit is measured in its original's units, so that a wider
            smile or pressed lips do not move the threshold.

    Returns:
        ``(T,) float64`` gap / width; NaN where unknown.

    >>> p = np.zeros((1, 68, 2)); p[0, 54, 0] = 40.0; p[0, [65, 66, 67], 1] = 2.0
    >>> lip_gap_ratio(p).tolist()
    [0.05]
    """
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 3 or p.shape[1:] != (68, 2):
        raise ValueError(f"points must be (T, 68, 2), got {p.shape}")
    ref = p if width_from is None else np.asarray(width_from, dtype=np.float64)
    if ref.shape != p.shape:
        raise ValueError(f"width_from must be {p.shape}, got {ref.shape}")
    with np.errstate(invalid="ignore", divide="ignore"):
        out = inner_lip_gap68(p) / mouth_width68(ref)
    out[~np.isfinite(out)] = np.nan
    return out


def closed_lips(
    points: np.ndarray, width_from: np.ndarray | None = None, threshold: float = CLOSED_LIP_GAP
) -> tuple[np.ndarray, np.ndarray]:
    """Frames whose lips touch: the inner-lip gap below ``threshold`` of the mouth width.

    Args:
        points: ``(T, 68, 2)`` dlib landmarks (NaN rows without a face).
        width_from: As ``lip_gap_ratio``.
        threshold: Gap over mouth width below which the lips touch.

    Returns:
        ``(closed, measured)``: two ``(T,) bool`` arrays (closed is False where not measured).

    >>> p = np.zeros((3, 68, 2)); p[:, 54, 0] = 40.0; p[:, [65, 66, 67], 1] = [[1.0], [4.0], [0]]
    >>> p[2] = np.nan
    >>> [a.tolist() for a in closed_lips(p)]
    [[True, False, False], [True, True, False]]
    """
    ratio = lip_gap_ratio(points, width_from)
    measured = np.isfinite(ratio)
    return measured & (np.nan_to_num(ratio, nan=np.inf) < threshold), measured


def lip_closures(
    original: np.ndarray, edited: np.ndarray, margin: float = CLOSED_LIP_MARGIN
) -> LipClosures:
    """Which of the original's closed-lip frames the edit keeps closed, and which open ones it
    closes (dlib landmarks of both, the edit measured in the original's mouth width; the edit's
    gap may exceed the threshold by ``margin`` on a kept closure, and only input frames more
    than ``margin`` above it count as open).

    Args:
        original: ``(T, 68, 2)`` dlib landmarks of the original (NaN rows without a face).
        edited: ``(T, 68, 2)`` the same frames of the edit.

    Raises:
        ValueError: The arrays are not both ``(T, 68, 2)``.

    >>> o = np.zeros((5, 68, 2)); o[:, 54, 0] = 40.0
    >>> o[:, [65, 66, 67], 1] = [[0], [0], [8], [8], [2.5]]
    >>> e = o.copy(); e[0, [65, 66, 67], 1] = 2.8; e[1, [65, 66, 67], 1] = 8.0
    >>> e[3, [65, 66, 67], 1] = 0.0
    >>> c = lip_closures(o, e)  # 0: 0.07 still closed; 4: 0.0625, neither closed nor open
    >>> c.kept, c.wrongly_closed, c.closed_frames, c.open_frames
    (0.5, 0.5, 2, 2)
    """
    closed_o, seen_o = closed_lips(original)
    closed_e, seen_e = closed_lips(edited, width_from=original)
    near_e, _ = closed_lips(edited, width_from=original, threshold=CLOSED_LIP_GAP + margin)
    near_o, _ = closed_lips(original, threshold=CLOSED_LIP_GAP + margin)
    measured = seen_o & seen_e
    was_closed = closed_o & measured
    was_open = ~near_o & measured
    n_closed, n_open = int(was_closed.sum()), int(was_open.sum())
    return LipClosures(
        original=closed_o,
        edited=closed_e,
        measured=measured,
        lost=was_closed & ~near_e,
        added=was_open & closed_e,
        kept=float((near_e & was_closed).sum() / n_closed) if n_closed else math.nan,
        wrongly_closed=float((closed_e & was_open).sum() / n_open) if n_open else math.nan,
        closed_frames=n_closed,
        open_frames=n_open,
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
    "CLOSED_LIP_GAP",
    "CLOSED_LIP_MARGIN",
    "MIN_FRAMES",
    "LipClosures",
    "LipSyncReport",
    "compare_apertures",
    "closed_lips",
    "compare_lips",
    "lip_aperture",
    "lip_closures",
    "lip_correlation",
    "lip_gap_ratio",
    "track_lip_aperture",
]
