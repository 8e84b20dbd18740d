"""The emotion classifier (emodirector.evaluate.emotion) on inputs whose answer is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emodirector.evaluate.emotion import (
    EMOTION_CLASSES,
    EmotionClassifier,
    EmotionSeries,
    face_crop,
)
from emodirector.evaluate.measure import measure_clip


def test_crop_is_square_and_upright() -> None:
    grey = np.zeros((100, 200), np.uint8)
    grey[:, 100:] = 255  # right half white
    lm = np.array([[80.0, 20.0], [120.0, 80.0]])
    crop = face_crop(grey, lm)
    assert crop.shape == (64, 64)
    assert crop[:, :20].mean() < 10 and crop[:, -20:].mean() > 245
    turned = face_crop(grey, lm, rotation=90)
    assert turned[:20].mean() > 245 and turned[-20:].mean() < 10


def test_probabilities_are_a_distribution() -> None:
    rng = np.random.default_rng(0)
    with EmotionClassifier() as clf:
        p = clf.predict(rng.integers(0, 256, (3, 64, 64), dtype=np.uint8))
    assert p.shape == (3, 7)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-4)


def test_predict_rejects_wrong_shape() -> None:
    with pytest.raises(ValueError, match="64, 64"):
        EmotionClassifier().predict(np.zeros((1, 48, 48), np.uint8))


def test_series_summaries() -> None:
    probs = np.array([[0, 0, 0, 0.9, 0, 0, 0.1], [np.nan] * 7, [0, 0, 0, 0.4, 0, 0, 0.6]])
    s = EmotionSeries(probs.astype(np.float32), np.array([True, False, True]), np.arange(3.0))
    assert s.top.tolist() == [3, -1, 6]
    assert s.dominant() == "happy"
    assert s.share_top("happy") == 0.5
    np.testing.assert_allclose(s.mean[EMOTION_CLASSES.index("happy")], 0.65)


@pytest.mark.parametrize(("clip", "emotion"), [("M030_front_happy", "happy"),
                                              ("M030_front_sad", "sad")])  # fmt: skip
def test_acted_mead_emotion_is_named(mead_dir: Path, clip: str, emotion: str) -> None:
    path = mead_dir / (
        f"{clip}_level3_001.mp4" if "neutral" not in clip else f"{clip}_level1_001.mp4"
    )
    if not path.is_file():
        pytest.skip(f"{path.name} is missing")
    series = measure_clip(path, dlib_measures=False).emotion
    assert series.dominant() == emotion
    assert series.share_top(emotion) > 0.5
