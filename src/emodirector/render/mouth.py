"""The mouth interior from the actor's own frames, where the edit opens the lips wider.

The mesh warp fills the space between the edited lips by stretching what lay between the
tracked lips: where an edit opens the mouth wider or higher than the actor did (a smile showing
the upper teeth, a wider mouth, a more open jaw), the teeth stretch into a smear, and a mouth
that was closed shows stretched lip colour. As in Face2Face (Thies et al., CVPR 2016) and Video
Rewrite (Bregler et al., 1997), the interior is instead taken from another frame of the same
clip whose mouth matches the edited lips:

1. *The bank* (``MouthBank``): while the clip is tracked (or, for a clip analysed earlier, in a
   decode pass over the frames its landmarks choose), up to ``BANK_SIZE`` diverse open mouths
   are kept as crops in a canonical mouth frame: the head normalised by a similarity fitted to
   the stable landmarks (nose, eye corners, the sides of the face), so upper teeth, fixed to the
   skull, sit at the same place in every crop. Each crop is stored in Y, U, V with the mask of its
   opening; the bank's memory does not grow with the clip's length.
2. *The path* (``MouthPart.prepare``): per frame, the edited inner lips are compared with the
   tracked ones (canonical units); where they open more, a candidate is chosen whose inner-lip
   shape (profile of each lip over the corners' line, the gap, the width) matches the edited
   lips best, along a Viterbi path with a switch cost, so teeth do not pop from frame to frame.
3. *The composite* (``MouthPart.apply``): the candidate is split at its occlusal line (midway
   between its inner lips); the upper piece stays with the head (the canonical frame), a raised
   upper lip uncovering more of its teeth's crowns (continued up, ``CROWN_REACH``; only a rise
   past that takes the teeth along), and the lower piece moves with the edited lower lip (the
   jaw): each is a translation in the canonical frame, so the teeth never stretch; where the
   pieces part, the mouth's cavity shows (dark under the upper teeth, turning towards the colour
   over the lower ones), and past the pieces and that cavity the opening keeps the warp (the
   lip's own edge, moved). Its colour is matched to the frame's (mean and standard deviation of
   Y, U, V over a ring of lip around the opening, in the candidate and in the warped frame; the
   mean moved a few levels at most) and it is feathered into the edited opening, fading in and
   out over a few frames where the edit starts or stops opening the lips more than the actor
   did, and from one interior to the next over ``SWITCH_FADE`` frames where the path switches.

A clip whose mouth never opens has no interior to copy: the opening is then filled with a dark
cavity shaded from the lips' own colour, and ``MouthPart.notes`` says so (the command line prints
it as a warning, once per clip).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache, cached_property

import cv2
import numpy as np

from emodirector.face_model import (
    CHIN,
    LIPS_INNER_LOWER,
    LIPS_INNER_UPPER,
    STABLE,
    UPPER_LIP_MID,
    load_face_model,
)
from emodirector.fit.speech import CLOSED_APERTURE
from emodirector.ramps import smoothstep
from emodirector.render.renderer import ClipFaces, FaceFrame, Planes, RenderPart
from emodirector.render.warp import WarpField
from emodirector.track.tracker import FaceTrack, FrameObserver
from emodirector.video.reader import VideoInfo, iter_frames

#: Most candidate mouths kept per clip.
BANK_SIZE = 64
#: A frame is a candidate when its largest inner-lip gap is at least this fraction of the inner
#: mouth width (a mouth open enough to show teeth or tongue).
MIN_OPEN_FRACTION = 0.12
#: Canonical crop box ``(x0, y0, x1, y1)`` (face-model units: the mouth is about 1 wide): the
#: mouth and the jaw's travel below it.
CROP_BOX = (-0.75, 0.40, 0.75, 1.35)
#: Largest crop resolution (pixels per face-model unit); below it, the tracked image's own.
MAX_PX_PER_UNIT = 150.0
#: The edit opens the lips more than the actor when the largest gap (or the width, on an open
#: mouth) grows by this fraction of the mouth width; it stops when that falls below ``_OFF``.
EXCESS_ON = 0.05
EXCESS_OFF = 0.03
#: Largest inner-lip gap of the edited lips (fraction of their width) from which the interior
#: starts to be drawn, and from which it is drawn fully. Lips this barely parted keep the warp's
#: slit: an interior drawn there (teeth apart, a dark gap) read to dlib as an open mouth where
#: the input's lips nearly touched (from 0.05, 0.09 with ``OWN_FACTOR`` 0.4: videoretalking_face3
#: happy's closed lips kept 0.82 -> 0.92 as without the interior, sadtalker happy's 0.87 -> 0.94).
DRAW_OPEN = (0.10, 0.15)
#: Largest inner-lip gap of the *tracked* lips (fraction of their width) from which a frame's own
#: interior is drawn however thin the edited opening, and from which fully: where the input
#: shows its teeth, a smile that widens the mouth (its gap a smaller share of a larger width)
#: showed the warp's dark slit instead (the glasses clip's happy, tracked 0.14-0.18 edited to
#: 0.09-0.13). Its own teeth are the input's, in lips that were apart: no closure is opened.
OWN_OPEN = (MIN_OPEN_FRACTION, MIN_OPEN_FRACTION + 0.04)
#: Frames over which the retrieved interior fades in or out, and the least time it stays on.
FADE_FRAMES = 3
HOLD_FRAMES = 6
#: Frames over which the interior drawn before a switch of candidate fades out over the new one.
SWITCH_FADE = 2
#: Switching candidate costs this multiple of the median best match cost of the clip (at least
#: ``_MIN_SWITCH`` in squared face-model units).
SWITCH_FACTOR = 10.0
_MIN_SWITCH = 2e-4
#: A near twin of a kept candidate replaces it when its lips move less than this share as fast.
_STEADIER = 0.7
#: A frame's own interior costs this fraction of its match cost: it follows the speech (its
#: teeth part as the actor's did), where another frame's, held along the path, does not (at 0.4,
#: one retrieved interior drew teeth apart over whole sentences of clenched ones).
OWN_FACTOR = 0.1
#: ``MouthPath.choice`` of a frame drawn with its own interior, and with the dark cavity.
OWN = -2
DARK = -1
_NEVER = 1e9
#: A candidate of the bank belongs to a track when its inner lips lie within this distance
#: (face-model units, RMS) of the track's on the same frame.
_SAME_FACE = 0.05
#: Weights of the gap and width differences in the match cost (lip profiles weigh 1).
_GAP_WEIGHT = 2.0
_WIDTH_WEIGHT = 1.0
#: A candidate gap smaller than the target's costs this much more (its pieces must part).
_SHORT_WEIGHT = 6.0
#: Ring of lip around the opening whose colour is matched (face-model units).
_RING = 0.06
#: Candidate's opening mask is inset by this many face-model units, and at least this many crop
#: pixels: the tracked inner lip lies a little inside the lip's edge, which is not interior.
_INSET = 0.03
_INSET_PX = 1.5
#: How far (face-model units) a candidate's interior is continued past its opening.
_EXTEND = 0.08
#: Blur (face-model units) of the edge of a frame's own interior, which is not continued.
_OWN_SOFT = 0.015
#: The cavity between parted pieces takes the colour of this percentile of the interior's luma
#: (the shadowed mouth, not its blackest corner) ...
_DARK_PERCENTILE = 20
#: ... at most this share of the lips' luma (around the opening), its chroma then pulled this far
#: to grey: a crop whose tracked opening holds mostly lip (a small or turned face) has no dark
#: pixel, and its lip colour spread between the parted teeth reads as a brown band.
_CAVITY_LUMA = 0.45
_CAVITY_CHROMA = 0.5
#: Rows this close (face-model units) to the inner lips are not searched for the occlusal line,
#: which is the midline unless enough columns show this much fall of luma (levels).
_OCCLUSAL_MARGIN = 0.02
_OCCLUSAL_CONTRAST = 20.0
#: Half the span (face-model units) over which that fall of luma is measured.
_OCCLUSAL_STEP = 0.015
#: The upper teeth are continued up to this far (face-model units) above the opening, from
#: the row this far below its top (past the lip's shadow), darkening by this share at the end;
#: they stay with the head while the upper lip rises up to that far over the candidate's.
CROWN_REACH = 0.12
#: A frame's own crowns reach on up to the edited upper lip, up to this far from the piece's
#: solid top (which lies about 0.06 under the tracked lip: the inset and the soft edge; about a
#: crown's height above the lip), and this many pixels past it (under the lip's soft edge); the
#: lip rising further on average takes the teeth along.
CROWN_MAX = 0.25
#: Range of a clip's ``jaw_ratio``, and the least RMS spread (face-model units) of its lower
#: lip's height for one to be measured.
JAW_RATIO = (0.3, 1.2)
#: The lower teeth are continued down only where their colour's luma exceeds the lips' by this.
_LOWER_TEETH_OVER_LIP = 10.0
_JAW_MIN_SPREAD = 0.01
_CROWN_OVER_PX = 2.0
_CROWN_SKIP = 0.02
_CROWN_SHADE = 0.25
#: Horizontal blur (face-model units) of the continued crowns, and the least share of them
#: (mask, and columns with the piece under the blur) drawn.
_CROWN_BLUR = 0.03
_CROWN_MIN = 0.02
#: The cavity turns, down to the lower piece, from the dark interior to that piece's colour,
#: at most this share of the lips' luma; where there is no lower piece, to that luma with the
#: lips' chroma this far from grey.
_TONGUE_LUMA = 0.6
#: Pixels between the pieces up to which the cavity is drawn flat (a line between the teeth),
#: read over the columns both pieces share (where they share at least one in
#: ``_SHARED_SPAN`` of the upper piece's), the outermost ``_END_COLUMNS`` at each end left
#: out, and at each end in the column past those.
_FLAT_GAP_PX = 3
_SHARED_SPAN = 3
_END_COLUMNS = 3
_TONGUE_CHROMA = 0.8
#: The lower piece parts from the upper one only past this slack (face-model units): a target
#: gap a little larger than the candidate's moved its clenched teeth a pixel or two apart, a
#: thin dark line across them.
PART_SLACK = 0.02
#: Weight of the cavity's colour where nothing of the interior covers a pixel (it only has to
#: be a colour: the opening's chroma is averaged over it).
_NOTHING = 1e-4
#: In the fade from one interior to the next, the one drawn before is laid less where the new one
#: is brighter, and not at all where by this many levels of Y (teeth that came with a switch
#: from a dark interior showed grey through the fade).
_FADE_CONTRAST = 48.0
#: Range of the colour transfer's standard-deviation ratio (Y; U and V tighter).
_GAIN_Y = (0.9, 1.1)
_GAIN_UV = (0.9, 1.1)
#: Largest move of the mean Y (and U, V) by the colour transfer (levels).
_SHIFT_Y = 8.0
_SHIFT_UV = 3.0
#: Luma of the fallback cavity relative to the lips' mean, and its chroma's pull to grey.
_DARK_LUMA = 0.3
_DARK_CHROMA = 0.5
#: Feather of the edited opening (pixels): inset of the edge, blur sigma.
_EDGE_INSET_PX = 1.0
_FEATHER_SIGMA = 1.2
_AA_SHIFT = 4
_MID = slice(1, -1)


def head_similarity(landmarks: np.ndarray) -> np.ndarray:
    """``(2, 3)`` similarity taking image pixels to the face model's units (the head's frame).

    Fitted (least squares, rotation, scale and translation) to the stable landmarks.

    >>> tpl = load_face_model().template
    >>> a = head_similarity(tpl[:, :2] * 100 + 7)
    >>> bool(np.allclose(a[:, :2], np.eye(2) / 100, atol=1e-6))
    True
    """
    pts = np.asarray(landmarks)[_STABLE_IDX, :2].astype(np.float64)
    # in complex numbers the similarity is q = a p + b, fitted in closed form
    p = pts[:, 0] + 1j * pts[:, 1]
    q = _stable_template()
    pc = p - p.mean()
    a = complex(
        (np.conj(pc) * (q - q.mean())).sum() / max(float((pc * np.conj(pc)).real.sum()), 1e-12)
    )
    b = q.mean() - a * p.mean()
    return np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]])


_STABLE_IDX = np.asarray(STABLE)
_INNER_UPPER_IDX = np.asarray(LIPS_INNER_UPPER)
_INNER_LOWER_IDX = np.asarray(LIPS_INNER_LOWER)


@cache
def _stable_template() -> np.ndarray:
    """The stable landmarks of the face model as complex numbers ``x + iy``."""
    t = load_face_model().template[_STABLE_IDX, :2].astype(np.float64)
    return t[:, 0] + 1j * t[:, 1]


def _apply(affine: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts[..., :2] @ affine[:, :2].T + affine[:, 2]


def inner_lips(landmarks: np.ndarray, affine: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The ``(11, 2)`` upper and lower inner-lip contours (corner to corner) in ``affine``'s
    frame."""
    lm = np.asarray(landmarks)
    return (
        _apply(affine, lm[_INNER_UPPER_IDX].astype(np.float64)),
        _apply(affine, lm[_INNER_LOWER_IDX].astype(np.float64)),
    )


