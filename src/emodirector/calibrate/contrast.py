"""Contrast: each prototype with the part it shares with the emotion it is read as taken out.

The classifier reads some edits as another emotion: MEAD's angry prototype, edited onto a
held-out actor's neutral take, reads sad on one actor and happy on another (lowered brows and a
tense mouth are shared with sadness; anger's raised upper lip with a smile), which more strength
does not change. A prototype is made *discriminative* against its rival: ``offsets[e] - w *
offsets[rival]``. Rival and weight are chosen leave-one-actor-out, on the held-out actor's
reading, never on the footage the edits are judged on:

1. for each actor in turn, prototypes and expression detail are calibrated from the *other*
   actors, and the actor's neutral take is edited towards each emotion at intensity 1 and
   strength ``CONTRAST_STRENGTH``; the classifier reads the edits (every ``step``-th frame);
2. an emotion's rivals are the ``N_RIVALS`` other expressive emotions its plain edits read most
   (mean over the held-out actors); an emotion whose plain edits are read as itself (its class
   the most probable, on average) has none: it is not misread, and what a contrast would gain
   there is reading strength, bought with the rival's mouth (happy less 0.3 of sad read 0.73 ->
   0.78 held out, and its closed smiles rendered apart: dlib kept GRID's man's closed frames
   1.0 -> 0.52, videoretalking_face1's 0.78 -> 0.27, with the lips' inner gap unchanged);
3. each rival at each weight of ``CONTRAST_WEIGHTS`` is taken out and the edits read again; of
   the pairs that read at least ``strength.MIN_RISE`` above the plain prototype on average over
   the held-out actors and lower on none of them, the one that reads highest is adopted; with
   none, the prototype stays as it is (a rise carried by one actor while another falls is not
   one that held-out footage supports).

An emotion the classifier cannot see (``strength.BLIND_LEVEL``) is left as it is: its readings
say nothing. The contrast is taken against the plain prototypes (not against contrasted ones),
so the order of the emotions does not matter; the plain prototypes are kept
(``EmotionPrototypes.plain_offsets``, what the action units are cut from), and
``actor_offsets`` stay as the actors acted. An emotion that opens the lips wider than neutral
speech loses any lip press the contrast gives it (as ``calibrate.prototypes`` does).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from emodirector.calibrate.prototypes import (
    OPENING_FACTOR,
    LabeledFit,
    without_press,
)
from emodirector.calibrate.strength import (
    BLIND_LEVEL,
    FRAME_STEP,
    MIN_RISE,
    STRENGTHS,
    acted_readings,
    held_out_actors,
    held_out_calibration,
    mean_probabilities,
)
from emodirector.emotion import EXPRESSIVE, Emotion
from emodirector.evaluate.emotion import EMOTION_CLASSES, EmotionClassifier
from emodirector.manipulate.prototypes import EmotionPrototypes

_T = TypeVar("_T")

#: Weights of the rival's prototype tried, smallest first.
CONTRAST_WEIGHTS = (0.3, 0.6)
#: Rivals tried per emotion (the emotions its plain edits are read as most).
N_RIVALS = 2
#: Strength of the held-out edits the contrast is chosen on: the top of the strength candidates,
#: where the calibrated strengths of most emotions end (``strength.STRENGTHS``).
CONTRAST_STRENGTH = STRENGTHS[-1]


@dataclass(frozen=True)
class ContrastCalibration:
    """What ``calibrate_contrast`` measured and chose.

    Attributes:
        emotions: The emotions measured.
        actors: The held-out actors.
        acted: ``(E,)`` mean target probability of the acted takes.
        plain: ``(A, E, C)`` mean class probabilities (``EMOTION_CLASSES``) of each held-out
            actor's edits with the plain prototypes.
        tried: Per emotion, ``(rival, weight, (A,) held-out target readings)`` of every try.
        rival: ``(E,)`` the rival taken out of each prototype (None: none).
        weight: ``(E,)`` its weight (0: none).
    """

    emotions: tuple[Emotion, ...]
    actors: tuple[str, ...]
    acted: np.ndarray
    plain: np.ndarray
    tried: tuple[tuple[tuple[Emotion, float, np.ndarray], ...], ...]
    rival: tuple[Emotion | None, ...]
    weight: np.ndarray

    def plain_reading(self, k: int) -> float:
        """Mean held-out target reading of emotion ``k``'s plain prototype."""
        return float(np.mean(self.plain[:, k, EMOTION_CLASSES.index(self.emotions[k].value)]))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "actors": list(self.actors),
            "strength": CONTRAST_STRENGTH,
            "emotions": {
                e.value: {
                    "acted": round(float(self.acted[k]), 4),
                    "plain": round(self.plain_reading(k), 4),
                    "tried": [
                        {
                            "rival": r.value,
                            "weight": w,
                            "held_out": [round(float(v), 4) for v in readings],
                        }
                        for r, w, readings in self.tried[k]
                    ],
                    "rival": None if self.rival[k] is None else self.rival[k].value,
                    "weight": float(self.weight[k]),
                }
                for k, e in enumerate(self.emotions)
            },
        }


