"""The end-to-end edit: decode, track, fit, manipulate, render, blend, encode.

Two streaming passes over the video: the first tracks the face (the whole track must be known to
fit a neutral face and to smooth without lag), the second decodes again, renders the edit into
each frame and encodes it while the original audio packets are copied across. Rendering a frame
is the mesh warp to the edited landmarks, then the eyes redrawn (rigid eyeball, moving lids),
then the expression detail of the frame's edit weights multiplied onto the luminance, then the
blend into the frame (``RenderOptions`` turns the two additions off).
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
from emodirector.manipulate.editor import EditorOptions, ExpressionEdit, ExpressionEditor
from emodirector.manipulate.pose import pitch_weight
from emodirector.manipulate.prototypes import EmotionPrototypes
from emodirector.render.detail import ExpressionDetail, apply_detail, mix_detail
from emodirector.render.eyes import composite_eyes
from emodirector.render.texture import default_layout
from emodirector.render.warp import warp_field, warp_yuv420
from emodirector.track.tracker import FaceTrack, FaceTracker, ProgressCallback, TrackerOptions
from emodirector.video.prefetch import prefetch
from emodirector.video.reader import VideoInfo, check_input_path, iter_frames, probe
from emodirector.video.writer import EncodeOptions, VideoWriter, check_output_path

#: Below this largest landmark displacement (pixels) a frame is passed through unwarped.
_MIN_VISIBLE_PX = 0.05


@dataclass(frozen=True)
class RenderOptions:
    """What the renderer adds to the mesh warp.

    Attributes:
        detail: Apply the expression detail (ratio images: wrinkles and folds) of the edit.
        eyes: Re-composite the eyes so that the iris stays rigid and round, the sclera a widened
            lid shows is synthesised from the actor's own eye, and a narrowed lid covers the eye.
        detail_gain: Scale of the expression detail relative to the edit's weights.
    """

    detail: bool = True
    eyes: bool = True
    detail_gain: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.detail_gain <= 3.0:
            raise InvalidOptionError("detail_gain must be within 0..3")


@dataclass(frozen=True)
class EditOptions:
    """Everything that tunes an edit besides the target.

    Attributes:
        tracker: Face tracking.
        editor: The prototype editor.
        render: What the renderer adds to the warp.
        encode: The video encoder.
        overwrite: Replace an existing output file.
    """

    tracker: TrackerOptions = field(default_factory=TrackerOptions)
    editor: EditorOptions = field(default_factory=EditorOptions)
    render: RenderOptions = field(default_factory=RenderOptions)
    encode: EncodeOptions = field(default_factory=EncodeOptions)
    overwrite: bool = False


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
    """

    output: Path
    frames: int
    frames_with_face: int
    seconds: dict[str, float]
    total_seconds: float
    faces: int = 1
    frames_small_face: int = 0

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
    options: EditorOptions | None = None,
    prototypes: EmotionPrototypes | None = None,
    action_units: ActionUnits | None = None,
) -> ExpressionEdit:
    """The per-frame edit of an analysed clip towards ``target``.

    Args:
        analysis: The analysed clip.
        target: A label (``EmotionTarget``), a reference (``ReferenceTarget``), action units
            (``ActionUnitTarget``) or a ``Timeline``.
        options: Editor tuning.
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
    editor = ExpressionEditor(goal.basis, options or EditorOptions())
    return editor.edit_goal(analysis.fit, goal, float(analysis.info.fps))


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


def render_frame(
    frame: np.ndarray,
    index: int,
    analysis: VideoAnalysis,
    edit: ExpressionEdit,
    timer: _Timer | None = None,
    render: RenderOptions | None = None,
    detail: ExpressionDetail | None = None,
) -> np.ndarray:
    """Apply the edit to one decoded yuv420p frame (returned unchanged if nothing to do).

    Args:
        frame: ``(H * 3 // 2, W) uint8`` the decoded frame (not modified).
        index: Its index in the analysed clip.
        analysis: The analysed clip.
        edit: The planned edit.
        timer: Collects the time spent per stage.
        render: What to add to the warp (all of it by default).
        detail: Expression detail (the packaged one by default).
    """
    render = render or RenderOptions()
    dst = edited_landmarks(analysis, edit, index)
    if dst is None:
        return frame
    src = analysis.track.landmarks[index]
    if float(np.abs(dst[:, :2] - src[:, :2]).max()) < _MIN_VISIBLE_PX:
        return frame
    weights = edit.weights[index] * edit.gain[index] * render.detail_gain
    weights *= pitch_weight(analysis.fit.rotation[index : index + 1])[0]
    with_detail = render.detail and bool(np.any(weights))
    layout = default_layout() if with_detail else None
    # the frame's own size: an odd-sized video is decoded padded to even (VideoInfo.padded_size)
    field_ = warp_field(
        src,
        dst,
        (frame.shape[1], frame.shape[0] * 2 // 3),
        texture_vertices=layout.vertices if layout is not None else None,
    )
    if field_ is None:
        return frame
    y, u, v = warp_yuv420(frame, field_)
    if timer is not None:
        timer.lap("render")
    if render.eyes:
        y, u, v = composite_eyes(frame, field_, (y, u, v), src, dst)
        if timer is not None:
            timer.lap("eyes")
    if with_detail:
        maps = (detail or ExpressionDetail.load_default()).for_modes(edit.basis.names)
        y = apply_detail(y, field_, mix_detail(maps, weights))
        if timer is not None:
            timer.lap("detail")
    return composite_yuv420(frame, field_, (y, u, v))


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
    start = time.perf_counter()
    timer = _Timer()
    if analysis is not None and analysis.info.path.resolve() != src.resolve():
        raise InvalidOptionError(f"the analysis given is of {analysis.info.path}, not of {src}")
    info = analysis.info if analysis is not None else probe(src)
    frames = 0
    first, stop = frame_range if frame_range is not None else (0, None)
    # The writer is opened first, so that an output that cannot be written fails before the
    # (long) tracking pass; on any error it removes its temporary file.
    with VideoWriter(out, info, options.encode, copy_audio=frame_range is None) as writer:
        if analysis is None:
            with FaceTracker(options.tracker) as tracker:
                tracks = tracker.track_all(info, progress)
            timer.lap("track")
            analysis = VideoAnalysis.from_tracks(info, tracks)
            timer.lap("fit")
        edit = plan_edit(analysis, target, options.editor)
        others = [(a, plan_edit(a, target, options.editor)) for a in analysis.others]
        detail = ExpressionDetail.load_default() if options.render.detail else None
        timer.lap("manipulate")
        for frame in prefetch(iter_frames(info, "yuv420p")):
            timer.lap("decode")
            if frame.index < first:
                continue
            if stop is not None and frame.index >= stop:
                break
            image = render_frame(
                frame.image, frame.index, analysis, edit, timer, options.render, detail
            )
            for other, other_edit in others:
                image = render_frame(
                    image, frame.index, other, other_edit, timer, options.render, detail
                )
            timer.lap("blend")
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
    )


__all__ = [
    "EditOptions",
    "EditResult",
    "RenderOptions",
    "VideoAnalysis",
    "analyze_video",
    "edit_video",
    "edited_landmarks",
    "plan_edit",
    "render_frame",
]
