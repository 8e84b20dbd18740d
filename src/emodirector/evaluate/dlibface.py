"""dlib's 68-point landmarks and 128-d face descriptors, independent of MediaPipe.

The models ship in the ``face-recognition-models`` package
(``shape_predictor_68_face_landmarks.dat`` and ``dlib_face_recognition_resnet_model_v1.dat``);
its ``__init__`` needs ``pkg_resources``, so
the files are found by path without importing it. dlib itself comes from the ``dlib-bin`` wheel.

The face box dlib's predictor starts from is derived from the MediaPipe landmarks the project
tracks (dlib's own HOG detector misses turned faces and is slow); it mimics the detector's box:
as wide as the face, square, bottom at the chin.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from emodirector.closing import Closing
from emodirector.face_model import LEFT_EYE_CORNERS, RIGHT_EYE_CORNERS
from emodirector.wheels import ModelNotInstalledError, package_data_file

#: MediaPipe points at the sides of the face by the cheekbones (subject's right, left).
FACE_RIGHT_SIDE = 234
FACE_LEFT_SIDE = 454
#: Top of the dlib box above the eye line, in face widths (dlib's detector boxes start at the
#: brows).
_BOX_TOP_ABOVE_EYES = 0.28

#: Points of dlib's 68-point scheme used here (0-based).
DLIB_RIGHT_EYE_OUTER = 36  # the subject's right eye, image left
DLIB_LEFT_EYE_OUTER = 45
DLIB_INNER_UPPER = (61, 62, 63)
DLIB_INNER_LOWER = (67, 66, 65)
#: The outer mouth corners (subject's right, left).
DLIB_MOUTH_CORNERS = (48, 54)
#: dlib's model files in the ``face_recognition_models`` wheel.
LANDMARK_MODEL = "shape_predictor_68_face_landmarks.dat"
DESCRIPTOR_MODEL = "dlib_face_recognition_resnet_model_v1.dat"
#: Length of a dlib face descriptor.
DESCRIPTOR_SIZE = 128
#: dlib's usual threshold: descriptors closer than this are the same person.
SAME_PERSON_DISTANCE = 0.6
#: dlib is given the face box with this many box widths around it, not the whole frame: the
#: same landmarks and descriptors (checked equal on a 1080x1920 frame), the descriptor 2.7x
#: faster there (dlib converts the whole image it is given).
_CROP_MARGIN = 1.0


def _around(rgb: np.ndarray, box: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The part of ``rgb`` around ``box`` (contiguous) and its ``(x, y)`` offset in the frame.

    >>> crop, at = _around(np.zeros((100, 200, 3), np.uint8), np.array([90.0, 40, 110, 60]))
    >>> crop.shape, at.tolist()
    ((60, 60, 3), [70, 20])
    """
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = (float(v) for v in box)
    m = _CROP_MARGIN * max(x1 - x0, y1 - y0)
    left, top = max(0, int(x0 - m)), max(0, int(y0 - m))
    right, bottom = min(w, int(np.ceil(x1 + m))), min(h, int(np.ceil(y1 + m)))
    if right <= left or bottom <= top:  # the box is off the frame: nothing to crop to
        return np.ascontiguousarray(rgb), np.zeros(2, np.int64)
    return np.ascontiguousarray(rgb[top:bottom, left:right]), np.array([left, top], np.int64)


def dlib_model_path(name: str) -> Path:
    """Path of one of the ``face_recognition_models`` data files."""
    return package_data_file("face_recognition_models", f"models/{name}")


def require_dlib_models() -> None:
    """Check that dlib's model files are installed, before any long work that needs them.

    Raises:
        ModelNotInstalledError: One is missing (the message names the command that installs it).
    """
    dlib_model_path(LANDMARK_MODEL)
    dlib_model_path(DESCRIPTOR_MODEL)


def dlib_box(landmarks: np.ndarray) -> np.ndarray:
    """``(left, top, right, bottom)`` dlib-style face box of ``(478, 2+)`` MediaPipe pixels.

    Built from points that do not move with speech (the cheek sides and the eye corners), so that
    an opening jaw does not stretch the box and drag dlib's mouth points with it: square, as wide
    as the face at the cheeks, its top 0.28 widths above the eye line.

    >>> lm = np.zeros((478, 2)); lm[454, 0] = 100.0; lm[[33, 133, 362, 263], 1] = 28.0 + 1e-9
    >>> (dlib_box(lm) + 0.0).round(6).tolist()
    [0.0, 0.0, 100.0, 100.0]
    """
    width = float(np.hypot(*(landmarks[FACE_RIGHT_SIDE, :2] - landmarks[FACE_LEFT_SIDE, :2])))
    cx = float(landmarks[FACE_RIGHT_SIDE, 0] + landmarks[FACE_LEFT_SIDE, 0]) / 2
    eyes = landmarks[list(RIGHT_EYE_CORNERS + LEFT_EYE_CORNERS), :2]
    top = float(eyes[:, 1].mean()) - _BOX_TOP_ABOVE_EYES * width
    return np.array([cx - width / 2, top, cx + width / 2, top + width])


