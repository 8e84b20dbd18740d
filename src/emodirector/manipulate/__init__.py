"""Emotion manipulation: the ``Editor`` seam, measured prototypes, and the prototype editor."""

from emodirector.manipulate.action_units import ActionUnits, UnitStatus
from emodirector.manipulate.basis import EditGoal, ExpressionBasis
from emodirector.manipulate.editor import (
    EditorOptions,
    ExpressionEdit,
    ExpressionEditor,
    PrototypeEditor,
)
from emodirector.manipulate.emotions import EXPRESSIVE, Emotion, EmotionTarget
from emodirector.manipulate.interface import EDITORS, Editor, make_editor
from emodirector.manipulate.prototypes import EmotionPrototypes

__all__ = [
    "ActionUnits",
    "UnitStatus",
    "EXPRESSIVE",
    "EDITORS",
    "EditGoal",
    "Editor",
    "EditorOptions",
    "Emotion",
    "EmotionPrototypes",
    "EmotionTarget",
    "ExpressionBasis",
    "ExpressionEdit",
    "ExpressionEditor",
    "PrototypeEditor",
    "make_editor",
]
