"""Face tracking with MediaPipe's 478-point face mesh (refined landmarks, irises included).

The mesh model ships inside the ``mediapipe`` wheel (versions 0.10.14 and 0.10.21), so tracking
works offline. MediaPipe runs in video mode: it detects a face once and then follows it from the
previous frame's landmarks, which is both faster and steadier than detecting every frame.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from emodirector.closing import Closing
from emodirector.errors import InvalidOptionError
from emodirector.face_model import N_LANDMARKS
from emodirector.framearrays import FrameSpool
from emodirector.track.smoothing import smooth_landmarks
from emodirector.video.prefetch import prefetch
from emodirector.video.reader import VideoInfo, iter_frames

ProgressCallback = Callable[[str, int, int], None]
"""``progress(stage, frames_done, frames_total)``; ``frames_total`` is 0 when unknown."""


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
    """

    max_faces: int = 4
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    max_side: int = 1280
    min_face_size: float = 40.0
    smoothing: float = 1.0

    def __post_init__(self) -> None:
        if self.max_faces < 1:
            raise InvalidOptionError("max_faces must be at least 1")
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
            to (-1 where absent). A new id starts when the face is lost and a face is found again
            somewhere else (possibly another person).
        times: ``(T,) float64`` presentation time of each frame in seconds.
        frame_size: ``(width, height)`` of the coded frames.
    """

    landmarks: np.ndarray
    present: np.ndarray
    segment: np.ndarray
    times: np.ndarray
    frame_size: tuple[int, int]

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


def upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """The frame as it is displayed: rotated ``rotation`` degrees counter-clockwise."""
    return np.ascontiguousarray(np.rot90(image, k=(rotation // 90) % 4))


def to_upright(points: np.ndarray, rotation: int, coded_size: tuple[int, int]) -> np.ndarray:
    """Map ``(N, 2+)`` coded-frame pixels into the upright (displayed) frame.

    The inverse of ``from_upright``.

    >>> to_upright(np.array([[10.0, 0.0]]), 90, (20, 10)).tolist()
    [[0.0, 10.0]]
    """
    w, h = coded_size
    out = points.copy()
    x, y = points[:, 0], points[:, 1]
    k = (rotation // 90) % 4
    if k == 1:
        out[:, 0], out[:, 1] = y, w - x
    elif k == 2:
        out[:, 0], out[:, 1] = w - x, h - y
    elif k == 3:
        out[:, 0], out[:, 1] = h - y, x
    return out


def from_upright(points: np.ndarray, rotation: int, coded_size: tuple[int, int]) -> np.ndarray:
    """Map ``(N, 2+)`` pixel points of the upright frame back into the coded frame.

    >>> from_upright(np.array([[0.0, 10.0]]), 90, (20, 10)).tolist()
    [[10.0, 0.0]]
    """
    w, h = coded_size
    out = points.copy()
    x, y = points[:, 0], points[:, 1]
    k = (rotation // 90) % 4
    if k == 1:  # np.rot90 once: coded (x, y) -> upright (y, w - x)
        out[:, 0], out[:, 1] = w - y, x
    elif k == 2:
        out[:, 0], out[:, 1] = w - x, h - y
    elif k == 3:
        out[:, 0], out[:, 1] = y, h - x
    return out


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

    def _face_mesh(self, static: bool) -> object:
        from mediapipe.python.solutions import face_mesh  # heavy import, only when used

        self.close()
        o = self.options
        self._mesh = face_mesh.FaceMesh(
            static_image_mode=static,
            max_num_faces=o.max_faces,
            refine_landmarks=True,
            min_detection_confidence=o.min_detection_confidence,
            min_tracking_confidence=o.min_tracking_confidence,
        )
        return self._mesh

    @staticmethod
    def _faces(mesh: object, rgb: np.ndarray) -> list[np.ndarray]:
        """All faces MediaPipe finds in ``rgb``, as ``(478, 3)`` pixel arrays of that image."""
        result = mesh.process(rgb)  # type: ignore[attr-defined]
        if not result.multi_face_landmarks:
            return []
        h, w = rgb.shape[:2]
        faces = []
        for lm in result.multi_face_landmarks:
            a = np.array([(p.x, p.y, p.z) for p in lm.landmark], dtype=np.float32)
            faces.append(a * np.array([w, h, w], dtype=np.float32))
        return faces

    def detect_image(self, rgb: np.ndarray) -> list[np.ndarray]:
        """Every face in a still ``(H, W, 3) uint8`` RGB image, largest first.

        Returns:
            A list of ``(478, 3) float32`` landmark arrays in pixels of ``rgb``; empty if none.
        """
        faces = self._faces(self._face_mesh(static=True), np.ascontiguousarray(rgb))
        return sorted(faces, key=lambda f: -float(np.ptp(f[:, 1])))

    def track_video(self, info: VideoInfo, progress: ProgressCallback | None = None) -> FaceTrack:
        """Track the largest face through ``info``'s video.

        Args:
            info: The probed input.
            progress: Called after each frame.

        Returns:
            The FaceTrack; frames without a face have ``present == False``.
        """
        o = self.options
        scale = min(1.0, o.max_side / max(info.width, info.height))
        size = (max(2, round(info.width * scale)), max(2, round(info.height * scale)))
        to_coded = np.array([info.width / size[0], info.height / size[1], info.width / size[0]])
        mesh = self._face_mesh(static=False)
        landmarks = FrameSpool((N_LANDMARKS, 3))
        times: list[float] = []
        segment: list[int] = []
        last_box: np.ndarray | None = None
        seg_id = -1
        nan_face = np.full((N_LANDMARKS, 3), np.nan, np.float32)
        for frame in prefetch(iter_frames(info, "rgb24", size=size)):
            faces = self._faces(mesh, upright(frame.image, info.rotation))
            faces = [
                np.concatenate(
                    [
                        from_upright(f[:, :2], info.rotation, size),
                        f[:, 2:],  # depth is in pixels already; rotation keeps pixel size
                    ],
                    axis=1,
                )
                * to_coded
                for f in faces
            ]
            faces = [f for f in faces if np.ptp(f[:, 1]) >= o.min_face_size]
            chosen, continued = self._choose(faces, last_box)
            if chosen is None:
                landmarks.append(nan_face)
                segment.append(-1)
            else:
                if not continued:
                    seg_id += 1
                last_box = _box(chosen)
                landmarks.append(chosen.astype(np.float32))
                segment.append(seg_id)
            times.append(frame.time)
            if progress is not None:
                progress("track", frame.index + 1, info.frame_count)
        seg = np.asarray(segment, np.int32)
        lm = smooth_landmarks(landmarks.finish(), seg, strength=o.smoothing)
        return FaceTrack(
            landmarks=lm,
            present=seg >= 0,
            segment=seg,
            times=np.asarray(times, np.float64),
            frame_size=(info.width, info.height),
        )

    @staticmethod
    def _choose(
        faces: list[np.ndarray], last_box: np.ndarray | None
    ) -> tuple[np.ndarray | None, bool]:
        """The face that continues the track, else the largest; and whether it continues."""
        if not faces:
            return None, False
        if last_box is not None:
            ious = [box_iou(_box(f), last_box) for f in faces]
            best = int(np.argmax(ious))
            if ious[best] > 0.3:
                return faces[best], True
        areas = [float(np.prod(np.ptp(f[:, :2], axis=0))) for f in faces]
        return faces[int(np.argmax(areas))], False
