"""Read the emotion a reference face shows: a photo of anyone, or a short clip.

What is transferred is the reference's emotion, as weights of the measured emotion prototypes,
never its face shape: the edit is built from the prototypes, so the actor keeps their own face
and speech. Two independent reads are averaged, because each fails differently on a face the
project has never seen:

- geometry: the reference's landmarks in the canonical frame, read as a non-negative mix of the
  prototypes against the calibration actors' mean resting face. It is blind to lighting and
  skin, but an unknown identity leaks into it (a long face reads a little sad);
- appearance: a classifier of face crops, given by the caller (``AppearanceClassifier``: the
  FER2013 one of ``evaluate`` in the CLI and the UI) on the reference's face crop. It has seen
  many identities, but confuses disgust with anger.

A clip is read on up to ``_CLIP_SAMPLES`` evenly spaced frames and averaged robustly (the
per-emotion median), as NED averages its reference clips.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from emodirector.emotion import Emotion
from emodirector.errors import InputNotFoundError, NoFaceFoundError, UnsupportedVideoError
from emodirector.face_model import STABLE, load_face_model
from emodirector.fit.fitting import similarity_align, to_canonical
from emodirector.manipulate.editor import ExpressionEditor
from emodirector.manipulate.prototypes import EmotionPrototypes
from emodirector.track.tracker import FaceTracker, TrackerOptions
from emodirector.video.reader import iter_frames, probe

#: Frames of a reference clip that are read.
_CLIP_SAMPLES = 48
#: Weight of the geometric read in the average (the appearance read has the rest).
GEOMETRY_WEIGHT = 0.5
#: A second face at least this fraction of the largest one's height makes a photo ambiguous.
_SECOND_FACE_RATIO = 0.3

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}


class AppearanceClassifier(Protocol):
    """What the reader needs of an emotion classifier of face crops.

    ``evaluate.EmotionClassifier`` (FER2013) is one; the caller opens it and passes it in, so
    that directing never depends on the measuring package.
    """

    #: The emotions of ``predict_face``'s output, in its order (all seven).
    classes: tuple[Emotion, ...]

    def predict_face(self, grey: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
        """Probabilities of ``classes`` for the face at ``(478, 3)`` pixel ``landmarks`` of one
        ``(H, W) uint8`` grey frame."""
        ...


@dataclass(frozen=True)
class ReferenceExpression:
    """The emotion read from a reference.

    Attributes:
        source: The reference file.
        emotions: The prototype emotions, in the order of ``weights``.
        weights: ``(E,) float32`` 0..1 how much of each emotion the reference shows (at 1, as
            strongly as MEAD's level-3 actors); what an edit towards it aims at.
        geometry: ``(E,) float32`` the geometric read alone (prototype weights, clipped to 1).
        appearance: ``(7,) float32`` the appearance read alone, probabilities in ``Emotion``
            order (neutral, happy, sad, angry, surprised, fearful, disgusted).
        frames: Frames read (1 for a photo).
    """

    source: Path
    emotions: tuple[Emotion, ...]
    weights: np.ndarray
    geometry: np.ndarray
    appearance: np.ndarray
    frames: int

    def __post_init__(self) -> None:
        e = len(self.emotions)
        if self.weights.shape != (e,) or self.geometry.shape != (e,):
            raise ValueError(f"weights and geometry must be ({e},)")
        if self.appearance.shape != (len(Emotion),):
            raise ValueError(f"appearance must be ({len(Emotion)},)")

    @property
    def dominant(self) -> Emotion:
        """The emotion read most strongly (neutral if none reaches a quarter)."""
        if float(self.weights.max(initial=0.0)) < 0.25:
            return Emotion.NEUTRAL
        return self.emotions[int(self.weights.argmax())]

    def summary(self) -> str:
        """One line: the strongest emotions read."""
        order = np.argsort(-self.weights)
        parts = [f"{self.emotions[i].value} {self.weights[i]:.2f}" for i in order[:3]]
        return f"{self.source.name}: reads as {self.dominant.value} ({', '.join(parts)})"


def _fuse(
    geometry: np.ndarray, appearance: np.ndarray, emotions: tuple[Emotion, ...]
) -> np.ndarray:
    """Average the two reads as distributions over the emotions plus neutral.

    The geometric weights become a distribution by giving neutral what the emotions leave of 1;
    the result's emotion shares are the weights (neutral is their absence). ``appearance`` is
    in ``Emotion`` order.
    """
    g = np.clip(geometry, 0.0, 1.0)
    g = np.append(g, max(0.0, 1.0 - float(g.sum())))
    g /= g.sum()
    every = list(Emotion)
    a = appearance[[every.index(e) for e in (*emotions, Emotion.NEUTRAL)]]
    fused = GEOMETRY_WEIGHT * g + (1.0 - GEOMETRY_WEIGHT) * a
    return fused[:-1].astype(np.float32)


class _Reader:
    """The models a read needs, opened once."""

    def __init__(self, prototypes: EmotionPrototypes, tracker: FaceTracker) -> None:
        self.editor = ExpressionEditor(prototypes.basis())
        self.tracker = tracker
        template = load_face_model().template.astype(np.float64)
        self._stable = np.asarray(STABLE)
        self._reference = template[self._stable]

    def geometry(self, landmarks: np.ndarray) -> np.ndarray:
        lm = landmarks[None].astype(np.float64)
        s, R, t = similarity_align(lm[:, self._stable], self._reference)
        return np.clip(self.editor.read_shape(to_canonical(lm, s, R, t)[0]), 0.0, 1.0)


def _read_image(
    path: Path, reader: _Reader, classifier: AppearanceClassifier
) -> tuple[np.ndarray, np.ndarray, int]:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise UnsupportedVideoError(f"{path}: not a readable image")
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    faces = reader.tracker.detect_image(rgb)
    if not faces:
        raise NoFaceFoundError(f"reference {path}: no face found")
    heights = [float(np.ptp(f[:, 1])) for f in faces]
    if len(faces) > 1 and heights[1] >= _SECOND_FACE_RATIO * heights[0]:
        raise NoFaceFoundError(
            f"reference {path}: {len(faces)} faces found; crop the photo to the one face to copy"
        )
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    return reader.geometry(faces[0]), classifier.predict_face(grey, faces[0]), 1


def _read_clip(
    path: Path, reader: _Reader, classifier: AppearanceClassifier
) -> tuple[np.ndarray, np.ndarray, int]:
    info = probe(path)
    track = reader.tracker.track_video(info)
    present = np.flatnonzero(track.present)
    if present.size == 0:
        raise NoFaceFoundError(f"reference {path}: no face found in any frame")
    pick = present[np.unique(np.linspace(0, present.size - 1, _CLIP_SAMPLES).astype(int))]
    wanted = set(pick.tolist())
    geo, app = [], []
    for frame in iter_frames(info, "rgb24"):
        if frame.index not in wanted:
            continue
        lm = track.landmarks[frame.index]
        geo.append(reader.geometry(lm))
        grey = cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY)
        app.append(classifier.predict_face(grey, lm))
    return np.median(np.stack(geo), axis=0), np.median(np.stack(app), axis=0), len(geo)


def read_reference(
    path: str | os.PathLike[str],
    prototypes: EmotionPrototypes | None = None,
    tracker_options: TrackerOptions | None = None,
    *,
    classifier: AppearanceClassifier,
) -> ReferenceExpression:
    """Read the emotion shown by the face in a reference photo or clip.

    Args:
        path: An image (``.png``, ``.jpg`` ...) or a video.
        classifier: The appearance read (``evaluate.EmotionClassifier``, opened by the caller).
        prototypes: The emotion prototypes (the packaged ones by default).
        tracker_options: Face tracking options.

    Returns:
        The ReferenceExpression.

    Raises:
        InputNotFoundError: The file does not exist.
        UnsupportedVideoError: Neither a readable image nor a video.
        NoFaceFoundError: No face, or several faces in a photo.
    """
    src = Path(path)
    if not src.exists():
        raise InputNotFoundError(f"reference {src}: no such file")
    if src.is_dir():
        raise InputNotFoundError(f"reference {src}: is a folder, not a file")
    prototypes = prototypes or EmotionPrototypes.load_default()
    with FaceTracker(tracker_options or TrackerOptions()) as tracker:
        reader = _Reader(prototypes, tracker)
        if src.suffix.lower() in _IMAGE_SUFFIXES:
            geometry, appearance, frames = _read_image(src, reader, classifier)
        else:
            geometry, appearance, frames = _read_clip(src, reader, classifier)
    columns = list(classifier.classes)
    appearance = appearance[[columns.index(e) for e in Emotion]]
    appearance = appearance / max(float(appearance.sum()), 1e-9)
    return ReferenceExpression(
        source=src,
        emotions=prototypes.emotions,
        weights=_fuse(geometry, appearance, prototypes.emotions),
        geometry=geometry.astype(np.float32),
        appearance=appearance.astype(np.float32),
        frames=frames,
    )


__all__ = ["GEOMETRY_WEIGHT", "AppearanceClassifier", "ReferenceExpression", "read_reference"]
