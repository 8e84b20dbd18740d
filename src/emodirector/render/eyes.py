"""Re-compositing the eyes over the mesh warp: a rigid eyeball behind moving eyelids.

The mesh warp treats the eye opening like skin: widening the lids (surprise, fear) stretches the
eye's contents vertically, so the iris turns oval and the newly shown strip is a smear of lid and
lash colour; narrowing them (a smile, anger) squashes the contents instead of letting the lid
close over the eye. Each eye is therefore redrawn in a small box around it:

1. The *eyeball layer* is the original frame's eye content moved rigidly by the displacement of
   the iris centre landmark (the editor moves the irises with their eye corners and never turns
   the gaze), sampled bilinearly and never stretched.
2. Inside the *edited* aperture (the polygon of the edited upper lid and the reversed lower lid,
   inset by a fraction of a pixel so that the warped lid margin keeps the lash line dark) the
   output takes this layer through an anti-aliased polygon mask; outside it, the warp's pixels
   (lid skin) stay. A narrowed lid thus cuts the rigid iris off cleanly.
3. Where the layer has no real content, because its pixel moved back into the original frame
   falls outside the original aperture (or inside the band next to a lid that opened, where the
   original shows lash shadow), it is synthesised from the actor's own eye in this frame. Inside
   the rigid iris circle (centre landmark, radius from the four boundary landmarks) the iris is
   mirrored about the eye axis through its centre from the visible half, or, where the mirror is
   hidden too, filled with the visible iris's median per one-pixel radius ring, so the pupil
   stays a pupil. Elsewhere it is the sclera: the median of the brighter half of the visible
   sclera (inside the original aperture, outside the iris, away from the corners), shaded a
   little darker towards the corners and in a lash-shadow band under the upper lid.

Y is processed at full and U, V at half resolution with the same geometry (chroma pixel ``j`` at
luma ``2 j``, as the warp samples it). An eye is left exactly as the warp made it when its lids
barely move relative to the iris, when it is nearly closed in the original (a blink: there is no
eyeball to copy), when its sclera is barely brighter than its iris (a dark or shadowed eye: no
sclera to synthesise from) or when its box leaves the warped region or the frame, so
``dst == src`` gives the warp's output byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from emodirector.face_model import (
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LEFT_IRIS,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    RIGHT_IRIS,
)
from emodirector.ramps import smoothstep
from emodirector.render.warp import WarpField

#: Below this largest lid landmark move (pixels, relative to the iris) an eye is left alone.
MIN_LID_MOVE_PX = 0.3
#: An eye whose mean lid gap is below this fraction of its width is closed (a blink): left alone.
MIN_OPEN_FRACTION = 0.1
#: Lid gap (fraction of the eye width) from which an eye is redrawn fully; between
#: ``MIN_OPEN_FRACTION`` and this the redrawn eye fades in.
FULL_OPEN_FRACTION = 0.14
#: Least luma step (levels) from the iris to the visible sclera for an eye to be redrawn: a
#: dark, shadowed or tiny eye gives no reliable sclera to synthesise from.
MIN_EYE_CONTRAST = 35.0
#: Contrast from which an eye is redrawn fully (it fades in from ``MIN_EYE_CONTRAST``).
FULL_EYE_CONTRAST = 50.0
#: The output blend edge sits this far (pixels) inside the edited aperture: the warp carries
#: the lid margin and lash line up to it.
EDGE_INSET_PX = 0.5
#: Largest inset (fraction of the mean lid gap, and at least ``_MIN_MARGIN_PX``) of the original
#: aperture next to a lid that opens: that band shows lash shadow and lid margin, not eyeball.
MARGIN_UPPER_FRACTION = 0.18
MARGIN_LOWER_FRACTION = 0.1
_MIN_MARGIN_PX = 1.0
#: Largest measured margin band, as a fraction of the lid gap.
_MAX_MARGIN_FRACTION = 0.4
#: Least luma step (levels) from the band to the sclera for a margin to be measured.
_MIN_LASH_CONTRAST = 20.0
#: Lid opening (pixels) over which its band's exclusion from the rigid layer fades in.
_OPENING_PX = 0.5
#: The rigid layer drops this multiple of the band next to an opened lid: the band moves with
#: the lid, and its soft tail of shadow would otherwise show as a second lid line.
_VALID_INSET = 1.6
#: Synthetic sclera shading: luma loss at the corners, and of the lash shadow under the upper
#: lid, whose width is this fraction of the eye width.
CORNER_SHADE = 0.18
LASH_SHADE = 0.4
LASH_WIDTH_FRACTION = 0.08
#: Mirrored iris luma above its ring's median by more than this (a catchlight) is clamped.
_HIGHLIGHT_CLAMP = 12.0
#: Sclera samples: outside this multiple of the iris radius, within this fraction of the half
#: width of the eye centre.
_SCLERA_IRIS_CLEAR = 1.15
_SCLERA_CENTRE_FRACTION = 0.75
#: Padding (pixels) of the eye box around everything drawn.
_PAD_PX = 3

_EYES = (
    (RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_IRIS),
    (LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_IRIS),
)
_AA_SHIFT = 4  # sub-pixel bits of the polygon vertices


@dataclass(frozen=True)
class _Lid:
    """One edited lid as a curve over the eye axis, in luma pixels.

    Attributes:
        along: ``(9,)`` increasing positions of its landmarks along the eye axis.
        across: ``(9,)`` their positions along the (downward) normal.
        move: ``(9, 2)`` their displacement (edited minus tracked).
        margin: Thickness of the lid margin band (lashes, their shadow) it carries along.
    """

    along: np.ndarray
    across: np.ndarray
    move: np.ndarray
    margin: float


@dataclass(frozen=True)
class _EyeGeometry:
    """One eye's edit, in luma pixels.

    Attributes:
        box: ``(x0, y0, x1, y1)`` even-aligned output box in the frame.
        source_box: Even-aligned box of the original frame the box samples from.
        shift: ``(2,)`` rigid move of the eyeball (edited minus tracked iris centre).
        centre: ``(2,)`` tracked iris centre.
        radius: Iris radius.
        axis: ``(2,)`` unit vector from corner to corner (pointing to +x).
        normal: ``(2,)`` unit normal of ``axis`` (pointing down).
        middle: ``(2,)`` midpoint of the tracked corners.
        half_width: Half the eye width.
        valid: ``(N, 2)`` polygon of the original aperture whose content the rigid layer keeps:
            inset, next to a lid that opens, by the lid margin band (which moves with the lid).
        eyeball: ``(N, 2)`` polygon of the original aperture less both margin bands: where
            the iris and sclera are sampled.
        aperture: ``(N, 2)`` polygon of the edited aperture, inset by ``EDGE_INSET_PX``.
        upper: The edited upper lid.
        lower: The edited lower lid.
        strength: 0..1 how much of the redrawn eye replaces the warp's (it fades in over the
            blink and contrast thresholds).
    """

    box: tuple[int, int, int, int]
    source_box: tuple[int, int, int, int]
    shift: np.ndarray
    centre: np.ndarray
    radius: float
    axis: np.ndarray
    normal: np.ndarray
    middle: np.ndarray
    half_width: float
    valid: np.ndarray
    eyeball: np.ndarray
    aperture: np.ndarray
    upper: _Lid
    lower: _Lid
    strength: float = 1.0


def _polygon(upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """The aperture polygon: the upper lid corner to corner, then the lower lid back."""
    return np.concatenate([upper, lower[-2:0:-1]])


def _even_box(lo: np.ndarray, hi: np.ndarray) -> tuple[int, int, int, int]:
    x0, y0 = (int(np.floor(v)) // 2 * 2 for v in lo)
    x1, y1 = (-(-int(np.ceil(v)) // 2) * 2 for v in hi)
    return x0, y0, x1, y1


def _inside(box: tuple[int, int, int, int], bounds: tuple[int, int, int, int]) -> bool:
    return (
        box[0] >= bounds[0] and box[1] >= bounds[1] and box[2] <= bounds[2] and box[3] <= bounds[3]
    )


def _lid(
    edited: np.ndarray, tracked: np.ndarray, axis: np.ndarray, normal: np.ndarray, margin: float
) -> _Lid:
    along = edited @ axis
    order = np.argsort(along, kind="stable")
    return _Lid(
        along=along[order],
        across=(edited @ normal)[order],
        move=(edited - tracked)[order],
        margin=margin,
    )


def _geometry(
    src: np.ndarray,
    dst: np.ndarray,
    groups: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]],
    roi: tuple[int, int, int, int],
    frame_size: tuple[int, int],
    y_plane: np.ndarray | None = None,
) -> _EyeGeometry | None:
    """One eye's geometry, or None when it is to be left as the warp made it.

    With ``y_plane``, the margin bands are measured on the original eye (``_measure_margins``);
    without, they are the default fractions of the lid gap.
    """
    upper_i, lower_i, iris_i = (list(g) for g in groups)
    su, sl = src[upper_i, :2].astype(np.float64), src[lower_i, :2].astype(np.float64)
    du, dl = dst[upper_i, :2].astype(np.float64), dst[lower_i, :2].astype(np.float64)
    centre = src[iris_i[0], :2].astype(np.float64)
    shift = dst[iris_i[0], :2].astype(np.float64) - centre
    moved = max(
        float(np.linalg.norm(du - su - shift, axis=1).max()),
        float(np.linalg.norm(dl - sl - shift, axis=1).max()),
    )
    if not np.isfinite(moved) or moved < MIN_LID_MOVE_PX:
        return None
    span = su[-1] - su[0]
    width = float(np.linalg.norm(span))
    if width < 4.0:
        return None
    axis = span / width if span[0] >= 0 else -span / width
    normal = np.array([-axis[1], axis[0]])
    gap = float(((sl[1:-1] - su[1:-1]) @ normal).mean())
    # fade in over the thresholds, so an eye near them does not pop between frames
    strength = _ramp(gap / width, MIN_OPEN_FRACTION, FULL_OPEN_FRACTION)
    if strength <= 0.0:
        return None
    radius = float(np.linalg.norm(src[iris_i[1:], :2] - centre, axis=1).mean())
    # the boxes do not depend on the margins
    circles = np.concatenate([centre + (-radius, radius), centre + shift + (-radius, radius)])
    pts = np.concatenate([su, sl, du, dl, circles.reshape(-1, 2)])
    box = _even_box(pts.min(axis=0) - _PAD_PX, pts.max(axis=0) + _PAD_PX)
    reach = float(np.abs(np.concatenate([du - su, dl - sl, shift[None]])).max()) + _PAD_PX
    source_box = _even_box(
        np.array(box[:2], np.float64) - reach, np.array(box[2:], np.float64) + reach
    )
    w, h = frame_size
    if not _inside(box, roi) or not _inside(source_box, (0, 0, w, h)):
        return None
    au, al = du.copy(), dl.copy()
    au[1:-1] += EDGE_INSET_PX * normal
    al[1:-1] -= EDGE_INSET_PX * normal
    first, last = (0, -1) if (du[-1] - du[0]) @ axis > 0 else (-1, 0)
    au[first] += EDGE_INSET_PX * axis
    au[last] -= EDGE_INSET_PX * axis
    aperture = _polygon(au, al)
    # next to a lid that opened, the original's margin band moves with the lid, not the eyeball
    # (fully once the lid opens by _OPENING_PX: the band then lies inside the revealed strip)
    open_up = _clip(((du - shift - su) @ -normal)[1:-1] / _OPENING_PX, 0.0, 1.0)
    open_low = _clip(((dl - shift - sl) @ normal)[1:-1] / _OPENING_PX, 0.0, 1.0)

    def shaped(margin_up: float, margin_low: float, strength: float) -> _EyeGeometry:
        """The eye with these lid margin bands."""
        vu, vl = su.copy(), sl.copy()
        vu[1:-1] += (_VALID_INSET * margin_up * open_up)[:, None] * normal
        vl[1:-1] -= (_VALID_INSET * margin_low * open_low)[:, None] * normal
        eu, el = su.copy(), sl.copy()
        eu[1:-1] += margin_up * normal
        el[1:-1] -= margin_low * normal
        return _EyeGeometry(
            box=box,
            source_box=source_box,
            shift=shift,
            centre=centre,
            radius=radius,
            axis=axis,
            normal=normal,
            middle=(su[0] + su[-1]) / 2,
            half_width=width / 2,
            valid=_polygon(vu, vl),
            eyeball=_polygon(eu, el),
            aperture=aperture,
            upper=_lid(du, su, axis, normal, margin_up),
            lower=_lid(dl, sl, axis, normal, margin_low),
            strength=strength,
        )

    margin_up = max(_MIN_MARGIN_PX, MARGIN_UPPER_FRACTION * gap)
    margin_low = max(_MIN_MARGIN_PX, MARGIN_LOWER_FRACTION * gap)
    rough = shaped(margin_up, margin_low, strength)
    if y_plane is None:
        return rough
    sx0, sy0, sx1, sy1 = source_box
    crop = y_plane[sy0:sy1, sx0:sx1]
    sclera_px = crop[_sclera_mask(crop, rough)]
    xs = np.arange(sx0, sx1) - centre[0]
    ys = np.arange(sy0, sy1)[:, None] - centre[1]
    iris_px = crop[np.hypot(xs, ys) < 0.5 * radius]
    if not sclera_px.size or not iris_px.size:
        return None
    sclera = _median(sclera_px)
    # no sclera to speak of (a dark or shadowed eye): keep the warp
    strength *= _ramp(sclera - _median(iris_px), MIN_EYE_CONTRAST, FULL_EYE_CONTRAST)
    if strength <= 0.0:
        return None
    margin_up, margin_low = (
        _measure_margin(y_plane, lid, sign * normal, centre, radius, axis, sclera, gap, m)
        for lid, sign, m in ((su, 1.0, margin_up), (sl, -1.0, margin_low))
    )
    return shaped(margin_up, margin_low, strength)


def _median(values: np.ndarray) -> float:
    """``np.median`` of a 1-D ``uint8`` or ``float64`` array (the same value: the middle one,
    or the mean of the middle two in float64), without its overhead."""
    n = values.size
    half = n // 2
    if n % 2:
        return float(np.partition(values, half)[half])
    low, high = np.partition(values, (half - 1, half))[half - 1 : half + 1]
    return (float(low) + float(high)) / 2


def _clip(a: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``np.clip`` (same values, no NaN here) without its overhead, large on these small
    arrays."""
    return np.minimum(np.maximum(a, lo), hi)


