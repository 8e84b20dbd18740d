"""The speech / emotion split of an expression (emodirector.fit.expression)."""

from __future__ import annotations

import numpy as np
import pytest

from emodirector.face_model import (
    CHIN,
    LIPS_INNER_LOWER,
    N_LANDMARKS,
    RIGHT_EYE_UPPER,
    load_face_model,
)
from emodirector.fit import (
    EmotionRegion,
    SpeechFeature,
    emotion_feature_indices,
    speech_features,
)

_JAW, _APERTURE, _ROUNDING = 0, 1, 2


def test_feature_order_matches_enum() -> None:
    assert [f.value for f in SpeechFeature] == ["jaw_opening", "lip_aperture", "lip_rounding"]


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
