"""The mouth interior from the actor's own frames (emodirector.render.mouth)."""

from __future__ import annotations

import dataclasses
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest

from emodirector.face_model import (
    CHIN,
    LIPS_INNER_LOWER,
    LIPS_INNER_UPPER,
    LIPS_OUTER_LOWER,
    LIPS_OUTER_UPPER,
    load_face_model,
)
from emodirector.pipeline import EditOptions, VideoAnalysis, edit_video
from emodirector.render import warp_field, warp_yuv420
from emodirector.render.mouth import (
    CROP_BOX,
    CROWN_MAX,
    CROWN_REACH,
    DARK,
    DRAW_OPEN,
    OWN,
    SWITCH_FADE,
    LipShape,
    MouthBank,
    MouthPart,
    composite_mouth,
    draw_interior,
    head_similarity,
    inner_lips,
    own_candidate,
    plan_path,
)
from emodirector.render.renderer import ClipFaces, FaceFrame, RenderOptions, WarpRenderer
from emodirector.track.tracker import FaceTrack
from emodirector.video.reader import VideoInfo

_W, _H = 480, 480
_SCALE = 150.0
_SKIN = (200, 150, 130)
_LIP = (170, 80, 80)
_CAVITY = (40, 15, 15)
_TEETH = (235, 235, 225)
_TONGUE = (150, 70, 70)
#: Openings (largest inner gap over the inner mouth width) of the synthetic clip's frames.
_OPENINGS = (0.0, 0.14, 0.22, 0.30, 0.38, 0.46)
#: Lips a little apart between words (mean gap above the speech constraint's closed lips, the
#: opening under the bank's open mouths): the source an edit opens wider.
_PARTED = 0.07
#: Largest RMS difference (face-model units) of a retrieved candidate's lips from the target's.
_MATCH_TOL = 0.01
#: Luma of the drawn interior: a dark cavity is below this ...
_DARK_MAX_Y = 70
#: ... and the synthetic teeth above this.
_TEETH_MIN_Y = 170
#: Pixels outside the edited lips' box (plus this margin) must not change.
_MARGIN_PX = 3
#: Most candidate switches per frame drawn on a jittered target.
_MAX_SWITCH_RATE = 0.1
#: The cavity between parted teeth is at most this share of the luma of lips that fill an
#: opening (a small or turned face's tracked opening that holds no dark pixel).
_CAVITY_OF_LIP = 0.5
#: Pixels the teeth may lag a raised upper lip by.
_FOLLOW_TOL_PX = 1.5
#: Levels of luma by which the warp counts as kept (the soft edge of the drawn interior).
_KEPT_LEVELS = 2
#: Rows under a raised lip left to its edge and shadow (the feather and the crowns' shade).
_CROWN_LIP_PX = 3
#: Lips of the edited frame this much darker than the candidate's, and the most levels the
#: drawn teeth may lose for it (matching the ring's mean and spread took 29).
_DARKER_LIPS = 0.6
_TEETH_DIMMED = 18
#: Rows of crowns above a frame's own teeth looked at, and their least luma (shaded teeth; the
#: lips are at 108).
_CROWN_ROWS = 3
_CROWN_MIN_Y = 130
#: Rows of a lowered lip's edge and of the lip under it, and the least share of the lip's luma
#: along that edge (a dark crescent drew it at 0.64).
_EDGE_ROWS = 3
_CRESCENT_OF_LIP = 0.85
#: Levels by which the cavity's lowest third is brighter than its top third.
_CAVITY_SHADE = 5
#: Levels of luma between the two candidates' teeth (they must differ to be seen to switch), the
#: largest share of that change on one frame, and the levels of change that count as a step.
_SWITCH_JUMP = 40
_SWITCH_STEP = 0.5
_SWITCH_TOL = 6
#: An edited opening this much wider (fraction of the mouth width) than a candidate with
#: clenched teeth, and the most levels of luma the middle column between its lips may dip
#: below the teeth (the pieces moved apart by the whole gain drew a dark line of 120 levels).
_SLIGHTLY_WIDER = 0.03
_CLENCHED_DIP = 30
#: Most levels of luma anything between a raised lip and the crowns under it may fall below
#: the lip's (the cavity's share in the crowns' fading edge made a seam 9 below).
_SEAM_LEVELS = 4
#: A barely parted edit: lips parted by this much of the source's width, made this much wider
#: (largest gap 0.083 of the edited width; the opening's excess over the source's 0.10).
_BARELY = 0.095
_WIDER = 1.15
#: Half width (face-model units) of a gap in a candidate's lower piece, and how far (pixels) the
#: column looked at beside it lies.
_NOTCH = 0.03
_BESIDE_PX = 20
#: An edited opening this much wider than a candidate of teeth from lip to lip parts them by a
#: line of shadow; the most dark pixels down one column of it (a stroke down from it drew 43).
_LINE_GAIN = 0.06
_LINE_PX = 4
#: How much higher than its neighbours a piece's outermost columns end (a rounded crown), pixels.
_CORNER_RISE_PX = 4
#: Largest step of the continued crowns' mask from one column to the next (a crown of a lone
#: solid column stepped by 1).
_CROWN_STEP = 0.25


def _landmarks(opening: float, shift: tuple[float, float] = (0.0, 0.0)) -> np.ndarray:
    """``(478, 3)`` a frontal face whose inner lips part by ``opening`` of the mouth width."""
    pts = load_face_model().template.astype(np.float64) * _SCALE
    pts[:, :2] += (_W / 2 + shift[0], _H / 2 - 60 + shift[1])
    width = np.ptp(pts[list(LIPS_INNER_UPPER), 0])
    # close the template's slightly parted lips: both inner lips meet on their middle line
    up, lo = list(LIPS_INNER_UPPER), list(LIPS_INNER_LOWER)
    closed = (pts[up, 1] + pts[lo, 1]) / 2
    pts[list(LIPS_OUTER_UPPER), 1] += closed - pts[up, 1]
    pts[list(LIPS_OUTER_LOWER), 1] += closed - pts[lo, 1]
    pts[up, 1] = closed
    pts[lo, 1] = closed
    gap = opening * width
    for group, share in (
        (LIPS_INNER_UPPER, -0.3),
        (LIPS_OUTER_UPPER, -0.3),
        (LIPS_INNER_LOWER, 0.7),
        (LIPS_OUTER_LOWER, 0.7),
    ):
        idx = list(group)
        pts[idx, 1] += share * gap * np.sin(np.linspace(0, np.pi, len(idx)))
    pts[CHIN, 1] += 0.7 * gap
    return pts.astype(np.float32)


