"""A MEAD clip as the reference: its emotion's style reaches the learned edit, its identity and
words do not (real clips, the packaged manipulator)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emodirector.emotion import Emotion
from emodirector.fit.speech import speech_check

pytestmark = pytest.mark.slow


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel(), b.ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))


def test_a_reference_clips_style_reaches_the_edit(torch, grid_analysis, mead_dir: Path) -> None:  # type: ignore[no-untyped-def]
    from emodirector.direct.reference import read_reference
    from emodirector.direct.targets import ReferenceTarget
    from emodirector.evaluate.emotion import EmotionClassifier
    from emodirector.manipulate.emotions import EmotionTarget
    from emodirector.manipulate.learned.editor import LearnedEditor
    from emodirector.pipeline import plan_edit

    editor = LearnedEditor()
    with EmotionClassifier() as clf:
        refs = {a: read_reference(mead_dir / f"{a}_front_happy_level3_001.mp4", classifier=clf)
                for a in ("M030", "W009")}  # fmt: skip
    fit = grid_analysis.fit
    canonical = np.asarray(fit.canonical)

    def offsets(target) -> np.ndarray:  # type: ignore[no-untyped-def]
        return plan_edit(grid_analysis, target, editor).offsets(slice(None))

    happy = offsets(EmotionTarget(Emotion.HAPPY, 1.0))
    others = [offsets(EmotionTarget(e, 1.0)) for e in (Emotion.SAD, Emotion.ANGRY)]
    by_ref = {a: offsets(ReferenceTarget(r)) for a, r in refs.items()}
    for a, edit in by_ref.items():
        # the style: closer to the happy label's edit than to the others'
        assert _cos(edit, happy) > max(_cos(edit, o) for o in others), a
        # the words stay the input's
        assert speech_check(canonical, canonical + edit, fit.segment).passed, a
    # the identity: two actors' happy takes direct nearly the same edit
    assert _cos(by_ref["M030"], by_ref["W009"]) > max(_cos(by_ref["M030"], o) for o in others)
