"""The packaged emotion prototypes (emodirector.manipulate.prototypes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emodirector.errors import InvalidOptionError
from emodirector.face_model import (
    LEFT_BROW,
    LEFT_EYE_CORNERS,
    LEFT_IRIS,
    LEFT_LID_PAIRS,
    N_LANDMARKS,
    RIGHT_BROW,
    RIGHT_EYE_CORNERS,
    RIGHT_IRIS,
    RIGHT_LID_PAIRS,
)
from emodirector.fit import SpeechConstraint, speech_constraint, without_drop
from emodirector.manipulate import EXPRESSIVE, Emotion, EmotionPrototypes

#: Largest move of a mouth an emotion leaves to the speech (canonical units; 0.05 pixel on a
#: face 100 pixels tall).
_MOUTH_STILL_TOL = 1e-3
#: Speech-constraint residual of a prototype (canonical units; offsets are up to ~0.3).
_VIOLATION_MAX = 1e-5
#: An iris moves with the mean of its eye corners within this (canonical units; ~0.03 pixel
#: on a face 100 pixels tall).
_IRIS_RIGID_TOL = 1e-3
#: Relative slack on "as strong as one actor" (the final speech projection trims a little).
_NORM_REL_TOL = 0.01
#: Smallest facial movement (canonical units, face ~3.3 tall) counted as a clear sign of an
#: emotion in the checks of what each prototype does.
_CLEAR_MOVE = 0.02
#: Eyelid opening change counted as clear (lids move less than brows or lip corners).
_CLEAR_LID_MOVE = 0.01

_RIGHT_CORNER, _LEFT_CORNER = 61, 291  # outer lip corners (the subject's right is image left)
_RIGHT_INNER_BROW, _LEFT_INNER_BROW = 107, 336


@pytest.fixture(scope="module")
def prototypes() -> EmotionPrototypes:
    return EmotionPrototypes.load_default()


def _offset(prototypes: EmotionPrototypes, emotion: Emotion) -> np.ndarray:
    return prototypes.offsets[prototypes.index(emotion)]


def _corner_lift(o: np.ndarray) -> float:
    """How far the lip corners move up (y is down)."""
    return -float(o[[_RIGHT_CORNER, _LEFT_CORNER], 1].mean())


def _brow_lift(o: np.ndarray) -> float:
    return -float(o[list(RIGHT_BROW) + list(LEFT_BROW), 1].mean())


def _lid_opening(o: np.ndarray) -> float:
    pairs = RIGHT_LID_PAIRS + LEFT_LID_PAIRS
    return float(np.mean([o[lo, 1] - o[up, 1] for up, lo in pairs]))


def test_prototypes_cover_all_expressive_emotions(prototypes: EmotionPrototypes) -> None:
    assert prototypes.covers_all()
    assert set(prototypes.emotions) == set(EXPRESSIVE)
    assert prototypes.offsets.shape == (6, N_LANDMARKS, 3)
    assert len(prototypes.actors) >= 2


def test_prototypes_are_not_zero(prototypes: EmotionPrototypes) -> None:
    for emotion, offset in zip(prototypes.emotions, prototypes.offsets, strict=True):
        assert np.abs(offset).max() > _CLEAR_MOVE, emotion


def test_prototypes_satisfy_speech_constraint(prototypes: EmotionPrototypes) -> None:
    constraint = SpeechConstraint.build()
    assert np.abs(constraint.violation(prototypes.offsets)).max() < _VIOLATION_MAX


def test_actor_prototypes_satisfy_speech_constraint(prototypes: EmotionPrototypes) -> None:
    constraint = SpeechConstraint.build()
    assert np.abs(constraint.violation(prototypes.actor_offsets)).max() < _VIOLATION_MAX


def test_prototypes_are_as_strong_as_one_actor(prototypes: EmotionPrototypes) -> None:
    """Intensity 1 shows an emotion as strongly as one actor acted it, not a weaker blend."""
    combined = np.sqrt((prototypes.offsets**2).sum(axis=(1, 2)))
    per_actor = np.sqrt((prototypes.actor_offsets**2).sum(axis=(2, 3))).mean(axis=0)
    assert (combined >= (1.0 - _NORM_REL_TOL) * per_actor).all()


def test_actor_prototype_irises_move_rigidly_with_eye_corners(
    prototypes: EmotionPrototypes,
) -> None:
    _assert_irises_follow_corners(prototypes.actor_offsets)


def test_prototype_irises_move_rigidly_with_eye_corners(prototypes: EmotionPrototypes) -> None:
    _assert_irises_follow_corners(prototypes.offsets)


def _assert_irises_follow_corners(offsets: np.ndarray) -> None:
    """Every iris point of ``(..., 478, 3)`` offsets equals the mean of its eye corners'."""
    for iris, corners in ((RIGHT_IRIS, RIGHT_EYE_CORNERS), (LEFT_IRIS, LEFT_EYE_CORNERS)):
        corner_mean = offsets[..., list(corners), :].mean(axis=-2, keepdims=True)
        drift = np.abs(offsets[..., list(iris), :] - corner_mean).max()
        assert drift < _IRIS_RIGID_TOL


def test_happy_lifts_and_widens_lip_corners(prototypes: EmotionPrototypes) -> None:
    o = _offset(prototypes, Emotion.HAPPY)
    assert _corner_lift(o) > _CLEAR_MOVE
    assert o[_LEFT_CORNER, 0] - o[_RIGHT_CORNER, 0] > _CLEAR_MOVE


def test_sad_lowers_lip_corners(prototypes: EmotionPrototypes) -> None:
    assert _corner_lift(_offset(prototypes, Emotion.SAD)) < -_CLEAR_MOVE