def _image(
    landmarks: np.ndarray, teeth_rgb: tuple[int, int, int] = _TEETH, lower_teeth: bool = False
) -> np.ndarray:
    """``(H, W, 3) uint8`` RGB: skin, lips, and between them a cavity with upper teeth (of
    ``teeth_rgb``), and with ``lower_teeth`` a band of them over the lower lip too, the tongue
    between the two."""
    img = np.zeros((_H, _W, 3), np.uint8)
    img[:] = _SKIN
    outer = np.concatenate(
        [landmarks[list(LIPS_OUTER_UPPER), :2], landmarks[list(LIPS_OUTER_LOWER)[-2:0:-1], :2]]
    )
    inner = np.concatenate(
        [landmarks[list(LIPS_INNER_UPPER), :2], landmarks[list(LIPS_INNER_LOWER)[-2:0:-1], :2]]
    )
    cv2.fillPoly(img, [np.round(outer).astype(np.int32)], _LIP)
    cv2.fillPoly(img, [np.round(inner).astype(np.int32)], _CAVITY)
    # upper teeth: a band under the upper lip, fixed to the head
    top = landmarks[list(LIPS_INNER_UPPER), 1].min()
    x0, x1 = landmarks[LIPS_INNER_UPPER[2], 0], landmarks[LIPS_INNER_UPPER[-3], 0]
    mask = np.zeros((_H, _W), np.uint8)
    cv2.fillPoly(mask, [np.round(inner).astype(np.int32)], 1)
    teeth = np.zeros_like(mask)
    teeth[int(top) : int(top + 12), int(x0) : int(x1)] = 1
    tongue = np.zeros_like(mask)
    if lower_teeth:
        bottom = landmarks[list(LIPS_INNER_LOWER), 1].max()
        teeth[int(bottom - 10) : int(bottom) + 1, int(x0) : int(x1)] = 1
        tongue[int(top + 12) : int(bottom - 10), int(x0) : int(x1)] = 1
    img[(mask & teeth) > 0] = teeth_rgb
    img[(mask & tongue) > 0] = _TONGUE
    return img


def _yuv420(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), cv2.COLOR_BGR2YUV_I420)


def _info() -> VideoInfo:
    return VideoInfo(
        path=Path("synthetic-mouth.mp4"),
        width=_W,
        height=_H,
        fps=Fraction(25),
        time_base=Fraction(1, 25),
        frame_count=0,
        duration=0.0,
        codec="h264",
        pix_fmt="yuv420p",
        rotation=0,
        color_range=1,
        audio_streams=(),
    )


def _track(landmarks: list[np.ndarray]) -> FaceTrack:
    n = len(landmarks)
    return FaceTrack(
        landmarks=np.stack(landmarks),
        present=np.ones(n, bool),
        segment=np.zeros(n, np.int32),
        times=np.arange(n) / 25.0,
        frame_size=(_W, _H),
    )


def _prepared(
    sources: list[np.ndarray],
    targets: list[np.ndarray],
    images: list[np.ndarray] | None = None,
) -> MouthPart:
    """A mouth part whose bank saw the source frames (``_image`` of each, or ``images``),
    prepared for the targets."""
    info = _info()
    part = MouthPart()
    observe = part.frame_observer(info)
    for i, lm in enumerate(sources):
        observe(i, _image(lm) if images is None else images[i], [lm])
    track = _track(sources)

    def face(i: int) -> FaceFrame:
        return FaceFrame(i, sources[i], targets[i], (), np.zeros(0, np.float32))

    part.prepare([ClipFaces(info, track, face)])
    return part


def _shape(lm: np.ndarray) -> LipShape:
    return LipShape.of(*inner_lips(lm, head_similarity(lm)))


def test_head_frame_ignores_position_and_scale() -> None:
    a = _shape(_landmarks(0.3))
    moved = _landmarks(0.3, (25.0, -10.0))
    moved[:, :2] = (moved[:, :2] - 240) * 0.8 + 240
    b = _shape(moved)
    assert np.allclose(a.vector(), b.vector(), atol=1e-4)


def test_bank_keeps_open_mouths_only_and_stays_bounded() -> None:
    bank = MouthBank(capacity=3)
    for i, opening in enumerate(_OPENINGS * 2):
        lm = _landmarks(opening)
        bank.observe(i, _image(lm), [lm])
    assert bank.frames_seen == 2 * len(_OPENINGS)
    assert len(bank.candidates) == 3
    assert all(_shape(_landmarks(_OPENINGS[c.index % len(_OPENINGS)])).open_fraction > 0.1
               for c in bank.candidates)  # fmt: skip
    # diverse: the three kept mouths differ in opening
    kept = sorted({_OPENINGS[c.index % len(_OPENINGS)] for c in bank.candidates})
    assert len(kept) == 3


def test_retrieval_picks_the_candidate_of_matching_shape() -> None:
    sources = [_landmarks(o) for o in _OPENINGS]
    bank = MouthBank()
    for i, lm in enumerate(sources):
        bank.observe(i, _image(lm), [lm])
    cands = tuple(bank.candidates)
    for want in (0.22, 0.38, 0.46):
        # a barely parted source mouth edited to open like frame ``want``
        src = np.stack([_landmarks(_PARTED)] * 5)
        dst = np.stack([_landmarks(want)] * 5)
        svec = np.stack([_shape(s).vector() for s in src])
        tvec = np.stack([_shape(d).vector() for d in dst])
        weight, choice = plan_path(svec, tvec, cands)
        assert (weight > 0).all()
        chosen = {cands[c].index for c in choice}
        assert chosen == {_OPENINGS.index(want)}
        got = np.concatenate([cands[choice[0]].upper, cands[choice[0]].lower])
        ref = np.concatenate(inner_lips(dst[0], head_similarity(dst[0])))
        assert np.sqrt(((got - ref) ** 2).sum(axis=1).mean()) < _MATCH_TOL


def test_opened_lips_show_the_actors_teeth() -> None:
    n = len(_OPENINGS)
    sources = [_landmarks(o) for o in _OPENINGS] + [_landmarks(0.14)] * 8
    targets = sources[:n] + [_landmarks(0.38)] * 8
    part = _prepared(sources, targets)
    path = part.path_of(FaceFrame(n + 4, sources[n + 4], targets[n + 4], (), np.zeros(0)))
    assert path is not None and path.weight[n + 4] == 1.0
    assert path.candidates[path.choice[n + 4]].index == _OPENINGS.index(0.38)
    frame = _yuv420(_image(sources[n + 4]))
    face = FaceFrame(n + 4, sources[n + 4], targets[n + 4], (), np.zeros(0, np.float32))
    plain = WarpRenderer().render(frame, face)
    drawn = WarpRenderer([part]).render(frame, face)
    assert plain is not None and drawn is not None
    # the teeth band of the opened mouth, where the actor's own open frame shows it
    teeth = _teeth_mask(targets[n + 4])
    x0, y0 = drawn.field.roi[:2]
    ys, xs = np.nonzero(teeth)
    got = drawn.planes[0][ys - y0, xs - x0]
    warped = plain.planes[0][ys - y0, xs - x0]
    assert np.median(got) > _TEETH_MIN_Y
    assert np.median(got) > np.median(warped)


