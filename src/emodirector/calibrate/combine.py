"""Combination: the emotions whose actors' prototypes are averaged rather than median-combined.

``calibrate.prototypes`` combines three or more actors' prototypes by a per-coordinate median,
so that one actor's idiosyncrasy does not leak in. But the median takes every coordinate from
whichever actor lies in the middle there, a shape no actor made. Where the actors act an
emotion in different ways it can lose what they share: MEAD's surprise parts the lips at their
middle by 0.072, 0.022 and -0.025 mouth widths (W011, W009, M030); the median of the lip points
parts them by 0.007, the mean by 0.028 (sad: the median presses them by 0.042, more than any
actor, -0.025 to +0.016).

Leave-one-actor-out cannot decide this: with three actors a held-out calibration has two, whose
median is their mean, which is why ``calibrate.strength`` and ``calibrate.contrast`` never saw
the median. The choice is made on the actors themselves:

1. prototypes are calibrated from all actors twice, by the median and by the mean;
2. each actor's neutral take is edited towards each emotion at intensity 1 and strength
   ``contrast.CONTRAST_STRENGTH`` with both, and the classifier reads the edits (every
   ``step``-th frame);
3. the mean is adopted for an emotion where it reads at least ``strength.MIN_RISE`` higher on
   average over the actors and lower for none of them (``contrast.choose_contrast``'s rule); an
   emotion the classifier cannot see (``strength.BLIND_LEVEL``) keeps the median.

Both candidates come from the same actors the edits are read on, so this is not a held-out
measure; the talking clips the edits are judged on are never read here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from emodirector.calibrate.contrast import CONTRAST_STRENGTH
from emodirector.calibrate.detail import calibrate_detail
from emodirector.calibrate.prototypes import LabeledFit, calibrate_prototypes
from emodirector.calibrate.strength import (
    BLIND_LEVEL,
    FRAME_STEP,
    MIN_RISE,
    HeldOut,
    acted_readings,
    held_out_actors,
    mean_probabilities,
)
from emodirector.emotion import EXPRESSIVE, Emotion
from emodirector.evaluate.emotion import EMOTION_CLASSES, EmotionClassifier

#: Fewest actors for which the two rules differ (with two, the median is the mean).
MIN_ACTORS = 3


@dataclass(frozen=True)
class CombinationCalibration:
    """What ``calibrate_combination`` measured and chose.

    Attributes:
        emotions: The emotions measured.
        actors: The actors whose neutral takes were edited.
        acted: ``(E,)`` mean target probability of the acted takes.
        median: ``(A, E)`` target readings of the edits with the median-combined prototypes.
        mean: ``(A, E)`` the same with the mean-combined prototypes.
        chosen: The emotions combined by the mean.
    """

    emotions: tuple[Emotion, ...]
    actors: tuple[str, ...]
    acted: np.ndarray
    median: np.ndarray
    mean: np.ndarray
    chosen: tuple[Emotion, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "actors": list(self.actors),
            "strength": CONTRAST_STRENGTH,
            "emotions": {
                e.value: {
                    "acted": round(float(self.acted[k]), 4),
                    "median": [round(float(v), 4) for v in self.median[:, k]],
                    "mean": [round(float(v), 4) for v in self.mean[:, k]],
                    "by_mean": e in self.chosen,
                }
                for k, e in enumerate(self.emotions)
            },
        }


def choose_mean(median: Sequence[float], mean: Sequence[float], min_rise: float = MIN_RISE) -> bool:
    """Whether the mean-combined prototype reads at least ``min_rise`` higher than the
    median-combined one on average over the actors and lower for none of them.

    >>> choose_mean([0.56, 0.64, 0.46], [0.78, 0.69, 0.58])
    True
    >>> choose_mean([0.45, 0.27, 0.21], [0.50, 0.25, 0.23])
    False
    """
    a = np.asarray(median, np.float64)
    b = np.asarray(mean, np.float64)
    ok = ~np.isnan(a) & ~np.isnan(b)
    if not ok.any() or bool((b[ok] < a[ok]).any()):
        return False
    return float(b[ok].mean() - a[ok].mean()) >= min_rise


def calibrate_combination(
    fits: list[LabeledFit],
    progress: Callable[[str], None] | None = None,
    step: int = FRAME_STEP,
) -> CombinationCalibration:
    """Choose, per emotion, the median or the mean of the actors (see the module docstring).

    With fewer than ``MIN_ACTORS`` actors nothing is read and nothing is chosen.

    Raises:
        InvalidOptionError: Fewer than two actors with a neutral take and an emotional one.
    """
    by_actor, actors = held_out_actors(fits)
    emotions = tuple(e for e in EXPRESSIVE if any(e in by_actor[a] for a in actors))
    shape = (len(actors), len(emotions))
    if len(actors) < MIN_ACTORS:
        nan = np.full(shape, np.nan)
        return CombinationCalibration(
            emotions, actors, np.full(len(emotions), np.nan), nan, nan.copy(), ()
        )
    usable = [f for f in fits if f.clip.actor in actors]
    candidates = (
        calibrate_prototypes(usable),
        calibrate_prototypes(usable, mean_of=emotions),
    )
    detail = calibrate_detail(usable)
    readings = np.full((2, *shape), np.nan)
    with EmotionClassifier() as clf:
        acted = acted_readings(clf, by_actor, actors, emotions, step)
        for i, actor in enumerate(actors):
            neutral = HeldOut.of(by_actor[actor][Emotion.NEUTRAL], step, detail)
            for k, e in enumerate(emotions):
                if e not in candidates[0].emotions:
                    continue
                c = EMOTION_CLASSES.index(e.value)
                for r, prototypes in enumerate(candidates):
                    _, faces = neutral.edit(prototypes, e, CONTRAST_STRENGTH)
                    readings[r, i, k] = mean_probabilities(clf, faces, neutral.rotation)[c]
            if progress is not None:
                progress(f"combination: read {actor}")
    chosen = tuple(
        e
        for k, e in enumerate(emotions)
        if acted[k] >= BLIND_LEVEL and choose_mean(readings[0, :, k], readings[1, :, k])
    )
    return CombinationCalibration(emotions, actors, acted, readings[0], readings[1], chosen)


__all__ = [
    "MIN_ACTORS",
    "CombinationCalibration",
    "calibrate_combination",
    "choose_mean",
]
