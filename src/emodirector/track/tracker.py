"""Face tracking with MediaPipe's 478-point face mesh (refined landmarks, irises included).

The mesh model ships inside the ``mediapipe`` wheel (versions 0.10.14 and 0.10.21), so tracking
works offline. MediaPipe runs in video mode: it detects a face once and then follows it from the
previous frame's landmarks, which is both faster and steadier than detecting every frame.

MediaPipe's mesh model looks at a 192-pixel crop of the face, so the tracker feeds it only a crop
around the followed face (two face sizes wide, converted to RGB from the decoded yuv420p frame
and scaled as the whole frame would be for ``max_side``): the crop stays where it is while the
face moves inside it, so MediaPipe follows the face exactly as it would on the whole frame. The
whole frame is converted and searched only to find a face (at the start, after it is lost).
"""

from __future__ import annotations

import importlib
import sys
import threading
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import cv2
import numpy as np

from emodirector.closing import Closing
from emodirector.errors import InvalidOptionError
from emodirector.face_model import N_LANDMARKS, STABLE
from emodirector.framearrays import FrameSpool, return_free_heap
from emodirector.track.smoothing import smooth_landmarks
from emodirector.video.prefetch import prefetch
from emodirector.video.reader import VideoInfo, iter_frames
from emodirector.video.rotation import from_upright, upright

ProgressCallback = Callable[[str, int, int], None]
"""``progress(stage, frames_done, frames_total)``; ``frames_total`` is 0 when unknown."""

FrameObserver = Callable[[int, np.ndarray, list[np.ndarray]], None]
"""``observer(index, rgb, faces)``, shown each frame of the tracking pass: its index, the
``(H, W, 3) uint8`` RGB image as tracked (upright, scaled as the whole frame is for ``max_side``;
the crop around the followed face, or the whole frame where a face is searched), and the faces
found on it (at least ``min_face_size``) as ``(478, 3)`` landmark pixels of that image."""


@runtime_checkable
class ForkingObserver(Protocol):
    """A ``FrameObserver`` that can watch two parts of a clip tracked at the same time: ``fork``
    gives a fresh observer for the later part, ``join`` (called once, after both parts, on the
    observer of the earlier one) takes in what that one saw. Tracking splits a clip only when
    its observer (if any) can fork."""

    def __call__(self, index: int, rgb: np.ndarray, faces: list[np.ndarray]) -> None: ...

    def fork(self) -> ForkingObserver: ...

    def join(self, later: ForkingObserver) -> None: ...


FaceSelection = str | int
"""Which face to edit: ``"largest"``, ``"all"``, or ``N >= 1``, the N-th face from the left."""

#: Side of the grey thumbnail compared between consecutive frames to find scene cuts.
_THUMB_SIDE = 32
#: The crop MediaPipe tracks in: this many times the face box's longer side, square.
_CROP_FACES = 2.0
#: ... re-placed (centred on the face, MediaPipe restarted on it) when the face box comes
#: closer than this fraction of the crop's side to its edge, or its longer side leaves
#: ``_CROP_FACE_RANGE`` of the crop's side.
_CROP_MARGIN = 0.06
_CROP_FACE_RANGE = (0.3, 0.62)
#: A crop this large a fraction of the frame is not worth it: the whole frame is tracked.
_CROP_MAX_AREA = 0.5
#: Mean absolute change of the thumbnail (fraction of full scale) that is a scene cut by itself.
#: Ordinary motion in the shared talking clips stays below 0.06; a hard cut is typically > 0.3.
_CUT_PICTURE = 0.15
#: A smaller picture change counts as a cut when the face's shape jumps at the same frame ...
_CUT_PICTURE_WITH_SHAPE = 0.06
#: ... by this much: Procrustes residual (1 - sum of singular values) between the unit-norm,
#: centred stable points of consecutive frames. The same face moves it by < 0.001 from frame to
#: frame; a cut to another person at the same place moves it by ~0.01.
_CUT_SHAPE = 0.005
#: A clip of at least this many frames (its count known from the container) is tracked in two
#: halves at once (``TrackerOptions.parallel``); shorter ones gain too little for a second graph.
PARALLEL_MIN_FRAMES = 200
#: ... if its frames have at most this many pixels (H.264; half as many for other codecs): the
#: later half decodes the frames before it too (without converting them), which costs more than
#: the second graph saves where decoding is slow: a 200-frame 2160p edit tracked 27 -> 45 s
#: (peak RSS 1401 -> 1509 MiB, at load 12), the 1080x1920 HEVC clip (8.5 ms a frame to decode,
#: H.264 at 1920x1080 5.1 ms) 20.2 -> 22.5 ms a frame.
PARALLEL_MAX_PIXELS = 1920 * 1088
#: Codecs that decode fast enough for ``PARALLEL_MAX_PIXELS`` itself.
_FAST_DECODERS = ("h264",)
#: The later half starts tracking this many frames early and drops them: MediaPipe's first
#: landmarks on a newly found face are off by up to ~11 px and settle within about 4 frames.
_SPLIT_WARM_UP = 10
#: The halves' faces at the frame before the split overlap by at least this much: one segment.
_SEAM_IOU = 0.5
#: A face overlapping the last box by more than this continues a track (``_choose``).
_FOLLOW_IOU = 0.3


