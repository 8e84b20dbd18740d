"""What the web UI does, without the web: clips analysed once, previews, renders, measurements.

Nothing here imports Gradio, so every step can be tested (and benchmarked) directly. The page in
``emodirector.ui.app`` calls these functions from Gradio's worker threads.

Files live in one private ``Workspace`` folder per server run::

    <workspace>/clips/<id>/      preview frames (and a browser-playable copy) of an analysed clip
    <workspace>/sessions/<id>/   one folder per browser tab
        job-<n>/<name>.mp4       one folder per render; removed if the render is cancelled or fails

Folder names are random, never taken from anything a client sends.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import cv2
import numpy as np

from emodirector import (
    EditOptions,
    EditResult,
    EmodirectorError,
    Emotion,
    EmotionTarget,
    NoFaceFoundError,
    VideoAnalysis,
    analyze_video,
    edit_video,
    plan_edit,
    render_frame,
)
from emodirector.evaluate import EmotionSeries, measure_clip
from emodirector.manipulate import ExpressionEdit, make_editor
from emodirector.ui.directing import Direction
from emodirector.ui.lru import LRU
from emodirector.video import VideoInfo, iter_frames, probe

#: ``progress(fraction 0..1, message)`` as the page shows it.
Progress = Callable[[float, str], None]

#: Codecs and containers a browser's <video> element plays without conversion.
BROWSER_CODECS = frozenset({"h264", "vp8", "vp9", "av1"})
BROWSER_SUFFIXES = frozenset({".mp4", ".m4v", ".mov", ".webm"})

#: Edits planned per clip and kept for the next preview (a plan covers every frame).
_PLANS_KEPT = 8


class JobCancelledError(EmodirectorError):
    """The user cancelled a render; nothing was written."""


def _no_progress(fraction: float, message: str) -> None:
    """A progress sink that ignores everything."""


class Workspace:
    """A private temporary folder for one server run, removed as a whole on ``close``.

    Args:
        parent: Where to create it (default: the system's temporary folder).
    """

    def __init__(self, parent: str | os.PathLike[str] | None = None) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="emodirector-ui-", dir=parent)).resolve()
        self.clips = self.root / "clips"
        self.sessions = self.root / "sessions"
        self.clips.mkdir()
        self.sessions.mkdir()

    def new_folder(self, parent: Path) -> Path:
        """A new empty folder with a random name inside ``parent``."""
        path = parent / uuid.uuid4().hex
        path.mkdir(parents=True)
        return path

    def close(self) -> None:
        """Remove every file the workspace holds."""
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def yuv420_to_rgb(frame: np.ndarray, info: VideoInfo) -> np.ndarray:
    """A decoded yuv420p frame as the upright RGB image a viewer sees.

    Args:
        frame: ``(H * 3 // 2, W) uint8`` planar Y, U, V (``H``, ``W`` possibly padded to even).
        info: The video: the image is cropped to ``info.width`` x ``info.height`` and rotated by
            ``info.rotation`` degrees counter-clockwise.

    Returns:
        ``(h, w, 3) uint8`` RGB, ``(h, w)`` swapped for 90 and 270 degree rotations.
    """
    rgb = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_YUV2RGB_I420)
    rgb = rgb[: info.height, : info.width]
    return np.ascontiguousarray(np.rot90(rgb, k=(info.rotation // 90) % 4))


def sample_indices(n_frames: int, limit: int) -> np.ndarray:
    """``(K,) int64`` up to ``limit`` frame indices spread evenly over ``n_frames``.

    >>> sample_indices(5, 10).tolist()
    [0, 1, 2, 3, 4]
    >>> sample_indices(100, 5).tolist()
    [0, 25, 50, 74, 99]
    """
    if n_frames <= limit:
        return np.arange(n_frames, dtype=np.int64)
    return np.unique(np.round(np.linspace(0, n_frames - 1, limit)).astype(np.int64))


class PreviewFrames:
    """Decoded frames kept on disk for previews: all of them, or an even sample of a long clip.

    Args:
        info: The video.
        n_frames: Frames in the video (from its analysis).
        folder: Where to keep the frames (one memory-mapped array file).
        limit: At most this many frames are kept.
    """

    def __init__(self, info: VideoInfo, n_frames: int, folder: Path, limit: int) -> None:
        self.info = info
        self.indices = sample_indices(n_frames, limit)
        self._frames: np.ndarray | None = None
        wanted = set(self.indices.tolist())
        kept: list[int] = []
        for frame in iter_frames(info, "yuv420p"):
            if frame.index not in wanted:
                continue
            if self._frames is None:
                self._frames = np.lib.format.open_memmap(
                    folder / "frames.npy",
                    mode="w+",
                    dtype=np.uint8,
                    shape=(len(self.indices), *frame.image.shape),
                )
            self._frames[len(kept)] = frame.image
            kept.append(frame.index)
            if len(kept) == len(self.indices):
                break
        self.indices = np.asarray(kept, dtype=np.int64)

    def nearest(self, index: int) -> int:
        """The kept frame index closest to ``index``."""
        if self.indices.size == 0:
            raise NoFaceFoundError("no frame could be decoded")
        return int(self.indices[int(np.argmin(np.abs(self.indices - index)))])

    def get(self, index: int) -> tuple[int, np.ndarray]:
        """``(kept index, yuv420p frame)`` nearest to ``index``."""
        actual = self.nearest(index)
        assert self._frames is not None
        pos = int(np.searchsorted(self.indices, actual))
        return actual, np.array(self._frames[pos])


@dataclass
class Clip:
    """An uploaded video, analysed once and shared by every tab that uses it.

    Attributes:
        path: The file (edited from, never modified).
        analysis: Its tracked and fitted face.
        frames: Frames for previews.
        folder: Private folder of derived files, removed with the clip.
        playable: A copy the browser can play, or ``path`` itself when it already can.
        seconds: Wall time of the analysis (tracking, fitting, keeping preview frames).
    """

    path: Path
    analysis: VideoAnalysis
    frames: PreviewFrames
    folder: Path
    playable: Path
    seconds: float
    _plans: LRU[str, ExpressionEdit] = field(default_factory=lambda: LRU(_PLANS_KEPT))
    _emotion: EmotionSeries | None = None

    @property
    def info(self) -> VideoInfo:
        return self.analysis.info

    @property
    def n_frames(self) -> int:
        return int(self.analysis.track.n_frames)

    @property
    def frames_with_face(self) -> int:
        return int(self.analysis.track.present.sum())

    def plan(self, direction: Direction) -> ExpressionEdit:
        """The per-frame edit towards ``direction`` (planned once, kept for the next preview)."""
        return self._plans.get(
            direction.key,
            lambda: plan_edit(self.analysis, direction.target, make_editor(direction.editor)),
        )

    def emotion(self, progress: Progress = _no_progress) -> EmotionSeries:
        """The input's emotion over time (measured once)."""
        if self._emotion is None:
            self._emotion = measure(self.path, progress)
        return self._emotion


def _browser_playable(info: VideoInfo) -> bool:
    return info.codec in BROWSER_CODECS and info.path.suffix.lower() in BROWSER_SUFFIXES


def analyse_clip(
    path: Path, folder: Path, preview_frames: int, progress: Progress = _no_progress
) -> Clip:
    """Probe, track and fit ``path`` and keep frames for previews.

    A clip the browser cannot play (an MPEG-1 ``.mpg``, say) also gets a playable copy made by
    an edit at intensity 0 (the input re-encoded, audio copied).

    Raises:
        InputNotFoundError, UnsupportedVideoError: Not a readable video.
        NoFaceFoundError: No frame shows a face.
    """
    start = time.perf_counter()
    info = probe(path)
    total = max(info.frame_count, 1)

    def on_track(stage: str, done: int, _total: int) -> None:
        progress(0.9 * min(done / total, 1.0), f"Finding the face: frame {done}")

    analysis = analyze_video(path, progress=on_track)
    if not analysis.track.present.any():
        raise NoFaceFoundError(f"{path.name}: no face found in any frame")
    progress(0.92, "Keeping frames for previews")
    frames = PreviewFrames(analysis.info, int(analysis.track.n_frames), folder, preview_frames)
    playable = path
    if not _browser_playable(info):
        progress(0.95, "Making a copy the browser can play")
        playable = folder / f"{path.stem}.mp4"
        edit_video(path, playable, EmotionTarget(Emotion.NEUTRAL, 0.0), analysis=analysis)
    return Clip(
        path=path,
        analysis=analysis,
        frames=frames,
        folder=folder,
        playable=playable,
        seconds=time.perf_counter() - start,
    )


class ClipCache:
    """Analysed clips by file, shared between tabs, each removed when no tab uses it any more.

    Args:
        workspace: Where clips keep their derived files.
        preview_frames: Frames kept per clip for previews.
    """

    def __init__(self, workspace: Workspace, preview_frames: int) -> None:
        self.workspace = workspace
        self.preview_frames = preview_frames
        self._lock = threading.Lock()
        self._clips: dict[tuple[Path, int, int], Clip] = {}
        self._users: dict[tuple[Path, int, int], int] = {}
        self._key_locks: dict[tuple[Path, int, int], threading.Lock] = {}

    @staticmethod
    def _key(path: Path) -> tuple[Path, int, int]:
        st = path.stat()
        return path.resolve(), st.st_size, st.st_mtime_ns

    def acquire(self, path: Path, progress: Progress = _no_progress) -> Clip:
        """The analysed clip of ``path`` (analysed now unless a tab already did); one more user.

        Raises:
            See ``analyse_clip``.
        """
        key = self._key(path)
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:  # two tabs uploading the same file analyse it once
            with self._lock:
                clip = self._clips.get(key)
                if clip is not None:
                    self._users[key] += 1
                    return clip
            folder = self.workspace.new_folder(self.workspace.clips)
            try:
                clip = analyse_clip(path, folder, self.preview_frames, progress)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            with self._lock:
                self._clips[key] = clip
                self._users[key] = 1
            return clip

    def release(self, clip: Clip) -> None:
        """One user fewer; the clip's files are removed when it has none."""
        with self._lock:
            key = next((k for k, c in self._clips.items() if c is clip), None)
            if key is None:
                return
            self._users[key] -= 1
            if self._users[key] > 0:
                return
            del self._clips[key], self._users[key]
            self._key_locks.pop(key, None)
        shutil.rmtree(clip.folder, ignore_errors=True)

    def __len__(self) -> int:
        with self._lock:
            return len(self._clips)


@dataclass(frozen=True)
class Preview:
    """One frame before and after an edit.

    Attributes:
        index: The frame shown.
        before: ``(H, W, 3) uint8`` upright RGB.
        after: The same frame edited.
        seconds: Wall time of planning (if not cached) and rendering it.
    """

    index: int
    before: np.ndarray
    after: np.ndarray
    seconds: float


def preview(clip: Clip, direction: Direction, index: int) -> Preview:
    """Render one frame of ``clip`` towards ``direction`` (the kept frame nearest ``index``)."""
    start = time.perf_counter()
    edit = clip.plan(direction)
    actual, frame = clip.frames.get(index)
    edited = render_frame(frame, actual, clip.analysis, edit)
    return Preview(
        index=actual,
        before=yuv420_to_rgb(frame, clip.info),
        after=yuv420_to_rgb(edited, clip.info),
        seconds=time.perf_counter() - start,
    )


class Session:
    """One browser tab: its folder, its current clip, its render jobs.

    Args:
        workspace: Where the tab's folder is created.
    """

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.folder = workspace.new_folder(workspace.sessions)
        self.clip: Clip | None = None
        self.result: EditResult | None = None
        self.result_direction: Direction | None = None
        self.cancel = threading.Event()
        self._jobs = 0
        self._rendering = threading.Lock()

    @property
    def rendering(self) -> bool:
        return self._rendering.locked()

    def set_clip(self, clip: Clip | None, cache: ClipCache) -> None:
        """Use ``clip`` from now on; the previous clip and its renders are let go."""
        old, self.clip = self.clip, clip
        if old is not None and old is not clip:
            cache.release(old)
            self._drop_result()

    def _drop_result(self) -> None:
        if self.result is not None:
            shutil.rmtree(self.result.output.parent, ignore_errors=True)
        self.result = None
        self.result_direction = None

    def render(self, direction: Direction, progress: Progress = _no_progress) -> EditResult:
        """Render the whole clip towards ``direction`` into a new job folder.

        The previous render of this tab is removed once the new one is complete. ``cancel``
        stops it at the next frame.

        Raises:
            JobCancelledError: ``cancel`` was set; the job folder is gone.
            EmodirectorError: The edit failed; the job folder is gone.
            RuntimeError: No clip, or a render of this tab is already running.
        """
        clip = self.clip
        if clip is None:
            raise RuntimeError("no video loaded")
        if not self._rendering.acquire(blocking=False):
            raise RuntimeError("a render is already running in this tab")
        try:
            self.cancel.clear()
            self._jobs += 1
            job = self.folder / f"job-{self._jobs}"
            job.mkdir()
            output = job / f"{clip.path.stem}_{direction.label}.mp4"

            def on_frame(stage: str, done: int, total: int) -> None:
                if self.cancel.is_set():
                    raise JobCancelledError("render cancelled; nothing was written")
                progress(done / max(total, 1), f"Rendering frame {done} of {total}")

            try:
                result = edit_video(
                    clip.path,
                    output,
                    direction.target,
                    EditOptions(editor=make_editor(direction.editor)),
                    on_frame,
                    analysis=clip.analysis,
                )
            except BaseException:
                shutil.rmtree(job, ignore_errors=True)
                raise
            self._drop_result()
            self.result, self.result_direction = result, direction
            return result
        finally:
            self._rendering.release()

    def close(self, cache: ClipCache) -> None:
        """Stop any render and remove everything of this tab."""
        self.cancel.set()
        self.set_clip(None, cache)
        with self._rendering:  # wait for a running render to stop
            shutil.rmtree(self.folder, ignore_errors=True)


class SessionStore:
    """Sessions by the key the page gives each tab (never used as a file name).

    Args:
        workspace: Where sessions keep their files.
        cache: The shared clip cache.
    """

    def __init__(self, workspace: Workspace, cache: ClipCache) -> None:
        self.workspace = workspace
        self.cache = cache
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}

    def get(self, key: str) -> Session:
        """The session of ``key``, created on first use."""
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                session = self._sessions[key] = Session(self.workspace)
            return session

    def close(self, key: str) -> None:
        """End the session of ``key`` and remove its files (no-op if unknown)."""
        with self._lock:
            session = self._sessions.pop(key, None)
        if session is not None:
            session.close(self.cache)

    def close_all(self) -> None:
        """End every session."""
        with self._lock:
            keys = list(self._sessions)
        for key in keys:
            self.close(key)

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)


