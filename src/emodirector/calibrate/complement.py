"""Complement: a FACS unit an emotion's measured prototype lacks, added where held-out actors
read the emotion better with it.

EMFACS (Friesen and Ekman) lists the action units of each emotion's prototype expression. A
prototype measured on three actors can miss one: MEAD's fear raises the upper lids about as far
as surprise does, but the lower lids nearly as far, so its eyes open little wider, and edits of
held-out actors read fear at 0.21 against 0.37 acted. The candidates (``CANDIDATES``) are the
EMFACS units of an emotion that this project cuts from *another* emotion's prototype
(``calibrate.action_units.SOURCES``), so that adding one brings in motion the emotion's own
measurement does not already carry: fear's AU1, AU2 and AU5 (from surprise) and AU4 and AU7
(from anger), sadness's AU1 and AU4, anger's AU5.

Chosen leave-one-actor-out, as ``calibrate.contrast`` chooses its rivals: for each actor in
turn the prototypes (after ``transform``: the contrast, as the shipped ones get it) and the
expression detail are calibrated from the other actors, the unit is cut from those prototypes
(``cut_unit``) and added at each weight of ``COMPLEMENT_WEIGHTS``, and the held-out actor's
neutral take is edited at ``CONTRAST_STRENGTH`` and read. Of the tries that read at least
``strength.MIN_RISE`` above the prototype without the unit on average and lower for no actor,
the one that reads highest is adopted (``contrast.choose_contrast``'s rule); with none, the
prototype stays as it is. An emotion the classifier cannot see (``strength.BLIND_LEVEL``) is
not tried.

A unit at weight ``w`` is added to the prototype as ``w / CONTRAST_STRENGTH`` of itself, so that
an edit at the strength it was chosen at moves the face by ``w`` times the unit; the strength
step after it scales the whole prototype. The plain prototypes (``plain_offsets``, what the
action units are cut from) stay as the actors acted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from emodirector.calibrate.action_units import cut_unit
from emodirector.calibrate.contrast import CONTRAST_STRENGTH, choose_contrast
from emodirector.calibrate.prototypes import LabeledFit, rigid_irises
from emodirector.calibrate.strength import (
    BLIND_LEVEL,
    FRAME_STEP,
    acted_readings,
    held_out_actors,
    held_out_calibration,
    mean_probabilities,
)
from emodirector.emotion import Emotion
from emodirector.evaluate.emotion import EMOTION_CLASSES, EmotionClassifier
from emodirector.manipulate.prototypes import EmotionPrototypes

#: Emotion -> EMFACS units of its prototype expression that are cut from another emotion's
#: prototype (``calibrate.action_units.SOURCES``).
CANDIDATES: dict[Emotion, tuple[str, ...]] = {
    Emotion.FEARFUL: ("AU05", "AU01", "AU02", "AU04", "AU07"),
    Emotion.SAD: ("AU01", "AU04"),
    Emotion.ANGRY: ("AU05",),
}
#: Weights of a unit tried (in the edit at ``CONTRAST_STRENGTH``), smallest first.
COMPLEMENT_WEIGHTS = (0.5, 1.0, 1.5)


@dataclass(frozen=True)
class ComplementCalibration:
    """What ``calibrate_complement`` measured and chose.

    Attributes:
        emotions: The emotions tried (those of ``CANDIDATES`` the actors have).
        actors: The held-out actors.
        acted: ``(E,)`` mean target probability of the acted takes.
        plain: ``(A, E)`` each held-out actor's target reading without a unit.
        tried: Per emotion, ``(unit, weight, (A,) held-out target readings)`` of every try.
        unit: ``(E,)`` the unit added to each prototype (None: none).
        weight: ``(E,)`` its weight (0: none).
    """

    emotions: tuple[Emotion, ...]
    actors: tuple[str, ...]
    acted: np.ndarray
    plain: np.ndarray
    tried: tuple[tuple[tuple[str, float, np.ndarray], ...], ...]
    unit: tuple[str | None, ...]
    weight: np.ndarray


def unit_field(prototypes: EmotionPrototypes, unit: str, weight: float) -> np.ndarray:
    """``(478, 3)`` what ``add_unit`` adds: ``weight / CONTRAST_STRENGTH`` times ``unit`` cut
    from the plain prototypes, its irises moved rigidly with their eye corners (as every
    prototype's)."""
    return weight / CONTRAST_STRENGTH * rigid_irises(cut_unit(prototypes, unit))


def add_unit(
    prototypes: EmotionPrototypes, emotion: Emotion, unit: str, weight: float
) -> EmotionPrototypes:
    """``prototypes`` with ``weight`` times ``unit`` added to ``emotion``'s (``unit_field``),
    as an edit at ``CONTRAST_STRENGTH`` applies it; recorded in ``complement_units`` and
    ``complement``."""
    k = prototypes.index(emotion)
    offsets = prototypes.offsets.astype(np.float64).copy()
    offsets[k] += unit_field(prototypes, unit, weight)
    units = list(prototypes.complement_units)
    units[k] = unit
    complement = prototypes.complement.copy()
    complement[k] = weight
    return dataclasses.replace(
        prototypes,
        offsets=offsets.astype(np.float32),
        complement_units=tuple(units),
        complement=complement.astype(np.float32),
    )


def complemented(
    prototypes: EmotionPrototypes, calibration: ComplementCalibration
) -> EmotionPrototypes:
    """``prototypes`` with each chosen unit added (see ``add_unit``)."""
    for k, e in enumerate(calibration.emotions):
        unit = calibration.unit[k]
        if unit is not None and e in prototypes.emotions:
            prototypes = add_unit(prototypes, e, unit, float(calibration.weight[k]))
    return prototypes


def calibrate_complement(
    fits: list[LabeledFit],
    progress: Callable[[str], None] | None = None,
    step: int = FRAME_STEP,
    weights: tuple[float, ...] = COMPLEMENT_WEIGHTS,
    transform: Callable[[EmotionPrototypes], EmotionPrototypes] | None = None,
) -> ComplementCalibration:
    """Choose each candidate emotion's unit and weight on held-out actors (see the module
    docstring).

    Raises:
        InvalidOptionError: Fewer than two actors with a neutral take and an emotional one.
    """
    by_actor, actors = held_out_actors(fits)
    emotions = tuple(e for e in CANDIDATES if any(e in by_actor[a] for a in actors))
    plain = np.full((len(actors), len(emotions)), np.nan)
    readings = {
        (e, u, w): np.full(len(actors), np.nan) for e in emotions for u in CANDIDATES[e]
        for w in weights
    }  # fmt: skip
    with EmotionClassifier() as clf:
        acted = acted_readings(clf, by_actor, actors, emotions, step)
        for i, held in enumerate(actors):
            prototypes, neutral = held_out_calibration(fits, by_actor, held, step, transform)
            for k, e in enumerate(emotions):
                if e not in prototypes.emotions or acted[k] < BLIND_LEVEL:
                    continue
                c = EMOTION_CLASSES.index(e.value)
                _, faces = neutral.edit(prototypes, e, CONTRAST_STRENGTH)
                plain[i, k] = mean_probabilities(clf, faces, neutral.rotation)[c]
                for unit in CANDIDATES[e]:
                    for w in weights:
                        more = add_unit(prototypes, e, unit, w)
                        _, faces = neutral.edit(more, e, CONTRAST_STRENGTH)
                        probabilities = mean_probabilities(clf, faces, neutral.rotation)
                        readings[e, unit, w][i] = probabilities[c]
            if progress is not None:
                progress(f"complement: held out {held}")
    tried = tuple(
        tuple((u, float(w), readings[e, u, w]) for u in CANDIDATES[e] for w in weights)
        for e in emotions
    )
    # a blind emotion was not read (its plain readings are NaN): choose_contrast adopts nothing
    chosen = [
        choose_contrast(list(plain[:, k]), [(u, w, list(r)) for u, w, r in tried[k]])
        for k in range(len(emotions))
    ]
    return ComplementCalibration(
        emotions=emotions,
        actors=actors,
        acted=acted,
        plain=plain,
        tried=tried,
        unit=tuple(u for u, _ in chosen),
        weight=np.array([w for _, w in chosen]),
    )


__all__ = [
    "CANDIDATES",
    "COMPLEMENT_WEIGHTS",
    "ComplementCalibration",
    "add_unit",
    "calibrate_complement",
    "complemented",
    "unit_field",
]
