"""The learned editor: deterministic, nothing at intensity 0, no seams, speech kept."""

from __future__ import annotations

import numpy as np
import pytest

from emodirector.emotion import Emotion
from emodirector.errors import InvalidOptionError
from emodirector.face_model import load_face_model
from emodirector.fit.speech import lip_aperture, speech_check
from emodirector.manipulate.basis import EditGoal
from emodirector.manipulate.prototypes import EmotionPrototypes
from tests.manipulate.learned.conftest import face_fit

FPS, T = 25.0, 57  # not a multiple of the window: the last window is placed at the end
#: Largest second difference of an edited coefficient at a window boundary, relative to the
#: largest inside windows (a seam would be a kink far above the edit's own curvature).
MAX_SEAM_RATIO = 1.5


@pytest.fixture(scope="module")
def fit(params):  # type: ignore[no-untyped-def]
    t = np.arange(T)
    rng = np.random.default_rng(2)
    coef = 0.3 * np.sin(t[:, None] / 6.0 + rng.uniform(0, 6, params.size))
    w, b = params.aperture_weights()
    rest = float(lip_aperture(load_face_model().template.astype(np.float64)))
    # speech: the lips open to 0.3 and close (0) at the troughs, every 12 frames
    target = 0.15 * (1 - np.cos(t / 2.0))
    coef += np.outer(target - (rest + coef @ w + b), w / np.linalg.norm(w) ** 2)
    return face_fit(params, coef.astype(np.float32))


@pytest.fixture(scope="module")
def editor(tiny_checkpoint):  # type: ignore[no-untyped-def]
    from emodirector.manipulate.learned.editor import LearnedEditor

    return LearnedEditor(tiny_checkpoint)


def _goal(emotion: Emotion, strength: float, n: int = T) -> EditGoal:
    protos = EmotionPrototypes.load_default()
    return EditGoal.constant(protos.basis(), protos.goal(emotion), strength, n)


def test_inference_is_deterministic(editor, fit, tiny_checkpoint) -> None:  # type: ignore[no-untyped-def]
    from emodirector.manipulate.learned.editor import LearnedEditor

    a = editor.plan(fit, _goal(Emotion.HAPPY, 1.0), FPS)
    b = LearnedEditor(tiny_checkpoint).plan(fit, _goal(Emotion.HAPPY, 1.0), FPS)
    np.testing.assert_array_equal(a.weights, b.weights)
    assert np.abs(a.offsets(slice(None))).max() > 0


def test_intensity_zero_changes_nothing(editor, fit) -> None:  # type: ignore[no-untyped-def]
    edit = editor.plan(fit, _goal(Emotion.SAD, 0.0), FPS)
    assert np.abs(edit.offsets(slice(None))).max() == 0.0


def test_intensity_moves_from_the_own_style_towards_the_target(editor, fit) -> None:  # type: ignore[no-untyped-def]
    size = [np.abs(editor.plan(fit, _goal(Emotion.HAPPY, s), FPS).offsets(slice(None))).mean()
            for s in (0.25, 0.5, 1.0)]  # fmt: skip
    assert size[0] < size[1] < size[2]


def test_no_seams_between_windows(editor, fit) -> None:  # type: ignore[no-untyped-def]
    from emodirector.manipulate.learned.editor import _starts

    edit = editor.plan(fit, _goal(Emotion.HAPPY, 1.0), FPS)
    k = fit.canonical.shape[0]
    pcs = [i for i, n in enumerate(edit.basis.names) if n.startswith("pc")]
    d2 = np.abs(np.diff(edit.weights[:, pcs], 2, axis=0)).max(axis=1)  # d2[i]: frame i + 1
    window = editor.checkpoint.model.cfg.window
    edges = {s + window for s in _starts(k, window)} | set(_starts(k, window))
    at_edges = [d2[e - 1] for e in edges if 1 <= e < k - 1]
    inside = np.delete(d2, [e - 1 for e in edges if 1 <= e < k - 1])
    assert max(at_edges) <= MAX_SEAM_RATIO * inside.max()


def test_the_edit_keeps_the_speech(editor, fit) -> None:  # type: ignore[no-untyped-def]
    edit = editor.plan(fit, _goal(Emotion.SURPRISED, 1.0), FPS)
    out = fit.canonical + edit.offsets(slice(None))
    check = speech_check(fit.canonical, out, fit.segment)
    assert check.n_closed > 0 and check.passed, check.to_dict()


def test_a_timeline_blends_styles_over_time(editor, fit) -> None:  # type: ignore[no-untyped-def]
    happy, sad = _goal(Emotion.HAPPY, 1.0), _goal(Emotion.SAD, 1.0)
    ramp = np.clip((np.arange(T) - 20) / 16, 0, 1)[:, None]
    blend = EditGoal(happy.basis, (1 - ramp) * happy.goal + ramp * sad.goal, happy.strength,
                     happy.controlled)  # fmt: skip
    w = {g: editor.plan(fit, goal, FPS).weights for g, goal in
         (("happy", happy), ("sad", sad), ("blend", blend))}  # fmt: skip
    pcs = slice(happy.basis.size, happy.basis.size + 50)
    # far from the ramp (beyond a window), the blend is the pure edit of each end
    np.testing.assert_allclose(w["blend"][:8, pcs], w["happy"][:8, pcs], atol=1e-5)
    np.testing.assert_allclose(w["blend"][-8:, pcs], w["sad"][-8:, pcs], atol=1e-5)


def test_action_units_stay_with_the_prototype_editor(editor, fit) -> None:  # type: ignore[no-untyped-def]
    from emodirector.manipulate.action_units import ActionUnits

    units = ActionUnits.load_default()
    basis = units.basis(EmotionPrototypes.load_default().neutral)
    goal = EditGoal.constant(basis, np.zeros(basis.size), 1.0, T)
    with pytest.raises(InvalidOptionError, match="prototype editor") as info:
        editor.plan(fit, goal, FPS)
    assert "\n" not in str(info.value)


def test_absent_frames_get_no_edit(editor, params) -> None:  # type: ignore[no-untyped-def]
    present = np.ones(30, bool)
    present[12:15] = False
    f = face_fit(params, np.zeros((30, params.size), np.float32), present)
    edit = editor.plan(f, _goal(Emotion.ANGRY, 1.0, 30), FPS)
    assert np.abs(edit.offsets(np.flatnonzero(~present))).max() == 0.0
