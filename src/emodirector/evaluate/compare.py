"""Compare an original clip with its edit, frame by frame: what the edit changed and kept.

``evaluate_edit`` measures both clips (``measure_clip``), then decodes them side by side once
more for the pixels outside the face and a few before/after stills. ``EditEvaluation.to_dict``
gives the JSON (stable keys, documented in ``EditEvaluation``).
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass

import numpy as np

from emodirector.errors import InvalidOptionError
from emodirector.evaluate.dlibface import SAME_PERSON_DISTANCE
from emodirector.evaluate.emotion import EMOTION_CLASSES
from emodirector.evaluate.lips import (
    CLOSED_LIP_GAP,
    CLOSED_LIP_MARGIN,
    MIN_FRAMES,
    LipClosures,
    LipSyncReport,
    compare_apertures,
    lip_closures,
)
from emodirector.evaluate.measure import ClipMeasurements, face_mask, measure_clip
from emodirector.manipulate.emotions import Emotion
from emodirector.track.tracker import ProgressCallback, TrackerOptions
from emodirector.video.reader import iter_frames
from emodirector.video.rotation import upright

#: The region that counts as "face" for the untouched-outside check: the face oval scaled about
#: its centre (the editor's anchor ring, beyond which nothing may change, is at 1.25).
OUTSIDE_SCALE = 1.3
#: A luma difference above this (0..255) counts as a changed pixel (codec noise stays below).
CHANGED_LEVEL = 12
#: Before/after stills kept for the report.
N_STILLS = 3


def _nanmean(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else float("nan")


def _compensated(m: ClipMeasurements) -> float:
    """Mean motion-compensated flicker (NaN for measurements made without it)."""
    return float("nan") if m.flicker_compensated is None else _nanmean(m.flicker_compensated)


@dataclass(frozen=True)
class OutsideDifference:
    """Pixel differences outside the face region (``OUTSIDE_SCALE`` x the oval).

    Attributes:
        mean_abs: ``(T,) float64`` mean absolute luma difference (0..255) outside the region.
        changed_share: ``(T,) float64`` share of those pixels differing by more than
            ``CHANGED_LEVEL``.
        inside_mean_abs: ``(T,) float64`` the same mean inside the region (where edits belong).
    """

    mean_abs: np.ndarray
    changed_share: np.ndarray
    inside_mean_abs: np.ndarray


@dataclass(frozen=True)
class Still:
    """One frame of both clips.

    Attributes:
        index: Frame index.
        time: Seconds.
        original: ``(H, W, 3) uint8`` upright RGB of the original.
        edited: ``(H, W, 3) uint8`` the same frame of the edit.
    """

    index: int
    time: float
    original: np.ndarray
    edited: np.ndarray


@dataclass(frozen=True)
class EditSummary:
    """The numbers of an ``EditEvaluation`` that tables and checks read (NaN: not measurable).

    Attributes:
        target: The emotion aimed for (a name of ``EMOTION_CLASSES``).
        p_before: Mean probability of the target over the original's frames with a face.
        p_after: The same on the edit.
        top_before: Share of the original's face frames whose top class is the target.
        top_after: The same on the edit.
        dominant_before: The class with the highest mean probability on the original (None:
            no face).
        dominant_after: The same on the edit.
        mean_before: Mean probability of every class (``EMOTION_CLASSES`` order), original.
        mean_after: The same on the edit.
        identity_distance: Mean dlib descriptor distance, edit to original, on paired frames.
        identity_max_distance: Largest of those distances.
        identity_similarity: Mean cosine similarity of the same descriptors.
        same_person: Mean distance under dlib's threshold (None: no paired frame).
        lip_correlation: dlib inner-lip aperture correlation, edit to original.
        lip_mean_abs_difference: Mean absolute difference of those apertures.
        lip_frames: Frames with lips in both.
        closures_kept: Share of the original's closed-lip frames closed in the edit (dlib).
        wrongly_closed: Share of the original's open-lip frames closed in the edit.
        closed_frames: The original's closed-lip frames counted.
        jitter_before: Mean landmark jitter of the original.
        jitter_after: The same of the edit.
        flicker_before: Mean frame-to-frame luma change inside the face, original.
        flicker_after: The same of the edit.
        flicker_compensated_before: The same after following the face's motion, original.
        flicker_compensated_after: The same of the edit.
        outside_mean_abs: Mean absolute luma difference outside the face region.
        outside_max_frame_mean_abs: The largest per-frame value of it.
        outside_changed_share: Share of pixels outside changed by more than ``CHANGED_LEVEL``.
        inside_mean_abs: Mean absolute luma difference inside the face region.
        edit_fps: Speed of the edit, when known.
    """

    target: str
    p_before: float
    p_after: float
    top_before: float
    top_after: float
    dominant_before: str | None
    dominant_after: str | None
    mean_before: tuple[float, ...]
    mean_after: tuple[float, ...]
    identity_distance: float
    identity_max_distance: float
    identity_similarity: float
    same_person: bool | None
    lip_correlation: float
    lip_mean_abs_difference: float
    lip_frames: int
    closures_kept: float
    wrongly_closed: float
    closed_frames: int
    jitter_before: float
    jitter_after: float
    flicker_before: float
    flicker_after: float
    flicker_compensated_before: float
    flicker_compensated_after: float
    outside_mean_abs: float
    outside_max_frame_mean_abs: float
    outside_changed_share: float
    inside_mean_abs: float
    edit_fps: float | None

    def probability(self, emotion: str) -> tuple[float, float]:
        """Mean probability of ``emotion`` (a class name) before and after the edit."""
        k = EMOTION_CLASSES.index(emotion)
        return self.mean_before[k], self.mean_after[k]


@dataclass(frozen=True)
class EditEvaluation:
    """Everything measured on an (original, edited) pair.

    Attributes:
        original: Measurements of the original.
        edited: Measurements of the edit.
        target: The emotion the edit aimed for (a name of ``EMOTION_CLASSES``).
        lips: dlib inner-lip aperture and closed-lip frames of the edit against the original
            (None if fewer than 3 frames have lips in both).
        identity_frames: ``(K,) int64`` frames with a descriptor in both clips.
        identity_distance: ``(K,) float64`` dlib descriptor distance on those frames.
        identity_similarity: ``(K,) float64`` cosine similarity of the same descriptors.
        outside: Differences outside the face.
        stills: Before/after frames.
        edit_fps: Speed of the edit (frames per second), when known.
    """

    original: ClipMeasurements
    edited: ClipMeasurements
    target: str
    lips: LipSyncReport | None
    identity_frames: np.ndarray
    identity_distance: np.ndarray
    identity_similarity: np.ndarray
    outside: OutsideDifference
    stills: tuple[Still, ...]
    edit_fps: float | None = None

    def summary(self) -> EditSummary:
        """The headline numbers, typed."""
        k = EMOTION_CLASSES.index(self.target)
        eo, ee = self.original.emotion, self.edited.emotion
        dist, lips, outside = self.identity_distance, self.lips, self.outside
        nan = float("nan")
        return EditSummary(
            target=self.target,
            p_before=float(eo.mean[k]),
            p_after=float(ee.mean[k]),
            top_before=eo.share_top(self.target),
            top_after=ee.share_top(self.target),
            dominant_before=eo.dominant(),
            dominant_after=ee.dominant(),
            mean_before=tuple(float(v) for v in eo.mean),
            mean_after=tuple(float(v) for v in ee.mean),
            identity_distance=_nanmean(dist),
            identity_max_distance=float(dist.max()) if dist.size else nan,
            identity_similarity=_nanmean(self.identity_similarity),
            same_person=bool(_nanmean(dist) < SAME_PERSON_DISTANCE) if dist.size else None,
            lip_correlation=lips.correlation if lips else nan,
            lip_mean_abs_difference=lips.mean_abs_difference if lips else nan,
            lip_frames=lips.frames if lips else 0,
            closures_kept=lips.closures_kept if lips else nan,
            wrongly_closed=lips.wrongly_closed if lips else nan,
            closed_frames=lips.closed_frames if lips else 0,
            jitter_before=_nanmean(self.original.jitter),
            jitter_after=_nanmean(self.edited.jitter),
            flicker_before=_nanmean(self.original.flicker),
            flicker_after=_nanmean(self.edited.flicker),
            flicker_compensated_before=_compensated(self.original),
            flicker_compensated_after=_compensated(self.edited),
            outside_mean_abs=_nanmean(outside.mean_abs),
            outside_max_frame_mean_abs=float(np.nanmax(outside.mean_abs))
            if np.isfinite(outside.mean_abs).any()
            else nan,
            outside_changed_share=_nanmean(outside.changed_share),
            inside_mean_abs=_nanmean(outside.inside_mean_abs),
            edit_fps=self.edit_fps,
        )

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form of ``summary`` and the per-frame series, stable keys (NaN: None)."""
        s = self.summary()
        eo, ee = self.original.emotion, self.edited.emotion

        def num(x: float | None) -> float | None:
            return None if x is None or not math.isfinite(x) else round(float(x), 6)

        def probs(series: np.ndarray) -> list[list[float | None]]:
            return [[num(v) for v in row] for row in series.tolist()]

        return {
            "schema": "emodirector.evaluate/1",
            "original": str(self.original.info.path),
            "edited": str(self.edited.info.path),
            "frames": self.original.n_frames,
            "fps": num(float(self.original.info.fps)),
            "target": self.target,
            "classes": list(EMOTION_CLASSES),
            "emotion": {
                "target_probability_before": num(s.p_before),
                "target_probability_after": num(s.p_after),
                "target_top_share_before": num(s.top_before),
                "target_top_share_after": num(s.top_after),
                "dominant_before": s.dominant_before,
                "dominant_after": s.dominant_after,
                "mean_before": [num(v) for v in s.mean_before],
                "mean_after": [num(v) for v in s.mean_after],
                "per_frame_before": probs(eo.probabilities),
                "per_frame_after": probs(ee.probabilities),
            },
            "identity": {
                "frames": [int(i) for i in self.identity_frames],
                "mean_distance": num(s.identity_distance),
                "max_distance": num(s.identity_max_distance),
                "mean_cosine_similarity": num(s.identity_similarity),
                "same_person": s.same_person,
                "same_person_threshold": SAME_PERSON_DISTANCE,
            },
            "speech": {
                "lip_correlation": num(s.lip_correlation),
                "lip_mean_abs_difference": num(s.lip_mean_abs_difference),
                "frames": s.lip_frames,
                "closures_kept": num(s.closures_kept),
                "wrongly_closed": num(s.wrongly_closed),
                "closed_frames": s.closed_frames,
                "open_frames": self.lips.open_frames if self.lips else 0,
                "closed_lip_gap": CLOSED_LIP_GAP,
                "closed_lip_margin": CLOSED_LIP_MARGIN,
            },
            "stability": {
                "jitter_before": num(s.jitter_before),
                "jitter_after": num(s.jitter_after),
                "face_flicker_before": num(s.flicker_before),
                "face_flicker_after": num(s.flicker_after),
                "face_flicker_compensated_before": num(s.flicker_compensated_before),
                "face_flicker_compensated_after": num(s.flicker_compensated_after),
            },
            "outside_face": {
                "mean_abs_difference": num(s.outside_mean_abs),
                "max_frame_mean_abs_difference": num(s.outside_max_frame_mean_abs),
                "changed_pixel_share": num(s.outside_changed_share),
                "inside_mean_abs_difference": num(s.inside_mean_abs),
                "region_scale": OUTSIDE_SCALE,
                "changed_level": CHANGED_LEVEL,
            },
            "speed": {"edit_fps": num(s.edit_fps)},
        }


