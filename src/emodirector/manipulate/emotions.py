"""Emotion labels and the user's choice of target emotion."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from emodirector.errors import InvalidOptionError


class Emotion(Enum):
    """The seven emotions of MEAD and NED."""

    NEUTRAL = "neutral"
    HAPPY = "happy"
    SAD = "sad"
    ANGRY = "angry"
    SURPRISED = "surprised"
    FEARFUL = "fearful"
    DISGUSTED = "disgusted"

    @classmethod
    def parse(cls, label: str) -> Emotion:
        """The emotion named ``label`` (case-insensitive; "fear" and "disgust" accepted).

        Raises:
            InvalidOptionError: Unknown label.

        >>> Emotion.parse("Happy")
        <Emotion.HAPPY: 'happy'>
        """
        key = label.strip().lower()
        key = {"fear": "fearful", "disgust": "disgusted", "surprise": "surprised"}.get(key, key)
        try:
            return cls(key)
        except ValueError:
            names = ", ".join(e.value for e in cls)
            raise InvalidOptionError(f"unknown emotion {label!r}; choose one of: {names}") from None


#: The emotions that have a prototype (neutral is the absence of one).
EXPRESSIVE = tuple(e for e in Emotion if e is not Emotion.NEUTRAL)


@dataclass(frozen=True)
class EmotionTarget:
    """What the edited face should show.

    Attributes:
        emotion: The target emotion.
        intensity: 0 leaves the face as it is; 1 removes the actor's own emotion and shows the
            target as strongly as MEAD's level-3 acting.
    """

    emotion: Emotion
    intensity: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.emotion, Emotion):
            raise InvalidOptionError(f"emotion must be an Emotion, got {self.emotion!r}")
        if not 0.0 <= float(self.intensity) <= 1.0:
            raise InvalidOptionError(f"intensity must be within 0..1, got {self.intensity}")

    @classmethod
    def from_label(cls, label: str, intensity: float = 1.0) -> EmotionTarget:
        """``EmotionTarget(Emotion.parse(label), intensity)``."""
        return cls(Emotion.parse(label), float(intensity))