@dataclass(frozen=True)
class LipShape:
    """An inner-lip contour summarised for matching (face-model units, the head's frame).

    Attributes:
        upper: ``(9,)`` height of the upper inner lip's middle points over the corners' midpoint
            (positive up).
        lower: ``(9,)`` depth of the lower inner lip's middle points under it.
        width: Corner-to-corner width.
    """

    upper: np.ndarray
    lower: np.ndarray
    width: float

    @classmethod
    def of(cls, upper: np.ndarray, lower: np.ndarray) -> LipShape:
        """From ``(11, 2)`` contours (corner to corner)."""
        mid_y = (upper[0, 1] + upper[-1, 1] + lower[0, 1] + lower[-1, 1]) / 4
        return cls(
            upper=mid_y - upper[_MID, 1],
            lower=lower[_MID, 1] - mid_y,
            width=float(np.hypot(*(upper[-1] - upper[0]))),
        )

    @property
    def gaps(self) -> np.ndarray:
        """``(9,)`` vertical gap of each inner-lip pair."""
        return self.upper + self.lower

    @property
    def open_fraction(self) -> float:
        """Largest gap over the width."""
        return float(self.gaps.max() / max(self.width, 1e-9))

    def vector(self) -> np.ndarray:
        """``(19,)`` the shape as one vector: upper, lower, width."""
        return np.concatenate([self.upper, self.lower, [self.width]])


