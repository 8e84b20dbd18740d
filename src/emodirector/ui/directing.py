"""Ways of directing the emotion, one tab each in the page.

A panel builds its own controls and turns their values into a ``Direction``: the target that
``plan_edit`` and ``edit_video`` receive, plus a key (to reuse a planned edit between previews)
and a short label (for file names and messages). Another way of directing (a reference photo,
action units, a timeline) is one more class with the same three members, added to
``default_panels``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeAlias

from emodirector import (
    ActionUnitTarget,
    Emotion,
    EmotionTarget,
    InvalidOptionError,
    ReferenceExpression,
    ReferenceTarget,
    Timeline,
    read_reference,
)
from emodirector.emotion import EXPRESSIVE
from emodirector.evaluate.emotion import EmotionClassifier
from emodirector.ui.lru import LRU

#: What the library's ``plan_edit`` / ``edit_video`` accept as a target.
Target: TypeAlias = EmotionTarget | ReferenceTarget | ActionUnitTarget | Timeline

#: Reference photos read (tracked, classified) and kept per panel.
_REFERENCES_KEPT = 8

#: Emotions in the order the page lists them: (label shown, value).
EMOTION_CHOICES: tuple[tuple[str, str], ...] = tuple(
    (e.value, e.value) for e in (*EXPRESSIVE, Emotion.NEUTRAL)
)
DEFAULT_EMOTION = Emotion.HAPPY.value
DEFAULT_INTENSITY = 0.8


@dataclass(frozen=True)
class Direction:
    """A target with what the page needs to know about it.

    Attributes:
        target: What ``plan_edit`` / ``edit_video`` receive.
        key: Equal for equal targets (planned edits are reused by it).
        label: Short name for file names and messages, e.g. ``happy``.
        editor: The editor's name (``manipulate.EDITORS``) that plans it.
    """

    target: Target
    key: str
    label: str
    editor: str = "prototype"


class DirectionPanel(Protocol):
    """The contract of one way of directing (one tab of the page)."""

    #: The tab's title.
    title: str

    def build(self) -> list[Any]:
        """Create the controls inside the current Gradio layout; return those that are inputs."""
        ...

    def direction(self, values: Sequence[Any]) -> Direction:
        """The direction the inputs' values describe (same order as ``build`` returned).

        Raises:
            InvalidOptionError: The values do not describe a valid target.
        """
        ...


class EmotionPanel:
    """An emotion and how strongly to show it."""

    title = "Emotion"

    def build(self) -> list[Any]:
        import gradio as gr

        emotion = gr.Radio(
            choices=list(EMOTION_CHOICES),
            value=DEFAULT_EMOTION,
            label="Emotion",
            elem_id="emotion",
        )
        intensity = gr.Slider(
            0.0,
            1.0,
            value=DEFAULT_INTENSITY,
            step=0.05,
            label="Intensity",
            info="0 leaves the face as it is; 1 shows the emotion strongly.",
            elem_id="intensity",
        )
        return [emotion, intensity]

    def direction(self, values: Sequence[Any]) -> Direction:
        emotion, intensity = values
        target = EmotionTarget.from_label(str(emotion or DEFAULT_EMOTION), float(intensity))
        label = target.emotion.value
        return Direction(target=target, key=f"emotion:{label}:{target.intensity:.3f}", label=label)


def _intensity_slider(elem_id: str) -> Any:
    import gradio as gr

    return gr.Slider(0.0, 1.0, value=DEFAULT_INTENSITY, step=0.05, label="Intensity",
                     elem_id=elem_id)  # fmt: skip


class ReferencePanel:
    """Show the expression of the face in a reference photo."""

    title = "Reference photo"

    def __init__(self) -> None:
        self._read: LRU[tuple[str, int], ReferenceExpression] = LRU(_REFERENCES_KEPT)

    def build(self) -> list[Any]:
        import gradio as gr

        photo = gr.Image(label="Reference photo (one face)", type="filepath",
                         sources=["upload"], height=220, elem_id="reference")  # fmt: skip
        return [photo, _intensity_slider("reference-intensity")]

    def _reference(self, path: Path) -> ReferenceExpression:
        def read() -> ReferenceExpression:
            with EmotionClassifier() as classifier:
                return read_reference(path, classifier=classifier)

        return self._read.get((str(path), path.stat().st_mtime_ns), read)

    def direction(self, values: Sequence[Any]) -> Direction:
        photo, intensity = values
        if not photo:
            raise InvalidOptionError("upload a reference photo first")
        path = Path(str(photo))
        target = ReferenceTarget(self._reference(path), float(intensity))
        key = f"reference:{path}:{path.stat().st_mtime_ns}:{target.intensity:.3f}"
        return Direction(target=target, key=key, label="reference")


class ActionUnitPanel:
    """Set FACS action units, e.g. ``AU12=0.7, AU6=0.5``."""

    title = "Action units"

    def build(self) -> list[Any]:
        import gradio as gr

        units = gr.Textbox(value="AU12=0.7, AU6=0.5", label="Action units",
                           info="UNIT=0..1, separated by commas; press Enter to preview. "
                           "AU12 smiles, AU4 lowers the brows, AU1+AU2 raise them.",
                           elem_id="action-units")  # fmt: skip
        return [units, _intensity_slider("au-intensity")]

    def direction(self, values: Sequence[Any]) -> Direction:
        text, intensity = values
        target = ActionUnitTarget.parse(str(text or ""), float(intensity))
        units = ",".join(f"{code}={value:g}" for code, value in target.units)
        return Direction(target=target, key=f"aus:{units}:{target.intensity:.3f}", label="aus")


class TimelinePanel:
    """Emotions at given times, e.g. ``0:neutral, 1.5:happy@0.8, 3.5:sad@0.7``."""

    title = "Timeline"

    def build(self) -> list[Any]:
        import gradio as gr

        text = gr.Textbox(value="0:neutral, 1.5:happy@0.8, 3.5:sad@0.7", label="Timeline",
                          info="SECONDS:EMOTION@INTENSITY, separated by commas; press Enter to "
                          "preview. Move the frame slider to see each moment.",
                          elem_id="timeline")  # fmt: skip
        return [text]

    def direction(self, values: Sequence[Any]) -> Direction:
        (text,) = values
        if "ref=" in str(text).replace(" ", "").lower():
            raise InvalidOptionError(
                "reference keyframes cannot be used here; use the Reference photo tab"
            )
        target = Timeline.parse(str(text or ""))
        key = "timeline:" + ",".join(str(k) for k in target.keyframes)
        return Direction(target=target, key=key, label="timeline")


def default_panels() -> list[DirectionPanel]:
    """The panels of the page, in tab order."""
    return [EmotionPanel(), ReferencePanel(), ActionUnitPanel(), TimelinePanel()]


__all__ = [
    "DEFAULT_EMOTION",
    "DEFAULT_INTENSITY",
    "EMOTION_CHOICES",
    "Direction",
    "ActionUnitPanel",
    "DirectionPanel",
    "EmotionPanel",
    "ReferencePanel",
    "Target",
    "TimelinePanel",
    "default_panels",
]
