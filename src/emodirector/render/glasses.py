"""Glasses frames kept rigid with the head while the mesh warp moves the skin around them.

The mesh warp moves every pixel near the eyes with the skin: a smile lifts the cheeks and the
lids, and the rims of a pair of glasses drawn on that skin bend with it. Glasses are rigid and
the edit never moves the head, so the original frame already shows them where they belong. This
module finds them and keeps them:

1. **Whether the face wears glasses** (once per clip, ``GlassesKeeper``): the band around the
   eyes is resampled into an eye-aligned patch (``PATCH_PX_PER_EYE`` pixels per eye distance,
   so every face has the same size there), its thin lines are picked out by a morphological
   black-hat and top-hat (dark and bright strokes narrower than a few pixels), and the *bridge
   score* is the strongest straight line across the bridge of the nose between the eyes: the
   median of the line response along it, in units of the patch's contrast. A bridge is one
   continuous bar from lens to lens; skin has no such line (horizontal wrinkles of the glabella
   or of a wrinkled nose score a third as much, see ``BRIDGE_SCORE``). The clip's decision is
   the median score of the first ``DECISION_FRAMES`` frames the keeper sees (so a single odd
   frame decides nothing), then kept.
2. **Where the frame is** (every frame, ``frame_pixels``): the box around the eyes is resampled
   into an eye-aligned work grid (``WORK_PX_PER_EYE``), where the frame is the pixels whose
   thin-line response stands out of the box's contrast and texture (``LINE_*``), outside the
   eye openings (widened by ``EYE_CLEARANCE``: lid margins are lines too), in connected pieces
   at least ``MIN_PIECE`` of the eye distance long (rims, bridge, nose pads, hinges and
   temples; not skin texture) that do not run along a lid (``LID_*``: lashes, creases).
   Measured on the *original* frame. The frame is rigid with the head, so the grid remembers it
   (``MEMORY_*``): what most recent frames found fills what this one misses where the light
   on a thin rim fades it. It is looked for on every third frame; each frame places the
   remembered grid where its eyes are (``FrameGrid.place``).
3. **Keeping it** (``fill_frame`` before the warp, ``restore`` after every other part): the
   warp resamples a copy of the frame whose glasses frame is filled in from the skin around it,
   so the skin moves behind the rims as it does behind real glasses and no pixel that samples
   across a rim copies it (a second, bent rim); after the eyes, the detail and the mouth are
   drawn, the original pixels are put back under the feathered mask. The rim wins over a
   redrawn eye. (The warp damped to 0 at the frame instead squeezed the skin between a rim and
   a large move, and where the move passed the damping band, an angry edit's lids 33 px under a
   26 px band on the glasses clip, drew the skin from above the rim inside the lens: a box with
   the rim's straight edge.)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from emodirector.face_model import (
    LEFT_EYE_CORNERS,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    RIGHT_EYE_CORNERS,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
)

#: Resolution of the eye-aligned patch the bridge is scored in (pixels per eye distance).
PATCH_PX_PER_EYE = 80
#: The patch: along the eye axis and across it (downwards), in eye distances from the point
#: between the eyes.
PATCH_ALONG = (-1.1, 1.1)
PATCH_ACROSS = (-0.6, 0.6)
#: Where a bridge is looked for, in the same units: between the inner eye corners, from well
#: above the eye line (a high bridge) to a little below it.
BRIDGE_ALONG = (-0.15, 0.15)
BRIDGE_ACROSS = (-0.45, 0.15)
#: Slopes (across per along) of the lines tried across the bridge zone.
BRIDGE_SLOPES = tuple(np.linspace(-0.2, 0.2, 9))
#: Thin-line kernel in the patch (pixels): strokes narrower than this respond.
PATCH_KERNEL_PX = 5
#: A clip wears glasses when its median bridge score exceeds this (percent of the patch's
#: 10th-90th percentile contrast). Measured on 5 frames of each clip and on each photo of the
#: project's test footage: the talking man in glasses 89-102; without glasses at most 38 (deep
#: horizontal wrinkles between the brows of MEAD's M030 acting anger and disgust), 14 or less
#: on everything else.
BRIDGE_SCORE = 55.0
#: Floor of the contrast the scores are relative to (luma levels): a featureless patch (a
#: blank, blurred or dark face) has no lines to find. Real faces measured 38-129.
MIN_CONTRAST = 30.0
#: Frames whose median bridge score decides a clip.
DECISION_FRAMES = 9
#: The box searched for the frame around the eyes (eye distances, as ``PATCH_*``): wide enough
#: for the hinges and the temples where they pass the face, tall enough for the rims.
MASK_ALONG = (-1.2, 1.2)
MASK_ACROSS = (-0.55, 0.6)
#: The frame is looked for in an eye-aligned grid of this many pixels per eye distance (the
#: 720p portrait's face, 172 px between the eyes, at 0.58: a third of the work).
WORK_PX_PER_EYE = 100.0
#: Thin-line kernel in the work grid, as a fraction of the eye distance: strokes up to about
#: this wide are found (metal rims, nylon strings; not thick plastic frames).
LINE_KERNEL = 0.05
#: A pixel is part of the frame where its line response exceeds this fraction of the box's
#: 10th-90th percentile contrast, and ``LINE_NOISE`` times the median response (skin texture).
LINE_THRESHOLD = 0.2
LINE_NOISE = 4.0
#: Pieces shorter than this (their bounding box's longer side, in eye distances) are dropped.
MIN_PIECE = 0.25
#: Fainter line pixels (this fraction of the contrast) count in pieces at least
#: ``FAINT_PIECE`` long: the length of a lens's rim, where light fades a thin nylon string.
FAINT_THRESHOLD = 0.12
FAINT_PIECE = 0.5
#: The eye openings, widened by this (eye distances), are never part of the frame (the lid
#: margins and the roots of the lashes).
EYE_CLEARANCE = 0.025
#: A piece with more than ``LID_SHARE`` of its pixels within ``LID_BAND`` (eye distances) of an
#: eye opening's outline runs along the lid (lashes, a lid crease), not across: it is dropped. A
#: rim passing close to a lid keeps most of its length away from it.
LID_BAND = 0.1
LID_SHARE = 0.5
#: The frame's pixels in the eye-aligned grid are remembered from frame to frame (an average
#: that follows each frame looked at by ``MEMORY_RATE``: about the last ten frames); where at
#: least ``MEMORY_SHARE`` of the recent frames found the frame, it is frame on this one too.
MEMORY_RATE = 0.3
MEMORY_SHARE = 0.3
#: The frame is looked for on every ``LOOK_EVERY``-th frame; the frames between place the
#: remembered grid where their eyes are (the frame is rigid with the head).
LOOK_EVERY = 3
#: The mask is grown by one work-grid pixel (the anti-aliased edge of a rim comes back whole)
#: and feathered by sampling the grid bilinearly; for a face smaller than the grid, by a
#: Gaussian of this sigma (pixels) as well.
FEATHER_PX = 0.8
#: The mask's box reaches this far (eye distances) past the frame: the skin ``fill_frame``
#: fills the frame from.
BOX_MARGIN = 0.05
#: How much of a pixel must be frame (``GlassesMask.alpha``) for ``fill_frame`` to fill all of
#: it: the feathered edge of a rim is part rim.
FILL_FULL = 0.5
#: The fill trusts a level's own mean fully from half a pixel's weight up (``_FILL_TRUST``),
#: and takes no weight as less than ``_FILL_TINY``.
_FILL_TRUST = np.float32(2.0)
_FILL_TINY = np.float32(1e-6)

_EYE_OPENINGS = (
    RIGHT_EYE_UPPER + RIGHT_EYE_LOWER[-2:0:-1],
    LEFT_EYE_UPPER + LEFT_EYE_LOWER[-2:0:-1],
)


@dataclass(frozen=True)
class EyeAxes:
    """The eye-aligned frame of a face.

    Attributes:
        middle: ``(2,)`` pixel point halfway between the eye centres (midpoints of the corners).
        axis: ``(2,)`` unit vector from the subject's right eye to the left (image +x upright).
        normal: ``(2,)`` unit normal, pointing down the face.
        distance: Distance between the eye centres (pixels): the unit of every size here.
    """

    middle: np.ndarray
    axis: np.ndarray
    normal: np.ndarray
    distance: float

    @classmethod
    def of(cls, landmarks: np.ndarray) -> EyeAxes:
        """The axes of ``(478, 2+)`` landmark pixels."""
        (r0, r1), (l0, l1) = RIGHT_EYE_CORNERS, LEFT_EYE_CORNERS
        right = (landmarks[r0, :2].astype(np.float64) + landmarks[r1, :2]) / 2
        left = (landmarks[l0, :2].astype(np.float64) + landmarks[l1, :2]) / 2
        step = left - right
        distance = float(np.hypot(step[0], step[1]))
        axis = step / max(distance, 1e-9)
        return cls(
            middle=(right + left) / 2, axis=axis, normal=np.array([-axis[1], axis[0]]),
            distance=distance,
        )  # fmt: skip

    def grid(self, px_per_eye: float, along: float, across: float) -> np.ndarray:
        """``(2, 3)`` affine map from the pixels of an eye-aligned grid of ``px_per_eye`` pixels
        per eye distance whose pixel (0, 0) lies at (``along``, ``across``) to frame pixels."""
        scale = self.distance / px_per_eye
        origin = self.to_pixels(np.array(along), np.array(across))
        return np.column_stack([self.axis * scale, self.normal * scale, origin])

    def to_pixels(self, along: np.ndarray, across: np.ndarray) -> np.ndarray:
        """``(..., 2)`` pixel points of eye-distance coordinates."""
        along, across = np.asarray(along)[..., None], np.asarray(across)[..., None]
        return self.middle + (along * self.axis + across * self.normal) * self.distance


@dataclass(frozen=True)
class GlassesMask:
    """Where the glasses frame is on one frame.

    Attributes:
        box: ``(x0, y0, x1, y1)`` even-aligned pixel box of the frame and ``BOX_MARGIN`` around
            it (exclusive end).
        alpha: ``(y1 - y0, x1 - x0) float32`` 0..1: how much of each pixel is frame (feathered).
    """

    box: tuple[int, int, int, int]
    alpha: np.ndarray

    def __post_init__(self) -> None:
        x0, y0, x1, y1 = self.box
        if any(v % 2 for v in self.box):
            raise ValueError("the box must be even-aligned (the chroma is at half resolution)")
        if self.alpha.shape != (y1 - y0, x1 - x0):
            raise ValueError("alpha must cover the box")


def _thin_lines(image: np.ndarray, kernel: int) -> np.ndarray:
    """``uint8`` response of dark and bright strokes narrower than ``kernel`` pixels."""
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel, kernel))
    dark = cv2.morphologyEx(image, cv2.MORPH_BLACKHAT, k)
    bright = cv2.morphologyEx(image, cv2.MORPH_TOPHAT, k)
    return np.maximum(dark, bright)


def _contrast(image: np.ndarray) -> float:
    lo, hi = np.percentile(image, (10, 90))
    return max(float(hi - lo), MIN_CONTRAST)


def _resample(y_plane: np.ndarray, to_frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The ``size`` (columns, rows) grid of a luma plane that ``to_frame`` places, bilinear."""
    return cv2.warpAffine(
        y_plane, to_frame, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip


def eye_patch(y_plane: np.ndarray, axes: EyeAxes) -> np.ndarray:
    """The eye-aligned ``uint8`` patch of a luma plane (``PATCH_*``), bilinear."""
    size = (
        round((PATCH_ALONG[1] - PATCH_ALONG[0]) * PATCH_PX_PER_EYE),
        round((PATCH_ACROSS[1] - PATCH_ACROSS[0]) * PATCH_PX_PER_EYE),
    )
    return _resample(y_plane, axes.grid(PATCH_PX_PER_EYE, PATCH_ALONG[0], PATCH_ACROSS[0]), size)


def bridge_score(y_plane: np.ndarray, landmarks: np.ndarray) -> float:
    """How strongly one frame shows a glasses bridge between the eyes.

    The median thin-line response along the strongest straight line across the bridge zone
    (``BRIDGE_*``; each column takes the best of three rows, so a slightly bent bar counts), in
    percent of the eye patch's contrast.

    Args:
        y_plane: ``(H, W) uint8`` luma of the frame.
        landmarks: ``(478, 2+)`` the face's landmark pixels on it.
    """
    axes = EyeAxes.of(landmarks)
    if axes.distance < 4:
        return 0.0
    patch = eye_patch(y_plane, axes)
    lines = _thin_lines(patch, PATCH_KERNEL_PX)
    lines = np.maximum(lines, np.maximum(np.roll(lines, 1, axis=0), np.roll(lines, -1, axis=0)))
    px = PATCH_PX_PER_EYE
    j0, j1 = (round((a - PATCH_ALONG[0]) * px) for a in BRIDGE_ALONG)
    i0, i1 = (round((a - PATCH_ACROSS[0]) * px) for a in BRIDGE_ACROSS)
    cols = np.arange(j0, j1)
    best = 0.0
    for slope in BRIDGE_SLOPES:
        rows = np.arange(i0, i1)[:, None] + np.round((cols - cols.mean()) * slope).astype(int)
        along_line = lines[np.clip(rows, 0, lines.shape[0] - 1), cols[None, :]]
        best = max(best, float(np.median(along_line, axis=1).max()))
    return 100.0 * best / _contrast(patch)


def _even_box(
    points: np.ndarray, bounds: tuple[int, int, int, int]
) -> tuple[int, int, int, int] | None:
    lo = np.floor(points.min(axis=0)).astype(int) // 2 * 2
    hi = -(-np.ceil(points.max(axis=0)).astype(int) // 2) * 2
    # odd bounds are taken inwards to even: the chroma planes are at half resolution
    x0, y0 = max(int(lo[0]), -(-bounds[0] // 2) * 2), max(int(lo[1]), -(-bounds[1] // 2) * 2)
    x1, y1 = min(int(hi[0]), bounds[2] // 2 * 2), min(int(hi[1]), bounds[3] // 2 * 2)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    return x0, y0, x1, y1


#: ``(columns, rows)`` of the eye-aligned work grid the frame is found in (``MASK_*`` at
#: ``WORK_PX_PER_EYE``).
WORK_SIZE = (
    round((MASK_ALONG[1] - MASK_ALONG[0]) * WORK_PX_PER_EYE),
    round((MASK_ACROSS[1] - MASK_ACROSS[0]) * WORK_PX_PER_EYE),
)


def _work_to_frame(axes: EyeAxes) -> np.ndarray:
    """``(2, 3)`` affine map from work-grid pixels to frame pixels."""
    return axes.grid(WORK_PX_PER_EYE, MASK_ALONG[0], MASK_ACROSS[0])


def frame_pixels(
    y_plane: np.ndarray, landmarks: np.ndarray, axes: EyeAxes | None = None
) -> np.ndarray | None:
    """Where the glasses frame is on one frame, in the eye-aligned work grid.

    Args:
        y_plane: ``(H, W) uint8`` luma of the original frame.
        landmarks: ``(478, 2+)`` the face's tracked landmark pixels on it.
        axes: Their ``EyeAxes`` (computed if not given).

    Returns:
        ``(WORK_SIZE[1], WORK_SIZE[0]) uint8`` 1 on the frame, 0 elsewhere; None for a face too
        small to look at.
    """
    axes = axes or EyeAxes.of(landmarks)
    if axes.distance < 8:
        return None
    to_frame = _work_to_frame(axes)
    work = _resample(y_plane, to_frame, WORK_SIZE)
    eye_px = WORK_PX_PER_EYE
    lines = _thin_lines(work, max(3, round(LINE_KERNEL * eye_px) | 1))
    # the statistics on every 4th pixel: the same to a level, a tenth of the time
    noise = float(np.median(lines[::4, ::4]))
    contrast = _contrast(work[::4, ::4])
    to_work = cv2.invertAffineTransform(to_frame)
    polys = []
    for opening in _EYE_OPENINGS:
        points = landmarks[list(opening), :2].astype(np.float64)
        polys.append(np.round(points @ to_work[:, :2].T + to_work[:, 2]).astype(np.int32))
    lids = np.zeros(lines.shape, np.uint8)
    cv2.polylines(lids, polys, True, 1, thickness=2 * round(LID_BAND * eye_px) + 1)
    found = np.zeros(lines.shape, np.uint8)
    for fraction, length in ((LINE_THRESHOLD, MIN_PIECE), (FAINT_THRESHOLD, FAINT_PIECE)):
        threshold = max(fraction * contrast, LINE_NOISE * noise)
        found |= _pieces(cv2.threshold(lines, threshold, 1, cv2.THRESH_BINARY)[1], polys, lids,
                         length * eye_px)  # fmt: skip
    return found


def _pieces(
    found: np.ndarray, polys: list[np.ndarray], lids: np.ndarray, length: float
) -> np.ndarray:
    """``uint8`` 1 on the connected pieces of line pixels ``found`` (modified) at least
    ``length`` long, outside the eye openings ``polys`` and not lying along a lid (``lids``:
    the band along them)."""
    # the eye openings, widened by an outline as thick as twice the clearance
    cv2.fillPoly(found, polys, 0)
    clearance = max(1, round(EYE_CLEARANCE * WORK_PX_PER_EYE))
    cv2.polylines(found, polys, True, 0, thickness=2 * clearance + 1)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(found, connectivity=8)
    keep = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]) >= length
    keep[0] = False
    # a piece lying mostly along a lid is its lashes or crease; a rim passing close by is not
    along_lids = np.bincount(labels[lids > 0], minlength=n)
    keep &= along_lids <= LID_SHARE * stats[:, cv2.CC_STAT_AREA]
    return keep.astype(np.uint8)[labels]


@dataclass(frozen=True)
class FrameGrid:
    """The glasses frame in the eye-aligned work grid, ready to be placed on a frame.

    Attributes:
        pixels: ``(WORK_SIZE[1], WORK_SIZE[0]) float32``: 1 on the frame (grown by a work
            pixel: the anti-aliased edge of a rim, a little skin beside it).
        extent: ``(x0, y0, x1, y1)`` work pixels of the frame and ``BOX_MARGIN`` around it.
    """

    pixels: np.ndarray
    extent: tuple[float, float, float, float]

    @classmethod
    def of(cls, pixels: np.ndarray) -> FrameGrid | None:
        """The grid of ``frame_pixels``'s output; None where there is no frame."""
        if not pixels.any():
            return None
        pixels = cv2.dilate(pixels, np.ones((3, 3), np.uint8))
        x, y, w, h = cv2.boundingRect(pixels)
        margin = BOX_MARGIN * WORK_PX_PER_EYE + 2
        return cls(
            pixels=pixels.astype(np.float32),
            extent=(x - margin, y - margin, x + w + margin, y + h + margin),
        )

    def place(self, axes: EyeAxes, bounds: tuple[int, int, int, int]) -> GlassesMask | None:
        """The mask on the frame whose eyes lie at ``axes`` (None where its box is empty).

        Args:
            axes: The face's ``EyeAxes`` on this frame.
            bounds: ``(x0, y0, x1, y1)`` even-aligned region the mask may cover (the warp's roi).
        """
        to_frame = _work_to_frame(axes)
        ex0, ey0, ex1, ey1 = self.extent
        corners = np.array([(ex0, ey0), (ex1, ey0), (ex0, ey1), (ex1, ey1)])
        box = _even_box(corners @ to_frame[:, :2].T + to_frame[:, 2], bounds)
        if box is None:
            return None
        x0, y0, x1, y1 = box
        work_px = axes.distance / WORK_PX_PER_EYE
        # a grid coarser than 1.5 frame pixels is sampled at half the frame's resolution and
        # scaled up: the same bilinear feather, a quarter of the sampling
        step = 2 if work_px >= 1.5 else 1
        box_to_work = cv2.invertAffineTransform(to_frame)
        origin = np.array([x0, y0], np.float64) + (step - 1) / 2
        box_to_work[:, 2] += box_to_work[:, :2] @ origin
        box_to_work[:, :2] *= step
        size = (x1 - x0, y1 - y0)
        # bilinear sampling feathers the edge by about a work pixel
        alpha = cv2.warpAffine(
            self.pixels, box_to_work, (size[0] // step, size[1] // step),
            flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT,
            borderValue=0.0,
        )  # fmt: skip
        if step > 1:
            alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_LINEAR)
        if work_px < 1.0:  # a small face: the grid is finer than the frame, feather by a pixel
            alpha = cv2.GaussianBlur(alpha, (0, 0), FEATHER_PX)
        return GlassesMask(box=box, alpha=alpha)


def mask_of(
    pixels: np.ndarray,
    landmarks: np.ndarray,
    bounds: tuple[int, int, int, int],
    axes: EyeAxes | None = None,
) -> GlassesMask | None:
    """The frame's mask in the frame from its pixels in the work grid (``frame_pixels``).

    Args:
        pixels: ``(WORK_SIZE[1], WORK_SIZE[0]) uint8`` 1 on the glasses frame.
        landmarks: ``(478, 2+)`` the face's tracked landmark pixels (they place the grid).
        bounds: ``(x0, y0, x1, y1)`` even-aligned region the mask may cover (the warp's roi).
        axes: Their ``EyeAxes`` (computed if not given).

    Returns:
        The mask, None where the box is empty or there is no frame.
    """
    grid = FrameGrid.of(pixels)
    return None if grid is None else grid.place(axes or EyeAxes.of(landmarks), bounds)


def glasses_mask(
    y_plane: np.ndarray, landmarks: np.ndarray, bounds: tuple[int, int, int, int]
) -> GlassesMask | None:
    """The glasses frame on one frame alone (of a face known to wear glasses).

    Args:
        y_plane: ``(H, W) uint8`` luma of the original frame.
        landmarks: ``(478, 2+)`` the face's tracked landmark pixels on it.
        bounds: ``(x0, y0, x1, y1)`` even-aligned region the mask may cover (the warp's roi).

    Returns:
        The mask, or None where the box is empty or nothing in it looks like a frame.
    """
    pixels = frame_pixels(y_plane, landmarks)
    return None if pixels is None else mask_of(pixels, landmarks, bounds)


def fill_frame(frame: np.ndarray, mask: GlassesMask) -> np.ndarray:
    """A copy of the yuv420p ``frame`` with its glasses frame filled in from the skin around it,
    for the warp to resample: a pixel fully frame (``FILL_FULL`` of ``alpha`` and more) takes
    the fill, its feathered edge part of it. The fill is pushed down and pulled up a pyramid
    (``_filled``): a rim a few pixels wide takes the skin beside it, a wider piece (a nose pad,
    a hinge) the skin around it."""
    h = frame.shape[0] * 2 // 3
    w = frame.shape[1]
    out = frame.copy()
    x0, y0, x1, y1 = mask.box
    frame_part = np.minimum(mask.alpha * np.float32(1.0 / FILL_FULL), np.float32(1.0))
    out[y0:y1, x0:x1] = _filled(frame[y0:y1, x0:x1], frame_part)
    half = cv2.resize(frame_part, ((x1 - x0) // 2, (y1 - y0) // 2), interpolation=cv2.INTER_AREA)
    chroma = out[h:].reshape(2, h // 2, w // 2)
    for plane in chroma:
        sl = (slice(y0 // 2, y1 // 2), slice(x0 // 2, x1 // 2))
        plane[sl] = _filled(plane[sl], half)
    return out


def _filled(plane: np.ndarray, frame_part: np.ndarray) -> np.ndarray:
    """``uint8`` ``plane`` with each pixel's ``frame_part`` (0..1) replaced by the mean of the
    pixels around it that are not frame: their sums and weights halved in size down a pyramid
    until every pixel of a level has weight (or the level is one pixel), then each level's own
    mean, where it has weight, over the coarser level's. A pixel no level reaches takes the mean
    of all the plane's pixels that are not frame; a plane that is all frame is left as it is."""
    keep = np.float32(1.0) - frame_part
    kept = float(keep.sum())
    if kept <= 0.0:
        return plane.copy()
    num = plane.astype(np.float32) * keep
    mean = np.float32(float(num.sum()) / kept)
    levels: list[tuple[np.ndarray, np.ndarray]] = [(num, keep)]
    while max(num.shape) > 1 and float(levels[-1][1].min()) <= 0.0:
        num, den = cv2.pyrDown(levels[-1][0]), cv2.pyrDown(levels[-1][1])
        levels.append((num, den))
    num, den = levels[-1]
    fill = np.where(den > 0.0, num / np.maximum(den, _FILL_TINY), mean).astype(np.float32)
    for num, den in reversed(levels[:-1]):
        coarse = cv2.pyrUp(fill, dstsize=(num.shape[1], num.shape[0]))
        own = np.minimum(den * _FILL_TRUST, np.float32(1.0))
        fill = own * (num / np.maximum(den, _FILL_TINY)) + (np.float32(1.0) - own) * coarse
    out = keep * plane.astype(np.float32) + frame_part * fill
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def restore(
    frame: np.ndarray,
    roi: tuple[int, int, int, int],
    planes: tuple[np.ndarray, np.ndarray, np.ndarray],
    mask: GlassesMask,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The face region with the original pixels put back under the glasses frame.

    Args:
        frame: ``(H * 3 // 2, W) uint8`` the original yuv420p frame.
        roi: ``(x0, y0, x1, y1)`` where ``planes`` lie in it.
        planes: Y at full and U, V at half resolution, ``uint8`` (not modified).
        mask: The glasses frame (its box inside ``roi``).
    """
    h = frame.shape[0] * 2 // 3
    w = frame.shape[1]
    chroma = frame[h:].reshape(2, h // 2, w // 2)
    x0, y0, x1, y1 = mask.box
    rx, ry = x0 - roi[0], y0 - roi[1]
    originals = (frame[y0:y1, x0:x1], chroma[0, y0 // 2 : y1 // 2, x0 // 2 : x1 // 2],
                 chroma[1, y0 // 2 : y1 // 2, x0 // 2 : x1 // 2])  # fmt: skip
    half = cv2.resize(mask.alpha, ((x1 - x0) // 2, (y1 - y0) // 2), interpolation=cv2.INTER_AREA)
    weights = [(mask.alpha, 1.0 - mask.alpha), (half, 1.0 - half)]
    out = []
    for k, (plane, original) in enumerate(zip(planes, originals, strict=True)):
        d = 1 if k == 0 else 2
        alpha, rest = weights[min(k, 1)]
        rows, cols = original.shape
        sl = (slice(ry // d, ry // d + rows), slice(rx // d, rx // d + cols))
        new = plane.copy()
        new[sl] = cv2.blendLinear(original, plane[sl], alpha, rest)
        out.append(new)
    return out[0], out[1], out[2]


class GlassesKeeper:
    """Decides once per clip whether the face wears glasses, and keeps the frame of each frame.

    The decision is the median ``bridge_score`` of the first ``DECISION_FRAMES`` frames it is
    shown (before that, of those seen so far), kept for the clip; a frame index lower than the
    last one seen starts a new clip. Used by the warp renderer's glasses part.
    """

    def __init__(self) -> None:
        self._scores: list[float] = []
        self._wears = False
        self._last_index = -1
        self._mask: tuple[int, np.ndarray, GlassesMask | None] | None = None
        self._memory: np.ndarray | None = None
        self._grid: FrameGrid | None = None
        self._looked = -1

    def reset(self) -> None:
        """Forget the clip: the next frame starts a new decision."""
        self._scores = []
        self._wears = False
        self._last_index = -1
        self._mask = None
        self._memory = None
        self._grid = None
        self._looked = -1

    def _follow(self, index: int) -> None:
        if index < self._last_index:
            self.reset()

    def active(self, index: int) -> bool:
        """Whether frame ``index`` may have glasses to keep (False once a clip is decided
        without)."""
        self._follow(index)
        return not self.decided or self.wears_glasses

    @property
    def decided(self) -> bool:
        """The clip's decision is final."""
        return len(self._scores) >= DECISION_FRAMES

    @property
    def wears_glasses(self) -> bool:
        """The decision so far (False before any frame)."""
        return self._wears

    def _see(self, index: int, y_plane: np.ndarray, landmarks: np.ndarray) -> None:
        self._follow(index)
        if index != self._last_index and not self.decided:
            self._scores.append(bridge_score(y_plane, landmarks))
            self._wears = float(np.median(self._scores)) > BRIDGE_SCORE
        self._last_index = index

    def mask(
        self, index: int, frame: np.ndarray, landmarks: np.ndarray, roi: tuple[int, int, int, int]
    ) -> GlassesMask | None:
        """The glasses frame on frame ``index`` (None when the clip has no glasses).

        Args:
            index: The frame's index in the clip.
            frame: ``(H * 3 // 2, W) uint8`` the original yuv420p frame.
            landmarks: ``(478, 2+)`` tracked landmark pixels.
            roi: The warp's region.
        """
        last = self._mask
        if last is not None and last[0] == index and np.array_equal(last[1], landmarks):
            return last[2]
        y_plane = frame[: frame.shape[0] * 2 // 3]
        self._see(index, y_plane, landmarks)
        if not self.wears_glasses:
            self._mask = (index, landmarks, None)
            return None
        axes = EyeAxes.of(landmarks)
        if self._looked < 0 or not 0 <= index - self._looked < LOOK_EVERY:
            self._look(y_plane, landmarks, axes)
            self._looked = index
        found = None if self._grid is None else self._grid.place(axes, roi)
        self._mask = (index, landmarks, found)
        return found

    def _look(self, y_plane: np.ndarray, landmarks: np.ndarray, axes: EyeAxes) -> None:
        """Find the frame on this frame and update the remembered grid."""
        pixels = frame_pixels(y_plane, landmarks, axes)
        if pixels is None:
            self._grid = None
            return
        # the frame is rigid with the head: what the recent frames saw in the eye-aligned grid
        # fills what this one misses (a rim fading as the light on it changes)
        if self._memory is None:
            self._memory = pixels.astype(np.float32)
        else:
            self._memory += MEMORY_RATE * (pixels - self._memory)
        self._grid = FrameGrid.of(
            np.maximum(pixels, (self._memory >= MEMORY_SHARE).astype(np.uint8))
        )


__all__ = [
    "BRIDGE_SCORE",
    "EyeAxes",
    "FrameGrid",
    "GlassesKeeper",
    "GlassesMask",
    "bridge_score",
    "fill_frame",
    "frame_pixels",
    "glasses_mask",
    "mask_of",
    "restore",
]
