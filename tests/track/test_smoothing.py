"""Temporal smoothing of landmark tracks (emodirector.track.smoothing)."""

from __future__ import annotations

import numpy as np
import pytest

from emodirector.face_model import load_face_model
from emodirector.track import smooth_landmarks

#: Jitter (pixels, per coordinate) added to a still face about 330 pixels tall: ~0.0005 of the
#: face height, the order of MediaPipe's frame-to-frame noise.
_JITTER_PX = 0.15
#: Smoothing must cut the jitter's standard deviation by more than this fraction.
_JITTER_REDUCTION_MIN = 0.40
#: A real jump (10 px, 3% of the face height) must be kept at least this much on its first frame.
_STEP_KEPT_MIN = 0.90
#: Frames before the jump may move towards it by at most this fraction of it (no pre-echo).
_STEP_LEAK_MAX = 0.10
_STEP_PX = 10.0
#: Steady motion passes through the symmetric filter unchanged up to float32 rounding (pixels).
_STEADY_MOTION_TOL_PX = 1e-3
_T = 60


@pytest.fixture(scope="module")
def still_face() -> np.ndarray:
    """``(T, 478, 3)`` a motionless face about 330 pixels tall."""
    face = load_face_model().template * 100.0 + np.array([320.0, 240.0, 0.0])
    return np.repeat(face[None], _T, axis=0)


def _one_segment(t: int = _T) -> np.ndarray:
    return np.zeros(t, np.int32)


def test_smoothing_reduces_jitter(still_face: np.ndarray) -> None:
    rng = np.random.default_rng(1)
    noisy = still_face + rng.normal(0.0, _JITTER_PX, still_face.shape)
    smoothed = smooth_landmarks(noisy, _one_segment())
    before = (noisy - still_face)[..., :2].std()
    after = (smoothed - still_face)[..., :2].std()
    assert after < (1.0 - _JITTER_REDUCTION_MIN) * before


def test_smoothing_keeps_fast_step_without_lag(still_face: np.ndarray) -> None:
    rng = np.random.default_rng(2)
    clean = still_face.copy()
    clean[_T // 2 :, :, 0] += _STEP_PX
    noisy = clean + rng.normal(0.0, _JITTER_PX, clean.shape)
    smoothed = smooth_landmarks(noisy, _one_segment())
    x = smoothed[:, :, 0].mean(axis=1) - still_face[:, :, 0].mean(axis=1)
    step = _T // 2
    assert x[step] - x[step - 1] > _STEP_KEPT_MIN * _STEP_PX
    assert abs(x[step - 1]) < _STEP_LEAK_MAX * _STEP_PX
    assert abs(x[step] - _STEP_PX) < _STEP_LEAK_MAX * _STEP_PX


def test_smoothing_output_dtype_and_shape(still_face: np.ndarray) -> None:
    out = smooth_landmarks(still_face.astype(np.float64), _one_segment())
    assert out.dtype == np.float32
    assert out.shape == still_face.shape


def test_smoothing_strength_zero_is_identity(still_face: np.ndarray) -> None:
    rng = np.random.default_rng(3)
    noisy = still_face + rng.normal(0.0, _JITTER_PX, still_face.shape)
    out = smooth_landmarks(noisy, _one_segment(), strength=0.0)
    np.testing.assert_array_equal(out, noisy.astype(np.float32))


def test_smoothing_does_not_mix_segments(still_face: np.ndarray) -> None:
    """Two people at nearly the same place: frames of one never pull the other."""
    lm = still_face.copy()
    lm[_T // 2 :, :, :2] += 0.2  # a sub-jitter offset the filter would average away
    segment = np.where(np.arange(_T) < _T // 2, 0, 1).astype(np.int32)
    out = smooth_landmarks(lm, segment)
    np.testing.assert_allclose(out, lm, atol=1e-4)


def test_smoothing_keeps_absent_frames_nan_and_neighbours_finite(still_face: np.ndarray) -> None:
    lm = still_face.copy()
    lm[20:25] = np.nan
    segment = _one_segment()
    segment[20:25] = -1
    segment[25:] = 1
    out = smooth_landmarks(lm, segment)
    assert np.isnan(out[20:25]).all()
    assert np.isfinite(out[:20]).all() and np.isfinite(out[25:]).all()
    np.testing.assert_allclose(out[:20], lm[:20], atol=1e-4)


def test_smoothing_single_frame_is_copy(still_face: np.ndarray) -> None:
    out = smooth_landmarks(still_face[:1], _one_segment(1))
    np.testing.assert_array_equal(out, still_face[:1].astype(np.float32))


def test_smoothing_is_seamless_across_long_tracks() -> None:
    """A long track (processed in chunks) smooths every frame with its full window.

    Steady motion is its own symmetric average, so every frame whose window lies inside the
    track must come out unchanged; a window cut at a chunk boundary would pull it off.
    """
    t = 1300  # spans several chunks of frames
    face = load_face_model().template * 100.0 + np.array([320.0, 240.0, 0.0])
    velocity = np.array([0.05, -0.03, 0.0])  # pixels per frame: well under the jitter scale
    lm = face[None] + np.arange(t)[:, None, None] * velocity
    out = smooth_landmarks(lm, np.zeros(t, np.int32))
    np.testing.assert_allclose(out[2:-2], lm[2:-2], atol=_STEADY_MOTION_TOL_PX)
    # the first frame has no past: its one-sided window does pull it, which this test would see
    assert np.abs(out[0] - lm[0]).max() > 10 * _STEADY_MOTION_TOL_PX
