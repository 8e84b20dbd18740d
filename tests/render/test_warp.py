"""Mesh-guided dense warp (emodirector.render.warp)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from emodirector.blend import composite_yuv420
from emodirector.face_model import FACE_OVAL, load_face_model
from emodirector.render import WarpField, anchor_ring, warp_field, warp_yuv420

_W, _H = 320, 320
#: A translation by whole pixels (even, so that the chroma planes move by whole pixels too).
_SHIFT = np.array([4.0, 2.0])
#: Pixels this far inside the hull of the moved landmarks see a constant displacement.
_INNER_MARGIN_PX = 12
#: Largest luma error (8-bit levels) of the translated texture inside the face.
_SHIFT_ERR_MAX = 0
#: Two grid steps of the displacement map for this face (its default step is 1/50 of the face
#: height, ~4 pixels): how far the interpolated mask may spill past the anchor ring.
_GRID_BAND_PX = 8


@pytest.fixture(scope="module")
def src() -> np.ndarray:
    """``(478, 3)`` landmarks of a frontal face ~200 pixels tall in the middle of the frame."""
    tpl = load_face_model().template.astype(np.float64)
    return (tpl * 60.0 + np.array([_W / 2, _H / 2, 0.0])).astype(np.float32)


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    """A textured ``(H * 3 // 2, W)`` yuv420p frame."""
    yy, xx = np.mgrid[0:_H, 0:_W]
    y = 128 + 60 * np.sin(xx / 5.0) * np.cos(yy / 7.0)
    cy, cx = np.mgrid[0 : _H // 2, 0 : _W // 2]
    u = 128 + 40 * np.sin(cx / 3.0 + cy / 9.0)
    v = 128 + 40 * np.cos(cy / 4.0 - cx / 11.0)
    return np.concatenate([y, u.reshape(-1, _W), v.reshape(-1, _W)]).astype(np.uint8)


def _inside(points: np.ndarray, margin: int) -> np.ndarray:
    """``(H, W) bool``: pixels at least ``margin`` inside the convex hull of ``points``."""
    mask = np.zeros((_H, _W), np.uint8)
    cv2.fillConvexPoly(mask, cv2.convexHull(points[:, :2].astype(np.int32)), 1)
    if margin:
        mask = cv2.erode(mask, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))
    return mask.astype(bool)


def _outside_ring(src: np.ndarray, margin: int = 1) -> np.ndarray:
    """``(H, W) bool``: pixels more than ``margin`` pixels outside the anchor ring polygon."""
    ring = anchor_ring(src).astype(np.float32).reshape(-1, 1, 2)
    mask = np.zeros((_H, _W), np.uint8)
    cv2.fillPoly(mask, [np.round(ring).astype(np.int32)], 1)
    mask = cv2.dilate(mask, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))
    return ~mask.astype(bool)


def test_identity_has_zero_displacement(src: np.ndarray) -> None:
    field = warp_field(src, src, (_W, _H))
    assert field is not None
    assert np.abs(field.displacement).max() == 0.0
    x0, y0, x1, y1 = field.roi
    assert x0 % 2 == 0 and y0 % 2 == 0 and x1 % 2 == 0 and y1 % 2 == 0
    assert 0 <= x0 < x1 <= _W and 0 <= y0 < y1 <= _H