def _ramp(value: float, lo: float, hi: float) -> float:
    """0 below ``lo``, 1 above ``hi``, smoothstep between."""
    return float(smoothstep((value - lo) / (hi - lo)))


def _measure_margin(
    y_plane: np.ndarray,
    lid: np.ndarray,
    inward: np.ndarray,
    centre: np.ndarray,
    radius: float,
    axis: np.ndarray,
    sclera: float,
    gap: float,
    default: float,
) -> float:
    """Thickness of the dark band (lashes, their shadow) inside a tracked lid, over the sclera.

    Walks inwards from each lid landmark beside the iris until the luma passes halfway from the
    band's darkest to the sclera; the median over those landmarks, ``default`` if none.
    """
    pts = lid[2:-2]
    pts = pts[np.abs((pts - centre) @ axis) > _SCLERA_IRIS_CLEAR * radius]
    if not len(pts):
        return default
    steps = np.arange(0.0, _MAX_MARGIN_FRACTION * gap, 0.5)
    probe = pts[:, None, :] + steps[None, :, None] * inward
    profile = cv2.remap(
        y_plane,
        probe[..., 0].astype(np.float32),
        probe[..., 1].astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    ).astype(np.float32)
    darkest = profile.min(axis=1, keepdims=True)
    lit = profile > (darkest + sclera) / 2
    past_dark = np.cumsum(profile <= darkest + 1, axis=1) > 0
    hit = lit & past_dark
    found = hit.any(axis=1) & (sclera - darkest[:, 0] > _MIN_LASH_CONTRAST)
    if not found.any():
        return default
    depth = steps[np.argmax(hit[found], axis=1)]
    return float(min(max(_median(depth), _MIN_MARGIN_PX), _MAX_MARGIN_FRACTION * gap))


