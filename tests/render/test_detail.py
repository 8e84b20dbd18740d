"""Expression detail: the texture layout, the ratio images, their application and calibration."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from emodirector.calibrate.detail import calibrate_detail
from emodirector.calibrate.prototypes import LabeledFit
from emodirector.errors import InvalidOptionError
from emodirector.face_model import (
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LIPS_INNER_LOWER,
    LIPS_INNER_UPPER,
    load_face_model,
)
from emodirector.manipulate.emotions import Emotion
from emodirector.render.detail import (
    MAX_LOG_RATIO,
    REGION_NAMES,
    ExpressionDetail,
    apply_detail,
    detail_mask,
    mix_detail,
    region_masks,
)
from emodirector.render.renderer import DetailPart, FaceFrame
from emodirector.render.texture import TEXTURE_SIZE, default_layout, unwrap
from emodirector.render.warp import warp_field
from tests.conftest import MeadFits

#: Pixel error allowed when a linear ramp is unwrapped and read back (bilinear sampling).
RAMP_TOLERANCE = 0.6
#: How much more detail a frown puts between the brows than a smile or surprise does (measured
#: 2.9x: angry 0.67 and disgusted 0.59 against surprise's 0.23, gradient energy).
FROWN_CONTRAST = 2.5
#: How much more the surprised forehead's ratio varies along y than along x (horizontal lines).
LINES_ANISOTROPY = 3.0
#: Relative luminance change allowed where the ratio is 1 (rounding to 8 bits).
ROUNDING = 1.0
#: Grey levels (of 120) the packaged frown darkens some pixel between the brows by, at least.
FROWN_DARKENS = 10


def _face(scale: float = 100.0, centre: tuple[float, float] = (200.0, 210.0)) -> np.ndarray:
    """``(478, 3)`` landmark pixels: the template scaled and moved into a 400x420 frame."""
    t = load_face_model().template.astype(np.float64)
    pts = t * scale
    pts[:, 0] += centre[0]
    pts[:, 1] += centre[1]
    return pts


def _gradient_energy(image: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """Energy of horizontal and vertical differences inside ``mask``."""
    gx = np.diff(image, axis=1)[:-1, :] * mask[:-1, :-1]
    gy = np.diff(image, axis=0)[:, :-1] * mask[:-1, :-1]
    return float((gx**2).sum()), float((gy**2).sum())


def test_unwrap_is_the_affine_map_of_a_frontal_face() -> None:
    """A frontal face is an affine copy of the template: its unwrap is that affine map."""
    scale, cx = 100.0, 200.0
    xs = np.tile(np.arange(400, dtype=np.float32), (420, 1))
    texture, valid = unwrap(xs, _face(scale, (cx, 210.0)))
    layout = default_layout()
    # layout pixel u -> canonical x -> frame x
    origin = layout.to_layout(np.zeros((1, 2)))[0, 0]
    per_unit = layout.to_layout(np.ones((1, 2)))[0, 0] - origin
    canon = (np.arange(TEXTURE_SIZE, dtype=np.float64) - origin) / per_unit
    expected = np.tile(cx + scale * canon, (TEXTURE_SIZE, 1))
    inside = valid & (detail_mask() > 0.5)
    assert inside.sum() > 0.3 * TEXTURE_SIZE**2
    assert np.abs(texture[inside] - expected[inside]).max() < RAMP_TOLERANCE


def test_warp_texture_coordinates_put_landmarks_at_their_layout_position() -> None:
    src = _face()
    dst = src.copy()
    dst[:, 1] += 3.0  # the whole face moves down by 3 px
    layout = default_layout()
    field = warp_field(src, dst, (400, 420), step=2, texture_vertices=layout.vertices)
    assert field is not None and field.texture is not None
    x0, y0, _, _ = field.roi
    for i in (1, 10, 152, 33, 263):  # nose tip, forehead, chin, eye corners
        px, py = int(round(dst[i, 0])) - x0, int(round(dst[i, 1])) - y0
        got = field.texture[py, px]
        # within a layout pixel: the landmark was rounded to the nearest frame pixel
        assert np.abs(got - layout.vertices[i]).max() < 1.0, (i, got)


def test_detail_mask_excludes_eyes_and_lips_and_regions_sum_to_it() -> None:
    mask = detail_mask()
    layout = default_layout()
    eye_centre = layout.vertices[list(LEFT_EYE_UPPER + LEFT_EYE_LOWER)].mean(axis=0)
    mouth_centre = layout.vertices[list(LIPS_INNER_UPPER + LIPS_INNER_LOWER)].mean(axis=0)
    for x, y in (eye_centre, mouth_centre):
        assert mask[int(round(y)), int(round(x))] == 0.0
    nose_tip = layout.vertices[1]  # skin: detail allowed
    assert mask[int(round(nose_tip[1])), int(round(nose_tip[0]))] > 0.9
    masks = region_masks()
    assert masks.shape == (len(REGION_NAMES), TEXTURE_SIZE, TEXTURE_SIZE)
    np.testing.assert_allclose(masks.sum(axis=0), mask, atol=1e-4)


def test_apply_detail_multiplies_luminance_on_the_face_only() -> None:
    src = _face()
    layout = default_layout()
    field = warp_field(src, src, (400, 420), texture_vertices=layout.vertices)
    assert field is not None
    x0, y0, x1, y1 = field.roi
    y = np.full((y1 - y0, x1 - x0), 100, np.uint8)
    assert np.array_equal(apply_detail(y, field, np.zeros((TEXTURE_SIZE,) * 2, np.float32)), y)
    ratio = (np.log(1.2) * detail_mask()).astype(np.float32)
    out = apply_detail(y, field, ratio).astype(np.float64)
    nose = src[1, :2].round().astype(int) - (x0, y0)
    assert abs(out[nose[1], nose[0]] - 120.0) <= ROUNDING
    assert np.array_equal(out[0], y[0].astype(np.float64))  # the roi's edge: off the face
    with pytest.raises(ValueError, match="texture"):
        apply_detail(y, dataclasses.replace(field, texture=None), ratio)


def test_mix_detail_is_linear_and_clamped() -> None:
    maps = np.zeros((2, 4, 4), np.float32)
    maps[0] = 0.1
    maps[1] = -0.2
    np.testing.assert_allclose(mix_detail(maps, np.array([1.0, 0.5])), 0.0, atol=1e-7)
    np.testing.assert_allclose(mix_detail(maps, np.array([-1.0, 0.0])), -0.1, atol=1e-7)
    assert mix_detail(maps, np.array([100.0, 0.0])).max() == pytest.approx(MAX_LOG_RATIO)


def test_detail_is_added_for_an_emotion_never_divided_out() -> None:
    # a negative weight (the actor's own anger taken away) divided the frown's lines out of a
    # face that need not have them, and left light blotches: the renderer applies none
    src = _face()
    field = warp_field(src, src, (400, 420), texture_vertices=default_layout().vertices)
    assert field is not None
    x0, y0, x1, y1 = field.roi
    y = np.full((y1 - y0, x1 - x0), 120, np.uint8)
    uv = np.full(((y1 - y0) // 2, (x1 - x0) // 2), 128, np.uint8)
    part = DetailPart()
    taken = FaceFrame(0, src, src, ("angry", "sad"), np.array([-1.0, 0.0], np.float32))
    assert not part.active(taken)
    assert np.array_equal(part.apply(y, field, (y, uv, uv), taken)[0], y)
    mixed = FaceFrame(0, src, src, ("angry", "sad"), np.array([1.0, -1.0], np.float32))
    alone = FaceFrame(0, src, src, ("angry", "sad"), np.array([1.0, 0.0], np.float32))
    out = part.apply(y, field, (y, uv, uv), mixed)[0]
    assert np.array_equal(out, part.apply(y, field, (y, uv, uv), alone)[0])
    assert int(out.min()) <= 120 - FROWN_DARKENS


def test_save_load_round_trip(tmp_path: Path) -> None:
    d = ExpressionDetail.load_default()
    d.save(tmp_path / "d.npz")
    back = ExpressionDetail.load(tmp_path / "d.npz")
    assert back.names == d.names and back.actors == d.actors
    np.testing.assert_allclose(back.log_ratio, d.log_ratio, atol=1e-3)
    assert np.array_equal(d.for_modes(("blink",)), np.zeros((1, d.size, d.size), np.float32))


def test_packaged_detail_has_the_expected_wrinkles() -> None:
    """Anger and disgust furrow between the brows; surprise lines the forehead horizontally."""
    d = ExpressionDetail.load_default()
    assert set(d.names) == {"happy", "sad", "angry", "surprised", "fearful", "disgusted"}
    assert len(d.actors) == 3
    masks = dict(zip(REGION_NAMES, region_masks(d.size), strict=True))

    def energy(name: str, region: str) -> tuple[float, float]:
        return _gradient_energy(d.maps[d.names.index(name)], masks[region])

    smooth_brow = max(sum(energy("happy", "glabella")), sum(energy("surprised", "glabella")))
    for frowning in ("angry", "disgusted"):
        assert sum(energy(frowning, "glabella")) > FROWN_CONTRAST * smooth_brow
    gx, gy = energy("surprised", "forehead")
    assert gy > LINES_ANISOTROPY * gx  # horizontal lines: the ratio changes along y
    # lips and eyes carry none
    assert np.abs(d.maps[:, detail_mask(d.size) == 0]).max() == 0.0


#: Largest region gain when a single actor is calibrated (nothing is lost to combining).
ONE_ACTOR_GAIN_MAX = 1.5
#: One actor's angry ratio against the shipped three-actor combination, between the brows
#: (Pearson r): the same furrow, though the median of three is not any one actor's.
SAME_FROWN_R_MIN = 0.3


@pytest.fixture(scope="module")
def m030_angry(mead_fits: MeadFits) -> list[LabeledFit]:
    return mead_fits(("M030",), (Emotion.NEUTRAL, Emotion.ANGRY))


def test_calibrate_detail_of_one_actor(m030_angry: list[LabeledFit]) -> None:
    detail = calibrate_detail(m030_angry)
    assert detail.names == ("angry",) and detail.actors == ("M030",)
    # one actor: the gains only restore what the final smoothing took off; the nose is not
    # carried over for anger
    nose = REGION_NAMES.index("nose")
    assert detail.region_gains[0, nose] == 0.0
    kept = np.delete(detail.region_gains, nose, axis=1)
    assert kept.min() >= 1.0 and kept.max() < ONE_ACTOR_GAIN_MAX
    shipped = ExpressionDetail.load_default()
    glabella = region_masks()[REGION_NAMES.index("glabella")] > 0.5
    a = detail.maps[0][glabella]
    b = shipped.maps[shipped.names.index("angry")][glabella]
    assert np.corrcoef(a, b)[0, 1] > SAME_FROWN_R_MIN


def test_calibrate_detail_needs_a_neutral_take(m030_angry: list[LabeledFit]) -> None:
    angry_only = [f for f in m030_angry if f.clip.emotion is Emotion.ANGRY]
    with pytest.raises(InvalidOptionError, match="neutral"):
        calibrate_detail(angry_only)


def test_action_units_take_their_region_of_an_emotions_detail() -> None:
    d = ExpressionDetail.load_default()
    au4, au5 = d.for_modes(("AU04", "AU05"))
    assert not au5.any()  # a lid motion: no skin detail
    glabella = region_masks(d.size)[REGION_NAMES.index("glabella")]
    angry = d.maps[d.names.index("angry")]
    assert np.abs(au4[glabella < 1e-3]).max() < 1e-3  # (almost) nothing outside its region
    core = glabella > 0.99
    np.testing.assert_allclose(au4[core], angry[core], rtol=0.02, atol=1e-3)
