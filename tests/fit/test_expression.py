"""The speech / emotion split of an expression (emodirector.fit.expression)."""

from __future__ import annotations

import numpy as np
import pytest

from emodirector.face_model import (
    CHIN,
    LIP_PAIRS,
    LIPS_INNER_LOWER,
    N_LANDMARKS,
    RIGHT_EYE_UPPER,
    load_face_model,
)
from emodirector.fit import (
    EmotionRegion,
    SpeechConstraint,
    SpeechFeature,
    emotion_feature_indices,
    speech_features,
)

#: Linear-algebra tolerance on constraint residuals (canonical units).
_RESIDUAL_TOL = 1e-9
_JAW, _APERTURE, _ROUNDING = 0, 1, 2
#: Degree of the column polynomial of the mouth band (emodirector.fit.expression._BAND_DEGREE).
_BAND_DEGREE = 4


@pytest.fixture(scope="module")
def constraint() -> SpeechConstraint:
    return SpeechConstraint.build()


@pytest.fixture(scope="module")
def random_offsets() -> np.ndarray:
    return np.random.default_rng(0).normal(scale=0.05, size=(4, N_LANDMARKS, 3))


def test_feature_order_matches_enum() -> None:
    assert [f.value for f in SpeechFeature] == ["jaw_opening", "lip_aperture", "lip_rounding"]


def test_constraint_has_xyz_rows_per_lip_pair_and_the_jaw(constraint: SpeechConstraint) -> None:
    assert constraint.matrix.shape == (3 * (len(LIP_PAIRS) + 1), N_LANDMARKS * 3)


def test_mouth_band_covers_the_lips_not_the_chin(constraint: SpeechConstraint) -> None:
    band = set(constraint.band.tolist())
    assert {i for pair in LIP_PAIRS for i in pair} <= band
    assert CHIN not in band
    assert not band & set(EmotionRegion.BROWS.value)


def test_random_offsets_violate_constraint(
    constraint: SpeechConstraint, random_offsets: np.ndarray
) -> None:
    # guards the next tests against a constraint that is trivially satisfied
    assert np.abs(constraint.violation(random_offsets)).max() > 0.01


def test_project_removes_violation(
    constraint: SpeechConstraint, random_offsets: np.ndarray
) -> None:
    projected = constraint.project(random_offsets)
    assert projected.shape == random_offsets.shape
    assert np.abs(constraint.violation(projected)).max() < _RESIDUAL_TOL


_BUG_BAND_THEN_PAIRS = (
    "BUG: SpeechConstraint.project makes the mouth band column-wise and then makes the lip/jaw "
    "pairs rigid; the second step (e.g. lower lip 14 averaged with the chin, which lies outside "
    "the band) moves band points off their columns, so the result is not in the constraint set"
)


def test_project_is_idempotent(constraint: SpeechConstraint, random_offsets: np.ndarray) -> None:
    once = constraint.project(random_offsets)
    np.testing.assert_allclose(constraint.project(once), once, atol=_RESIDUAL_TOL)


def test_projected_mouth_band_moves_in_columns(
    constraint: SpeechConstraint, random_offsets: np.ndarray
) -> None:
    """Band points at the same height-independent column position share one offset.

    The band's offsets must be a low-degree polynomial of the horizontal position: a fit of such
    a polynomial (with each lip pair sharing its mean x) leaves no residual.
    """
    template = load_face_model().template.astype(np.float64)
    x = template[:, 0].copy()
    for up, lo in LIP_PAIRS:
        x[up] = x[lo] = (template[up, 0] + template[lo, 0]) / 2
    u = x[constraint.band]
    basis = np.stack([u**k for k in range(_BAND_DEGREE + 1)], axis=1)
    band = constraint.project(random_offsets)[:, constraint.band]
    fitted = np.einsum("ij,tjc->tic", basis @ np.linalg.pinv(basis), band)
    assert np.abs(fitted - band).max() < _RESIDUAL_TOL
    # and the random offsets were not columns to begin with
    raw = random_offsets[:, constraint.band]
    assert np.abs(np.einsum("ij,tjc->tic", basis @ np.linalg.pinv(basis), raw) - raw).max() > 0.01


def test_project_keeps_offsets_that_already_comply(constraint: SpeechConstraint) -> None:
    """A rigid shift of the whole face opens nothing and stays as it is."""
    shift = np.tile([0.1, -0.2, 0.05], (N_LANDMARKS, 1))
    np.testing.assert_allclose(constraint.project(shift), shift, atol=_RESIDUAL_TOL)


def test_project_leaves_the_rest_of_the_face(
    constraint: SpeechConstraint, random_offsets: np.ndarray
) -> None:
    """Only the mouth band and the chin may change: brows, eyes, cheeks keep their offsets."""
    changed = np.abs(constraint.project(random_offsets) - random_offsets).max(axis=(0, 2))
    allowed = set(constraint.band.tolist()) | {CHIN}
    assert set(np.flatnonzero(changed > _RESIDUAL_TOL).tolist()) <= allowed
    brows = list(EmotionRegion.BROWS.value) + list(EmotionRegion.EYELIDS.value)
    assert changed[brows].max() < _RESIDUAL_TOL


def test_projected_lip_pairs_move_as_one(
    constraint: SpeechConstraint, random_offsets: np.ndarray
) -> None:
    projected = constraint.project(random_offsets)
    for up, lo in (*LIP_PAIRS, (LIPS_INNER_LOWER[5], CHIN)):
        np.testing.assert_allclose(projected[:, up], projected[:, lo], atol=_RESIDUAL_TOL)


def test_projected_offsets_keep_jaw_and_aperture(
    constraint: SpeechConstraint, random_offsets: np.ndarray
) -> None:
    features = speech_features(constraint.project(random_offsets))
    assert np.abs(features[:, [_JAW, _APERTURE]]).max() < _RESIDUAL_TOL


def test_mouth_opening_increases_lip_aperture() -> None:
    closed = load_face_model().template.astype(np.float64)
    opened = closed.copy()
    delta = 0.08
    opened[list(LIPS_INNER_LOWER[1:-1]), 1] += delta  # inner lower lip moves down (y is down)
    before, after = speech_features(closed), speech_features(opened)
    assert after[_APERTURE] - before[_APERTURE] == pytest.approx(delta)
    assert after[_JAW] == pytest.approx(before[_JAW])
    assert after[_ROUNDING] == pytest.approx(before[_ROUNDING])


def test_jaw_drop_increases_jaw_opening() -> None:
    face = load_face_model().template.astype(np.float64)
    dropped = face.copy()
    dropped[CHIN, 1] += 0.2
    assert speech_features(dropped)[_JAW] - speech_features(face)[_JAW] == pytest.approx(0.2)


def test_speech_features_batch_shape() -> None:
    assert speech_features(np.zeros((2, 5, N_LANDMARKS, 3))).shape == (2, 5, 3)


def test_emotion_features_exclude_eyelids_by_default() -> None:
    default = set(emotion_feature_indices().tolist())
    with_lids = set(emotion_feature_indices(include_eyelids=True).tolist())
    assert RIGHT_EYE_UPPER[4] not in default
    assert RIGHT_EYE_UPPER[4] in with_lids
    assert default < with_lids
    assert set(EmotionRegion.BROWS.value) <= default


def test_emotion_features_exclude_lip_midpoints() -> None:
    """The lip midpoints carry speech, not emotion."""
    indices = set(emotion_feature_indices(include_eyelids=True).tolist())
    assert not {13, 14} & indices