def take_out(
    prototypes: EmotionPrototypes, emotion: Emotion, rival: Emotion, weight: float
) -> EmotionPrototypes:
    """``prototypes`` with ``weight`` times ``rival``'s plain prototype taken out of
    ``emotion``'s (replacing what was taken out of it before; recorded in ``contrast``)."""
    contrast = prototypes.contrast.copy()
    i, r = prototypes.index(emotion), prototypes.index(rival)
    contrast[i] = 0.0
    contrast[i, r] = weight
    return _with_contrast(prototypes, contrast)


def contrasted(
    prototypes: EmotionPrototypes, calibration: ContrastCalibration
) -> EmotionPrototypes:
    """``prototypes`` with each chosen rival's share taken out (of the plain prototypes)."""
    contrast = prototypes.contrast.copy()
    for k, e in enumerate(calibration.emotions):
        rival = calibration.rival[k]
        if rival is None or e not in prototypes.emotions or rival not in prototypes.emotions:
            continue
        i = prototypes.index(e)
        contrast[i] = 0.0
        contrast[i, prototypes.index(rival)] = calibration.weight[k]
    return _with_contrast(prototypes, contrast)


def _with_contrast(prototypes: EmotionPrototypes, contrast: np.ndarray) -> EmotionPrototypes:
    """``prototypes`` whose offsets are their plain offsets less ``contrast`` of each other.

    An emotion whose takes open the lips wider than neutral speech (aperture factor at least
    ``OPENING_FACTOR``) does not press them after the contrast either (``without_press``: taking
    a smile's raised upper lip out of anger would otherwise press anger's lips together).
    """
    plain = prototypes.plain_offsets.astype(np.float64)
    offsets = prototypes.offsets.astype(np.float64).copy()
    for i in np.flatnonzero(contrast.any(axis=1) | prototypes.contrast.any(axis=1)):
        row = plain[i] - np.einsum("r,rnk->nk", contrast[i].astype(np.float64), plain)
        offsets[i] = without_press(row) if prototypes.aperture[i] >= OPENING_FACTOR else row
    return dataclasses.replace(
        prototypes,
        offsets=offsets.astype(np.float32),
        contrast=contrast.astype(np.float32),
        plain_offsets=plain.astype(np.float32),
    )


def rivals_of(
    emotion: Emotion, mean: np.ndarray, emotions: Sequence[Emotion], acted: float
) -> tuple[Emotion, ...]:
    """The rivals tried against ``emotion`` (step 2 of the module docstring): the ``N_RIVALS``
    other expressive emotions of ``emotions`` that its plain edits read most, given the mean
    class probabilities ``mean`` (``EMOTION_CLASSES`` order) and the acted takes' reading; none
    for an emotion the classifier cannot see or whose edits it reads as the emotion itself.

    >>> p = np.zeros(len(EMOTION_CLASSES))
    >>> p[[0, 2, 3]] = [0.3, 0.25, 0.35]  # angry, fearful, happy
    >>> rivals_of(Emotion.ANGRY, p, EXPRESSIVE, 0.4)
    (<Emotion.HAPPY: 'happy'>, <Emotion.FEARFUL: 'fearful'>)
    >>> rivals_of(Emotion.HAPPY, p, EXPRESSIVE, 0.8)
    ()
    """
    if acted < BLIND_LEVEL or int(np.argmax(mean)) == EMOTION_CLASSES.index(emotion.value):
        return ()
    others = [r for r in EXPRESSIVE if r is not emotion and r in emotions]
    order = sorted(others, key=lambda r: -mean[EMOTION_CLASSES.index(r.value)])
    return tuple(order[:N_RIVALS])