def _teeth_mask(lm: np.ndarray) -> np.ndarray:
    """Where the synthetic image of ``lm`` shows teeth, eroded by a pixel."""
    img = _image(lm)
    mask = np.all(img == _TEETH, axis=2).astype(np.uint8)
    return cv2.erode(mask, np.ones((3, 3), np.uint8)) > 0


def test_fallback_on_a_clip_that_never_opens_its_mouth() -> None:
    sources = [_landmarks(_PARTED)] * 10
    targets = [_landmarks(0.3)] * 10
    part = _prepared(sources, targets)
    assert part.fallback_frames == 10
    (note,) = WarpRenderer([part]).notes()
    assert "dark cavity" in note
    face = FaceFrame(5, sources[5], targets[5], (), np.zeros(0, np.float32))
    drawn = WarpRenderer([part]).render(_yuv420(_image(sources[5])), face)
    assert drawn is not None
    inner = np.concatenate([targets[5][list(LIPS_INNER_UPPER), :2],
                            targets[5][list(LIPS_INNER_LOWER)[-2:0:-1], :2]])  # fmt: skip
    mask = np.zeros((_H, _W), np.uint8)
    cv2.fillPoly(mask, [np.round(inner).astype(np.int32)], 1)
    mask = cv2.erode(mask, np.ones((5, 5), np.uint8))
    ys, xs = np.nonzero(mask)
    x0, y0 = drawn.field.roi[:2]
    assert np.median(drawn.planes[0][ys - y0, xs - x0]) < _DARK_MAX_Y


def test_nothing_changes_where_the_lips_open_no_more() -> None:
    sources = [_landmarks(o) for o in _OPENINGS]
    # the same lips, and lips closed a little: nothing to fill
    targets = [s.copy() for s in sources[:3]] + [_landmarks(o * 0.8) for o in _OPENINGS[3:]]
    part = _prepared(sources, targets)
    for i in range(len(sources)):
        face = FaceFrame(i, sources[i], targets[i], (), np.zeros(0, np.float32))
        assert not part.active(face)
    frame = _yuv420(_image(sources[4]))
    face = FaceFrame(4, sources[4], targets[4], (), np.zeros(0, np.float32))
    a = WarpRenderer().render(frame, face)
    b = WarpRenderer([part]).render(frame, face)
    assert a is not None and b is not None
    assert all(np.array_equal(p, q) for p, q in zip(a.planes, b.planes, strict=True))


def test_retrieved_teeth_keep_their_light_under_darker_lips() -> None:
    # the edited frame's lip ring reads darker than the candidate's (the warp's stretched
    # shadows, the detail's folds): the teeth are moved a few levels, not matched to it
    lm = _landmarks(0.38)
    bank = MouthBank()
    bank.observe(0, _image(lm), [lm])
    (cand,) = bank.candidates
    src, dst = _landmarks(0.14), _landmarks(0.38)
    img = _image(src)
    lips = np.all(img == _LIP, axis=2)
    img[lips] = (np.asarray(_LIP) * _DARKER_LIPS).astype(np.uint8)
    frame = _yuv420(img)
    field = warp_field(src, dst, (_W, _H))
    assert field is not None
    out = composite_mouth(field, warp_yuv420(frame, field), src, dst, cand, 1.0)
    x0, y0 = field.roi[:2]
    ys, xs = np.nonzero(_teeth_mask(dst))
    teeth_y = cv2.cvtColor(np.uint8([[_TEETH]]), cv2.COLOR_RGB2YUV)[0, 0, 0]
    assert np.median(out[0][ys - y0, xs - x0]) >= teeth_y - _TEETH_DIMMED


def test_only_the_mouth_changes() -> None:
    src, dst = _landmarks(0.14), _landmarks(0.38)
    bank = MouthBank()
    for i, o in enumerate(_OPENINGS):
        lm = _landmarks(o)
        bank.observe(i, _image(lm), [lm])
    frame = _yuv420(_image(src))
    field = warp_field(src, dst, (_W, _H))
    assert field is not None
    planes = warp_yuv420(frame, field)
    out = composite_mouth(field, planes, src, dst, bank.candidates[-1], 1.0)
    changed = np.abs(out[0].astype(int) - planes[0]) > 0
    assert changed.any()
    ys, xs = np.nonzero(changed)
    x0, y0 = field.roi[:2]
    lips = np.concatenate([dst[list(LIPS_INNER_UPPER), :2], dst[list(LIPS_INNER_LOWER), :2]])
    lo, hi = lips.min(axis=0) - _MARGIN_PX, lips.max(axis=0) + _MARGIN_PX
    assert xs.min() + x0 >= lo[0] and xs.max() + x0 <= hi[0]
    assert ys.min() + y0 >= lo[1] and ys.max() + y0 <= hi[1]


def test_the_path_does_not_switch_every_frame() -> None:
    sources = [_landmarks(o) for o in _OPENINGS]
    bank = MouthBank()
    for i, lm in enumerate(sources):
        bank.observe(i, _image(lm), [lm])
    rng = np.random.default_rng(0)
    n = 200
    # a target opening that wanders between the bank's shapes, with tracking jitter
    wander = 0.3 + 0.08 * np.sin(np.arange(n) / 15.0) + rng.normal(0, 0.01, n)
    svec = np.stack([_shape(_landmarks(0.1)).vector()] * n)
    tvec = np.stack([_shape(_landmarks(float(o))).vector() for o in wander])
    weight, choice = plan_path(svec, tvec, tuple(bank.candidates))
    assert (weight > 0).all()
    switches = int((choice[1:] != choice[:-1]).sum())
    assert 0 < switches <= _MAX_SWITCH_RATE * n


def test_the_cavity_of_an_opening_full_of_lip_is_dark() -> None:
    lm = _landmarks(0.3)
    img = _image(lm)
    inner = np.concatenate(
        [lm[list(LIPS_INNER_UPPER), :2], lm[list(LIPS_INNER_LOWER)[-2:0:-1], :2]]
    )
    cv2.fillPoly(img, [np.round(inner).astype(np.int32)], _LIP)
    bank = MouthBank()
    bank.observe(0, img, [lm])
    (cand,) = bank.candidates
    lip_y = cv2.cvtColor(np.uint8([[_LIP]]), cv2.COLOR_RGB2YUV)[0, 0, 0]
    assert cand.dark[0] <= _CAVITY_OF_LIP * lip_y
    # and less red than the lip: a brown band between the teeth is what it replaces
    assert abs(cand.dark[2] - 128) < abs(
        float(cv2.cvtColor(np.uint8([[_LIP]]), cv2.COLOR_RGB2YCrCb)[0, 0, 1]) - 128
    )