def measure(path: Path, progress: Progress = _no_progress) -> EmotionSeries:
    """Per-frame emotion probabilities of the face in ``path`` (evaluate's classifier)."""

    def on_frame(stage: str, done: int, total: int) -> None:
        share = 0.5 * min(done / max(total, 1), 1.0)
        label = "Finding the face" if stage == "track" else "Reading the emotion"
        progress(share + (0.5 if stage != "track" else 0.0), f"{label}: frame {done}")

    return measure_clip(path, dlib_measures=False, progress=on_frame).emotion


def provenance_status(path: Path) -> str:
    """One Markdown line: what ``emodirector verify`` finds in a rendered video."""
    from emodirector.provenance.manifest import ManifestStatus
    from emodirector.provenance.verify import Verdict, verify_video

    try:
        found = verify_video(path)
    except EmodirectorError as exc:
        return f"**Provenance:** could not be checked ({exc})."
    m, w = found.manifest, found.watermark
    manifest = {
        ManifestStatus.VALID: "signed C2PA manifest, valid (trusted signer)",
        ManifestStatus.UNTRUSTED: "signed C2PA manifest, valid; its self-issued signature proves "
        "the file is unchanged since signing, not who signed it",
        ManifestStatus.INVALID: f"C2PA manifest INVALID ({m.reason})",
        ManifestStatus.NONE: "no C2PA manifest",
    }[m.status]
    mark = (f"invisible watermark found (z = {w.z:.0f})" if w.found
            else "invisible watermark NOT found")  # fmt: skip
    edit_id = w.payload.edit_id_hex if w.payload is not None else (
        m.record.edit_id if m.record is not None else "?")  # fmt: skip
    verdict = "" if found.verdict is Verdict.RECOGNISED else f" Verdict: {found.verdict.name}."
    return f"**Provenance:** {manifest}; {mark}; edit id `{edit_id}`.{verdict}"


__all__ = [
    "BROWSER_CODECS",
    "BROWSER_SUFFIXES",
    "Clip",
    "ClipCache",
    "JobCancelledError",
    "Preview",
    "PreviewFrames",
    "Progress",
    "Session",
    "SessionStore",
    "Workspace",
    "analyse_clip",
    "measure",
    "preview",
    "provenance_status",
    "sample_indices",
    "yuv420_to_rgb",
]
