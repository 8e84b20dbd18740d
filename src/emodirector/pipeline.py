"""The end-to-end edit: decode, track, fit, manipulate, render, blend, encode.

Two streaming passes over the video: the first tracks the face (the whole track must be known to
fit a neutral face and to smooth without lag; a clip of ``PARALLEL_MIN_FRAMES`` or more is
tracked in two halves at once, see ``TrackerOptions.parallel``), the second decodes again,
renders the edit into each frame and encodes it while the original audio packets are copied
across.

The two seams: ``EditOptions.editor`` (an ``Editor``: the prototype editor by default) plans the
edit from the goal ``direct`` makes of the target, and ``EditOptions.renderer`` (a ``Renderer``:
by default the mesh warp with the eyes redrawn and the expression detail added, as
``RenderOptions`` says) draws each frame's edited face, which ``blend`` composites into the
frame. The data files they read (prototypes, action units, expression detail) are the packaged
ones unless ``EditOptions`` names others (the output of ``emodirector calibrate``).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emodirector.blend.composite import composite_yuv420
from emodirector.direct.targets import Direction, edit_goal
from emodirector.errors import InvalidOptionError, UnsupportedVideoError
from emodirector.fit.fitting import FaceFit, fit_track
from emodirector.framearrays import CHUNK, release
from emodirector.manipulate.action_units import ActionUnits
from emodirector.manipulate.editor import ExpressionEdit, PrototypeEditor
from emodirector.manipulate.interface import Editor
from emodirector.manipulate.pose import pitch_weight
from emodirector.manipulate.prototypes import EmotionPrototypes
from emodirector.provenance.options import ProvenanceOptions
from emodirector.render.detail import ExpressionDetail
from emodirector.render.renderer import (
    ClipFaces,
    FaceFrame,
    Renderer,
    RenderOptions,
    WarpRenderer,
)
from emodirector.track.tracker import FaceTrack, FaceTracker, ProgressCallback, TrackerOptions
from emodirector.video.prefetch import prefetch
from emodirector.video.reader import VideoInfo, check_input_path, iter_frames, probe
from emodirector.video.writer import EncodeOptions, VideoWriter, check_output_path

#: Below this largest landmark displacement (pixels) a frame is passed through unwarped.
_MIN_VISIBLE_PX = 0.05


@dataclass(frozen=True)
class EditOptions:
    """Everything that tunes an edit besides the target.

    Attributes:
        tracker: Face tracking.
        editor: Plans the edit (``manipulate.Editor``; the prototype editor by default, tuned by
            ``PrototypeEditor(options=EditorOptions(...))``).
        render: What the default renderer adds to the warp (eyes, detail).
        encode: The video encoder.
        overwrite: Replace an existing output file.
        renderer: Draws the edited face (``render.Renderer``); None: the warp renderer built from
            ``render`` and ``detail``.
        prototypes: Emotion prototypes (``EmotionPrototypes`` or an ``.npz`` path, e.g. from
            ``emodirector calibrate -o``); None: the packaged ones.
        action_units: Action units (``ActionUnits`` or a path); None: the packaged ones.
        detail: Expression detail (``ExpressionDetail`` or a path, e.g. from ``emodirector
            calibrate --detail``); None: the packaged one.
        provenance: The watermark on every frame and the signed C2PA manifest (both on by
            default; the watermark is turned off only to measure what the edit alone does).
    """

    tracker: TrackerOptions = field(default_factory=TrackerOptions)
    editor: Editor = field(default_factory=PrototypeEditor)
    render: RenderOptions = field(default_factory=RenderOptions)
    encode: EncodeOptions = field(default_factory=EncodeOptions)
    overwrite: bool = False
    renderer: Renderer | None = None
    prototypes: EmotionPrototypes | str | os.PathLike[str] | None = None
    action_units: ActionUnits | str | os.PathLike[str] | None = None
    detail: ExpressionDetail | str | os.PathLike[str] | None = None
    provenance: ProvenanceOptions = field(default_factory=ProvenanceOptions)

    def __post_init__(self) -> None:
        if not isinstance(self.editor, Editor):
            raise InvalidOptionError(f"editor must be an Editor, got {type(self.editor).__name__}")
        if self.renderer is not None and not isinstance(self.renderer, Renderer):
            raise InvalidOptionError(
                f"renderer must be a Renderer, got {type(self.renderer).__name__}"
            )

    def load_prototypes(self) -> EmotionPrototypes:
        """The prototypes to use (read from the file if a path was given).

        Raises:
            InputNotFoundError, InvalidOptionError: A missing or malformed file.
        """
        if isinstance(self.prototypes, EmotionPrototypes):
            return self.prototypes
        if self.prototypes is None:
            return EmotionPrototypes.load_default()
        return EmotionPrototypes.load(self.prototypes)

    def load_action_units(self) -> ActionUnits | None:
        """The action units to use; None: the packaged ones, read when a target needs them."""
        if self.action_units is None or isinstance(self.action_units, ActionUnits):
            return self.action_units
        return ActionUnits.load(self.action_units)

    def load_detail(self) -> ExpressionDetail:
        """The expression detail to use (read from the file if a path was given)."""
        if isinstance(self.detail, ExpressionDetail):
            return self.detail
        if self.detail is None:
            return ExpressionDetail.load_default()
        return ExpressionDetail.load(self.detail)

    def make_renderer(self) -> Renderer:
        """``renderer``, or the warp renderer of ``render`` with ``detail``.

        Raises:
            InputNotFoundError, InvalidOptionError: A missing or malformed detail file.
        """
        if self.renderer is not None:
            return self.renderer
        return WarpRenderer.from_options(
            self.render, self.load_detail() if self.render.detail else None
        )


@dataclass(frozen=True)
class VideoAnalysis:
    """A clip tracked and fitted once, to be edited towards any number of targets.

    Attributes:
        info: The probed video.
        track: The followed face (with ``TrackerOptions(face="all")``: the most present one).
        fit: Its pose, neutral shape and expression.
        others: With ``face="all"``, the other faces, each analysed like this one (and with no
            ``others`` of its own); empty otherwise.
    """

    info: VideoInfo
    track: FaceTrack
    fit: FaceFit
    others: tuple[VideoAnalysis, ...] = ()

    @classmethod
    def from_tracks(cls, info: VideoInfo, tracks: tuple[FaceTrack, ...]) -> VideoAnalysis:
        """Fit each track; the first becomes ``track``/``fit``, the rest ``others``."""
        others = tuple(cls(info=info, track=t, fit=fit_track(t)) for t in tracks[1:])
        return cls(info=info, track=tracks[0], fit=fit_track(tracks[0]), others=others)


@dataclass(frozen=True)
class EditResult:
    """What an edit did.

    Attributes:
        output: The written video.
        frames: Frames written.
        frames_with_face: Frames on which the face was found (and edited if the gain was > 0).
        seconds: Wall time per stage (decode, track, fit, manipulate, render, blend, encode).
        total_seconds: Wall time of the whole edit.
        faces: Faces edited (more than 1 only with ``face="all"``).
        frames_small_face: Frames on which faces were seen but were all too small to edit
            (``TrackerOptions.min_face_size``); they were passed through.
        edit_id: The edit id (8 hex digits) the watermark and the manifest carry.
        signed: A C2PA manifest was signed into the output.
        notes: What the renderer said about the clip (``Renderer.notes``), e.g. that the clip
            shows no open mouth to copy teeth from; the command line prints them as warnings.
    """

    output: Path
    frames: int
    frames_with_face: int
    seconds: dict[str, float]
    total_seconds: float
    faces: int = 1
    frames_small_face: int = 0
    edit_id: str = ""
    signed: bool = False
    notes: tuple[str, ...] = ()

    @property
    def fps(self) -> float:
        """Frames per second of the whole edit."""
        return self.frames / self.total_seconds if self.total_seconds > 0 else 0.0


class _Timer:
    """Accumulates wall time per named stage."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._t = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.seconds[stage] = self.seconds.get(stage, 0.0) + now - self._t
        self._t = now