def inner_lip_gap68(points: np.ndarray) -> np.ndarray:
    """Mean distance between the inner upper (61-63) and inner lower (67-65) lip points.

    Args:
        points: ``(T, 68, 2)`` pixels (NaN rows where there is no face).

    Returns:
        ``(T,) float64`` pixels; NaN where unknown.

    >>> p = np.zeros((1, 68, 2)); p[0, [65, 66, 67], 1] = [1.0, 2.0, 3.0]
    >>> inner_lip_gap68(p).tolist()
    [2.0]
    """
    p = np.asarray(points, dtype=np.float64)
    return np.linalg.norm(
        p[:, list(DLIB_INNER_UPPER)] - p[:, list(DLIB_INNER_LOWER)], axis=-1
    ).mean(axis=1)


def mouth_width68(points: np.ndarray) -> np.ndarray:
    """``(T,) float64`` distance between the outer mouth corners (48, 54) in pixels (NaN: no face).

    >>> p = np.zeros((1, 68, 2)); p[0, 54, 0] = 5.0
    >>> mouth_width68(p).tolist()
    [5.0]
    """
    p = np.asarray(points, dtype=np.float64)
    right, left = DLIB_MOUTH_CORNERS
    return np.linalg.norm(p[:, right] - p[:, left], axis=-1)


def inner_lip_aperture68(points: np.ndarray) -> np.ndarray:
    """Inner-lip aperture of dlib 68-point landmarks, over the outer eye-corner distance.

    Args:
        points: ``(T, 68, 2)`` pixels (NaN rows where there is no face).

    Returns:
        ``(T,) float64``; NaN where unknown.

    >>> p = np.zeros((1, 68, 2)); p[0, 45, 0] = 10.0; p[0, [65, 66, 67], 1] = 1.0
    >>> inner_lip_aperture68(p).tolist()
    [0.1]
    """
    p = np.asarray(points, dtype=np.float64)
    eyes = np.linalg.norm(p[:, DLIB_RIGHT_EYE_OUTER] - p[:, DLIB_LEFT_EYE_OUTER], axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = inner_lip_gap68(p) / eyes
    out[~np.isfinite(out)] = np.nan
    return out


class DlibFace(Closing):
    """dlib's shape predictor and face recognition network, loaded on first use.

    Use as ``with DlibFace() as d:`` or call ``close`` when done.
    """

    def __init__(self) -> None:
        self._predictor: object | None = None
        self._recognizer: object | None = None

    def close(self) -> None:
        """Drop the loaded models."""
        self._predictor = None
        self._recognizer = None

    @staticmethod
    def _dlib() -> object:
        try:
            import dlib
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ModelNotInstalledError(
                "dlib is not installed; install it with: "
                f"{sys.executable} -m pip install dlib-bin==20.0.1.post1"
            ) from exc
        return dlib

    def _shape(self, rgb: np.ndarray, box: np.ndarray) -> object:
        """dlib's shape of the face in ``box`` of ``rgb`` (pixels of ``rgb``)."""
        dlib = self._dlib()
        if self._predictor is None:
            path = dlib_model_path(LANDMARK_MODEL)
            self._predictor = dlib.shape_predictor(str(path))  # type: ignore[attr-defined]
        rect = dlib.rectangle(*(int(round(v)) for v in box))  # type: ignore[attr-defined]
        return self._predictor(rgb, rect)  # type: ignore[operator]

    def landmarks(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
        """``(68, 2) float32`` dlib landmarks of the face in ``box`` (see ``dlib_box``).

        Args:
            rgb: ``(H, W, 3) uint8`` upright frame.
            box: ``(left, top, right, bottom)`` pixels.
        """
        crop, at = _around(rgb, box)
        shape = self._shape(crop, np.asarray(box, np.float64) - np.tile(at, 2))
        parts = shape.parts()  # type: ignore[attr-defined]
        return np.array([(p.x + at[0], p.y + at[1]) for p in parts], dtype=np.float32)

    def descriptor(self, rgb: np.ndarray, box: np.ndarray) -> np.ndarray:
        """``(128,) float64`` identity descriptor of the face in ``box`` (dlib ResNet v1)."""
        dlib = self._dlib()
        rgb, at = _around(rgb, box)
        shape = self._shape(rgb, np.asarray(box, np.float64) - np.tile(at, 2))
        if self._recognizer is None:
            path = dlib_model_path(DESCRIPTOR_MODEL)
            self._recognizer = dlib.face_recognition_model_v1(str(path))  # type: ignore[attr-defined]
        vec = self._recognizer.compute_face_descriptor(rgb, shape)  # type: ignore[union-attr]
        return np.asarray(vec, dtype=np.float64)


__all__ = [
    "DESCRIPTOR_SIZE",
    "SAME_PERSON_DISTANCE",
    "DlibFace",
    "dlib_box",
    "dlib_model_path",
    "require_dlib_models",
    "inner_lip_aperture68",
    "inner_lip_gap68",
    "mouth_width68",
]
