"""Emotion manipulation: targets, measured prototypes, and the prototype editor."""

from emodirector.manipulate.calibrate import LabeledClip, calibrate_prototypes, find_mead_clips
from emodirector.manipulate.editor import EditorOptions, ExpressionEdit, PrototypeEditor
from emodirector.manipulate.emotions import EXPRESSIVE, Emotion, EmotionTarget
from emodirector.manipulate.prototypes import EmotionPrototypes

__all__ = [
    "EXPRESSIVE",
    "EditorOptions",
    "Emotion",
    "EmotionPrototypes",
    "EmotionTarget",
    "ExpressionEdit",
    "LabeledClip",
    "PrototypeEditor",
    "calibrate_prototypes",
    "find_mead_clips",
]