def _fill(poly: np.ndarray, origin: np.ndarray, scale: float, shape: tuple[int, ...]) -> np.ndarray:
    """``shape float32`` anti-aliased coverage (0..1) of a polygon given in luma pixels."""
    canvas = np.zeros(shape, np.uint8)
    pts = np.round((poly * scale - origin) * (1 << _AA_SHIFT)).astype(np.int32)
    cv2.fillPoly(canvas, [pts.reshape(-1, 1, 2)], (255,), cv2.LINE_AA, _AA_SHIFT)
    return canvas.astype(np.float32) / 255.0


def _ring_medians(values: np.ndarray, radii: np.ndarray, n_bins: int) -> np.ndarray | None:
    """``(n_bins,)`` median of ``values`` per one-pixel ring of ``radii``, gaps interpolated."""
    if values.size == 0:
        return None
    bins = np.minimum(radii.astype(np.int64), n_bins - 1)
    order = np.lexsort((values, bins))
    bins, values = bins[order], values[order]
    counts = np.bincount(bins, minlength=n_bins)
    starts = np.cumsum(counts) - counts
    filled = np.flatnonzero(counts)
    med = values[starts[filled] + counts[filled] // 2]
    return np.interp(np.arange(n_bins), filled, med).astype(np.float32)


def _sample(crop: np.ndarray, x: np.ndarray, y: np.ndarray, border: int) -> np.ndarray:
    return cv2.remap(crop, x, y, cv2.INTER_LINEAR, borderMode=border).astype(np.float32)


@dataclass(frozen=True)
class _Raster:
    """What redrawing one eye on one plane needs that does not depend on the plane's values
    (the U and V planes share it). Coordinates are the plane's pixels; ``k`` is its subsampling.
    """

    k: int
    box: tuple[int, int, int, int]
    source_box: tuple[int, int, int, int]
    qx: np.ndarray
    qy: np.ndarray
    valid: np.ndarray
    rho: np.ndarray
    mx: np.ndarray
    my: np.ndarray
    mirror_ok: np.ndarray
    crho: np.ndarray
    in_iris: np.ndarray
    n_bins: int
    along: np.ndarray
    down: np.ndarray
    alpha: np.ndarray
    bands: tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]
    mask: np.ndarray


