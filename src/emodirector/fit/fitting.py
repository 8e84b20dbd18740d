"""Rigid pose, neutral shape and expression of a tracked face, in the canonical face frame.

For every frame the tracked landmarks are aligned to the canonical face by a similarity
transform (Umeyama) fitted to the ``STABLE`` points only, so that the expression (brows, lips,
jaw) does not tilt the pose. In the canonical frame all actors have the same size and
orientation, which is what lets expression offsets measured on one actor apply to another.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emodirector.face_model import N_LANDMARKS, STABLE, FaceModel, load_face_model
from emodirector.framearrays import chunks, empty_frames, release
from emodirector.track.tracker import FaceTrack

#: The neutral face of a segment is the median over at most this many evenly spaced frames.
_NEUTRAL_SAMPLES = 1000


@dataclass(frozen=True)
class FaceFit:
    """Pose and shape of one tracked face.

    The image position of landmark ``i`` on frame ``t`` is
    ``scale[t] * rotation[t] @ canonical[t, i] + translation[t]``.

    Attributes:
        scale: ``(T,) float32`` pixels per canonical unit (NaN where the face is absent).
        rotation: ``(T, 3, 3) float32`` head rotation, canonical to image axes.
        translation: ``(T, 3) float32`` pixels.
        canonical: ``(T, 478, 3) float32`` the face in the canonical frame (pose removed);
            disk-backed, walk it in chunks.
        neutral: ``(S, 478, 3) float32`` per segment: the actor's resting face, the per-landmark
            median of ``canonical`` over the segment. It includes any expression held through
            the whole segment; the manipulator estimates that part separately. (Median over
            at most 1000 evenly spaced frames.)
        segment: ``(T,) int32`` segment id (index into ``neutral``), -1 where absent.
    """

    scale: np.ndarray
    rotation: np.ndarray
    translation: np.ndarray
    canonical: np.ndarray
    neutral: np.ndarray
    segment: np.ndarray

    def __post_init__(self) -> None:
        t = self.scale.shape[0]
        shapes = {
            "rotation": (t, 3, 3),
            "translation": (t, 3),
            "canonical": (t, N_LANDMARKS, 3),
            "segment": (t,),
        }
        for name, shape in shapes.items():
            if getattr(self, name).shape != shape:
                raise ValueError(f"{name} must be {shape}, got {getattr(self, name).shape}")
        if self.neutral.ndim != 3 or self.neutral.shape[1:] != (N_LANDMARKS, 3):
            raise ValueError(f"neutral must be (S, 478, 3), got {self.neutral.shape}")

    @property
    def n_frames(self) -> int:
        return int(self.scale.shape[0])

    @property
    def present(self) -> np.ndarray:
        """``(T,) bool`` frames with a fitted face."""
        return self.segment >= 0

    def expression(self, frames: slice | np.ndarray = slice(None)) -> np.ndarray:
        """``(n, 478, 3)`` canonical offsets from the segment's neutral (NaN where absent)."""
        seg = self.segment[frames]
        neutral = self.neutral[np.maximum(seg, 0)] if len(self.neutral) else 0.0
        expr = self.canonical[frames] - neutral
        return np.where((seg >= 0)[:, None, None], expr, np.nan).astype(np.float32)

    def to_image(self, canonical_offsets: np.ndarray, frames: slice | np.ndarray) -> np.ndarray:
        """Map ``(n, 478, 3)`` canonical offsets to image pixel offsets on the given frames."""
        R = self.rotation[frames]
        s = self.scale[frames]
        return (s[:, None, None] * np.einsum("tij,tnj->tni", R, canonical_offsets)).astype(
            np.float32
        )

    def yaw_pitch_roll(self) -> np.ndarray:
        """``(T, 3)`` head angles in degrees (yaw about y, pitch about x, roll about z)."""
        R = self.rotation.astype(np.float64)
        yaw = np.degrees(np.arcsin(np.clip(-R[:, 2, 0], -1, 1)))
        pitch = np.degrees(np.arctan2(R[:, 2, 1], R[:, 2, 2]))
        roll = np.degrees(np.arctan2(R[:, 1, 0], R[:, 0, 0]))
        return np.stack([yaw, pitch, roll], axis=1)