def _teeth_rows(y: np.ndarray, cols: slice) -> np.ndarray:
    """Rows where the middle columns of a luma region show teeth."""
    return np.flatnonzero(np.median(y[:, cols], axis=1) > _TEETH_MIN_Y)


def _own_mouth_under_raised_lip(
    raise_px: float, power: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...], np.ndarray, int, int]:
    """A frame's own mouth composited under its upper lip raised by ``raise_px`` in the middle
    (``sin ** power`` along the lip): ``src, dst, frame, warped planes, out luma, x0, y0``."""
    src, dst, frame, planes, out, (x0, y0) = _own_mouth_with_lip_moved(
        0.3, (LIPS_INNER_UPPER, LIPS_OUTER_UPPER), -raise_px, power
    )
    return src, dst, frame, planes, out[0], x0, y0


def _own_mouth_with_lip_moved(
    opening: float,
    lip: tuple[tuple[int, ...], ...],
    move_px: float,
    power: float,
    lower_teeth: bool = False,
) -> tuple[
    np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, ...], list[np.ndarray], tuple[int, int]
]:
    """A mouth of ``opening`` whose ``lip`` (inner and outer contour) the edit moves
    ``move_px`` down in the middle (``sin ** power`` along it; negative: up), composited with the
    frame's own interior: ``src, dst, frame, warped planes, composited planes, (x0, y0)``."""
    src = _landmarks(opening)
    dst = src.copy()
    for group in lip:
        idx = list(group)
        dst[idx, 1] += move_px * np.sin(np.linspace(0, np.pi, len(idx))) ** power
    frame = _yuv420(_image(src, lower_teeth=lower_teeth))
    cand = own_candidate(frame, src)
    assert cand is not None
    field = warp_field(src, dst, (_W, _H))
    assert field is not None
    planes = warp_yuv420(frame, field)
    out = composite_mouth(field, planes, src, dst, cand, 1.0, own=True)
    return src, dst, frame, planes, out, (field.roi[0], field.roi[1])


def test_a_frames_own_upper_teeth_stay_with_the_head_under_a_raised_lip() -> None:
    raise_px = 10.0
    src, dst, frame, _, out_y, x0, y0 = _own_mouth_under_raised_lip(raise_px, 0.25)
    mid = int(round(float(src[LIPS_INNER_UPPER[5], 0]))) - x0
    cols = slice(mid - 8, mid + 8)
    teeth_src = _teeth_rows(frame[:_H][y0:, x0:], cols)
    teeth_out = _teeth_rows(out_y, cols)
    assert teeth_src.size and teeth_out.size
    # the crowns' tips stay where the head holds them (they moved up with the lip before) ...
    assert abs(int(teeth_src.max()) - int(teeth_out.max())) <= _FOLLOW_TOL_PX
    # ... and the lip uncovers more of them: teeth up past the tracked lip's teeth top, and no
    # dark band of cavity between them and the raised lip (the thin band a smile showed)
    crowns = out_y[teeth_src.min() - _CROWN_ROWS : teeth_src.min(), cols]
    assert np.median(crowns) > _CROWN_MIN_Y
    lip = int(np.ceil(dst[LIPS_INNER_UPPER[5], 1])) - y0
    column = np.median(out_y[lip + _CROWN_LIP_PX : teeth_src.min(), cols], axis=1)
    assert column.size and column.min() > _DARK_MAX_Y


def _inner_mask(lm: np.ndarray, erode: int = 0) -> np.ndarray:
    inner = np.concatenate(
        [lm[list(LIPS_INNER_UPPER), :2], lm[list(LIPS_INNER_LOWER)[-2:0:-1], :2]]
    )
    mask = np.zeros((_H, _W), np.uint8)
    cv2.fillPoly(mask, [np.round(inner).astype(np.int32)], 1)
    if erode:
        mask = cv2.erode(mask, np.ones((2 * erode + 1, 2 * erode + 1), np.uint8))
    return mask > 0


def test_the_cavity_runs_to_the_corners_of_a_widened_opening() -> None:
    bank = MouthBank()
    lm = _landmarks(0.3)
    bank.observe(0, _image(lm), [lm])
    (cand,) = bank.candidates
    # the edit widens the mouth by half: its corners lie well past the candidate's teeth
    src = _landmarks(0.3)
    dst = src.copy()
    lips = list(LIPS_INNER_UPPER + LIPS_INNER_LOWER + LIPS_OUTER_UPPER + LIPS_OUTER_LOWER)
    cx = float(src[list(LIPS_INNER_UPPER), 0].mean())
    dst[lips, 0] = cx + 1.5 * (src[lips, 0] - cx)
    frame = _yuv420(_image(src))
    field = warp_field(src, dst, (_W, _H))
    assert field is not None
    out = composite_mouth(field, warp_yuv420(frame, field), src, dst, cand, 1.0)
    x0, y0 = field.roi[:2]
    half = np.ptp(dst[list(LIPS_INNER_UPPER), 0]) / 2
    outer = _inner_mask(dst, 2) & (np.abs(np.arange(_W)[None, :] - cx) > 0.85 * half)
    ys, xs = np.nonzero(outer)
    assert ys.size > 20
    # the mouth's shadow, not a box ending with the teeth and the stretched lip past it
    assert np.median(out[0][ys - y0, xs - x0]) < _DARK_MAX_Y


def test_past_the_crowns_a_raised_lip_keeps_the_warp() -> None:
    # the middle of the upper lip rises far more than its mean: past the reach of the teeth's
    # crowns (which stay with the head), the warp moves the lip's own edge (no flat fill)
    src, dst, _, planes, out_y, x0, y0 = _own_mouth_under_raised_lip(44.0, 6)
    mid = int(round(float(dst[LIPS_INNER_UPPER[5], 0])))
    top = int(np.ceil(dst[LIPS_INNER_UPPER[5], 1]))
    teeth = int(np.floor(src[LIPS_INNER_UPPER[5], 1]))
    reach = int(np.ceil(CROWN_MAX * _SCALE))
    ys, xs = np.mgrid[top + 2 : teeth - reach, mid - 3 : mid + 4]
    assert ys.size > 0
    kept = out_y[ys - y0, xs - x0].astype(int) - planes[0][ys - y0, xs - x0]
    assert np.abs(kept).max() <= _KEPT_LEVELS