def test_angry_lowers_and_knits_brows(prototypes: EmotionPrototypes) -> None:
    o = _offset(prototypes, Emotion.ANGRY)
    assert _brow_lift(o) < -_CLEAR_MOVE
    assert o[_LEFT_INNER_BROW, 0] - o[_RIGHT_INNER_BROW, 0] < -_CLEAR_LID_MOVE


def test_surprised_raises_brows_and_opens_eyes(prototypes: EmotionPrototypes) -> None:
    o = _offset(prototypes, Emotion.SURPRISED)
    assert _brow_lift(o) > _CLEAR_MOVE
    assert _lid_opening(o) > _CLEAR_LID_MOVE


def test_save_load_round_trip(prototypes: EmotionPrototypes, tmp_path: Path) -> None:
    path = tmp_path / "p.npz"
    prototypes.save(path)
    loaded = EmotionPrototypes.load(path)
    assert loaded.emotions == prototypes.emotions
    assert loaded.actors == prototypes.actors
    np.testing.assert_array_equal(loaded.offsets, prototypes.offsets)
    np.testing.assert_array_equal(loaded.neutral, prototypes.neutral)
    np.testing.assert_array_equal(loaded.actor_offsets, prototypes.actor_offsets)


def test_index_of_missing_emotion(prototypes: EmotionPrototypes) -> None:
    only_happy = EmotionPrototypes(
        emotions=(Emotion.HAPPY,),
        offsets=prototypes.offsets[:1],
        neutral=prototypes.neutral,
        actors=("A",),
        actor_offsets=prototypes.offsets[None, :1],
    )
    assert not only_happy.covers_all()
    with pytest.raises(InvalidOptionError, match="no prototype for sad"):
        only_happy.index(Emotion.SAD)


def test_neutral_cannot_have_a_prototype(prototypes: EmotionPrototypes) -> None:
    with pytest.raises(ValueError, match="neutral"):
        EmotionPrototypes(
            emotions=(Emotion.NEUTRAL,),
            offsets=prototypes.offsets[:1],
            neutral=prototypes.neutral,
            actors=("A",),
            actor_offsets=prototypes.offsets[None, :1],
        )


def test_offsets_shape_must_match_emotions(prototypes: EmotionPrototypes) -> None:
    with pytest.raises(ValueError, match="offsets"):
        EmotionPrototypes(
            emotions=(Emotion.HAPPY, Emotion.SAD),
            offsets=prototypes.offsets[:1],
            neutral=prototypes.neutral,
            actors=("A",),
            actor_offsets=prototypes.offsets[None, :2],
        )


def test_surprise_is_read_with_its_mouth_but_applied_without() -> None:
    """Surprise's lower face is its dropped jaw: it helps recognise a surprised face, but an
    edit leaves the mouth and chin to the speech."""
    p = EmotionPrototypes.load_default()
    basis = p.basis()
    k = p.index(Emotion.SURPRISED)
    np.testing.assert_array_equal(basis.offsets, p.offsets)
    mouth = [0, 13, 14, 17, 61, 291, 152]  # lips, corners, chin
    assert np.abs(p.offsets[k, mouth]).max() > 0.05  # measured: the mouth moves down
    # (what is left is the mouth-drop rule undoing the faded cheeks' share: 0.0004)
    assert np.abs(basis.applied[k, mouth]).max() < _MOUTH_STILL_TOL
    brows = list(RIGHT_BROW + LEFT_BROW)
    np.testing.assert_allclose(basis.applied[k, brows], p.offsets[k, brows], atol=1e-6)
    lower = [i for i, e in enumerate(p.emotions) if e not in (Emotion.SURPRISED, Emotion.SAD)]
    np.testing.assert_array_equal(basis.applied[lower], p.offsets[lower])
    c = SpeechConstraint.build()
    assert np.abs(c.violation(basis.applied[k])).max() < _VIOLATION_MAX
    assert np.abs(c.project(basis.applied[k]) - basis.applied[k]).max() < _VIOLATION_MAX


def test_basis_checks_the_applied_shape() -> None:
    p = EmotionPrototypes.load_default()
    with pytest.raises(ValueError, match="applied"):
        type(p.basis())(names=("a",), offsets=p.offsets[:1], rest=p.neutral, applied=p.offsets)


def test_no_emotion_applies_a_downward_move_of_the_whole_mouth() -> None:
    """What a jaw drop leaves (lips and chin down together) is read but not applied; a mouth
    moved up (a smile's cheeks, anger's raised chin) is applied as measured."""
    p = EmotionPrototypes.load_default()
    basis = p.basis()
    constraint = speech_constraint()
    mode = constraint.drop_mode
    assert np.linalg.norm(mode) == pytest.approx(1.0)
    assert np.abs(SpeechConstraint.build().violation(mode)).max() < _VIOLATION_MAX
    sad, happy = p.index(Emotion.SAD), p.index(Emotion.HAPPY)
    assert float((p.offsets[sad] * mode).sum()) > 0.3  # measured 0.56: sad's mouth goes down
    for k in range(len(p.emotions)):
        assert float((basis.applied[k] * mode).sum()) <= _VIOLATION_MAX
    assert float((p.offsets[happy] * mode).sum()) < -0.3  # measured -0.90: up
    np.testing.assert_array_equal(basis.applied[happy], p.offsets[happy])
    # the rest of sad (brows, lids, the corners' curve) is untouched
    brows = list(RIGHT_BROW + LEFT_BROW)
    np.testing.assert_allclose(basis.applied[sad, brows], p.offsets[sad, brows], atol=1e-6)
    up = np.zeros((N_LANDMARKS, 3))
    np.testing.assert_array_equal(without_drop(up - mode, constraint), up - mode)
    np.testing.assert_allclose(without_drop(up + 0.2 * mode, constraint), up, atol=1e-12)
