"""The speech constraint: what an emotion edit keeps of the mouth's motion, and what it frees.

After NED (its only mouth term is the correlation of the jaw-opening track between input and
output) and the "highly correlated, not identical" mouth motion of later speech-preserving
editors, in a stricter, named form. Measured on the inner-lip aperture (the mean vertical gap of
the inner-lip pairs, ``lip_aperture``, canonical units of the editor's tracker):

- **Timing**: the output's aperture track correlates with the input's at
  ``r >= MIN_TIMING_R`` (0.97) on every segment.
- **Closures**: every frame where the input's lips touch (aperture below ``CLOSED_APERTURE``:
  m, b, p, a closed mouth at rest) has touching lips in the output; no frame where they were
  apart is closed.
- **Amplitude**: the aperture may scale by an emotion-dependent factor within
  ``AMPLITUDE_BAND`` (0.8..1.35: surprise opens more between words, anger and sadness less),
  smoothly, and never across a closure (the scaling fades out as the lips close).
- **Free**: everything else of the mouth: its width, the corners' height and pull, the upper lip
  raised over the teeth, the lower lip depressed, the lips pressed together, the chin raised.
  Not the lips' thinning: an outer lip edge moved towards the inner one is read (by dlib's
  68-point model, and by eye on a small mouth) as the inner edge following it, a narrower
  opening: sadness's thinner lower lip closed 24-82% of the open frames of three talkers.
  Nor a narrowing that the amplitude band cannot open for: a mouth narrowed to ``w`` of its
  width keeps its opening's area (the gap grows ``1 / w`` times on parted lips, ``KEEP_AREA``)
  and narrows no further than the band's top allows (``LEAST_WIDTH``, 0.74): surprise's
  rounding, the gap kept as it was, thinned a talker's slit until dlib read it shut.

How an edit is made to keep it (``keep_speech`` for a dense offset field, ``plan_speech`` and
``SpeechPlan.apply`` for an editor that stores its edit compactly, as the prototype editor
does): any canonical offset field splits (``MouthSplit``) into its *lip separation*, the change
of the vertical gap of each inner-lip pair carried by smooth fields that part or press that
pair, and the rest, which leaves every inner gap as it is and is applied as it is. The
separation is applied through a per-frame, per-pair *parting gate*: 0 where the input's lips are
closed or barely part, rising smoothly (``parting_gate``) with the input's own aperture to 1 on
a clearly open mouth (a separation added in full to lips parted by a slit doubled the slit, and
dlib reads such lips as touching), and lowered wherever pressing would leave less than
``KEEP_GAP`` of the pair's own gap (a lip's thickening, which MediaPipe's contours show on lips
parted over the teeth, passes the same gate; its thinning is not applied, see Free above). The
fields that part a pair or thicken a lip carry the skin between the nose and the chin with the
lip (``_CARRY_SIGMA``), so that a parting or thickening held back on closed lips holds back the
skin raised with it too: the skin is not stretched over a closed lip, which dlib reads as parted
lips. For the same reason, on closed lips (through the same gate) the skin and the lips' outer
edges are kept from moving away from the inner contour (``MouthSplit.contour``): whatever of an
edit would stretch the upper lip and the skin above it upwards from the closed lip line, or the
lower lip and the chin's skin downwards, is held back, while their moving together with the lip
line (a smile's lift) and towards it (a press) stays. The amplitude factor adds ``(scale - 1) *
parting gate * own aperture`` of a jaw-opening field (the lower lip and the chin moving down).
So closures stay closed, openings stay open, and the aperture track stays a smooth increasing
function of the input's: its correlation stays high. Last, an arch of the mouth line
(``MouthSplit.bow``: the lips' centre lifted against their corners) is held to ``BOW_PER_GAP``
of the input's own gap on each frame: over lips that barely part it hid the slit between them,
over closed lips it parted them (dlib's reading, and the frames'). What is left of the lower
lip's arch still hid the slit of barely parted lips: on lips that are apart the lower lip goes
down by as much (``ARCH_OPENING``), up to the top of the amplitude band. Where the edit
narrows the mouth, it narrows it no further than ``LEAST_WIDTH`` of the input's width (the lips'
horizontal offsets scaled back), and on parted lips the lower lip goes down until the opening
keeps its area (``KEEP_AREA``), within the band.

What the gate holds back of a pair's parting is shared by its two lips, but where both move
down, the lower one further, it is taken from the lower lip alone (``MouthSplit.lower_separation``):
disgust depresses the lower lip five times as far as it moves the upper one, and meeting halfway
pulled the closed mouth down, which dlib read as parted lips.

``speech_check`` measures the three clauses on any pair of canonical tracks (the edit's, or a
re-tracked output's) and ``SpeechCheck.passed`` judges them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from emodirector.face_model import (
    CHIN,
    LIPS_INNER_LOWER,
    LIPS_INNER_UPPER,
    LIPS_OUTER_LOWER,
    LIPS_OUTER_UPPER,
    N_LANDMARKS,
    N_MESH,
    SUBNASALE,
    load_face_model,
)
from emodirector.ramps import smoothstep

_X, _Y = 0, 1

#: Inner-lip pairs (upper, lower landmark), corner to corner, the corners themselves excluded.
INNER_PAIRS: tuple[tuple[int, int], ...] = tuple(
    zip(LIPS_INNER_UPPER[1:-1], LIPS_INNER_LOWER[1:-1], strict=True)
)
#: Mean inner-lip gap (canonical units; the face's RMS radius is 1) below which the lips touch.
#: MEAD's and GRID's closed frames measure 0.00-0.03; speech opens to 0.1-0.6.
CLOSED_APERTURE = 0.03
#: Mean inner-lip gap from which the mouth counts as clearly open (the closure gate is 1).
OPEN_APERTURE = 0.10
#: Mean inner-lip gaps over which an edit's lip separation, lip thickening and amplitude factor
#: take hold (``parting_gate``: 0 below the first, 1 from the second). Slower than the closure
#: gate: lips that barely part (MediaPipe reads 0.04-0.10 where a slit or the teeth's edge
#: shows) read as touching lips to dlib's 68 points, and a separation added in full from 0.10
#: doubled their gap (videoretalking_face3, sadtalker_WDA: 5-6 of their 31-38 closures read
#: open in a happy or angry edit).
PARTING_APERTURE = (0.045, 0.16)
#: Range of the emotion-dependent factor on the aperture.
AMPLITUDE_BAND = (0.8, 1.35)
#: Least correlation of the output's aperture track with the input's, per segment.
MIN_TIMING_R = 0.97
#: Least share of the input's closed frames that must be closed in the output.
MIN_CLOSURES_KEPT = 0.97
#: Largest share of the input's open frames that may be closed in the output.
MAX_WRONGLY_CLOSED = 0.03
#: Slack on the amplitude band when it is measured (a fitted slope, not the planned factor).
#: Least spread (10th to 90th percentile, canonical units) of the input's aperture over the
#: clearly open frames for the amplitude to be measured as a slope; over a narrower range the
#: slope is noise (GRID's man: his three clearly open frames lie within 0.002 of each other;
#: under the learned editor they read a slope of 1.67 while each opened 1.17-1.18 times as wide),
#: and below the parting gate's top the gated separation grows with the aperture, which a slope
#: would count as amplitude: the amplitude is then not measured (NaN; ``ratio_band`` says how
#: much wider those frames opened, a constant raise of the upper lip included).
MIN_SLOPE_SPREAD = 0.03
AMPLITUDE_TOLERANCE = 0.05
#: Share of each inner pair's own gap that an edit pressing the lips leaves open, the amplitude
#: factor included: a press narrows the opening no further than the lips' own gap (it takes
#: back what the amplitude factor opened, no more). A press to 0.8 of the gap, the band's low
#: end, closed slightly open frames of GRID's talkers as dlib reads them (lips parted by a slit
#: dlib sees and MediaPipe's inner contour barely does), and sad's p did not move without it
#: (GRID, both talkers, rendered: 0.079/0.406 with it, 0.080/0.405 without).
KEEP_GAP = 1.0
#: Largest arch of the mouth line an edit may add, per unit of the input's mean inner-lip gap
#: (canonical units; see ``MouthSplit.bow``). Both lips lifted at the centre against the corners
#: (sadness's frown) hide the slit of lips that barely part, as dlib's 68 points read them and
#: as the frames show: on GRID's man, sad's full arch and its press closed 0.32 of his open
#: frames (mesh warp, dlib), held to the gap 0.16; a quarter of the gap took it to 0.05 but
#: cost lip r (rendered 0.89 -> 0.72) and parted 5 of his 33 closed frames. A bowl (a
#: smile's) is left free: it did not close open frames.
BOW_PER_GAP = 1.0
#: Opening (mean inner gap, canonical units) an edit's arch of the lower lip (``lower_bow``:
#: its centre lifted against the corners) adds per unit of that arch (after ``BOW_PER_GAP``'s
#: limit on the mouth line), on lips that are apart (through the closure gate), at most up to
#: the top of ``AMPLITUDE_BAND`` with what the edit's own separation opened (anger's parting
#: already reaches it: it gets none; ``SpeechPlan.arch_room``). An upper lip raised alone (a
#: smile's, disgust's) does not arch the lower lip and opens nothing. An arch held
#: to the gap still hid the slit of barely parted lips: sadness's frown over GRID's talkers'
#: slits (MediaPipe 0.05-0.10, dlib 0.08-0.11 of the mouth width) left dlib 0.03-0.05 (closed)
#: on 0.54 of the woman's open frames and 0.16 of the man's (mesh warp); the lower lip taken
#: down by the jaw's opening, centre first, gives the slit back (0.08 and 0.11 at the band's
#: top; 0.02 and 0.08 at half the arch, past the band). The lower lip moves as a whole (the
#: jaw's own field thinned it by 0.025).
ARCH_OPENING = 1.0
#: How much of the opening's area (the inner mouth's width times its mean gap) an edit that
#: narrows the mouth keeps, on lips that are apart (through the closure gate): the gap grows by
#: as much as the width shrinks, up to the top of ``AMPLITUDE_BAND`` with what the edit's own
#: separation and amplitude opened (``SpeechPlan.width``). Surprise's prototype narrows the
#: mouth to 0.72 of its width at weight 1; at its calibrated strength, with the actor's own
#: smile taken away, GRID's talkers' mouths went to 0.62-0.67 (5th-95th percentile) while the
#: gap it kept grew 1.00-1.05 times: the slit thinned or went, and dlib read 0.20-0.25 of
#: their open frames (and face2's) closed.
KEEP_AREA = 1.0
#: Narrowest inner mouth an edit makes, as a share of the input's width on each frame: what
#: the top of ``AMPLITUDE_BAND`` can open for (with ``KEEP_AREA``; 1 / 1.35 at full area).
#: Surprise's prototype at its strength (0.64), with the actor's own smile taken away, narrowed
#: the latentsync woman's mouth to 0.54 of its width; MEAD's three actors narrow it to 0.58,
#: 0.75 and 0.83 in surprise.
LEAST_WIDTH = 1.0 / (1.0 + (AMPLITUDE_BAND[1] - 1.0) / KEEP_AREA)
#: Reach of the horizontal offsets scaled back where an edit narrows the mouth past
#: ``LEAST_WIDTH`` (``MouthSplit.width_reach``): the lips, fading over this distance outside.
_WIDTH_SIGMA = 0.15
#: The arch allowed on closed lips (canonical units, added to the limit as the closure gate
#: closes): MediaPipe's inner contour reads GRID's man's lips closed on frames where a slit
#: shows, and an arch straightened fully on his closed lips parted a few of them (dlib).
BOW_CLOSED = 0.04
#: Horizontal reach (canonical units) of the fields that part or press one lip pair. Within
#: the lips a field moves the whole lip, inner and outer edge alike (the lips are 0.13-0.2
#: thick), so that gating a separation neither thickens nor thins them; outside, it fades over
#: ``_SKIN_SIGMA`` from the lips' outer edge.
_SEPARATION_SIGMA_X = 0.1
_SKIN_SIGMA = 0.06
#: Reach (canonical units) of the skin carried with a parted lip, tapered to nothing at the nose
#: (``SUBNASALE``) and the chin. A parting held back by the parting gate takes this skin with
#: it: a raise of the skin around the mouth (anger's, disgust's) that stopped at the lips' outer
#: edge stretched the skin over a closed upper lip, which dlib's 68 points read as parted lips.
_CARRY_SIGMA = 0.35
#: Distance from the inner lip contour over which the fields that thicken a lip take hold.
_THICKEN_SIGMA = 0.05
#: Horizontal and vertical reach of the jaw-opening field below the mouth.
_JAW_SIGMA_X, _JAW_SIGMA_Y = 0.25, 1.0
#: Small ridge of the linear solves (the pair fields overlap), and the refinement steps that
#: take its error back.
_RIDGE = 1e-6
_REFINE = 3

_INNER_LEFT, _INNER_RIGHT = LIPS_INNER_UPPER[0], LIPS_INNER_UPPER[-1]
_CORNERS = (LIPS_INNER_UPPER[0], LIPS_INNER_UPPER[-1], LIPS_OUTER_UPPER[0], LIPS_OUTER_UPPER[-1])


def lip_gaps(shapes: np.ndarray) -> np.ndarray:
    """``(..., P)`` vertical gap of each inner-lip pair of ``(..., 478, 3)`` shapes (or offsets).

    >>> lip_gaps(np.zeros((2, 478, 3))).shape
    (2, 9)
    """
    up, lo = (list(i) for i in zip(*INNER_PAIRS, strict=True))
    return shapes[..., lo, _Y] - shapes[..., up, _Y]


def lip_aperture(shapes: np.ndarray) -> np.ndarray:
    """``(...)`` mean inner-lip gap of ``(..., 478, 3)`` shapes: the aperture that is kept."""
    return lip_gaps(shapes).mean(axis=-1)


#: Outer-lip points of each column of ``INNER_PAIRS`` (upper, lower).
OUTER_PAIRS: tuple[tuple[int, int], ...] = tuple(
    zip(LIPS_OUTER_UPPER[1:-1], LIPS_OUTER_LOWER[1:-1], strict=True)
)


def mouth_width(shapes: np.ndarray) -> np.ndarray:
    """``(...)`` distance between the inner lip corners of ``(..., 478, 3)`` shapes (or the
    change of it that offsets make), along the face's x axis.

    >>> round(float(mouth_width(load_face_model().template)), 2)
    0.97
    """
    return shapes[..., _INNER_RIGHT, _X] - shapes[..., _INNER_LEFT, _X]


def lip_thickness(shapes: np.ndarray) -> np.ndarray:
    """``(..., 2P)`` vertical thickness of the upper lip then the lower lip, per column.

    >>> lip_thickness(np.zeros((478, 3))).shape
    (18,)
    """
    in_up, in_lo = (list(i) for i in zip(*INNER_PAIRS, strict=True))
    out_up, out_lo = (list(i) for i in zip(*OUTER_PAIRS, strict=True))
    upper = shapes[..., in_up, _Y] - shapes[..., out_up, _Y]
    lower = shapes[..., out_lo, _Y] - shapes[..., in_lo, _Y]
    return np.concatenate([upper, lower], axis=-1)


def closure_gate(aperture: np.ndarray) -> np.ndarray:
    """0 where the lips are closed, rising smoothly to 1 at ``OPEN_APERTURE`` (0 where NaN).

    >>> closure_gate(np.array([0.0, 0.03, 0.065, 0.1, np.nan])).round(2).tolist()
    [0.0, 0.0, 0.5, 1.0, 0.0]
    """
    return _aperture_ramp(aperture, CLOSED_APERTURE, OPEN_APERTURE)


def parting_gate(aperture: np.ndarray) -> np.ndarray:
    """0 where the lips are closed or barely part, rising smoothly to 1 over
    ``PARTING_APERTURE`` (0 where NaN): how much of an edit's lip separation applies.

    >>> parting_gate(np.array([0.0, 0.045, 0.1025, 0.16, np.nan])).round(2).tolist()
    [0.0, 0.0, 0.5, 1.0, 0.0]
    """
    return _aperture_ramp(aperture, *PARTING_APERTURE)


def _aperture_ramp(aperture: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """Smoothstep from 0 at aperture ``lo`` to 1 at ``hi`` (0 where NaN)."""
    x = (np.nan_to_num(np.asarray(aperture, np.float64), nan=0.0) - lo) / (hi - lo)
    return smoothstep(x)


def _side(template: np.ndarray) -> np.ndarray:
    """``(478,)`` +1 below the mouth line (lower lip, chin), -1 above, 0 corners and irises."""
    x, y = template[:, _X], template[:, _Y]
    line_x = x[list(LIPS_INNER_UPPER)]
    line_y = (y[list(LIPS_INNER_UPPER)] + y[list(LIPS_INNER_LOWER)]) / 2
    order = np.argsort(line_x)
    side = np.where(y > np.interp(x, line_x[order], line_y[order]), 1.0, -1.0)
    side[list(LIPS_INNER_UPPER) + list(LIPS_OUTER_UPPER)] = -1.0
    side[list(LIPS_INNER_LOWER) + list(LIPS_OUTER_LOWER)] = 1.0
    side[list(_CORNERS)] = 0.0
    side[N_MESH:] = 0.0
    return side


def _lipness(template: np.ndarray, sigma: float = _SKIN_SIGMA) -> np.ndarray:
    """``(478,)`` 1 on and inside the lips' outer contour, fading over ``sigma`` outside."""
    outline = list(LIPS_OUTER_UPPER) + list(LIPS_OUTER_LOWER[-2:0:-1])
    polygon = template[outline, :2]
    x, y = template[:, _X], template[:, _Y]
    inside = np.zeros(len(template), bool)
    for (x0, y0), (x1, y1) in zip(polygon, np.roll(polygon, -1, axis=0), strict=True):
        crosses = (y0 > y) != (y1 > y)
        at = x0 + (y - y0) * (x1 - x0) / np.where(y1 != y0, y1 - y0, 1.0)
        inside ^= crosses & (x < at)
    a, b = polygon, np.roll(polygon, -1, axis=0)
    ab = b - a
    t = np.clip(
        ((template[:, None, :2] - a[None]) * ab[None]).sum(-1) / (ab**2).sum(-1)[None], 0.0, 1.0
    )
    nearest = a[None] + t[..., None] * ab[None]
    distance = np.linalg.norm(template[:, None, :2] - nearest, axis=-1).min(axis=1)
    return np.where(inside, 1.0, np.exp(-(distance**2) / (2 * sigma**2)))


