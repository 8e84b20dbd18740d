"""FACS action units as canonical offset fields, cut from the emotion prototypes.

Each unit is the part of a measured MEAD emotion prototype (``data/prototypes.npz``, see
``emodirector calibrate``; as acted, before the contrast that tells the emotions apart for the
classifier: ``EmotionPrototypes.plain_offsets``) that lies where that unit moves the skin, in FACS
terms: the lip corners of the happy prototype are AU12 (lip corner puller), the lip corners of the
sad one AU15 (lip corner depressor; of the disgusted one where sad's do not go down,
``ALTERNATES``), the inner brows of the surprised one AU1, and so on (``SOURCES``). A soft mask
around the unit's landmarks cuts it out and it is made left-right symmetric. So weight 1 is the unit
as strongly as MEAD's level-3 actors showed it, and units from the same emotion add up to that
emotion's prototype where they do not overlap. The mouth's units keep their lip separation (AU10
raises the upper lip over the teeth, AU16 depresses the lower lip), which an edit applies as the
speech allows (``fit.speech``), except AU23 (lip tightener), which thins the lips without parting or
pressing them (``FREE_ONLY``). AU25 and AU26 move nothing themselves: they scale the speech's
aperture (``AMPLITUDE_UNITS``). AU43 (eyes closed) is geometric: the upper lids move down onto the
lower ones; so is AU24 (lip pressor): the inner lips pressed together by ``PRESS_GAP``, applied as
the speech allows.

``scripts/build_action_units.py`` rebuilds the packaged ``data/action_units.npz`` with it.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from emodirector.emotion import Emotion
from emodirector.errors import InvalidOptionError
from emodirector.face_model import (
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LEFT_LID_PAIRS,
    LIPS_OUTER_LOWER,
    LIPS_OUTER_UPPER,
    N_MESH,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    RIGHT_LID_PAIRS,
    load_face_model,
)
from emodirector.fit.expression import EmotionRegion
from emodirector.fit.speech import lip_aperture, mouth_split
from emodirector.manipulate.action_units import (
    ACTION_UNIT_NAMES,
    AMPLITUDE_UNITS,
    FORBIDDEN_UNITS,
    LIMITED_UNITS,
    ActionUnits,
)
from emodirector.manipulate.prototypes import EmotionPrototypes

#: Width (canonical units; the face's RMS radius is 1) of the soft mask around a unit's landmarks.
MASK_SIGMA = 0.12

_INNER_BROWS = (55, 65, 107, 66, 285, 295, 336, 296)
_OUTER_BROWS = (46, 53, 70, 63, 276, 283, 300, 293)
_BROWS = _INNER_BROWS + _OUTER_BROWS + (52, 105, 282, 334, 9, 8)
_UPPER_LIDS = RIGHT_EYE_UPPER[1:-1] + LEFT_EYE_UPPER[1:-1]
_LOWER_LIDS = RIGHT_EYE_LOWER[1:-1] + LEFT_EYE_LOWER[1:-1]
_LIP_CORNERS = EmotionRegion.LIP_CORNERS.value
_LIPS = LIPS_OUTER_UPPER + LIPS_OUTER_LOWER

#: Unit -> (emotion prototype it is cut from, landmarks where it moves the skin); the same
#: emotions whose detail the unit carries (``manipulate.action_units.ACTION_UNIT_DETAIL``).
SOURCES: dict[str, tuple[Emotion, tuple[int, ...]]] = {
    "AU01": (Emotion.SURPRISED, _INNER_BROWS),
    "AU02": (Emotion.SURPRISED, _OUTER_BROWS),
    "AU04": (Emotion.ANGRY, _BROWS),
    "AU05": (Emotion.SURPRISED, _UPPER_LIDS),
    "AU06": (Emotion.HAPPY, EmotionRegion.CHEEKS.value + _LOWER_LIDS),
    "AU07": (Emotion.ANGRY, _LOWER_LIDS),
    # MEAD's disgust, at the peak of its brows and eyes, barely raises the nose (measured +0.008
    # down); its anger raises it by 0.03
    "AU09": (Emotion.ANGRY, EmotionRegion.NOSE.value),
    "AU10": (Emotion.DISGUSTED, LIPS_OUTER_UPPER),
    "AU12": (Emotion.HAPPY, _LIP_CORNERS),
    "AU15": (Emotion.SAD, _LIP_CORNERS),
    "AU16": (Emotion.DISGUSTED, LIPS_OUTER_LOWER),
    "AU17": (Emotion.SAD, EmotionRegion.CHIN.value),
    "AU20": (Emotion.FEARFUL, _LIP_CORNERS),
    "AU23": (Emotion.ANGRY, _LIPS),
}
#: Unit -> the emotion it is cut from instead where the calibrated prototype of its first source
#: moves it against its FACS direction (EMFACS has AU15 in disgust too). MEAD's
#: three actors disagree on sadness's lip corners (one raises them, one lowers them, one holds
#: them): their median sad, tracked steadily, lifts the corners by 0.005. (AU15's detail stays
#: sad's chin, ``manipulate.action_units.ACTION_UNIT_DETAIL``.)
ALTERNATES: dict[str, Emotion] = {"AU15": Emotion.DISGUSTED}
#: AU24 (lip pressor) is the press itself, each inner pair's gap narrowed by this much
#: (canonical units; MEAD's and GRID's closed frames measure 0.00-0.03): no MEAD emotion
#: presses the speaking lips (every prototype's inner gaps narrow by 0.011 at most, or widen).
PRESS_GAP = 0.03
#: Units built from the part of their cut-out that leaves the inner lips' gaps as they are.
FREE_ONLY = ("AU23",)

#: Landmarks and the FACS direction the unit must move them in, checked after building:
#: (landmarks, axis, sign); axis "y" points down, "out" away from the face's midline, "gap"
#: is the inner lips' mean gap (the landmarks are not used).
CHECKS: dict[str, tuple[tuple[int, ...], str, int]] = {
    "AU01": (_INNER_BROWS, "y", -1),
    "AU02": (_OUTER_BROWS, "y", -1),
    "AU04": (_BROWS, "y", +1),
    "AU05": (_UPPER_LIDS, "y", -1),
    "AU06": (EmotionRegion.CHEEKS.value, "y", -1),
    "AU07": (_LOWER_LIDS, "y", -1),
    "AU09": (EmotionRegion.NOSE.value, "y", -1),
    "AU10": ((37, 0, 267), "y", -1),
    "AU12": ((61, 291), "y", -1),
    "AU15": ((61, 291), "y", +1),
    "AU16": ((84, 17, 314), "y", +1),
    "AU17": ((17, 18, 200), "y", -1),  # the chin boss and the lower lip pushed up
    "AU20": ((61, 291), "out", +1),
    "AU24": ((), "gap", -1),
    "AU43": (_UPPER_LIDS, "y", +1),
}


def _mirror_index(template: np.ndarray) -> np.ndarray:
    """Index of each landmark's mirror image across the face's vertical midline."""
    mirrored = template * np.array([-1.0, 1.0, 1.0])
    out = np.empty(len(template), int)
    for group in (np.arange(N_MESH), np.arange(N_MESH, len(template))):
        d = ((mirrored[group, None, :] - template[None, group, :]) ** 2).sum(-1)
        out[group] = group[d.argmin(axis=1)]
    return out


def _eyes_closed(template: np.ndarray) -> np.ndarray:
    """Offsets that bring each upper lid point down onto its lower partner."""
    field = np.zeros_like(template)
    for up, lo in RIGHT_LID_PAIRS + LEFT_LID_PAIRS:
        field[up, 1] = template[lo, 1] - template[up, 1]
    return field


def _moves(
    field: np.ndarray, template: np.ndarray, check: tuple[tuple[int, ...], str, int]
) -> float:
    """Mean motion of the checked landmarks along the checked direction (canonical units)."""
    points, axis, sign = check
    idx = np.asarray(points)
    if axis == "gap":
        return float(sign * lip_aperture(field))
    if axis == "y":
        return float(sign * field[idx, 1].mean())
    outwards = np.sign(template[idx, 0])
    return float(sign * (field[idx, 0] * outwards).mean())


def _cut(
    prototypes: EmotionPrototypes, code: str, template: np.ndarray, emotion: Emotion | None = None
) -> np.ndarray:
    """The part of the plain prototype ``SOURCES[code]`` names (or ``emotion``'s) under the
    unit's soft mask."""
    source, points = SOURCES[code]
    emotion = emotion or source
    proto = prototypes.plain_offsets[prototypes.index(emotion)].astype(np.float64)
    seeds = template[np.asarray(points), None, :2]
    d2 = ((template[None, :, :2] - seeds) ** 2).sum(-1).min(axis=0)
    return proto * np.exp(-d2 / (2 * MASK_SIGMA**2))[:, None]


def _symmetric(field: np.ndarray, mirror: np.ndarray) -> np.ndarray:
    """``field`` made left-right symmetric (x mirrored)."""
    return (field + field[mirror] * np.array([-1.0, 1.0, 1.0])) / 2


def _cut_symmetric(
    prototypes: EmotionPrototypes, code: str, template: np.ndarray, mirror: np.ndarray
) -> tuple[Emotion, np.ndarray]:
    """``(source, field)``: unit ``code`` (a key of ``SOURCES``) cut from its source's plain
    prototype and made symmetric, or from its alternate's (``ALTERNATES``) where the source's
    moves it against its FACS direction."""
    source = SOURCES[code][0]
    field = _symmetric(_cut(prototypes, code, template), mirror)
    if code in ALTERNATES and _moves(field, template, CHECKS[code]) <= 0:
        source = ALTERNATES[code]
        field = _symmetric(_cut(prototypes, code, template, source), mirror)
    return source, field


def cut_unit(prototypes: EmotionPrototypes, code: str) -> np.ndarray:
    """``(478, 3)`` one moving unit (a key of ``SOURCES``) cut from ``prototypes`` as
    ``build_action_units`` cuts it (without its checks or its speech split).

    Raises:
        KeyError: ``code`` is not cut from a prototype.
    """
    template = load_face_model().template.astype(np.float64)
    return _cut_symmetric(prototypes, code, template, _mirror_index(template))[1]


def build_action_units(
    prototypes: EmotionPrototypes | None = None, progress: Callable[[str], None] = print
) -> ActionUnits:
    """Every unit of ``ACTION_UNIT_NAMES`` cut from ``prototypes`` (the packaged ones by default).

    Raises:
        InvalidOptionError: A unit would move its landmarks against its FACS direction.
    """
    template = load_face_model().template.astype(np.float64)
    prototypes = prototypes or EmotionPrototypes.load_default()
    mirror = _mirror_index(template)
    split = mouth_split()
    codes, offsets, removed = [], [], []
    for code in ACTION_UNIT_NAMES:
        source = "-"
        if code == "AU43":
            kept = _symmetric(_eyes_closed(template), mirror)
        elif code == "AU24":
            kept = _symmetric(-PRESS_GAP * split.separation.astype(np.float64).sum(0), mirror)
        elif code in AMPLITUDE_UNITS:
            kept = np.zeros_like(template)
        else:
            emotion, kept = _cut_symmetric(prototypes, code, template, mirror)
            source = emotion.value
        if code in FREE_ONLY:
            kept = split.free_part(kept)
        separation = float(np.linalg.norm(split.separation_part(kept)))
        share = min(1.0, separation / max(float(np.linalg.norm(kept)), 1e-12))
        status = (
            "refused" if code in FORBIDDEN_UNITS else "limited" if code in LIMITED_UNITS else "ok"
        )
        check = ""
        if code in CHECKS:
            amount = _moves(kept, template, CHECKS[code])
            check = f", FACS direction {'ok' if amount > 0 else 'WRONG'} ({amount:+.3f})"
            if amount <= 0:
                raise InvalidOptionError(f"{code} moves the wrong way: {amount:+.3f}")
        progress(f"{code}: from {source}, norm {np.linalg.norm(kept):.3f}, lip separation "
                 f"{share:.0%} -> {status}{check}")  # fmt: skip
        codes.append(code)
        offsets.append(kept)
        removed.append(share)
    return ActionUnits(
        codes=tuple(codes),
        offsets=np.stack(offsets).astype(np.float32),
        speech_share=np.array(removed, np.float32),
    )


__all__ = [
    "ALTERNATES",
    "CHECKS",
    "FREE_ONLY",
    "MASK_SIGMA",
    "PRESS_GAP",
    "SOURCES",
    "build_action_units",
    "cut_unit",
]
