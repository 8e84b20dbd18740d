"""``emodirector calibrate``: prototypes, expression detail and strengths from a MEAD folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from emodirector.calibrate.combine import MIN_ACTORS, calibrate_combination
from emodirector.calibrate.complement import calibrate_complement, complemented
from emodirector.calibrate.contrast import calibrate_contrast, contrasted
from emodirector.calibrate.detail import calibrate_detail
from emodirector.calibrate.prototypes import (
    LabeledFit,
    calibrate_prototypes,
    find_mead_clips,
    fit_labeled_clips,
)
from emodirector.calibrate.strength import BLIND_LEVEL, calibrate_strength, with_strength
from emodirector.emotion import Emotion
from emodirector.errors import InvalidOptionError
from emodirector.manipulate.prototypes import EmotionPrototypes


def run_calibration(
    folder: Path,
    output: Path,
    detail: Path | None = None,
    strength: bool = True,
    progress: Callable[[str], None] = print,
) -> None:
    """Calibrate from the MEAD clips in ``folder`` and write the files ``edit`` can use.

    Args:
        folder: MEAD clips (``ACTOR_front_EMOTION_levelN_*.mp4``).
        output: The prototypes (``edit --prototypes``).
        detail: Also measure the expression detail and write it here (``edit --detail``).
        strength: Choose each emotion's combination of the actors (``calibrate.combine``),
            contrast each prototype against its rival, add a FACS unit it lacks
            (``calibrate.complement``) and measure each emotion's strength, the last three on
            held-out actors (else plain median prototypes, every strength 1).
        progress: Receives one line per step.

    Raises:
        InvalidOptionError: ``folder`` is not a folder, or holds no usable clips.
    """
    if not folder.is_dir():
        raise InvalidOptionError(f"{folder}: not a folder")
    fits = fit_labeled_clips(find_mead_clips(folder), progress=progress)
    mean_of, detail_mean_of = _combination(fits, progress) if strength else ((), ())
    prototypes = calibrate_prototypes(fits, progress=progress, mean_of=mean_of)
    if strength:
        prototypes = _calibrated_strength(prototypes, fits, progress)
    prototypes.save(output)
    progress(f"wrote {output}: {', '.join(e.value for e in prototypes.emotions)} "
             f"from actors {', '.join(prototypes.actors)}")  # fmt: skip
    if detail is not None:
        measured = calibrate_detail(fits, progress=progress, mean_of=detail_mean_of)
        measured.save(detail)
        progress(f"wrote {detail}: {', '.join(measured.names)}")


def _combination(
    fits: list[LabeledFit], progress: Callable[[str], None]
) -> tuple[tuple[Emotion, ...], tuple[Emotion, ...]]:
    """The emotions whose actors' prototypes, and whose detail, are averaged
    (``calibrate.combine``)."""
    if len({f.clip.actor for f in fits}) < MIN_ACTORS:
        return (), ()
    c = calibrate_combination(fits, progress=progress)
    for what, median, mean, chosen in (
        ("prototype", c.median, c.mean, c.chosen),
        ("detail", c.detail_median, c.detail_mean, c.detail_chosen),
    ):
        for k, e in enumerate(c.emotions):
            rule = "mean" if e in chosen else "median"
            progress(f"combination {e.value} {what}: median {np.mean(median[:, k]):.2f} "
                     f"mean {np.mean(mean[:, k]):.2f} -> {rule}")  # fmt: skip
    return c.chosen, c.detail_chosen


def _calibrated_strength(
    prototypes: EmotionPrototypes, fits: list[LabeledFit], progress: Callable[[str], None]
) -> EmotionPrototypes:
    """``prototypes`` with each emotion's strength measured on held-out actors."""
    if len({f.clip.actor for f in fits}) < 2:
        progress("strength: skipped, it needs at least two actors (every strength 1)")
        return prototypes
    contrast = calibrate_contrast(fits, progress=progress)
    for k, e in enumerate(contrast.emotions):
        tries = " ".join(f"{r.value}x{w:g}:{np.nanmean(v):.2f}" for r, w, v in contrast.tried[k])
        rival = contrast.rival[k]
        chosen = "none" if rival is None else f"{rival.value}x{contrast.weight[k]:g}"
        progress(f"contrast {e.value}: held out plain {contrast.plain_reading(k):.2f} "
                 f"{tries} -> {chosen}")  # fmt: skip
    complement = calibrate_complement(
        fits, progress=progress, transform=lambda p: contrasted(p, contrast)
    )
    for k, e in enumerate(complement.emotions):
        plain = float(np.nanmean(complement.plain[:, k]))
        best = max(complement.tried[k], key=lambda t: float(np.mean(t[2])))
        unit = complement.unit[k]
        chosen = "none" if unit is None else f"{unit}x{complement.weight[k]:g}"
        progress(f"complement {e.value}: held out {plain:.2f}, best try {best[0]}x{best[1]:g}:"
                 f"{np.mean(best[2]):.2f} -> {chosen}")  # fmt: skip
    prototypes = complemented(contrasted(prototypes, contrast), complement)
    cal = calibrate_strength(
        fits,
        progress=progress,
        transform=lambda p: complemented(contrasted(p, contrast), complement),
    )
    for k, e in enumerate(cal.emotions):
        means = cal.held_out[:, k].mean(0)
        readings = " ".join(f"{c:g}:{v:.2f}" for c, v in zip(cal.candidates, means, strict=True))
        progress(f"strength {e.value}: acted {cal.acted[k]:.2f}, held out {readings} "
                 f"-> {cal.chosen[k]:g}")  # fmt: skip
        if cal.blind(k) and cal.geometry is not None:
            ratios = np.nanmean(cal.geometry[:, k], axis=0)
            shapes = " ".join(f"{c:g}:{v:.2f}" for c, v in zip(cal.candidates, ratios, strict=True))
            progress(f"strength {e.value}: blind (acted below {BLIND_LEVEL:g}), geometry "
                     f"{shapes} -> {cal.chosen[k]:g}")  # fmt: skip
    return with_strength(prototypes, cal)


__all__ = ["run_calibration"]
