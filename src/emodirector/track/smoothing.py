"""Temporal smoothing of tracked landmarks that removes jitter without lagging.

The filter is a temporal bilateral filter: each landmark is averaged with itself on the
neighbouring frames, weighted by how far apart the frames are *and* by how far the landmark
moved. Sub-pixel jitter (small moves) is averaged away, while a real, fast motion (lips opening
on a plosive, a head turn) gets almost no weight from the other frames and so is kept as it is.
The window is symmetric in time, so there is no lag: the whole track is known before rendering.
"""

from __future__ import annotations

import numpy as np

from emodirector.framearrays import chunks, empty_frames, release

#: Half window in frames.
_RADIUS = 2
#: Temporal scale of the weights, in frames.
_SIGMA_T = 1.0
#: Motion below this fraction of the face height counts as jitter (at strength 1).
_SIGMA_MOTION = 0.004


def _face_height(landmarks: np.ndarray) -> np.ndarray:
    """``(T,)`` vertical extent of each frame's landmarks."""
    return np.ptp(landmarks[:, :, 1], axis=1)


def smooth_landmarks(
    landmarks: np.ndarray, segment: np.ndarray, strength: float = 1.0
) -> np.ndarray:
    """Smooth a landmark track over time within each segment.

    Args:
        landmarks: ``(T, N, 3)`` pixel landmarks (NaN where absent).
        segment: ``(T,)`` segment id per frame, -1 where absent; frames of different segments
            never influence each other.
        strength: Scales the motion threshold; 0 returns a copy of the input.

    Returns:
        ``(T, N, 3) float32`` smoothed landmarks (disk-backed), NaN where the input was.
    """
    t_count = landmarks.shape[0]
    out = empty_frames(t_count, landmarks.shape[1:])
    for sl in chunks(t_count):
        lo, hi = max(0, sl.start - _RADIUS), min(t_count, sl.stop + _RADIUS)
        window = landmarks[lo:hi]
        if strength > 0:
            window = _smooth_window(window, segment[lo:hi], strength)
        out[sl] = window[sl.start - lo : sl.stop - lo]
        release(out, landmarks)
    return out


def _smooth_window(landmarks: np.ndarray, segment: np.ndarray, strength: float) -> np.ndarray:
    """``smooth_landmarks`` on an in-memory window of frames."""
    lm = landmarks.astype(np.float64)
    t_count = lm.shape[0]
    sigma_x = _SIGMA_MOTION * strength * np.nan_to_num(_face_height(lm), nan=1.0)  # (T,)
    acc = lm.copy()
    wsum = np.ones(lm.shape[:2])
    for k in range(-_RADIUS, _RADIUS + 1):
        if k == 0:
            continue
        lo, hi = max(0, -k), min(t_count, t_count - k)
        if hi <= lo:
            continue
        cur = lm[lo:hi]
        nb = lm[lo + k : hi + k]
        same = (segment[lo:hi] == segment[lo + k : hi + k]) & (segment[lo:hi] >= 0)
        d2 = ((nb[:, :, :2] - cur[:, :, :2]) ** 2).sum(axis=2)  # (n, N)
        w = np.exp(-(k**2) / (2 * _SIGMA_T**2) - d2 / (2 * sigma_x[lo:hi, None] ** 2))
        w = np.where(same[:, None], np.nan_to_num(w), 0.0)
        acc[lo:hi] += w[:, :, None] * np.nan_to_num(nb)
        wsum[lo:hi] += w
    return (acc / wsum[:, :, None]).astype(np.float32)
