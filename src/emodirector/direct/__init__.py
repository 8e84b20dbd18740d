"""Directing: how the user says what the face should show, turned into a per-frame goal.

A label (``EmotionTarget``), a reference photo or clip (``read_reference`` + ``ReferenceTarget``),
FACS action units (``ActionUnitTarget``) or a timeline of keyframes (``Timeline``); ``edit_goal``
turns each into the ``EditGoal`` the expression editor (``manipulate.Editor``) works towards.
A reference is read with the appearance classifier its caller gives (``AppearanceClassifier``),
so directing never imports the measuring package.
"""

from emodirector.direct.reference import (
    AppearanceClassifier,
    ReferenceExpression,
    read_reference,
)
from emodirector.direct.targets import (
    DEFAULT_RAMP_SECONDS,
    ActionUnitTarget,
    Direction,
    Keyframe,
    ReferenceTarget,
    Timeline,
    edit_goal,
    timeline_weights,
)

__all__ = [
    "DEFAULT_RAMP_SECONDS",
    "ActionUnitTarget",
    "AppearanceClassifier",
    "Direction",
    "Keyframe",
    "ReferenceExpression",
    "ReferenceTarget",
    "Timeline",
    "edit_goal",
    "read_reference",
    "timeline_weights",
]
