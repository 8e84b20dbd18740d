"""Glasses frames kept rigid over the mesh warp (emodirector.render.glasses, GlassesPart)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from emodirector.blend.composite import composite_yuv420
from emodirector.face_model import load_face_model
from emodirector.render.glasses import (
    BRIDGE_SCORE,
    EyeAxes,
    GlassesKeeper,
    bridge_score,
    glasses_mask,
)
from emodirector.render.renderer import FaceFrame, GlassesPart, RenderOptions, WarpRenderer
from emodirector.track.tracker import FaceTracker
from emodirector.video.reader import iter_frames, probe

_W, _H = 480, 480
#: Template-to-pixel scale of the synthetic face (its eyes are about 140 px apart).
_SCALE = 110.0
_SKIN_Y = 160
_RIM_Y = 40
_RIM_PX = 3
#: The cheeks rise by up to this (pixels) under each eye, most below its centre.
_CHEEK_LIFT_PX = 9.0
#: Straight-line residual (RMS, pixels) of the lower rim with the part, and the least without.
_STRAIGHT_PX = 0.5
_BENT_PX = 1.5
#: A frown larger than the old damping band (0.15 eye distances, about 21 px here), pixels, and
#: the most rim-dark pixels it may leave inside the lens (measured 0; the damped warp drew a
#: second rim there).
_FROWN_PX = 30.0
_SECOND_RIM_PX = 5
#: Mean luma change inside the lens under that frown (the skin's texture moved; measured 2.3).
_LENS_MOVED = 1.0
#: How far (levels) a filled rim may end from the flat skin around it.
_FILL_LEVELS = 2

#: Real clip: least share of the mask's box that is surely frame (measured 0.089-0.095), and
#: the least mean luma change the plain warp makes there with the cheeks lifted 12 px (7.3-7.7).
_MIN_FRAME_SHARE = 0.04
_MOVED_LEVELS = 4.0

_GLASSES_CLIP = "videos/liveportrait_d13_man_glasses_720x1280_talking_noaudio.mp4"
#: Frames sampled per clip for the decision.
_FRAMES = (0, 12, 24)


def _landmarks() -> np.ndarray:
    tpl = load_face_model().template.astype(np.float64)
    return (tpl * _SCALE + np.array([_W / 2, _H / 2 + 20, 0.0])).astype(np.float32)


def _lifted(src: np.ndarray, lift: float = _CHEEK_LIFT_PX) -> np.ndarray:
    """The landmarks with the cheeks raised by up to ``lift`` pixels: most under each eye's
    centre, none at the rims' ends, so a rim drawn on the skin bends."""
    axes = EyeAxes.of(src)
    dst = src.copy()
    eye_y = axes.middle[1]
    for side in (-0.5, 0.5):
        cx = axes.middle[0] + side * axes.distance
        dx = (src[:, 0] - cx) / (0.22 * axes.distance)
        dy = (src[:, 1] - (eye_y + 0.45 * axes.distance)) / (0.35 * axes.distance)
        dst[:, 1] -= lift * np.exp(-(dx**2) - dy**2)
    return dst


def _lower_rim_y(axes: EyeAxes) -> int:
    return round(axes.middle[1] + 0.32 * axes.distance)


