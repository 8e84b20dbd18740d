"""Eye re-compositing over the mesh warp (emodirector.render.eyes)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from emodirector.face_model import (
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LEFT_IRIS,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    RIGHT_IRIS,
    load_face_model,
)
from emodirector.render import warp_field, warp_yuv420
from emodirector.render.eyes import composite_eyes

_W, _H = 512, 512
_SKIN = (150, 110, 150)
_SCLERA = (220, 128, 128)
_IRIS = (30, 120, 132)
_LID_LINE_Y = 90
#: Iris radius of the synthetic eyes (pixels): fully visible between the lids.
_IRIS_R = 8.0
#: Lid landmarks move this fraction of the local lid gap outwards (each) to widen the eye.
_WIDEN = 0.2
#: Dark-blob aspect ratio (minor over major axis) of a round iris, and the tolerance.
_ROUND_TOL = 0.1
#: Luma below which a pixel belongs to the iris blob.
_IRIS_THRESHOLD = 70
#: Mean luma of the newly shown sclera may differ this much from the original sclera.
_SCLERA_TOL = 15.0
#: Largest relative darkening of the newly shown sclera under the upper lid (lash shadow).
_LASH_SHADOW_MAX = 0.45
#: The synthesised strip under the upper lid varies at most this fraction as much as the plain
#: warp's smear there (standard deviation of luma).
_SMOOTHER = 0.6
#: 90th percentile luma of the closed-over band: lid skin, not sclera white.
_COVERED_MAX_Y = 190
#: Largest luma error of the rigidly moved iris on real footage (bilinear resampling).
_RIGID_ERR_MAX = 3.0
#: Real-footage eye luma may exceed the original eye box's range by this much (rounding).
_RANGE_TOL = 2

_REAL_CLIP = "videos/videoretalking_face3_woman_flagbg_590x590_speech.mp4"
_REAL_FRAME = 91


def _template_face() -> np.ndarray:
    """``(478, 3)`` landmarks of a frontal face with irises of radius ``_IRIS_R``."""
    tpl = load_face_model().template.astype(np.float64)
    pts = tpl * 150.0 + np.array([_W / 2, _H / 2, 0.0])
    for iris in (RIGHT_IRIS, LEFT_IRIS):
        centre = pts[iris[0], :2]
        offsets = np.array([[1.0, 0.0], [0.0, -1.0], [-1.0, 0.0], [0.0, 1.0]]) * _IRIS_R
        pts[list(iris[1:]), :2] = centre + offsets
    return pts.astype(np.float32)


def _eye_polygon(points: np.ndarray, upper: tuple[int, ...], lower: tuple[int, ...]) -> np.ndarray:
    return np.concatenate([points[list(upper), :2], points[list(lower[-2:0:-1]), :2]])


def _draw_frame(points: np.ndarray) -> np.ndarray:
    """A yuv420p frame: flat skin, two almond eyes (white sclera, dark round iris, lid line)."""
    planes = [np.full((_H, _W), v, np.uint8) for v in _SKIN]
    for upper, lower, iris in (
        (RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_IRIS),
        (LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_IRIS),
    ):
        poly = np.round(_eye_polygon(points, upper, lower) * 16).astype(np.int32)
        aperture = np.zeros((_H, _W), np.uint8)
        cv2.fillPoly(aperture, [poly], 1, cv2.LINE_AA, 4)
        disc = np.zeros((_H, _W), np.uint8)
        centre = np.round(points[iris[0], :2] * 16).astype(np.int32)
        cv2.circle(disc, tuple(int(v) for v in centre), int(_IRIS_R * 16), 1, -1, cv2.LINE_AA, 4)
        for plane, white, dark in zip(planes, _SCLERA, _IRIS, strict=True):
            plane[aperture > 0] = white
            plane[(aperture > 0) & (disc > 0)] = dark
        cv2.polylines(planes[0], [poly], True, _LID_LINE_Y, 1, cv2.LINE_AA, 4)
    chroma = [cv2.resize(p, (_W // 2, _H // 2), interpolation=cv2.INTER_AREA) for p in planes[1:]]
    return np.concatenate([planes[0], chroma[0].reshape(-1, _W), chroma[1].reshape(-1, _W)])


def _move_lids(points: np.ndarray, fraction: float) -> np.ndarray:
    """Each lid's inner landmarks moved outwards by ``fraction`` of the local lid gap."""
    out = points.copy()
    for upper, lower in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER)):
        up, lo = list(upper[1:-1]), list(lower[1:-1])
        gap = points[lo, 1] - points[up, 1]
        out[up, 1] -= fraction * gap
        out[lo, 1] += fraction * gap
    return out


