"""The split of a facial expression into a speech part and an emotion part.

Speech part (what the words need), measured per frame as named scalars in canonical units:

- ``jaw_opening``: chin below the upper lip;
- ``lip_aperture``: mean vertical gap between the inner lips;
- ``lip_rounding``: narrowing of the inner mouth (negative inner-mouth width).

Emotion part: everything an emotion moves, in named regions (brows, eyelids, cheeks, nose, lip
corners, chin). An emotion edit must not change the speech part; ``SpeechConstraint`` removes
from any offset field the component that would open or close the lips or the jaw, keeping the
rest (a smile may still pull the lip corners out and up, both lips of a pair moving together).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from functools import cache

import numpy as np
from scipy.linalg import orth

from emodirector.face_model import (
    CHIN,
    LEFT_BROW,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LIP_CORNERS,
    LIP_PAIRS,
    LIPS_INNER_LOWER,
    LIPS_INNER_UPPER,
    N_LANDMARKS,
    N_MESH,
    RIGHT_BROW,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    UPPER_LIP_MID,
    load_face_model,
    mesh_smoother,
    region_indices,
)

_X, _Y, _Z = 0, 1, 2
#: Passes of mesh smoothing that spread the mouth drop over the lower face around the mouth.
_DROP_SPREAD_PASSES = 4

#: The mouth band runs from just below the nose to the chin crease (landmarks 164 and 18), so
#: it holds wherever the real lip edges are even if the tracked ones are off, and spans
#: ``_BAND_WIDTH`` times the mouth's width; offsets in it are a polynomial in x. (Down to the
#: chin tip would also forbid any chin motion, and with it the jaw's share of a smile.)
_BAND_TOP = 164
_BAND_BOTTOM = 18
_BAND_WIDTH = 1.3
_BAND_DEGREE = 4


class SpeechFeature(Enum):
    """Named speech parameters of a face, see ``speech_features``."""

    JAW_OPENING = "jaw_opening"
    LIP_APERTURE = "lip_aperture"
    LIP_ROUNDING = "lip_rounding"


class EmotionRegion(Enum):
    """Regions an emotion moves; values are the landmark indices of each."""

    BROWS = tuple(region_indices(RIGHT_BROW, LEFT_BROW).tolist())
    EYELIDS = tuple(
        region_indices(RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, LEFT_EYE_UPPER, LEFT_EYE_LOWER).tolist()
    )
    CHEEKS = (
        50, 101, 36, 205, 187, 123, 116, 117, 118, 119, 100, 47, 126, 142, 203, 206, 216, 207,
        280, 330, 266, 425, 411, 352, 345, 346, 347, 348, 329, 277, 355, 371, 423, 426, 436, 427,
    )  # fmt: skip
    NOSE = (48, 64, 98, 97, 2, 326, 327, 294, 278, 129, 358, 209, 429, 49, 279)
    LIP_CORNERS = LIP_CORNERS + (57, 287, 43, 273, 106, 335, 185, 409, 146, 375)
    CHIN = (CHIN, 148, 176, 377, 400, 199, 175, 200, 428, 208, 18, 83, 313, 201, 421)


def speech_features(shapes: np.ndarray) -> np.ndarray:
    """Speech parameters of canonical shapes (or of offsets: the functions are linear).

    Args:
        shapes: ``(..., 478, 3)`` canonical shapes.

    Returns:
        ``(..., 3)`` in the order of ``SpeechFeature``: jaw opening, lip aperture, rounding.

    >>> f = speech_features(np.zeros((478, 3)))
    >>> f.shape, float(abs(f).max())
    ((3,), 0.0)
    """
    jaw = shapes[..., CHIN, _Y] - shapes[..., UPPER_LIP_MID, _Y]
    upper = shapes[..., list(LIPS_INNER_UPPER[1:-1]), _Y]
    lower = shapes[..., list(LIPS_INNER_LOWER[1:-1]), _Y]
    aperture = (lower - upper).mean(axis=-1)
    width = shapes[..., LIPS_INNER_UPPER[-1], _X] - shapes[..., LIPS_INNER_UPPER[0], _X]
    return np.stack([jaw, aperture, -width], axis=-1)


@dataclass(frozen=True)
class SpeechConstraint:
    """Linear constraint "this offset field leaves the lip and jaw opening unchanged".

    Two parts, both imposed at once by ``project`` (the orthogonal projection onto the offsets
    that satisfy both):

    - Mouth band: the landmarks between the nose and the chin crease, a little wider than the
      mouth, may only move as vertical columns: their offset is a smooth function (a polynomial)
      of their horizontal canonical position. Nothing inside the band is stretched vertically,
      so the lips cannot open or close wherever they really are in the image,
      even where the tracked lip contour is off (a moustache, a hand, motion blur).
    - Pairs: each upper/lower lip pair (inner and outer contour), and the chin with the lower
      lip (the jaw), moves as one (the same x, y
      and z offset); constraining only the vertical gap is not
      enough, as on a turned or tilted head a sideways or depth shear projects into an opening.

    Attributes:
        matrix: ``(K, 478 * 3)``: three rows (x, y, z) per pair (the lip pairs, then the jaw).
        band: ``(B,)`` landmark indices of the mouth band.
        projector: ``(478 * 3, 478 * 3)`` orthogonal projection onto the allowed offsets.
        rounding_mode: ``(478, 3)`` unit offset field of lip rounding: the mouth band narrowing
            about the mouth's centre. It is allowed by ``project`` (a smile widens the mouth),
            and removed by ``without_rounding`` where an emotion would narrow the mouth.
        drop_mode: ``(478, 3)`` unit offset field of the whole mouth and the chin moving down
            together, smoothly over the lower face: what the pairs make of a dropped jaw (the
            lips go down with the chin instead of parting). Allowed by ``project``, removed by
            ``without_drop``.
    """

    matrix: np.ndarray
    band: np.ndarray
    projector: np.ndarray
    rounding_mode: np.ndarray
    drop_mode: np.ndarray

    @classmethod
    def build(cls, template: np.ndarray | None = None) -> SpeechConstraint:
        """The constraint for the canonical face ``template`` (the packaged one by default)."""
        if template is None:
            template = load_face_model().template
        rows = []
        for up, lo in (*LIP_PAIRS, (LIPS_INNER_LOWER[5], CHIN)):
            for axis in (_X, _Y, _Z):
                r = np.zeros((N_LANDMARKS, 3))
                r[lo, axis], r[up, axis] = 1.0, -1.0
                rows.append(r.ravel())
        x, y = template[:, _X].astype(np.float64), template[:, _Y].astype(np.float64)
        half_width = (x[LIP_CORNERS[1]] - x[LIP_CORNERS[0]]) / 2
        centre = (x[LIP_CORNERS[1]] + x[LIP_CORNERS[0]]) / 2
        inside = (
            (y >= y[_BAND_TOP])
            & (y <= y[_BAND_BOTTOM])
            & (np.abs(x - centre) <= _BAND_WIDTH * half_width)
        )
        inside[N_MESH:] = False
        band = np.flatnonzero(inside)
        # a lip pair shares one column (its mean x), so columns and pairs agree exactly
        column_x = x.copy()
        for up, lo in LIP_PAIRS:
            column_x[up] = column_x[lo] = (x[up] + x[lo]) / 2
        u = (column_x[band] - centre) / half_width
        basis = np.stack([u**k for k in range(_BAND_DEGREE + 1)], axis=1)
        # band rows: (I - B B^+) applied to each coordinate of the band's offsets must vanish
        off_columns = np.eye(band.size) - basis @ np.linalg.pinv(basis)
        n_pair_rows = len(rows)
        for axis in (_X, _Y, _Z):
            r = np.zeros((band.size, N_LANDMARKS, 3))
            r[:, band, axis] = off_columns
            rows.extend(r.reshape(band.size, -1))
        C = np.stack(rows)
        rows_space = orth(C.T, rcond=1e-9)  # orthonormal basis of what the constraints forbid
        projector = np.eye(N_LANDMARKS * 3) - rows_space @ rows_space.T
        # lip rounding: the band narrowing about the mouth centre (x offsets proportional to x)
        rounding = np.zeros((N_LANDMARKS, 3))
        rounding[band, _X] = -u
        # mouth drop: the band (held at 1) and the chin moving down, spread over the mesh
        pinned = np.zeros(N_LANDMARKS)
        pinned[band] = 1.0
        weight = pinned.copy()
        weight[CHIN] = 1.0
        smoother = mesh_smoother()
        for _ in range(_DROP_SPREAD_PASSES):
            weight = np.maximum(smoother @ weight, pinned)
        drop = np.zeros((N_LANDMARKS, 3))
        drop[:N_MESH, _Y] = weight[:N_MESH]
        drop = (drop.reshape(-1) @ projector).reshape(N_LANDMARKS, 3)
        return cls(
            matrix=C[:n_pair_rows],
            band=band,
            projector=projector,
            rounding_mode=rounding / np.linalg.norm(rounding),
            drop_mode=drop / np.linalg.norm(drop),
        )

    def violation(self, offsets: np.ndarray) -> np.ndarray:
        """``(..., K)`` how much ``(..., 478, 3)`` offsets move each pair apart."""
        flat = offsets.reshape(*offsets.shape[:-2], N_LANDMARKS * 3)
        return flat @ self.matrix.T

    def project(self, offsets: np.ndarray) -> np.ndarray:
        """The nearest offsets (least squares) that satisfy both parts of the constraint.

        Args:
            offsets: ``(..., 478, 3)``.

        Returns:
            Offsets of the same shape, with ``violation(...) == 0`` and the band moving in
            columns; projecting again changes nothing.
        """
        flat = np.asarray(offsets, dtype=np.float64).reshape(*offsets.shape[:-2], N_LANDMARKS * 3)
        return (flat @ self.projector).reshape(offsets.shape)


@cache
def speech_constraint() -> SpeechConstraint:
    """The constraint of the packaged canonical face, built once (it takes a few tenths of a
    second)."""
    return SpeechConstraint.build()


def _without_positive(offsets: np.ndarray, mode: np.ndarray) -> np.ndarray:
    """``offsets`` less their component along the unit ``mode``, if that component is positive."""
    amount = float((offsets * mode).sum())
    return offsets - amount * mode if amount > 0 else offsets


def without_rounding(offsets: np.ndarray, constraint: SpeechConstraint) -> np.ndarray:
    """Remove the lip-rounding component of ``(478, 3)`` offsets if they narrow the mouth.

    Rounding (pursing, the "oo" of speech) belongs to the speech part; widening belongs to
    emotions (a smile, the stretched lips of fear) and is kept.
    """
    return _without_positive(offsets, constraint.rounding_mode)


def without_drop(offsets: np.ndarray, constraint: SpeechConstraint) -> np.ndarray:
    """Remove the mouth-drop component of ``(478, 3)`` offsets if they move the mouth down.

    A mouth moved down as a whole is what is left of a jaw drop (speech's); on a speaker it
    moves the lips away from where the speech puts them: the re-tracked lip motion of a sad edit
    of a wide-mouthed speaker fell from r 0.98 to 0.93 with it. A mouth moved up (the cheeks of
    a smile, the chin raised in anger) is kept.
    """
    return _without_positive(offsets, constraint.drop_mode)


def emotion_feature_indices(include_eyelids: bool = False) -> np.ndarray:
    """Landmarks whose offsets describe the emotion part (eyelids optional: blinks move them)."""
    regions = [r.value for r in EmotionRegion if include_eyelids or r is not EmotionRegion.EYELIDS]
    return region_indices(*regions)
