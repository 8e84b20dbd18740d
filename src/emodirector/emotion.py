"""The one emotion vocabulary: the seven emotions of MEAD and NED, used by every stage.

It sits below the stages (it imports nothing of the package but ``errors``) so that any of
them, and the front ends, name emotions the same way. A model with its own label order (the
FER2013 classifier in ``evaluate``) maps that order to ``Emotion`` in one place of its own.
"""

from __future__ import annotations

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

#: The seven names, in ``Emotion`` order (what a command line offers).
EMOTION_NAMES = tuple(e.value for e in Emotion)

__all__ = ["EMOTION_NAMES", "EXPRESSIVE", "Emotion"]
