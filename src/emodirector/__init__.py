"""emodirector: change the emotion shown on a face in a real video.

Public API::

    from emodirector import EmotionTarget, edit_video
    edit_video("talk.mp4", "talk_happy.mp4", EmotionTarget.from_label("happy", 0.8))

Nothing heavy is imported until it is used.
"""

from emodirector.direct import (
    ActionUnitTarget,
    Keyframe,
    ReferenceExpression,
    ReferenceTarget,
    Timeline,
    read_reference,
)
from emodirector.errors import (
    EmodirectorError,
    InputNotFoundError,
    InvalidOptionError,
    NoFaceFoundError,
    OutputError,
    UnsupportedVideoError,
)
from emodirector.manipulate import (
    ActionUnits,
    EditorOptions,
    Emotion,
    EmotionPrototypes,
    EmotionTarget,
    PrototypeEditor,
)
from emodirector.pipeline import (
    EditOptions,
    EditResult,
    RenderOptions,
    VideoAnalysis,
    analyze_video,
    edit_video,
    plan_edit,
    render_frame,
)
from emodirector.track import TrackerOptions
from emodirector.video import EncodeOptions

__version__ = "0.1.0"

__all__ = [
    "ActionUnitTarget",
    "ActionUnits",
    "EditOptions",
    "EditResult",
    "EditorOptions",
    "EmodirectorError",
    "Emotion",
    "EmotionPrototypes",
    "EmotionTarget",
    "EncodeOptions",
    "InputNotFoundError",
    "InvalidOptionError",
    "Keyframe",
    "NoFaceFoundError",
    "OutputError",
    "PrototypeEditor",
    "ReferenceExpression",
    "ReferenceTarget",
    "RenderOptions",
    "Timeline",
    "TrackerOptions",
    "UnsupportedVideoError",
    "VideoAnalysis",
    "analyze_video",
    "edit_video",
    "plan_edit",
    "read_reference",
    "render_frame",
]
