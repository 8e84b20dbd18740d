"""What the prototype editor does around the lips of a real talker (GRID): a lip is never
thinned, and a raise held back on closed lips takes the skin above them along (``fit.speech``);
both were read by dlib's 68 points as lips closing or parting."""

from __future__ import annotations

import numpy as np

from emodirector import VideoAnalysis
from emodirector.face_model import LIPS_OUTER_UPPER, load_face_model
from emodirector.fit.speech import CLOSED_APERTURE, lip_aperture, lip_thickness
from emodirector.manipulate import Emotion, EmotionTarget, PrototypeEditor

#: Largest thinning of any lip column by a sad edit (canonical units). A thinner lip reads as
#: a narrower opening: sadness thinned GRID's lips by up to 0.070 when thinning was free.
_THINNING_MAX = 0.005
#: Mean vertical lag (canonical units) of the skin between the nose and the upper lip behind
#: the upper lip on closed lips, in an angry edit: 0.049 when the skin stayed raised over the
#: held-back lip (read as parted lips), 0.024 carried with it.
_SKIN_LAG_MAX = 0.035
#: The nose's lowest point (subnasale) and the top of the upper lip.
_SUBNASALE = 2
_UPPER_LIP_TOP = LIPS_OUTER_UPPER[5]
_SKIN_HALF_WIDTH = 0.5


def _edit(analysis: VideoAnalysis, emotion: Emotion) -> tuple[np.ndarray, np.ndarray]:
    """``(canonical, offsets)`` of the clip's present frames edited to ``emotion``."""
    fit = analysis.fit
    edit = PrototypeEditor().edit(fit, EmotionTarget(emotion, 1.0), float(analysis.info.fps))
    frames = np.flatnonzero(fit.present)
    return np.asarray(fit.canonical[frames], np.float64), edit.offsets(frames).astype(np.float64)


def test_a_sad_edit_never_thins_the_lips(grid_analysis: VideoAnalysis) -> None:
    canonical, offsets = _edit(grid_analysis, Emotion.SAD)
    change = lip_thickness(canonical + offsets) - lip_thickness(canonical)
    assert change.min() > -_THINNING_MAX


def test_angry_closed_lips_carry_the_skin_above_them(grid_analysis: VideoAnalysis) -> None:
    canonical, offsets = _edit(grid_analysis, Emotion.ANGRY)
    closed = lip_aperture(canonical) < CLOSED_APERTURE
    assert closed.sum() >= 10  # GRID's speaker closes his lips on m, b, p and at rest
    template = load_face_model().template
    x, y = template[:, 0], template[:, 1]
    skin = (y > y[_SUBNASALE]) & (y < y[_UPPER_LIP_TOP]) & (np.abs(x) < _SKIN_HALF_WIDTH)
    lip = offsets[closed][:, [_UPPER_LIP_TOP], 1]
    lag = float(np.abs(offsets[closed][:, skin, 1] - lip).mean())
    assert lag < _SKIN_LAG_MAX
