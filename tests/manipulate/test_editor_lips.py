"""What the prototype editor does around the lips of a real talker (GRID): a lip is never
thinned, a raise held back on closed lips takes the skin above them along, the mouth line
bends no further than the lips' gap allows, and a narrowed mouth keeps its opening
(``fit.speech``); each was read by dlib's 68 points as lips closing or parting. The dlib checks
warp the clip's frames with the edit's landmarks (the renderer's mesh warp, without its detail
and mouth layers) and read both with dlib."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emodirector import VideoAnalysis, analyze_video
from emodirector.evaluate.dlibface import DlibFace, dlib_box
from emodirector.evaluate.lips import LipClosures, lip_closures
from emodirector.face_model import LIPS_OUTER_UPPER, load_face_model
from emodirector.fit.speech import CLOSED_APERTURE, OPEN_APERTURE, lip_aperture, lip_thickness
from emodirector.manipulate import Emotion, EmotionTarget, PrototypeEditor
from emodirector.pipeline import edited_landmarks
from emodirector.render.warp import warp_field, warp_plane
from emodirector.video.reader import iter_frames

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
#: Largest share of GRID's man's open frames (dlib) a sad edit may close. His lips part by a
#: slit that MediaPipe's inner contour barely sees; sad's arched mouth line and its press to
#: 0.8 of the gap closed 0.32 of them (mesh warp; 0.49-0.57 rendered), 0.16 with the arch held
#: to the gap and no press below it, 0.11 with the lower lip's arch opening parted lips
#: (``ARCH_OPENING``); the 4 left are frames MediaPipe reads closed (0.00-0.04). Recalibrated
#: on steadily tracked MEAD takes, sad closes 6 of his 37 (0.16; rendered, 0.16 before and
#: after) while it reads as sad on him at last (0.14 -> 0.53).
_SAD_WRONGLY_CLOSED_MAX = 0.17
#: The same for GRID's woman, whose slit (dlib 0.08-0.11 of the mouth width) sad's arch held to
#: the gap closed on 0.54 of her open frames (mesh warp), 0.08 opened by the arch.
_SAD_WOMAN_WRONGLY_CLOSED_MAX = 0.15
#: Least share of his closed frames a sad edit keeps closed (the 97% bar; 0.97 measured).
_SAD_KEPT_MIN = 0.96
#: Largest ratio of an edit's inner-lip aperture to the input's on frames whose lips barely part
#: (MediaPipe's aperture between ``CLOSED_APERTURE`` and ``OPEN_APERTURE``: a slit, or the
#: teeth's edge between the lips, which dlib's 68 points read as touching lips). The lip
#: separation that took hold in full from ``OPEN_APERTURE`` made it 1.51-1.99 on GRID's man
#: (happy, angry, disgusted; 1.9-2.2 on videoretalking_face3, whose closures dlib then read
#: open); the parting gate 1.17-1.33.
_BARELY_PARTED_RATIO_MAX = 1.45
_BARELY_PARTED_MIN_FRAMES = 10
#: Largest share of GRID's talkers' open frames (dlib) a surprised edit may close. Surprise
#: rounds the mouth to 0.62-0.67 of its width; with the gap alone kept, dlib read the narrowed slit
#: as touching lips on 0.135 of his open frames and 0.26 of hers (mesh warp); the lower lip
#: going down as the width shrinks (``KEEP_AREA``, ``LEAST_WIDTH``) left 0.03 and 0.08.
_SURPRISED_WRONGLY_CLOSED_MAX = 0.12
#: Least share of their closed frames a surprised edit keeps closed (1.0 measured on both).
_SURPRISED_KEPT_MIN = 0.96
#: Least share of his closed frames (dlib) a disgusted edit keeps closed. Held back on closed
#: lips, disgust's lower-lip depression (0.2-0.25 canonical, the upper lip 0.05) met the upper
#: lip halfway: the closed mouth pulled down 0.1 at the centre kept 0.52 of them; taken from
#: the lower lip alone, 1.0.
_DISGUSTED_KEPT_MIN = 0.94
#: Least median ratio of the edit's aperture to the input's on his open frames: the emotion
#: still parts an open mouth (1.35-1.63 measured with the parting gate).
_OPEN_RATIO_MIN = 1.2


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


@pytest.mark.parametrize("emotion", [Emotion.HAPPY, Emotion.ANGRY, Emotion.DISGUSTED])
def test_barely_parted_lips_are_not_pulled_apart(
    grid_analysis: VideoAnalysis, emotion: Emotion
) -> None:
    canonical, offsets = _edit(grid_analysis, emotion)
    own, out = lip_aperture(canonical), lip_aperture(canonical + offsets)
    barely = (own >= CLOSED_APERTURE) & (own < OPEN_APERTURE)
    assert barely.sum() >= _BARELY_PARTED_MIN_FRAMES
    assert float((out[barely] / own[barely]).max()) < _BARELY_PARTED_RATIO_MAX
    wide = own >= OPEN_APERTURE
    assert float(np.median(out[wide] / own[wide])) > _OPEN_RATIO_MIN


@pytest.fixture(scope="module")
def grid_frames(grid_analysis: VideoAnalysis) -> list[np.ndarray]:
    """The GRID clip's RGB frames."""
    n = grid_analysis.track.n_frames
    return [f.image.copy() for f in iter_frames(grid_analysis.info, "rgb24")][:n]