def test_identity_warp_returns_the_region_unchanged(src: np.ndarray, frame: np.ndarray) -> None:
    field = warp_field(src, src, (_W, _H))
    assert field is not None
    x0, y0, x1, y1 = field.roi
    wy, wu, wv = warp_yuv420(frame, field)
    np.testing.assert_array_equal(wy, frame[:_H][y0:y1, x0:x1])
    chroma = frame[_H:].reshape(2, _H // 2, _W // 2)
    np.testing.assert_array_equal(wu, chroma[0][y0 // 2 : y1 // 2, x0 // 2 : x1 // 2])
    np.testing.assert_array_equal(wv, chroma[1][y0 // 2 : y1 // 2, x0 // 2 : x1 // 2])


def test_weight_is_one_on_face_and_zero_beyond_ring(src: np.ndarray) -> None:
    field = warp_field(src, src, (_W, _H))
    assert field is not None
    x0, y0, x1, y1 = field.roi
    weight = np.zeros((_H, _W), np.float32)
    weight[y0:y1, x0:x1] = field.weight
    assert weight.min() >= 0.0 and weight.max() <= 1.0 + 1e-6
    assert weight[_inside(src, _INNER_MARGIN_PX)].min() == pytest.approx(1.0)
    # the mask is interpolated from a coarse grid, so it may reach one grid step past the ring
    assert weight[_outside_ring(src, _GRID_BAND_PX)].max() == 0.0


def test_translation_moves_texture_inside_face(src: np.ndarray, frame: np.ndarray) -> None:
    dst = src.copy()
    dst[:, :2] += _SHIFT
    field = warp_field(src, dst, (_W, _H))
    assert field is not None
    out = composite_yuv420(frame, field, warp_yuv420(frame, field))
    dx, dy = _SHIFT.astype(int)
    inner = _inside(dst, _INNER_MARGIN_PX)
    assert inner.sum() > 10000
    shifted_y = np.roll(frame[:_H], (dy, dx), axis=(0, 1))
    err = np.abs(out[:_H].astype(int) - shifted_y)[inner]
    assert err.max() <= _SHIFT_ERR_MAX
    # the chroma planes move by half as many (chroma) pixels
    chroma_in = frame[_H:].reshape(2, _H // 2, _W // 2)
    chroma_out = out[_H:].reshape(2, _H // 2, _W // 2)
    inner_c = inner[::2, ::2] & _inside(dst, _INNER_MARGIN_PX + 2)[::2, ::2]
    for plane_in, plane_out in zip(chroma_in, chroma_out, strict=True):
        shifted = np.roll(plane_in, (dy // 2, dx // 2), axis=(0, 1))
        assert np.abs(plane_out.astype(int) - shifted)[inner_c].max() <= _SHIFT_ERR_MAX


def test_translation_leaves_pixels_outside_anchor_ring_untouched(
    src: np.ndarray, frame: np.ndarray
) -> None:
    dst = src.copy()
    dst[:, :2] += _SHIFT
    field = warp_field(src, dst, (_W, _H))
    assert field is not None
    out = composite_yuv420(frame, field, warp_yuv420(frame, field))
    outside = _outside_ring(src)
    assert outside.sum() > 10000
    np.testing.assert_array_equal(out[:_H][outside], frame[:_H][outside])
    assert (out[:_H] != frame[:_H]).any()  # the face did change


def test_expression_like_edit_leaves_outside_ring_untouched(
    src: np.ndarray, frame: np.ndarray
) -> None:
    """An uneven edit (brows up, mouth corners out) is confined to the ring too."""
    dst = src.copy()
    rng = np.random.default_rng(0)
    dst[:, :2] += rng.normal(scale=1.5, size=(len(src), 2))
    field = warp_field(src, dst, (_W, _H))
    assert field is not None
    out = composite_yuv420(frame, field, warp_yuv420(frame, field))
    outside = _outside_ring(src)
    np.testing.assert_array_equal(out[:_H][outside], frame[:_H][outside])


def test_explicit_step_gives_same_translation(src: np.ndarray, frame: np.ndarray) -> None:
    dst = src.copy()
    dst[:, :2] += _SHIFT
    field = warp_field(src, dst, (_W, _H), step=3)
    assert field is not None
    inner = _inside(dst, _INNER_MARGIN_PX)
    x0, y0, x1, y1 = field.roi
    disp = np.zeros((_H, _W, 2), np.float32)
    disp[y0:y1, x0:x1] = field.displacement
    np.testing.assert_allclose(disp[inner], np.broadcast_to(-_SHIFT, (inner.sum(), 2)), atol=1e-4)


def test_two_dimensional_landmarks_accepted(src: np.ndarray) -> None:
    field = warp_field(src[:, :2], src[:, :2] + _SHIFT, (_W, _H))
    assert field is not None
    assert np.abs(field.displacement).max() == pytest.approx(np.abs(_SHIFT).max(), abs=1e-4)


def test_face_outside_frame_gives_none(src: np.ndarray) -> None:
    far = src.copy()
    far[:, 0] -= 2000.0
    assert warp_field(far, far, (_W, _H)) is None


def test_face_partly_outside_frame(src: np.ndarray, frame: np.ndarray) -> None:
    edge = src.copy()
    edge[:, 0] += 120.0  # the right half of the face leaves the frame
    dst = edge.copy()
    dst[:, :2] += _SHIFT
    field = warp_field(edge, dst, (_W, _H))
    assert field is not None
    assert field.roi[2] == _W
    out = composite_yuv420(frame, field, warp_yuv420(frame, field))
    assert out.shape == frame.shape
    assert (out != frame).any()


def test_anchor_ring_scales_face_oval(src: np.ndarray) -> None:
    ring = anchor_ring(src)
    oval = src[list(FACE_OVAL), :2]
    centre = oval.mean(axis=0)
    assert ring.shape == (len(FACE_OVAL), 2)
    np.testing.assert_allclose(ring.mean(axis=0), centre, atol=1e-3)
    ratio = np.linalg.norm(ring - centre, axis=1) / np.linalg.norm(oval - centre, axis=1)
    assert ratio == pytest.approx(np.full(len(FACE_OVAL), 1.25), rel=1e-5)


def test_warp_field_rejects_mismatched_arrays() -> None:
    with pytest.raises(ValueError, match="cover the roi"):
        WarpField(
            roi=(0, 0, 4, 4),
            displacement=np.zeros((4, 4, 2), np.float32),
            weight=np.zeros((3, 4), np.float32),
        )
