"""A local web UI for directing emotions: ``emodirector ui``.

Drop a clip in, try emotions on single frames, render the one you like, compare before and
after, download it, and plot the emotion over time. Built on Gradio over the library's public
API; the library never imports this package.

- ``jobs``: the work without the web (workspace, analysed clips, previews, renders).
- ``directing``: the ways of directing, one tab each (an emotion and its intensity).
- ``plots``: the emotion-over-time figure.
- ``app``: the Gradio page (``build_app``) and the server (``serve``).
"""

from emodirector.ui.app import DirectorApp, UIOptions, build_app, serve
from emodirector.ui.directing import Direction, DirectionPanel, EmotionPanel
from emodirector.ui.jobs import JobCancelledError, Workspace

__all__ = [
    "DirectorApp",
    "Direction",
    "DirectionPanel",
    "EmotionPanel",
    "JobCancelledError",
    "UIOptions",
    "Workspace",
    "build_app",
    "serve",
]