def _render(
    frame: np.ndarray, src: np.ndarray, dst: np.ndarray
) -> tuple[
    tuple[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray, np.ndarray], tuple
]:
    h, w = frame.shape[0] * 2 // 3, frame.shape[1]
    field = warp_field(src, dst, (w, h))
    assert field is not None
    rendered = warp_yuv420(frame, field)
    return rendered, composite_eyes(frame, field, rendered, src, dst), field.roi


def _full_y(region: np.ndarray, roi: tuple[int, int, int, int], frame: np.ndarray) -> np.ndarray:
    y = frame[: frame.shape[0] * 2 // 3].copy()
    y[roi[1] : roi[3], roi[0] : roi[2]] = region
    return y


def _iris_aspect(y: np.ndarray, centre: np.ndarray) -> float:
    """Minor over major axis (second moments) of the dark blob that holds ``centre``."""
    dark = (y < _IRIS_THRESHOLD).astype(np.uint8)
    _, labels = cv2.connectedComponents(dark)
    label = labels[int(round(centre[1])), int(round(centre[0]))]
    assert label > 0, "no dark iris blob at the iris centre"
    ys, xs = np.nonzero(labels == label)
    evals = np.linalg.eigvalsh(np.cov(np.stack([xs, ys]).astype(np.float64)))
    return float(np.sqrt(evals[0] / evals[1]))


def _mask(poly: np.ndarray) -> np.ndarray:
    mask = np.zeros((_H, _W), np.uint8)
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1)
    return mask


@pytest.fixture(scope="module")
def src() -> np.ndarray:
    return _template_face()


@pytest.fixture(scope="module")
def frame(src: np.ndarray) -> np.ndarray:
    return _draw_frame(src)


def test_widened_eye_keeps_iris_round(src: np.ndarray, frame: np.ndarray) -> None:
    dst = _move_lids(src, _WIDEN)
    rendered, eyes, roi = _render(frame, src, dst)
    centre = src[RIGHT_IRIS[0], :2]
    assert _iris_aspect(frame[:_H], centre) == pytest.approx(1.0, abs=_ROUND_TOL)
    # the plain warp stretches the iris (else this test could not fail) ...
    assert _iris_aspect(_full_y(rendered[0], roi, frame), centre) < 1.0 - _ROUND_TOL
    # ... the eye layer keeps it round
    assert _iris_aspect(_full_y(eyes[0], roi, frame), centre) == pytest.approx(1.0, abs=_ROUND_TOL)


