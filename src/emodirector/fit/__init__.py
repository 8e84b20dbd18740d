"""Face fitting: rigid pose, per-segment neutral shape, expression split into speech and emotion."""

from emodirector.face_model import FaceModel, load_face_model
from emodirector.fit.expression import (
    EmotionRegion,
    SpeechFeature,
    emotion_feature_indices,
    speech_features,
)
from emodirector.fit.fitting import FaceFit, fit_track, similarity_align
from emodirector.fit.speech import (
    SpeechCheck,
    SpeechPlan,
    keep_speech,
    plan_speech,
    speech_check,
)

__all__ = [
    "EmotionRegion",
    "FaceFit",
    "FaceModel",
    "SpeechCheck",
    "SpeechFeature",
    "SpeechPlan",
    "emotion_feature_indices",
    "fit_track",
    "keep_speech",
    "load_face_model",
    "plan_speech",
    "similarity_align",
    "speech_check",
    "speech_features",
]