def analyze_video(
    path: str | os.PathLike[str],
    options: TrackerOptions | None = None,
    progress: ProgressCallback | None = None,
) -> VideoAnalysis:
    """Probe, track and fit a video once.

    Raises:
        InputNotFoundError, UnsupportedVideoError: See ``probe``.
    """
    info = probe(path)
    with FaceTracker(options or TrackerOptions()) as tracker:
        tracks = tracker.track_all(info, progress)
    return VideoAnalysis.from_tracks(info, tracks)


def plan_edit(
    analysis: VideoAnalysis,
    target: Direction,
    editor: Editor | None = None,
    prototypes: EmotionPrototypes | None = None,
    action_units: ActionUnits | None = None,
) -> ExpressionEdit:
    """The per-frame edit of an analysed clip towards ``target``.

    ``direct`` turns the target into a per-frame goal on the prototypes (or the action units),
    and the editor plans the edit towards it.

    Args:
        analysis: The analysed clip.
        target: A label (``EmotionTarget``), a reference (``ReferenceTarget``), action units
            (``ActionUnitTarget``) or a ``Timeline``.
        editor: The editor (the prototype editor by default).
        prototypes: Emotion prototypes (the packaged ones by default).
        action_units: Action units (the packaged ones by default).

    Raises:
        InvalidOptionError: A timeline keyframe after the video's end.
    """
    prototypes = prototypes or EmotionPrototypes.load_default()
    track = analysis.track
    period = 1.0 / float(analysis.info.fps) if analysis.info.fps > 0 else 0.0
    end = float(track.times[-1]) + period if track.n_frames else 0.0
    goal = edit_goal(
        target,
        track.times,
        prototypes,
        action_units,
        duration=max(end, float(analysis.info.duration)),
    )
    editor = editor or PrototypeEditor()
    return editor.plan(analysis.fit, goal, float(analysis.info.fps))


