"""Mesh-guided dense warp of a frame from the tracked face geometry to the edited geometry.

The tracked landmarks and a ring of anchor points around the face (which never move) form a fixed
triangle mesh (the canonical face's Delaunay triangulation, so it also spans the eyes and the
mouth opening). The mesh is rasterised in the *edited* geometry; every output pixel takes the
barycentric mix of its triangle's vertex displacements back to the tracked geometry, i.e. a
backward piecewise-affine map with no holes; where a turned head folds the far side of the mesh
over the near side, the nearer triangle wins. The map is evaluated on a coarse grid and
interpolated (the displacement is smooth at that scale), then the Y, U and V planes are resampled
with it. Irises are moved rigidly by the editor (their offsets equal their eye corners'), so
the triangles inside them translate without stretching; the mouth interior is interpolated
between the lips, whose gap the edit preserves.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, cached_property

import cv2
import numpy as np
from scipy.spatial import Delaunay

from emodirector.face_model import FACE_OVAL, load_face_model

#: Anchor ring radius, relative to the face oval about its centre.
RING_SCALE = 1.25
#: Coarse grid step of the displacement map, as a fraction of the face height (the mesh's
#: triangles are about 1/30 of it, and the map is interpolated linearly between nodes).
GRID_STEP_FRACTION = 1 / 50


@dataclass(frozen=True)
class WarpField:
    """A backward displacement field over a region of the frame.

    Attributes:
        roi: ``(x0, y0, x1, y1)`` even-aligned pixel bounds (exclusive end) in the frame.
        displacement: ``(y1 - y0, x1 - x0, 2) float32``: output pixel ``p`` samples the input
            at ``p + displacement[p]`` (x, y).
        weight: ``(y1 - y0, x1 - x0) float32`` 1 on the face mesh, falling linearly to 0 at
            the anchor ring: the soft face mask.
        texture: ``(y1 - y0, x1 - x0, 2) float32`` where each output pixel lies in the texture
            layout the warp was asked for (``warp_field(texture_vertices=...)``), -1 off the
            mesh; None if none was asked for.

    ``warp_field`` makes the three arrays as views of the crop of a slightly larger upsampled
    grid (their rows are strided); treat them as read-only.
    """

    roi: tuple[int, int, int, int]
    displacement: np.ndarray
    weight: np.ndarray
    texture: np.ndarray | None = None

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.roi
        shape = (y1 - y0, x1 - x0)
        if self.displacement.shape != (*shape, 2) or self.weight.shape != shape:
            raise ValueError("displacement and weight must cover the roi")

    @cached_property
    def mask(self) -> np.ndarray:
        """``(y1 - y0, x1 - x0) float32`` ``weight`` clipped to 0..1 (worked out once: the
        detail and the compositing both apply it)."""
        return np.minimum(np.maximum(self.weight, np.float32(0.0)), np.float32(1.0))


def anchor_ring(points: np.ndarray) -> np.ndarray:
    """``(36, 2)`` fixed anchors: the face oval scaled by ``RING_SCALE`` about its centre."""
    oval = points[list(FACE_OVAL), :2]
    centre = oval.mean(axis=0)
    return centre + (oval - centre) * RING_SCALE


@dataclass(frozen=True)
class WarpMesh:
    """Fixed triangulation of the landmarks plus the anchor ring.

    Attributes:
        triangles: ``(M, 3) int32`` indices into the 478 landmarks followed by the 36 ring
            anchors. Built once from the canonical face, so the topology never changes from frame
            to frame (no swimming); it also covers the eyes and the mouth opening.
    """

    triangles: np.ndarray


@cache
def default_warp_mesh() -> WarpMesh:
    """Delaunay triangulation of the canonical face (frontal, x-y) and its anchor ring."""
    template = load_face_model().template[:, :2].astype(np.float64)
    points = np.concatenate([template, anchor_ring(template)])
    return WarpMesh(triangles=Delaunay(points).simplices.astype(np.int32))


def rasterize(
    tris: np.ndarray, order: np.ndarray, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which triangle covers each node of a grid, and where.

    Args:
        tris: ``(M, 3, 2)`` triangle corners in grid units.
        order: ``(M,)`` drawing order (far to near): where triangles overlap (a turned head folds
            the far side over), the one drawn last wins.
        shape: ``(rows, cols)`` of the grid.

    Returns:
        ``(node, triangle, bary)``: flat indices of covered nodes, the covering triangle of each,
        and ``(n, 3)`` barycentric coordinates.
    """
    rows, cols = shape
    tris = tris[order]
    xs, ys = tris[..., 0], tris[..., 1]
    # each triangle's nodes: the grid nodes of its bounding box
    lo_x = np.clip(np.ceil(xs.min(axis=1) - 1e-9), 0, cols)
    lo_y = np.clip(np.ceil(ys.min(axis=1) - 1e-9), 0, rows)
    nx = np.maximum(np.clip(np.floor(xs.max(axis=1) + 1e-9), -1, cols - 1) - lo_x + 1, 0)
    ny = np.maximum(np.clip(np.floor(ys.max(axis=1) + 1e-9), -1, rows - 1) - lo_y + 1, 0)
    counts = (nx * ny).astype(np.int64)
    # barycentric coordinates as affine functions of the node, one per triangle
    # (u, v of the corners b and c; a's is 1 - u - v)
    ax, ay = xs[:, 0], ys[:, 0]
    v0x, v0y = xs[:, 1] - ax, ys[:, 1] - ay
    v1x, v1y = xs[:, 2] - ax, ys[:, 2] - ay
    den = v0x * v1y - v1x * v0y
    den = np.where(np.abs(den) < 1e-12, 1e-12, den)
    per_tri = np.stack(
        [lo_x, lo_y, nx, np.cumsum(counts) - counts, ax, ay, v0x / den, v0y / den,
         v1x / den, v1y / den],
        axis=1,
    )  # fmt: skip
    tri_id = np.repeat(np.arange(len(tris)), counts)
    p = per_tri[tri_id]
    local = np.arange(len(tri_id)) - p[:, 3]
    row = np.floor(local / np.maximum(p[:, 2], 1))
    gx = p[:, 0] + (local - row * p[:, 2])
    gy = p[:, 1] + row
    dx, dy = gx - p[:, 4], gy - p[:, 5]
    u = dx * p[:, 9] - dy * p[:, 8]
    v = dy * p[:, 6] - dx * p[:, 7]
    w = 1.0 - u - v
    ok = np.flatnonzero((u >= -1e-6) & (v >= -1e-6) & (w >= -1e-6))
    node = (gy[ok] * cols + gx[ok]).astype(np.int64)
    # keep the last (nearest) triangle per node: the candidates come in drawing order
    last = np.full(rows * cols, -1, np.int64)
    np.maximum.at(last, node, np.arange(len(node)))
    covered = np.flatnonzero(last >= 0)
    keep = ok[last[covered]]
    return covered, order[tri_id[keep]], np.stack([w[keep], u[keep], v[keep]], axis=1)


