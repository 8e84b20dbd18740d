"""The user's choice of target emotion (the labels themselves are ``emodirector.emotion``)."""

from __future__ import annotations

from dataclasses import dataclass

from emodirector.emotion import EXPRESSIVE, Emotion
from emodirector.errors import InvalidOptionError


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


__all__ = ["EXPRESSIVE", "Emotion", "EmotionTarget"]