def edited_landmarks(
    analysis: VideoAnalysis, edit: ExpressionEdit, index: int
) -> np.ndarray | None:
    """``(478, 3)`` edited landmark pixels on frame ``index`` (None if nothing to edit there)."""
    if index >= analysis.track.n_frames or not analysis.track.present[index]:
        return None
    if edit.gain[index] <= 0:
        return None
    sel = np.array([index])
    offsets = analysis.fit.to_image(edit.offsets(sel), sel)[0]
    offsets *= pitch_weight(analysis.fit.rotation[sel])[0]
    return analysis.track.landmarks[index] + offsets


def face_frame(analysis: VideoAnalysis, edit: ExpressionEdit, index: int) -> FaceFrame | None:
    """The face and its edit on frame ``index``, as a renderer receives it (None where there is
    nothing visible to edit). ``FaceFrames`` walks a clip faster."""
    return FaceFrames(analysis, edit, block=1)(index)


class FaceFrames:
    """``face_frame`` of every frame, computed ``block`` frames at a time (one vectorised call
    per block instead of one per frame: a tenth of the cost), for frames asked in increasing
    order; any order works, a jump back recomputes a block."""

    def __init__(self, analysis: VideoAnalysis, edit: ExpressionEdit, block: int = 64) -> None:
        self.analysis, self.edit, self.block = analysis, edit, block
        self._start = self._stop = 0
        self._dst: dict[int, np.ndarray] = {}
        self._pitch = np.zeros(0)

    def _load(self, index: int) -> None:
        a, edit = self.analysis, self.edit
        start = index - index % self.block
        stop = min(start + self.block, a.track.n_frames)
        sel = np.arange(start, stop)
        sel = sel[a.track.present[start:stop] & (edit.gain[start:stop] > 0)]
        self._dst = {}
        self._pitch = np.zeros(stop - start)
        if sel.size:
            pitch = pitch_weight(a.fit.rotation[sel])
            offsets = a.fit.to_image(edit.offsets(sel), sel) * pitch[:, None, None]
            dst = a.track.landmarks[sel] + offsets
            self._dst = {int(t): dst[k] for k, t in enumerate(sel)}
            self._pitch[sel - start] = pitch
        self._start, self._stop = start, stop

    def __call__(self, index: int) -> FaceFrame | None:
        if index >= self.analysis.track.n_frames:
            return None
        if not self._start <= index < self._stop:
            self._load(index)
        dst = self._dst.get(index)
        if dst is None:
            return None
        src = self.analysis.track.landmarks[index]
        if float(np.abs(dst[:, :2] - src[:, :2]).max()) < _MIN_VISIBLE_PX:
            return None
        pitch = self._pitch[index - self._start]
        weights = self.edit.weights[index] * self.edit.gain[index] * pitch
        return FaceFrame(index, src, dst, self.edit.basis.names, weights)