def warp_field(
    src: np.ndarray,
    dst: np.ndarray,
    frame_size: tuple[int, int],
    step: int | None = None,
    texture_vertices: np.ndarray | None = None,
) -> WarpField | None:
    """The dense backward map that moves the face from ``src`` to ``dst`` landmark positions.

    Args:
        src: ``(478, 2+)`` tracked landmark pixels (a third column, depth, orders overlaps).
        dst: ``(478, 2+)`` edited landmark pixels.
        frame_size: ``(width, height)`` of the frame.
        step: Coarse grid step in pixels; by default ``GRID_STEP_FRACTION`` of the face height.
        texture_vertices: ``(478 + 36, 2)`` positions of the landmarks and anchor ring in a
            texture layout (see ``texture.py``); if given, the field also says where each
            output pixel lies in that layout.

    Returns:
        The WarpField, or None if the face lies entirely outside the frame.
    """
    mesh = default_warp_mesh()
    if step is None:
        step = min(max(int(round(np.ptp(src[:, 1]) * GRID_STEP_FRACTION)), 2), 16)
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
    cols = (x1 - x0 + step - 1) // step + 1
    rows = (y1 - y0 + step - 1) // step + 1
    depth = (
        np.concatenate([dst[:, 2], np.full(len(ring), dst[:, 2].max())])
        if dst.shape[1] > 2
        else None
    )
    tris = mesh.triangles
    order = (
        np.argsort(-depth[tris].mean(axis=1), kind="stable")
        if depth is not None
        else np.arange(len(tris))
    )
    corners = (dst_all[tris] - (x0, y0)) / step
    node, tri_idx, bary = rasterize(corners, order, (rows, cols))
    # the displacement, the mask and the texture position of each covered node, in one product
    n_tex = 0 if texture_vertices is None else 2
    values = np.zeros((len(src_all), 3 + n_tex))
    values[:, :2] = src_all - dst_all
    values[: len(dst), 2] = 1.0
    if texture_vertices is not None:
        values[:, 3:] = texture_vertices
    grid = np.zeros((rows * cols, 3 + n_tex), np.float32)
    grid[:, 3:] = -1.0
    grid[node] = np.einsum("nk,nkc->nc", bary, values[tris[tri_idx]])
    grid = grid.reshape(rows, cols, -1)
    # corner-aligned upsampling: grid node i sits at pixel i * step; each is cropped to the roi
    # (a view: OpenCV and NumPy take the rows' stride)
    big = ((cols - 1) * step + 1, (rows - 1) * step + 1)
    crop = (slice(0, y1 - y0), slice(0, x1 - x0))

    def upsample(channels: slice | int) -> np.ndarray:
        coarse = np.ascontiguousarray(grid[..., channels])
        return cv2.resize(coarse, big, interpolation=cv2.INTER_LINEAR)[crop]

    return WarpField(
        roi=(x0, y0, x1, y1),
        displacement=upsample(slice(0, 2)),
        weight=upsample(2),
        texture=upsample(slice(3, 5)) if n_tex else None,
    )