def _raster(eye: _EyeGeometry, scale: float, crop_shape: tuple[int, ...]) -> _Raster:
    """The value-independent part of ``_render_plane`` for a plane at ``scale``."""
    k = int(round(1 / scale))
    bx0, by0, bx1, by1 = (v // k for v in eye.box)
    sx0, sy0, sx1, sy1 = (v // k for v in eye.source_box)
    origin = np.array([sx0, sy0], np.float64)
    valid_src = _fill(eye.valid, origin, scale, crop_shape)
    eyeball_src = _fill(eye.eyeball, origin, scale, crop_shape)
    centre = eye.centre * scale - origin  # in crop coordinates
    radius = eye.radius * scale
    constant = cv2.BORDER_CONSTANT
    # output pixels (crop coordinates), and where the rigid layer samples them from
    shape = (by1 - by0, bx1 - bx0)
    xs = np.broadcast_to(np.arange(bx0 - sx0, bx1 - sx0, dtype=np.float32), shape)
    ys = np.broadcast_to(np.arange(by0 - sy0, by1 - sy0, dtype=np.float32)[:, None], shape)
    qx = xs - np.float32(eye.shift[0] * scale)
    qy = ys - np.float32(eye.shift[1] * scale)
    valid = _sample(valid_src, qx, qy, constant)
    # iris: mirrored about the eye axis through its centre, else its ring medians
    dx, dy = qx - np.float32(centre[0]), qy - np.float32(centre[1])
    rho = np.sqrt(dx * dx + dy * dy)
    across = dx * np.float32(eye.normal[0]) + dy * np.float32(eye.normal[1])
    mx = qx - 2 * across * np.float32(eye.normal[0])
    my = qy - 2 * across * np.float32(eye.normal[1])
    mirror_ok = _sample(eyeball_src, mx, my, constant)
    crho = np.hypot(
        np.arange(crop_shape[1]) - centre[0], np.arange(crop_shape[0])[:, None] - centre[1]
    )
    in_iris = (eyeball_src > 0.99) & (crho < radius)
    n_bins = max(1, int(np.ceil(radius)) + 1)
    # eye coordinates (luma pixels) of the output pixels
    px = (xs + np.float32(sx0)) / np.float32(scale)
    py = (ys + np.float32(sy0)) / np.float32(scale)
    along = px * np.float32(eye.axis[0]) + py * np.float32(eye.axis[1])
    down = px * np.float32(eye.normal[0]) + py * np.float32(eye.normal[1])
    alpha = _clip(radius - rho + 0.5, 0.0, 1.0)
    # the lid margin bands move with their lids
    # (the lower one only beside the iris: over it, its band is the iris's own lower edge)
    bands = []
    for lid, sign, keep in ((eye.lower, -1.0, 1 - alpha), (eye.upper, 1.0, 1.0)):
        depth = sign * (down - np.interp(along, lid.along, lid.across).astype(np.float32))
        band = _clip(lid.margin - depth + 0.5, 0.0, 1.0) * (depth > -1.0) * keep
        if not band.any():
            continue
        bx = xs - np.interp(along, lid.along, lid.move[:, 0]).astype(np.float32) * scale
        by = ys - np.interp(along, lid.along, lid.move[:, 1]).astype(np.float32) * scale
        bands.append((band, bx, by))
    mask = _fill(eye.aperture, np.array([bx0, by0], np.float64), scale, qx.shape)
    return _Raster(
        k=k,
        box=(bx0, by0, bx1, by1),
        source_box=(sx0, sy0, sx1, sy1),
        qx=qx,
        qy=qy,
        valid=valid,
        rho=rho,
        mx=mx,
        my=my,
        mirror_ok=mirror_ok,
        crho=crho[in_iris],
        in_iris=in_iris,
        n_bins=n_bins,
        along=along,
        down=down,
        alpha=alpha,
        bands=tuple(bands),
        mask=mask,
    )


def _render_plane(
    planes: tuple[np.ndarray, ...],
    regions: tuple[np.ndarray, ...],
    roi: tuple[int, int, int, int],
    eye: _EyeGeometry,
    scale: float,
    sclera_mask: np.ndarray,
    shade: bool,
) -> None:
    """Redraw one eye in ``regions`` (the rendered roi of each of ``planes``, modified in
    place): the Y plane alone, or U and V together (one raster, their pixels as the two
    channels of one image: the same values as drawing each apart, in half the calls).
    """
    k = int(round(1 / scale))
    sx0, sy0, sx1, sy1 = (v // k for v in eye.source_box)
    crops = [p[sy0:sy1, sx0:sx1] for p in planes]
    multi = len(crops) > 1
    crop = cv2.merge(crops) if multi else crops[0]
    r = _raster(eye, scale, crops[0].shape)

    def per_pixel(a: np.ndarray) -> np.ndarray:
        """A raster's per-pixel array, broadcast over the channels."""
        return a[..., None] if multi else a

    bx0, by0, bx1, by1 = r.box
    replicate = cv2.BORDER_REPLICATE
    layer = _sample(crop, r.qx, r.qy, replicate)
    mirror = _sample(crop, r.mx, r.my, replicate)
    iris_px = crop[r.in_iris].astype(np.float32)
    sclera_px = crop[sclera_mask]
    if multi:
        rings_c = [_ring_medians(iris_px[:, c], r.crho, r.n_bins) for c in range(len(crops))]
        rings = None if rings_c[0] is None else np.stack(rings_c, axis=1)  # type: ignore[arg-type]
        whole = crop.reshape(-1, len(crops))
        sample = sclera_px if len(sclera_px) else whole
        sclera = np.array([_median(sample[:, c]) for c in range(len(crops))])
    else:
        rings = _ring_medians(iris_px, r.crho, r.n_bins)
        sclera = _median(sclera_px if sclera_px.size else crop.ravel())
    if rings is None:
        rings = np.full((r.n_bins, *np.shape(sclera)), sclera, np.float32)
    ring_val = rings[np.minimum(r.rho.astype(np.int64), r.n_bins - 1)]
    if shade:  # a catchlight must not be mirrored into a second one
        mirror = np.minimum(mirror, ring_val + np.float32(_HIGHLIGHT_CLAMP))
    iris = ring_val + per_pixel(r.mirror_ok) * (mirror - ring_val)
    white = np.full(layer.shape, sclera, np.float32)
    if shade:
        along, down = r.along, r.down
        u = (along - np.float32((eye.middle + eye.shift) @ eye.axis)) / np.float32(eye.half_width)
        lid_at = np.interp(along, eye.upper.along, eye.upper.across).astype(np.float32)
        below = down - lid_at - np.float32(eye.upper.margin)
        lash = np.exp(-np.maximum(below, 0) / (LASH_WIDTH_FRACTION * 2 * eye.half_width))
        white *= per_pixel(1 - CORNER_SHADE * _clip(u, -1, 1) ** 2 - LASH_SHADE * lash)
    content = white + per_pixel(r.alpha) * (iris - white)
    content += per_pixel(r.valid) * (layer - content)
    for band, bx, by in r.bands:
        content += per_pixel(band) * (_sample(crop, bx, by, replicate) - content)
    mask = per_pixel(r.mask)
    rx0, ry0 = roi[0] // k, roi[1] // k
    outs = [region[by0 - ry0 : by1 - ry0, bx0 - rx0 : bx1 - rx0] for region in regions]
    out = cv2.merge(outs) if multi else outs[0]
    mixed = out.astype(np.float32)
    mixed += mask * (content - mixed)
    drawn = np.where(mask > 0, _clip(mixed + 0.5, 0, 255).astype(np.uint8), out)
    for c, o in enumerate(outs):
        o[...] = drawn[..., c] if multi else drawn


def _sclera_mask(y_crop: np.ndarray, eye: _EyeGeometry) -> np.ndarray:
    """``bool`` luma pixels of the source box that show bright sclera."""
    origin = np.array(eye.source_box[:2], np.float64)
    inside = _fill(eye.eyeball, origin, 1.0, y_crop.shape) > 0.99
    xs = np.arange(y_crop.shape[1]) + origin[0]
    ys = np.arange(y_crop.shape[0])[:, None] + origin[1]
    u = ((xs - eye.middle[0]) * eye.axis[0] + (ys - eye.middle[1]) * eye.axis[1]) / eye.half_width
    off = np.hypot(xs - eye.centre[0], ys - eye.centre[1])
    cand = inside & (off > _SCLERA_IRIS_CLEAR * eye.radius)
    central = cand & (np.abs(u) < _SCLERA_CENTRE_FRACTION)
    if central.sum() >= 4:
        cand = central
    if not cand.any():
        return cand
    return cand & (y_crop >= _median(y_crop[cand]))


def composite_eyes(
    frame: np.ndarray,
    field: WarpField,
    rendered: tuple[np.ndarray, np.ndarray, np.ndarray],
    src: np.ndarray,
    dst: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Redraw the eyes of a warped face region: rigid eyeball, moving lids.

    Args:
        frame: ``(H * 3 // 2, W) uint8`` planar yuv420p original frame (not modified).
        field: The warp; its ``roi`` places ``rendered``.
        rendered: Warped Y region at full and U, V regions at half resolution (``warp_yuv420``).
        src: ``(478, 2+)`` tracked landmark pixels.
        dst: ``(478, 2+)`` edited landmark pixels.

    Returns:
        New Y, U, V regions (same shapes and dtypes); ``rendered`` itself where no eye was
        redrawn.
    """
    h = frame.shape[0] * 2 // 3
    w = frame.shape[1]
    y_plane = frame[:h]
    chroma = frame[h:].reshape(2, h // 2, w // 2)
    eyes = [_geometry(src, dst, groups, field.roi, (w, h), y_plane) for groups in _EYES]
    todo = [e for e in eyes if e is not None]
    if not todo:
        return rendered
    out_y, out_u, out_v = (r.copy() for r in rendered)
    for eye in todo:
        sx0, sy0, sx1, sy1 = eye.source_box
        mask = _sclera_mask(y_plane[sy0:sy1, sx0:sx1], eye)
        _render_plane((y_plane,), (out_y,), field.roi, eye, 1.0, mask, shade=True)
        _render_plane(tuple(chroma), (out_u, out_v), field.roi, eye, 0.5, mask[::2, ::2], False)
        if eye.strength < 1.0:
            _fade(eye, field.roi, rendered, (out_y, out_u, out_v))
    return out_y, out_u, out_v


def _fade(
    eye: _EyeGeometry,
    roi: tuple[int, int, int, int],
    warped: tuple[np.ndarray, np.ndarray, np.ndarray],
    out: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    """Mix the redrawn eye's box back towards the warp's by ``1 - eye.strength`` (in place)."""
    x0, y0, x1, y1 = (eye.box[0] - roi[0], eye.box[1] - roi[1], eye.box[2] - roi[0],
                      eye.box[3] - roi[1])  # fmt: skip
    for k, (a, b) in enumerate(zip(warped, out, strict=True)):
        d = 1 if k == 0 else 2
        sl = (slice(y0 // d, y1 // d), slice(x0 // d, x1 // d))
        mixed = a[sl] + eye.strength * (b[sl].astype(np.float32) - a[sl])
        b[sl] = _clip(mixed + 0.5, 0, 255).astype(np.uint8)


__all__ = ["composite_eyes"]