def match_cost(target: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """Cost of drawing a target lip shape with each candidate's interior.

    Args:
        target: ``(..., 19)`` ``LipShape.vector()`` of edited lips.
        candidates: ``(K, 19)`` those of the candidates.

    Returns:
        ``(..., K)``: mean squared difference of the lip profiles (each centred: the pieces are
        moved to the lips) plus weighted squared differences of the mean gap (more if the
        candidate's is smaller) and of the width.
    """
    t = target[..., None, :]
    c = candidates
    tu, tl = t[..., :9], t[..., 9:18]
    cu, cl = c[..., :9], c[..., 9:18]
    prof = ((tu - tu.mean(-1, keepdims=True)) - (cu - cu.mean(-1, keepdims=True))) ** 2
    prof = prof.mean(-1) + (
        ((tl - tl.mean(-1, keepdims=True)) - (cl - cl.mean(-1, keepdims=True))) ** 2
    ).mean(-1)
    gap_t = tu.mean(-1) + tl.mean(-1)
    gap_c = cu.mean(-1) + cl.mean(-1)
    dgap = gap_t - gap_c
    gap = np.where(dgap > 0, _SHORT_WEIGHT, 1.0) * dgap**2
    width = (t[..., 18] - c[..., 18]) ** 2
    return prof + _GAP_WEIGHT * gap + _WIDTH_WEIGHT * width


@dataclass(frozen=True)
class MouthCandidate:
    """One open mouth of the clip, in the canonical mouth frame.

    Attributes:
        index: The frame it comes from.
        crop: ``(h, w, 3) uint8`` Y, U, V over ``CROP_BOX`` at ``px_per_unit``.
        pieces: ``(h, w, 2) uint8`` 255 where the crop is interior of the upper piece (above
            the occlusal line, midway between the inner lips) and of the lower piece; the
            opening is inset (``_INSET``) and the interior continued past it (``_EXTEND``).
        px_per_unit: Crop pixels per face-model unit.
        upper: ``(11, 2)`` its upper inner lip (face-model units).
        lower: ``(11, 2)`` its lower inner lip.
        ring_mean: ``(3,)`` mean Y, U, V of the lip ring around its opening.
        ring_std: ``(3,)`` their standard deviations.
        dark: ``(3,)`` Y, U, V of its dark interior (the cavity between parted teeth).
        sharpness: Variance of the Laplacian of Y inside the opening.
        motion: RMS move of its inner lips from the frame before (face-model units; inf if
            unknown): a moving mouth blurs.
    """

    index: int
    crop: np.ndarray
    pieces: np.ndarray
    px_per_unit: float
    upper: np.ndarray
    lower: np.ndarray
    ring_mean: np.ndarray
    ring_std: np.ndarray
    dark: np.ndarray
    sharpness: float
    motion: float = float("inf")

    @property
    def shape(self) -> LipShape:
        return LipShape.of(self.upper, self.lower)

    @cached_property
    def quads(self) -> tuple[np.ndarray, np.ndarray]:
        """``(h, w, 4) uint8`` Y, U, V and the mask of the upper and of the lower piece: what
        one warp per piece moves."""
        return tuple(cv2.merge([self.crop, self.pieces[..., k]]) for k in (0, 1))  # type: ignore[return-value]


def _extended(cand: MouthCandidate) -> MouthCandidate:
    """The candidate with its interior continued past its opening by ``_EXTEND`` (a normalised
    blur of the interior over the lip edge), its mask falling from 1 to 0 over that band: an
    edited opening a little larger than the candidate's shows more of the interior, not the
    candidate's lips.

    Worked out on the opening's bounding box and the reach of that band only (a frame's own
    mouth is extended on every frame it is drawn); the rest of the crop is left as it is, with
    an empty mask.
    """
    inside = cand.pieces[..., 0] > 127
    rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
    if not rows.size:
        return cand
    ppu = cand.px_per_unit
    ext = max(2.0, _EXTEND * ppu)
    pad = int(np.ceil(max(ext, CROWN_REACH * ppu))) + 2 * _fill_kernel(ext) + 2
    h, w = inside.shape
    r0, r1 = max(0, rows[0] - pad), min(h, rows[-1] + 1 + pad)
    c0, c1 = max(0, cols[0] - pad), min(w, cols[-1] + 1 + pad)
    shift = np.array([c0, r0]) / ppu
    sub = _extended_box(dataclasses.replace(
        cand, crop=cand.crop[r0:r1, c0:c1], pieces=cand.pieces[r0:r1, c0:c1],
        upper=cand.upper - shift, lower=cand.lower - shift))  # fmt: skip
    crop = cand.crop.copy()
    crop[r0:r1, c0:c1] = sub.crop
    pieces = np.zeros_like(cand.pieces)
    pieces[r0:r1, c0:c1] = sub.pieces
    return dataclasses.replace(cand, crop=crop, pieces=pieces)


def _fill_kernel(ext: float) -> int:
    """Odd width of the box blur, applied twice, that continues an interior ``ext`` pixels past
    its edge: it reaches (``k - 1``) at least that far, as far as the mask it is drawn with (a
    blur that fell short left the mask over no colour: a dark outline round the teeth of a
    small face)."""
    return 2 * int(np.ceil(ext / 2)) + 1


def _extended_box(cand: MouthCandidate) -> MouthCandidate:
    """``_extended`` on a crop that holds the opening and the band around it."""
    inside = cand.pieces[..., 0] > 127
    ext = max(2.0, _EXTEND * cand.px_per_unit)
    outside = np.ascontiguousarray((~inside).astype(np.uint8))
    dist = cv2.distanceTransform(outside, cv2.DIST_L2, 3)
    weight = inside.astype(np.float32)
    k = _fill_kernel(ext)
    den = cv2.blur(cv2.blur(weight, (k, k)), (k, k))
    num = cv2.blur(cv2.blur(cand.crop.astype(np.float32) * weight[..., None], (k, k)), (k, k))
    fill = num / np.maximum(den, 1e-4)[..., None]
    yuv = np.where(inside[..., None], cand.crop, np.clip(fill + 0.5, 0, 255).astype(np.uint8))
    mask = np.clip(2.0 * (ext - dist) / ext, 0.0, 1.0)
    h, w = inside.shape
    occ = _occlusal(cand.crop[..., 0], inside, cand.upper, cand.lower, cand.px_per_unit)
    above = np.clip(occ[None, :] - (np.arange(h)[:, None] + 0.5) + 0.5, 0.0, 1.0)
    # over the upper piece, the upper teeth continue up under the lip (a raised upper lip shows
    # more of their crowns): each column's first rows below the lip's shadow, repeated upwards
    cols = np.flatnonzero(inside.any(axis=0))
    if cols.size:
        first = np.argmax(inside[:, cols], axis=0)
        last = h - 1 - np.argmax(inside[::-1, cols], axis=0)
        skip = max(1, int(round(_CROWN_SKIP * cand.px_per_unit)))
        src = np.minimum(first + skip, np.maximum(first, (first + occ[cols].astype(int)) // 2))
        src = np.minimum(src, last)
        reach = CROWN_REACH * cand.px_per_unit
        # the rows the crowns can reach: from ``reach`` above the highest top to the lowest
        band = slice(max(0, int(np.floor(first.min() - reach))), int(first.max()))
        rows = np.arange(h)[band, None]
        up = (rows < first[None, :]) & (rows >= first[None, :] - reach)
        fill_rows = np.where(up, src[None, :], rows)
        crowns = yuv[:, cols][fill_rows, np.arange(cols.size)[None, :]].astype(np.float32)
        # soft across: a repeated gap between two teeth would streak up the crowns
        sigma = max(1.0, _CROWN_BLUR * cand.px_per_unit)
        crowns = cv2.GaussianBlur(crowns, (0, 0), sigmaX=sigma, sigmaY=0.1)
        shade = 1.0 - _CROWN_SHADE * np.clip((first[None, :] - rows) / reach, 0.0, 1.0)
        crowns[..., 0] *= np.where(up, shade, 1.0)
        old = yuv[band, cols]
        yuv[band, cols] = np.where(up[..., None], np.clip(crowns + 0.5, 0, 255), old)
        fade = np.clip((first[None, :] - rows) / reach, 0.0, 1.0)
        old_mask = mask[band, cols]
        mask[band, cols] = np.where(up, np.maximum(old_mask, 1.0 - fade**4), old_mask)
    # the colour is continued a pixel past where the mask ends (a piece is sampled bilinearly:
    # a faint mask next to the colour 0 left beyond the blur's reach came out dark and green)
    held = (mask > 0).astype(np.float32)
    near = cv2.blur(held, (3, 3))
    rim = (mask <= 0) & (near > 0)
    if rim.any():
        num = cv2.blur(yuv.astype(np.float32) * held[..., None], (3, 3))
        yuv[rim] = np.clip(num[rim] / near[rim][:, None] + 0.5, 0, 255).astype(np.uint8)
    pieces = np.stack([mask * above, mask * (1.0 - above)], axis=2)
    return dataclasses.replace(cand, crop=yuv, pieces=(pieces * 255 + 0.5).astype(np.uint8))


def _occlusal(
    y: np.ndarray,
    inside: np.ndarray,
    upper: np.ndarray,
    lower: np.ndarray,
    ppu: float,
    offset: tuple[int, int] = (0, 0),
    full_width: int | None = None,
) -> np.ndarray:
    """``(w,)`` the occlusal line of a crop (row per column, crop pixels): the lower edge of the
    upper teeth (where they meet the lower ones, or the dark gap below them).

    Per column between the lips, the row that splits it where the mean luma of all of it above
    (from the upper lip) most exceeds that of the band just below (bright teeth over the dark
    line or cavity, not the lip's own shadow); a parabola fitted through them, weighted by that
    fall; where too few columns show ``_OCCLUSAL_CONTRAST``, midway between the inner lips.
    ``y`` and ``inside`` may be a part of the crop, from pixel ``offset`` (x, y), of a crop
    ``full_width`` wide (the lips are in the whole crop's frame).
    """
    x0, y0 = CROP_BOX[:2]
    h, w = y.shape
    cols = np.arange(w) + 0.5
    mid = ((upper + lower) / 2 - (x0, y0)) * ppu
    ox, oy = offset
    midline = np.interp(cols + ox, *_sorted_xy(mid)) - oy
    top = np.interp(cols + ox, *_sorted_xy((upper - (x0, y0)) * ppu)) - oy
    bottom = np.interp(cols + ox, *_sorted_xy((lower - (x0, y0)) * ppu)) - oy
    k = max(2, int(round(2 * _OCCLUSAL_STEP * ppu)))
    margin = max(1.0, _OCCLUSAL_MARGIN * ppu)
    # only the rows between the lips can split (the rest holds no ``between`` pixel)
    r0 = int(np.clip(np.floor(top.min() + margin), 0, h))
    r1 = int(np.clip(np.ceil(bottom.max() - margin) + 1, r0, h))
    if r1 - r0 < 2 * k:
        return midline
    rows = np.arange(r0, r1)[:, None] + 0.5
    between = inside[r0:r1] & (rows > top[None, :] + margin) & (rows < bottom[None, :] - margin)
    vals = np.where(between, y[r0:r1].astype(np.float32), np.float32(0))
    csum = np.concatenate([np.zeros((1, w), np.float32), np.cumsum(vals, axis=0)])
    count = np.concatenate([np.zeros((1, w), np.int32), np.cumsum(between, axis=0, dtype=np.int32)])
    # split before row r: above = rows < r, below = rows r .. r + k - 1
    m = r1 - r0 - k + 1
    n_above, n_below = count[:m], count[k : k + m] - count[:m]
    above = csum[:m] / np.maximum(n_above, 1)
    below = (csum[k : k + m] - csum[:m]) / np.maximum(n_below, 1)
    ok = (n_above >= k) & (n_below >= k) & between[:m]
    score = np.where(ok, above - below, -np.inf)
    best = np.argmax(score, axis=0)
    strength = score[best, np.arange(w)].astype(np.float64)
    best = best + r0
    use = np.isfinite(strength) & (strength >= _OCCLUSAL_CONTRAST)
    full_w = w if full_width is None else full_width
    if use.sum() < max(5, full_w // 20):
        return midline
    # the parabola by weighted least squares (normal equations: three unknowns)
    x = cols[use] + ox - full_w / 2
    basis = np.stack([x * x, x, np.ones_like(x)], axis=1)
    weighted = basis.T * strength[use]
    coef = np.linalg.solve(weighted @ basis, weighted @ (best[use] + oy + 0.5))
    xc = cols + ox - full_w / 2
    line = coef[0] * xc * xc + coef[1] * xc + coef[2] - oy
    return np.clip(line, top, np.maximum(top, bottom))


def _sorted_xy(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.argsort(pts[:, 0])
    return pts[order, 0], pts[order, 1]


def _rgb_to_yuv(rgb: np.ndarray) -> np.ndarray:
    """BT.601 limited-range Y, U, V (as FFmpeg's default conversion) of ``(..., 3) uint8`` RGB."""
    m = (
        np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]])
        / 255.0
    )
    # cv2.transform rounds and saturates; no matrix product (BLAS threads) over the image
    affine = np.concatenate([m, [[16.0], [128.0], [128.0]]], axis=1).astype(np.float32)
    return cv2.transform(np.ascontiguousarray(rgb, np.uint8), affine)


def _fill(poly: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Anti-aliased ``float32`` 0..1 mask of a polygon (pixel coordinates) over ``shape``."""
    mask = np.zeros(shape, np.uint8)
    pts = np.round(poly * (1 << _AA_SHIFT)).astype(np.int32)
    cv2.fillPoly(mask, [pts], 255, lineType=cv2.LINE_AA, shift=_AA_SHIFT)
    return mask.astype(np.float32) / 255.0


def _opening(upper: np.ndarray, lower: np.ndarray) -> np.ndarray:
    """The opening polygon: the upper lip corner to corner, then the lower lip back."""
    return np.concatenate([upper, lower[-2:0:-1]])


def _ring_mask(opening: np.ndarray, ring_px: float) -> np.ndarray:
    """``uint8`` 255 on the ring of width ``ring_px`` outside the ``opening`` mask (0..1)."""
    k = max(3, int(round(ring_px)) * 2 + 1)
    grown = cv2.dilate((opening > 0.5).astype(np.uint8), np.ones((k, k), np.uint8))
    return ((grown > 0) & (opening < 0.05)).astype(np.uint8) * 255


def _ring_stats(planes: np.ndarray, opening: np.ndarray, ring_px: float) -> tuple[np.ndarray, ...]:
    """Mean and std of ``(h, w, C)`` planes over the ring of width ``ring_px`` outside the
    ``opening`` mask."""
    ring = _ring_mask(opening, ring_px) > 0
    if ring.sum() < 8:
        ring = np.ones(opening.shape, bool)
    vals = planes[ring].astype(np.float32)
    return vals.mean(axis=0), vals.std(axis=0) + 1.0


class MouthBank:
    """Diverse open mouths of one clip, collected as its frames are analysed.

    Args:
        capacity: Most candidates kept (the bank's memory is bounded by it, not by the clip).

    Feed it frames with ``observe`` (it is a ``FrameObserver``); ``candidates`` are what it kept.
    A kept mouth's interior is extended (``_extended``) when ``candidates`` is first read after
    it was kept: of the mouths kept while a clip is tracked, most are replaced by more diverse
    ones later, and are never extended.
    """

    def __init__(self, capacity: int = BANK_SIZE) -> None:
        self.capacity = capacity
        self._candidates: list[MouthCandidate] = []
        self._unextended: set[int] = set()
        self.px_per_unit: float | None = None
        #: Frames it was shown, and the seconds it spent on them.
        self.frames_seen = 0
        self.seconds = 0.0
        self._vectors = np.zeros((0, 19))
        self._prev: tuple[int, np.ndarray] | None = None
        self._dist = np.zeros((0, 0))

    def __call__(self, index: int, rgb: np.ndarray, faces: list[np.ndarray]) -> None:
        self.observe(index, rgb, faces)

    @property
    def candidates(self) -> list[MouthCandidate]:
        """The mouths kept, their interiors extended."""
        for slot in sorted(self._unextended):
            self._candidates[slot] = _extended(self._candidates[slot])
        self._unextended.clear()
        return self._candidates

    def observe(self, index: int, rgb: np.ndarray, faces: list[np.ndarray]) -> None:
        """Consider frame ``index`` (``(H, W, 3) uint8`` RGB; faces as pixel landmarks of it);
        the face with the widest mouth is the one considered."""
        start = time.perf_counter()
        self.frames_seen += 1
        if faces:
            best = max(faces, key=lambda f: float(np.ptp(f[list(LIPS_INNER_UPPER), 0])))
            self._consider(index, rgb, best)
        self.seconds += time.perf_counter() - start

    def wants(self, landmarks: np.ndarray) -> bool:
        """Whether a frame with these landmarks would be considered (its mouth is open)."""
        up, lo = inner_lips(landmarks, head_similarity(landmarks))
        return LipShape.of(up, lo).open_fraction >= MIN_OPEN_FRACTION

    def _slot(self, vec: np.ndarray) -> int | None:
        """Where a candidate of shape ``vec`` goes: appended (``len``), replacing one, or None."""
        n = len(self._candidates)
        if n < self.capacity:
            return n
        d_new = np.sqrt(((self._vectors - vec) ** 2).sum(axis=1))
        dist = self._dist + np.diag(np.full(n, np.inf))
        a, b = np.unravel_index(int(np.argmin(dist)), dist.shape)
        if d_new.min() > dist[a, b]:
            # more diverse than the closest pair: replace the member of it nearer to the rest
            ra = np.sort(dist[a])[1] if n > 2 else 0.0
            rb = np.sort(dist[b])[1] if n > 2 else 0.0
            return int(a if ra <= rb else b)
        return None

    def _consider(self, index: int, rgb: np.ndarray, landmarks: np.ndarray) -> None:
        affine = head_similarity(landmarks)
        up, lo = inner_lips(landmarks, affine)
        lips = np.concatenate([up, lo])
        prev, self._prev = self._prev, (index, lips)
        # how fast the lips move here (motion blurs the teeth): RMS change from the frame before
        motion = (
            float(np.sqrt(((lips - prev[1]) ** 2).sum(axis=1).mean()))
            if prev is not None and prev[0] == index - 1
            else np.inf
        )
        shape = LipShape.of(up, lo)
        if shape.open_fraction < MIN_OPEN_FRACTION:
            return
        vec = shape.vector()
        slot = self._place(vec, motion)
        if slot is None:
            return
        cand = self._crop(index, rgb, affine, up, lo)
        if cand is not None:
            self._put(slot, dataclasses.replace(cand, motion=motion), vec)

    def _place(self, vec: np.ndarray, motion: float) -> int | None:
        """Where a mouth of shape ``vec`` whose lips moved by ``motion`` goes: appended
        (``len``), replacing a kept one, or None (not kept)."""
        slot = self._slot(vec)
        if slot is None:
            # a near twin of a kept one: replace it only if the lips are clearly steadier here
            near = int(np.argmin(((self._vectors - vec) ** 2).sum(axis=1)))
            if not motion < _STEADIER * self._candidates[near].motion:
                return None
            slot = near
        return slot

    def fork(self) -> MouthBank:
        """An empty bank for a later part of the same clip, tracked at the same time."""
        return MouthBank(self.capacity)

    def join(self, later: MouthBank) -> None:
        """Take in what ``later`` (a ``fork``, shown the frames after this bank's) kept: each
        of its mouths, in frame order, is kept here or not by the rule that kept it there.
        ``later`` saw its own part only, so a mouth it passed over for a more diverse one of
        its part is not offered here."""
        for k in sorted(range(len(later._candidates)), key=lambda k: later._candidates[k].index):
            cand, vec = later._candidates[k], later._vectors[k]
            slot = self._place(vec, cand.motion)
            if slot is None:
                continue
            self._put(slot, cand, vec)
            if k not in later._unextended:  # already extended there
                self._unextended.discard(slot)
        if self.px_per_unit is None:
            self.px_per_unit = later.px_per_unit
        self.frames_seen += later.frames_seen
        self.seconds += later.seconds
        self._prev = later._prev

    def _put(self, slot: int, cand: MouthCandidate, vec: np.ndarray) -> None:
        if slot == len(self._candidates):
            self._candidates.append(cand)
            self._vectors = np.vstack([self._vectors, vec])
            n = len(self._candidates)
            dist = np.zeros((n, n))
            dist[:-1, :-1] = self._dist
            self._dist = dist
        else:
            self._candidates[slot] = cand
            self._vectors[slot] = vec
        self._unextended.add(slot)
        d = np.sqrt(((self._vectors - vec) ** 2).sum(axis=1))
        self._dist[slot, :] = d
        self._dist[:, slot] = d

    def _crop(
        self, index: int, rgb: np.ndarray, affine: np.ndarray, up: np.ndarray, lo: np.ndarray
    ) -> MouthCandidate | None:
        if self.px_per_unit is None:
            self.px_per_unit = _resolution(affine)
        to_crop, size = _to_crop(affine, self.px_per_unit)
        crop_rgb = cv2.warpAffine(rgb, to_crop, size, flags=cv2.INTER_LINEAR,
                                  borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        return _candidate(index, _rgb_to_yuv(crop_rgb), self.px_per_unit, up, lo)


def _resolution(affine: np.ndarray) -> float:
    """Crop pixels per face-model unit for a face ``affine`` maps: its own, at most
    ``MAX_PX_PER_UNIT``."""
    scale = float(np.sqrt(abs(np.linalg.det(affine[:, :2]))))
    return float(min(MAX_PX_PER_UNIT, 1.0 / max(scale, 1e-9)))


def _to_crop(affine: np.ndarray, ppu: float) -> tuple[np.ndarray, tuple[int, int]]:
    """``(2, 3)`` frame pixels to crop pixels, and the crop's ``(w, h)``."""
    x0, y0, x1, y1 = CROP_BOX
    size = (int(round((x1 - x0) * ppu)), int(round((y1 - y0) * ppu)))
    to_crop = affine * ppu
    to_crop[:, 2] -= np.array([x0, y0]) * ppu
    return to_crop, size


def _candidate(
    index: int,
    yuv: np.ndarray,
    ppu: float,
    up: np.ndarray,
    lo: np.ndarray,
    stats: bool = True,
    offset: tuple[int, int] = (0, 0),
) -> MouthCandidate | None:
    """A candidate from its ``(h, w, 3) uint8`` Y, U, V crop and inner lips (face-model units);
    None if its opening is too small to hold anything. Without ``stats`` its ring colour and
    sharpness are not measured (a frame's own mouth, drawn in its own colour). ``yuv`` may be a
    part of the crop, from its pixel ``offset`` (x, y)."""
    x0, y0 = CROP_BOX[:2]
    poly = (_opening(up, lo) - (x0, y0)) * ppu - offset
    opening = _fill(poly, yuv.shape[:2])
    k = int(np.ceil(max(_INSET_PX, _INSET * ppu))) * 2 + 1
    inset = cv2.erode(opening, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    inside = inset > 0.5
    if inside.sum() < 16:
        return None
    yuv = np.ascontiguousarray(yuv)
    y = yuv[..., 0]
    if stats:
        mean, std = _ring_stats(yuv, opening, _RING * ppu)
        sharpness = float(cv2.Laplacian(y, cv2.CV_32F)[inside].var())
    else:
        mean, std, sharpness = np.zeros(3), np.ones(3), 0.0
    dark_y = _percentile_u8(y[inside], _DARK_PERCENTILE)
    dark_sel = inside & (y <= dark_y + 2)
    dark = yuv[dark_sel].astype(np.float32).mean(axis=0)
    if not stats:
        # the lips' colour still shades the cavity (a frame's own mouth: no colour transfer)
        mean = np.array(cv2.mean(yuv, mask=_ring_mask(opening, _RING * ppu))[:3])
    lip_y = mean[0]
    if dark[0] > _CAVITY_LUMA * lip_y:
        # no dark pixel in the opening (it holds lip): a shadowed, less saturated lip colour
        dark[0] = _CAVITY_LUMA * lip_y
        dark[1:] = 128 + _CAVITY_CHROMA * (dark[1:] - 128)
    return MouthCandidate(
        index=index,
        crop=yuv,
        pieces=np.stack([inside, inside], axis=2).astype(np.uint8) * 255,
        px_per_unit=ppu,
        upper=up,
        lower=lo,
        ring_mean=mean,
        ring_std=std,
        dark=dark,
        sharpness=sharpness,
    )


def _percentile_u8(values: np.ndarray, q: float) -> float:
    """``np.percentile(values, q)`` (linear) of ``uint8`` values, from their histogram: the same
    value, without the partition's overhead on a few thousand values.

    >>> v = np.array([3, 200, 7, 7, 90, 1], np.uint8)
    >>> [_percentile_u8(v, q) == np.percentile(v, q) for q in (0, 20, 50, 95, 100)]
    [True, True, True, True, True]
    """
    n = values.size
    cum = np.cumsum(np.bincount(values, minlength=256))
    # numpy's virtual index, neighbours and interpolation (method "linear"), step for step
    quantile = q / 100
    virtual = (n - 1) * quantile
    prev = int(np.floor(virtual))
    if virtual >= n - 1:
        prev = nxt = n - 1
    elif virtual < 0:
        prev = nxt = 0
    else:
        nxt = prev + 1
    gamma = virtual - prev
    a, b = (int(np.searchsorted(cum, r, side="right")) for r in (prev, nxt))
    diff = b - a
    return float(b - diff * (1 - gamma)) if gamma >= 0.5 else float(a + diff * gamma)


def own_candidate(
    frame: np.ndarray, src: np.ndarray, index: int = -1, head: np.ndarray | None = None
) -> MouthCandidate | None:
    """The frame's own mouth as a candidate (its interior moved in two rigid pieces with the
    edited lips), None where its lips are not open enough to hold one.

    Args:
        frame: ``(H * 3 // 2, W) uint8`` the decoded yuv420p frame.
        src: ``(478, 2+)`` its tracked landmarks.
        index: The frame's index (for the record).
        head: ``head_similarity(src)`` if known.
    """
    affine = head_similarity(src) if head is None else head
    up, lo = inner_lips(src, affine)
    if LipShape.of(up, lo).open_fraction < MIN_OPEN_FRACTION:
        return None
    ppu = _resolution(affine)
    to_crop, size = _to_crop(affine, ppu)
    # only the opening's box in the crop, and the reach of the ring, inset and soft edge around
    # it, is sampled and worked on (the rest of the crop holds no interior)
    x0, y0 = CROP_BOX[:2]
    poly = (_opening(up, lo) - (x0, y0)) * ppu
    margin = int(np.ceil(max(_RING * ppu, 4.0 * max(1.0, _OWN_SOFT * ppu)))) + 4
    c0, r0 = (max(0, int(np.floor(v)) - margin) for v in poly.min(axis=0))
    c1 = min(size[0], int(np.ceil(poly[:, 0].max())) + margin + 1)
    r1 = min(size[1], int(np.ceil(poly[:, 1].max())) + margin + 1)
    if c1 - c0 < 4 or r1 - r0 < 4:
        return None
    to_sub = to_crop.copy()
    to_sub[:, 2] -= (c0, r0)
    sub = (c1 - c0, r1 - r0)
    h = frame.shape[0] * 2 // 3
    w = frame.shape[1]
    flags, border = cv2.INTER_LINEAR, cv2.BORDER_REPLICATE
    y = cv2.warpAffine(frame[:h], to_sub, sub, flags=flags, borderMode=border)
    half = to_sub.copy()
    half[:, :2] *= 2.0  # chroma pixel j sits at luma 2 j
    chroma = frame[h:].reshape(2, h // 2, w // 2)
    u = cv2.warpAffine(chroma[0], half, sub, flags=flags, borderMode=border)
    v = cv2.warpAffine(chroma[1], half, sub, flags=flags, borderMode=border)
    cand = _candidate(index, cv2.merge([y, u, v]), ppu, up, lo, stats=False, offset=(c0, r0))
    if cand is None:
        return None
    cand = _split(cand, (c0, r0), size[0])
    crop = np.zeros((size[1], size[0], 3), np.uint8)
    crop[r0:r1, c0:c1] = cand.crop
    pieces = np.zeros((size[1], size[0], 2), np.uint8)
    pieces[r0:r1, c0:c1] = cand.pieces
    return dataclasses.replace(cand, crop=crop, pieces=pieces)


def _split(
    cand: MouthCandidate, offset: tuple[int, int] = (0, 0), full_width: int | None = None
) -> MouthCandidate:
    """The candidate's opening split at its occlusal line, not continued past it (a frame's
    own mouth, made on every frame it is drawn: past the opening, the edited frame keeps the
    warp, which moves this same frame's lip edge there). Its crop may be a part of the whole
    (``offset``, ``full_width``: see ``_occlusal``)."""
    inside = cand.pieces[..., 0] > 127
    h = inside.shape[0]
    occ = _occlusal(cand.crop[..., 0], inside, cand.upper, cand.lower, cand.px_per_unit,
                    offset, full_width)  # fmt: skip
    above = np.clip(occ[None, :] - np.arange(h, dtype=np.float64)[:, None], 0.0, 1.0)
    # soft sides: a hard edge where the pieces and the cavity between them end shows against
    # the warp past them
    sigma = max(1.0, _OWN_SOFT * cand.px_per_unit)
    mask = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), sigma) * np.float32(255)
    pieces = cv2.merge([(mask * above + 0.5).astype(np.uint8),
                        (mask * (1.0 - above) + 0.5).astype(np.uint8)])  # fmt: skip
    return dataclasses.replace(cand, pieces=pieces)


@dataclass(frozen=True)
class MouthPath:
    """What one face's clip gets: per frame, how much of the retrieved interior, and which.

    Attributes:
        weight: ``(T,) float32`` 0..1 share of the retrieved (or dark) interior in the opening.
        choice: ``(T,) int32`` index into ``candidates`` per frame; ``OWN`` (-2): the frame's own
            interior; ``DARK`` (-1): the dark cavity.
        mouth: ``(T, 2) float32`` the tracked upper-lip middle (pixels) per frame: tells which
            prepared face a rendered face is.
        candidates: The candidates of this face.
        heads: ``(T, 2, 3)`` ``head_similarity`` of the tracked landmarks per frame (NaN where
            not edited), worked out once while planning.
        jaw: ``jaw_ratio`` of the tracked face.
    """

    weight: np.ndarray
    choice: np.ndarray
    mouth: np.ndarray
    candidates: tuple[MouthCandidate, ...]
    heads: np.ndarray
    jaw: float = 1.0

    @property
    def switches(self) -> int:
        """Changes of candidate between consecutive frames that both draw it."""
        on = self.weight > 0
        both = on[1:] & on[:-1]
        return int((both & (self.choice[1:] != self.choice[:-1])).sum())


def excess_opening(source: LipShape, target: LipShape) -> float:
    """How much more the target lips open than the source's (fraction of the source width): the
    largest gain of a pair's gap, or of the width on an open target mouth."""
    w = max(source.width, 1e-9)
    gap = float((target.gaps - source.gaps).max()) / w
    opened = min(1.0, target.open_fraction / MIN_OPEN_FRACTION)
    return max(gap, (target.width - source.width) / w * opened)


def on_weights(excess: np.ndarray) -> np.ndarray:
    """``(T,)`` 0..1 share of the retrieved interior from each frame's excess opening (NaN: no
    edit): on above ``EXCESS_ON``, off below ``EXCESS_OFF`` (hysteresis), held for at least
    ``HOLD_FRAMES``, faded in over the ``FADE_FRAMES`` before and out over those after; never on
    a frame without an edit.

    >>> excess = np.zeros(16)
    >>> excess[5] = 0.1
    >>> [round(float(w), 2) for w in on_weights(excess)]
    [0.0, 0.0, 0.33, 0.67, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.67, 0.33, 0.0, 0.0, 0.0, 0.0]
    """
    n = len(excess)
    valid = ~np.isnan(excess)
    e = np.where(valid, excess, 0.0)
    on = np.zeros(n, bool)
    state = False
    for i in range(n):
        state = e[i] >= EXCESS_ON or (state and e[i] >= EXCESS_OFF)
        on[i] = state and valid[i]
    held = on.copy()
    for i in np.flatnonzero(on):
        # faded in before the frame that needs it (the whole clip is known), held after it
        held[max(0, i - FADE_FRAMES) : i + HOLD_FRAMES + 1] = True
    held &= valid
    # fade: distance (in frames) to the nearest frame that is off, capped
    w = held.astype(np.float32)
    ramp = np.zeros(n, np.float32)
    dist = np.full(n, FADE_FRAMES, np.float32)
    last = -np.inf
    for i in range(n):
        last = i if not held[i] else last
        dist[i] = min(dist[i], i - last)
    last = np.inf
    for i in range(n - 1, -1, -1):
        last = i if not held[i] else last
        dist[i] = min(dist[i], last - i)
    ramp = np.minimum(dist, FADE_FRAMES) / FADE_FRAMES
    return (w * ramp).astype(np.float32)


def viterbi(cost: np.ndarray, switch: np.ndarray) -> np.ndarray:
    """The path through candidates of least total cost.

    Args:
        cost: ``(T, K)`` cost of each candidate on each frame.
        switch: ``(T,)`` cost of changing candidate into frame ``t`` (``switch[0]`` unused).

    Returns:
        ``(T,) int32`` the chosen candidate per frame.

    >>> viterbi(np.array([[0, 1], [1, 0.9], [0, 1]]), np.full(3, 0.5)).tolist()
    [0, 0, 0]
    """
    t_len, k = cost.shape
    back = np.zeros((t_len, k), np.int32)
    acc = cost[0].astype(np.float64)
    for t in range(1, t_len):
        best = int(np.argmin(acc))
        move = acc[best] + switch[t]
        stay = acc <= move
        back[t] = np.where(stay, np.arange(k), best)
        acc = np.where(stay, acc, move) + cost[t]
    path = np.empty(t_len, np.int32)
    path[-1] = int(np.argmin(acc))
    for t in range(t_len - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path


def plan_path(
    sources: np.ndarray,
    targets: np.ndarray,
    candidates: tuple[MouthCandidate, ...],
    own: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Weights and choices for one face's frames.

    Each frame whose tracked lips are open enough (``MIN_OPEN_FRACTION``) may also use its own
    interior (``OWN``), at ``OWN_FACTOR`` times its match cost: it follows the speech (tongue,
    teeth) exactly and never switches from frame to frame.

    Args:
        sources: ``(T, 19)`` ``LipShape.vector()`` of the tracked lips (NaN where no edit).
        targets: ``(T, 19)`` those of the edited lips.
        candidates: The bank's candidates of this face.
        own: Let frames use their own interior.

    Returns:
        ``(weight, choice)`` as in ``MouthPath`` (the dark cavity where no candidate and no
        own interior is there).
    """
    t_len = len(sources)
    excess = np.full(t_len, np.nan)
    for i in np.flatnonzero(~np.isnan(sources[:, 0])):
        excess[i] = excess_opening(_shape_of(sources[i]), _shape_of(targets[i]))
    gate = _open_gate(targets)
    own_gate = _open_gate(sources, OWN_OPEN) if own else np.zeros(t_len, np.float32)
    weight = on_weights(excess) * np.maximum(gate, own_gate) * _apart(sources)
    choice = np.full(t_len, DARK, np.int32)
    active = weight > 0
    k = len(candidates)
    cost = np.full((t_len, k + 1), _NEVER)
    if k:
        vecs = np.stack([c.shape.vector() for c in candidates])
        cost[active, :k] = match_cost(targets[active], vecs)
        # where only the frame's own opening lets an interior in, only its own is drawn
        cost[active & (own_gate > gate), :k] = _NEVER
    if own:
        gaps = sources[:, :9] + sources[:, 9:18]
        opened = np.zeros(t_len, bool)
        ok = ~np.isnan(sources[:, 0])
        opened[ok] = gaps[ok].max(axis=1) >= MIN_OPEN_FRACTION * sources[ok, 18]
        sel = active & opened
        cost[sel, k] = OWN_FACTOR * match_cost(targets[sel], sources[sel][:, None, :])[:, 0]
    usable = active & (cost.min(axis=1) < _NEVER)
    if not usable.any():
        return weight, choice
    best = cost[usable].min(axis=1)
    switch_cost = max(_MIN_SWITCH, SWITCH_FACTOR * float(np.median(best)))
    switch = np.where(usable & np.roll(usable, 1), switch_cost, 0.0)
    cost[~usable] = 0.0
    path = viterbi(cost, switch)
    choice[usable] = np.where(path[usable] == k, OWN, path[usable])
    return weight, choice


def _open_gate(targets: np.ndarray, draw_open: tuple[float, float] = DRAW_OPEN) -> np.ndarray:
    """``(T,) float32`` 0 where the lips (``LipShape.vector()`` rows) are (nearly) closed, 1
    where they are open (``draw_open``): lips that touch show no interior, and a thin gap stays
    the warp's dark line.
    """
    ok = ~np.isnan(targets[:, 0])
    frac = np.zeros(len(targets))
    gaps = targets[ok, :9] + targets[ok, 9:18]
    frac[ok] = gaps.max(axis=1) / np.maximum(targets[ok, 18], 1e-9)
    lo, hi = draw_open
    return smoothstep((frac - lo) / (hi - lo)).astype(np.float32)


def _apart(sources: np.ndarray) -> np.ndarray:
    """``(T,) float32`` 0 where the input's lips touch (mean inner-lip gap below the speech
    constraint's ``CLOSED_APERTURE``, or no edit), else 1: closed lips stay closed, and nothing
    of an interior is drawn between them."""
    ok = ~np.isnan(sources[:, 0])
    apart = np.zeros(len(sources), np.float32)
    gaps = sources[ok, :9] + sources[ok, 9:18]
    apart[ok] = gaps.mean(axis=1) >= CLOSED_APERTURE
    return apart


def _shape_of(vec: np.ndarray) -> LipShape:
    return LipShape(upper=vec[:9], lower=vec[9:18], width=float(vec[18]))


def _even_box(lo: np.ndarray, hi: np.ndarray, bounds: tuple[int, int, int, int]) -> tuple[int, ...]:
    x0 = max(bounds[0], int(np.floor(lo[0])) // 2 * 2)
    y0 = max(bounds[1], int(np.floor(lo[1])) // 2 * 2)
    x1 = min(bounds[2], -(-int(np.ceil(hi[0])) // 2) * 2)
    y1 = min(bounds[3], -(-int(np.ceil(hi[1])) // 2) * 2)
    return x0, y0, x1, y1


def _piece(cand: MouthCandidate, frame_to_canon: np.ndarray, shift: np.ndarray,
           origin: tuple[int, int], size: tuple[int, int],
           which: int) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """One piece of the candidate moved by ``shift`` (face-model units), sampled on the output
    box at ``origin`` (frame pixels) of ``size`` (w, h): ``(h, w, 3) float32`` Y, U, V and
    ``(h, w) float32`` 0..1 where it is the piece's interior (``which``: 0 upper, 1 lower)."""
    ppu = cand.px_per_unit
    m = np.vstack([frame_to_canon, [0, 0, 1]])
    to_crop = np.array([[ppu, 0, -ppu * (CROP_BOX[0] + shift[0])],
                        [0, ppu, -ppu * (CROP_BOX[1] + shift[1])], [0, 0, 1]])  # fmt: skip
    box = np.array([[1, 0, origin[0]], [0, 1, origin[1]], [0, 0, 1]], np.float64)
    full = (to_crop @ m @ box)[:2]
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    # past the crop the mask is 0 (and the colour, which is then not read)
    quad = cv2.warpAffine(cand.quads[which], full, size, flags=flags,
                          borderMode=cv2.BORDER_CONSTANT)  # fmt: skip
    # contiguous planes: OpenCV copies a strided view element by element (blendLinear of a
    # channel slice cost ten times that of a contiguous array)
    colour = cv2.cvtColor(quad, cv2.COLOR_BGRA2BGR).astype(np.float32)
    return colour, cv2.extractChannel(quad, 3).astype(np.float32) * np.float32(1 / 255)


def draw_interior(
    cand: MouthCandidate | None,
    head: np.ndarray,
    dst: np.ndarray,
    box: tuple[int, int, int, int],
    ring: tuple[np.ndarray, np.ndarray] | None,
    crowns: bool = False,
    src: np.ndarray | None = None,
    jaw: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """``(h, w, 3) float32`` Y, U, V of the mouth interior over ``box`` (frame pixels), and
    ``(h, w) float32`` 0..1 where it holds something: the two pieces and the cavity between
    them (everywhere for the dark cavity). Past that, the edited opening keeps the warp's own
    stretched edge of the opening: a flat dark fill there reads as a black outline inside the
    lips, a blur of the interior as a smear.

    Args:
        cand: The candidate; None: the dark cavity.
        head: ``(2, 3)`` the frame's pixels to the head's frame (``head_similarity`` of the
            tracked landmarks).
        dst: ``(478, 2+)`` edited landmarks (the lips the interior fills).
        box: ``(x0, y0, x1, y1)`` output box in the frame.
        ring: Mean and std of Y, U, V of the lip ring around the edited opening in the frame
            (the candidate's colour is matched to it); None: the candidate's colour as it is.
        crowns: Continue the upper teeth up past the candidate's opening here (a frame's own
            mouth, which the bank did not extend), and the lower teeth down where the lower lip
            is pulled down off them.
        src: ``(478, 2+)`` tracked landmarks of the frame: the lower teeth then move with the
            jaw (the chin), the lower lip's own depression (``lip_depression``) uncovering
            them; None: they move with the lower lip.
        jaw: ``jaw_ratio`` of the clip.
    """
    x0, y0, x1, y1 = box
    size = (x1 - x0, y1 - y0)
    if cand is None:
        if ring is None:
            raise ValueError("the dark cavity needs the frame's ring colour")
        mean_f = ring[0]
        dark = np.array(
            [max(16.0, _DARK_LUMA * mean_f[0]), *(128 + _DARK_CHROMA * (mean_f[1:] - 128))],
            np.float32,
        )
        return _flat(dark, size[1], size[0]), np.ones(size[::-1], np.float32)
    to_canon = head
    up_t, lo_t = inner_lips(dst, to_canon)
    # the upper teeth stay with the head (the canonical frame): a lip that rises uncovers more
    # of their crowns (continued up, ``CROWN_REACH``), and only a rise past that takes them
    # along; a lip that comes down covers them. The lower piece follows the lower lip (the jaw).
    rise = float((up_t[_MID, 1] - cand.upper[_MID, 1]).mean())
    shift_up = np.array([0.0, min(0.0, rise + (CROWN_MAX if crowns else CROWN_REACH))])
    shift_lo = (lo_t[_MID] - cand.lower[_MID]).mean(axis=0)
    depressed = 0.0 if src is None else lip_depression(src, dst, to_canon, jaw)
    shift_lo[1] -= depressed
    shift_lo[1] = shift_up[1] + parting(float(shift_lo[1] - shift_up[1]))
    upper, m_u = _piece(cand, to_canon, shift_up, (x0, y0), size, 0)
    lower, m_l = _piece(cand, to_canon, shift_lo, (x0, y0), size, 1)
    if crowns:
        scale = float(np.sqrt(abs(np.linalg.det(to_canon[:, :2]))))
        # the edited upper lip's row in each column of the box
        lip_px = np.asarray(dst, np.float64)[_INNER_UPPER_IDX, :2] - (x0, y0)
        lip_row = np.interp(np.arange(size[0]) + 0.5, *_sorted_xy(lip_px)) - 0.5
        upper, m_u = _crowns(upper, m_u, 1.0 / max(scale, 1e-9), lip_row)
        if depressed > PART_SLACK:
            # the lower teeth continued down as the upper ones up (the rows flipped)
            # (only where they are teeth: brighter than the lips; a tongue or the lip's inside
            # continued down drew a pale sheet with strokes, liveportrait_d20's disgust)
            lip_y = float(cand.ring_mean[0]) + _LOWER_TEETH_OVER_LIP
            lower, m_l = _crowns(lower[::-1], m_l[::-1], 1.0 / max(scale, 1e-9), min_y=lip_y)
            lower, m_l = np.ascontiguousarray(lower[::-1]), np.ascontiguousarray(m_l[::-1])
    # the cavity, column by column: between the pieces (not past the lower one: a dark crescent
    # along the lower lip where the piece's inset edge lay, the warp moves the lip's own edge
    # there), or down to the lower lip where the opening's mask cuts it in a column without
    # lower piece (the warp's stretched teeth showed there as streaks)
    dark, between = _cavity(cand, lower, m_u, m_l)
    # the upper piece over the lower one over the cavity; where the pieces meet at the occlusal
    # line their soft edges share the pixel (the lower one takes what the upper leaves), the
    # cavity only what neither covers and only where it shows: laid one over the other, a
    # quarter of the cavity showed along the line between clenched teeth, and the cavity's
    # colour darkened every soft edge of a piece over the warp (a dark outline round the teeth,
    # a dark band where the crowns fade out under a raised lip). Each weight normalised by
    # blendLinear, the colour is that of what covers the pixel, ``coverage`` its share; where
    # nothing does, the cavity's (the chroma is averaged over 2 x 2 pixels before it is laid:
    # a colour 0 next to a covered pixel turned it green).
    w_l = np.minimum(m_l, 1.0 - m_u)
    w_d = between * ((1.0 - m_u) - w_l) + np.float32(_NOTHING)
    layer = cv2.blendLinear(lower, dark, w_l, w_d)
    layer = cv2.blendLinear(upper, layer, m_u, w_l + w_d)
    coverage = np.maximum(between, np.maximum(m_u, m_l))
    if ring is None:
        return layer, coverage
    mean_f, std_f = ring
    # colour and light of the frame: per channel, matched mean and (clamped) spread of the ring
    lo_g = np.array([_GAIN_Y[0], _GAIN_UV[0], _GAIN_UV[0]])
    hi_g = np.array([_GAIN_Y[1], _GAIN_UV[1], _GAIN_UV[1]])
    gain = np.clip(std_f / cand.ring_std, lo_g, hi_g)
    # the ring's mean moved only so far (levels): the same clip's light changes little, and the
    # edited lips' ring holds the warp's stretched shadows and the detail's folds (a full match
    # turned the glasses clip's teeth grey, Y 200 -> 172)
    shift = np.array([_SHIFT_Y, _SHIFT_UV, _SHIFT_UV])
    mean_f = cand.ring_mean + np.clip(mean_f - cand.ring_mean, -shift, shift)
    matrix = np.concatenate([np.diag(gain), (mean_f - gain * cand.ring_mean)[:, None]], axis=1)
    return cv2.transform(layer, matrix.astype(np.float32)), coverage


def lip_depression(
    src: np.ndarray, dst: np.ndarray, head: np.ndarray, jaw_ratio: float = 1.0
) -> float:
    """How much further (face-model units, >= 0) the edit moves the lower lip down than the jaw
    does (the chin's move over ``jaw_ratio``, what the tracked chin moves per unit of the lower
    lip in the clip's own speech: ``jaw_ratio``): the lip pulled down off the lower teeth (AU16,
    disgust's depression), which stay with the jaw. Moved with the lip instead, they parted from
    the upper teeth by a dark band (GRID's woman, disgusted, 0.08-0.12 of lip against 0.02 of
    chin, whose speech moves the chin 0.54 as far as the lip).

    >>> src = load_face_model().template * 100 + 200
    >>> dst = src.copy()
    >>> dst[list(LIPS_INNER_LOWER), 1] += 8.0
    >>> round(lip_depression(src, dst, head_similarity(src)), 3)
    0.08
    >>> dst[CHIN, 1] += 8.0
    >>> round(lip_depression(src, dst, head_similarity(src)), 3)
    0.0
    >>> dst[CHIN, 1] -= 4.0  # a clip whose chin moves half as far as its lip in speech
    >>> round(lip_depression(src, dst, head_similarity(src), jaw_ratio=0.5), 3)
    0.0
    """
    lip = _apply(head, np.asarray(dst, np.float64)[_INNER_LOWER_IDX[_MID]])
    lip0 = _apply(head, np.asarray(src, np.float64)[_INNER_LOWER_IDX[_MID]])
    chin = _apply(head, np.asarray(dst, np.float64)[CHIN]) - _apply(
        head, np.asarray(src, np.float64)[CHIN]
    )
    return max(0.0, float((lip[:, 1] - lip0[:, 1]).mean() - chin[1] / jaw_ratio))


def jaw_ratio(lip: np.ndarray, chin: np.ndarray) -> float:
    """How far the tracked chin moves per unit of the lower lip in a clip's own frames (least
    squares through their medians, within ``JAW_RATIO``; 1 with too little motion): a tracker
    reads the chin moving 0.33 (the glasses clip) to 1.1 (sadtalker) as far as the lower lip.

    Args:
        lip: ``(T,)`` mean height of the lower inner lip per frame (head frame), NaN unknown.
        chin: ``(T,)`` the chin's.

    >>> t = np.linspace(0, 6, 50)
    >>> round(jaw_ratio(0.1 * np.sin(t), 0.05 * np.sin(t)), 3)
    0.5
    >>> jaw_ratio(np.zeros(50), np.zeros(50))
    1.0
    """
    ok = np.isfinite(lip) & np.isfinite(chin)
    if ok.sum() < 3:
        return 1.0
    a = lip[ok] - np.median(lip[ok])
    b = chin[ok] - np.median(chin[ok])
    den = float((a * a).sum())
    if den < _JAW_MIN_SPREAD**2 * ok.sum():
        return 1.0
    return float(np.clip((a * b).sum() / den, *JAW_RATIO))


def parting(gap: float) -> float:
    """How far the lower piece moves away from the upper one (face-model units) when the edited
    lips part ``gap`` more than the candidate's: not at all up to ``PART_SLACK`` (a small gap
    stays clenched: a part of a pixel drew a faint seam), then ``gap - PART_SLACK``; a negative
    gap (the pieces overlap, the upper in front) as it is.

    >>> [round(parting(g), 3) for g in (-0.01, 0.0, 0.01, 0.04, 0.1)]
    [-0.01, 0.0, 0.0, 0.02, 0.08]
    """
    return gap if gap <= 0 else max(0.0, gap - PART_SLACK)


def _cavity(
    cand: MouthCandidate, lower: np.ndarray, m_u: np.ndarray, m_l: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The cavity between the pieces on the output box (``lower``: the lower piece's colour,
    ``m_u``, ``m_l``: the pieces' masks): ``(h, w, 3) float32`` its Y, U, V, and ``(h, w)
    float32`` 1 where it shows.

    Its colour is the candidate's dark interior under the upper teeth, turning down each column
    towards the colour at the top of the lower piece (the tongue over the lower teeth; at most a
    shadowed lip's luma): a flat dark colour there reads as a hole cut into the face, and ends in
    a seam against the lower piece. It shows from the upper piece down to the lower one (down to
    the box's bottom in a column without lower piece), and on to the corners of the opening, as
    the mouth's shadow runs past the teeth (the rows of its outermost columns repeated; the
    opening's mask cuts it): a cavity ending with the pieces' columns draws a dark box.
    """
    dark = np.asarray(cand.dark, np.float32)
    lip = np.asarray(cand.ring_mean, np.float32)
    tongue = np.array([max(float(dark[0]), _TONGUE_LUMA * float(lip[0])),
                       *(128 + _TONGUE_CHROMA * (lip[1:] - 128))], np.float32)  # fmt: skip
    h, w = m_u.shape
    # per column, the rows of the gap: from the upper piece's last solid row to the lower's first
    su, sl = m_u > 0.5, m_l > 0.5
    has_u, has_l = su.any(axis=0), sl.any(axis=0)
    bottom = np.where(has_l, np.argmax(sl, axis=0), h)
    top = np.where(has_u, h - 1 - np.argmax(su[::-1], axis=0), h + 1)
    cols = np.arange(w)
    # a column without the lower piece ends its cavity where the nearest column with it does,
    # and takes that column's floor: inside the piece's span (where the occlusal line meets the
    # lower lip) a cavity run down to the box's bottom drew a dark notch through the lower teeth,
    # and past its span (an opening wider than the candidate's) a dark wedge beside them; past
    # the span the floor's colour then runs on down to the lower lip
    with_l = np.flatnonzero(has_l)
    # the columns where both pieces are: whether the pieces part is read there (at the pieces'
    # own ends a rounded crown's corner, or a gap measured to the interpolated floor, is no
    # parting: one such column past feifeili's lower piece, 4 pixels against 1-2 everywhere
    # else, let the cavity run down there and beside it, a dark stroke over the tongue)
    both = np.flatnonzero(has_u & has_l)
    floor_col = cols
    beyond = np.zeros(w, bool)
    if with_l.size:
        lacking = ~has_l
        nearest = np.clip(np.searchsorted(with_l, cols), 1, max(1, with_l.size - 1))
        left = with_l[np.maximum(nearest - 1, 0)]
        right = with_l[np.minimum(nearest, with_l.size - 1)]
        floor_col = np.where(np.abs(cols - left) <= np.abs(right - cols), left, right)
        bottom[lacking] = np.round(np.interp(cols[lacking], with_l, bottom[with_l])).astype(int)
        beyond = lacking & ((cols < with_l[0]) | (cols > with_l[-1]))
        has_l = np.ones(w, bool)
    t = np.arange(h, dtype=np.float32)[:, None] - top.astype(np.float32)
    t *= (1.0 / np.maximum(bottom - top, 1)).astype(np.float32)
    with_u = np.flatnonzero(has_u)
    # (where the pieces share too few columns to say, the upper piece's columns say it)
    span = both if both.size * _SHARED_SPAN >= with_u.size else with_u
    gap = bottom - top
    # the ends of the span are read a few columns in: a crown's rounded corner is no parting
    inner = span[_END_COLUMNS:-_END_COLUMNS] if span.size > 2 * _END_COLUMNS else span
    flat = bool(inner.size) and int(gap[inner].max()) <= _FLAT_GAP_PX
    # past the lower piece's span the floor runs on down (not along a flat line: a column of
    # the upper piece past the lower one drew a dark stroke down from the line), as far as the
    # nearest column's lower piece reaches: run on to the box's bottom, a few columns of the
    # upper piece past the lower one draw a dark stroke down to a lower lip the edit pulls down
    # (feifeili's disgust ran one down to the box's bottom; the opening's mask hid it there)
    reach = np.full(w, h)
    if with_l.size:
        reach = (h - 1 - np.argmax(sl[::-1], axis=0))[floor_col]
    run = beyond[None, :] & (np.arange(h)[:, None] <= reach[None, :]) & (not flat)
    shows = ((t > 0) & ((t <= 1) | run)).view(np.uint8)
    if with_u.size:
        first, last = int(with_u[0]), int(with_u[-1])
        shows = np.take(shows, np.clip(cols, first, last), axis=1)
        # a line between touching teeth is not continued past them: over the lips towards
        # the corners it read as a dark line drawn across a nearly closed mouth
        end = min(_END_COLUMNS, (span.size - 1) // 2)
        if gap[span[end]] <= _FLAT_GAP_PX:
            shows[:, :first] = 0
        if gap[span[-1 - end]] <= _FLAT_GAP_PX:
            shows[:, last + 1 :] = 0
    if flat and has_l[with_u].all():
        # pieces that (nearly) touch: a line of shadow between the teeth, no room to shade
        return _flat(dark, h, w), shows.astype(np.float32)
    floor = np.where(has_l[:, None], lower[np.minimum(bottom + 1, h - 1)[floor_col], floor_col],
                     tongue[None, :])  # fmt: skip
    floor[:, 0] = np.minimum(floor[:, 0], tongue[0])
    floor = cv2.GaussianBlur(floor[None].astype(np.float32), (0, 0), sigmaX=2.0, sigmaY=0.1)[0]
    np.clip(t, 0.0, 1.0, out=t)
    # channel by channel (a product broadcast over the three channels cost 1 ms a box)
    out = cv2.merge([t * (floor[:, k] - dark[k]) + dark[k] for k in range(3)])
    return out, shows.astype(np.float32)


def _flat(colour: np.ndarray, h: int, w: int) -> np.ndarray:
    """``(h, w, 3) float32`` filled with ``colour`` (a broadcast copy costs several times as
    much on boxes this small)."""
    return cv2.merge([np.full((h, w), v, np.float32) for v in np.asarray(colour, np.float32)])


def _crowns(
    upper: np.ndarray,
    mask: np.ndarray,
    px_per_unit: float,
    lip: np.ndarray | None = None,
    min_y: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The upper piece (``(h, w, 3)`` Y, U, V and its ``(h, w)`` 0..1 mask on the output box)
    with its teeth continued up by ``CROWN_REACH`` as the bank's candidates are: each column's
    first rows below the lip's shadow repeated upwards, soft across, darkening towards the top,
    the mask fading out over that reach. The crowns start where the piece is solid: its soft
    top edge over the warp drew a dark seam across the teeth. With ``lip``, ``(w,)`` the row of
    the edited upper lip per column, a column's crowns reach up to it, up to ``CROWN_MAX``: a lip
    raised further at one side than on average left a dark band of the warp between it and the
    crowns (styletalk's happy). With ``min_y``, only columns whose repeated colour is brighter
    (luma) than that are continued."""
    inside = (mask > 0.98).view(np.uint8)
    cols = np.flatnonzero(inside.any(axis=0))
    if not cols.size:
        return upper, mask
    h, w = mask.shape
    sigma = max(1.0, _CROWN_BLUR * px_per_unit)
    # the columns with the solid piece and room on each side for their crowns' soft sides
    pad = int(np.ceil(2 * sigma))
    span = slice(max(0, int(cols[0]) - pad), min(w, int(cols[-1]) + 1 + pad))
    inside = inside[:, span]
    has = inside.any(axis=0)
    # a column without the piece gets no crown: its first row lies past the bottom
    first = np.where(has, np.argmax(inside, axis=0), h + 10**6)
    last = h - 1 - np.argmax(inside[::-1].copy(), axis=0)
    skip = max(1, int(round(_CROWN_SKIP * px_per_unit)))
    src = np.clip(np.minimum(first + skip, np.maximum(first, (first + last) // 2)), 0, h - 1)
    if min_y is not None:
        # only teeth are continued: a column whose crown would repeat tongue or lip gets none
        has &= upper[src, np.arange(span.start, span.stop), 0] > min_y
        if not has.any():
            return upper, mask
        first = np.where(has, first, h + 10**6)
    reach = np.full(first.shape, max(1.0, CROWN_REACH * px_per_unit), np.float32)
    if lip is not None:
        top_max = max(1.0, CROWN_MAX * px_per_unit)
        to_lip = first - lip[span] + _CROWN_OVER_PX
        reach = np.clip(to_lip, reach, top_max).astype(np.float32)
    r0 = max(0, int(np.floor((first - reach)[has].min())))
    r1 = int(first[has].max())
    if r1 <= r0:
        return upper, mask
    rows = np.arange(r0, r1, dtype=np.float32)[:, None]
    # every crown row of a column repeats one colour (of its row ``src``), soft across
    colour = upper[src, np.arange(span.start, span.stop)]
    # soft across, from the columns that have the piece only (a column without it read the
    # box's last row, colour 0 past the crop: blurred into its neighbours' crowns it drew dark
    # green strokes across the upper teeth)
    held = has.astype(np.float32)
    num = cv2.GaussianBlur((colour * held[:, None])[None], (0, 0), sigmaX=sigma, sigmaY=0.1)[0]
    den = cv2.GaussianBlur(held[None], (0, 0), sigmaX=sigma, sigmaY=0.1)[0]
    colour = num / np.maximum(den, np.float32(1e-6))[:, None]
    fade = (first[None, :] - rows) / reach[None, :]
    up = (fade > 0) & (fade <= 1.0)
    if not up.any():
        return upper, mask
    np.clip(fade, 0.0, 1.0, out=fade)
    # the crowns' mask soft across as their colour, and their shade from the solid top soft
    # across: where only a few scattered columns of a thin piece are solid, each drew its crown
    # as a one-pixel tick up the raised lip
    add = cv2.GaussianBlur(np.where(up, 1.0 - fade**4, 0.0).astype(np.float32), (0, 0),
                           sigmaX=sigma, sigmaY=0.1)  # fmt: skip
    top = cv2.GaussianBlur((np.where(has, first, 0) * held).astype(np.float32)[None], (0, 0),
                           sigmaX=sigma, sigmaY=0.1)[0]  # fmt: skip
    top /= np.maximum(den, np.float32(1e-6))
    shade = np.clip((top[None, :] - rows) / reach[None, :], 0.0, 1.0)
    crowns = np.empty((r1 - r0, colour.shape[0], 3), np.float32)
    crowns[..., 0] = colour[:, 0] * (1.0 - _CROWN_SHADE * shade)
    crowns[..., 1:] = colour[None, :, 1:]
    upper = upper.copy()
    mask = mask.copy()
    region = upper[r0:r1, span]
    m = mask[r0:r1, span]
    # (not where the crowns' colour is a blur of nothing: colour 0 turned the chroma green)
    sel = up | ((add > np.maximum(m, _CROWN_MIN)) & (den[None, :] > _CROWN_MIN))
    region[sel] = crowns[sel]
    m[sel] = np.maximum(m[sel], add[sel])
    return upper, mask


def _frame_ring(
    planes: tuple[np.ndarray, np.ndarray, np.ndarray],
    box: tuple[int, int, int, int],
    opening: np.ndarray,
    ring_px: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of Y, U, V over the lip ring around ``opening`` (box-relative mask) in the
    warped ``planes`` (box in roi pixels, even-aligned)."""
    x0, y0, x1, y1 = box
    ring = _ring_mask(opening, ring_px)
    half = np.ascontiguousarray(ring[::2, ::2])
    if cv2.countNonZero(ring) < 8 or cv2.countNonZero(half) < 4:
        ring = np.full_like(ring, 255)
        half = np.ascontiguousarray(ring[::2, ::2])
    mean, std = np.zeros(3), np.zeros(3)
    m, d = cv2.meanStdDev(np.ascontiguousarray(planes[0][y0:y1, x0:x1]), mask=ring)
    mean[0], std[0] = m[0, 0], d[0, 0]
    for k in (1, 2):
        region = np.ascontiguousarray(planes[k][y0 // 2 : y1 // 2, x0 // 2 : x1 // 2])
        m, d = cv2.meanStdDev(region, mask=half[: region.shape[0], : region.shape[1]])
        mean[k], std[k] = m[0, 0], d[0, 0]
    return mean, std + 1.0


def composite_mouth(
    field: WarpField,
    planes: tuple[np.ndarray, np.ndarray, np.ndarray],
    src: np.ndarray,
    dst: np.ndarray,
    cand: MouthCandidate | None,
    weight: float,
    own: bool = False,
    head: np.ndarray | None = None,
    fading: bool = False,
    jaw: float = 1.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw the mouth interior into the edited opening of a warped face region.

    Args:
        field: The warp (its ``roi`` places ``planes``).
        planes: Warped Y region at full and U, V at half resolution.
        src: ``(478, 2+)`` tracked landmark pixels.
        dst: ``(478, 2+)`` edited landmark pixels.
        cand: The interior to draw; None: the dark cavity.
        weight: 0..1 its share in the opening.
        own: The candidate is the frame's own mouth (``own_candidate``): its colour is kept;
            another frame's is matched to this frame's colour and light.
        head: ``head_similarity(src)`` if known.
        fading: The interior is one a switch left, fading out over the new one in ``planes``:
            it is laid less where the new one is brighter (``_FADE_CONTRAST``), so teeth that
            come with the switch show at once, not grey under a dark interior.
        jaw: ``jaw_ratio`` of the clip (see ``draw_interior``).

    Returns:
        New Y, U, V regions; ``planes`` itself where the opening is empty or off the region.
    """
    rx0, ry0, rx1, ry1 = field.roi
    up = np.asarray(dst, np.float64)[_INNER_UPPER_IDX, :2]
    lo = np.asarray(dst, np.float64)[_INNER_LOWER_IDX, :2]
    lips = np.concatenate([up, lo])
    head = head_similarity(src) if head is None else head
    scale = 1.0 / float(np.sqrt(abs(np.linalg.det(head[:, :2]))))
    ring_px = max(2.0, _RING * scale)
    pad = ring_px + 3
    box = _even_box(lips.min(axis=0) - pad, lips.max(axis=0) + pad, field.roi)
    x0, y0, x1, y1 = box
    if x1 - x0 < 4 or y1 - y0 < 4:
        return planes
    opening = _fill(_opening(up, lo) - (x0, y0), (y1 - y0, x1 - x0))
    if opening.sum() < 1.0:
        return planes
    alpha = cv2.GaussianBlur(_inset(opening), (0, 0), _FEATHER_SIGMA) * float(weight)
    rbox = (x0 - rx0, y0 - ry0, x1 - rx0, y1 - ry0)
    ring = _frame_ring(planes, rbox, opening, ring_px) if not own or cand is None else None
    interior, coverage = draw_interior(cand, head, dst, box, ring, crowns=own, src=src, jaw=jaw)
    alpha *= coverage
    out_y, out_u, out_v = (p.copy() for p in planes)
    bx0, by0, bx1, by1 = rbox
    y_reg = out_y[by0:by1, bx0:bx1]
    # plane by plane, each contiguous (see ``_piece``)
    inter_y, inter_u, inter_v = cv2.split(interior)
    if fading:
        h, w = y_reg.shape
        brighter = y_reg.astype(np.float32) - inter_y[:h, :w]
        alpha[:h, :w] *= np.clip(1.0 - brighter * np.float32(1 / _FADE_CONTRAST), 0.0, 1.0)
    y_reg[:] = _mix(y_reg, inter_y, alpha)
    half = ((x1 - x0) // 2, (y1 - y0) // 2)
    a_half = cv2.resize(alpha, half, interpolation=cv2.INTER_AREA)
    for plane, inter in ((out_u, inter_u), (out_v, inter_v)):
        reg = plane[by0 // 2 : by1 // 2, bx0 // 2 : bx1 // 2]
        over = cv2.resize(inter, half, interpolation=cv2.INTER_AREA)
        reg[:] = _mix(reg, over, a_half[: reg.shape[0], : reg.shape[1]])
    return out_y, out_u, out_v


def _inset(mask: np.ndarray) -> np.ndarray:
    """The anti-aliased mask pulled in by ``_EDGE_INSET_PX`` (the warped lip edge stays)."""
    k = int(round(_EDGE_INSET_PX)) * 2 + 1
    return cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))


def _mix(base: np.ndarray, over: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """``base`` (uint8) with ``over`` (float, rounded and saturated) laid over it by ``alpha``
    (both cut to ``base``'s size): three OpenCV calls on a region of a few thousand pixels,
    where NumPy's per-call cost would dominate."""
    h, w = base.shape
    a = np.ascontiguousarray(alpha[:h, :w])
    top = cv2.convertScaleAbs(np.ascontiguousarray(over[:h, :w]))
    return cv2.blendLinear(top, np.ascontiguousarray(base), a, 1.0 - a)


def choose_frames(track: FaceTrack, capacity: int = BANK_SIZE) -> np.ndarray:
    """Up to ``capacity`` frames of a track whose open mouths are most diverse (farthest-point
    sampling of their lip shapes, from the most open one), sorted."""
    present = np.flatnonzero(track.present)
    idx, vecs = [], []
    for i in present:
        lm = np.asarray(track.landmarks[i], np.float64)
        up, lo = inner_lips(lm, head_similarity(lm))
        shape = LipShape.of(up, lo)
        if shape.open_fraction >= MIN_OPEN_FRACTION:
            idx.append(int(i))
            vecs.append(shape.vector())
    if not idx:
        return np.zeros(0, np.int64)
    v = np.asarray(vecs)
    chosen = [int(np.argmax(v[:, :18].sum(axis=1)))]
    dist = np.sqrt(((v - v[chosen[0]]) ** 2).sum(axis=1))
    while len(chosen) < min(capacity, len(idx)):
        nxt = int(np.argmax(dist))
        if dist[nxt] <= 0:
            break
        chosen.append(nxt)
        dist = np.minimum(dist, np.sqrt(((v - v[nxt]) ** 2).sum(axis=1)))
    return np.sort(np.asarray(idx)[chosen])


def replay(info: VideoInfo, track: FaceTrack, bank: MouthBank) -> None:
    """Fill ``bank`` from a clip analysed earlier: decode it up to the last of the frames
    ``choose_frames`` names and show the bank those, with the track's landmarks."""
    frames = set(choose_frames(track, bank.capacity).tolist())
    if not frames:
        return
    last = max(frames)
    for frame in iter_frames(info, "rgb24"):
        if frame.index in frames:
            bank.observe(frame.index, frame.image, [np.asarray(track.landmarks[frame.index])])
        if frame.index >= last:
            break


class MouthPart(RenderPart):
    """The mouth interior from the actor's own frames where the edit opens the lips more.

    Args:
        capacity: Most candidate mouths kept (``BANK_SIZE``).

    Attributes:
        bank: The clip's candidates (filled during the tracking pass through
            ``frame_observer``, else by ``prepare``'s own decode pass).
        fallback_frames: Frames of the last prepared clip drawn with the dark cavity because
            the clip has no open mouth to copy (``notes`` says so, once per clip).
        prepare_seconds: Time ``prepare`` took (the decode pass included).
    """

    name = "mouth"

    def __init__(self, capacity: int = BANK_SIZE) -> None:
        self.capacity = capacity
        self.bank = MouthBank(capacity)
        self.fallback_frames = 0
        self.prepare_seconds = 0.0
        self._bank_of: object = None
        self._paths: list[MouthPath] = []
        # per path: the interior last drawn (frame, choice, candidate, own) and the one a switch
        # left (``_Drawn``), faded out over ``SWITCH_FADE`` frames
        self._last: dict[int, _Drawn] = {}
        self._left: dict[int, _Drawn] = {}
        self._found: tuple[FaceFrame, MouthPath | None] | None = None

    def frame_observer(self, info: VideoInfo) -> FrameObserver:
        self.bank = MouthBank(self.capacity)
        self._bank_of = info.path
        return self.bank

    def prepare(self, clips: Sequence[ClipFaces]) -> None:
        start = time.perf_counter()
        self._paths = []
        self._last, self._left = {}, {}
        self._found = None
        self.fallback_frames = 0
        if clips and (self._bank_of != clips[0].info.path or self.bank.frames_seen == 0):
            self.bank = MouthBank(self.capacity)
            self._bank_of = clips[0].info.path
            for clip in clips:
                replay(clip.info, clip.track, self.bank)
        for clip in clips:
            self._paths.append(self._plan(clip))
        self.prepare_seconds = time.perf_counter() - start

    @property
    def paths(self) -> tuple[MouthPath, ...]:
        """The prepared path of each face of the last prepared clip."""
        return tuple(self._paths)

    def notes(self) -> tuple[str, ...]:
        if not self.fallback_frames:
            return ()
        return (
            "the clip shows no open mouth to copy teeth from: on "
            f"{self.fallback_frames} frames the edit opens the lips more than the actor did "
            "and the mouth is drawn as a dark cavity",
        )

    def _plan(self, clip: ClipFaces) -> MouthPath:
        n = clip.track.n_frames
        sources = np.full((n, 19), np.nan)
        targets = np.full((n, 19), np.nan)
        mouth = np.full((n, 2), np.nan, np.float32)
        heads = np.full((n, 2, 3), np.nan)
        lip_y = np.full(n, np.nan)
        chin_y = np.full(n, np.nan)
        for i in range(n):
            face = clip.face(i)
            if face is None:
                continue
            to_canon = heads[i] = head_similarity(face.source)
            sources[i] = LipShape.of(*inner_lips(face.source, to_canon)).vector()
            targets[i] = LipShape.of(*inner_lips(face.target, to_canon)).vector()
            mouth[i] = face.source[UPPER_LIP_MID, :2]
            lip_y[i] = float(np.mean(_apply(to_canon, np.asarray(face.source, np.float64)[
                _INNER_LOWER_IDX[_MID]])[:, 1]))  # fmt: skip
            chin_y[i] = float(_apply(to_canon, np.asarray(face.source[CHIN], np.float64))[1])
        mine = tuple(c for c in self.bank.candidates if _belongs(c, clip.track))
        weight, choice = plan_path(sources, targets, mine)
        self.fallback_frames += int(((weight > 0) & (choice == DARK)).sum())
        return MouthPath(weight=weight, choice=choice, mouth=mouth, candidates=mine, heads=heads,
                         jaw=jaw_ratio(lip_y, chin_y))  # fmt: skip

    def path_of(self, face: FaceFrame) -> MouthPath | None:
        """The prepared path of the face being rendered (None if it was not prepared)."""
        if self._found is not None and self._found[0] is face:
            return self._found[1]  # ``active`` asked first, then ``apply``
        ax, ay = (float(v) for v in face.source[UPPER_LIP_MID, :2])
        found = None
        for path in self._paths:
            if face.index < len(path.mouth):
                px, py = (float(v) for v in path.mouth[face.index])
                if abs(px - ax) <= 0.5 and abs(py - ay) <= 0.5:
                    found = path
                    break
        self._found = (face, found)
        return found

    def active(self, face: FaceFrame) -> bool:
        path = self.path_of(face)
        return path is not None and bool(path.weight[face.index] > 0)

    def apply(self, frame: np.ndarray, field: WarpField, planes: Planes, face: FaceFrame) -> Planes:
        path = self.path_of(face)
        if path is None or path.weight[face.index] <= 0:
            return planes
        k = int(path.choice[face.index])
        weight = float(path.weight[face.index])
        head = path.heads[face.index]
        if not np.isfinite(head).all():
            head = head_similarity(face.source)
        drawn = _Drawn(face.index, k, None, False)
        if k == OWN:
            mine = own_candidate(frame, face.source, face.index, head)
            drawn = _Drawn(face.index, k, mine, mine is not None)
        if not drawn.own:
            drawn = _Drawn(face.index, k, path.candidates[k] if k >= 0 else None, False)
        out = composite_mouth(field, planes, face.source, face.target, drawn.cand, weight,
                              own=drawn.own, head=head, jaw=path.jaw)  # fmt: skip
        # a switch of interior is faded: the one drawn before it laid over the new one,
        # less on every frame after (a cut from one frame's mouth to another's pops)
        key = id(path)
        last = self._last.get(key)
        if last is not None and last.index == face.index - 1 and last.choice != k:
            self._left[key] = dataclasses.replace(last, index=face.index)
        left = self._left.get(key)
        if left is not None:
            step = face.index - left.index
            share = 1.0 - (step + 1) / (SWITCH_FADE + 1)
            if 0 <= step < SWITCH_FADE and left.choice != k:
                out = composite_mouth(field, out, face.source, face.target, left.cand,
                                      weight * share, own=left.own, head=head,
                                      fading=True, jaw=path.jaw)  # fmt: skip
            else:
                del self._left[key]
        self._last[key] = drawn
        return out


@dataclass(frozen=True)
class _Drawn:
    """The interior drawn on a frame: its ``MouthPath.choice``, the candidate (None: the dark
    cavity) and whether it is the frame's own (drawn in its own colour)."""

    index: int
    choice: int
    cand: MouthCandidate | None
    own: bool


def _belongs(cand: MouthCandidate, track: FaceTrack) -> bool:
    """Whether a candidate was taken from this track's face (its lips match the track's on the
    same frame)."""
    if cand.index >= track.n_frames or not track.present[cand.index]:
        return False
    lm = np.asarray(track.landmarks[cand.index], np.float64)
    up, lo = inner_lips(lm, head_similarity(lm))
    err = np.sqrt(((np.concatenate([up, lo]) - np.concatenate([cand.upper, cand.lower])) ** 2)
                  .sum(axis=1).mean())  # fmt: skip
    return bool(err <= _SAME_FACE)


__all__ = [
    "BANK_SIZE",
    "CROWN_REACH",
    "SWITCH_FADE",
    "LipShape",
    "MouthBank",
    "MouthCandidate",
    "MouthPart",
    "MouthPath",
    "composite_mouth",
    "draw_interior",
    "excess_opening",
    "head_similarity",
    "inner_lips",
    "match_cost",
    "on_weights",
    "own_candidate",
    "OWN",
    "DARK",
    "choose_frames",
    "replay",
    "plan_path",
    "viterbi",
]
