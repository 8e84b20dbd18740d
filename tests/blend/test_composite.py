"""Compositing the rendered face into the frame (emodirector.blend.composite)."""

from __future__ import annotations

import numpy as np
import pytest

from emodirector.blend import composite_yuv420
from emodirector.render import WarpField

_W, _H = 64, 48
_ROI = (8, 6, 56, 40)  # even-aligned, as warp_field makes it


@pytest.fixture
def frame() -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (_H * 3 // 2, _W), dtype=np.uint8)


def _rendered(value: int = 7) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    x0, y0, x1, y1 = _ROI
    h, w = y1 - y0, x1 - x0
    return (
        np.full((h, w), value, np.uint8),
        np.full((h // 2, w // 2), value, np.uint8),
        np.full((h // 2, w // 2), value, np.uint8),
    )


def _field(weight: np.ndarray) -> WarpField:
    return WarpField(roi=_ROI, displacement=np.zeros((*weight.shape, 2), np.float32), weight=weight)


def _planes(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    chroma = frame[_H:].reshape(2, _H // 2, _W // 2)
    return frame[:_H], chroma[0], chroma[1]


def _random_weight(zero_fraction: float = 0.5) -> np.ndarray:
    x0, y0, x1, y1 = _ROI
    rng = np.random.default_rng(1)
    weight = rng.uniform(0.01, 1.0, (y1 - y0, x1 - x0)).astype(np.float32)
    weight[rng.uniform(size=weight.shape) < zero_fraction] = 0.0
    return weight


def test_zero_weight_pixels_are_bit_identical(frame: np.ndarray) -> None:
    weight = _random_weight()
    out = composite_yuv420(frame, _field(weight), _rendered())
    x0, y0, x1, y1 = _ROI
    y_in, u_in, v_in = _planes(frame)
    y_out, u_out, v_out = _planes(out)
    full = np.zeros((_H, _W), np.float32)
    full[y0:y1, x0:x1] = weight
    zero = full == 0
    np.testing.assert_array_equal(y_out[zero], y_in[zero])
    # a chroma sample is untouched when the whole 2x2 block of luma pixels it covers has weight 0
    block_zero = zero.reshape(_H // 2, 2, _W // 2, 2).all(axis=(1, 3))
    np.testing.assert_array_equal(u_out[block_zero], u_in[block_zero])
    np.testing.assert_array_equal(v_out[block_zero], v_in[block_zero])
    assert (y_out[~zero] != y_in[~zero]).any()  # the weighted pixels did change


def test_pixels_outside_roi_are_bit_identical(frame: np.ndarray) -> None:
    out = composite_yuv420(frame, _field(np.ones((34, 48), np.float32)), _rendered())
    x0, y0, x1, y1 = _ROI
    outside = np.ones((_H, _W), bool)
    outside[y0:y1, x0:x1] = False
    np.testing.assert_array_equal(out[:_H][outside], frame[:_H][outside])
    outside_c = outside[::2, ::2]
    for a, b in zip(_planes(out)[1:], _planes(frame)[1:], strict=True):
        np.testing.assert_array_equal(a[outside_c], b[outside_c])


def test_full_weight_takes_rendered_pixels(frame: np.ndarray) -> None:
    out = composite_yuv420(frame, _field(np.ones((34, 48), np.float32)), _rendered(value=200))
    x0, y0, x1, y1 = _ROI
    y_out, u_out, v_out = _planes(out)
    assert (y_out[y0:y1, x0:x1] == 200).all()
    assert (u_out[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2] == 200).all()
    assert (v_out[y0 // 2 : y1 // 2, x0 // 2 : x1 // 2] == 200).all()


def test_half_weight_mixes_evenly() -> None:
    frame = np.full((_H * 3 // 2, _W), 100, np.uint8)
    out = composite_yuv420(frame, _field(np.full((34, 48), 0.5, np.float32)), _rendered(value=200))
    x0, y0, x1, y1 = _ROI
    assert (out[:_H][y0:y1, x0:x1] == 150).all()


def test_negative_weight_counts_as_zero(frame: np.ndarray) -> None:
    out = composite_yuv420(frame, _field(np.full((34, 48), -0.5, np.float32)), _rendered())
    np.testing.assert_array_equal(out, frame)


def test_weight_above_one_counts_as_one(frame: np.ndarray) -> None:
    out = composite_yuv420(frame, _field(np.full((34, 48), 3.0, np.float32)), _rendered(value=9))
    x0, y0, x1, y1 = _ROI
    assert (out[:_H][y0:y1, x0:x1] == 9).all()


def test_input_frame_is_not_modified(frame: np.ndarray) -> None:
    before = frame.copy()
    out = composite_yuv420(frame, _field(_random_weight()), _rendered())
    np.testing.assert_array_equal(frame, before)
    assert out is not frame
    assert out.shape == frame.shape and out.dtype == np.uint8