def choose_contrast(
    plain: Sequence[float],
    tries: Sequence[tuple[_T, float, Sequence[float]]],
    min_rise: float = MIN_RISE,
) -> tuple[_T | None, float]:
    """The ``(rival, weight)`` of the try that reads highest on average over the held-out
    actors, among those that read at least ``min_rise`` above the plain prototype on average
    and lower on no actor; else ``(None, 0)``. (``calibrate.complement`` chooses its units by
    the same rule: there a try is named by its unit.)

    Args:
        plain: Per held-out actor, the reading of the plain prototype.
        tries: ``(rival, weight, per-actor readings)`` of each try.

    >>> choose_contrast([0.20, 0.37, 0.18], [(Emotion.HAPPY, 0.6, [0.28, 0.60, 0.51])])
    (<Emotion.HAPPY: 'happy'>, 0.6)
    >>> choose_contrast([0.22, 0.27, 0.12], [(Emotion.HAPPY, 0.3, [0.24, 0.22, 0.33])])
    (None, 0.0)
    """
    base = np.asarray(plain, np.float64)
    best: tuple[_T | None, float] = (None, 0.0)
    best_mean = -np.inf
    for rival, weight, readings in tries:
        r = np.asarray(readings, np.float64)
        ok = ~np.isnan(r) & ~np.isnan(base)
        if not ok.any() or bool((r[ok] < base[ok]).any()):
            continue
        mean = float(r[ok].mean())
        if mean - float(base[ok].mean()) >= min_rise and mean > best_mean:
            best, best_mean = (rival, float(weight)), mean
    return best


def calibrate_contrast(
    fits: list[LabeledFit],
    progress: Callable[[str], None] | None = None,
    step: int = FRAME_STEP,
    weights: tuple[float, ...] = CONTRAST_WEIGHTS,
) -> ContrastCalibration:
    """Choose each prototype's rival and weight on held-out actors (see the module docstring).

    Raises:
        InvalidOptionError: Fewer than two actors with a neutral take and an emotional one.
    """
    by_actor, actors = held_out_actors(fits)
    emotions = tuple(e for e in EXPRESSIVE if any(e in by_actor[a] for a in actors))
    n_classes = len(EMOTION_CLASSES)
    plain = np.full((len(actors), len(emotions), n_classes), np.nan)
    with EmotionClassifier() as clf:
        acted = acted_readings(clf, by_actor, actors, emotions, step)
        held = []
        for i, a in enumerate(actors):
            prototypes, neutral = held_out_calibration(fits, by_actor, a, step)
            held.append((prototypes, neutral))
            for k, e in enumerate(emotions):
                if e in prototypes.emotions:
                    _, faces = neutral.edit(prototypes, e, CONTRAST_STRENGTH)
                    plain[i, k] = mean_probabilities(clf, faces, neutral.rotation)
        rivals = [
            rivals_of(e, np.nanmean(plain[:, k], axis=0), emotions, float(acted[k]))
            for k, e in enumerate(emotions)
        ]
        tried = []
        for k, e in enumerate(emotions):
            c = EMOTION_CLASSES.index(e.value)
            rows = []
            for rival in rivals[k]:
                for w in weights:
                    row = np.full(len(actors), np.nan)
                    for i, (prototypes, neutral) in enumerate(held):
                        if e not in prototypes.emotions or rival not in prototypes.emotions:
                            continue
                        less = take_out(prototypes, e, rival, w)
                        _, faces = neutral.edit(less, e, CONTRAST_STRENGTH)
                        row[i] = mean_probabilities(clf, faces, neutral.rotation)[c]
                    rows.append((rival, w, row))
            tried.append(tuple(rows))
            if progress is not None and rows:
                progress(f"contrast: {e.value} tried {len(rows)}")
    chosen = [
        choose_contrast(list(plain[:, k, EMOTION_CLASSES.index(e.value)]), list(tried[k]))
        for k, e in enumerate(emotions)
    ]
    return ContrastCalibration(
        emotions=emotions,
        actors=actors,
        acted=acted,
        plain=plain,
        tried=tuple(tried),
        rival=tuple(r for r, _ in chosen),
        weight=np.array([w for _, w in chosen]),
    )


__all__ = [
    "CONTRAST_STRENGTH",
    "CONTRAST_WEIGHTS",
    "N_RIVALS",
    "ContrastCalibration",
    "calibrate_contrast",
    "choose_contrast",
    "contrasted",
    "rivals_of",
    "take_out",
]
