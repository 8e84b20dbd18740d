"""Directing targets and their per-frame goals (emodirector.direct.targets)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from emodirector import VideoAnalysis, plan_edit
from emodirector.direct import ActionUnitTarget, Keyframe, ReferenceTarget, Timeline, edit_goal
from emodirector.direct.reference import ReferenceExpression
from emodirector.errors import InvalidOptionError
from emodirector.fit.speech import AMPLITUDE_BAND, CLOSED_APERTURE, lip_aperture, speech_check
from emodirector.manipulate import ActionUnits, Emotion, EmotionPrototypes, EmotionTarget
from emodirector.manipulate.action_units import AMPLITUDE_UNITS, UnitStatus
from emodirector.pipeline import edited_landmarks

_FPS = 25.0
#: Float agreement of goals and weights.
_TOL = 1e-5


@pytest.fixture(scope="module")
def prototypes() -> EmotionPrototypes:
    return EmotionPrototypes.load_default()


def _times(seconds: float, fps: float = _FPS) -> np.ndarray:
    return np.arange(int(seconds * fps)) / fps


def _reference(
    prototypes: EmotionPrototypes, emotion: Emotion, weight: float
) -> ReferenceExpression:
    weights = np.zeros(len(prototypes.emotions), np.float32)
    weights[prototypes.index(emotion)] = weight
    appearance = np.zeros(7, np.float32)
    appearance[list(Emotion).index(Emotion.NEUTRAL)] = 1.0
    return ReferenceExpression(
        source=Path("ref.png"),
        emotions=prototypes.emotions,
        weights=weights,
        geometry=weights.copy(),
        appearance=appearance,
        frames=1,
    )


# --- action units -------------------------------------------------------------------------------


def test_parse_action_units_normalises_codes() -> None:
    target = ActionUnitTarget.parse("au12=0.7, AU6=0.5,AU04=0")
    assert target.units == (("AU12", 0.7), ("AU06", 0.5), ("AU04", 0.0))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("AU99=0.5", "unknown action unit"),
        ("smile=0.5", "unknown action unit"),
        ("AU12", "malformed action unit"),
        ("AU12=lots", "not a number"),
        ("AU12=1.5", "within 0..1"),
        ("AU12=-0.1", "within 0..1"),
        ("AU12=0.5,AU12=0.2", "named twice"),
        ("", "at least one"),
    ],
)
def test_parse_action_units_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidOptionError, match=message):
        ActionUnitTarget.parse(text)


def test_every_unit_is_described_and_none_is_refused() -> None:
    units = ActionUnits.load_default()
    rows = units.describe()
    assert [r[0] for r in rows] == list(units.codes)
    assert all(r[1] and r[2] for r in rows)
    assert not [c for c in units.codes if units.status(c) is UnitStatus.REFUSED]
    # the mouth's units act fully; lips part and jaw drop only as the speech's amplitude
    for code in ("AU10", "AU12", "AU15", "AU16", "AU17", "AU20", "AU23", "AU24"):
        assert units.status(code) is UnitStatus.OK, code
    norms = np.linalg.norm(units.offsets.reshape(len(units.codes), -1), axis=1)
    for code, norm, gain in zip(units.codes, norms, units.aperture_gain, strict=True):
        if code in AMPLITUDE_UNITS:
            assert units.status(code) is UnitStatus.LIMITED and norm == 0.0 and gain > 0, code
        else:
            assert norm > 0 and gain == 0.0, code


@pytest.mark.parametrize("code", sorted(AMPLITUDE_UNITS))
def test_lips_part_and_jaw_drop_scale_the_speech(code: str, grid_analysis: VideoAnalysis) -> None:
    """AU25/AU26 open the lips wider between words, up to the top of the amplitude band, and
    leave the closed frames closed."""
    edit = plan_edit(grid_analysis, ActionUnitTarget.parse(f"{code}=1"))
    assert edit.speech is not None
    np.testing.assert_allclose(edit.speech.scale, AMPLITUDE_BAND[1], atol=_TOL)
    canonical = np.asarray(grid_analysis.fit.canonical, np.float64)
    out = canonical + edit.offsets(slice(None))
    check = speech_check(canonical, out, grid_analysis.fit.segment)
    assert check.passed and check.closures_kept == 1.0
    closed = lip_aperture(canonical) < CLOSED_APERTURE
    assert (lip_aperture(out)[~closed] > lip_aperture(canonical)[~closed] - _TOL).all()
    # GRID's clearly open frames are too close together for a slope (MIN_SLOPE_SPREAD): each
    # of them opens wider
    assert check.ratio_band[0] > 1.0


def test_action_unit_goal_controls_only_named_units(prototypes: EmotionPrototypes) -> None:
    goal = edit_goal(ActionUnitTarget.parse("AU12=0.7,AU4=0"), _times(1), prototypes)
    names = goal.basis.names
    assert goal.controlled.sum() == 2
    assert goal.controlled[names.index("AU12")] and goal.controlled[names.index("AU04")]
    assert goal.goal[0, names.index("AU12")] == pytest.approx(0.7)
    assert goal.goal[0, names.index("AU04")] == 0.0


def test_action_unit_edit_moves_lip_corners_up(grid_analysis: VideoAnalysis) -> None:
    """AU12 on a real clip raises the lip corners in the image, and nothing is edited in the
    units not named (their weights stay 0)."""
    edit = plan_edit(grid_analysis, ActionUnitTarget.parse("AU12=1"))
    i = int(np.flatnonzero(grid_analysis.track.present)[10])
    dst = edited_landmarks(grid_analysis, edit, i)
    assert dst is not None
    src = grid_analysis.track.landmarks[i]
    assert (dst[[61, 291], 1] < src[[61, 291], 1]).all()
    others = [k for k, n in enumerate(edit.basis.names) if n != "AU12"]
    assert np.abs(edit.weights[:, others]).max() == 0.0


# --- references ---------------------------------------------------------------------------------


def test_reference_goal_is_its_weights_times_intensity(prototypes: EmotionPrototypes) -> None:
    ref = _reference(prototypes, Emotion.ANGRY, 0.8)
    goal = edit_goal(ReferenceTarget(ref, 0.5), _times(1), prototypes)
    np.testing.assert_allclose(goal.goal[0], ref.weights, atol=_TOL)
    assert float(goal.strength[0]) == pytest.approx(0.5)


def test_reference_target_rejects_intensity_above_one(prototypes: EmotionPrototypes) -> None:
    with pytest.raises(InvalidOptionError, match="within 0..1"):
        ReferenceTarget(_reference(prototypes, Emotion.SAD, 1.0), 1.2)


# --- timelines ----------------------------------------------------------------------------------


def test_parse_timeline() -> None:
    tl = Timeline.parse("0:neutral, 2.5:happy@0.8, 6:sad", ramp_seconds=0.4)
    assert [k.time for k in tl.keyframes] == [0.0, 2.5, 6.0]
    assert [k.target for k in tl.keyframes] == [
        EmotionTarget(Emotion.NEUTRAL, 1.0),
        EmotionTarget(Emotion.HAPPY, 0.8),
        EmotionTarget(Emotion.SAD, 1.0),
    ]
    assert tl.ramp_seconds == 0.4


def test_parse_timeline_reference_keyframe(prototypes: EmotionPrototypes) -> None:
    read: list[Path] = []

    def reader(path: Path) -> ReferenceExpression:
        read.append(path)
        return _reference(prototypes, Emotion.ANGRY, 1.0)

    tl = Timeline.parse("1:ref=faces/angry.jpg@0.6", reader)
    assert read == [Path("faces/angry.jpg")]
    target = tl.keyframes[0].target
    assert isinstance(target, ReferenceTarget) and target.intensity == 0.6


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("happy", "malformed timeline keyframe"),
        ("1:", "malformed timeline keyframe"),
        ("soon:happy", "not a time"),
        ("1:elated", "unknown emotion"),
        ("1:happy@much", "not an intensity"),
        ("1:happy@2", "within 0..1"),
        ("-1:happy", "non-negative"),
        ("2:happy, 1:sad", "increasing time order"),
        ("2:happy, 2:sad", "increasing time order"),
        ("", "at least one keyframe"),
        ("1:ref=x.jpg", "reference reader"),
    ],
)
def test_parse_timeline_errors(text: str, message: str) -> None:
    with pytest.raises(InvalidOptionError, match=message):
        Timeline.parse(text)


def test_timeline_json(tmp_path: Path) -> None:
    path = tmp_path / "t.json"
    keyframes = [
        {"time": 0, "emotion": "neutral"},
        {"time": 1.5, "emotion": "happy", "intensity": 0.8},
    ]
    path.write_text(json.dumps({"ramp_seconds": 0.3, "keyframes": keyframes}))
    tl = Timeline.load(path)
    assert tl.ramp_seconds == 0.3
    assert tl.keyframes[1] == Keyframe(1.5, EmotionTarget(Emotion.HAPPY, 0.8))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a readable JSON"),
        ('{"frames": []}', "expected"),
        ('{"keyframes": [{"emotion": "happy"}]}', "needs a time"),
        ('{"keyframes": [{"time": 1}]}', "either an emotion or a reference"),
        ('{"keyframes": [{"time": "x", "emotion": "happy"}]}', "non-numeric"),
    ],
)
def test_timeline_json_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "t.json"
    path.write_text(content)
    with pytest.raises(InvalidOptionError, match=message):
        Timeline.load(path)


def test_keyframe_beyond_the_end_is_refused(prototypes: EmotionPrototypes) -> None:
    with pytest.raises(InvalidOptionError, match="after the video's end"):
        edit_goal(Timeline.parse("0:neutral, 5:happy"), _times(3), prototypes, duration=3.0)


def test_timeline_holds_keyframes_and_reaches_them_on_time(prototypes: EmotionPrototypes) -> None:
    times = _times(6)
    goal = edit_goal(Timeline.parse("1:happy@0.8, 4:sad", ramp_seconds=0.5), times, prototypes)
    happy, sad = prototypes.index(Emotion.HAPPY), prototypes.index(Emotion.SAD)
    before = times < 0.5
    assert np.abs(goal.strength[before]).max() == 0.0  # unchanged before the first transition
    held = (times >= 1.0) & (times < 3.5)
    np.testing.assert_allclose(goal.strength[held], 0.8, atol=_TOL)
    # a label's goal is its prototype at the calibrated strength
    np.testing.assert_allclose(goal.goal[held, happy], prototypes.strength[happy], atol=_TOL)
    after = times >= 4.0
    np.testing.assert_allclose(goal.goal[after, sad], prototypes.strength[sad], atol=_TOL)
    np.testing.assert_allclose(goal.goal[after, happy], 0.0, atol=_TOL)


def test_timeline_transition_is_smooth(prototypes: EmotionPrototypes) -> None:
    """The per-frame step of ``strength * goal`` in a 0.5 s transition is at most the
    smoothstep's steepest slope (1.5 / ramp) times a frame (times the larger prototype
    strength, the height of the step), never a jump."""
    times = _times(4)
    goal = edit_goal(Timeline.parse("0:happy, 2:sad", ramp_seconds=0.5), times, prototypes)
    mixed = goal.goal * goal.strength[:, None]
    step = np.abs(np.diff(mixed, axis=0)).max()
    height = max(
        prototypes.strength[prototypes.index(Emotion.HAPPY)],
        prototypes.strength[prototypes.index(Emotion.SAD)],
    )
    assert step <= height * 1.5 / 0.5 / _FPS + _TOL
    assert step > 0  # it does change


def test_timeline_with_zero_ramp_switches_on_the_keyframe(prototypes: EmotionPrototypes) -> None:
    times = _times(2)
    goal = edit_goal(Timeline.parse("0:neutral, 1:happy", ramp_seconds=0), times, prototypes)
    happy = prototypes.index(Emotion.HAPPY)
    assert goal.goal[times < 1.0, happy].max() == 0.0
    assert goal.goal[times >= 1.0, happy].min() == prototypes.strength[happy]


def test_constant_timeline_equals_the_label(
    grid_analysis: VideoAnalysis, prototypes: EmotionPrototypes
) -> None:
    a = plan_edit(grid_analysis, Timeline.parse("0:sad@0.7"))
    b = plan_edit(grid_analysis, EmotionTarget(Emotion.SAD, 0.7))
    np.testing.assert_allclose(a.weights, b.weights, atol=_TOL)
