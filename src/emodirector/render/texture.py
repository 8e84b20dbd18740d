"""The canonical texture layout: a square image in which every face has the same layout.

A pixel of the layout is a fixed point of the canonical face (x, y of the face model's template,
scaled into ``TEXTURE_SIZE`` pixels), so textures of different frames, takes and actors can be
compared pixel by pixel: the expression detail (``detail.py``) is measured and stored there.
A frame is *unwrapped* into the layout through the warp mesh (the landmarks and the anchor ring,
with the same fixed triangulation as the warp), and the warp can return, for every pixel of its
region, the layout position it shows (``warp_field(..., texture=True)``), to wrap a layout image
back onto the edited face.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

from emodirector.face_model import load_face_model
from emodirector.render.warp import anchor_ring, default_warp_mesh, rasterize

#: Side of the square layout, in pixels (the MEAD faces it is measured on are about 150 px).
TEXTURE_SIZE = 128
#: Half the side of the square of the canonical frame the layout covers (template units).
_HALF_EXTENT = 1.75


@dataclass(frozen=True)
class TextureLayout:
    """Where the warp mesh's vertices lie in the layout.

    Attributes:
        size: Side of the square layout in pixels.
        vertices: ``(478 + 36, 2) float64`` layout pixels of the landmarks and anchor ring.
    """

    size: int
    vertices: np.ndarray

    def to_layout(self, canonical_xy: np.ndarray) -> np.ndarray:
        """Layout pixels of canonical-frame x, y points."""
        return (np.asarray(canonical_xy, np.float64) + _HALF_EXTENT) * _scale(self.size)


def _scale(size: int) -> float:
    return (size - 1) / (2 * _HALF_EXTENT)


@cache
def default_layout(size: int = TEXTURE_SIZE) -> TextureLayout:
    """The layout of the face model's template."""
    template = load_face_model().template[:, :2].astype(np.float64)
    points = np.concatenate([template, anchor_ring(template)])
    return TextureLayout(size=size, vertices=(points + _HALF_EXTENT) * _scale(size))


@dataclass(frozen=True)
class _Raster:
    node: np.ndarray
    verts: np.ndarray
    bary: np.ndarray


@cache
def _layout_raster(size: int) -> _Raster:
    layout = default_layout(size)
    mesh = default_warp_mesh()
    corners = layout.vertices[mesh.triangles]
    node, tri, bary = rasterize(corners, np.arange(len(corners)), (size, size))
    return _Raster(node=node, verts=mesh.triangles[tri], bary=bary)


def unwrap(
    plane: np.ndarray,
    landmarks: np.ndarray,
    size: int = TEXTURE_SIZE,
) -> tuple[np.ndarray, np.ndarray]:
    """Resample an image plane of a face into the canonical layout.

    Args:
        plane: ``(H, W)`` image plane (any dtype cv2.remap takes).
        landmarks: ``(478, 2+)`` landmark pixels of the face on that plane.
        size: Side of the layout.

    Returns:
        ``(texture, valid)``: ``(size, size) float32`` samples and a ``bool`` mask of the layout
        pixels the mesh covers and whose source lies inside the plane.
    """
    raster = _layout_raster(size)
    pts = np.concatenate([landmarks[:, :2], anchor_ring(landmarks[:, :2])]).astype(np.float64)
    src = np.einsum("nk,nkc->nc", raster.bary, pts[raster.verts])
    map_xy = np.full((size * size, 2), -1.0, np.float32)
    map_xy[raster.node] = src
    map_xy = map_xy.reshape(size, size, 2)
    h, w = plane.shape[:2]
    valid = (
        (map_xy[..., 0] >= 0) & (map_xy[..., 0] <= w - 1)
        & (map_xy[..., 1] >= 0) & (map_xy[..., 1] <= h - 1)
    )  # fmt: skip
    texture = cv2.remap(
        plane.astype(np.float32),
        map_xy[..., 0],
        map_xy[..., 1],
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return texture, valid
