"""Measuring prototypes from labelled MEAD clips (emodirector.calibrate.prototypes)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from emodirector.calibrate.action_units import cut_unit
from emodirector.calibrate.combine import choose_mean
from emodirector.calibrate.complement import (
    COMPLEMENT_WEIGHTS,
    ComplementCalibration,
    add_unit,
    complemented,
    unit_field,
)
from emodirector.calibrate.contrast import (
    CONTRAST_STRENGTH,
    ContrastCalibration,
    choose_contrast,
    contrasted,
    take_out,
)
from emodirector.calibrate.prototypes import (
    OPENING_FACTOR,
    LabeledClip,
    aperture_factor,
    calibrate_prototypes,
    combine_actors,
    find_mead_clips,
    jaw_mode,
    without_press,
)
from emodirector.calibrate.strength import (
    BLIND_LEVEL,
    MATCH_REGIONS,
    MIN_RISE,
    choose_by_geometry,
    chosen_strengths,
    geometry_ratio,
)
from emodirector.errors import InvalidOptionError
from emodirector.evaluate.emotion import EMOTION_CLASSES
from emodirector.face_model import (
    CHIN,
    LEFT_EYE_UPPER,
    LIPS_INNER_LOWER,
    RIGHT_EYE_UPPER,
    load_face_model,
)
from emodirector.fit.speech import AMPLITUDE_BAND, lip_gaps, mouth_split
from emodirector.manipulate import EXPRESSIVE, Emotion, EmotionPrototypes
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
    by its aperture factor without a press eating into it; sad, whose takes do not open wider,
    is not among them (its gaps stay as its actors moved them)."""
    shipped = EmotionPrototypes.load_default()
    for k, emotion in enumerate(shipped.emotions):
        gaps = lip_gaps(shipped.offsets[k].astype(np.float64))
        if shipped.aperture[k] >= OPENING_FACTOR:
            assert gaps.min() > -_GAP_TOL, emotion
    sad = shipped.index(Emotion.SAD)
    assert shipped.aperture[sad] < OPENING_FACTOR


# --- strength of an emotion the classifier cannot see; contrast against the rival ---

#: Offsets stored as float32 (canonical units).
_OFFSET_TOL = 1e-7
#: A shipped complement's field is the unit's to float32 rounding (canonical units).
_FLOAT32_TOL = 1e-6
#: Fear's added unit raises the upper lids by at least this (canonical units; AU5 at 1.5 over
#: strength 1.6: about 0.04).
_LID_RAISE_MIN = 0.02
#: The shipped angry prototype, its share of happy taken out, points away from happy: cosine
#: below this (the plain combination of MEAD's actors: +0.30; contrasted: -0.23).
_CONTRASTED_COSINE_MAX = 0.0


def test_geometry_ratio_compares_the_mean_offsets_per_region() -> None:
    """The ratio is of the regions' RMS of the *mean* offsets: jitter around the acted peak
    (speech, tracking) averages out, and half the acted movement reads 0.5 in every region."""
    rng = np.random.default_rng(0)
    acted_mean = np.zeros((478, 3))
    for k, idx in enumerate(MATCH_REGIONS.values()):
        acted_mean[list(idx), 1] = 0.02 * (k + 1)
    jitter = rng.normal(0.0, 0.01, (40, 478, 3))
    acted = acted_mean + jitter - jitter.mean(axis=0)
    assert geometry_ratio(np.repeat(acted_mean[None], 5, 0), acted) == pytest.approx(1.0)
    assert geometry_ratio(0.5 * acted, acted) == pytest.approx(0.5)
    # one region twice as strong, the others unmoved: the mean of the regions' ratios
    edit = np.zeros((1, 478, 3))
    first = list(next(iter(MATCH_REGIONS.values())))
    edit[0, first] = 2.0 * acted_mean[first]
    assert geometry_ratio(edit, acted) == pytest.approx(2.0 / len(MATCH_REGIONS))


def test_a_blind_emotions_strength_follows_the_geometry_rule() -> None:
    """Disgust (acted 0.03 < BLIND_LEVEL) reads 0 at every strength: the geometry chooses;
    an emotion the classifier sees keeps its reading's choice whatever the geometry says."""
    candidates = (1.0, 1.3, 1.6)
    acted = np.array([0.03, 0.40])
    held_out = np.array([[[0.0, 0.0, 0.0], [0.20, 0.42, 0.50]]] * 2)
    geometry = np.array([[[0.8, 1.04, 1.3], [2.0, 2.5, 3.0]]] * 2)
    chosen = chosen_strengths(acted, held_out, geometry, candidates)
    assert chosen.tolist() == [1.3, 1.3]
    assert acted[0] < BLIND_LEVEL <= acted[1]
    # short of the acting everywhere: the strongest candidate
    assert choose_by_geometry([0.2, 0.5, 0.9], candidates) == 1.6
    assert choose_by_geometry([1.1, 1.5, 1.9], candidates) == 1.0


