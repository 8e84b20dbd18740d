"""Mesh-guided dense warp of a frame from the tracked face geometry to the edited geometry.

The tracked landmarks and a ring of anchor points around the face (which never move) are
triangulated in the *edited* geometry; every output pixel finds its triangle and takes the
barycentric mix of the vertices' displacements back to the tracked geometry, i.e. a backward
piecewise-affine map with no holes and no folds. The map is evaluated on a coarse grid and
interpolated (the displacement is smooth at that scale), then the Y, U and V planes are resampled
with it. Irises are moved rigidly by the editor (their offsets equal their eye corners'), so
the triangles inside them translate without stretching; the mouth interior is interpolated
between the lips, whose gap the edit preserves.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import Delaunay

from emodirector.face_model import FACE_OVAL

#: Anchor ring radius, relative to the face oval about its centre.
RING_SCALE = 1.25
#: Coarse grid step (pixels) of the displacement map.
GRID_STEP = 4


@dataclass(frozen=True)
class WarpField:
    """A backward displacement field over a region of the frame.

    Attributes:
        roi: ``(x0, y0, x1, y1)`` even-aligned pixel bounds (exclusive end) in the frame.
        displacement: ``(y1 - y0, x1 - x0, 2) float32``: output pixel ``p`` samples the input
            at ``p + displacement[p]`` (x, y).
        weight: ``(y1 - y0, x1 - x0) float32`` 1 on the face mesh, falling linearly to 0 at
            the anchor ring: the soft face mask.
    """

    roi: tuple[int, int, int, int]
    displacement: np.ndarray
    weight: np.ndarray

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.roi
        shape = (y1 - y0, x1 - x0)
        if self.displacement.shape != (*shape, 2) or self.weight.shape != shape:
            raise ValueError("displacement and weight must cover the roi")


def anchor_ring(points: np.ndarray) -> np.ndarray:
    """``(36, 2)`` fixed anchors: the face oval scaled by ``RING_SCALE`` about its centre."""
    oval = points[list(FACE_OVAL), :2]
    centre = oval.mean(axis=0)
    return centre + (oval - centre) * RING_SCALE


def warp_field(
    src: np.ndarray, dst: np.ndarray, frame_size: tuple[int, int], step: int = GRID_STEP
) -> WarpField | None:
    """The dense backward map that moves the face from ``src`` to ``dst`` landmark positions.

    Args:
        src: ``(478, 2)`` tracked landmark pixels.
        dst: ``(478, 2)`` edited landmark pixels.
        frame_size: ``(width, height)`` of the frame.
        step: Coarse grid step in pixels.

    Returns:
        The WarpField, or None if the face lies entirely outside the frame.
    """
    w, h = frame_size
    ring = anchor_ring(src)
    dst_all = np.concatenate([dst[:, :2], ring]).astype(np.float64)
    src_all = np.concatenate([src[:, :2], ring]).astype(np.float64)
    lo = np.floor(np.minimum(ring.min(axis=0), dst_all.min(axis=0))).astype(int)
    hi = np.ceil(np.maximum(ring.max(axis=0), dst_all.max(axis=0))).astype(int) + 1
    x0, y0 = (max(0, int(lo[0])) // 2) * 2, (max(0, int(lo[1])) // 2) * 2
    x1, y1 = min(w, int(hi[0]) + (int(hi[0]) & 1)), min(h, int(hi[1]) + (int(hi[1]) & 1))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    gx = np.arange(x0, x1 + step, step, dtype=np.float64)
    gy = np.arange(y0, y1 + step, step, dtype=np.float64)
    grid = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    tri = Delaunay(dst_all)
    simplex = tri.find_simplex(grid)
    inside = simplex >= 0
    s = simplex[inside]
    T = tri.transform[s]
    b2 = np.einsum("nij,nj->ni", T[:, :2], grid[inside] - T[:, 2])
    bary = np.concatenate([b2, 1.0 - b2.sum(axis=1, keepdims=True)], axis=1)
    verts = tri.simplices[s]
    disp_v = src_all - dst_all
    weight_v = np.concatenate([np.ones(len(dst)), np.zeros(len(ring))])
    disp = np.zeros((grid.shape[0], 2))
    weight = np.zeros(grid.shape[0])
    disp[inside] = np.einsum("nk,nkc->nc", bary, disp_v[verts])
    weight[inside] = (bary * weight_v[verts]).sum(axis=1)
    shape = (gy.size, gx.size)
    full = (x1 - x0, y1 - y0)
    # corner-aligned upsampling: grid node i sits at pixel i * step
    big = (int((gx.size - 1) * step) + 1, int((gy.size - 1) * step) + 1)
    disp_img = cv2.resize(
        disp.reshape(*shape, 2).astype(np.float32), big, interpolation=cv2.INTER_LINEAR
    )
    weight_img = cv2.resize(
        weight.reshape(shape).astype(np.float32), big, interpolation=cv2.INTER_LINEAR
    )
    return WarpField(
        roi=(x0, y0, x1, y1),
        displacement=np.ascontiguousarray(disp_img[: full[1], : full[0]]),
        weight=np.ascontiguousarray(weight_img[: full[1], : full[0]]),
    )


def _remap(plane: np.ndarray, roi: tuple[int, int, int, int], disp: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = roi
    xs = np.arange(x0, x1, dtype=np.float32)
    ys = np.arange(y0, y1, dtype=np.float32)
    map_x = disp[..., 0] + xs[None, :]
    map_y = disp[..., 1] + ys[:, None]
    return cv2.remap(plane, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def warp_yuv420(frame: np.ndarray, field: WarpField) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resample the face region of a yuv420p frame through ``field``.

    Args:
        frame: ``(H * 3 // 2, W) uint8`` planar yuv420p.
        field: The warp.

    Returns:
        The warped ROI of the Y, U and V planes (U and V at half resolution).
    """
    h = frame.shape[0] * 2 // 3
    w = frame.shape[1]
    y_plane = frame[:h]
    chroma = frame[h:].reshape(2, h // 2, w // 2)
    x0, y0, x1, y1 = field.roi
    warped_y = _remap(y_plane, field.roi, field.displacement)
    half_roi = (x0 // 2, y0 // 2, x1 // 2, y1 // 2)
    half_disp = np.ascontiguousarray(field.displacement[::2, ::2] * 0.5)
    warped_u = _remap(chroma[0], half_roi, half_disp)
    warped_v = _remap(chroma[1], half_roi, half_disp)
    return warped_y, warped_u, warped_v
