"""The split of a facial expression into a speech part and an emotion part.

Speech part (what the words need), measured per frame as named scalars in canonical units:

- ``jaw_opening``: chin below the upper lip;
- ``lip_aperture``: mean vertical gap between the inner lips;
- ``lip_rounding``: narrowing of the inner mouth (negative inner-mouth width).

Emotion part: everything an emotion moves, in named regions (brows, eyelids, cheeks, nose, lip
corners, chin). What an emotion edit must keep of the speech part, and what of the mouth it may
change, is the speech constraint of ``fit.speech``.
"""

from __future__ import annotations

from enum import Enum

import numpy as np

from emodirector.face_model import (
    CHIN,
    LEFT_BROW,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LIP_CORNERS,
    LIPS_INNER_LOWER,
    LIPS_INNER_UPPER,
    RIGHT_BROW,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    UPPER_LIP_MID,
    region_indices,
)

_X, _Y = 0, 1


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


def emotion_feature_indices(include_eyelids: bool = False) -> np.ndarray:
    """Landmarks whose offsets describe the emotion part (eyelids optional: blinks move them)."""
    regions = [r.value for r in EmotionRegion if include_eyelids or r is not EmotionRegion.EYELIDS]
    return region_indices(*regions)