def clip_faces(analysis: VideoAnalysis, edit: ExpressionEdit) -> ClipFaces:
    """The analysed face through the whole clip, for ``Renderer.prepare`` (a renderer walking
    every frame keeps no more than ``CHUNK`` frames of the disk-backed landmarks resident)."""
    faces = FaceFrames(analysis, edit)

    def face(index: int) -> FaceFrame | None:
        if index % CHUNK == 0:
            release(analysis.track.landmarks)
        return faces(index)

    return ClipFaces(analysis.info, analysis.track, face)


def render_frame(
    frame: np.ndarray,
    index: int,
    analysis: VideoAnalysis,
    edit: ExpressionEdit,
    timer: _Timer | None = None,
    render: RenderOptions | None = None,
    detail: ExpressionDetail | None = None,
    renderer: Renderer | None = None,
    faces: FaceFrames | None = None,
) -> np.ndarray:
    """Apply the edit to one decoded yuv420p frame (returned unchanged if nothing to do).

    Args:
        frame: ``(H * 3 // 2, W) uint8`` the decoded frame (not modified).
        index: Its index in the analysed clip.
        analysis: The analysed clip.
        edit: The planned edit.
        timer: Collects the time spent per stage.
        render: What the warp renderer adds to the warp (all of it by default).
        detail: Expression detail for the warp renderer (the packaged one by default).
        renderer: The renderer (by default the warp renderer of ``render`` and ``detail``).
        faces: The ``FaceFrames`` of ``analysis`` and ``edit`` (faster for consecutive frames).
    """
    face = faces(index) if faces is not None else face_frame(analysis, edit, index)
    if face is None:
        return frame
    renderer = renderer or WarpRenderer.from_options(render, detail)
    rendered = renderer.render(frame, face, timer.lap if timer is not None else None)
    if rendered is None:
        return frame
    return composite_yuv420(frame, rendered.field, rendered.planes)


