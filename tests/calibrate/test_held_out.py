"""Held-out edits of the strength calibration are rendered as a user's edit is."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from emodirector import EmotionPrototypes, EmotionTarget, plan_edit, render_frame
from emodirector.calibrate.strength import HeldOut
from emodirector.emotion import Emotion
from emodirector.face_model import LIPS_OUTER_LOWER, LIPS_OUTER_UPPER
from emodirector.render import ExpressionDetail
from tests.conftest import MeadFits

#: Every this many frames of the neutral take is read.
_STEP = 16
#: Grey levels by which a prepared render's mouth differs from an unprepared one's somewhere
#: (the interior drawn from the take's own frames against none), at least (measured: 87).
_INTERIOR_DIFFERS = 20


@pytest.mark.slow
def test_held_out_edits_draw_the_mouth_interior(mead_fits: MeadFits) -> None:
    # the held-out edits were rendered by an unprepared renderer, which draws no mouth interior:
    # the calibration chose strengths for a render no user gets
    neutral = mead_fits(("M030",), (Emotion.NEUTRAL,))[0]
    detail = ExpressionDetail.load_default()
    held = HeldOut.of(neutral, _STEP, detail)
    assert held.renderer() is held.renderer()
    other = dataclasses.replace(held, detail=dataclasses.replace(detail))
    assert other.renderer() is not held.renderer()  # a renderer per detail
    assert held.renderer() is held.renderer()

    prototypes = EmotionPrototypes.load_default()
    _, faces = held.edit(prototypes, Emotion.HAPPY, 1.6)
    weights = np.ones(len(prototypes.emotions), np.float32)
    weights[prototypes.index(Emotion.HAPPY)] = 1.6
    edit = plan_edit(held.analysis, EmotionTarget(Emotion.HAPPY, 1.0),
                     prototypes=dataclasses.replace(prototypes, strength=weights))  # fmt: skip
    h = held.analysis.track.frame_size[1]
    most = 0
    for (t, img), (rendered, _) in zip(held.frames, faces, strict=True):
        plain = render_frame(img, t, held.analysis, edit, detail=detail)
        lips = held.landmarks[t][list(LIPS_OUTER_UPPER + LIPS_OUTER_LOWER), :2]
        (x0, y0), (x1, y1) = lips.min(axis=0).astype(int), lips.max(axis=0).astype(int)
        mouth = (slice(y0, y1 + 1), slice(x0, x1 + 1))
        diff = np.abs(rendered[:h][mouth].astype(int) - plain[:h][mouth].astype(int))
        most = max(most, int(diff.max()))
    assert most >= _INTERIOR_DIFFERS, most
