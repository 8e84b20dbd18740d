"""emodirector: change the emotion shown on a face in a real video.

Public API::

    from emodirector import EmotionTarget, edit_video
    edit_video("talk.mp4", "talk_happy.mp4", EmotionTarget.from_label("happy", 0.8))

Nothing heavy is imported until it is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from emodirector.errors import (
    EmodirectorError,
    InputNotFoundError,
    InvalidOptionError,
    NoFaceFoundError,
    OutputError,
    UnsupportedVideoError,
)

#: Public name -> the module that defines it, imported on first use (Scientific Python
#: SPEC 1): ``import emodirector`` and ``emodirector --help`` stay free of OpenCV, PyAV,
#: MediaPipe and SciPy. A new public name goes here and into the ``TYPE_CHECKING`` block
#: below (for type checkers); tests/test_light_imports.py checks the two agree.
_LAZY: dict[str, str] = {
    "ActionUnitTarget": "emodirector.direct",
    "Keyframe": "emodirector.direct",
    "ReferenceExpression": "emodirector.direct",
    "ReferenceTarget": "emodirector.direct",
    "Timeline": "emodirector.direct",
    "read_reference": "emodirector.direct",
    "Emotion": "emodirector.emotion",
    "ActionUnits": "emodirector.manipulate",
    "Editor": "emodirector.manipulate",
    "EditorOptions": "emodirector.manipulate",
    "EmotionPrototypes": "emodirector.manipulate",
    "EmotionTarget": "emodirector.manipulate",
    "PrototypeEditor": "emodirector.manipulate",
    "make_editor": "emodirector.manipulate",
    "EditOptions": "emodirector.pipeline",
    "EditResult": "emodirector.pipeline",
    "RenderOptions": "emodirector.pipeline",
    "VideoAnalysis": "emodirector.pipeline",
    "analyze_video": "emodirector.pipeline",
    "edit_video": "emodirector.pipeline",
    "plan_edit": "emodirector.pipeline",
    "render_frame": "emodirector.pipeline",
    "Renderer": "emodirector.render",
    "WarpRenderer": "emodirector.render",
    "TrackerOptions": "emodirector.track",
    "EncodeOptions": "emodirector.video",
}

if TYPE_CHECKING:
    from emodirector.direct import (
        ActionUnitTarget,
        Keyframe,
        ReferenceExpression,
        ReferenceTarget,
        Timeline,
        read_reference,
    )
    from emodirector.emotion import Emotion
    from emodirector.manipulate import (
        ActionUnits,
        Editor,
        EditorOptions,
        EmotionPrototypes,
        EmotionTarget,
        PrototypeEditor,
        make_editor,
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
    from emodirector.render import (
        Renderer,
        WarpRenderer,
    )
    from emodirector.track import TrackerOptions
    from emodirector.video import EncodeOptions


def __getattr__(name: str) -> Any:
    """A public name, imported from its module on first use and then kept."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'emodirector' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__version__ = "0.1.0"

__all__ = [
    "ActionUnitTarget",
    "ActionUnits",
    "EditOptions",
    "EditResult",
    "Editor",
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
    "Renderer",
    "Timeline",
    "TrackerOptions",
    "UnsupportedVideoError",
    "VideoAnalysis",
    "WarpRenderer",
    "analyze_video",
    "edit_video",
    "make_editor",
    "plan_edit",
    "read_reference",
    "render_frame",
]