def _own_mouth_with_dropped_jaw(drop_px: float) -> tuple[np.ndarray, np.ndarray, int, int]:
    """A frame's own mouth with lower teeth composited under its lower lip (and chin) lowered
    by ``drop_px``: ``dst, out luma, x0, y0``."""
    src = _landmarks(0.3)
    dst = src.copy()
    for group in (LIPS_INNER_LOWER, LIPS_OUTER_LOWER):
        idx = list(group)
        dst[idx, 1] += drop_px * np.sin(np.linspace(0, np.pi, len(idx))) ** 0.25
    dst[CHIN, 1] += drop_px
    frame = _yuv420(_image(src, lower_teeth=True))
    cand = own_candidate(frame, src)
    assert cand is not None
    field = warp_field(src, dst, (_W, _H))
    assert field is not None
    out = composite_mouth(field, warp_yuv420(frame, field), src, dst, cand, 1.0, own=True)
    x0, y0 = field.roi[:2]
    return dst, out[0], x0, y0


def test_no_dark_crescent_along_a_lowered_lip() -> None:
    # the lower teeth go down with the lip; between their piece's edge and the lip the warp moves
    # the lip's own edge (the cavity ran on down to the lip: a dark crescent along it)
    dst, out_y, x0, y0 = _own_mouth_with_dropped_jaw(8.0)
    mid = int(round(float(dst[LIPS_INNER_LOWER[5], 0]))) - x0
    lip = int(round(float(dst[LIPS_INNER_LOWER[5], 1]))) - y0
    column = np.median(out_y[:, mid - 8 : mid + 8], axis=1)
    lip_y = column[lip + _EDGE_ROWS : lip + 2 * _EDGE_ROWS].mean()
    assert column[lip - 2 : lip + 3].min() >= _CRESCENT_OF_LIP * lip_y


def test_the_cavity_is_shaded_towards_the_lower_piece() -> None:
    # a jaw dropped far: the cavity between the teeth runs from the dark under the upper teeth
    # towards the tongue over the lower ones (a flat colour reads as a hole), and stays dark
    dst, out_y, x0, y0 = _own_mouth_with_dropped_jaw(40.0)
    mid = int(round(float(dst[LIPS_INNER_LOWER[5], 0]))) - x0
    column = np.median(out_y[:, mid - 4 : mid + 4], axis=1)
    lip = int(np.ceil(dst[LIPS_INNER_UPPER[5], 1])) - y0
    teeth = lip + int(np.argmax(column[lip:] > _TEETH_MIN_Y))
    start = teeth + int(np.argmax(column[teeth:] < _DARK_MAX_Y)) + 1
    end = start + int(np.argmax(column[start:] >= _DARK_MAX_Y))
    cavity = column[start:end]
    assert cavity.size > 2 * _EDGE_ROWS
    third = cavity.size // 3
    assert np.mean(cavity[-third:]) - np.mean(cavity[:third]) >= _CAVITY_SHADE


def _teeth_across_a_switch(
    sources: list[np.ndarray], targets: list[np.ndarray], images: list[np.ndarray]
) -> list[float]:
    """Brightness of the teeth drawn on each frame after the two bank frames, where the path
    switches candidate once."""
    part = _prepared(sources, targets, images)
    renderer = WarpRenderer([part])
    teeth = []
    for i in range(2, len(sources)):
        face = FaceFrame(i, sources[i], targets[i], (), np.zeros(0, np.float32))
        drawn = renderer.render(_yuv420(images[i]), face)
        assert drawn is not None
        x0, y0 = drawn.field.roi[:2]
        mid = int(round(float(targets[i][LIPS_INNER_UPPER[5], 0]))) - x0
        lip = int(np.ceil(targets[i][LIPS_INNER_UPPER[5], 1])) - y0
        teeth.append(float(np.median(drawn.planes[0][lip + 4 : lip + 9, mid - 8 : mid + 8])))
    assert int((np.diff(part.paths[0].choice[2:]) != 0).sum()) == 1
    return teeth


def test_a_switch_of_candidate_fades_over_frames() -> None:
    # the bank's two open mouths: one with white teeth, one with grey ones; the edit opens a
    # barely parted mouth like the first for ten frames, then like the second
    first, second = _landmarks(0.30), _landmarks(0.46)
    grey = (150, 150, 145)
    n = 10
    sources = [first, second] + [_landmarks(_PARTED)] * (2 * n)
    targets = [first, second] + [first] * n + [second] * n
    images = [_image(first), _image(second, grey)] + [_image(s) for s in sources[2:]]
    teeth = _teeth_across_a_switch(sources, targets, images)
    jump = abs(teeth[-1] - teeth[n - 1])
    assert jump > _SWITCH_JUMP
    # the change is spread over the frames after the switch (the lips change shape there too)
    steps = np.abs(np.diff(teeth[n - 1 :]))
    assert steps.max() <= _SWITCH_STEP * jump
    assert np.count_nonzero(steps > _SWITCH_TOL) >= SWITCH_FADE


def test_renderer_options_switch_the_mouth() -> None:
    names = [p.name for p in WarpRenderer.from_options(RenderOptions()).parts]
    assert names.index("mouth") > max(names.index("eyes"), names.index("detail"))
    off = WarpRenderer.from_options(RenderOptions(mouth=False)).parts
    assert "mouth" not in [p.name for p in off]


def test_an_unprepared_part_draws_nothing() -> None:
    part = MouthPart()
    src = _landmarks(0.0)
    face = FaceFrame(0, src, _landmarks(0.4), (), np.zeros(0, np.float32))
    assert not part.active(face)


def _opened(landmarks: np.ndarray, fraction: float) -> np.ndarray:
    """Real landmarks with the lower lip and chin pulled down by ``fraction`` of the mouth
    width (an edit that opens the jaw)."""
    dst = np.array(landmarks, np.float32)
    gap = fraction * np.ptp(dst[list(LIPS_INNER_UPPER), 0])
    for group in (LIPS_INNER_LOWER, LIPS_OUTER_LOWER):
        idx = list(group)
        dst[idx, 1] += gap * np.sin(np.linspace(0, np.pi, len(idx)))
    dst[CHIN, 1] += gap
    return dst