def with_closures(report: LipSyncReport, closures: LipClosures) -> LipSyncReport:
    """``report`` with the closed-lip counts of ``closures``."""
    return dataclasses.replace(
        report,
        closures_kept=closures.kept,
        wrongly_closed=closures.wrongly_closed,
        closed_frames=closures.closed_frames,
        open_frames=closures.open_frames,
    )


def identity_scores(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distance and cosine similarity of paired ``(K, 128)`` descriptors.

    >>> d, c = identity_scores(np.eye(2), np.eye(2)[::-1])
    >>> d.round(4).tolist(), c.tolist()
    ([1.4142, 1.4142], [0.0, 0.0])
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    dist = np.linalg.norm(a - b, axis=1)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = (a * b).sum(axis=1) / norms
    return dist, cos


def _still_frames(original: ClipMeasurements, edited: ClipMeasurements, target: str) -> list[int]:
    """Frames to show: the largest rise in target probability, the middle, the largest fall."""
    k = EMOTION_CLASSES.index(target)
    both = original.emotion.present & edited.emotion.present
    idx = np.flatnonzero(both)
    if idx.size == 0:
        return [original.n_frames // 2]
    rise = edited.emotion.probabilities[idx, k] - original.emotion.probabilities[idx, k]
    picks = [int(idx[np.argmax(rise)]), int(idx[idx.size // 2]), int(idx[np.argmin(rise)])]
    return sorted(dict.fromkeys(picks))[:N_STILLS]


def _pixel_pass(
    original: ClipMeasurements, edited: ClipMeasurements, stills_at: list[int]
) -> tuple[OutsideDifference, tuple[Still, ...]]:
    """Decode both clips side by side: luma differences outside/inside the face, and stills."""
    t = original.n_frames
    mean_abs = np.full(t, np.nan)
    changed = np.full(t, np.nan)
    inside = np.full(t, np.nan)
    info_o, info_e = original.info, edited.info
    h = info_o.height
    wanted = set(stills_at)
    stills: list[Still] = []
    frames_e = iter_frames(info_e, "yuv420p")
    for fo in iter_frames(info_o, "yuv420p"):
        fe = next(frames_e, None)
        if fe is None or fo.index >= t:
            break
        yo = fo.image[:h].astype(np.int16)
        ye = fe.image[: info_e.height].astype(np.int16)
        if yo.shape != ye.shape:
            raise InvalidOptionError(
                f"frame sizes differ: {info_o.width}x{info_o.height} vs "
                f"{info_e.width}x{info_e.height}"
            )
        diff = np.abs(yo - ye)
        if original.track.present[fo.index]:
            m = face_mask(
                (yo.shape[0], yo.shape[1]), original.track.landmarks[fo.index], OUTSIDE_SCALE
            )
        else:
            m = np.zeros(yo.shape, bool)
        out = diff[~m]
        if out.size:
            mean_abs[fo.index] = float(out.mean())
            changed[fo.index] = float((out > CHANGED_LEVEL).mean())
        if m.any():
            inside[fo.index] = float(diff[m].mean())
        if fo.index in wanted:
            stills.append(
                Still(
                    index=fo.index,
                    time=fo.time,
                    original=_upright_rgb(fo.image, info_o.rotation),
                    edited=_upright_rgb(fe.image, info_e.rotation),
                )
            )
    return OutsideDifference(mean_abs, changed, inside), tuple(stills)


def _upright_rgb(yuv: np.ndarray, rotation: int) -> np.ndarray:
    import cv2

    rgb = cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)
    return upright(rgb, rotation)


def evaluate_edit(
    original_path: str | os.PathLike[str],
    edited_path: str | os.PathLike[str],
    target: str,
    *,
    tracker: TrackerOptions | None = None,
    progress: ProgressCallback | None = None,
    edit_fps: float | None = None,
) -> EditEvaluation:
    """Measure an edit against its original, frame by frame.

    Args:
        original_path: The input video.
        edited_path: The edited video (same frames in the same order).
        target: The emotion aimed for (``happy``, ``sad``, ...; aliases as ``Emotion.parse``).
        tracker: MediaPipe tracking options for both clips.
        progress: ``progress(stage, done, total)``.
        edit_fps: Speed of the edit, to carry into the report.

    Raises:
        InvalidOptionError: Unknown emotion, or the clips differ in frame count or size.
        InputNotFoundError, UnsupportedVideoError, NoFaceFoundError, ModelNotInstalledError.
    """
    name = Emotion.parse(target).value
    original = measure_clip(original_path, tracker=tracker, progress=progress)
    edited = measure_clip(
        edited_path,
        tracker=tracker,
        progress=progress,
        identity_frames=original.identity_frames,
    )
    return compare_clips(original, edited, name, edit_fps=edit_fps)


def compare_clips(
    original: ClipMeasurements,
    edited: ClipMeasurements,
    target: str,
    *,
    edit_fps: float | None = None,
) -> EditEvaluation:
    """Compare two measured clips (see ``evaluate_edit``); decodes both once more for pixels.

    Raises:
        InvalidOptionError: Unknown emotion, or the clips differ in frame count or size.
    """
    name = Emotion.parse(target).value
    if original.n_frames != edited.n_frames:
        raise InvalidOptionError(
            f"the clips differ in frame count ({original.n_frames} vs {edited.n_frames})"
        )
    common = np.intersect1d(original.identity_frames, edited.identity_frames)
    da = original.descriptors[np.searchsorted(original.identity_frames, common)]
    db = edited.descriptors[np.searchsorted(edited.identity_frames, common)]
    dist, cos = identity_scores(da, db)
    both = np.isfinite(original.lip_aperture) & np.isfinite(edited.lip_aperture)
    lips = (
        with_closures(
            compare_apertures(original.lip_aperture, edited.lip_aperture),
            lip_closures(original.landmarks68, edited.landmarks68),
        )
        if int(both.sum()) >= MIN_FRAMES
        else None
    )
    outside, stills = _pixel_pass(original, edited, _still_frames(original, edited, name))
    return EditEvaluation(
        original=original,
        edited=edited,
        target=name,
        lips=lips,
        identity_frames=common.astype(np.int64),
        identity_distance=dist,
        identity_similarity=cos,
        outside=outside,
        stills=stills,
        edit_fps=edit_fps,
    )


__all__ = [
    "CHANGED_LEVEL",
    "OUTSIDE_SCALE",
    "EditEvaluation",
    "EditSummary",
    "OutsideDifference",
    "Still",
    "compare_clips",
    "evaluate_edit",
    "identity_scores",
    "with_closures",
]
