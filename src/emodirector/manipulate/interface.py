"""The editor seam: what any expression editor provides, and editors by name.

``direct`` turns the user's direction (a label, a reference, action units, a timeline) into an
``EditGoal``: per-frame weights of named modes (emotion prototypes or action units). An
``Editor`` turns a fitted face and that goal into an ``ExpressionEdit``, the per-frame change
the renderer draws. The prototype editor (``editor.PrototypeEditor``) is the first, the learned
sequence manipulator (``learned.editor.LearnedEditor``) the second; each is listed in
``EDITORS`` under its own name and chosen with ``EditOptions(editor=make_editor(name))`` or
``edit --editor NAME``. Whatever it does inside, its edit must keep the speech on the lips as
``emodirector.fit.speech`` defines it: the timing of every opening and closing, every closure,
the amplitude within a band; the mouth's shape may carry the emotion.

This module imports nothing heavy, so that a front end can list the names cheaply.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, ClassVar

from emodirector.errors import InvalidOptionError

if TYPE_CHECKING:
    from emodirector.fit.fitting import FaceFit
    from emodirector.manipulate.basis import EditGoal
    from emodirector.manipulate.editor import ExpressionEdit

#: Editors by name, as ``"module:Class"``: an editor with heavy dependencies (torch) is imported
#: only when it is chosen.
EDITORS: dict[str, str] = {
    "prototype": "emodirector.manipulate.editor:PrototypeEditor",
    "learned": "emodirector.manipulate.learned.editor:LearnedEditor",
}
DEFAULT_EDITOR = "prototype"


class Editor(ABC):
    """Plans the edit of one fitted face towards a per-frame goal."""

    #: The name it is chosen by (a key of ``EDITORS``).
    name: ClassVar[str]

    @abstractmethod
    def plan(self, fit: FaceFit, goal: EditGoal, fps: float) -> ExpressionEdit:
        """The edit of ``fit`` towards ``goal``.

        Args:
            fit: The fitted face (``T`` frames).
            goal: One row per frame of ``fit``, on any basis ``direct`` builds.
            fps: Frame rate of the video, for time constants.

        Returns:
            The ExpressionEdit on ``goal.basis``: all zero where the face is absent.
        """


def make_editor(name: str = DEFAULT_EDITOR, **settings: object) -> Editor:
    """A new editor of the given name, with its default settings and data (or ``settings``,
    passed to its constructor: ``make_editor("learned", manipulator="my.pt")``).

    Raises:
        InvalidOptionError: No editor has that name, or what it needs is not installed.

    >>> make_editor("prototype").name
    'prototype'
    """
    where = EDITORS.get(name)
    if where is None:
        raise InvalidOptionError(f"unknown editor {name!r}; choose one of: {', '.join(EDITORS)}")
    module, _, cls = where.partition(":")
    try:
        editor = getattr(importlib.import_module(module), cls)(**settings)
    except ModuleNotFoundError as exc:
        raise InvalidOptionError(
            f"the {name} editor needs {exc.name}: pip install 'emodirector[{name}]'"
        ) from None
    if not isinstance(editor, Editor):
        raise TypeError(f"{where} is not an Editor")
    return editor


__all__ = ["DEFAULT_EDITOR", "EDITORS", "Editor", "make_editor"]
