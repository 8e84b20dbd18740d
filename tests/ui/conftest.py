"""Fixtures of the web UI tests: a short real clip with sound, and a private workspace."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emodirector.ui.jobs import ClipCache, SessionStore, Workspace
from tests.conftest import _data_file

#: 125 frames (5 s at 25 fps), 590x590 H.264 + AAC, one frontal speaker.
FACE3_CLIP = "videos/videoretalking_face3_woman_flagbg_590x590_speech.mp4"
#: Frames kept for previews in these tests (fewer than the clip has, to exercise sampling).
PREVIEW_FRAMES = 50


@pytest.fixture(scope="session")
def face3_clip(data_dir: Path) -> Path:
    return _data_file(data_dir, FACE3_CLIP)


@pytest.fixture()
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    with Workspace(tmp_path) as ws:
        yield ws


@pytest.fixture()
def store(workspace: Workspace) -> SessionStore:
    return SessionStore(workspace, ClipCache(workspace, PREVIEW_FRAMES))
