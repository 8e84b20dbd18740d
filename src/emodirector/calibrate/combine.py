"""Combination: the emotions whose actors' prototypes, or expression detail, are averaged
rather than median-combined.

``calibrate.prototypes`` combines three or more actors' prototypes by a per-coordinate median,
and ``calibrate.detail`` their ratio images by a per-pixel median, so that one actor's
idiosyncrasy does not leak in. But the median takes every coordinate from
whichever actor lies in the middle there, a shape no actor made. Where the actors act an
emotion in different ways it can lose what they share: MEAD's surprise parts the lips at their
middle by 0.072, 0.022 and -0.025 mouth widths (W011, W009, M030); the median of the lip points
parts them by 0.007, the mean by 0.028 (sad: the median presses them by 0.042, more than any
actor, -0.025 to +0.016). The detail's median keeps only the folds two actors of three show.

Leave-one-actor-out cannot decide this: with three actors a held-out calibration has two, whose
median is their mean, which is why ``calibrate.strength`` and ``calibrate.contrast`` never saw
the median. The choice is made on the actors themselves:

1. prototypes are calibrated from all actors twice, by the median and by the mean;
2. each actor's neutral take is edited towards each emotion at intensity 1 and strength
   ``contrast.CONTRAST_STRENGTH`` with both (and the median-combined detail), and the
   classifier reads the edits (every ``step``-th frame);
3. the mean is adopted for an emotion where it reads at least ``strength.MIN_RISE`` higher on
   average over the actors and lower for none of them (``contrast.choose_contrast``'s rule); an
   emotion the classifier cannot see (``strength.BLIND_LEVEL``) keeps the median;
4. the same for the detail: median- and mean-combined, each edited with the prototypes chosen
   in 3, the same rule.

Both candidates come from the same actors the edits are read on, so this is not a held-out
measure; the talking clips the edits are judged on are never read here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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
from emodirector.manipulate.prototypes import EmotionPrototypes
from emodirector.render.detail import ExpressionDetail

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
        chosen: The emotions whose prototypes are combined by the mean.
        detail_median: ``(A, E)`` target readings with the median-combined expression detail
            (and the prototypes as chosen).
        detail_mean: ``(A, E)`` the same with the mean-combined detail.
        detail_chosen: The emotions whose detail is combined by the mean.
    """

    emotions: tuple[Emotion, ...]
    actors: tuple[str, ...]
    acted: np.ndarray
    median: np.ndarray
    mean: np.ndarray
    chosen: tuple[Emotion, ...]
    detail_median: np.ndarray
    detail_mean: np.ndarray
    detail_chosen: tuple[Emotion, ...]


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
    """Choose, per emotion, the median or the mean of the actors (see the module docstring):
    first for the prototypes (edited with the median-combined detail), then for the detail
    (edited with the prototypes just chosen).

    With fewer than ``MIN_ACTORS`` actors nothing is read and nothing is chosen.

    Raises:
        InvalidOptionError: Fewer than two actors with a neutral take and an emotional one.
    """
    by_actor, actors = held_out_actors(fits)
    emotions = tuple(e for e in EXPRESSIVE if any(e in by_actor[a] for a in actors))
    shape = (len(actors), len(emotions))
    if len(actors) < MIN_ACTORS:
        nan = np.full(shape, np.nan)
        acted = np.full(len(emotions), np.nan)
        return CombinationCalibration(emotions, actors, acted, nan, nan, (), nan, nan, ())
    usable = [f for f in fits if f.clip.actor in actors]
    prototypes = (
        calibrate_prototypes(usable),
        calibrate_prototypes(usable, mean_of=emotions),
    )
    details = (calibrate_detail(usable), calibrate_detail(usable, mean_of=emotions))
    with EmotionClassifier() as clf:
        acted = acted_readings(clf, by_actor, actors, emotions, step)
        neutrals = [HeldOut.of(by_actor[a][Emotion.NEUTRAL], step, details[0]) for a in actors]

        def read(candidates: list[tuple[EmotionPrototypes, ExpressionDetail]]) -> np.ndarray:
            readings = np.full((len(candidates), *shape), np.nan)
            for i, neutral in enumerate(neutrals):
                for k, e in enumerate(emotions):
                    if e not in candidates[0][0].emotions:
                        continue
                    c = EMOTION_CLASSES.index(e.value)
                    for r, (p, d) in enumerate(candidates):
                        held = dataclasses.replace(neutral, detail=d)
                        _, faces = held.edit(p, e, CONTRAST_STRENGTH)
                        readings[r, i, k] = mean_probabilities(clf, faces, held.rotation)[c]
            return readings

        def by_mean(readings: np.ndarray) -> tuple[Emotion, ...]:
            return tuple(
                e
                for k, e in enumerate(emotions)
                if acted[k] >= BLIND_LEVEL and choose_mean(readings[0, :, k], readings[1, :, k])
            )

        shape_readings = read([(p, details[0]) for p in prototypes])
        chosen = by_mean(shape_readings)
        if progress is not None:
            progress("combination: prototypes read")
        shipped = calibrate_prototypes(usable, mean_of=chosen)
        detail_readings = read([(shipped, d) for d in details])
        detail_chosen = by_mean(detail_readings)
        if progress is not None:
            progress("combination: detail read")
    return CombinationCalibration(
        emotions,
        actors,
        acted,
        shape_readings[0],
        shape_readings[1],
        chosen,
        detail_readings[0],
        detail_readings[1],
        detail_chosen,
    )


__all__ = [
    "MIN_ACTORS",
    "CombinationCalibration",
    "calibrate_combination",
    "choose_mean",
]
