"""Facial action units (FACS) as canonical offset fields, for directing a face unit by unit.

The fields are built by ``scripts/build_action_units.py`` from the measured emotion prototypes,
each cut to where its unit moves the skin (AU12 is the happy prototype's lip corners, AU4 the
angry one's brows; see there), and shipped as ``data/action_units.npz``. Weight 1 is the unit as
strongly as MEAD's level-3 actors showed it. Like the prototypes, a field's lip separation is
applied only as the speech allows (``fit.speech``: closed lips stay closed); the units that are
speech motion (lips part, jaw drop) act as the speech's amplitude: the lips part wider between
words, within the amplitude band, never where the speech closes them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from enum import Enum
from importlib import resources

import numpy as np

from emodirector.datafiles import read_npz
from emodirector.emotion import Emotion
from emodirector.errors import InvalidOptionError
from emodirector.face_model import N_LANDMARKS
from emodirector.fit.speech import AMPLITUDE_BAND
from emodirector.manipulate.basis import ExpressionBasis

ACTION_UNITS_FILE = "action_units.npz"

#: FACS name of each supported unit.
ACTION_UNIT_NAMES: dict[str, str] = {
    "AU01": "inner brow raiser",
    "AU02": "outer brow raiser",
    "AU04": "brow lowerer (frown)",
    "AU05": "upper lid raiser (eyes widened)",
    "AU06": "cheek raiser (the raised cheeks of a real smile)",
    "AU07": "lid tightener (narrowed eyes)",
    "AU09": "nose wrinkler",
    "AU10": "upper lip raiser",
    "AU12": "lip corner puller (smile)",
    "AU15": "lip corner depressor",
    "AU16": "lower lip depressor",
    "AU17": "chin raiser",
    "AU20": "lip stretcher",
    "AU23": "lip tightener",
    "AU24": "lip pressor",
    "AU25": "lips part",
    "AU26": "jaw drop",
    "AU43": "eyes closed",
}

#: Units refused because what they do is what speech does (none: the lips part and the jaw
#: drops as the speech's amplitude, ``AMPLITUDE_UNITS``).
FORBIDDEN_UNITS: dict[str, str] = {}

#: Units that act as the speech's amplitude (``fit.speech``): their weight-1 change of the
#: aperture factor (1 + this, up to the top of the amplitude band); they move nothing else.
AMPLITUDE_UNITS: dict[str, float] = {
    "AU25": AMPLITUDE_BAND[1] - 1.0,
    "AU26": AMPLITUDE_BAND[1] - 1.0,
}

#: Units applied only in part.
LIMITED_UNITS: dict[str, str] = {
    "AU25": "as the speech's amplitude: the lips part up to "
    f"{AMPLITUDE_BAND[1]:g}x wider between words, never where the speech closes them",
    "AU26": "as the speech's amplitude: the jaw opens up to "
    f"{AMPLITUDE_BAND[1]:g}x wider between words, never where the speech closes the lips",
}

#: The skin detail of each action unit: the regions (``face_model.DETAIL_REGIONS``) of one
#: emotion's ratio image (``render.detail``) where that unit shapes the skin, the same emotions
#: its geometry is cut from (see ``build_action_units.py``). Units that only move lids or lips
#: carry no detail.
ACTION_UNIT_DETAIL: dict[str, tuple[Emotion, tuple[str, ...]]] = {
    "AU01": (Emotion.SURPRISED, ("forehead",)),
    "AU02": (Emotion.SURPRISED, ("forehead",)),
    "AU04": (Emotion.ANGRY, ("glabella",)),
    "AU06": (Emotion.HAPPY, ("eye_corners", "cheeks")),
    "AU07": (Emotion.ANGRY, ("eye_corners",)),
    "AU10": (Emotion.DISGUSTED, ("nasolabial",)),
    "AU12": (Emotion.HAPPY, ("nasolabial", "cheeks")),
    "AU15": (Emotion.SAD, ("chin",)),
    "AU16": (Emotion.DISGUSTED, ("chin",)),
    "AU17": (Emotion.SAD, ("chin",)),
    "AU20": (Emotion.FEARFUL, ("nasolabial",)),
}


class UnitStatus(Enum):
    """How fully a unit can be applied."""

    OK = "ok"
    LIMITED = "limited"
    REFUSED = "refused"


def normalize_code(text: str) -> str:
    """The canonical code of an action unit name (``"au6"``, ``"AU6"``, ``"6"`` -> ``"AU06"``).

    Raises:
        InvalidOptionError: Not an action unit name, or not a supported unit.

    >>> normalize_code("au6")
    'AU06'
    """
    m = re.fullmatch(r"\s*(?:au)?\s*(\d{1,2})\s*", text, flags=re.IGNORECASE)
    code = f"AU{int(m.group(1)):02d}" if m else None
    if code is None or code not in ACTION_UNIT_NAMES:
        known = ", ".join(c.replace("AU0", "AU") for c in ACTION_UNIT_NAMES)
        raise InvalidOptionError(
            f"unknown action unit {text.strip()!r}; supported: {known} ('emodirector aus' "
            "describes them)"
        )
    return code


@dataclass(frozen=True)
class ActionUnits:
    """The supported action units as canonical offset fields.

    Attributes:
        codes: Unit codes (``"AU01"`` ...), in the order of ``offsets``.
        offsets: ``(U, 478, 3) float32`` canonical offsets of each unit at intensity 1.
        speech_share: ``(U,) float32`` share (0..1) of each unit's motion that is lip separation,
            which the speech constraint applies only on open lips (for reports).
        aperture_gain: ``(U,) float32`` each unit's change of the speech's aperture factor per
            unit weight (``AMPLITUDE_UNITS``; 0 for the others).
    """

    codes: tuple[str, ...]
    offsets: np.ndarray
    speech_share: np.ndarray
    aperture_gain: np.ndarray = field(default=None)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        u = len(self.codes)
        if self.offsets.shape != (u, N_LANDMARKS, 3):
            raise ValueError(f"offsets must be ({u}, 478, 3), got {self.offsets.shape}")
        if self.speech_share.shape != (u,):
            raise ValueError(f"speech_share must be ({u},)")
        if self.aperture_gain is None:
            gains = [AMPLITUDE_UNITS.get(c, 0.0) for c in self.codes]
            object.__setattr__(self, "aperture_gain", np.array(gains, np.float32))
        if self.aperture_gain.shape != (u,):
            raise ValueError(f"aperture_gain must be ({u},)")
        unknown = set(self.codes) - set(ACTION_UNIT_NAMES)
        if unknown:
            raise ValueError(f"unknown units {sorted(unknown)}")

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write to an ``.npz`` file (as ``load`` reads it)."""
        np.savez_compressed(
            path,
            names=np.array(self.codes),
            offsets=self.offsets.astype(np.float32),
            speech_share=self.speech_share.astype(np.float32),
            aperture_gain=self.aperture_gain.astype(np.float32),
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ActionUnits:
        """Read action units written by ``save`` (``calibrate.action_units``).

        Raises:
            InputNotFoundError: No such file.
            InvalidOptionError: Not an action-unit file.
        """
        return read_npz(path, "action units", "an action-unit file", cls._from_arrays)

    @classmethod
    def load_default(cls) -> ActionUnits:
        """The action units shipped with the package."""
        ref = resources.files("emodirector.data").joinpath(ACTION_UNITS_FILE)
        with ref.open("rb") as f, np.load(f) as d:
            return cls._from_arrays(d)

    @classmethod
    def _from_arrays(cls, d: np.lib.npyio.NpzFile) -> ActionUnits:
        codes = tuple(str(c) for c in d["names"])
        gains = (
            d["aperture_gain"]
            if "aperture_gain" in d.files
            else np.array([AMPLITUDE_UNITS.get(c, 0.0) for c in codes])
        )
        return cls(
            codes=codes,
            offsets=d["offsets"].astype(np.float32),
            speech_share=d["speech_share"].astype(np.float32),
            aperture_gain=gains.astype(np.float32),
        )

    def status(self, code: str) -> UnitStatus:
        """Whether ``code`` is applied fully, only as the speech's amplitude, or refused."""
        if code in FORBIDDEN_UNITS:
            return UnitStatus.REFUSED
        return UnitStatus.LIMITED if code in LIMITED_UNITS else UnitStatus.OK

    def describe(self) -> list[tuple[str, str, str]]:
        """``(code, FACS name, what the edit does with it)`` per unit, for listings."""
        rows = []
        for code in self.codes:
            status = self.status(code)
            if status is UnitStatus.REFUSED:
                note = "refused: " + FORBIDDEN_UNITS[code]
            elif status is UnitStatus.LIMITED:
                note = "limited: " + LIMITED_UNITS[code]
            else:
                note = "full"
            rows.append((code, ACTION_UNIT_NAMES[code], note))
        return rows

    def basis(self, rest: np.ndarray) -> ExpressionBasis:
        """The units as an expression basis, read against the resting face ``rest``."""
        return ExpressionBasis(
            names=self.codes, offsets=self.offsets, rest=rest, aperture_gain=self.aperture_gain
        )


__all__ = [
    "ACTION_UNIT_DETAIL",
    "ACTION_UNIT_NAMES",
    "AMPLITUDE_UNITS",
    "FORBIDDEN_UNITS",
    "LIMITED_UNITS",
    "ActionUnits",
    "UnitStatus",
    "normalize_code",
]
