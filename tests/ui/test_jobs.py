"""The UI's work without the browser: analysis cache, previews, renders, cancel, cleanup."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from emodirector import Emotion, EmotionTarget, InvalidOptionError, UnsupportedVideoError
from emodirector.ui import Direction, EmotionPanel, JobCancelledError, Workspace
from emodirector.ui.directing import ActionUnitPanel, ReferencePanel, TimelinePanel
from emodirector.ui.jobs import SessionStore, preview, sample_indices, yuv420_to_rgb
from emodirector.video import probe
from tests._media import audio_packets, frame_count
from tests.ui.conftest import PREVIEW_FRAMES

#: A preview must change the face by at least this much (largest |RGB difference|, 0..255).
MIN_PREVIEW_CHANGE = 20
#: ... and leave pixels far from the face as they were (mean |difference| in the top row).
MAX_BACKGROUND_CHANGE = 0.5
#: Budget for one preview of an analysed 590x590 clip (seconds); the UI promises "well under 1".
PREVIEW_BUDGET_S = 0.5


def _direction(emotion: str, intensity: float = 1.0) -> Direction:
    return EmotionPanel().direction([emotion, intensity])


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_workspace_is_removed_on_close(tmp_path: Path) -> None:
    with Workspace(tmp_path) as ws:
        (ws.sessions / "x").write_text("x")
        root = ws.root
        assert root.is_dir() and root.parent == tmp_path.resolve()
    assert not root.exists()


def test_sample_indices_cover_the_clip() -> None:
    idx = sample_indices(1000, 7)
    assert idx[0] == 0 and idx[-1] == 999 and idx.size == 7
    assert np.all(np.diff(idx) > 0)


def test_emotion_panel_direction() -> None:
    d = _direction("sad", 0.5)
    assert d.target == EmotionTarget(Emotion.SAD, 0.5)
    assert d.label == "sad"
    assert d.key == _direction("sad", 0.5).key != _direction("sad", 0.55).key


def test_clip_is_analysed_once_and_shared(store: SessionStore, face3_clip: Path) -> None:
    a, b = store.get("tab-a"), store.get("tab-b")
    clip = store.cache.acquire(face3_clip)
    a.set_clip(clip, store.cache)
    again = store.cache.acquire(face3_clip)
    b.set_clip(again, store.cache)
    assert again is clip and len(store.cache) == 1
    assert clip.n_frames == frame_count(face3_clip)
    assert clip.frames.indices.size == PREVIEW_FRAMES
    assert clip.playable == face3_clip  # H.264 in .mp4 plays in a browser as it is
    store.close("tab-a")
    assert len(store.cache) == 1 and clip.folder.is_dir()
    store.close("tab-b")
    assert len(store.cache) == 0 and not clip.folder.exists()
    assert _files(store.workspace.root) == []


def test_preview_changes_the_face_only(store: SessionStore, face3_clip: Path) -> None:
    clip = store.cache.acquire(face3_clip)
    info = probe(face3_clip)
    shown = preview(clip, _direction("happy"), 61)
    assert shown.index in clip.frames.indices.tolist() and abs(shown.index - 61) <= 2
    assert shown.before.shape == shown.after.shape == (info.height, info.width, 3)
    diff = np.abs(shown.before.astype(np.int16) - shown.after.astype(np.int16))
    assert diff.max() >= MIN_PREVIEW_CHANGE
    assert diff[0].mean() <= MAX_BACKGROUND_CHANGE
    neutral = preview(clip, _direction("happy", 0.0), 61)
    assert np.array_equal(neutral.before, neutral.after)  # intensity 0 changes nothing
    timings = [preview(clip, _direction("sad"), i).seconds for i in (10, 60, 110)]
    assert float(np.median(timings)) < PREVIEW_BUDGET_S


def test_yuv_to_rgb_rotates_like_the_display(face3_clip: Path) -> None:
    info = probe(face3_clip)
    frame = np.zeros((info.height * 3 // 2, info.width), np.uint8)
    frame[: info.height, :10] = 235  # white band at the left of the coded frame
    frame[info.height :] = 128
    rotated = dataclasses.replace(info, rotation=90)
    rgb = yuv420_to_rgb(frame, rotated)
    assert rgb[-5:, :].mean() > 200  # 90 degrees counter-clockwise: left edge goes to the bottom
    assert rgb[:5, :].mean() < 50


@pytest.mark.slow
def test_render_writes_every_frame_with_the_audio(store: SessionStore, face3_clip: Path) -> None:
    session = store.get("tab")
    session.set_clip(store.cache.acquire(face3_clip), store.cache)
    seen: list[float] = []
    result = session.render(_direction("angry", 0.7), lambda f, m: seen.append(f))
    assert result.output.is_file() and result.output.parent.parent == session.folder
    assert frame_count(result.output) == frame_count(face3_clip)
    assert audio_packets(result.output) == audio_packets(face3_clip)
    assert seen[-1] == pytest.approx(1.0)
    first = result.output
    second = session.render(_direction("sad"))
    assert second.output.is_file() and not first.exists()  # the previous job is cleaned up


def test_cancelled_render_leaves_no_file(store: SessionStore, face3_clip: Path) -> None:
    session = store.get("tab")
    session.set_clip(store.cache.acquire(face3_clip), store.cache)

    def cancel_at_frame_10(fraction: float, message: str) -> None:
        if "frame 10 " in message:
            session.cancel.set()

    with pytest.raises(JobCancelledError):
        session.render(_direction("happy"), cancel_at_frame_10)
    assert _files(session.folder) == []
    assert not session.rendering and session.result is None


@pytest.mark.slow
def test_two_tabs_render_at_once_into_their_own_folders(
    store: SessionStore, face3_clip: Path
) -> None:
    tabs = [store.get("tab-1"), store.get("tab-2")]
    for tab in tabs:
        tab.set_clip(store.cache.acquire(face3_clip), store.cache)
    errors: list[BaseException] = []

    def run(tab_index: int, emotion: str) -> None:
        try:
            tabs[tab_index].render(_direction(emotion))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i, e)) for i, e in enumerate(("happy", "sad"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    outputs = [tab.result.output for tab in tabs if tab.result is not None]
    assert len(outputs) == 2 and outputs[0].parent != outputs[1].parent
    assert outputs[0].name.endswith("_happy.mp4") and outputs[1].name.endswith("_sad.mp4")
    assert all(frame_count(o) == frame_count(face3_clip) for o in outputs)


def test_second_render_in_the_same_tab_is_refused(store: SessionStore, face3_clip: Path) -> None:
    session = store.get("tab")
    session.set_clip(store.cache.acquire(face3_clip), store.cache)
    inner: list[BaseException] = []

    def try_again(fraction: float, message: str) -> None:
        if not inner:
            with pytest.raises(RuntimeError, match="already running") as info:
                session.render(_direction("sad"))
            inner.append(info.value)
        session.cancel.set()  # the refusal is what is tested: the first render stops here

    with pytest.raises(JobCancelledError):
        session.render(_direction("happy"), try_again)
    assert len(inner) == 1
    assert _files(session.folder) == []


def test_text_file_is_not_a_clip(store: SessionStore, tmp_path: Path) -> None:
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n" * 100)
    with pytest.raises(UnsupportedVideoError):
        store.cache.acquire(fake)
    assert len(store.cache) == 0
    assert list(store.workspace.clips.iterdir()) == []


@pytest.mark.parametrize(
    ("panel", "values", "label"),
    [
        (ActionUnitPanel(), ["AU12=0.8, AU6=0.5", 1.0], "aus"),
        (TimelinePanel(), ["0:neutral, 1:happy@1.0"], "timeline"),
    ],
)
def test_other_panels_direct_a_preview(
    store: SessionStore, face3_clip: Path, panel: Any, values: list[Any], label: str
) -> None:
    clip = store.cache.acquire(face3_clip)
    direction = panel.direction(values)
    assert direction.label == label
    shown = preview(clip, direction, 100)  # 4 s in: the timeline has reached "happy"
    diff = np.abs(shown.before.astype(np.int16) - shown.after.astype(np.int16))
    assert diff.max() >= MIN_PREVIEW_CHANGE


def test_panels_refuse_malformed_directions() -> None:
    with pytest.raises(InvalidOptionError):
        ActionUnitPanel().direction(["AU12", 1.0])
    with pytest.raises(InvalidOptionError):
        TimelinePanel().direction(["2:ref=/etc/passwd"])  # no server paths from the page
    with pytest.raises(InvalidOptionError):
        ReferencePanel().direction([None, 1.0])


def test_reference_panel_reads_a_photo_once(
    store: SessionStore, face3_clip: Path, data_dir: Path
) -> None:
    photos = sorted((data_dir / "references").glob("happy__*"))
    if not photos:
        pytest.skip("no happy reference photo in the shared data")
    panel = ReferencePanel()
    first = panel.direction([str(photos[0]), 1.0])
    again = panel.direction([str(photos[0]), 0.5])
    assert first.label == "reference" and first.key != again.key
    assert again.target.reference is first.target.reference  # type: ignore[union-attr]
    shown = preview(store.cache.acquire(face3_clip), first, 60)
    assert np.abs(shown.before.astype(np.int16) - shown.after.astype(np.int16)).max() > 0


def test_the_learned_editor_directs_a_preview(store: SessionStore, face3_clip: Path) -> None:
    pytest.importorskip("torch", reason="the learned editor needs emodirector[learned]")
    clip = store.cache.acquire(face3_clip)
    prototype = _direction("happy")
    learned = dataclasses.replace(prototype, editor="learned", key=f"learned|{prototype.key}")
    shown = preview(clip, learned, 61)
    diff = np.abs(shown.before.astype(np.int16) - shown.after.astype(np.int16))
    assert diff.max() >= MIN_PREVIEW_CHANGE
    assert clip.plan(learned) is not clip.plan(prototype)  # planned and kept per editor
    assert "pc00" in clip.plan(learned).basis.names
