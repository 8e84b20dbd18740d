"""Compositing the rendered face back into the frame through a soft face mask.

Pixels where the mask is 0 (everything outside the anchor ring around the face) are copied from
the input frame bit for bit, so the only difference from a pass-through encode lies in the face
region. The mask comes from the face mesh (see ``WarpField.weight``): 1 on the mesh, falling
linearly to 0 at the anchor ring; as the warp itself fades to no displacement at the same ring,
there is no seam to hide and no colour to match.
"""

from __future__ import annotations

import cv2
import numpy as np

from emodirector.render.warp import WarpField


def _mix(
    original: np.ndarray, rendered: np.ndarray, mask: np.ndarray, inverse: np.ndarray
) -> np.ndarray:
    """``original + mask * (rendered - original)`` rounded (in one pass of OpenCV's
    ``blendLinear``, ``inverse`` being ``1 - mask``), exact where ``mask`` is 0 or 1."""
    return cv2.blendLinear(original, rendered, inverse, mask)


def composite_yuv420(
    frame: np.ndarray,
    field: WarpField,
    rendered: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> np.ndarray:
    """Blend rendered Y, U, V face regions into a copy of a yuv420p frame.

    Args:
        frame: ``(H * 3 // 2, W) uint8`` planar yuv420p input frame (not modified).
        field: The warp whose ``roi`` and ``mask`` place and mask the rendered region.
        rendered: Y region at full and U, V regions at half resolution.

    Returns:
        The composited frame, same layout.
    """
    out = frame.copy()
    h = frame.shape[0] * 2 // 3
    w = frame.shape[1]
    x0, y0, x1, y1 = field.roi
    mask = np.ascontiguousarray(field.mask, np.float32)
    out[y0:y1, x0:x1] = _mix(frame[y0:y1, x0:x1], rendered[0], mask, 1.0 - mask)
    chroma = out[h:].reshape(2, h // 2, w // 2)
    # the mask at even pixels (nearest-neighbour resizing by one half takes pixel 2 j), one
    # for U and V
    ch, cw = rendered[1].shape
    half = cv2.resize(mask, ((x1 - x0) // 2, (y1 - y0) // 2), interpolation=cv2.INTER_NEAREST)
    half = np.ascontiguousarray(half[:ch, :cw])
    inverse = 1.0 - half
    sl = (slice(y0 // 2, y1 // 2), slice(x0 // 2, x1 // 2))
    for plane, region in zip(chroma, rendered[1:], strict=True):
        plane[sl] = _mix(plane[sl], region, half, inverse)
    return out
