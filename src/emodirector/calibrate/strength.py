"""Calibrated strength: how much of each prototype makes intensity 1 read like MEAD level 3.

A prototype is the actors' combined offset with the jaw's motion taken out, and an edit applies
its mouth only as the speech constraint allows (``fit.speech``: no lip parting where the
speech closes the lips, the aperture scaled within 0.8..1.35), so an edit at the prototype
reads weaker than the acted footage it came from. Per emotion, the strength is the smallest
candidate weight at which edits of *held-out* actors read as strongly as the acted takes:

1. the classifier reads every actor's acted takes (every ``step``-th frame): the target;
2. for each actor in turn, prototypes and expression detail are calibrated from the *other*
   actors, and the actor's neutral take is edited towards each emotion at intensity 1 with each
   candidate strength (geometry and detail both scale with it); the classifier reads the edits;
3. per emotion, the smallest candidate whose mean reading over the held-out actors reaches the
   target is chosen; if none does, the candidate with the highest reading, but only if it reads
   at least ``MIN_RISE`` more than strength 1 (where more strength reads no stronger, it would
   only distort the face).

An emotion whose acted takes the classifier reads below ``BLIND_LEVEL`` is one it cannot see
(MEAD's disgust reads 0.03): its readings say nothing about the strength, which would stay at 1
however faint the edit. Such an emotion's strength is chosen by an independent measure instead,
the *geometry rule*: for each held-out actor, the RMS of the mean canonical offset of its acted
peak frames (jaw motion taken out, ``calibrate.prototypes.peak_frames``) in each region of
``MATCH_REGIONS`` (nose and upper lip: AU9/AU10; brows: AU4; lids), against the same of the
edit of its neutral take (``geometry_ratio``); the smallest candidate whose ratio, averaged over
the regions and the held-out actors, reaches 1 is chosen (else the largest).

The candidates stop at ``STRENGTHS[-1]``, beyond which faces distort (see
``benchmarks/results/calibration_notes.md``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emodirector.calibrate.detail import calibrate_detail
from emodirector.calibrate.prototypes import LabeledFit, calibrate_prototypes, peak_offsets
from emodirector.errors import InvalidOptionError
from emodirector.evaluate.emotion import EMOTION_CLASSES, EmotionClassifier
from emodirector.face_model import (
    LEFT_BROW,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LIPS_OUTER_UPPER,
    RIGHT_BROW,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
)
from emodirector.fit.expression import EmotionRegion
from emodirector.manipulate.emotions import Emotion, EmotionTarget
from emodirector.manipulate.prototypes import EmotionPrototypes
from emodirector.pipeline import (
    FaceFrames,
    VideoAnalysis,
    clip_faces,
    edited_landmarks,
    plan_edit,
    render_frame,
)
from emodirector.render.detail import ExpressionDetail
from emodirector.render.renderer import WarpRenderer
from emodirector.video.reader import VideoInfo, iter_frames, probe

#: Candidate strengths, weakest first.
STRENGTHS = (1.0, 1.15, 1.3, 1.45, 1.6)
#: Least rise of the held-out reading that justifies a strength above 1 short of the target
#: (smaller rises are within the calibration's own noise).
MIN_RISE = 0.05
#: Every this many frames is read.
FRAME_STEP = 8
#: An emotion whose acted takes the classifier reads below this (mean target probability) is
#: one it cannot see; its strength follows the geometry rule. MEAD's acted disgust reads 0.03;
#: the next lowest, fear, 0.37.
BLIND_LEVEL = 0.15
#: Regions whose acted geometry the geometry rule matches: the nose and the upper lip (AU9,
#: AU10), the brows (AU4), the lids.
MATCH_REGIONS: dict[str, tuple[int, ...]] = {
    "nose_lip": tuple(EmotionRegion.NOSE.value) + LIPS_OUTER_UPPER,
    "brows": RIGHT_BROW + LEFT_BROW,
    "lids": RIGHT_EYE_UPPER + RIGHT_EYE_LOWER + LEFT_EYE_UPPER + LEFT_EYE_LOWER,
}


@dataclass(frozen=True)
class StrengthCalibration:
    """What ``calibrate_strength`` measured and chose.

    Attributes:
        emotions: The emotions, in the prototypes' order.
        candidates: The strengths tried.
        actors: The held-out actors.
        acted: ``(E,)`` mean target probability of the acted takes (mean over actors).
        held_out: ``(A, E, S)`` mean target probability of each held-out actor's edited
            neutral take, per emotion and candidate.
        chosen: ``(E,)`` the strength chosen per emotion.
        geometry: ``(A, E, S)`` each edit's ``geometry_ratio`` against the held-out actor's
            acted peak (NaN where not measured).
    """

    emotions: tuple[Emotion, ...]
    candidates: tuple[float, ...]
    actors: tuple[str, ...]
    acted: np.ndarray
    held_out: np.ndarray
    chosen: np.ndarray
    geometry: np.ndarray | None = None

    def blind(self, k: int) -> bool:
        """Whether the classifier cannot see emotion ``k`` (acted reading below
        ``BLIND_LEVEL``); its strength then follows the geometry rule."""
        return bool(self.acted[k] < BLIND_LEVEL)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "candidates": list(self.candidates),
            "actors": list(self.actors),
            "emotions": {
                e.value: {
                    "acted": round(float(self.acted[k]), 4),
                    "held_out_mean": [round(float(v), 4) for v in self.held_out[:, k].mean(0)],
                    "held_out": {
                        a: [round(float(v), 4) for v in self.held_out[i, k]]
                        for i, a in enumerate(self.actors)
                    },
                    "chosen": float(self.chosen[k]),
                    "blind": self.blind(k),
                    **(
                        {}
                        if self.geometry is None
                        else {
                            "geometry_mean": [
                                round(float(v), 4) for v in np.nanmean(self.geometry[:, k], 0)
                            ]
                        }
                    ),
                }
                for k, e in enumerate(self.emotions)
            },
        }


def choose_strength(
    target: float,
    readings: Sequence[float],
    candidates: Sequence[float] = STRENGTHS,
    min_rise: float = MIN_RISE,
) -> float:
    """The smallest candidate whose reading reaches ``target`` (see the module docstring).

    >>> choose_strength(0.44, [0.34, 0.37, 0.41, 0.45, 0.47])
    1.45
    >>> choose_strength(0.40, [0.34, 0.37, 0.41, 0.45, 0.47])
    1.3
    >>> choose_strength(0.85, [0.62, 0.69, 0.72, 0.71, 0.70])
    1.3
    >>> choose_strength(0.39, [0.08, 0.09, 0.09, 0.09, 0.10])
    1.0
    """
    if len(readings) != len(candidates) or not candidates:
        raise ValueError("one reading per candidate")
    for c, r in zip(candidates, readings, strict=True):
        if r >= target:
            return float(c)
    best = int(np.argmax(readings))
    return float(candidates[best]) if readings[best] - readings[0] >= min_rise else 1.0


def choose_by_geometry(ratios: Sequence[float], candidates: Sequence[float] = STRENGTHS) -> float:
    """The geometry rule: the smallest candidate whose ``geometry_ratio`` reaches 1, else the
    largest.

    >>> choose_by_geometry([0.73, 0.85, 0.97, 1.09, 1.21])
    1.45
    >>> choose_by_geometry([1.2, 1.5, 1.8, 2.1, 2.4])
    1.0
    >>> choose_by_geometry([0.2, 0.3, 0.4, 0.5, 0.6])
    1.6
    """
    if len(ratios) != len(candidates) or not candidates:
        raise ValueError("one ratio per candidate")
    for c, r in zip(candidates, ratios, strict=True):
        if r >= 1.0:
            return float(c)
    return float(candidates[-1])


def region_rms(offsets: np.ndarray) -> np.ndarray:
    """``(R,)`` RMS (x and y) of ``(478, 3)`` canonical offsets in each of ``MATCH_REGIONS``."""
    return np.array(
        [np.sqrt(np.mean(offsets[list(idx), :2] ** 2)) for idx in MATCH_REGIONS.values()]
    )


def geometry_ratio(edit: np.ndarray, acted: np.ndarray) -> float:
    """How strongly an edit moves the face against the acting, averaged over the regions.

    Args:
        edit: ``(T, 478, 3)`` canonical offsets an edit adds to frames of a neutral take.
        acted: ``(T', 478, 3)`` offsets of an acted take's peak frames from the same actor's
            neutral face, jaw motion taken out.

    Returns:
        The mean over ``MATCH_REGIONS`` of the ratio of the region's RMS of the mean offsets
        (the mean takes the speech and the tracker's jitter out of both).
    """
    e = region_rms(np.nanmean(np.asarray(edit, np.float64), axis=0))
    a = region_rms(np.nanmean(np.asarray(acted, np.float64), axis=0))
    return float(np.mean(e / np.maximum(a, 1e-9)))


def _sampled(fit: LabeledFit, info: VideoInfo, step: int) -> list[tuple[int, np.ndarray]]:
    """Every ``step``-th frame with a face of a labelled take, as ``yuv420p`` images."""
    present = fit.fit.present
    return [
        (f.index, f.image)
        for f in iter_frames(info, "yuv420p")
        if f.index % step == 0 and f.index < present.shape[0] and present[f.index]
    ]


def _read(
    clf: EmotionClassifier, faces: list[tuple[np.ndarray, np.ndarray]], rotation: int, k: int
) -> float:
    """Mean probability of class ``k`` over ``(yuv420p image, landmarks)`` pairs."""
    if not faces:
        return float("nan")
    return float(mean_probabilities(clf, faces, rotation)[k])


def mean_probabilities(
    clf: EmotionClassifier, faces: list[tuple[np.ndarray, np.ndarray]], rotation: int
) -> np.ndarray:
    """``(C,)`` mean class probabilities (``EMOTION_CLASSES``) over ``(image, landmarks)``."""
    ps = [clf.predict_face(img[: img.shape[0] * 2 // 3], lm, rotation) for img, lm in faces]
    return np.mean(ps, axis=0)


@dataclass(frozen=True)
class HeldOut:
    """An actor's neutral take, to be edited with prototypes calibrated without that actor.

    Its edits are rendered as ``edit_video`` renders them: by a renderer prepared for each edit
    (the mouth interior retrieved from the take's own frames). The renderers are kept per
    detail, shared by the copies ``dataclasses.replace`` makes with another detail, so that the
    take's frames are read for the mouth once per detail, not once per edit.
    """

    analysis: VideoAnalysis
    frames: list[tuple[int, np.ndarray]]
    landmarks: np.ndarray
    detail: ExpressionDetail
    renderers: dict[int, tuple[ExpressionDetail, WarpRenderer]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def of(cls, neutral: LabeledFit, step: int, detail: ExpressionDetail) -> HeldOut:
        """``neutral`` (every ``step``-th frame read), rendered with ``detail``."""
        info = probe(neutral.clip.path)
        analysis = VideoAnalysis(info=info, track=neutral.track, fit=neutral.fit)
        return cls(analysis, _sampled(neutral, info, step), neutral.track.landmarks, detail)

    def renderer(self) -> WarpRenderer:
        """The renderer of ``detail`` (made on first use)."""
        kept = self.renderers.get(id(self.detail))
        if kept is None or kept[0] is not self.detail:
            kept = (self.detail, WarpRenderer.from_options(detail=self.detail))
            self.renderers[id(self.detail)] = kept
        return kept[1]

    @property
    def rotation(self) -> int:
        return self.analysis.info.rotation

    def edit(
        self, prototypes: EmotionPrototypes, emotion: Emotion, strength: float
    ) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """``(offsets, faces)``: the canonical offsets an edit towards ``emotion`` at intensity 1
        adds to the read frames, and those frames rendered with their edited landmarks."""
        weights = np.ones(len(prototypes.emotions), np.float32)
        weights[prototypes.index(emotion)] = strength
        scaled = dataclasses.replace(prototypes, strength=weights)
        edit = plan_edit(self.analysis, EmotionTarget(emotion, 1.0), prototypes=scaled)
        renderer = self.renderer()
        renderer.prepare([clip_faces(self.analysis, edit)])
        face_frames = FaceFrames(self.analysis, edit)
        faces = []
        for t, img in self.frames:
            moved = edited_landmarks(self.analysis, edit, t)
            rendered = render_frame(img, t, self.analysis, edit, renderer=renderer,
                                    faces=face_frames)  # fmt: skip
            faces.append((rendered, self.landmarks[t] if moved is None else moved))
        index = np.array([t for t, _ in self.frames], dtype=int)
        return edit.offsets(index), faces


def held_out_actors(
    fits: list[LabeledFit],
) -> tuple[dict[str, dict[Emotion, LabeledFit]], tuple[str, ...]]:
    """``(takes per actor and emotion, the actors with a neutral take and another)``.

    Raises:
        InvalidOptionError: Fewer than two such actors.
    """
    by_actor: dict[str, dict[Emotion, LabeledFit]] = {}
    for f in fits:
        by_actor.setdefault(f.clip.actor, {})[f.clip.emotion] = f
    actors = tuple(
        sorted(a for a, takes in by_actor.items() if Emotion.NEUTRAL in takes and len(takes) > 1)
    )
    if len(actors) < 2:
        raise InvalidOptionError("strength needs at least two actors, each with a neutral take")
    return by_actor, actors


def held_out_calibration(
    fits: list[LabeledFit],
    by_actor: dict[str, dict[Emotion, LabeledFit]],
    held: str,
    step: int,
    transform: Callable[[EmotionPrototypes], EmotionPrototypes] | None = None,
) -> tuple[EmotionPrototypes, HeldOut]:
    """The prototypes calibrated without actor ``held`` (then ``transform``ed), and ``held``'s
    neutral take to edit with them, rendered with the detail calibrated without them."""
    rest = [f for f in fits if f.clip.actor != held]
    prototypes = calibrate_prototypes(rest)
    if transform is not None:
        prototypes = transform(prototypes)
    return prototypes, HeldOut.of(by_actor[held][Emotion.NEUTRAL], step, calibrate_detail(rest))


def acted_readings(
    clf: EmotionClassifier,
    by_actor: dict[str, dict[Emotion, LabeledFit]],
    actors: tuple[str, ...],
    emotions: tuple[Emotion, ...],
    step: int,
) -> np.ndarray:
    """``(E,)`` the classifier's mean target probability of the actors' acted takes."""
    acted = np.zeros(len(emotions))
    for k, e in enumerate(emotions):
        c = EMOTION_CLASSES.index(e.value)
        per_actor = []
        for a in actors:
            take = by_actor[a].get(e)
            if take is not None:
                info = probe(take.clip.path)
                faces = [(img, take.track.landmarks[t]) for t, img in _sampled(take, info, step)]
                per_actor.append(_read(clf, faces, info.rotation, c))
        acted[k] = float(np.nanmean(per_actor))
    return acted


def calibrate_strength(
    fits: list[LabeledFit],
    progress: Callable[[str], None] | None = None,
    candidates: Sequence[float] = STRENGTHS,
    step: int = FRAME_STEP,
    transform: Callable[[EmotionPrototypes], EmotionPrototypes] | None = None,
) -> StrengthCalibration:
    """Measure each emotion's strength on held-out actors (see the module docstring).

    Args:
        fits: Labelled takes of at least two actors with a neutral take each.
        progress: Called with a line of text per held-out actor.
        candidates: Strengths to try, weakest first (the first is normally 1).
        step: Frame step of the readings.
        transform: Applied to each held-out calibration's prototypes before they are edited
            with (the contrast of ``calibrate.contrast``, as the shipped prototypes get it).

    Raises:
        InvalidOptionError: Fewer than two actors with a neutral take and an emotional one.
    """
    by_actor, actors = held_out_actors(fits)
    emotions = tuple(
        e for e in Emotion if e is not Emotion.NEUTRAL and any(e in by_actor[a] for a in actors)
    )
    held_out = np.full((len(actors), len(emotions), len(candidates)), np.nan)
    geometry = np.full_like(held_out, np.nan)
    peaks = peak_offsets([f for f in fits if f.clip.actor in actors])
    with EmotionClassifier() as clf:
        acted = acted_readings(clf, by_actor, actors, emotions, step)
        for i, held in enumerate(actors):
            prototypes, neutral = held_out_calibration(fits, by_actor, held, step, transform)
            for k, e in enumerate(emotions):
                if e not in prototypes.emotions:
                    continue
                c = EMOTION_CLASSES.index(e.value)
                for j, s in enumerate(candidates):
                    offsets, faces = neutral.edit(prototypes, e, s)
                    held_out[i, k, j] = _read(clf, faces, neutral.rotation, c)
                    if (held, e) in peaks:
                        geometry[i, k, j] = geometry_ratio(offsets, peaks[held, e])
            if progress is not None:
                progress(f"strength: held out {held}")
    return StrengthCalibration(
        emotions=emotions,
        candidates=tuple(float(c) for c in candidates),
        actors=actors,
        acted=acted,
        held_out=held_out,
        chosen=chosen_strengths(acted, held_out, geometry, candidates),
        geometry=geometry,
    )


def chosen_strengths(
    acted: np.ndarray, held_out: np.ndarray, geometry: np.ndarray, candidates: Sequence[float]
) -> np.ndarray:
    """``(E,)`` each emotion's strength: by the held-out readings (``choose_strength``), or,
    for an emotion the classifier cannot see (acted below ``BLIND_LEVEL``), by the geometry
    rule (``choose_by_geometry``); arrays as in ``StrengthCalibration``."""
    return np.array(
        [
            choose_by_geometry(list(np.nanmean(geometry[:, k], axis=0)), candidates)
            if acted[k] < BLIND_LEVEL
            else choose_strength(
                float(acted[k]), list(np.nanmean(held_out[:, k], axis=0)), candidates
            )
            for k in range(len(acted))
        ]
    )


def with_strength(
    prototypes: EmotionPrototypes, calibration: StrengthCalibration
) -> EmotionPrototypes:
    """``prototypes`` with the calibrated strength of every emotion both cover."""
    strength = prototypes.strength.copy()
    for k, e in enumerate(calibration.emotions):
        if e in prototypes.emotions:
            strength[prototypes.index(e)] = calibration.chosen[k]
    return dataclasses.replace(prototypes, strength=strength.astype(np.float32))


__all__ = [
    "FRAME_STEP",
    "BLIND_LEVEL",
    "MATCH_REGIONS",
    "MIN_RISE",
    "STRENGTHS",
    "HeldOut",
    "StrengthCalibration",
    "acted_readings",
    "calibrate_strength",
    "held_out_actors",
    "held_out_calibration",
    "mean_probabilities",
    "choose_by_geometry",
    "choose_strength",
    "chosen_strengths",
    "geometry_ratio",
    "region_rms",
    "with_strength",
]