def _carried(template: np.ndarray) -> np.ndarray:
    """``(478,)`` how much of a lip's parting the skin around it takes: 1 on the lips, fading
    with the vertical distance outside over ``_CARRY_SIGMA`` (and with the horizontal one over
    ``_SKIN_SIGMA``: beyond the corners the skin above and below the mouth line would be
    carried apart), and to 0 at the nose's bottom and the chin (``smoothstep`` between them
    and the lips)."""
    y = template[:, _Y]
    near = _lipness(template * np.array([1.0, _SKIN_SIGMA / _CARRY_SIGMA, 1.0]), _SKIN_SIGMA)
    lips = template[list(LIPS_OUTER_UPPER) + list(LIPS_OUTER_LOWER), _Y]
    top, bottom = float(lips.min()), float(lips.max())
    nose, chin = float(template[SUBNASALE, _Y]), float(template[CHIN, _Y])
    taper = smoothstep((y - nose) / (top - nose)) * smoothstep((chin - y) / (chin - bottom))
    return near * taper


def _outerness(template: np.ndarray) -> np.ndarray:
    """``(478,)`` 0 on the inner lip contour, rising to 1 with the distance from it."""
    contour = template[list(LIPS_INNER_UPPER) + list(LIPS_INNER_LOWER[-2:0:-1]), :2]
    a, b = contour, np.roll(contour, -1, axis=0)
    ab = b - a
    p = template[:, None, :2]
    t = np.clip(((p - a[None]) * ab[None]).sum(-1) / (ab**2).sum(-1)[None], 0.0, 1.0)
    distance = np.linalg.norm(p - (a[None] + t[..., None] * ab[None]), axis=-1).min(axis=1)
    return 1.0 - np.exp(-(distance**2) / (2 * _THICKEN_SIGMA**2))