def _prototypes(offsets: np.ndarray) -> EmotionPrototypes:
    e = len(offsets)
    return EmotionPrototypes(
        emotions=tuple(EXPRESSIVE[:e]),
        offsets=offsets.astype(np.float32),
        neutral=load_face_model().template.astype(np.float32),
        actors=("A",),
        actor_offsets=offsets[None].astype(np.float32),
    )


def test_contrast_takes_the_rivals_share_out_of_the_plain_prototypes() -> None:
    rng = np.random.default_rng(1)
    plain = _prototypes(rng.normal(0.0, 0.02, (3, 478, 3)))
    a, b, c = plain.emotions
    one = take_out(plain, a, b, 0.6)
    np.testing.assert_allclose(
        one.offsets[0], plain.offsets[0] - 0.6 * plain.offsets[1], atol=_OFFSET_TOL
    )
    np.testing.assert_array_equal(one.offsets[1:], plain.offsets[1:])
    np.testing.assert_array_equal(one.actor_offsets, plain.actor_offsets)
    # each the other's rival: both taken out of the plain prototypes, whatever the order
    cal = ContrastCalibration(
        emotions=(a, b, c),
        actors=("A", "B"),
        acted=np.array([0.4, 0.5, 0.03]),
        plain=np.zeros((2, 3, len(EMOTION_CLASSES))),
        tried=((), (), ()),
        rival=(b, a, None),
        weight=np.array([0.6, 0.3, 0.0]),
    )
    both = contrasted(plain, cal)
    np.testing.assert_allclose(
        both.offsets[0], plain.offsets[0] - 0.6 * plain.offsets[1], atol=_OFFSET_TOL
    )
    np.testing.assert_allclose(
        both.offsets[1], plain.offsets[1] - 0.3 * plain.offsets[0], atol=_OFFSET_TOL
    )
    np.testing.assert_array_equal(both.offsets[2], plain.offsets[2])
    np.testing.assert_array_equal(both.plain_offsets, plain.offsets)
    # contrasting again starts from the plain prototypes, not from the contrasted ones
    again = take_out(both, a, c, 0.3)
    np.testing.assert_allclose(
        again.offsets[0], plain.offsets[0] - 0.3 * plain.offsets[2], atol=_OFFSET_TOL
    )


def test_a_complement_adds_the_unit_cut_from_the_plain_prototypes() -> None:
    rng = np.random.default_rng(2)
    plain = _prototypes(rng.normal(0.0, 0.02, (5, 478, 3)))
    fear = plain.index(Emotion.FEARFUL)
    unit = cut_unit(plain, "AU05")  # cut from the surprise row's upper lids
    assert float(np.abs(unit).max()) > 0.0
    field = unit_field(plain, "AU05", 1.5)
    lids = list(RIGHT_EYE_UPPER[1:-1])
    np.testing.assert_allclose(field[lids], 1.5 / CONTRAST_STRENGTH * unit[lids], atol=_OFFSET_TOL)
    more = add_unit(plain, Emotion.FEARFUL, "AU05", 1.5)
    np.testing.assert_allclose(more.offsets[fear], plain.offsets[fear] + field, atol=_OFFSET_TOL)
    assert more.complement_units[fear] == "AU05" and float(more.complement[fear]) == 1.5
    others = [k for k in range(5) if k != fear]
    np.testing.assert_array_equal(more.offsets[others], plain.offsets[others])
    np.testing.assert_array_equal(more.plain_offsets, plain.plain_offsets)
    cal = ComplementCalibration(
        emotions=(Emotion.FEARFUL, Emotion.SAD),
        actors=("A", "B"),
        acted=np.array([0.37, 0.5]),
        plain=np.zeros((2, 2)),
        tried=((), ()),
        unit=("AU05", None),
        weight=np.array([1.5, 0.0]),
    )
    np.testing.assert_allclose(complemented(plain, cal).offsets, more.offsets, atol=_OFFSET_TOL)


def test_contrast_leaves_an_opening_emotion_without_a_press() -> None:
    """Taking a rival that parts the lips (a smile's raised upper lip) out of an emotion whose
    takes open wider than neutral speech would press its lips: the press is left out."""
    opening = mouth_split().separation.astype(np.float64).sum(axis=0)
    assert lip_gaps(opening).min() > 0.0
    plain = _prototypes(np.stack([np.zeros_like(opening), 0.05 * opening]))
    wide = dataclasses.replace(plain, aperture=np.array([OPENING_FACTOR + 0.1, 1.0], np.float32))
    assert lip_gaps(take_out(plain, plain.emotions[0], plain.emotions[1], 0.6).offsets[0]).min() < 0
    gaps = lip_gaps(take_out(wide, wide.emotions[0], wide.emotions[1], 0.6).offsets[0])
    assert gaps.min() > -_GAP_TOL


