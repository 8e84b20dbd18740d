"""Face fitting: rigid pose, per-segment neutral shape, expression split into speech and emotion."""

from emodirector.face_model import FaceModel, load_face_model
from emodirector.fit.expression import (
    EmotionRegion,
    SpeechConstraint,
    SpeechFeature,
    emotion_feature_indices,
    speech_constraint,
    speech_features,
    without_drop,
    without_rounding,
)
from emodirector.fit.fitting import FaceFit, fit_track, similarity_align

__all__ = [
    "EmotionRegion",
    "FaceFit",
    "FaceModel",
    "SpeechConstraint",
    "SpeechFeature",
    "emotion_feature_indices",
    "fit_track",
    "load_face_model",
    "similarity_align",
    "speech_constraint",
    "speech_features",
    "without_drop",
    "without_rounding",
]