def _frame(src: np.ndarray, glasses: bool) -> np.ndarray:
    """A yuv420p frame of textured skin and, if asked, a pair of dark rectangular rims joined
    by a bridge at the eye line."""
    rng = np.random.default_rng(7)
    noise = cv2.GaussianBlur(rng.normal(0, 12, (_H, _W)).astype(np.float32), (0, 0), 1.5)
    y = np.clip(_SKIN_Y + noise, 0, 255).astype(np.uint8)
    axes = EyeAxes.of(src)
    if glasses:
        d = axes.distance
        top, bottom = round(axes.middle[1] - 0.22 * d), _lower_rim_y(axes)
        inner = []
        for side in (-0.5, 0.5):
            cx = axes.middle[0] + side * d
            x0, x1 = round(cx - 0.4 * d), round(cx + 0.4 * d)
            cv2.rectangle(y, (x0, top), (x1, bottom), _RIM_Y, _RIM_PX)
            inner.append(x1 if side < 0 else x0)
        bridge_y = round(axes.middle[1] - 0.05 * d)
        cv2.line(y, (inner[0], bridge_y), (inner[1], bridge_y), _RIM_Y, _RIM_PX)
    chroma = np.full((_H // 2, _W), 128, np.uint8)
    return np.concatenate([y, chroma])


def _face(src: np.ndarray, index: int = 0) -> FaceFrame:
    return FaceFrame(index, src, _lifted(src), (), np.zeros(0, np.float32))


def _rim_residual(frame: np.ndarray, axes: EyeAxes) -> float:
    """RMS distance (pixels) of the lower rim of the subject's right lens from a fitted line:
    its darkest row per column (sub-pixel, by the centroid of darkness) over the middle of
    the lens."""
    cx = axes.middle[0] - 0.5 * axes.distance
    cols = np.arange(round(cx - 0.3 * axes.distance), round(cx + 0.3 * axes.distance))
    row0 = _lower_rim_y(axes) - 16
    window = frame[row0 : row0 + 32, cols].astype(np.float64)
    dark = np.clip(_SKIN_Y - 30 - window, 0, None)
    rows = (dark * np.arange(32)[:, None]).sum(axis=0) / np.maximum(dark.sum(axis=0), 1e-9)
    fit = np.polyval(np.polyfit(cols, rows, 1), cols)
    return float(np.sqrt(np.mean((rows - fit) ** 2)))


def _render(renderer: WarpRenderer, frame: np.ndarray, face: FaceFrame) -> np.ndarray:
    rendered = renderer.render(frame, face)
    assert rendered is not None
    return composite_yuv420(frame, rendered.field, rendered.planes)


def test_rim_stays_straight_with_the_part_and_bends_without() -> None:
    src = _landmarks()
    frame = _frame(src, glasses=True)
    face = _face(src)
    axes = EyeAxes.of(src)
    assert bridge_score(frame[:_H], src) > BRIDGE_SCORE
    kept = _render(WarpRenderer([GlassesPart()]), frame, face)
    bent = _render(WarpRenderer([]), frame, face)
    assert _rim_residual(frame, axes) < _STRAIGHT_PX  # the drawn rim is straight
    assert _rim_residual(bent[:_H], axes) > _BENT_PX
    assert _rim_residual(kept[:_H], axes) < _STRAIGHT_PX
    # the skin inside the lens still rises: the edit is kept away from the rim
    cx = round(axes.middle[0] - 0.5 * axes.distance)
    below_eye = (slice(round(axes.middle[1] + 0.08 * axes.distance), _lower_rim_y(axes) - 12),
                 slice(cx - 5, cx + 5))  # fmt: skip
    assert np.abs(kept[below_eye].astype(int) - frame[below_eye]).mean() > 2.0


def _lowered(src: np.ndarray, drop: float) -> np.ndarray:
    """The landmarks with the brows and upper lids lowered by up to ``drop`` pixels, most at
    each lens's top rim: a frown that carries the skin above the rims down behind them."""
    axes = EyeAxes.of(src)
    dst = src.copy()
    for side in (-0.5, 0.5):
        cx = axes.middle[0] + side * axes.distance
        dx = (src[:, 0] - cx) / (0.3 * axes.distance)
        dy = (src[:, 1] - (axes.middle[1] - 0.22 * axes.distance)) / (0.3 * axes.distance)
        dst[:, 1] += drop * np.exp(-(dx**2) - dy**2)
    return dst


def test_a_frown_larger_than_the_rims_room_draws_no_second_rim() -> None:
    # the skin above each top rim moves down into the lens by more than a fifth of the eye
    # distance: it passes behind the rim, and nothing of the rim is carried along with it
    src = _landmarks()
    frame = _frame(src, glasses=True)
    axes = EyeAxes.of(src)
    face = FaceFrame(0, src, _lowered(src, _FROWN_PX), (), np.zeros(0, np.float32))
    out = _render(WarpRenderer([GlassesPart()]), frame, face)[:_H]
    top = round(axes.middle[1] - 0.22 * axes.distance)
    cx = round(axes.middle[0] - 0.5 * axes.distance)
    # inside the lens, from below the top rim to the eye line, away from the side rims
    lens = (slice(top + _RIM_PX + 2, round(axes.middle[1])),
            slice(cx - round(0.3 * axes.distance), cx + round(0.3 * axes.distance)))  # fmt: skip
    rim_dark = (_SKIN_Y + _RIM_Y) / 2
    assert (frame[:_H][lens] < rim_dark).sum() == 0  # the input's lens shows skin only
    assert (out[lens] < rim_dark).sum() <= _SECOND_RIM_PX
    assert np.abs(out[lens].astype(int) - frame[:_H][lens]).mean() > _LENS_MOVED  # it moved
    assert _rim_residual(out, axes) < _STRAIGHT_PX


@pytest.mark.parametrize("rows", [16, 64])
def test_the_filled_frame_takes_the_skin_around_it_in_a_box_of_any_height(rows: int) -> None:
    # a rim across a box cut short (the roi at the edge of the picture): every plane, the
    # chroma at half the rows included, is filled with the skin's colour, not a dark stroke
    from emodirector.render.glasses import GlassesMask, fill_frame

    skin, rim = (160, 100, 150), (40, 128, 128)
    frame = np.concatenate([np.full((_H, _W), skin[0], np.uint8),
                            np.full((_H // 4, _W), skin[1], np.uint8),
                            np.full((_H // 4, _W), skin[2], np.uint8)])  # fmt: skip
    x0, y0 = 100, 200
    alpha = np.zeros((rows, 120), np.float32)
    alpha[rows // 2 - 2 : rows // 2 + 3] = 1.0
    line = slice(y0 + rows // 2 - 2, y0 + rows // 2 + 3)
    frame[line, x0 : x0 + 120] = rim[0]
    chroma = frame[_H:].reshape(2, _H // 2, _W // 2)
    for k in range(2):
        chroma[k, line.start // 2 : line.stop // 2, x0 // 2 : (x0 + 120) // 2] = rim[k + 1]
    before = frame.copy()
    out = fill_frame(frame, GlassesMask(box=(x0, y0, x0 + 120, y0 + rows), alpha=alpha))
    assert np.array_equal(frame, before)  # a copy
    assert np.abs(out[line, x0 : x0 + 120].astype(int) - skin[0]).max() <= _FILL_LEVELS
    filled = out[_H:].reshape(2, _H // 2, _W // 2)
    for k in range(2):
        got = filled[k, line.start // 2 : line.stop // 2, x0 // 2 : (x0 + 120) // 2]
        assert np.abs(got.astype(int) - skin[k + 1]).max() <= _FILL_LEVELS


def test_the_rim_wins_over_every_other_part() -> None:
    src = _landmarks()
    frame = _frame(src, glasses=True)
    face = _face(src)
    out = _render(WarpRenderer.from_options(RenderOptions(mouth=False)), frame, face)
    assert isinstance(WarpRenderer.from_options().parts[-1], GlassesPart)
    assert _rim_residual(out[:_H], EyeAxes.of(src)) < _STRAIGHT_PX


def test_pixels_outside_the_face_and_the_frame_are_unchanged() -> None:
    src = _landmarks()
    frame = _frame(src, glasses=True)
    face = _face(src)
    part = GlassesPart()
    rendered = WarpRenderer([part]).render(frame, face)
    plain = WarpRenderer([]).render(frame, face)
    assert rendered is not None and plain is not None
    out = composite_yuv420(frame, rendered.field, rendered.planes)
    x0, y0, x1, y1 = rendered.field.roi
    outside = np.ones((_H, _W), bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(out[:_H][outside], frame[:_H][outside])
    # only the glasses box differs from the plain warp (the cheeks rise away from the box: no
    # pixel outside it samples the glasses filled in inside it)
    mask = part.keeper.mask(0, frame, src, rendered.field.roi)
    assert mask is not None
    bx0, by0, bx1, by1 = mask.box
    differs = np.any(rendered.planes[0] != plain.planes[0], axis=None)
    assert differs
    away = np.ones(rendered.planes[0].shape, bool)
    away[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0] = False
    assert np.array_equal(rendered.planes[0][away], plain.planes[0][away])


def test_a_face_without_glasses_is_left_to_the_warp() -> None:
    src = _landmarks()
    frame = _frame(src, glasses=False)
    assert bridge_score(frame[:_H], src) < BRIDGE_SCORE / 2
    part = GlassesPart()
    renderer, plain = WarpRenderer([part]), WarpRenderer([])
    for index in range(12):
        face = _face(src, index)
        got, want = renderer.render(frame, face), plain.render(frame, face)
        assert got is not None and want is not None
        assert all(np.array_equal(a, b) for a, b in zip(got.planes, want.planes, strict=True))
    assert part.keeper.decided and not part.active(_face(src, 12))


def test_a_new_clip_starts_a_new_decision() -> None:
    src = _landmarks()
    keeper = GlassesKeeper()
    bare, worn = _frame(src, glasses=False), _frame(src, glasses=True)
    roi = (0, 0, _W, _H)
    for index in range(10):
        assert keeper.mask(index, bare, src, roi) is None
    assert not keeper.active(10)
    assert keeper.active(0)  # an earlier frame: another clip
    assert keeper.mask(0, worn, src, roi) is not None


def test_a_rim_fading_on_one_frame_is_remembered() -> None:
    """A piece of the lower rim lost on one frame (the light on it): the recent frames' grid
    still covers it; the frame alone does not."""
    src = _landmarks()
    axes = EyeAxes.of(src)
    worn = _frame(src, glasses=True)
    faded = worn.copy()
    cx, rim_y = round(axes.middle[0] - 0.5 * axes.distance), _lower_rim_y(axes)
    faded[rim_y - 4 : rim_y + 5, cx - 20 : cx + 20] = _SKIN_Y
    keeper = GlassesKeeper()
    roi = (0, 0, _W, _H)
    for index in range(6):
        assert keeper.mask(index, worn, src, roi) is not None
    remembered = keeper.mask(6, faded, src, roi)
    alone = glasses_mask(faded[:_H], src, roi)
    assert remembered is not None and alone is not None
    for mask, covered in ((remembered, True), (alone, False)):
        x0, y0 = mask.box[:2]
        assert (mask.alpha[rim_y - y0, cx - x0] > 0.5) == covered


@pytest.mark.slow
def test_the_real_frame_stays_where_it_was(data_dir: Path, tracker: FaceTracker) -> None:
    """The clip in glasses, cheeks lifted under each eye on its first frames: where the part
    found the frame, the output is the original frame; the plain warp moves those pixels."""
    path = data_dir / _GLASSES_CLIP
    if not path.is_file():
        pytest.skip(f"{_GLASSES_CLIP} is missing from {data_dir}")
    part = GlassesPart()
    with_part, plain = WarpRenderer([part]), WarpRenderer([])
    for frame in iter_frames(probe(path), "yuv420p"):
        if frame.index >= 4:
            break
        image = frame.image
        h = image.shape[0] * 2 // 3
        faces = tracker.detect_image(cv2.cvtColor(image, cv2.COLOR_YUV2RGB_I420))
        src = faces[0]
        face = FaceFrame(frame.index, src, _lifted(src, lift=12.0), (), np.zeros(0, np.float32))
        kept, bent = _render(with_part, image, face), _render(plain, image, face)
        mask = part.keeper.mask(frame.index, image, src, (0, 0, image.shape[1], h))
        assert mask is not None
        x0, y0, x1, y1 = mask.box
        on_frame = mask.alpha > 0.99
        original = image[y0:y1, x0:x1][on_frame].astype(int)
        assert on_frame.mean() > _MIN_FRAME_SHARE
        assert np.abs(kept[y0:y1, x0:x1][on_frame] - original).max() <= 1
        assert np.abs(bent[y0:y1, x0:x1][on_frame] - original).mean() > _MOVED_LEVELS


def _clip_score(path: Path, tracker: FaceTracker) -> float:
    info = probe(path)
    scores = []
    for frame in iter_frames(info, "yuv420p"):
        if frame.index > max(_FRAMES):
            break
        if frame.index in _FRAMES:
            faces = tracker.detect_image(cv2.cvtColor(frame.image, cv2.COLOR_YUV2RGB_I420))
            if faces:
                scores.append(bridge_score(frame.image[: frame.image.shape[0] * 2 // 3], faces[0]))
    assert scores, f"no face found in {path.name}"
    return float(np.median(scores))


def _photo_score(path: Path, tracker: FaceTracker) -> float:
    bgr = cv2.imread(str(path))
    faces = tracker.detect_image(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    assert faces, f"no face found in {path.name}"
    return bridge_score(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), faces[0])


@pytest.fixture(scope="module")
def tracker() -> FaceTracker:
    with FaceTracker() as t:
        yield t


def test_detection_on_real_footage_fast(data_dir: Path, tracker: FaceTracker) -> None:
    """The clip in glasses, and the strongest look-alikes without: MEAD's M030 acting disgust
    (horizontal wrinkles between the brows) and an angry reference photo of him."""
    glasses = data_dir / _GLASSES_CLIP
    if not glasses.is_file():
        pytest.skip(f"{_GLASSES_CLIP} is missing from {data_dir}")
    assert _clip_score(glasses, tracker) > BRIDGE_SCORE
    disgust = data_dir / "labeled/mead/M030_front_disgusted_level3_001.mp4"
    if disgust.is_file():
        assert _clip_score(disgust, tracker) < BRIDGE_SCORE
    for photo in sorted((data_dir / "references").glob("angry__mead_M030*")):
        assert _photo_score(photo, tracker) < BRIDGE_SCORE


@pytest.mark.slow
def test_detection_on_every_clip_and_photo(data_dir: Path, tracker: FaceTracker) -> None:
    clips = sorted(
        p
        for folder in ("videos", "labeled/mead")
        for p in (data_dir / folder).iterdir()
        if p.suffix in (".mp4", ".mpg")
    )
    photos = sorted(p for p in (data_dir / "references").iterdir() if p.suffix in (".png", ".jpg"))
    assert len(clips) > 10 and len(photos) > 10
    wrong = [
        (p.name, round(s, 1))
        for p, s in [(c, _clip_score(c, tracker)) for c in clips]
        + [(p, _photo_score(p, tracker)) for p in photos]
        if (s > BRIDGE_SCORE) != ("glasses" in p.name)
    ]
    assert not wrong


def test_the_command_line_turns_the_part_off() -> None:
    from emodirector.cli import edit_options, parse_edit

    argv = ["in.mp4", "-o", "out.mp4", "--emotion", "happy"]
    on = WarpRenderer.from_options(edit_options(parse_edit(argv)).render)
    off = WarpRenderer.from_options(edit_options(parse_edit([*argv, "--no-glasses"])).render)
    assert isinstance(on.parts[-1], GlassesPart)
    assert not any(isinstance(p, GlassesPart) for p in off.parts)
