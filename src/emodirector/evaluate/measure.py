"""Per-clip measurements: emotion, dlib landmarks and identity, temporal stability.

One tracking pass (MediaPipe, as the editor uses) and one decoding pass per clip. Everything is
measured in the upright (displayed) frame.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from emodirector.errors import NoFaceFoundError
from emodirector.evaluate.dlibface import (
    DESCRIPTOR_SIZE,
    DlibFace,
    dlib_box,
    inner_lip_aperture68,
    require_dlib_models,
)
from emodirector.evaluate.emotion import (
    EMOTION_CLASSES,
    EmotionClassifier,
    EmotionSeries,
    emotion_model_path,
    face_crop,
    video_luma,
)
from emodirector.face_model import FACE_OVAL
from emodirector.render.warp import warp_field, warp_plane
from emodirector.track.tracker import (
    FaceTrack,
    FaceTracker,
    ProgressCallback,
    TrackerOptions,
)
from emodirector.video.prefetch import prefetch
from emodirector.video.reader import VideoInfo, iter_frames, probe
from emodirector.video.rotation import to_upright, upright

#: Frames (at most) on which an identity descriptor is computed, spread evenly over the clip.
IDENTITY_SAMPLES = 8
_OVAL = np.asarray(FACE_OVAL, dtype=np.int64)


def face_mask(shape: tuple[int, int], landmarks: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """``(H, W) bool`` inside the face oval, optionally scaled about its centre.

    Args:
        shape: ``(H, W)`` of the frame.
        landmarks: ``(478, 2+)`` MediaPipe pixels of the frame.
        scale: Size of the region relative to the oval (the editor's anchor ring is at 1.25).

    >>> lm = np.zeros((478, 2)); lm[list(FACE_OVAL)] = [[2, 2], [6, 2], [6, 6], [2, 6]] * 9
    >>> int(face_mask((8, 8), lm).sum()), int(face_mask((8, 8), lm, 1.5).sum())
    (25, 49)
    """
    oval = landmarks[_OVAL, :2].astype(np.float64)
    centre = oval.mean(axis=0)
    oval = centre + (oval - centre) * scale
    mask = np.zeros(shape, np.uint8)
    hull = cv2.convexHull(np.round(oval).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, (1,))
    return mask.astype(bool)


def landmark_jitter(points: np.ndarray) -> np.ndarray:
    """Per-frame jitter: mean second difference of landmarks over the eye-corner distance.

    ``|p[t+1] - 2 p[t] + p[t-1]|`` is zero under steady motion and grows with frame-to-frame
    shaking, so it measures jitter rather than head movement.

    Args:
        points: ``(T, 68, 2)`` dlib landmarks (NaN rows without a face).

    Returns:
        ``(T,) float64``; NaN at the ends and next to frames without a face.

    >>> p = np.zeros((4, 68, 2)); p[:, 45, 0] = 10.0; p[2, :, 1] += 1.0
    >>> landmark_jitter(p).tolist()[1:3]
    [0.1, 0.2]
    """
    p = np.asarray(points, dtype=np.float64)
    out = np.full(p.shape[0], np.nan)
    if p.shape[0] < 3:
        return out
    acc = np.linalg.norm(p[2:] - 2 * p[1:-1] + p[:-2], axis=-1).mean(axis=1)
    eyes = np.linalg.norm(p[1:-1, 36] - p[1:-1, 45], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out[1:-1] = acc / eyes
    out[~np.isfinite(out)] = np.nan
    return out


@dataclass(frozen=True)
class ClipMeasurements:
    """What was measured on one clip.

    Attributes:
        info: The probed video.
        track: The MediaPipe face track (coded-frame pixels).
        emotion: Per-frame emotion probabilities.
        landmarks68: ``(T, 68, 2) float32`` dlib landmarks in upright pixels, NaN without a face
            (all NaN if dlib was not run).
        lip_aperture: ``(T,) float64`` dlib inner-lip aperture over the eye-corner distance.
        jitter: ``(T,) float64`` see ``landmark_jitter``.
        flicker: ``(T,) float64`` mean absolute luma change (0..255) from the previous frame
            inside the face oval; NaN on the first frame and without a face. It counts motion
            too: a face that moves, or skin with more texture moving with it, changes more.
        flicker_compensated: ``(T,) float64`` the same after the previous frame is warped
            onto this frame's face (the mesh warp, from its landmarks to these): what is left
            is change that does not follow the face (flicker proper, lighting, tracking error).
        identity_frames: ``(K,) int64`` frames the descriptors were computed on.
        descriptors: ``(K, 128) float64`` dlib face descriptors of those frames.
    """

    info: VideoInfo
    track: FaceTrack
    emotion: EmotionSeries
    landmarks68: np.ndarray
    lip_aperture: np.ndarray
    jitter: np.ndarray
    flicker: np.ndarray
    identity_frames: np.ndarray
    descriptors: np.ndarray
    flicker_compensated: np.ndarray | None = None

    @property
    def n_frames(self) -> int:
        return int(self.track.n_frames)


def _follow_face(grey: np.ndarray, points: np.ndarray, to: np.ndarray) -> np.ndarray:
    """``grey`` with its face (at ``points``) warped to the face at ``to`` (same frame size)."""
    h, w = grey.shape
    field = warp_field(points, to, (w, h))
    if field is None:
        return grey
    x0, y0, x1, y1 = field.roi
    out = grey.copy()
    out[y0:y1, x0:x1] = warp_plane(grey, field)
    return out


def identity_sample(present: np.ndarray, n: int = IDENTITY_SAMPLES) -> np.ndarray:
    """``(K,) int64`` up to ``n`` frames with a face, spread evenly.

    >>> identity_sample(np.array([False, True, True, True, True]), 2).tolist()
    [1, 4]
    """
    idx = np.flatnonzero(present)
    if idx.size <= n:
        return idx.astype(np.int64)
    return idx[np.round(np.linspace(0, idx.size - 1, n)).astype(np.int64)]


def measure_clip(
    path: str | os.PathLike[str],
    *,
    dlib_measures: bool = True,
    identity_frames: np.ndarray | None = None,
    tracker: TrackerOptions | None = None,
    progress: ProgressCallback | None = None,
    compensated: bool = True,
) -> ClipMeasurements:
    """Track a clip and measure emotion, dlib landmarks, identity and stability on every frame.

    Args:
        path: The video.
        dlib_measures: Also run dlib (landmarks, lips, jitter, identity); ``analyze`` does not
            need it.
        identity_frames: Frames to compute identity descriptors on (default: an even sample of
            the frames with a face).
        tracker: MediaPipe tracking options.
        progress: ``progress(stage, done, total)`` per frame of each pass.
        compensated: Also measure the motion-compensated flicker (a mesh warp per frame, about
            a sixth of the measuring time); ``flicker_compensated`` is None without it.

    Raises:
        InputNotFoundError, UnsupportedVideoError: See ``probe``.
        NoFaceFoundError: No frame has a face.
        ModelNotInstalledError: A measurement model is missing (found before tracking).
    """
    emotion_model_path()
    if dlib_measures:
        require_dlib_models()
    info = probe(path)
    with FaceTracker(tracker or TrackerOptions()) as ft:
        track = ft.track_video(info, progress)
    if not track.present.any():
        raise NoFaceFoundError(f"{info.path.name}: no face found in any frame")
    t = track.n_frames
    probs = np.full((t, len(EMOTION_CLASSES)), np.nan, np.float32)
    lm68 = np.full((t, 68, 2), np.nan, np.float32)
    flicker = np.full(t, np.nan)
    compensated_flicker = np.full(t, np.nan)
    prev_pts: np.ndarray | None = None
    ids = identity_sample(track.present) if identity_frames is None else identity_frames
    ids = np.asarray([i for i in ids if 0 <= i < t and track.present[i]], dtype=np.int64)
    wanted = set(ids.tolist()) if dlib_measures else set()
    descriptors: dict[int, np.ndarray] = {}
    prev: np.ndarray | None = None
    with EmotionClassifier() as clf, DlibFace() as dl:
        for frame in prefetch(iter_frames(info, "rgb24")):
            i = frame.index
            if i >= t:
                break
            rgb = upright(frame.image, info.rotation)
            grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
            if track.present[i]:
                pts = to_upright(track.landmarks[i], info.rotation, track.frame_size)
                probs[i] = clf.predict(face_crop(video_luma(grey), pts)[None])[0]
                if prev is not None:
                    m = face_mask((grey.shape[0], grey.shape[1]), pts)
                    if m.any():
                        diff = np.abs(grey[m].astype(np.int16) - prev[m].astype(np.int16))
                        flicker[i] = float(diff.mean())
                        if compensated and prev_pts is not None:
                            moved = _follow_face(prev, prev_pts, pts)
                            diff = np.abs(grey[m].astype(np.int16) - moved[m].astype(np.int16))
                            compensated_flicker[i] = float(diff.mean())
                if dlib_measures:
                    box = dlib_box(pts)
                    lm68[i] = dl.landmarks(rgb, box)
                    if i in wanted:
                        descriptors[i] = dl.descriptor(rgb, box)
            prev = grey
            prev_pts = pts if track.present[i] else None
            if progress is not None:
                progress("measure", i + 1, t)
    present = track.present.copy()
    desc = (
        np.stack([descriptors[i] for i in ids if i in descriptors])
        if descriptors
        else np.zeros((0, DESCRIPTOR_SIZE))
    )
    return ClipMeasurements(
        info=info,
        track=track,
        emotion=EmotionSeries(probabilities=probs, present=present, times=track.times.copy()),
        landmarks68=lm68,
        lip_aperture=inner_lip_aperture68(lm68),
        jitter=landmark_jitter(lm68),
        flicker=flicker,
        flicker_compensated=compensated_flicker if compensated else None,
        identity_frames=np.asarray([i for i in ids if i in descriptors], dtype=np.int64),
        descriptors=desc,
    )


__all__ = [
    "IDENTITY_SAMPLES",
    "ClipMeasurements",
    "face_mask",
    "identity_sample",
    "landmark_jitter",
    "measure_clip",
]
