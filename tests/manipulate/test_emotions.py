"""Emotion labels and targets (emodirector.manipulate.emotions)."""

from __future__ import annotations

import pytest

from emodirector.errors import InvalidOptionError
from emodirector.manipulate import EXPRESSIVE, Emotion, EmotionTarget


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("happy", Emotion.HAPPY),
        ("Happy", Emotion.HAPPY),
        ("  SAD ", Emotion.SAD),
        ("fear", Emotion.FEARFUL),
        ("fearful", Emotion.FEARFUL),
        ("disgust", Emotion.DISGUSTED),
        ("Disgusted", Emotion.DISGUSTED),
        ("surprise", Emotion.SURPRISED),
        ("angry", Emotion.ANGRY),
        ("neutral", Emotion.NEUTRAL),
    ],
)
def test_parse_labels_and_aliases(label: str, expected: Emotion) -> None:
    assert Emotion.parse(label) is expected


def test_parse_unknown_label() -> None:
    with pytest.raises(InvalidOptionError, match="unknown emotion 'joyful'") as info:
        Emotion.parse("joyful")
    assert "happy" in str(info.value)  # the message lists the choices


def test_parse_empty_label() -> None:
    with pytest.raises(InvalidOptionError):
        Emotion.parse("")


def test_parse_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        Emotion.parse("contempt")


def test_expressive_is_every_emotion_but_neutral() -> None:
    assert len(EXPRESSIVE) == 6
    assert Emotion.NEUTRAL not in EXPRESSIVE
    assert set(EXPRESSIVE) | {Emotion.NEUTRAL} == set(Emotion)


@pytest.mark.parametrize("intensity", [0.0, 0.25, 1.0])
def test_target_accepts_intensity_in_range(intensity: float) -> None:
    assert EmotionTarget(Emotion.SAD, intensity).intensity == intensity


def test_target_default_intensity_is_full() -> None:
    assert EmotionTarget(Emotion.HAPPY).intensity == 1.0


def test_target_rejects_negative_intensity() -> None:
    with pytest.raises(InvalidOptionError, match="intensity"):
        EmotionTarget(Emotion.HAPPY, -0.01)


def test_target_rejects_intensity_above_one() -> None:
    with pytest.raises(InvalidOptionError, match="intensity"):
        EmotionTarget(Emotion.HAPPY, 1.01)


def test_target_rejects_nan_intensity() -> None:
    with pytest.raises(InvalidOptionError, match="intensity"):
        EmotionTarget(Emotion.HAPPY, float("nan"))


def test_target_rejects_label_string_as_emotion() -> None:
    with pytest.raises(InvalidOptionError, match="must be an Emotion"):
        EmotionTarget("happy", 0.5)  # type: ignore[arg-type]


def test_target_from_label() -> None:
    target = EmotionTarget.from_label("Fear", 0.3)
    assert target == EmotionTarget(Emotion.FEARFUL, 0.3)


def test_target_from_unknown_label() -> None:
    with pytest.raises(InvalidOptionError, match="unknown emotion"):
        EmotionTarget.from_label("bored", 0.5)


def test_target_from_label_bad_intensity() -> None:
    with pytest.raises(InvalidOptionError, match="intensity"):
        EmotionTarget.from_label("happy", 2)