def _shown_strips(src: np.ndarray, dst: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per eye, the ``(upper, lower)`` masks of the strips a widening newly shows: inside the
    edited aperture, outside the original one and the iris, in the middle half of the eye (the
    corners are shaded darker on purpose)."""
    strips = []
    rows, cols = np.mgrid[0:_H, 0:_W]
    for upper, lower, iris in (
        (RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_IRIS),
        (LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_IRIS),
    ):
        kernel = np.ones((3, 3), np.uint8)
        new = cv2.erode(_mask(_eye_polygon(dst, upper, lower)), kernel)
        old = cv2.dilate(_mask(_eye_polygon(src, upper, lower)), kernel)
        cx, cy = src[iris[0], :2]
        half = abs(float(src[upper[-1], 0] - src[upper[0], 0])) / 2
        middle = (src[upper[-1], 0] + src[upper[0], 0]) / 2
        away = np.hypot(cols - cx, rows - cy) > _IRIS_R + 2
        shown = (new > 0) & (old == 0) & away & (np.abs(cols - middle) < half / 2)
        strips.append((shown & (rows < cy), shown & (rows > cy)))
    return strips


def test_widened_eye_shows_sclera(src: np.ndarray, frame: np.ndarray) -> None:
    dst = _move_lids(src, _WIDEN)
    rendered, eyes, roi = _render(frame, src, dst)
    plain, y = _full_y(rendered[0], roi, frame), _full_y(eyes[0], roi, frame)
    for upper, lower in _shown_strips(src, dst):
        assert upper.sum() > 20 and lower.sum() > 20
        # the plain warp smears lid colour there
        assert float(plain[lower].mean()) < _SCLERA[0] - 2 * _SCLERA_TOL
        # the eye layer shows the actor's sclera, in the lash shadow under the upper lid: a
        # smooth shade, where the plain warp's smear of lashes and iris is streaky
        assert float(y[lower].mean()) == pytest.approx(_SCLERA[0], abs=_SCLERA_TOL)
        assert (1 - _LASH_SHADOW_MAX) * _SCLERA[0] <= float(y[upper].mean()) < _SCLERA[0]
        assert float(y[upper].std()) < _SMOOTHER * float(plain[upper].std())


def test_narrowed_lid_covers_the_eye(src: np.ndarray, frame: np.ndarray) -> None:
    dst = _move_lids(src, -0.25)
    _, eyes, roi = _render(frame, src, dst)
    y = _full_y(eyes[0], roi, frame)
    cols = np.mgrid[0:_H, 0:_W][1]
    for upper, lower, iris in (
        (RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_IRIS),
        (LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_IRIS),
    ):
        old = cv2.erode(_mask(_eye_polygon(src, upper, lower)), np.ones((3, 3), np.uint8))
        new = cv2.dilate(_mask(_eye_polygon(dst, upper, lower)), np.ones((3, 3), np.uint8))
        # (above and below the iris the lid now passes inside the iris landmarks, which the
        # warp's mesh folds over: that is the warp's lid skin, left as it is)
        beside = np.abs(cols - src[iris[0], 0]) > 2 * _IRIS_R
        covered = (old > 0) & (new == 0) & beside
        assert covered.sum() > 40
        assert float(np.percentile(y[covered], 90)) < _COVERED_MAX_Y
    # the iris is cut by the lid, not squashed: its rows that stay visible are unchanged
    centre = src[RIGHT_IRIS[0], :2].round().astype(int)
    rows = slice(centre[1] - 2, centre[1] + 3)
    cols = slice(centre[0] - int(_IRIS_R) - 3, centre[0] + int(_IRIS_R) + 4)
    np.testing.assert_array_equal(y[rows, cols], frame[:_H][rows, cols])


def test_identity_is_byte_identical(src: np.ndarray, frame: np.ndarray) -> None:
    rendered, eyes, _ = _render(frame, src, src.copy())
    for a, b in zip(rendered, eyes, strict=True):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


def test_tiny_lid_move_is_left_alone(src: np.ndarray, frame: np.ndarray) -> None:
    dst = src.copy()
    dst[list(RIGHT_EYE_UPPER[1:-1]), 1] -= 0.1
    rendered, eyes, _ = _render(frame, src, dst)
    for a, b in zip(rendered, eyes, strict=True):
        np.testing.assert_array_equal(a, b)


def test_closed_eye_is_left_as_warped(src: np.ndarray) -> None:
    closed = src.copy()
    for upper, lower in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER)):
        up, lo = list(upper[1:-1]), list(lower[1:-1])
        mid = (closed[up, 1] + closed[lo, 1]) / 2
        closed[up, 1] = mid - 1.0
        closed[lo, 1] = mid + 1.0
    frame = _draw_frame(closed)
    dst = _move_lids(closed, 0.5)
    rendered, eyes, _ = _render(frame, closed, dst)
    for a, b in zip(rendered, eyes, strict=True):
        np.testing.assert_array_equal(a, b)


def test_inputs_are_not_modified(src: np.ndarray, frame: np.ndarray) -> None:
    dst = _move_lids(src, _WIDEN)
    before = frame.copy()
    h = frame.shape[0] * 2 // 3
    field = warp_field(src, dst, (_W, h))
    assert field is not None
    rendered = warp_yuv420(frame, field)
    copies = [r.copy() for r in rendered]
    out = composite_eyes(frame, field, rendered, src, dst)
    np.testing.assert_array_equal(frame, before)
    for r, c, o in zip(rendered, copies, out, strict=True):
        np.testing.assert_array_equal(r, c)
        assert o.shape == r.shape and o.dtype == np.uint8
    assert any((o != r).any() for r, o in zip(rendered, out, strict=True))


def test_real_surprise_keeps_the_iris_rigid(data_dir: Path) -> None:
    import emodirector
    from emodirector.pipeline import edited_landmarks
    from emodirector.video import iter_frames

    path = data_dir / _REAL_CLIP
    if not path.is_file():
        pytest.skip(f"{_REAL_CLIP} is missing from {data_dir}")
    analysis = emodirector.analyze_video(path)
    edit = emodirector.plan_edit(analysis, emodirector.EmotionTarget.from_label("surprised", 1.0))
    edit = dataclasses.replace(edit, weights=edit.weights * 2.0)
    frame = next(f.image for f in iter_frames(analysis.info, "yuv420p") if f.index == _REAL_FRAME)
    src = analysis.track.landmarks[_REAL_FRAME]
    dst = edited_landmarks(analysis, edit, _REAL_FRAME)
    assert dst is not None
    rendered, eyes, roi = _render(frame, src, dst)
    assert any((a != b).any() for a, b in zip(rendered, eyes, strict=True))
    y_in = frame[: frame.shape[0] * 2 // 3].astype(np.float32)
    y_out = _full_y(eyes[0], roi, frame)
    for upper, lower, iris in (
        (RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_IRIS),
        (LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_IRIS),
    ):
        pts = np.concatenate([src[list(upper + lower), :2], dst[list(upper + lower), :2]])
        x0, y0 = np.floor(pts.min(axis=0)).astype(int) - 2
        x1, y1 = np.ceil(pts.max(axis=0)).astype(int) + 3
        box_in, box_out = y_in[y0:y1, x0:x1], y_out[y0:y1, x0:x1]
        # nothing new is invented: the eye's values stay within the original eye and skin's
        assert box_out.min() >= box_in.min() - _RANGE_TOL
        assert box_out.max() <= box_in.max() + _RANGE_TOL
        # the visible middle of the iris moved rigidly with the iris centre
        centre, shift = src[iris[0], :2], dst[iris[0], :2] - src[iris[0], :2]
        radius = float(np.linalg.norm(src[list(iris[1:]), :2] - centre, axis=1).mean())
        ys, xs = np.mgrid[y0:y1, x0:x1]
        core = np.hypot(xs - centre[0] - shift[0], ys - centre[1] - shift[1]) < 0.4 * radius
        moved = cv2.remap(
            y_in,
            (xs - shift[0]).astype(np.float32),
            (ys - shift[1]).astype(np.float32),
            cv2.INTER_LINEAR,
        )
        assert core.sum() > 10
        assert np.abs(moved[core] - box_out[core]).max() <= _RIGID_ERR_MAX