@pytest.fixture(scope="module")
def dlib_face() -> DlibFace:
    with DlibFace() as face:
        yield face


def _dlib_closures(
    analysis: VideoAnalysis, frames: list[np.ndarray], face: DlibFace, emotion: Emotion
) -> LipClosures:
    """dlib's closures of the clip against its frames warped by an ``emotion`` edit."""
    edit = PrototypeEditor().edit(analysis.fit, EmotionTarget(emotion, 1.0), analysis.info.fps)
    size = (analysis.info.width, analysis.info.height)
    before = np.full((len(frames), 68, 2), np.nan)
    after = before.copy()
    for i, rgb in enumerate(frames):
        source, target = analysis.track.landmarks[i], edited_landmarks(analysis, edit, i)
        if target is None:
            continue
        field = warp_field(source, target, size)
        assert field is not None
        x0, y0, x1, y1 = field.roi
        warped = rgb.copy()
        for c in range(3):
            warped[y0:y1, x0:x1, c] = warp_plane(rgb[..., c], field)
        before[i] = face.landmarks(rgb, dlib_box(source))
        after[i] = face.landmarks(warped, dlib_box(target))
    return lip_closures(before, after)


def test_sad_leaves_slightly_parted_lips_open(
    grid_analysis: VideoAnalysis, grid_frames: list[np.ndarray], dlib_face: DlibFace
) -> None:
    c = _dlib_closures(grid_analysis, grid_frames, dlib_face, Emotion.SAD)
    assert c.open_frames >= 30 and c.closed_frames >= 30
    assert c.wrongly_closed <= _SAD_WRONGLY_CLOSED_MAX
    assert c.kept >= _SAD_KEPT_MIN


@pytest.fixture(scope="module")
def grid_woman(grid_clip_2: Path) -> tuple[VideoAnalysis, list[np.ndarray]]:
    """GRID's woman tracked and fitted, and her RGB frames."""
    analysis = analyze_video(grid_clip_2)
    n = analysis.track.n_frames
    return analysis, [f.image.copy() for f in iter_frames(analysis.info, "rgb24")][:n]


def test_sad_leaves_the_womans_slit_open(
    grid_woman: tuple[VideoAnalysis, list[np.ndarray]], dlib_face: DlibFace
) -> None:
    analysis, frames = grid_woman
    c = _dlib_closures(analysis, frames, dlib_face, Emotion.SAD)
    assert c.open_frames >= 30 and c.closed_frames >= 10
    assert c.wrongly_closed <= _SAD_WOMAN_WRONGLY_CLOSED_MAX
    assert c.kept >= _SAD_KEPT_MIN


def test_disgust_keeps_closed_lips_closed(
    grid_analysis: VideoAnalysis, grid_frames: list[np.ndarray], dlib_face: DlibFace
) -> None:
    c = _dlib_closures(grid_analysis, grid_frames, dlib_face, Emotion.DISGUSTED)
    assert c.closed_frames >= 30
    assert c.kept >= _DISGUSTED_KEPT_MIN


def test_surprise_keeps_open_lips_open(
    grid_analysis: VideoAnalysis,
    grid_frames: list[np.ndarray],
    grid_woman: tuple[VideoAnalysis, list[np.ndarray]],
    dlib_face: DlibFace,
) -> None:
    for analysis, frames in ((grid_analysis, grid_frames), grid_woman):
        c = _dlib_closures(analysis, frames, dlib_face, Emotion.SURPRISED)
        assert c.open_frames >= 30 and c.closed_frames >= 10
        assert c.wrongly_closed <= _SURPRISED_WRONGLY_CLOSED_MAX
        assert c.kept >= _SURPRISED_KEPT_MIN