def _pair_fields(kernel: np.ndarray, rows: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``(P, 478)`` vertical fields ``F = K R^T (R K R^T)^-1 target``: the smoothest (in the
    kernel's sense) fields whose rows ``R`` read ``target``."""
    kr = kernel @ rows.T  # (478, P)
    gram = rows @ kr
    gram += _RIDGE * np.trace(gram) / len(gram) * np.eye(len(gram))
    fields = kr @ np.linalg.solve(gram, target)
    for _ in range(_REFINE):  # the ridge's error taken back: the rows read ``target`` exactly
        fields += kr @ np.linalg.solve(gram, target - rows @ fields)
    return fields.T


@dataclass(frozen=True)
class MouthSplit:
    """Lip separation versus the rest of an offset field (see the module docstring).

    Attributes:
        separation: ``(P, 478, 3)`` field ``k`` parts inner pair ``k`` by 1 (upper lip up, lower
            lip down, each as a whole, smoothly around them) and leaves every other inner gap
            and every lip's thickness unchanged.
        opening: ``(478, 3)`` the jaw opening: the lower lip and the chin move down, the centre
            more than near the corners, raising the mean inner aperture by 1.
        opening_gaps: ``(P,)`` what ``opening`` does to each inner gap.
        thickening: ``(2P, 478, 3)`` field ``k`` thickens one lip of one column by 1
            (``lip_thickness``: the outer edge moves away from the inner one, which stays) and
            changes no other thickness or inner gap; it carries the skin around the lips as
            the separation does (a thickening held back on closed lips takes that skin along).
        thinning: ``(2P, 478, 3)`` the same, reaching only ``_SKIN_SIGMA`` beyond the lips:
            what takes an edit's thinning back leaves the skin around the lips as it is.
        contour: ``(478, 478)`` maps vertical offsets of every point to those of the inner lip
            contour below it (above the mouth line: the upper inner contour, interpolated along
            x) or above it (below the line: the lower inner contour); a corner or an iris maps
            to itself.
        side: ``(478,)`` -1 above the mouth line, +1 below, 0 at the corners and the irises.
        stretch_reach: ``(478,)`` 0..1 how much of a point's stretch away from the inner contour
            is held on closed lips: the lips and the skin carried with them (``_carried``).
        bow_rows: ``(P, 478)`` reads the bow of the mouth line from vertical offsets: per inner
            column, the mean of its upper and lower point less the straight line between the
            inner corners (an arch, the centre up against the corners, is negative).
        lower_bow_rows: ``(P, 478)`` the same for the lower inner lip alone: each lower inner
            point less the straight line between the inner corners (a lower lip lifted at the
            centre against the corners, as sadness's frown and a raised chin lift it, is
            negative; an upper lip raised alone leaves it as it is).
        bow_spread: ``(478, 478)`` vertical offsets to the bow each point takes part in: the
            inner pair points their column's, every other point the contour point's it refers
            to (``contour``) times ``stretch_reach``; taking it away straightens the mouth line
            between the corners, moving both lips of a column alike (every gap unchanged).
        upper_separation: ``(P, 478, 3)`` field ``k`` parts inner pair ``k`` by 1 moving the
            upper lip alone (up, with the skin above it, as ``separation`` moves it); every
            other gap, every thickness and the lower side stay.
        lower_separation: ``(P, 478, 3)`` the same with the lower lip alone (down, with the
            chin's skin). ``SpeechPlan.apply`` takes a held-back parting from the lower lip
            where both lips move down, the lower one further.
        width_reach: ``(478,)`` 1 on the lips, fading over ``_WIDTH_SIGMA`` outside: the share
            of each point's horizontal offset scaled back with a narrowing past
            ``LEAST_WIDTH`` (the inner corners' whole, so the width lands on it).
    """

    separation: np.ndarray
    opening: np.ndarray
    opening_gaps: np.ndarray
    thickening: np.ndarray
    thinning: np.ndarray
    contour: np.ndarray
    side: np.ndarray
    stretch_reach: np.ndarray
    bow_rows: np.ndarray
    lower_bow_rows: np.ndarray
    bow_spread: np.ndarray
    upper_separation: np.ndarray
    lower_separation: np.ndarray
    width_reach: np.ndarray

    @classmethod
    def build(cls, template: np.ndarray | None = None) -> MouthSplit:
        """The split of the canonical face ``template`` (the packaged one by default)."""
        if template is None:
            template = load_face_model().template
        t = template.astype(np.float64)
        side = _side(t)
        xy = t[:, :2]
        dx2 = (xy[:, None, 0] - xy[None, :, 0]) ** 2
        dy2 = (xy[:, None, 1] - xy[None, :, 1]) ** 2
        same = (side[:, None] == side[None, :]) & (side[:, None] != 0)
        across = np.exp(-dx2 / (2 * _SEPARATION_SIGMA_X**2)) * same

        def kernel_of(weight: np.ndarray) -> np.ndarray:
            """Points on one side of the mouth line, close across it, move together."""
            return across * weight[:, None] * weight[None, :]

        carried = _carried(t)
        kernel = kernel_of(carried)
        n_pairs = len(INNER_PAIRS)
        rows = np.zeros((n_pairs, N_LANDMARKS))
        for k, (up, lo) in enumerate(INNER_PAIRS):
            rows[k, lo], rows[k, up] = 1.0, -1.0
        separation = np.zeros((n_pairs, N_LANDMARKS, 3))
        separation[..., _Y] = _pair_fields(kernel, rows, np.eye(n_pairs))
        # jaw opening: only the lower side moves, reaching down to the chin
        lower = side > 0
        lower[CHIN] = True
        jaw = np.exp(-dx2 / (2 * _JAW_SIGMA_X**2) - dy2 / (2 * _JAW_SIGMA_Y**2))
        jaw *= lower[:, None] & lower[None, :]
        lo_rows = np.zeros((n_pairs, N_LANDMARKS))
        for k, (_, lo) in enumerate(INNER_PAIRS):
            lo_rows[k, lo] = 1.0
        centre = (t[LIPS_INNER_UPPER[0], _X] + t[LIPS_INNER_UPPER[-1], _X]) / 2
        half = (t[LIPS_INNER_UPPER[-1], _X] - t[LIPS_INNER_UPPER[0], _X]) / 2
        u = (t[[lo for _, lo in INNER_PAIRS], _X] - centre) / half
        profile = np.clip(1.0 - u**2, 0.0, None)
        profile /= profile.mean()
        opening = np.zeros((N_LANDMARKS, 3))
        opening[:, _Y] = _pair_fields(jaw, lo_rows, profile[:, None])[0]
        # thickening: the outer edge of a lip moves, its inner edge (and so every gap) stays
        outerness = _outerness(t)
        thick_kernel = kernel_of(outerness * carried)
        thin_kernel = kernel_of(outerness * _lipness(t))
        thick_rows = np.zeros((2 * n_pairs, N_LANDMARKS))
        for k, ((in_up, in_lo), (out_up, out_lo)) in enumerate(
            zip(INNER_PAIRS, OUTER_PAIRS, strict=True)
        ):
            thick_rows[k, in_up], thick_rows[k, out_up] = 1.0, -1.0
            thick_rows[n_pairs + k, out_lo], thick_rows[n_pairs + k, in_lo] = 1.0, -1.0
        thickening = np.zeros((2 * n_pairs, N_LANDMARKS, 3))
        thickening[..., _Y] = _pair_fields(thick_kernel, thick_rows, np.eye(2 * n_pairs))
        thinning = np.zeros((2 * n_pairs, N_LANDMARKS, 3))
        thinning[..., _Y] = _pair_fields(thin_kernel, thick_rows, np.eye(2 * n_pairs))
        # the outer contour is wider than the inner one: what parting a pair does to the lips'
        # thickness at the outer columns is taken back, so a parting keeps every thickness
        separation -= np.einsum("pj,jnk->pnk", lip_thickness(separation), thickening)
        # one lip at a time: the upper lip (and the skin above it) alone, or the lower one
        one_lip = []
        for sign in (-1.0, 1.0):
            on = side == sign
            rows_one = rows * on[None, :]
            fields = np.zeros((n_pairs, N_LANDMARKS, 3))
            fields[..., _Y] = _pair_fields(
                kernel * (on[:, None] & on[None, :]), rows_one, np.eye(n_pairs)
            )
            fields -= np.einsum("pj,jnk->pnk", lip_thickness(fields), thickening)
            one_lip.append(fields)
        # each point off the inner contour refers to the contour point of its column: an outer
        # lip point to the inner one of its pair column (as ``lip_thickness``), the skin to the
        # contour interpolated at its x, taken in by the inner contour's width over the outer's
        corner_x = t[[LIPS_INNER_UPPER[0], LIPS_INNER_UPPER[-1]], _X]
        outer_x = t[[LIPS_OUTER_UPPER[0], LIPS_OUTER_UPPER[-1]], _X]
        narrow = float(np.ptp(corner_x) / np.ptp(outer_x))
        contour = np.eye(N_LANDMARKS)
        for sign, line, outer in (
            (-1.0, LIPS_INNER_UPPER, LIPS_OUTER_UPPER),
            (1.0, LIPS_INNER_LOWER, LIPS_OUTER_LOWER),
        ):
            order = np.argsort(t[list(line), _X])
            points = np.asarray(line)[order]
            on = np.setdiff1d(np.flatnonzero(side == sign), points)
            x = centre + (t[on, _X] - centre) * narrow
            contour[on] = 0.0
            for j, point in enumerate(points):
                contour[on, point] += np.interp(x, t[points, _X], np.eye(len(points))[j])
            for out_point, in_point in zip(outer[1:-1], line[1:-1], strict=True):
                contour[out_point] = 0.0
                contour[out_point, in_point] = 1.0
        # the bow: each inner column's midline against the line between the inner corners
        left, right = LIPS_INNER_UPPER[0], LIPS_INNER_UPPER[-1]
        bow_rows = np.zeros((n_pairs, N_LANDMARKS))
        lower_bow_rows = np.zeros((n_pairs, N_LANDMARKS))
        at_pair = np.zeros((N_LANDMARKS, N_LANDMARKS))
        for k, (up, lo) in enumerate(INNER_PAIRS):
            u = (t[up, _X] - t[left, _X]) / (t[right, _X] - t[left, _X])
            bow_rows[k, [up, lo]] += 0.5
            bow_rows[k, left] -= 1.0 - u
            bow_rows[k, right] -= u
            at_pair[[up, lo]] = bow_rows[k]
            lower_bow_rows[k, lo] += 1.0
            lower_bow_rows[k, left] -= 1.0 - u
            lower_bow_rows[k, right] -= u
        reach = carried * (side != 0)
        bow_spread = reach[:, None] * (contour @ at_pair)
        return cls(
            separation=separation.astype(np.float32),
            opening=opening.astype(np.float32),
            opening_gaps=lip_gaps(opening).astype(np.float32),
            thickening=thickening.astype(np.float32),
            thinning=thinning.astype(np.float32),
            contour=contour.astype(np.float32),
            side=side.astype(np.float32),
            stretch_reach=reach.astype(np.float32),
            bow_rows=bow_rows.astype(np.float32),
            lower_bow_rows=lower_bow_rows.astype(np.float32),
            bow_spread=bow_spread.astype(np.float32),
            upper_separation=one_lip[0].astype(np.float32),
            lower_separation=one_lip[1].astype(np.float32),
            width_reach=_lipness(t, _WIDTH_SIGMA).astype(np.float32),
        )

    def separation_part(self, offsets: np.ndarray) -> np.ndarray:
        """``(..., 478, 3)`` the lip-separation part of ``(..., 478, 3)`` offsets."""
        return np.einsum("...p,pnk->...nk", lip_gaps(offsets), self.separation)

    def free_part(self, offsets: np.ndarray) -> np.ndarray:
        """``(..., 478, 3)`` offsets less their lip separation: every inner gap unchanged."""
        return offsets - self.separation_part(offsets)

    def stretch(self, offsets: np.ndarray) -> np.ndarray:
        """``(..., 478)`` the vertical offsets that move points away from the inner contour
        (up above the mouth line, down below it), weighted by ``stretch_reach``."""
        y = offsets[..., _Y]
        relative = y - y @ self.contour.T
        away = np.where(self.side < 0, np.minimum(relative, 0.0), np.maximum(relative, 0.0))
        return away * self.stretch_reach

    def bow(self, offsets: np.ndarray) -> np.ndarray:
        """``(..., P)`` the bow of the mouth line that ``(..., 478, 3)`` offsets add."""
        return offsets[..., _Y] @ self.bow_rows.T

    def lower_bow(self, offsets: np.ndarray) -> np.ndarray:
        """``(..., P)`` the bow of the lower inner lip that ``(..., 478, 3)`` offsets add."""
        return offsets[..., _Y] @ self.lower_bow_rows.T

    def bow_part(self, offsets: np.ndarray) -> np.ndarray:
        """``(..., 478)`` the vertical offsets that make up the bow of ``offsets``."""
        return offsets[..., _Y] @ self.bow_spread.T


@cache
def mouth_split() -> MouthSplit:
    """The split of the packaged canonical face, built once (a few hundredths of a second)."""
    return MouthSplit.build()


@dataclass(frozen=True)
class SpeechPlan:
    """How an edit's mouth follows the speech, per frame (``plan_speech``).

    Attributes:
        gate: ``(T, P) float32`` 0..1, the share of the edit's separation of each inner pair
            applied on each frame (the parting gate, lowered where a press would close the pair).
        separation: ``(T, P) float32`` the change of each inner-lip gap the edit makes on each
            frame (canonical units; ``gate`` times the edit's gaps), in place of whatever its
            offsets would make.
        opening: ``(T,) float32`` extra mean aperture (canonical units) from the amplitude
            factor: ``(scale - 1) * parting gate * own aperture``.
        scale: ``(T,) float32`` the amplitude factor, within ``AMPLITUDE_BAND``.
        thickness: ``(T, 2P) float32`` the change of each lip's thickness per column
            (``lip_thickness``) the edit makes, in place of its offsets' own; None keeps theirs.
            An emotion's lips parted over the teeth look thicker in MediaPipe's contours than
            they are; on closed lips that thickening is gated like the parting. Thinning is not
            applied (a thinner lip reads as a narrower opening).
        closure: ``(T,) float32`` the parting gate of the input's aperture (0 closed, 1 open):
            on closed lips the edit's stretch away from the inner contour
            (``MouthSplit.stretch``) is held back by ``1 - closure``; None holds nothing back.
        arch_room: ``(T,) float32`` the most opening (canonical mean inner gap) an arch of
            the lower lip adds on each frame (``ARCH_OPENING`` times its arch left after
            ``bow_limit``; the lower lip moved down as a whole, ``MouthSplit.lower_separation``,
            by the profile of the jaw's opening, ``opening_gaps``): what the amplitude band
            leaves above ``scale``, times the closure gate, times the input's own aperture,
            less what the edit's own separation opens (``(AMPLITUDE_BAND[1] - scale) *
            closure gate * own aperture - mean separation``, at least 0: an edit that parts
            the lips already, as anger's, gets none); None adds none.
        bow_limit: ``(T,) float32`` the largest arch of the mouth line (``MouthSplit.bow``,
            negative; canonical units) the edit may add on each frame: ``BOW_PER_GAP`` times the
            input's mean inner-lip gap, plus ``BOW_CLOSED`` as the closure gate closes. A larger
            arch is scaled down to it (the mouth line straightened towards the line between its
            corners, the corners, the lift of the whole mouth and every gap kept); a bowl is
            left as it is. None leaves the line as it is.
        width: ``(T,) float32`` the input's inner mouth width (``mouth_width``; 1, about the
            template's, where there is no face) on each frame: where the edit narrows it below
            ``LEAST_WIDTH`` of it, the lips' horizontal offsets are scaled back to that; where
            it narrows it at all, the lower lip goes down (as for ``arch_room``) until the
            mean gap has grown by ``KEEP_AREA`` times the width's shrinking (``width /
            narrowed width``), at most to the top of ``AMPLITUDE_BAND``, counting what the
            edit's offsets already open, on ``open_gap``; None does neither.
        open_gap: ``(T,) float32`` the input's mean inner gap times the closure gate (0 on
            closed lips: a closure stays closed); with ``width``.
    """

    gate: np.ndarray
    separation: np.ndarray
    opening: np.ndarray
    scale: np.ndarray
    thickness: np.ndarray | None = None
    closure: np.ndarray | None = None
    bow_limit: np.ndarray | None = None
    arch_room: np.ndarray | None = None
    width: np.ndarray | None = None
    open_gap: np.ndarray | None = None

    def __post_init__(self) -> None:
        t, p = self.opening.shape[0], len(INNER_PAIRS)
        if self.gate.shape != (t, p) or self.separation.shape != (t, p):
            raise ValueError(f"gate and separation must be ({t}, {p})")
        if self.scale.shape != (t,):
            raise ValueError(f"scale must be ({t},)")
        if self.thickness is not None and self.thickness.shape != (t, 2 * p):
            raise ValueError(f"thickness must be ({t}, {2 * p})")
        if self.closure is not None and self.closure.shape != (t,):
            raise ValueError(f"closure must be ({t},)")
        if self.bow_limit is not None and self.bow_limit.shape != (t,):
            raise ValueError(f"bow_limit must be ({t},)")
        if self.arch_room is not None and self.arch_room.shape != (t,):
            raise ValueError(f"arch_room must be ({t},)")
        if (self.width is None) != (self.open_gap is None):
            raise ValueError("width and open_gap come together")
        if (
            self.width is not None
            and self.open_gap is not None
            and (self.width.shape != (t,) or self.open_gap.shape != (t,))
        ):
            raise ValueError(f"width and open_gap must be ({t},)")

    @property
    def n_frames(self) -> int:
        return int(self.opening.shape[0])

    def apply(
        self, offsets: np.ndarray, frames: slice | np.ndarray, split: MouthSplit | None = None
    ) -> np.ndarray:
        """``(n, 478, 3)`` offsets of the given frames made to keep the speech.

        Args:
            offsets: ``(n, 478, 3)`` the edit's offsets on those frames, as planned.
            frames: Which frames of the plan they are.
            split: The mouth split (the packaged face's by default).
        """
        split = split or mouth_split()
        change = self.separation[frames] - lip_gaps(offsets)
        # what the plan takes from (or adds to) a pair's gap is shared by its two lips, but
        # where both move down, the lower one further (disgust's depressed lower lip), it is
        # taken from the lower lip alone: meeting halfway pulled the closed mouth down below
        # its line. A smile's lips both rising are still met halfway (taken from the upper lip
        # alone, 0.77 -> 0.42 of videoretalking_face1's closures were kept).
        up, lo = (list(i) for i in zip(*INNER_PAIRS, strict=True))
        down_up, down_lo = offsets[:, up, _Y], offsets[:, lo, _Y]
        upper = np.where((down_up >= 0.0) & (down_lo > down_up), 0.0, 0.5)
        out = offsets + np.einsum("np,pjk->njk", change * upper, split.upper_separation)
        out += np.einsum("np,pjk->njk", change * (1.0 - upper), split.lower_separation)
        if self.thickness is not None:
            # the edit's own thinning is taken back near the lips only, its thickening is held
            # back (by the gate) with the skin around the lips
            own = lip_thickness(offsets)
            out -= np.einsum("np,pjk->njk", np.clip(own, None, 0.0), split.thinning)
            held = self.thickness[frames] - np.clip(own, 0.0, None)
            out += np.einsum("np,pjk->njk", held, split.thickening)
        out += self.opening[frames, None, None] * split.opening
        if self.bow_limit is not None:
            # a mouth line bent further than the lips' own gap allows is straightened: an arch
            # over barely parted lips hides their slit, a bowl opens touching lips
            arch = np.clip(-split.bow(out), 0.0, None).max(axis=-1)
            limit = self.bow_limit[frames]
            keep = np.where(arch > limit, limit / np.maximum(arch, 1e-9), 1.0)
            out[..., _Y] -= (1.0 - keep)[:, None] * split.bow_part(out)
        if self.closure is not None:
            # on closed lips the skin and the outer lip edges do not stretch away from the
            # lip line (dlib reads a stretched closed mouth as parted lips)
            held = (1.0 - self.closure[frames])[:, None]
            out[..., _Y] -= held * split.stretch(out)
        if self.arch_room is not None:
            # what is left of the lower lip's arch still hides the slit of barely parted lips:
            # the lower lip goes down with the jaw by a share of it, within the amplitude band
            arch = np.clip(-split.lower_bow(out), 0.0, None).max(axis=-1)
            # (the lower lip as a whole, by the jaw opening's profile: its thickness stays)
            extra = np.minimum(ARCH_OPENING * arch, self.arch_room[frames])
            gaps = extra[:, None] * split.opening_gaps[None, :]
            out += np.einsum("np,pjk->njk", gaps, split.lower_separation)
        if self.width is not None and self.open_gap is not None:
            # a mouth narrowed past what the band can open for is narrowed no further: the
            # lips' horizontal offsets are scaled back (every gap and the vertical kept)
            width = self.width[frames]
            change = mouth_width(out)
            least = (LEAST_WIDTH - 1.0) * width
            keep = np.where(change < least, least / np.minimum(change, -1e-9), 1.0)
            out[..., _X] -= (1.0 - keep)[:, None] * split.width_reach[None, :] * out[..., _X]
            # a narrowed mouth keeps its opening's area: the lower lip goes down by as much
            # as the width shrank (surprise's rounding thinned the slit until dlib read it shut)
            narrowed = np.maximum(width + mouth_width(out), 1e-6)
            grow = np.clip(1.0 + KEEP_AREA * (width / narrowed - 1.0), 1.0, AMPLITUDE_BAND[1])
            target = (grow - 1.0) * self.open_gap[frames]
            # (what a press takes from the gap stays taken: it is not counted against the target)
            extra = np.clip(target - np.clip(lip_aperture(out), 0.0, None), 0.0, None)
            gaps = extra[:, None] * split.opening_gaps[None, :]
            out += np.einsum("np,pjk->njk", gaps, split.lower_separation)
        return out.astype(offsets.dtype, copy=False)


def plan_speech(
    input_gaps: np.ndarray,
    edit_gaps: np.ndarray,
    scale: np.ndarray | float = 1.0,
    edit_thickness: np.ndarray | None = None,
    input_width: np.ndarray | None = None,
) -> SpeechPlan:
    """The per-frame plan that makes an edit keep the speech constraint.

    Args:
        input_gaps: ``(T, P)`` the input's inner gaps (``lip_gaps`` of its canonical shapes;
            NaN where there is no face).
        edit_gaps: ``(T, P)`` what the edit's offsets would do to each gap (an editor whose
            weights follow the actor's speech may pass a steadier version, so that the speech's
            timing does not leak into the separation).
        scale: ``(T,)`` or one amplitude factor, clipped to ``AMPLITUDE_BAND``; it should change
            slowly (over a segment, not with the words).
        edit_thickness: ``(T, 2P)`` what the edit would do to each lip's thickness; its
            thickening passes the parting gate, its thinning is left out (None: the offsets'
            own thickness is kept).
        input_width: ``(T,)`` the input's inner mouth width (``mouth_width``; NaN where no
            face): a narrowed mouth keeps its opening's area (``KEEP_AREA``) and narrows no
            further than ``LEAST_WIDTH``; None does neither.

    Returns:
        The plan: the edit's separation through the parting gate (lowered per pair where a
        press would leave less than ``KEEP_GAP`` of the gap), and the opening from the
        amplitude factor.
    """
    own = np.nan_to_num(np.asarray(input_gaps, np.float64), nan=0.0)
    edit = np.asarray(edit_gaps, np.float64)
    n = own.shape[0]
    scale = np.clip(np.broadcast_to(np.asarray(scale, np.float64), (n,)), *AMPLITUDE_BAND)
    mean = own.mean(axis=1)
    own_mean = np.clip(mean, 0.0, None)
    closure = closure_gate(mean)
    gate = parting_gate(mean)
    opening = (scale - 1.0) * gate * mean
    opened = own + opening[:, None] * mouth_split().opening_gaps
    pair_gate = np.repeat(gate[:, None], own.shape[1], axis=1)
    press = edit < 0
    room = np.clip(opened - KEEP_GAP * np.clip(own, 0.0, None), 0.0, None)
    limit = room / np.where(press, -edit, 1.0)
    pair_gate = np.where(press, np.minimum(pair_gate, limit), pair_gate)
    thickness = None
    if edit_thickness is not None:
        thick = np.nan_to_num(np.asarray(edit_thickness, np.float64))
        thickness = (gate[:, None] * np.clip(thick, 0.0, None)).astype(np.float32)
    separation = pair_gate * np.nan_to_num(edit)
    width = None
    if input_width is not None:
        width = np.nan_to_num(np.asarray(input_width, np.float64), nan=1.0).astype(np.float32)
    return SpeechPlan(
        gate=pair_gate.astype(np.float32),
        separation=separation.astype(np.float32),
        opening=opening.astype(np.float32),
        scale=scale.astype(np.float32),
        thickness=thickness,
        closure=gate.astype(np.float32),
        bow_limit=(BOW_PER_GAP * own_mean + BOW_CLOSED * (1.0 - closure)).astype(np.float32),
        arch_room=np.clip(
            (AMPLITUDE_BAND[1] - scale) * closure * own_mean
            - np.clip(separation.mean(axis=1), 0.0, None),
            0.0,
            None,
        ).astype(np.float32),
        width=width,
        open_gap=None if width is None else (closure * own_mean).astype(np.float32),
    )


def keep_speech(
    canonical: np.ndarray, offsets: np.ndarray, scale: np.ndarray | float = 1.0
) -> np.ndarray:
    """Make a dense edit keep the speech constraint (the whole of it, in one call).

    Args:
        canonical: ``(T, 478, 3)`` the input's canonical shapes (NaN where no face).
        offsets: ``(T, 478, 3)`` the edit's canonical offsets on the same frames.
        scale: ``(T,)`` or one amplitude factor (clipped to ``AMPLITUDE_BAND``).

    Returns:
        ``(T, 478, 3)`` offsets whose output ``canonical + offsets`` meets the constraint.
    """
    plan = plan_speech(
        lip_gaps(canonical),
        lip_gaps(offsets),
        scale,
        lip_thickness(offsets),
        mouth_width(np.asarray(canonical, np.float64)),
    )
    return plan.apply(np.asarray(offsets), slice(None))


@dataclass(frozen=True)
class SpeechCheck:
    """The speech constraint measured on an input and an output track (``speech_check``).

    Attributes:
        timing_r: ``(S,)`` correlation of the aperture tracks per segment (NaN where a segment
            has too few frames or no motion).
        n_closed: Input frames with closed lips.
        closures_kept: Share of them closed in the output (NaN if none).
        n_open: Input frames with parted lips.
        wrongly_closed: How many of them are closed in the output.
        amplitude: Slope of the output's aperture on the input's over the clearly open frames
            (``PARTING_APERTURE[1]`` and wider, where the parting gate is 1, so a constant raise
            of the upper lip does not count as amplitude); NaN where their input apertures span
            less than ``MIN_SLOPE_SPREAD``.
        ratio_band: 5th and 95th percentile of output/input aperture on clearly open frames.
    """

    timing_r: np.ndarray
    n_closed: int
    closures_kept: float
    n_open: int
    wrongly_closed: int
    amplitude: float
    ratio_band: tuple[float, float]

    @property
    def timing_ok(self) -> bool:
        r = self.timing_r[~np.isnan(self.timing_r)]
        return bool(np.all(r >= MIN_TIMING_R))

    @property
    def closures_ok(self) -> bool:
        kept = self.n_closed == 0 or self.closures_kept >= MIN_CLOSURES_KEPT
        return bool(kept and self.wrongly_closed <= MAX_WRONGLY_CLOSED * max(self.n_open, 1))

    @property
    def amplitude_ok(self) -> bool:
        lo, hi = AMPLITUDE_BAND
        a = self.amplitude
        return bool(np.isnan(a) or lo - AMPLITUDE_TOLERANCE <= a <= hi + AMPLITUDE_TOLERANCE)

    @property
    def passed(self) -> bool:
        """All three clauses hold."""
        return self.timing_ok and self.closures_ok and self.amplitude_ok

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary."""
        return {
            "timing_r": [None if np.isnan(r) else round(float(r), 4) for r in self.timing_r],
            "n_closed": self.n_closed,
            "closures_kept": None if np.isnan(self.closures_kept) else self.closures_kept,
            "n_open": self.n_open,
            "wrongly_closed": self.wrongly_closed,
            "amplitude": None if np.isnan(self.amplitude) else round(self.amplitude, 4),
            "ratio_band": [round(v, 4) for v in self.ratio_band],
            "passed": self.passed,
        }


def _spread(a: np.ndarray) -> float:
    """10th to 90th percentile range of ``a`` (0 for fewer than 3 values)."""
    return float(np.percentile(a, 90) - np.percentile(a, 10)) if a.size >= 3 else 0.0


def speech_check(
    input_canonical: np.ndarray,
    output_canonical: np.ndarray,
    segment: np.ndarray | None = None,
) -> SpeechCheck:
    """Measure the speech constraint between an input and an output (see ``SpeechCheck``).

    Args:
        input_canonical: ``(T, 478, 3)`` the input's canonical shapes (NaN where no face).
        output_canonical: ``(T, 478, 3)`` the output's (the input plus the edit's offsets, or a
            re-tracked output).
        segment: ``(T,)`` segment id per frame (-1 where no face); one segment by default.
    """
    a_in = lip_aperture(np.asarray(input_canonical, np.float64))
    a_out = lip_aperture(np.asarray(output_canonical, np.float64))
    ok = ~(np.isnan(a_in) | np.isnan(a_out))
    if segment is None:
        segment = np.where(ok, 0, -1)
    seg_ids = [s for s in np.unique(segment) if s >= 0]
    rs = []
    for s in seg_ids:
        sel = ok & (segment == s)
        x, y = a_in[sel], a_out[sel]
        if sel.sum() < 3 or x.std() < 1e-9 or y.std() < 1e-9:
            rs.append(np.nan)
        else:
            rs.append(float(np.corrcoef(x, y)[0, 1]))
    closed_in = ok & (a_in < CLOSED_APERTURE)
    open_in = ok & ~closed_in
    closed_out = a_out < CLOSED_APERTURE
    n_closed = int(closed_in.sum())
    kept = float(closed_out[closed_in].mean()) if n_closed else float("nan")
    wide = ok & (a_in >= PARTING_APERTURE[1])
    if wide.sum() >= 3 and a_in[wide].std() > 1e-9:
        ratio = a_out[wide] / a_in[wide]
        band = (float(np.percentile(ratio, 5)), float(np.percentile(ratio, 95)))
        amplitude = (
            float(np.polyfit(a_in[wide], a_out[wide], 1)[0])
            if _spread(a_in[wide]) >= MIN_SLOPE_SPREAD
            else float("nan")
        )
    else:
        amplitude, band = float("nan"), (float("nan"), float("nan"))
    return SpeechCheck(
        timing_r=np.array(rs, np.float64),
        n_closed=n_closed,
        closures_kept=kept,
        n_open=int(open_in.sum()),
        wrongly_closed=int((open_in & closed_out).sum()),
        amplitude=amplitude,
        ratio_band=band,
    )


__all__ = [
    "AMPLITUDE_BAND",
    "ARCH_OPENING",
    "BOW_CLOSED",
    "BOW_PER_GAP",
    "CLOSED_APERTURE",
    "INNER_PAIRS",
    "KEEP_AREA",
    "KEEP_GAP",
    "LEAST_WIDTH",
    "MIN_CLOSURES_KEPT",
    "MIN_TIMING_R",
    "OPEN_APERTURE",
    "OUTER_PAIRS",
    "PARTING_APERTURE",
    "MouthSplit",
    "SpeechCheck",
    "SpeechPlan",
    "closure_gate",
    "keep_speech",
    "lip_aperture",
    "lip_gaps",
    "lip_thickness",
    "mouth_split",
    "mouth_width",
    "parting_gate",
    "plan_speech",
    "speech_check",
]