def test_contrast_is_adopted_only_where_the_held_out_reading_rises() -> None:
    """MEAD's angry, held out (calibration of 2026-12-01, per actor M030, W009, W011): taking
    happy out raises every actor's reading; fear's best try rises on average but falls on W009."""
    sad, happy = Emotion.SAD, Emotion.HAPPY
    angry = [0.20, 0.37, 0.18]
    tries = [
        (happy, 0.3, [0.25, 0.50, 0.40]),
        (happy, 0.6, [0.28, 0.60, 0.51]),
        (sad, 0.6, [0.22, 0.45, 0.33]),
    ]
    assert choose_contrast(angry, tries) == (happy, 0.6)
    fear = [0.22, 0.27, 0.12]
    assert choose_contrast(fear, [(happy, 0.3, [0.24, 0.22, 0.33])]) == (None, 0.0)
    rise = MIN_RISE / 2
    assert choose_contrast(angry, [(sad, 0.3, [v + rise for v in angry])]) == (None, 0.0)
    assert choose_contrast(angry, []) == (None, 0.0)


def test_shipped_prototypes_carry_the_contrast_and_the_blind_strength() -> None:
    """The packaged file is what ``emodirector calibrate`` wrote: angry with its rival's share
    taken out, disgust stronger than 1 by the geometry rule."""
    shipped = EmotionPrototypes.load_default()

    def cosine(x: np.ndarray, y: np.ndarray) -> float:
        return float(x.ravel() @ y.ravel() / (np.linalg.norm(x) * np.linalg.norm(y)))

    angry, happy = shipped.index(Emotion.ANGRY), shipped.index(Emotion.HAPPY)
    assert cosine(shipped.offsets[angry], shipped.offsets[happy]) < _CONTRASTED_COSINE_MAX
    assert float(shipped.strength[shipped.index(Emotion.DISGUSTED)]) > 1.0


def test_shipped_fear_carries_its_upper_lid_raise() -> None:
    """The packaged fear is what ``emodirector calibrate`` chose (``calibrate.complement``,
    2026-12-01: AU5 at 1.5, held out 0.20 -> 0.40): its plain prototype (it has no contrast)
    with that unit, cut from the packaged plain prototypes, added; its eyes open wider."""
    shipped = EmotionPrototypes.load_default()
    fear = shipped.index(Emotion.FEARFUL)
    assert shipped.complement_units[fear] == "AU05"
    weight = float(shipped.complement[fear])
    assert weight in COMPLEMENT_WEIGHTS
    added = (shipped.offsets[fear] - shipped.plain_offsets[fear]).astype(np.float64)
    np.testing.assert_allclose(added, unit_field(shipped, "AU05", weight), atol=_FLOAT32_TOL)
    upper = list(RIGHT_EYE_UPPER[1:-1] + LEFT_EYE_UPPER[1:-1])
    assert float(added[upper, 1].mean()) < -_LID_RAISE_MIN  # y points down: the lids go up
    others = [k for k, u in enumerate(shipped.complement_units) if not u]
    np.testing.assert_array_equal(shipped.complement[others], 0.0)


def test_the_mean_is_chosen_only_where_every_actor_reads_it_at_least_as_well() -> None:
    """MEAD's actors' own neutral takes edited at strength 1.6 (calibration of 2026-12-01, per
    actor M030, W009, W011): surprise reads higher for every actor with the actors' mean; sad
    rises on average by less than ``MIN_RISE`` and falls on W009; happy falls."""
    assert choose_mean([0.560, 0.644, 0.458], [0.780, 0.686, 0.584])
    assert not choose_mean([0.450, 0.274, 0.212], [0.496, 0.247, 0.225])
    assert not choose_mean([0.840, 0.841, 0.976], [0.756, 0.760, 0.980])
    rise = MIN_RISE / 2
    assert not choose_mean([0.2, 0.3, 0.4], [0.2 + rise, 0.3 + rise, 0.4 + rise])
    assert not choose_mean([float("nan")] * 3, [0.5] * 3)


def test_combine_actors_takes_the_mean_only_for_the_emotions_asked() -> None:
    rng = np.random.default_rng(3)
    actors = rng.normal(size=(3, 2, 478, 3))
    emotions = (Emotion.HAPPY, Emotion.SURPRISED)
    combined = combine_actors(actors, emotions, {Emotion.SURPRISED})
    np.testing.assert_array_equal(combined[0], np.median(actors[:, 0], axis=0))
    np.testing.assert_allclose(combined[1], actors[:, 1].mean(axis=0))
    two = combine_actors(actors[:2], emotions)
    np.testing.assert_allclose(two, actors[:2].mean(axis=0))


def test_shipped_surprise_is_the_actors_median() -> None:
    """The packaged surprise is the combination ``calibrate.combine`` chose (the median: read on
    the actors' own takes, the mean rose 0.65 -> 0.69, less than ``MIN_RISE``): closer to the
    gain-scaled median of its actors than to their mean."""
    shipped = EmotionPrototypes.load_default()
    k = shipped.index(Emotion.SURPRISED)
    actors = shipped.actor_offsets[:, k].astype(np.float64)
    plain = shipped.plain_offsets[k].astype(np.float64)

    def distance(combined: np.ndarray) -> float:
        scaled = (
            combined * (plain.ravel() @ combined.ravel()) / (combined.ravel() @ combined.ravel())
        )
        return float(np.linalg.norm(plain - scaled))

    assert distance(np.median(actors, axis=0)) < distance(actors.mean(axis=0))