def edit_video(
    input_path: str | os.PathLike[str],
    output_path: str | os.PathLike[str],
    target: Direction,
    options: EditOptions | None = None,
    progress: ProgressCallback | None = None,
    analysis: VideoAnalysis | None = None,
    frame_range: tuple[int, int] | None = None,
) -> EditResult:
    """Change the emotion of the face in a video and write the result.

    Args:
        input_path: The video to edit (never modified).
        output_path: Where to write the edited video (``.mp4``, ``.mov``, ``.mkv``).
        target: What the face should show: a label, a reference, action units or a
            timeline (see ``plan_edit``).
        options: Tracking, editing and encoding options.
        progress: ``progress(stage, done, total)`` after every frame of each pass.
        analysis: A previous ``analyze_video`` of the same input, to skip tracking.
        frame_range: ``(start, stop)``: write only frames ``start <= index < stop`` (decode
            order; the encoder starts them with a keyframe) and no audio: one piece of a long
            video rendered on several workers, joined by ``emodirector.batch.join_ranges``.

    Returns:
        The EditResult.

    Raises:
        InputNotFoundError, UnsupportedVideoError, OutputError, InvalidOptionError.
    """
    options = options or EditOptions()
    src = check_input_path(input_path)
    out = check_output_path(output_path, src, options.overwrite)
    # the data files are read first: a bad one fails before the long passes
    prototypes, action_units = options.load_prototypes(), options.load_action_units()
    renderer = options.make_renderer()
    start = time.perf_counter()
    timer = _Timer()
    if analysis is not None and analysis.info.path.resolve() != src.resolve():
        raise InvalidOptionError(f"the analysis given is of {analysis.info.path}, not of {src}")
    info = analysis.info if analysis is not None else probe(src)
    frames = 0
    first, stop = frame_range if frame_range is not None else (0, None)
    from emodirector.provenance.stamp import Stamp, editor_name, face_region

    # the signing key is read here, before the long passes; a piece of a video (frame range) is
    # signed once joined (provenance.stamp.sign_video)
    stamp = Stamp(options.provenance, src, out, target, editor_name(options.editor),
                  sign=frame_range is None)  # fmt: skip
    # The writer is opened first, so that an output that cannot be written fails before the
    # (long) tracking pass; on any error it removes its temporary file.
    with VideoWriter(
        out, info, options.encode, copy_audio=frame_range is None, finalize=stamp.finalize
    ) as writer:
        if analysis is None:
            with FaceTracker(options.tracker) as tracker:
                tracks = tracker.track_all(info, progress, renderer.frame_observer(info))
            timer.lap("track")
            analysis = VideoAnalysis.from_tracks(info, tracks)
            timer.lap("fit")
        edit = plan_edit(analysis, target, options.editor, prototypes, action_units)
        others = [
            (a, plan_edit(a, target, options.editor, prototypes, action_units))
            for a in analysis.others
        ]
        faces = [FaceFrames(a, e) for a, e in ((analysis, edit), *others)]
        # the mark is lowered over the face (where a lip reader should see little of it)
        stamp.calm(face_region([(a.track.landmarks, a.track.present)
                                for a in (analysis, *analysis.others)]))  # fmt: skip
        timer.lap("manipulate")
        renderer.prepare([clip_faces(a, e) for a, e in ((analysis, edit), *others)])
        # what these read of the landmarks (every tenth frame: read-ahead maps all) is dropped
        for a in (analysis, *analysis.others):
            release(a.track.landmarks)
        timer.lap("prepare")
        for frame in prefetch(iter_frames(info, "yuv420p")):
            timer.lap("decode")
            # the decoded first frame fixes the mark's mask: a piece of the video rendered apart
            # (frame_range) then carries exactly the mark of a whole edit
            stamp.prepare(frame.image)
            if frame.index < first:
                continue
            if stop is not None and frame.index >= stop:
                break
            image = frame.image
            for (a, e), face_frames in zip(((analysis, edit), *others), faces, strict=True):
                image = render_frame(
                    image, frame.index, a, e, timer, renderer=renderer, faces=face_frames
                )
            timer.lap("blend")
            image = stamp.mark(image)
            timer.lap("watermark")
            writer.write(image, frame.pts)
            timer.lap("encode")
            frames += 1
            if frames % CHUNK == 0:
                for a in (analysis, *analysis.others):
                    release(a.track.landmarks, a.fit.canonical)
            if progress is not None:
                total = analysis.track.n_frames if stop is None else stop - first
                progress("render", frames, total)
        if frames == 0:
            raise UnsupportedVideoError(f"{src}: no frame could be decoded")
        timer.lap("encode")
    return EditResult(
        output=out,
        frames=frames,
        frames_with_face=int(analysis.track.present.sum()),
        seconds=timer.seconds,
        total_seconds=time.perf_counter() - start,
        faces=1 + len(analysis.others) if analysis.track.present.any() else 0,
        frames_small_face=analysis.track.small_frames,
        edit_id=stamp.edit_id,
        signed=stamp.signs,
        notes=renderer.notes(),
    )


__all__ = [
    "EditOptions",
    "EditResult",
    "FaceFrames",
    "RenderOptions",
    "VideoAnalysis",
    "analyze_video",
    "edit_video",
    "edited_landmarks",
    "face_frame",
    "plan_edit",
    "render_frame",
]
