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

The candidates stop at ``STRENGTHS[-1]``, beyond which faces distort (see
``benchmarks/results/calibration_notes.md``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from emodirector.calibrate.detail import calibrate_detail
from emodirector.calibrate.prototypes import LabeledFit, calibrate_prototypes
from emodirector.errors import InvalidOptionError
from emodirector.evaluate.emotion import EMOTION_CLASSES, EmotionClassifier
from emodirector.manipulate.emotions import Emotion, EmotionTarget
from emodirector.manipulate.prototypes import EmotionPrototypes
from emodirector.pipeline import VideoAnalysis, edited_landmarks, plan_edit, render_frame
from emodirector.video.reader import VideoInfo, iter_frames, probe

#: Candidate strengths, weakest first.
STRENGTHS = (1.0, 1.15, 1.3, 1.45, 1.6)
#: Least rise of the held-out reading that justifies a strength above 1 short of the target
#: (smaller rises are within the calibration's own noise).
MIN_RISE = 0.05
#: Every this many frames is read.
FRAME_STEP = 8


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
    """

    emotions: tuple[Emotion, ...]
    candidates: tuple[float, ...]
    actors: tuple[str, ...]
    acted: np.ndarray
    held_out: np.ndarray
    chosen: np.ndarray

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
    ps = [clf.predict_face(img[: img.shape[0] * 2 // 3], lm, rotation)[k] for img, lm in faces]
    return float(np.mean(ps))


def calibrate_strength(
    fits: list[LabeledFit],
    progress: Callable[[str], None] | None = None,
    candidates: Sequence[float] = STRENGTHS,
    step: int = FRAME_STEP,
) -> StrengthCalibration:
    """Measure each emotion's strength on held-out actors (see the module docstring).

    Args:
        fits: Labelled takes of at least two actors with a neutral take each.
        progress: Called with a line of text per held-out actor.
        candidates: Strengths to try, weakest first (the first is normally 1).
        step: Frame step of the readings.

    Raises:
        InvalidOptionError: Fewer than two actors with a neutral take and an emotional one.
    """
    by_actor: dict[str, dict[Emotion, LabeledFit]] = {}
    for f in fits:
        by_actor.setdefault(f.clip.actor, {})[f.clip.emotion] = f
    actors = tuple(
        sorted(a for a, takes in by_actor.items() if Emotion.NEUTRAL in takes and len(takes) > 1)
    )
    if len(actors) < 2:
        raise InvalidOptionError("strength needs at least two actors, each with a neutral take")
    emotions = tuple(
        e for e in Emotion if e is not Emotion.NEUTRAL and any(e in by_actor[a] for a in actors)
    )
    acted = np.zeros(len(emotions))
    held_out = np.full((len(actors), len(emotions), len(candidates)), np.nan)
    with EmotionClassifier() as clf:
        for k, e in enumerate(emotions):
            c = EMOTION_CLASSES.index(e.value)
            per_actor = []
            for a in actors:
                take = by_actor[a].get(e)
                if take is not None:
                    info = probe(take.clip.path)
                    faces = [
                        (img, take.track.landmarks[t]) for t, img in _sampled(take, info, step)
                    ]
                    per_actor.append(_read(clf, faces, info.rotation, c))
            acted[k] = float(np.nanmean(per_actor))
        for i, held in enumerate(actors):
            rest = [f for f in fits if f.clip.actor != held]
            prototypes = calibrate_prototypes(rest)
            detail = calibrate_detail(rest)
            neutral = by_actor[held][Emotion.NEUTRAL]
            info = probe(neutral.clip.path)
            analysis = VideoAnalysis(info=info, track=neutral.track, fit=neutral.fit)
            frames = _sampled(neutral, info, step)
            for k, e in enumerate(emotions):
                if e not in prototypes.emotions:
                    continue
                c = EMOTION_CLASSES.index(e.value)
                for j, s in enumerate(candidates):
                    strength = np.ones(len(prototypes.emotions), np.float32)
                    strength[prototypes.index(e)] = s
                    scaled = dataclasses.replace(prototypes, strength=strength)
                    edit = plan_edit(analysis, EmotionTarget(e, 1.0), prototypes=scaled)
                    faces = []
                    for t, img in frames:
                        moved = edited_landmarks(analysis, edit, t)
                        faces.append(
                            (
                                render_frame(img, t, analysis, edit, detail=detail),
                                neutral.track.landmarks[t] if moved is None else moved,
                            )
                        )
                    held_out[i, k, j] = _read(clf, faces, info.rotation, c)
            if progress is not None:
                progress(f"strength: held out {held}")
    chosen = np.array(
        [
            choose_strength(float(acted[k]), list(np.nanmean(held_out[:, k], axis=0)), candidates)
            for k in range(len(emotions))
        ]
    )
    return StrengthCalibration(
        emotions=emotions,
        candidates=tuple(float(c) for c in candidates),
        actors=actors,
        acted=acted,
        held_out=held_out,
        chosen=chosen,
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
    "MIN_RISE",
    "STRENGTHS",
    "StrengthCalibration",
    "calibrate_strength",
    "choose_strength",
    "with_strength",
]
