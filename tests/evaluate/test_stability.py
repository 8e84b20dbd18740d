"""Landmark jitter, identity scores and dlib geometry on synthetic inputs with known answers."""

from __future__ import annotations

import numpy as np

from emodirector.evaluate.compare import identity_scores
from emodirector.evaluate.dlibface import inner_lip_aperture68
from emodirector.evaluate.measure import identity_sample, landmark_jitter
from emodirector.video.rotation import from_upright, to_upright


def _face68(t: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    base = rng.uniform(0, 100, (68, 2))
    base[36], base[45] = (30.0, 40.0), (70.0, 40.0)
    return np.repeat(base[None], t, axis=0)


def test_steady_motion_has_no_jitter() -> None:
    p = _face68(10) + np.arange(10)[:, None, None] * 3.0  # constant velocity
    np.testing.assert_allclose(landmark_jitter(p)[1:-1], 0.0, atol=1e-12)


def test_noise_raises_jitter_in_proportion() -> None:
    rng = np.random.default_rng(2)
    noise = rng.normal(0, 1.0, (50, 68, 2))
    calm = np.nanmean(landmark_jitter(_face68(50) + noise))
    shaky = np.nanmean(landmark_jitter(_face68(50) + 3 * noise))
    assert 2.9 < shaky / calm < 3.1


def test_jitter_is_nan_next_to_missing_faces() -> None:
    p = _face68(5)
    p[2] = np.nan
    j = landmark_jitter(p)
    assert np.isnan(j[[0, 1, 2, 3, 4]]).all()


def test_lip_aperture68_scales_with_opening() -> None:
    p = _face68(3)
    p[:, [61, 62, 63], 1] = 50.0
    p[:, [67, 66, 65], 0] = p[:, [61, 62, 63], 0]
    p[:, [67, 66, 65], 1] = 50.0 + np.array([0.0, 4.0, 8.0])[:, None]
    np.testing.assert_allclose(inner_lip_aperture68(p), [0.0, 0.1, 0.2])


def test_identity_scores_of_same_and_opposite() -> None:
    a = np.random.default_rng(3).normal(size=(4, 128))
    d, c = identity_scores(a, a)
    np.testing.assert_allclose(d, 0.0)
    np.testing.assert_allclose(c, 1.0)
    d, c = identity_scores(a, -a)
    np.testing.assert_allclose(c, -1.0)


def test_identity_sample_spreads_over_face_frames() -> None:
    present = np.ones(100, bool)
    present[:10] = False
    idx = identity_sample(present, 4)
    assert idx.tolist() == [10, 40, 69, 99]


def test_upright_inverts_from_upright() -> None:
    pts = np.array([[3.0, 7.0], [10.0, 2.0]])
    for rotation in (0, 90, 180, 270):
        up = to_upright(pts, rotation, (20, 12))
        np.testing.assert_allclose(from_upright(up, rotation, (20, 12)), pts)
