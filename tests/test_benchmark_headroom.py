"""The helpers of ``benchmarks/headroom.py`` (no footage)."""

from __future__ import annotations

import dataclasses
from types import ModuleType

import numpy as np
import pytest

from emodirector.manipulate.emotions import Emotion
from emodirector.manipulate.prototypes import EmotionPrototypes
from tests._benchmarks import load_benchmark

LEVELS = {"happy": 0.85, "sad": 0.44, "angry": 0.39, "surprised": 0.47}


@pytest.fixture(scope="module")
def hr() -> ModuleType:
    return load_benchmark("headroom")


def _row(hr: ModuleType, reference: bool, reads: dict[str, tuple[float, ...]]) -> dict:
    target = {
        f"{e} {k}": v for e, vals in reads.items() for k, v in zip(hr.VARIANTS, vals, strict=True)
    }
    return {"clip": "c.mp4", "reference": reference, "target": target}


def test_summary_counts_each_variant_and_the_cases_none_reaches(hr: ModuleType) -> None:
    assert hr.VARIANTS == ("x1", "x1.5", "x2", "wide", "x2 wide")
    talking = _row(hr, False, {
        "happy": (0.80, 0.90, 0.95, 0.70, 0.99),  # reached from x1.5 on, and x2 wide
        "sad": (0.50, 0.60, 0.60, 0.40, 0.30),  # reached at x1, x1.5, x2
        "angry": (0.10, 0.20, 0.30, 0.38, 0.385),  # never (all under 0.39)
        "surprised": (0.01, 0.02, 0.03, 0.47, 0.20),  # only wide, exactly at the level
    })  # fmt: skip
    reference = _row(hr, True, {e: (1.0,) * 5 for e in LEVELS})
    s = hr.summary([talking, reference], LEVELS)
    assert s["cases"] == 4  # the reference takes are not counted
    assert s["reach"] == {"x1": 1, "x1.5": 2, "x2": 2, "wide": 1, "x2 wide": 1}
    assert s["never"] == ["c.mp4 angry"]


def test_widened_opens_only_where_the_input_is_apart(hr: ModuleType) -> None:
    from emodirector.fit.speech import INNER_PAIRS, SpeechPlan
    from emodirector.manipulate.editor import ExpressionEdit

    p = EmotionPrototypes.load_default()
    t, pairs = 3, len(INNER_PAIRS)
    open_gap = np.array([0.0, 0.1, 0.2], np.float32)  # frame 0: closed lips
    scale = np.full(t, 1.35, np.float32)
    plan = SpeechPlan(
        gate=np.ones((t, pairs), np.float32),
        separation=np.zeros((t, pairs), np.float32),
        opening=(scale - 1) * open_gap,
        scale=scale,
        width=np.ones(t, np.float32),
        open_gap=open_gap,
    )
    k = p.basis().size
    edit = ExpressionEdit(p.basis(), np.zeros((t, k), np.float32), np.zeros((t, k), np.float32),
                          np.ones(t, np.float32), np.ones((t, 2), np.float32), plan)  # fmt: skip
    wide = hr.widened(edit, 2.0).speech
    np.testing.assert_allclose(wide.opening, [0.0, 0.1, 0.2], atol=1e-6)  # (2 - 1) x the gap
    with pytest.raises(ValueError, match="speech plan"):
        hr.widened(dataclasses.replace(edit, speech=None))


def test_with_strength_scales_only_the_emotion_asked_for(hr: ModuleType) -> None:
    p = EmotionPrototypes.load_default()
    q = hr.with_strength(p, Emotion.SURPRISED, 2.0)
    k = p.emotions.index(Emotion.SURPRISED)
    assert q.strength[k] == pytest.approx(2.0 * p.strength[k])
    others = [i for i in range(len(p.emotions)) if i != k]
    np.testing.assert_array_equal(q.strength[others], p.strength[others])
    np.testing.assert_array_equal(q.offsets, p.offsets)
