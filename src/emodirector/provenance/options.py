"""What an edit writes for provenance, and the manifest's record of an edit's direction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emodirector.errors import InvalidOptionError
from emodirector.provenance.signing import SigningOptions
from emodirector.provenance.watermark import DEFAULT_STRENGTH, Payload


@dataclass(frozen=True)
class ProvenanceOptions:
    """Provenance of an edit's output: on by default.

    Attributes:
        manifest: Sign a C2PA manifest into MP4/MOV/M4V outputs (MKV cannot carry one).
        watermark: Add the invisible watermark to every frame. Turning it off is for tests
            and measurements only (the CLI always adds it).
        signing: Where the signing certificate and key come from.
        edit_id: The 32-bit edit id the watermark and the manifest carry; None draws a random
            one per edit. Give the same id to every part of one video rendered in pieces.
        watermark_strength: RMS of the mark in 8-bit luminance code values.
    """

    manifest: bool = True
    watermark: bool = True
    signing: SigningOptions = field(default_factory=SigningOptions)
    edit_id: int | None = None
    watermark_strength: float = DEFAULT_STRENGTH

    def __post_init__(self) -> None:
        if self.edit_id is not None and not 0 <= self.edit_id < 2**32:
            raise InvalidOptionError(f"edit id must fit 32 bits, got {self.edit_id}")
        if not 0.0 < self.watermark_strength <= 8.0:
            raise InvalidOptionError("watermark_strength must be within (0, 8]")

    def payload(self) -> Payload:
        """The watermark payload: ``edit_id``, or a fresh random id."""
        return Payload.new() if self.edit_id is None else Payload(edit_id=self.edit_id)


def _value(x: Any) -> str:
    """An enum's value, or the thing itself, as text."""
    return str(getattr(x, "value", x))


def describe_direction(target: object) -> tuple[str, str]:
    """``(description, direction)`` of a target, for people and for the record.

    Works on a label (``EmotionTarget``), a reference, action units and a timeline.

    >>> from types import SimpleNamespace as NS
    >>> describe_direction(NS(emotion=NS(value="happy"), intensity=0.8))
    ('facial expression changed: happy, intensity 0.8', 'emotion happy@0.8')
    """
    intensity = getattr(target, "intensity", 1.0)
    keyframes = getattr(target, "keyframes", None)
    if keyframes is not None:
        parts = []
        for k in keyframes:
            desc, _ = describe_direction(k.target)
            parts.append(f"{k.time:g}s {desc.split(': ', 1)[-1]}")
        text = "; ".join(parts)
        return f"facial expression changed over time: {text}", f"timeline {text}"
    units = getattr(target, "units", None)
    if units is not None:
        spec = ",".join(f"{code}={value:g}" for code, value in units)
        return (
            f"facial action units changed: {spec}, intensity {intensity:g}",
            f"action units {spec}@{intensity:g}",
        )
    reference = getattr(target, "reference", None)
    if reference is not None:
        dominant = _value(getattr(reference, "dominant", ""))
        return (
            f"facial expression changed to a reference's ({dominant}), intensity {intensity:g}",
            f"reference reading as {dominant}@{intensity:g}",
        )
    label = _value(getattr(target, "emotion", ""))
    return (
        f"facial expression changed: {label}, intensity {intensity:g}",
        f"emotion {label}@{intensity:g}",
    )


#: ``finalize(temp_path)``: called on the finished temporary output before it is renamed.
Finalizer = Callable[[Path], None]

__all__ = ["Finalizer", "ProvenanceOptions", "describe_direction"]
