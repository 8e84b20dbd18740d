"""Measuring prototypes from labelled MEAD clips (emodirector.calibrate.prototypes)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emodirector.calibrate.prototypes import (
    OPENING_FACTOR,
    LabeledClip,
    aperture_factor,
    calibrate_prototypes,
    find_mead_clips,
    jaw_mode,
    without_press,
)
from emodirector.errors import InvalidOptionError
from emodirector.face_model import CHIN, LIPS_INNER_LOWER, load_face_model
from emodirector.fit.speech import AMPLITUDE_BAND, lip_gaps, mouth_split
from emodirector.manipulate import Emotion, EmotionPrototypes
from tests.conftest import MeadFits

#: The upper lip of a happy actor speaking rises over the teeth by at least this (canonical
#: units; M030 alone measured 0.05-0.06 at the centre).
_HAPPY_UPPER_LIP_RAISE_MIN = 0.02
#: Calibrating one actor again must reproduce the shipped per-actor prototype this closely
#: (cosine similarity): same footage, same tracker.
#: One actor calibrated alone vs. the shipped calibration of three: the jaw mode taken out of
#: every frame is learned from all given actors' neutral clips, so the two differ a little.
_SAME_ACTOR_COSINE_MIN = 0.9
#: Lip corners of a happy face move up by at least this (canonical units).
_HAPPY_CORNER_LIFT_MIN = 0.02


@pytest.fixture(scope="module")
def mead_clips(mead_dir: Path) -> list[LabeledClip]:
    return find_mead_clips(mead_dir)


def test_find_mead_clips_parses_names(mead_clips: list[LabeledClip]) -> None:
    # 3 actors x (neutral + 6 emotions); contempt has no prototype and is skipped
    assert len(mead_clips) == 21
    assert {c.actor for c in mead_clips} == {"M030", "W009", "W011"}
    assert {c.emotion for c in mead_clips} == set(Emotion)
    fear = [c for c in mead_clips if c.actor == "W011" and c.emotion is Emotion.FEARFUL]
    assert [c.path.name for c in fear] == ["W011_front_fear_level3_001.mp4"]


def test_find_mead_clips_ignores_other_files(tmp_path: Path) -> None:
    (tmp_path / "holiday.mp4").write_bytes(b"x")
    (tmp_path / "M030_front_contempt_level3_001.mp4").write_bytes(b"x")
    (tmp_path / "M030_front_happy_level3_001.txt").write_bytes(b"x")
    assert find_mead_clips(tmp_path) == []


@pytest.fixture(scope="module")
def one_actor_happy(mead_fits: MeadFits) -> EmotionPrototypes:
    fits = mead_fits(("M030",), (Emotion.NEUTRAL, Emotion.HAPPY))
    assert len(fits) == 2
    return calibrate_prototypes(fits)


def test_calibrate_one_actor_one_emotion(one_actor_happy: EmotionPrototypes) -> None:
    assert one_actor_happy.emotions == (Emotion.HAPPY,)
    assert one_actor_happy.actors == ("M030",)
    assert not one_actor_happy.covers_all()


def test_calibrated_happy_keeps_its_speaking_mouth(one_actor_happy: EmotionPrototypes) -> None:
    """The jaw's motion is taken out, the smile's mouth stays: the upper lip raised over the
    teeth parts the inner lips at the centre, and the chin is where the neutral face has it."""
    offset = one_actor_happy.offsets[0]
    assert float(lip_gaps(offset)[3:6].mean()) > _HAPPY_UPPER_LIP_RAISE_MIN
    assert abs(float(offset[152, 1])) < _HAPPY_UPPER_LIP_RAISE_MIN
    lo, hi = AMPLITUDE_BAND
    assert lo <= float(one_actor_happy.aperture[0]) <= hi


def test_calibrated_happy_lifts_lip_corners(one_actor_happy: EmotionPrototypes) -> None:
    offset = one_actor_happy.offsets[0]
    assert -offset[[61, 291], 1].mean() > _HAPPY_CORNER_LIFT_MIN


def test_calibration_reproduces_shipped_actor_prototype(one_actor_happy: EmotionPrototypes) -> None:
    shipped = EmotionPrototypes.load_default()
    a = shipped.actor_offsets[shipped.actors.index("M030"), shipped.index(Emotion.HAPPY)].ravel()
    b = one_actor_happy.offsets[0].ravel()
    cosine = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
    assert cosine > _SAME_ACTOR_COSINE_MIN


def test_calibrate_without_neutral_clip(mead_clips: list[LabeledClip]) -> None:
    clips = [c for c in mead_clips if c.actor == "W009" and c.emotion is Emotion.SAD]
    with pytest.raises(InvalidOptionError, match="neutral"):
        calibrate_prototypes(clips)


def test_calibrate_no_clips() -> None:
    with pytest.raises(InvalidOptionError, match="neutral"):
        calibrate_prototypes([])


def _speaking(amplitude: float, frames: int = 60) -> np.ndarray:
    """``(T, 478, 3)`` the template with its lower lip and chin moving by ``amplitude`` times
    a syllable-like track (the jaw's motion)."""
    template = load_face_model().template.astype(np.float64)
    track = np.abs(np.sin(np.arange(frames) / 3.0))
    shapes = np.repeat(template[None], frames, axis=0)
    lower = list(LIPS_INNER_LOWER[1:-1]) + [CHIN]
    shapes[:, lower, 1] += amplitude * 0.2 * track[:, None]
    return shapes


def test_aperture_factor_is_the_ratio_of_opening_spreads() -> None:
    assert aperture_factor(_speaking(1.3), _speaking(1.0)) == pytest.approx(1.3, rel=1e-6)
    assert aperture_factor(_speaking(0.5), _speaking(1.0)) == pytest.approx(0.5, rel=1e-6)


def test_jaw_mode_moves_the_lower_face_with_the_chin_only() -> None:
    rest = _speaking(0.0)[0]
    mode = jaw_mode([_speaking(1.0) - rest, _speaking(0.7) - rest])
    assert mode[CHIN, 1] == pytest.approx(1.0)
    assert mode[LIPS_INNER_LOWER[5], 1] == pytest.approx(1.0)
    assert abs(mode[[10, 33, 263, 1]]).max() < 1e-12  # forehead, eye corners, nose tip


#: Canonical-unit tolerance of the lip measures after ``without_press`` (float32 shapes).
_GAP_TOL = 1e-6


def test_without_press_keeps_the_opening_and_the_free_mouth() -> None:
    """A press of some inner pairs is undone, pairs that open stay, and a mouth shape that does
    not change the gaps (a widening) is kept as it was."""
    template = load_face_model().template.astype(np.float64)
    split = mouth_split()
    press = np.linspace(-0.03, 0.03, split.separation.shape[0])
    widen = np.zeros_like(template)
    widen[:, 0] = 0.05 * (template[:, 0] - template[:, 0].mean())
    widen = split.free_part(widen)
    offsets = np.einsum("p,pnk->nk", press, split.separation) + widen
    out = without_press(offsets)
    np.testing.assert_allclose(lip_gaps(out), np.clip(press, 0.0, None), atol=_GAP_TOL)
    np.testing.assert_allclose(split.free_part(out), split.free_part(offsets), atol=_GAP_TOL)
    assert np.abs(without_press(widen) - widen).max() < _GAP_TOL


def test_shipped_opening_emotions_do_not_press_their_lips() -> None:
    """Surprise (and every emotion whose takes open wider than neutral speech) opens its lips
    by its aperture factor without a press eating into it; sad keeps its press."""
    shipped = EmotionPrototypes.load_default()
    for k, emotion in enumerate(shipped.emotions):
        gaps = lip_gaps(shipped.offsets[k].astype(np.float64))
        if shipped.aperture[k] >= OPENING_FACTOR:
            assert gaps.min() > -_GAP_TOL, emotion
    sad = shipped.index(Emotion.SAD)
    assert shipped.aperture[sad] < OPENING_FACTOR
    assert lip_gaps(shipped.offsets[sad].astype(np.float64)).min() < 0.0