def similarity_align(points: np.ndarray, reference: np.ndarray) -> tuple[np.ndarray, ...]:
    """Batch Umeyama fit of ``points ~ s * R @ reference + t``.

    Args:
        points: ``(T, N, 3)`` observed points.
        reference: ``(N, 3)`` model points.

    Returns:
        ``(s (T,), R (T, 3, 3), t (T, 3))`` with ``det(R) = +1``.
    """
    mu_p = points.mean(axis=1)
    mu_r = reference.mean(axis=0)
    p = points - mu_p[:, None]
    r = reference - mu_r
    cov = np.einsum("tni,nj->tij", p, r) / reference.shape[0]
    U, S, Vt = np.linalg.svd(cov)
    d = np.sign(np.linalg.det(U @ Vt))
    D = np.ones((points.shape[0], 3))
    D[:, 2] = d
    R = U @ (D[:, :, None] * Vt)
    var_r = (r**2).sum() / reference.shape[0]
    s = (S * D).sum(axis=1) / var_r
    t = mu_p - s[:, None] * np.einsum("tij,j->ti", R, mu_r)
    return s, R, t


def to_canonical(
    points: np.ndarray, scale: np.ndarray, rotation: np.ndarray, translation: np.ndarray
) -> np.ndarray:
    """``(T, N, 3)`` points with the pose ``points ~ s * R @ canonical + t`` removed.

    Args:
        points: ``(T, N, 3)`` image points.
        scale, rotation, translation: ``(T,)``, ``(T, 3, 3)``, ``(T, 3)`` from
            ``similarity_align``.
    """
    centred = points - translation[:, None]
    return np.einsum("tji,tnj->tni", rotation, centred) / scale[:, None, None]


def fit_track(track: FaceTrack, model: FaceModel | None = None) -> FaceFit:
    """Fit pose, neutral shape and expression to every frame of a track.

    Works through the track in chunks, so memory does not grow with its length.

    Args:
        track: The tracked face.
        model: The canonical face; the packaged one by default.

    Returns:
        The FaceFit, with NaN pose and shape on frames where the face is absent.
    """
    model = model or load_face_model()
    t_count = track.n_frames
    stable = np.asarray(STABLE)
    reference = model.template[stable].astype(np.float64)
    scale = np.full((t_count,), np.nan, np.float32)
    rotation = np.tile(np.eye(3, dtype=np.float32), (t_count, 1, 1))
    translation = np.full((t_count, 3), np.nan, np.float32)
    canonical = empty_frames(t_count, (N_LANDMARKS, 3))
    for sl in chunks(t_count):
        idx = np.flatnonzero(track.present[sl]) + sl.start
        block = np.full((sl.stop - sl.start, N_LANDMARKS, 3), np.nan, np.float32)
        if idx.size:
            lm = track.landmarks[idx].astype(np.float64)
            s, R, t = similarity_align(lm[:, stable], reference)
            scale[idx], rotation[idx], translation[idx] = s, R, t
            block[idx - sl.start] = to_canonical(lm, s, R, t)
        canonical[sl] = block
        release(canonical, track.landmarks)
    n_seg = int(track.segment.max()) + 1 if t_count else 0
    neutral = np.zeros((n_seg, N_LANDMARKS, 3), np.float32)
    for k in range(n_seg):
        frames = np.flatnonzero(track.segment == k)
        if frames.size > _NEUTRAL_SAMPLES:
            frames = frames[np.linspace(0, frames.size - 1, _NEUTRAL_SAMPLES).astype(int)]
        neutral[k] = np.median(canonical[frames], axis=0)
    release(canonical)
    return FaceFit(
        scale=scale,
        rotation=rotation,
        translation=translation,
        canonical=canonical,
        neutral=neutral,
        segment=track.segment.copy(),
    )