@dataclass(frozen=True)
class TrackerOptions:
    """How faces are found and followed.

    Attributes:
        max_faces: Faces MediaPipe looks for per frame; the followed one is chosen among them.
        min_detection_confidence: Detector threshold for a new face.
        min_tracking_confidence: Below this MediaPipe re-detects instead of tracking.
        max_side: Frames are scaled so their longer side is at most this many pixels before
            tracking (the mesh model sees a 192-pixel crop, so more resolution buys nothing).
        min_face_size: Faces smaller than this (box height in pixels of the full frame) are
            treated as absent: too small to track or to edit reliably.
        smoothing: Strength of the temporal smoothing (0 disables it); see ``smooth_landmarks``.
        parallel: Track a clip of at least ``PARALLEL_MIN_FRAMES`` frames of at most
            ``PARALLEL_MAX_PIXELS`` pixels (H.264; half as many for other codecs), with the
            face followed one at a time (not ``"all"``), in two halves at once, each on its
            own thread with its own MediaPipe graph (MediaPipe releases the GIL while it
            infers). The later half starts on a whole-frame search a few frames early; its
            landmarks match a single pass's to within MediaPipe's own frame-to-frame noise
            (where it took up another face than the first half left off with, it is tracked
            again on from the first half).
        face: Which face is followed: ``"largest"`` (the largest face when one is first found,
            then followed), ``N >= 1`` (the N-th face from the left, by box centre, among those
            found when one is first found, then followed), or ``"all"`` (every face, up to
            ``max_faces``, each its own track; see ``FaceTracker.track_all``).
    """

    max_faces: int = 4
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    max_side: int = 1280
    min_face_size: float = 40.0
    smoothing: float = 1.0
    face: FaceSelection = "largest"
    parallel: bool = True

    def __post_init__(self) -> None:
        if self.max_faces < 1:
            raise InvalidOptionError("max_faces must be at least 1")
        if isinstance(self.face, bool) or not (
            self.face in ("largest", "all") or (isinstance(self.face, int) and self.face >= 1)
        ):
            raise InvalidOptionError(
                f"face must be 'largest', 'all' or a number from 1, got {self.face!r}"
            )
        if isinstance(self.face, int) and self.face > self.max_faces:
            raise InvalidOptionError(
                f"face {self.face} cannot be found with max_faces={self.max_faces}"
            )
        for name in ("min_detection_confidence", "min_tracking_confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise InvalidOptionError(f"{name} must be within 0..1")
        if self.max_side < 64:
            raise InvalidOptionError("max_side must be at least 64")


@dataclass(frozen=True)
class FaceTrack:
    """One face followed through a video.

    Attributes:
        landmarks: ``(T, 478, 3) float32``, disk-backed: x, y in pixels of the coded
            (unrotated) frame, z in the same pixel units, growing away from the camera
            (MediaPipe's depth scaled by the frame width). NaN where the face is absent.
        present: ``(T,) bool``, the face was tracked on that frame.
        segment: ``(T,) int32``, id of the continuous stretch of the same face the frame belongs
            to (-1 where absent), numbered from 0. A new id starts when the face is lost and a
            face is found again somewhere else (possibly another person), and at a scene cut
            (the picture changes abruptly, or changes and the face's shape jumps), so that a cut
            to another person at the same place gets its own neutral face.
        times: ``(T,) float64`` presentation time of each frame in seconds.
        frame_size: ``(width, height)`` of the coded frames.
        small_frames: Frames on which faces were seen but all were smaller than
            ``TrackerOptions.min_face_size`` (they are left untouched).
    """

    landmarks: np.ndarray
    present: np.ndarray
    segment: np.ndarray
    times: np.ndarray
    frame_size: tuple[int, int]
    small_frames: int = 0

    def __post_init__(self) -> None:
        t = self.landmarks.shape[0]
        if self.landmarks.shape != (t, N_LANDMARKS, 3):
            raise ValueError(f"landmarks must be (T, 478, 3), got {self.landmarks.shape}")
        for name in ("present", "segment", "times"):
            if getattr(self, name).shape != (t,):
                raise ValueError(f"{name} must be ({t},), got {getattr(self, name).shape}")

    @property
    def n_frames(self) -> int:
        return int(self.landmarks.shape[0])


def _box(points: np.ndarray) -> np.ndarray:
    """``(x0, y0, x1, y1)`` of ``(N, 2+)`` points."""
    return np.concatenate([points[:, :2].min(axis=0), points[:, :2].max(axis=0)])


def box_iou(a: np.ndarray, b: np.ndarray) -> float:
    """Intersection over union of two ``(x0, y0, x1, y1)`` boxes.

    >>> box_iou(np.array([0, 0, 2, 2]), np.array([1, 0, 3, 2]))
    0.3333333333333333
    """
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


@dataclass
class FaceTracker(Closing):
    """Follows the largest face through a video (or an image) with MediaPipe's face mesh.

    Use as a context manager; MediaPipe's graph is created on entry and closed on exit.
    """

    options: TrackerOptions = field(default_factory=TrackerOptions)

    def __post_init__(self) -> None:
        self._mesh: object | None = None

    def close(self) -> None:
        if self._mesh is not None:
            self._mesh.close()  # type: ignore[attr-defined]
            self._mesh = None
            # at 2160p the closed graph leaves ~180 MB of free heap the encoding pass would carry
            return_free_heap()

    def _new_mesh(self, static: bool) -> object:
        face_mesh = import_face_mesh()  # heavy import, only when used
        o = self.options
        return face_mesh.FaceMesh(
            static_image_mode=static,
            max_num_faces=o.max_faces,
            refine_landmarks=True,
            min_detection_confidence=o.min_detection_confidence,
            min_tracking_confidence=o.min_tracking_confidence,
        )

    def _face_mesh(self, static: bool) -> object:
        self.close()
        self._mesh = self._new_mesh(static)
        return self._mesh

    @staticmethod
    def _faces(mesh: object, rgb: np.ndarray) -> list[np.ndarray]:
        """All faces MediaPipe finds in ``rgb``, as ``(478, 3)`` pixel arrays of that image."""
        result = mesh.process(rgb)  # type: ignore[attr-defined]
        if not result.multi_face_landmarks:
            return []
        h, w = rgb.shape[:2]
        scale = np.array([w, h, w], dtype=np.float32)
        return [landmark_array(lm) * scale for lm in result.multi_face_landmarks]

    def detect_image(self, rgb: np.ndarray) -> list[np.ndarray]:
        """Every face in a still ``(H, W, 3) uint8`` RGB image, largest first.

        Returns:
            A list of ``(478, 3) float32`` landmark arrays in pixels of ``rgb``; empty if none.
        """
        faces = self._faces(self._face_mesh(static=True), np.ascontiguousarray(rgb))
        return sorted(faces, key=lambda f: -float(np.ptp(f[:, 1])))

    def track_video(self, info: VideoInfo, progress: ProgressCallback | None = None) -> FaceTrack:
        """Track the selected face (``options.face``) through ``info``'s video.

        With ``face="all"`` this is the first (most present) of ``track_all``'s tracks.

        Args:
            info: The probed input.
            progress: Called after each frame.

        Returns:
            The FaceTrack; frames without a face have ``present == False``.
        """
        return self.track_all(info, progress)[0]

    def track_all(
        self,
        info: VideoInfo,
        progress: ProgressCallback | None = None,
        observer: FrameObserver | None = None,
    ) -> tuple[FaceTrack, ...]:
        """Track faces through ``info``'s video: the selected one, or every one for ``"all"``.

        With ``face="all"``, faces are matched from frame to frame by box overlap; each of up
        to ``max_faces`` tracks holds one face at a time (a face that appears while a track is
        free takes it, as a new segment). Tracks are returned most present first; a video
        without any face gives one track with no frame present.

        Args:
            info: The probed input.
            progress: Called after each frame.
            observer: Shown each frame and the faces found on it (e.g. to collect what a
                renderer needs from the whole clip without decoding it again).

        Returns:
            One FaceTrack per followed face (one unless ``face="all"``).
        """
        o = self.options
        n_slots = o.max_faces if o.face == "all" else 1
        split = self._split_at(info, n_slots, observer)
        if split is None:
            done = _Done(progress, info.frame_count)
            part = self._track_part(
                info, self._face_mesh(static=False), _Part(0, None, 0), observer, done
            )
        else:
            part = self._track_split(info, split, observer, progress)
        slots, times, small_frames = part.slots, part.times, part.small_frames
        tracks = [
            slot.finish(np.asarray(times, np.float64), (info.width, info.height), o.smoothing)
            for slot in slots
        ]
        order = sorted(range(len(tracks)), key=lambda k: -int(tracks[k].present.sum()))
        kept = [tracks[k] for k in order if k == order[0] or tracks[k].present.any()]
        kept[0] = FaceTrack(
            landmarks=kept[0].landmarks,
            present=kept[0].present,
            segment=kept[0].segment,
            times=kept[0].times,
            frame_size=kept[0].frame_size,
            small_frames=small_frames,
        )
        return tuple(kept)

    def _split_at(
        self, info: VideoInfo, n_slots: int, observer: FrameObserver | None
    ) -> int | None:
        """The frame the clip is split at to be tracked in two parts at once, or None."""
        forks = observer is None or isinstance(observer, ForkingObserver)
        n = info.frame_count
        most = PARALLEL_MAX_PIXELS if info.codec in _FAST_DECODERS else PARALLEL_MAX_PIXELS // 2
        small = info.width * info.height <= most
        if not (self.options.parallel and n_slots == 1 and forks and small):
            return None
        return n // 2 if n >= PARALLEL_MIN_FRAMES else None

    def _track_split(
        self,
        info: VideoInfo,
        split: int,
        observer: FrameObserver | None,
        progress: ProgressCallback | None,
    ) -> _PartResult:
        """Track frames before ``split`` here and the rest on a second thread with a second
        MediaPipe graph (MediaPipe releases the GIL while it runs), and join the two."""
        later_observer = observer.fork() if isinstance(observer, ForkingObserver) else None
        done = _Done(progress, info.frame_count)
        stop = threading.Event()
        later: list[_PartResult | BaseException] = []

        def track_later() -> None:
            mesh = self._new_mesh(static=False)
            try:
                warm = max(0, split - _SPLIT_WARM_UP)
                part = _Part(split, None, warm)
                later.append(self._track_part(info, mesh, part, later_observer, done, stop))
            except BaseException as exc:  # handed to the caller
                later.append(exc)
            finally:
                mesh.close()  # type: ignore[attr-defined]

        thread = threading.Thread(target=track_later, name="emodirector-track", daemon=True)
        thread.start()
        try:
            first = self._track_part(
                info, self._face_mesh(static=False), _Part(0, split, 0), observer, done
            )
            while thread.is_alive():
                thread.join(timeout=0.1)
                done.report()
        finally:
            stop.set()
            thread.join()
        result = later[0]
        if isinstance(result, BaseException):
            raise result
        if not first.slots[0].follows_on(result.slots[0]):
            # the later half chose another face: it is tracked again, on from the first half
            # with its graph (progress stays where it is meanwhile)
            later_observer = observer.fork() if isinstance(observer, ForkingObserver) else None
            result = self._track_part(
                info, self._mesh, _Part(split, None, split), later_observer, _Done(None, 0),
                resume=first,
            )  # fmt: skip
        if isinstance(observer, ForkingObserver):
            observer.join(later_observer)  # type: ignore[arg-type]
        return first.joined(result)

    def _track_part(
        self,
        info: VideoInfo,
        mesh: object,
        part: _Part,
        observer: FrameObserver | None,
        done: _Done,
        stop: threading.Event | None = None,
        resume: _PartResult | None = None,
    ) -> _PartResult:
        """Track the frames of ``part`` with ``mesh``; with ``resume`` (the part before, tracked
        with the same ``mesh``), go on exactly as one pass would have."""
        o = self.options
        scale = min(1.0, o.max_side / max(info.width, info.height))
        n_slots = o.max_faces if o.face == "all" else 1
        slots = [_Slot() for _ in range(n_slots)]
        view = _View(info, scale, whole=o.face == "all")
        last_thumb: np.ndarray | None = None
        if resume is not None:
            slots = [s.seeded() for s in resume.slots]
            view, last_thumb = resume.view, resume.last_thumb
        times: list[float] = []
        small_frames = 0
        warming = part.warm < part.start
        for frame in prefetch(iter_frames(info, "yuv420p", start=part.warm)):
            if part.stop is not None and frame.index >= part.stop:
                break
            if stop is not None and stop.is_set():
                break
            kept = frame.index >= part.start
            if kept and warming:
                # the warm-up frames settled MediaPipe on the face; from here the part is kept
                warming, small_frames = False, 0
                for slot in slots:
                    slot.drop_frames()
            thumb = _thumbnail(frame.image, info.height)
            change = 0.0 if last_thumb is None else float(np.abs(thumb - last_thumb).mean())
            last_thumb = thumb
            if view.crop is not None:
                rgb = view.image(frame.image)
                seen = self._faces(mesh, rgb)
                if not seen and not view.whole:
                    view.crop = None  # lost: search the whole frame, MediaPipe restarts
            if view.crop is None:
                # the one video graph searches the whole frame too: it detects on every frame
                # until it finds a face (a second, still-image graph cost ~0.8 s to build)
                rgb = view.image(frame.image)
                seen = self._faces(mesh, rgb)
            found = [view.to_coded(f) for f in seen]
            faces = [f for f in found if np.ptp(f[:, 1]) >= o.min_face_size]
            if observer is not None and kept:
                pairs = zip(seen, found, strict=True)
                big = [s for s, f in pairs if np.ptp(f[:, 1]) >= o.min_face_size]
                observer(frame.index, rgb, big)
            small_frames += bool(found) and not faces
            if n_slots == 1:
                chosen, continued = self._choose(faces, slots[0].last_box, o.face)
                slots[0].add(chosen, continued, change)
                searched = view.crop is None
                if view.follow(chosen) or (searched and view.crop is not None and seen):
                    # MediaPipe follows a face from where it was on the previous image: a crop
                    # placed anew (or the first crop after a whole-frame search that found a
                    # face) starts it again
                    mesh.process(_blank(view.shape))  # type: ignore[attr-defined]
            else:
                _assign(slots, faces, change)
            if kept:
                times.append(frame.time)
                done.add(1)
        if warming:  # the clip ended within the warm-up
            small_frames = 0
            for slot in slots:
                slot.drop_frames()
        return _PartResult(slots, times, small_frames, view, last_thumb)

    @staticmethod
    def _choose(
        faces: list[np.ndarray], last_box: np.ndarray | None, selection: FaceSelection = "largest"
    ) -> tuple[np.ndarray | None, bool]:
        """The face that continues the track, else the selected one; and whether it continues.

        ``selection`` is ``"largest"`` or ``N``: the N-th face from the left (by box centre).
        """
        if not faces:
            return None, False
        if last_box is not None:
            ious = [box_iou(_box(f), last_box) for f in faces]
            best = int(np.argmax(ious))
            if ious[best] > _FOLLOW_IOU:
                return faces[best], True
        if isinstance(selection, int):
            by_x = sorted(faces, key=lambda f: float(_box(f)[[0, 2]].mean()))
            return (by_x[selection - 1], False) if len(by_x) >= selection else (None, False)
        areas = [float(np.prod(np.ptp(f[:, :2], axis=0))) for f in faces]
        return faces[int(np.argmax(areas))], False


#: One landmark of a serialised landmark list: field 1 (a 15-byte message) holding x, y, z as
#: fields 1-3 (32-bit floats); the bytes of the three tags and the length, at their offsets.
_LANDMARK_BYTES = 17
_LANDMARK_TAGS = np.array([0x0A, 0x0F, 0x0D, 0x15, 0x1D], np.uint8)
_LANDMARK_TAG_AT = np.array([0, 1, 2, 7, 12])


def landmark_array(landmarks: object) -> np.ndarray:
    """``(N, 3) float32`` x, y, z of MediaPipe's ``NormalizedLandmarkList``.

    Read from its serialised bytes where every landmark has exactly x, y and z (it does, but
    for a coordinate of exactly 0, which protobuf leaves out): the values are the same, at a
    twentieth of the cost of reading them point by point while holding Python's lock.
    """
    raw = np.frombuffer(landmarks.SerializeToString(), np.uint8)  # type: ignore[attr-defined]
    n = len(landmarks.landmark)  # type: ignore[attr-defined]
    if raw.size == n * _LANDMARK_BYTES:
        rows = raw.reshape(n, _LANDMARK_BYTES)
        if (rows[:, _LANDMARK_TAG_AT] == _LANDMARK_TAGS).all():
            cols = np.concatenate([rows[:, 3:7], rows[:, 8:12], rows[:, 13:17]], axis=1)
            return cols.copy().view("<f4").astype(np.float32)
    return np.array(
        [(p.x, p.y, p.z) for p in landmarks.landmark],  # type: ignore[attr-defined]
        dtype=np.float32,
    )


def _thumbnail(yuv: np.ndarray, height: int) -> np.ndarray:
    """``(32, 32) float32`` grey thumbnail of a yuv420p frame (its luma), values about 0..1."""
    luma = yuv[:height]
    step = max(1, min(luma.shape) // (4 * _THUMB_SIDE))
    side = (_THUMB_SIDE, _THUMB_SIDE)
    small = cv2.resize(luma[::step, ::step], side, interpolation=cv2.INTER_AREA)
    return (small.astype(np.float32) - 16.0) / 219.0


#: What MediaPipe's package imports only for drawing helpers (``solutions.drawing_utils``
#: imports pyplot at module level): about half of MediaPipe's import time.
_PLOTTING = ("matplotlib", "matplotlib.pyplot")
_IMPORT_LOCK = threading.Lock()


class _ImportedOnUse(types.ModuleType):
    """Stands in for a plotting module while MediaPipe is imported without it: what keeps a
    reference to it (MediaPipe's drawing helpers) gets the real module on first use (dunder
    names, which tools probe, do not import it)."""

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        for plotting in _PLOTTING:
            if isinstance(sys.modules.get(plotting), _ImportedOnUse):
                del sys.modules[plotting]
        return getattr(importlib.import_module(self.__name__), name)


def import_face_mesh() -> types.ModuleType:
    """MediaPipe's face mesh solution module.

    MediaPipe's package imports matplotlib's pyplot for drawing helpers this project never
    calls; that alone is about 1.1 s of the ~2.3 s import (``python -X importtime``). Unless
    the process has imported matplotlib already, it is kept out: stand-ins fill its
    ``sys.modules`` entries for the duration of the import, and are removed after it (a later
    ``import matplotlib`` imports the real one, and so does MediaPipe's drawing on first use).
    """
    if "mediapipe.python.solutions.face_mesh" in sys.modules:
        return sys.modules["mediapipe.python.solutions.face_mesh"]
    with _IMPORT_LOCK:
        stand_ins = {n: _ImportedOnUse(n) for n in _PLOTTING if n not in sys.modules}
        if len(stand_ins) == len(_PLOTTING):
            stand_ins["matplotlib"].pyplot = stand_ins["matplotlib.pyplot"]  # type: ignore[attr-defined]
        else:
            stand_ins = {}
        sys.modules.update(stand_ins)
        try:
            from mediapipe.python.solutions import face_mesh
        finally:
            for name, module in stand_ins.items():
                if sys.modules.get(name) is module:
                    del sys.modules[name]
    return face_mesh


def shrink(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``image`` scaled down to ``size`` (width, height): by the largest whole factor with
    area averaging, the rest bilinearly. A single area-averaging resize by a fraction such as
    2/3 costs ~8 ms per 920-pixel crop, seven times the bilinear one."""
    h, w = image.shape[:2]
    k = min(w // size[0], h // size[1])
    if k >= 2:
        image = cv2.resize(image, (w // k, h // k), interpolation=cv2.INTER_AREA)
    if image.shape[1::-1] == size:
        return image
    return cv2.resize(image, size, interpolation=cv2.INTER_LINEAR)


def _blank(shape: tuple[int, ...]) -> np.ndarray:
    """A black image: shown to MediaPipe's video graph, it drops the face it followed."""
    return np.zeros(shape, np.uint8)


def _yuv_to_rgb(
    yuv: np.ndarray,
    height: int,
    box: tuple[int, int, int, int],
    size: tuple[int, int] | None = None,
) -> np.ndarray:
    """``(h, w, 3) uint8`` RGB of the even-aligned region ``box`` of a yuv420p frame, scaled
    down to ``size`` (even width and height) if given: each plane is scaled before the
    conversion, which then converts only the smaller image."""
    x0, y0, x1, y1 = box
    width = yuv.shape[1]
    chroma = yuv[height:].reshape(2, height // 2, width // 2)
    hy, hx = slice(y0 // 2, y1 // 2), slice(x0 // 2, x1 // 2)
    planes = [yuv[y0:y1, x0:x1], chroma[0, hy, hx], chroma[1, hy, hx]]
    w, h = x1 - x0, y1 - y0
    if size is not None and size != (w, h):
        w, h = size
        planes = [shrink(planes[0], size)] + [shrink(c, (w // 2, h // 2)) for c in planes[1:]]
    i420 = np.concatenate([p.reshape(-1) for p in planes]).reshape(h * 3 // 2, w)
    return cv2.cvtColor(i420, cv2.COLOR_YUV2RGB_I420)


class _View:
    """What MediaPipe is shown of each frame: a crop around the followed face or the whole frame.

    Both are converted from the decoded yuv420p frame, scaled by ``scale`` (as for ``max_side``)
    and turned upright. ``crop`` is the region ``(x0, y0, x1, y1)`` of the coded frame (even
    bounds), None to search the whole frame; with ``whole`` the whole frame is always tracked.
    """

    def __init__(self, info: VideoInfo, scale: float, whole: bool) -> None:
        self.info = info
        self.scale = scale
        self.frame_box = (0, 0, info.width - info.width % 2, info.height - info.height % 2)
        self.whole = whole
        self.crop: tuple[int, int, int, int] | None = self.frame_box if whole else None
        self.shape: tuple[int, ...] = (2, 2, 3)
        self._origin = np.zeros(3, np.float32)
        self._to_coded = np.ones(3, np.float32)
        self._size = (2, 2)

    def image(self, yuv: np.ndarray) -> np.ndarray:
        """The ``(h, w, 3) uint8`` upright RGB MediaPipe is shown of this frame."""
        info = self.info
        box = self.crop if self.crop is not None else self.frame_box
        if box == self.frame_box and info.width % 2 + info.height % 2:
            rgb = cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)[: info.height, : info.width]
            box = (0, 0, info.width, info.height)
            x0, y0, x1, y1 = box
            size = (max(2, round((x1 - x0) * self.scale)), max(2, round((y1 - y0) * self.scale)))
            if size != (x1 - x0, y1 - y0):
                rgb = shrink(rgb, size)
        else:
            x0, y0, x1, y1 = box
            # even, for the chroma planes' half size
            size = (2 * max(1, round((x1 - x0) * self.scale / 2)),
                    2 * max(1, round((y1 - y0) * self.scale / 2)))  # fmt: skip
            rgb = _yuv_to_rgb(yuv, yuv.shape[0] * 2 // 3, box, size)
        self._size = size
        self._origin = np.array([x0, y0, 0.0], np.float32)
        sx, sy = (x1 - x0) / size[0], (y1 - y0) / size[1]
        self._to_coded = np.array([sx, sy, sx], np.float32)
        rgb = upright(rgb, info.rotation)
        self.shape = rgb.shape
        return rgb

    def to_coded(self, face: np.ndarray) -> np.ndarray:
        """``(478, 3)`` landmark pixels of the last ``image`` mapped into the coded frame (depth
        is in pixels already; rotation keeps pixel size)."""
        xy = from_upright(face[:, :2], self.info.rotation, self._size)
        return np.concatenate([xy, face[:, 2:]], axis=1) * self._to_coded + self._origin

    def follow(self, face: np.ndarray | None) -> bool:
        """Keep the crop on ``face`` (coded landmark pixels; None: lost, search next frame).

        Returns:
            Whether the crop was re-placed over a face MediaPipe follows (it must restart).
        """
        if self.whole:
            return False
        if face is None:
            followed, self.crop = self.crop is not None, None
            return followed
        x0, y0, x1, y1 = _box(face)
        side = max(x1 - x0, y1 - y0)
        if self.crop is not None:
            cx0, cy0, cx1, cy1 = self.crop
            c_side = max(cx1 - cx0, cy1 - cy0)
            m = _CROP_MARGIN * c_side
            lo, hi = _CROP_FACE_RANGE
            inside = (
                x0 - cx0 >= m or cx0 == 0,
                y0 - cy0 >= m or cy0 == 0,
                cx1 - x1 >= m or cx1 == self.frame_box[2],
                cy1 - y1 >= m or cy1 == self.frame_box[3],
            )
            if all(inside) and lo * c_side <= side <= hi * c_side:
                return False
        previous = self.crop
        half = _CROP_FACES * side / 2
        fw, fh = self.frame_box[2], self.frame_box[3]
        cw, ch = min(fw, 2 * round(half)), min(fh, 2 * round(half))
        if cw * ch >= _CROP_MAX_AREA * fw * fh:
            cw, ch = fw, fh
        if previous is not None and all(inside) and (cw, ch) == (cx1 - cx0, cy1 - cy0):
            # the face is out of the size range but the crop cannot be any other size (a face
            # too large for the range, the crop held by the frame's edges): it stays, and
            # MediaPipe goes on following the face in it. Re-placed, MediaPipe was restarted
            # on every frame of MEAD's 256-pixel takes (a face 0.67 of the frame), which doubled
            # the brows' frame-to-frame jitter.
            return False
        centre = ((x0 + x1) / 2, (y0 + y1) / 2)
        nx0 = int(np.clip(round(centre[0] - cw / 2), 0, fw - cw)) // 2 * 2
        ny0 = int(np.clip(round(centre[1] - ch / 2), 0, fh - ch)) // 2 * 2
        self.crop = (nx0, ny0, nx0 + cw, ny0 + ch)
        return previous is not None


def _shape(landmarks: np.ndarray) -> np.ndarray:
    """The stable points of ``(478, 2+)`` landmarks, centred and scaled to unit norm."""
    pts = landmarks[np.asarray(STABLE), :2].astype(np.float64)
    pts -= pts.mean(axis=0)
    return pts / max(float(np.linalg.norm(pts)), 1e-9)


def shape_jump(a: np.ndarray, b: np.ndarray) -> float:
    """Procrustes residual between the stable-point shapes of two ``(478, 2+)`` landmark sets.

    0 for shapes equal up to translation, rotation and scale; grows with the difference.

    >>> pts = np.random.default_rng(0).normal(size=(478, 2))
    >>> round(shape_jump(pts, 2 * pts + 5), 9)
    0.0
    """
    sv = np.linalg.svd(_shape(a).T @ _shape(b), compute_uv=False)
    return float(max(0.0, 1.0 - sv.sum()))


def is_cut(picture_change: float, shape_change: float) -> bool:
    """Whether a frame starts a new shot for the face: see ``_CUT_PICTURE`` and ``_CUT_SHAPE``.

    >>> is_cut(0.3, 0.0), is_cut(0.07, 0.01), is_cut(0.07, 0.001), is_cut(0.01, 0.05)
    (True, True, False, False)
    """
    return picture_change >= _CUT_PICTURE or (
        picture_change >= _CUT_PICTURE_WITH_SHAPE and shape_change >= _CUT_SHAPE
    )


class _Slot:
    """One face being followed: its landmarks per frame, segments, last box and shape."""

    def __init__(self) -> None:
        self.landmarks = FrameSpool((N_LANDMARKS, 3))
        self.segment: list[int] = []
        self.last_box: np.ndarray | None = None
        self.last_face: np.ndarray | None = None
        self.seg_id = -1
        #: After ``drop_frames``: the segment and the last face box the dropped frames left.
        self.carried_seg = -1
        self.carried_box: np.ndarray | None = None
        #: The box of the first face added (since ``drop_frames``).
        self.first_box: np.ndarray | None = None

    @property
    def was_present(self) -> bool:
        return bool(self.segment) and self.segment[-1] >= 0

    def add(self, face: np.ndarray | None, continued: bool, picture_change: float) -> None:
        """Append one frame: ``face`` (or None), continuing the current segment or not."""
        if face is None:
            self.landmarks.append(np.full((N_LANDMARKS, 3), np.nan, np.float32))
            self.segment.append(-1)
            self.last_face = None
            return
        if continued and self.last_face is not None:
            continued = not is_cut(picture_change, shape_jump(self.last_face, face))
        elif continued:
            continued = picture_change < _CUT_PICTURE
        if not continued:
            self.seg_id += 1
        self.last_box = _box(face)
        self.last_face = face
        if self.first_box is None:
            self.first_box = self.last_box
        self.landmarks.append(face.astype(np.float32))
        self.segment.append(self.seg_id)

    def drop_frames(self) -> None:
        """Forget the frames added so far but not where the face was: the next frames go on
        from it as if they were the first."""
        self.carried_seg, self.carried_box = self.seg_id, self.last_box
        self.landmarks.close()
        self.landmarks = FrameSpool((N_LANDMARKS, 3))
        self.segment = []
        self.first_box = None

    def follows_on(self, later: _Slot) -> bool:
        """Whether ``later`` (see ``extend``) took up the face this slot left off with, where
        there is one: the face it was warmed up on, or else the first it found, is where this
        slot last saw its face. Where several faces are in view, the later half may have chosen
        another one (``TrackerOptions.face`` picks among the faces in view when it first finds
        one)."""
        theirs = later.carried_box if later.carried_box is not None else later.first_box
        if self.last_box is None or theirs is None:
            return True
        return box_iou(self.last_box, theirs) > _FOLLOW_IOU

    def seeded(self) -> _Slot:
        """A new slot that goes on from this one, as if it had been warmed up on its frames."""
        slot = _Slot()
        slot.last_box, slot.last_face, slot.seg_id = self.last_box, self.last_face, self.seg_id
        slot.carried_seg, slot.carried_box = self.seg_id, self.last_box
        return slot

    def extend(self, later: _Slot) -> None:
        """Append the frames of ``later``, a slot that followed the frames after this one's
        (warmed up on frames before them, then ``drop_frames``). Its first segment continues
        this slot's last one if it goes on from the segment of its warm-up and both slots
        last saw the face in the same place, as one pass would have continued it."""
        seg = np.asarray(later.segment, np.int32)
        ids = np.unique(seg[seg >= 0])
        continues = bool(
            len(ids) > 0
            and ids[0] == later.carried_seg
            and self.last_box is not None
            and later.carried_box is not None
            and box_iou(self.last_box, later.carried_box) >= _SEAM_IOU
        )
        new_ids = np.arange(len(ids)) + self.seg_id + 1 - int(continues)
        mapping = np.full(int(ids.max()) + 2 if len(ids) else 1, -1, np.int64)
        mapping[ids] = new_ids
        self.segment.extend(int(mapping[i]) if i >= 0 else -1 for i in seg)
        self.landmarks.extend(later.landmarks)
        if len(ids):
            self.seg_id = int(new_ids[-1])
        self.last_box, self.last_face = later.last_box, later.last_face

    def finish(self, times: np.ndarray, frame_size: tuple[int, int], smoothing: float) -> FaceTrack:
        seg = np.asarray(self.segment, np.int32)
        lm = smooth_landmarks(self.landmarks.finish(), seg, strength=smoothing)
        return FaceTrack(
            landmarks=lm, present=seg >= 0, segment=seg, times=times, frame_size=frame_size
        )


@dataclass(frozen=True)
class _Part:
    """Frames ``start <= index < stop`` (None: to the end) of a clip, tracked from ``warm``
    (the frames before ``start`` only settle MediaPipe)."""

    start: int
    stop: int | None
    warm: int


@dataclass
class _PartResult:
    """What one part's tracking collected, and where it left off (its view of the frame, the
    thumbnail of its last frame)."""

    slots: list[_Slot]
    times: list[float]
    small_frames: int
    view: _View
    last_thumb: np.ndarray | None

    def joined(self, later: _PartResult) -> _PartResult:
        """This part followed by ``later`` (one slot each)."""
        self.slots[0].extend(later.slots[0])
        return _PartResult(
            self.slots,
            self.times + later.times,
            self.small_frames + later.small_frames,
            later.view,
            later.last_thumb,
        )


class _Done:
    """Frames tracked so far by every part; reported to ``progress`` from the thread that
    created it only."""

    def __init__(self, progress: ProgressCallback | None, total: int) -> None:
        self._progress, self._total = progress, total
        self._count = 0
        self._lock = threading.Lock()
        self._owner = threading.get_ident()

    def add(self, n: int) -> None:
        with self._lock:
            self._count += n
        if threading.get_ident() == self._owner:
            self.report()

    def report(self) -> None:
        if self._progress is not None:
            self._progress("track", self._count, self._total)


def _assign(slots: list[_Slot], faces: list[np.ndarray], picture_change: float) -> None:
    """Give each slot one frame: faces matched to the slots' last boxes by overlap (greedy,
    best first); unmatched faces take free slots, largest first; extra faces are dropped."""
    boxes = [_box(f) for f in faces]
    pairs = sorted(
        (
            (box_iou(b, slot.last_box), i, k)
            for k, slot in enumerate(slots)
            if slot.last_box is not None
            for i, b in enumerate(boxes)
        ),
        reverse=True,
    )
    given: dict[int, tuple[np.ndarray, bool]] = {}
    used: set[int] = set()
    for iou, i, k in pairs:
        if iou <= 0.3 or i in used or k in given:
            continue
        given[k] = (faces[i], True)
        used.add(i)
    rest = sorted(
        (i for i in range(len(faces)) if i not in used),
        key=lambda i: -float(np.prod(np.ptp(faces[i][:, :2], axis=0))),
    )
    free = [k for k in range(len(slots)) if k not in given]
    for i, k in zip(rest, free, strict=False):
        given[k] = (faces[i], False)
    for k, slot in enumerate(slots):
        face, continued = given.get(k, (None, False))
        slot.add(face, continued, picture_change)