def test_an_analysed_clip_fills_the_bank_by_decoding(grid_analysis: VideoAnalysis) -> None:
    track = grid_analysis.track
    part = MouthPart()

    def face(i: int) -> FaceFrame | None:
        if not track.present[i]:
            return None
        src = np.asarray(track.landmarks[i])
        return FaceFrame(i, src, _opened(src, 0.15), (), np.zeros(0, np.float32))

    part.prepare([ClipFaces(grid_analysis.info, track, face)])
    assert part.bank.frames_seen > 0  # no tracking pass showed it frames: it decoded them
    assert len(part.bank.candidates) > 0
    assert not part.notes()
    i = int(np.flatnonzero(track.present)[len(track.present) // 2])
    path = part.path_of(face(i))
    assert path is not None and path.weight[i] > 0 and path.choice[i] != DARK


@pytest.mark.slow
def test_an_edit_collects_the_bank_while_tracking(data_dir: Path, tmp_path: Path) -> None:
    from emodirector import EmotionTarget

    clip = data_dir / "videos" / "videoretalking_face2_man_mapbg_844x844_speech.mp4"
    renderer = WarpRenderer.from_options(RenderOptions(detail=False))
    result = edit_video(clip, tmp_path / "happy.mp4", EmotionTarget.from_label("happy", 1.0),
                        EditOptions(renderer=renderer))  # fmt: skip
    (part,) = [p for p in renderer.parts if isinstance(p, MouthPart)]
    # the tracking pass showed it every frame: no second decode
    assert part.bank.frames_seen == result.frames
    assert len(part.bank.candidates) > 0 and not result.notes
    (path,) = part.paths
    assert path.switches <= _MAX_SWITCH_RATE * result.frames


def test_no_interior_between_lips_the_input_shows_touching() -> None:
    # an edit that would part closed lips (the speech constraint keeps them closed): whatever
    # the edited lips do, nothing of an interior is drawn where the input's lips touch
    sources = [_landmarks(o) for o in _OPENINGS] + [_landmarks(0.0)] * 6
    targets = sources[: len(_OPENINGS)] + [_landmarks(0.3)] * 6
    part = _prepared(sources, targets)
    (path,) = part.paths
    assert (path.weight[len(_OPENINGS) :] == 0).all()
    frame = _yuv420(_image(sources[-3]))
    face = FaceFrame(len(sources) - 3, sources[-3], targets[-3], (), np.zeros(0, np.float32))
    assert not part.active(face)
    a = WarpRenderer().render(frame, face)
    b = WarpRenderer([part]).render(frame, face)
    assert a is not None and b is not None
    assert all(np.array_equal(p, q) for p, q in zip(a.planes, b.planes, strict=True))


def _middle_column(planes: tuple[np.ndarray, ...], roi: tuple[int, ...], lm: np.ndarray,
                   edge: int) -> np.ndarray:  # fmt: skip
    """Luma down the mouth's middle column between the inner lips of ``lm``, ``edge`` rows
    left off at each lip."""
    x0, y0 = roi[:2]
    col = int(round(float(lm[LIPS_INNER_UPPER[5], 0]))) - x0
    top = int(np.ceil(lm[LIPS_INNER_UPPER[5], 1])) - y0 + edge
    bottom = int(np.floor(lm[LIPS_INNER_LOWER[5], 1])) - y0 - edge
    return planes[0][top : bottom + 1, col - 2 : col + 3].astype(float).mean(axis=1)


def test_clenched_teeth_do_not_part_for_a_slightly_wider_opening() -> None:
    # the bank's mouth shows teeth from lip to lip (upper and lower bands meet); the edit
    # opens a little more than it: the lower piece follows, but no dark line opens between them
    lm = _landmarks(0.14)
    bank = MouthBank()
    bank.observe(0, _image(lm, lower_teeth=True), [lm])
    (cand,) = bank.candidates
    src, dst = _landmarks(_PARTED), _landmarks(0.14 + _SLIGHTLY_WIDER)
    frame = _yuv420(_image(src))
    field = warp_field(src, dst, (_W, _H))
    assert field is not None
    out = composite_mouth(field, warp_yuv420(frame, field), src, dst, cand, 1.0)
    teeth_y = cv2.cvtColor(np.uint8([[_TEETH]]), cv2.COLOR_RGB2YUV)[0, 0, 0]
    column = _middle_column(out, field.roi, dst, _EDGE_ROWS)
    assert column.min() >= teeth_y - _CLENCHED_DIP


def test_teeth_that_come_with_a_switch_show_at_once() -> None:
    # a switch from a dark interior to the actor's white teeth: the fade lays the dark one
    # over the teeth only where it is not much darker, so the teeth are not grey through it
    first, second = _landmarks(0.30), _landmarks(0.46)
    dark = (60, 55, 55)
    n = 8
    sources = [first, second] + [_landmarks(_PARTED)] * (2 * n)
    targets = [first, second] + [first] * n + [second] * n
    images = [_image(first, dark), _image(second)] + [_image(s) for s in sources[2:]]
    teeth = _teeth_across_a_switch(sources, targets, images)
    assert teeth[-1] - teeth[n - 1] > _SWITCH_JUMP
    # from the first frame of the switch on, the teeth are as bright as they settle
    assert min(teeth[n:]) >= teeth[-1] - _SWITCH_TOL


def test_no_dark_seam_where_the_crowns_fade_under_a_raised_lip() -> None:
    # the crowns fade out towards the raised lip over the warp; no cavity shows there, so
    # nothing between the lip and the teeth is darker than the lip
    _, dst, _, _, out_y, x0, y0 = _own_mouth_under_raised_lip(10.0, 0.25)
    mid = int(round(float(dst[LIPS_INNER_UPPER[5], 0]))) - x0
    top = int(np.floor(dst[LIPS_INNER_UPPER[5], 1])) - y0
    reach = int(np.ceil(CROWN_REACH * _SCALE))
    column = np.median(out_y[top - _EDGE_ROWS : top + reach, mid - 8 : mid + 8], axis=1)
    lip_y = cv2.cvtColor(np.uint8([[_LIP]]), cv2.COLOR_RGB2YUV)[0, 0, 0]
    assert column.min() >= lip_y - _SEAM_LEVELS


def _widened(lm: np.ndarray, factor: float) -> np.ndarray:
    """``lm`` with its lips stretched sideways by ``factor`` about the mouth's middle."""
    out = lm.copy()
    idx = [*LIPS_INNER_UPPER, *LIPS_INNER_LOWER, *LIPS_OUTER_UPPER, *LIPS_OUTER_LOWER]
    mid = lm[list(LIPS_INNER_UPPER), 0].mean()
    out[idx, 0] = mid + (lm[idx, 0] - mid) * factor
    return out


def test_no_interior_between_barely_parted_edited_lips() -> None:
    # parted lips a smile makes wider and a little more open, but still a slit: the warp's
    # slit stays (an interior drawn there read to dlib as an open mouth)
    n = len(_OPENINGS)
    src, dst = _landmarks(_PARTED), _widened(_landmarks(_BARELY), _WIDER)
    sources = [_landmarks(o) for o in _OPENINGS] + [src] * 8
    (path,) = _prepared(sources, sources[:n] + [dst] * 8).paths
    assert (path.weight[n:] == 0).all()
    # opened past the slit, the interior is drawn
    (path,) = _prepared(sources, sources[:n] + [_landmarks(0.22)] * 8).paths
    assert (path.weight[n + 3 :] == 1).all()


@pytest.mark.parametrize(("own", "edited"), [(0.14, 0.22), (0.22, 0.30), (0.30, 0.38)])
def test_a_frames_own_open_mouth_is_drawn_over_another_frames(own: float, edited: float) -> None:
    # the input's mouth is open and the edit opens it more; the bank holds the actor's other
    # mouths, none of the edited shape: the frame's own interior (its teeth as they part in the
    # speech) is drawn, not the nearest other frame's held over the frames
    bank = [o for o in _OPENINGS if abs(o - edited) > 0.01]
    sources = [_landmarks(o) for o in bank] + [_landmarks(own)] * 8
    targets = sources[: len(bank)] + [_landmarks(edited)] * 8
    (path,) = _prepared(sources, targets).paths
    assert (path.weight[len(bank) :] > 0).all()
    assert (path.choice[len(bank) :] == OWN).all()


def test_no_dark_notch_where_the_lower_piece_has_a_gap() -> None:
    # a candidate whose lower piece lacks a few columns (where its occlusal line meets the lower
    # lip): the cavity there ends where its neighbours' does, not run down through the lower
    # teeth as a dark notch
    lm = _landmarks(0.22)
    bank = MouthBank()
    bank.observe(0, _image(lm, lower_teeth=True), [lm])
    (cand,) = bank.candidates
    ppu = cand.px_per_unit
    centre, half = int(round(-CROP_BOX[0] * ppu)), int(round(_NOTCH * ppu))
    pieces = cand.pieces.copy()
    pieces[:, centre - half : centre + half + 1, 1] = 0
    cand = dataclasses.replace(cand, pieces=pieces)
    src, dst = _landmarks(_PARTED), _landmarks(0.30)
    x0, y0 = 140, 200
    layer, cover = draw_interior(cand, head_similarity(src), dst, (x0, y0, 340, 330), None)
    mid = int(round(float(dst[LIPS_INNER_UPPER[5], 0]))) - x0
    beside = mid - _BESIDE_PX
    # the rows where the column beside the gap shows the lower teeth
    lower_teeth = (cover[:, beside] > 0.5) & (layer[:, beside, 0] >= _TEETH_MIN_Y)
    lower_teeth[: int(dst[LIPS_INNER_UPPER[5], 1] + dst[LIPS_INNER_LOWER[5], 1]) // 2 - y0] = False
    assert lower_teeth.any()
    dark = (cover[:, mid] > 0.5) & (layer[:, mid, 0] < _DARK_MAX_Y)
    assert not (dark & lower_teeth).any()


def test_no_dark_stroke_down_from_the_line_between_clenched_teeth() -> None:
    # teeth from lip to lip (one colour: what is dark is the cavity's), parted by a line of
    # shadow; the upper piece runs a little past the lower one: the line is not continued down
    # those columns as a dark stroke
    lm = _landmarks(0.14)
    bank = MouthBank()
    bank.observe(0, _image(lm, lower_teeth=True), [lm])
    (cand,) = bank.candidates
    teeth = cv2.cvtColor(np.uint8([[_TEETH]]), cv2.COLOR_RGB2YUV)[0, 0]
    cols = np.flatnonzero((cand.pieces[..., 1] > 127).any(axis=0))
    pieces = cand.pieces.copy()
    pieces[:, : cols[0] + int(round(_NOTCH * cand.px_per_unit)), 1] = 0
    cand = dataclasses.replace(
        cand, crop=np.broadcast_to(teeth, cand.crop.shape).copy(), pieces=pieces
    )
    src, dst = _landmarks(_PARTED), _landmarks(0.14 + _LINE_GAIN)
    layer, cover = draw_interior(cand, head_similarity(src), dst, (140, 200, 340, 330), None)
    dark = (cover > 0.5) & (layer[..., 0] < _DARK_MAX_Y)
    assert dark.any()  # the line
    assert dark.sum(axis=0).max() <= _LINE_PX


def _cavity_shows(m_u: np.ndarray, m_l: np.ndarray) -> np.ndarray:
    """Where the cavity shows between an upper and a lower piece of these masks (a real
    candidate's colours, a lower piece of flat teeth)."""
    from emodirector.render.mouth import _cavity

    lm = _landmarks(0.22)
    bank = MouthBank()
    bank.observe(0, _image(lm, lower_teeth=True), [lm])
    (cand,) = bank.candidates
    return _cavity(cand, _flat_yuv(_TEETH, *m_u.shape), m_u, m_l)[1]


@pytest.mark.parametrize("lower_cols", [(25, 65), (20, 67)])
def test_no_dark_stroke_past_touching_pieces_from_a_crowns_rounded_corner(
    lower_cols: tuple[int, int],
) -> None:
    # the pieces touch along their whole common span (1 pixel apart) and the upper one's last
    # columns end higher (a crown's rounded corner), past the lower piece's end (the gap
    # measured to the floor carried over from it) or over it: that is no parting, so the cavity
    # is not run down those columns to the box's bottom (a dark stroke over the tongue,
    # feifeili's happy) nor on past the pieces towards the corners
    h, w, line = 60, 90, 30
    m_u, m_l = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
    m_u[10:line, 20:67] = 1.0
    m_u[line - _CORNER_RISE_PX :, 20:22] = 0.0
    m_l[line + 1 : 50, lower_cols[0] : lower_cols[1]] = 1.0
    shows = _cavity_shows(m_u, m_l)
    assert shows[: line + 2].any()  # the line between the pieces
    assert not shows[line + 2 :].any()
    assert not shows[:, :20].any() and not shows[:, 67:].any()


def test_past_the_lower_piece_the_cavity_runs_no_lower_than_it_reaches() -> None:
    # parted pieces, the upper one a few columns wider than the lower, in a box that reaches
    # far below them (a lower lip the edit pulled down): the cavity past the lower piece's end
    # runs down as far as that piece reaches, not on to the box's bottom as a dark stroke
    h, w, lowest = 80, 90, 46
    m_u, m_l = np.zeros((h, w), np.float32), np.zeros((h, w), np.float32)
    m_u[10:30, 20:67] = 1.0
    m_l[36 : lowest + 1, 24:65] = 1.0
    shows = _cavity_shows(m_u, m_l)
    assert shows[40:lowest, 20:24].all()  # the mouth's shadow beside the lower piece
    assert not shows[lowest + 1 :].any()


def test_a_thin_piece_s_crowns_draw_no_ticks() -> None:
    # a frame's own upper piece that is a thin sliver (solid in a few scattered columns only,
    # the rest of its mask a little under solid) under a raised lip: its crowns are soft across,
    # not a one-pixel tick up from each solid column
    from emodirector.render.mouth import _crowns

    h, w, top = 60, 120, 40
    upper = _flat_yuv(_TEETH, h, w)
    mask = np.zeros((h, w), np.float32)
    mask[top : top + 4, 20:100] = 0.9
    mask[top : top + 4, [50, 56, 62, 68]] = 1.0
    _, out = _crowns(upper, mask, _SCALE)
    crowns = out[: top - 1]
    assert crowns.max() > 0  # the crowns are drawn
    assert np.abs(np.diff(crowns, axis=1)).max() <= _CROWN_STEP


def _flat_yuv(rgb: tuple[int, int, int], h: int, w: int) -> np.ndarray:
    yuv = cv2.cvtColor(np.uint8([[rgb]]), cv2.COLOR_RGB2YUV)[0, 0].astype(np.float32)
    return np.broadcast_to(yuv, (h, w, 3)).copy()


#: A lower lip pulled down off clenched teeth (disgust's depression), the chin left, in pixels.
_DEPRESSED_PX = 9.0


def _lower_lip_depressed(
    opening: float, lower_teeth: bool
) -> tuple[np.ndarray, tuple[np.ndarray, ...], list[np.ndarray], tuple[int, int]]:
    """A mouth of ``opening`` whose lower lip the edit pulls ``_DEPRESSED_PX`` down in the
    middle, composited with the frame's own interior: the edited landmarks, the warped and the
    composited planes, and the warp's origin (x0, y0)."""
    _, dst, _, planes, out, origin = _own_mouth_with_lip_moved(
        opening, (LIPS_INNER_LOWER, LIPS_OUTER_LOWER), _DEPRESSED_PX, 0.25, lower_teeth
    )
    return dst, planes, out, origin


def test_a_lower_lip_pulled_down_off_clenched_teeth_opens_no_dark_band() -> None:
    # the lower teeth stay with the jaw (the chin), which does not move: the pieces stay
    # together and the lip uncovers more of the lower teeth (moved with the lip, they parted
    # from the upper ones by a band of cavity: GRID's woman, disgusted)
    dst, _, out, (x0, y0) = _lower_lip_depressed(0.2, lower_teeth=True)
    mid = int(round(float(dst[LIPS_INNER_LOWER[5], 0]))) - x0
    top = int(np.ceil(dst[LIPS_INNER_UPPER[5], 1])) - y0
    lip = int(np.floor(dst[LIPS_INNER_LOWER[5], 1])) - y0
    column = np.median(out[0][top + _EDGE_ROWS : lip - _EDGE_ROWS, mid - 8 : mid + 8], axis=1)
    assert column.size and column.min() > _DARK_MAX_Y


#: A frame whose own mouth shows its teeth (largest gap over width), and a smile that makes it
#: wider and a little less open: the edited gap is then under the slit's share of the width.
_OWN_TEETH = 0.20
_SMILE_GAP = 0.12
_SMILE_WIDTH = 1.3


def test_a_frames_own_teeth_are_drawn_in_a_smile_that_thins_its_opening() -> None:
    # the input shows its teeth; the smile widens the mouth so much that its gap is a slit's
    # share of the width: the frame's own interior is drawn (the warp's dark slit stayed)
    n = len(_OPENINGS)
    src, dst = _landmarks(_OWN_TEETH), _widened(_landmarks(_SMILE_GAP), _SMILE_WIDTH)
    assert _shape(dst).open_fraction < DRAW_OPEN[0]
    sources = [_landmarks(o) for o in _OPENINGS] + [src] * 8
    (path,) = _prepared(sources, sources[:n] + [dst] * 8).paths
    assert (path.weight[n + 3 :] == 1).all()
    assert (path.choice[n:][path.weight[n:] > 0] == OWN).all()


#: An upper lip raised this far (pixels) in the middle only: past ``CROWN_REACH`` there, short
#: of ``CROWN_MAX``; the rows under it looked at, from this far above the teeth's top.
_PEAK_RAISE_PX = 26.0
_ABOVE_REACH_PX = (19, 24)


def test_the_crowns_reach_a_lip_raised_past_their_reach_in_one_place() -> None:
    # a smile raises the lip more in one place than on average (the teeth stay with the head):
    # the crowns go on up to it there, not the warp's dark lip edge between (styletalk's happy)
    src, dst, frame, _, out_y, x0, y0 = _own_mouth_under_raised_lip(_PEAK_RAISE_PX, 6)
    mid = int(round(float(src[LIPS_INNER_UPPER[5], 0]))) - x0
    teeth = _teeth_rows(frame[:_H][y0:, x0:], slice(mid - 3, mid + 4))
    assert teeth.size
    assert CROWN_REACH * _SCALE < _ABOVE_REACH_PX[0] < _ABOVE_REACH_PX[1] < _PEAK_RAISE_PX
    rows = slice(int(teeth.min()) - _ABOVE_REACH_PX[1], int(teeth.min()) - _ABOVE_REACH_PX[0])
    assert np.median(out_y[rows, mid - 3 : mid + 4]) > _CROWN_MIN_Y


#: A talker whose tracked chin moves this share of the lower lip's move in speech, and how close
#: the prepared path's measure of it must come.
_CHIN_SHARE = 0.5
_JAW_TOL = 0.05


def test_the_jaw_is_measured_from_the_clips_own_speech() -> None:
    # the tracker reads the chin moving less than the lower lip (0.33-1.1 on the shared clips):
    # an edit moving the chin that share of the lip moves the jaw with the lip, no depression
    sources = []
    for o in _OPENINGS:
        lm = _landmarks(o)
        # the chin follows the lower lip's mean move (its middle nine points), at that share
        lip = (
            lm[list(LIPS_INNER_LOWER)[1:-1], 1].mean()
            - _landmarks(0.0)[list(LIPS_INNER_LOWER)[1:-1], 1].mean()
        )
        lm[CHIN, 1] = _landmarks(0.0)[CHIN, 1] + _CHIN_SHARE * lip
        sources.append(lm)
    (path,) = _prepared(sources, sources).paths
    assert abs(path.jaw - _CHIN_SHARE) < _JAW_TOL


def test_a_lower_lip_pulled_down_off_no_lower_teeth_keeps_the_warp() -> None:
    # no lower teeth show (cavity down to the lip): nothing is continued down under the lower
    # piece, the warp moves the lip's own edge (a tongue continued down drew a pale sheet)
    dst, planes, out, (x0, y0) = _lower_lip_depressed(0.3, lower_teeth=False)
    mid = int(round(float(dst[LIPS_INNER_LOWER[5], 0]))) - x0
    lip = int(np.floor(dst[LIPS_INNER_LOWER[5], 1])) - y0
    rows = slice(lip - int(_DEPRESSED_PX) + _EDGE_ROWS, lip - _EDGE_ROWS)
    kept = out[0][rows, mid - 8 : mid + 8].astype(int) - planes[0][rows, mid - 8 : mid + 8]
    assert kept.size and np.abs(kept).max() <= _KEPT_LEVELS