def _map(roi: tuple[int, int, int, int], disp: np.ndarray) -> np.ndarray:
    """``(h, w, 2) float32``: ``cv2.remap``'s absolute map (x, y) of a displacement over
    ``roi``."""
    x0, y0, x1, y1 = roi
    h, w = y1 - y0, x1 - x0
    # x, y interleaved in each row: the columns' x added along the whole row, then each row's y
    # to every second value (both long inner loops; each adds to one coordinate only, as exact
    # as adding them apart)
    across = np.zeros((w, 2), np.float32)
    across[:, 0] = np.arange(x0, x1)
    out = np.add(disp.reshape(h, 2 * w), across.reshape(1, 2 * w), dtype=np.float32)
    out = out.reshape(h, w, 2)
    out[..., 1] += np.arange(y0, y1, dtype=np.float32)[:, None]
    return out


def _remap(plane: np.ndarray, xy: np.ndarray) -> np.ndarray:
    return cv2.remap(plane, xy, None, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def warp_plane(plane: np.ndarray, field: WarpField) -> np.ndarray:
    """The region ``field.roi`` of a full-resolution image plane, resampled through ``field``."""
    return _remap(plane, _map(field.roi, field.displacement))


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
    chroma = frame[h:].reshape(2, h // 2, w // 2)
    x0, y0, x1, y1 = field.roi
    xy = _map(field.roi, field.displacement)
    warped_y = _remap(frame[:h], xy)
    # one chroma map for U and V: the luma map at even pixels, halved (nearest-neighbour
    # resizing by exactly one half takes pixel 2 j; halving is exact in floating point)
    half = cv2.resize(xy, ((x1 - x0) // 2, (y1 - y0) // 2), interpolation=cv2.INTER_NEAREST)
    half *= np.float32(0.5)
    return warped_y, _remap(chroma[0], half), _remap(chroma[1], half)
