"""Emotion prototypes: the average offset of the face, per emotion, from the same actor's neutral.

They are measured from labelled footage by ``emodirector calibrate`` (see ``calibrate.py``) and
shipped as a small data file; the footage itself is not.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from emodirector.datafiles import read_npz
from emodirector.errors import InvalidOptionError
from emodirector.face_model import N_LANDMARKS
from emodirector.fit.speech import AMPLITUDE_BAND
from emodirector.manipulate.basis import ExpressionBasis
from emodirector.manipulate.emotions import EXPRESSIVE, Emotion

PROTOTYPES_FILE = "prototypes.npz"


#: What a prototype file is, for messages.
_KIND = "a prototype file made by 'emodirector calibrate -o FILE'"


@dataclass(frozen=True)
class EmotionPrototypes:
    """Per-emotion canonical offsets.

    Attributes:
        emotions: The emotions, in the order of ``offsets`` (the six expressive ones).
        offsets: ``(E, 478, 3) float32`` canonical-frame offsets from neutral at intensity 1,
            with the mouth each emotion has while speaking (its lip separation is applied as the
            speech constraint allows, ``fit.speech``).
        neutral: ``(478, 3) float32`` the actors' mean neutral face in the canonical frame: the
            reference against which an unknown actor's resting face is read for held emotion.
        actors: Names of the actors they were averaged over.
        actor_offsets: ``(A, E, 478, 3) float32`` the same per actor (for validation).
        strength: ``(E,) float32`` weight of each prototype when its emotion is asked for at
            intensity 1 (1 by default). A speech-keeping edit cannot show an acted emotion's
            mouth, so the rest of the face may need more than the actors' mean offset to read
            as strongly; ``emodirector calibrate`` measures it on held-out actors
            (``calibrate.strength``).
        aperture: ``(E,) float32`` the factor on the speech's lip aperture of each emotion at
            intensity 1, within ``AMPLITUDE_BAND`` (1 by default): how much wider MEAD's actors
            open and close the lips while speaking in that emotion.
        contrast: ``(E, E) float32`` how much of each other emotion's plain prototype was
            taken out of each one to tell it apart from the emotion it is read as
            (``calibrate.contrast``; row: the emotion, column: its rival; zero diagonal; all
            zero by default).
        plain_offsets: ``(E, 478, 3) float32`` the prototypes as the actors acted them, before
            the contrast (``offsets`` by default): what the action units are cut from
            (``calibrate.action_units``).
        complement_units: ``(E,)`` the FACS unit added to each prototype after the contrast
            (``calibrate.complement``; "" for none, the default).
        complement: ``(E,) float32`` its weight (0 for none, the default).
    """

    emotions: tuple[Emotion, ...]
    offsets: np.ndarray
    neutral: np.ndarray
    actors: tuple[str, ...]
    actor_offsets: np.ndarray
    strength: np.ndarray = field(default=None)  # type: ignore[arg-type]
    aperture: np.ndarray = field(default=None)  # type: ignore[arg-type]
    contrast: np.ndarray = field(default=None)  # type: ignore[arg-type]
    plain_offsets: np.ndarray = field(default=None)  # type: ignore[arg-type]
    complement_units: tuple[str, ...] = ()
    complement: np.ndarray = field(default=None)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        e = len(self.emotions)
        if not self.complement_units:
            object.__setattr__(self, "complement_units", ("",) * e)
        if self.complement is None:
            object.__setattr__(self, "complement", np.zeros(e, np.float32))
        if len(self.complement_units) != e or self.complement.shape != (e,):
            raise ValueError(f"complement_units and complement must have {e} entries")
        if self.contrast is None:
            object.__setattr__(self, "contrast", np.zeros((e, e), np.float32))
        if self.contrast.shape != (e, e) or bool(np.diag(self.contrast).any()):
            raise ValueError(f"contrast must be ({e}, {e}) with a zero diagonal")
        if self.plain_offsets is None:
            object.__setattr__(self, "plain_offsets", self.offsets)
        if self.plain_offsets.shape != self.offsets.shape:
            raise ValueError(f"plain_offsets must be shaped as offsets, {self.offsets.shape}")
        if self.strength is None:
            object.__setattr__(self, "strength", np.ones(e, np.float32))
        if self.strength.shape != (e,) or not bool(np.all(self.strength > 0)):
            raise ValueError(f"strength must be ({e},) and positive")
        if self.aperture is None:
            object.__setattr__(self, "aperture", np.ones(e, np.float32))
        lo, hi = AMPLITUDE_BAND
        if self.aperture.shape != (e,) or not bool(
            np.all((self.aperture >= lo - 1e-6) & (self.aperture <= hi + 1e-6))
        ):
            raise ValueError(f"aperture must be ({e},) and within {lo}..{hi}")
        if self.offsets.shape != (e, N_LANDMARKS, 3):
            raise ValueError(f"offsets must be ({e}, 478, 3), got {self.offsets.shape}")
        if self.neutral.shape != (N_LANDMARKS, 3):
            raise ValueError(f"neutral must be (478, 3), got {self.neutral.shape}")
        if self.actor_offsets.shape != (len(self.actors), e, N_LANDMARKS, 3):
            raise ValueError(f"actor_offsets has shape {self.actor_offsets.shape}")
        if Emotion.NEUTRAL in self.emotions:
            raise ValueError("neutral has no prototype (it is the zero offset)")

    def index(self, emotion: Emotion) -> int:
        """Row of ``emotion`` in ``offsets``.

        Raises:
            InvalidOptionError: No prototype was calibrated for it.
        """
        try:
            return self.emotions.index(emotion)
        except ValueError:
            raise InvalidOptionError(f"no prototype for {emotion.value}") from None

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write to an ``.npz`` file."""
        np.savez_compressed(
            path,
            emotions=np.array([e.value for e in self.emotions]),
            offsets=self.offsets.astype(np.float32),
            neutral=self.neutral.astype(np.float32),
            actors=np.array(self.actors),
            actor_offsets=self.actor_offsets.astype(np.float32),
            strength=self.strength.astype(np.float32),
            aperture=self.aperture.astype(np.float32),
            contrast=self.contrast.astype(np.float32),
            plain_offsets=self.plain_offsets.astype(np.float32),
            complement_units=np.array(self.complement_units),
            complement=self.complement.astype(np.float32),
        )

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> EmotionPrototypes:
        """Read prototypes written by ``save`` (``emodirector calibrate -o``).

        Raises:
            InputNotFoundError: No such file.
            InvalidOptionError: Not a prototype file.
        """
        return read_npz(path, "prototypes", _KIND, cls._from_arrays)

    @classmethod
    def load_default(cls) -> EmotionPrototypes:
        """The prototypes shipped with the package."""
        ref = resources.files("emodirector.data").joinpath(PROTOTYPES_FILE)
        with ref.open("rb") as f, np.load(f) as d:
            return cls._from_arrays(d)

    @classmethod
    def _from_arrays(cls, d: np.lib.npyio.NpzFile) -> EmotionPrototypes:
        emotions = tuple(Emotion(str(v)) for v in d["emotions"])
        return cls(
            emotions=emotions,
            offsets=d["offsets"].astype(np.float32),
            neutral=d["neutral"].astype(np.float32),
            actors=tuple(str(a) for a in d["actors"]),
            actor_offsets=d["actor_offsets"].astype(np.float32),
            strength=(
                d["strength"].astype(np.float32)
                if "strength" in d.files
                else np.ones(len(emotions), np.float32)
            ),
            aperture=(
                d["aperture"].astype(np.float32)
                if "aperture" in d.files
                else np.ones(len(emotions), np.float32)
            ),
            contrast=(
                d["contrast"].astype(np.float32)
                if "contrast" in d.files
                else np.zeros((len(emotions), len(emotions)), np.float32)
            ),
            plain_offsets=(
                d["plain_offsets"].astype(np.float32) if "plain_offsets" in d.files else None
            ),
            complement_units=(
                tuple(str(u) for u in d["complement_units"])
                if "complement_units" in d.files
                else ()
            ),
            complement=d["complement"].astype(np.float32) if "complement" in d.files else None,
        )

    def goal(self, emotion: Emotion) -> np.ndarray:
        """``(E,)`` prototype weights of showing ``emotion`` fully (all zero for neutral).

        The emotion's own weight is its ``strength``.

        Raises:
            InvalidOptionError: No prototype was calibrated for it.
        """
        goal = np.zeros(len(self.emotions))
        if emotion is not Emotion.NEUTRAL:
            k = self.index(emotion)
            goal[k] = float(self.strength[k])
        return goal

    def basis(self) -> ExpressionBasis:
        """The prototypes as an expression basis (modes named by emotion, rest = ``neutral``).

        Each mode's aperture gain is its factor's distance from 1 per unit weight, so that the
        goal of an emotion (weight ``strength``) scales the aperture by ``aperture``.
        """
        return ExpressionBasis(
            names=tuple(e.value for e in self.emotions),
            offsets=self.offsets,
            rest=self.neutral,
            aperture_gain=((self.aperture - 1.0) / self.strength).astype(np.float32),
        )

    def covers_all(self) -> bool:
        """Whether every expressive emotion has a prototype."""
        return set(EXPRESSIVE) <= set(self.emotions)
