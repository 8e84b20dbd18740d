"""How far an edit that keeps the speech mouth can go: acted footage with its mouth put back.

An edit that keeps the lips on the speech cannot show an acted emotion's mouth (bared teeth,
an open jaw, pressed lips). To know what the classifier would say about a *perfect* edit of
everything else, take an actor's acted take and paste, frame by frame, the lower face (mouth,
jaw, chin) of the same actor's neutral take into it, aligned on the rigid points of the face:
the upper face is real acted footage, the mouth is real neutral speech. Its target probability
is the ceiling a speech-keeping edit can reach with that classifier; the acted take's own
probability is the ceiling with the mouth acted too.

The composite is built in the upright frame, on the grey (luma) image the classifier reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emodirector.errors import NoFaceFoundError
from emodirector.evaluate.emotion import (
    EMOTION_CLASSES,
    EmotionClassifier,
    face_crop,
    video_luma,
)
from emodirector.face_model import FACE_OVAL, STABLE, SUBNASALE
from emodirector.track.tracker import FaceTrack, FaceTracker, TrackerOptions
from emodirector.video.reader import iter_frames, probe
from emodirector.video.rotation import to_upright, upright

#: Landmarks between the eyes and under the nose: the lower face starts a little above the
#: subnasale, this fraction of the way up towards the bridge of the nose.
_BRIDGE = 168
LOWER_FACE_START = 0.15
#: Width of the soft edge of the pasted lower face, as a fraction of the face width.
FEATHER = 0.04
#: Every this many frames of an acted take is read (the neutral take's at half the step).
FRAME_STEP = 6
_OVAL = np.asarray(FACE_OVAL, dtype=np.int64)
_STABLE = np.asarray(STABLE, dtype=np.int64)


def lower_face_mask(shape: tuple[int, int], *landmarks: np.ndarray) -> np.ndarray:
    """``(H, W) float32`` 0..1: the face below the nose (union over the given faces), feathered.

    "Below" follows each face's own axis (bridge of the nose to subnasale), so a tilted head
    is cut along its own nose line.

    Args:
        shape: ``(H, W)`` of the frame.
        landmarks: One or more ``(478, 2+)`` MediaPipe faces in pixels of the frame.
    """
    h, w = shape
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    mask = np.zeros(shape, np.float32)
    width = 1.0
    for lm in landmarks:
        p = np.asarray(lm, np.float64)[:, :2]
        hull = cv2.convexHull(np.round(p[_OVAL]).astype(np.int32))
        inside = np.zeros(shape, np.uint8)
        cv2.fillConvexPoly(inside, hull, (1,))
        down = p[SUBNASALE] - p[_BRIDGE]
        length = float(np.hypot(*down))
        if length < 1e-6:
            continue
        down /= length
        start = p[SUBNASALE] - LOWER_FACE_START * length * down
        below = (xx - start[0]) * down[0] + (yy - start[1]) * down[1] > 0
        mask = np.maximum(mask, (inside.astype(bool) & below).astype(np.float32))
        width = max(width, float(np.ptp(p[_OVAL, 0])))
    sigma = max(1.0, FEATHER * width)
    return cv2.GaussianBlur(mask, (0, 0), sigma)


def with_mouth_of(
    image: np.ndarray, landmarks: np.ndarray, donor: np.ndarray, donor_landmarks: np.ndarray
) -> np.ndarray:
    """``image`` with the lower face of ``donor`` pasted in, aligned on the rigid face points.

    The donor is moved by the similarity transform that best maps its rigid points (eye
    corners, nose, temples) onto the image's, so its mouth sits where the face's would.

    Args:
        image: ``(H, W)`` or ``(H, W, C) uint8`` frame whose upper face is kept.
        landmarks: ``(478, 2+)`` its face in pixels.
        donor: Frame of the same kind giving the lower face.
        donor_landmarks: ``(478, 2+)`` the donor's face in pixels of ``donor``.

    Returns:
        Same shape and dtype as ``image``.
    """
    src = np.asarray(donor_landmarks, np.float32)[_STABLE, :2]
    dst = np.asarray(landmarks, np.float32)[_STABLE, :2]
    matrix, _ = cv2.estimateAffinePartial2D(src, dst)
    if matrix is None:
        raise ValueError("cannot align the donor face")
    h, w = image.shape[:2]
    moved = cv2.warpAffine(
        donor, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    moved_points = np.asarray(donor_landmarks, np.float64)[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    mask = lower_face_mask((h, w), landmarks, moved_points)
    if image.ndim == 3:
        mask = mask[..., None]
    out = image.astype(np.float32) * (1.0 - mask) + moved.astype(np.float32) * mask
    return np.clip(np.round(out), 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class SpeechKeptReading:
    """The classifier on an acted take, as it is and with the neutral take's mouth.

    Attributes:
        emotion: The acted emotion (one of ``EMOTION_CLASSES``).
        acted: Mean target probability over the sampled acted frames.
        speech_kept: The same frames with the neutral take's lower face pasted in: the ceiling
            of an edit that keeps the speech mouth.
        mouth_only: The neutral take's frames with the acted lower face pasted in: what the
            mouth alone carries.
        frames: Number of acted frames read.
    """

    emotion: str
    acted: float
    speech_kept: float
    mouth_only: float
    frames: int


@dataclass(frozen=True)
class Take:
    """The frames of a take that a reading uses.

    Attributes:
        images: Upright video-range grey frames (every ``step``-th with a face).
        points: Their upright ``(478, 3)`` landmarks.
    """

    images: list[np.ndarray]
    points: list[np.ndarray]


def read_take(path: str | Path, step: int, tracker: FaceTracker | None = None) -> Take:
    """Track a take and keep every ``step``-th frame with a face (a tracker may be reused).

    Raises:
        NoFaceFoundError: The take has no face.
    """
    info = probe(Path(path))
    if tracker is None:
        with FaceTracker(TrackerOptions()) as own:
            track: FaceTrack = own.track_video(info)
    else:
        track = tracker.track_video(info)
    images, points = [], []
    for frame in iter_frames(info, "rgb24"):
        i = frame.index
        if i >= track.n_frames or i % step or not track.present[i]:
            continue
        grey = cv2.cvtColor(upright(frame.image, info.rotation), cv2.COLOR_RGB2GRAY)
        images.append(video_luma(grey))
        points.append(to_upright(track.landmarks[i], info.rotation, track.frame_size))
    if not images:
        raise NoFaceFoundError(f"no face found in {path}")
    return Take(images, points)


def speech_kept_reading(
    acted: str | Path | Take,
    neutral: str | Path | Take,
    emotion: str,
    classifier: EmotionClassifier | None = None,
    step: int = FRAME_STEP,
) -> SpeechKeptReading:
    """Read an acted take with and without its own mouth (see the module docstring).

    The acted take is read on every ``step``-th frame with a face; its ``k``-th frame gets the
    neutral take's ``k``-th read frame (cycled), so the pasted mouths are real speech. A take
    given as a path is read here (the neutral one at half the step); one already read
    (``read_take``) is used as it is, so a neutral take read once serves every emotion.

    Args:
        acted: The acted take.
        neutral: The same actor's neutral take (same camera).
        emotion: The acted emotion, one of ``EMOTION_CLASSES``.
        classifier: An open classifier to reuse (one is opened and closed otherwise).
        step: Frame step.

    Raises:
        ValueError: ``emotion`` is not a class of the classifier.
        NoFaceFoundError: A take has no face.
    """
    if emotion not in EMOTION_CLASSES:
        raise ValueError(f"unknown emotion {emotion!r}")
    k = EMOTION_CLASSES.index(emotion)
    if not isinstance(acted, Take):
        acted = read_take(acted, step)
    if not isinstance(neutral, Take):
        neutral = read_take(neutral, max(1, step // 2))
    own = classifier is None
    clf = classifier or EmotionClassifier()
    try:
        acted_p, kept_p, mouth_p = [], [], []
        for j, (img, pts) in enumerate(zip(acted.images, acted.points, strict=True)):
            n = neutral.images[j % len(neutral.images)]
            npts = neutral.points[j % len(neutral.points)]
            kept = with_mouth_of(img, pts, n, npts)
            mouth = with_mouth_of(n, npts, img, pts)
            crops = np.stack([face_crop(img, pts), face_crop(kept, pts), face_crop(mouth, npts)])
            p = clf.predict(crops)[:, k]
            acted_p.append(p[0])
            kept_p.append(p[1])
            mouth_p.append(p[2])
    finally:
        if own:
            clf.close()
    return SpeechKeptReading(
        emotion=emotion,
        acted=float(np.mean(acted_p)),
        speech_kept=float(np.mean(kept_p)),
        mouth_only=float(np.mean(mouth_p)),
        frames=len(acted_p),
    )


__all__ = [
    "FEATHER",
    "FRAME_STEP",
    "LOWER_FACE_START",
    "SpeechKeptReading",
    "Take",
    "lower_face_mask",
    "read_take",
    "speech_kept_reading",
    "with_mouth_of",
]
