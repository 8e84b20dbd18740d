"""Measure expression detail (ratio images) from labelled footage, for ``render.detail``.

For every actor with a neutral clip: the neutral texture is the per-pixel median, over the
neutral clip's frames, of the log luminance unwrapped into the canonical layout (the median
keeps the resting face and drops speech and blinks). For every emotional clip of that actor, the
expressive texture is the mean log luminance over the clip's expressive peak
(``calibrate.prototypes.peak_frames`` ranked by the whole face, as the prototypes were before
they were ranked above the mouth: ranked above the mouth, the peaks of surprise and happiness
are the frames with the brows highest, which pull the hairline into the forehead's layout).
Their difference is the log ratio image; where any peak frame is much darker or lighter than
the neutral (hair, a highlight), the actor's ratio is left out and the others' combined. Both
textures are lightly smoothed first (noise and the landmarks' registration error would
otherwise show up as edges), and the ratio's broad variation, mostly the light falling
differently on a differently held head, is removed: what is kept is the band of wrinkles,
furrows and folds. The ratios are combined over actors by a per-pixel median (with three or
more; a mean otherwise): what is common to them (the frown between the brows, the forehead
lines, the folds) stays, one actor's own marks (a strand of hair, a mole) drop out. The
combination is weaker than any one actor, so each region is scaled back to the actors' mean
strength (``region_gains``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Collection

import cv2
import numpy as np

from emodirector.calibrate.prototypes import LabeledFit, peak_masks
from emodirector.emotion import Emotion
from emodirector.errors import InvalidOptionError
from emodirector.render.detail import REGION_NAMES, ExpressionDetail, detail_mask, region_masks
from emodirector.render.texture import TEXTURE_SIZE, unwrap
from emodirector.video.reader import iter_frames, probe

#: Smoothing (layout pixels) of each unwrapped texture before the ratio is taken.
_PRE_SMOOTH = 1.0
#: Smoothing (layout pixels) of the combined ratio.
_POST_SMOOTH = 1.0
#: Scale (layout pixels) of the slow variation removed from each ratio, about a twentieth of
#: the face: broader shading is the light on a differently held head; wrinkles, furrows and
#: folds are narrower and stay.
_LIGHTING_SCALE = 6.0
#: Largest gain restoring a region's strength after actors are combined.
_MAX_REGION_GAIN = 2.5
#: Regions whose detail is carried over for these emotions only: the nose's ratio is mostly its
#: highlight changing with the head's pose, except disgust's nose wrinkles.
_ONLY_FOR = {"nose": (Emotion.DISGUSTED,)}
#: At most this many neutral frames are unwrapped (evenly spread).
_MAX_NEUTRAL_FRAMES = 60
#: A layout pixel that any peak frame shows this much darker or lighter (log luminance) than
#: the actor's neutral median is not a fold but hair (a fringe, the hairline pulled into the
#: forehead's layout by raised brows) or a highlight: the actor's ratio is left out there, and
#: the other actors' combined.
_MAX_CHANGE = 0.5
#: Margin (layout pixels) grown around such pixels.
_CHANGE_MARGIN = 2


def _log_textures(fit: LabeledFit, frames: np.ndarray, size: int) -> np.ndarray:
    """``(n, S, S)`` smoothed log luminance of the given frames, unwrapped (NaN off the face)."""
    wanted = {int(i): k for k, i in enumerate(frames)}
    out = np.full((len(frames), size, size), np.nan, np.float32)
    for frame in iter_frames(probe(fit.clip.path), "yuv420p"):
        k = wanted.get(frame.index)
        if k is None:
            continue
        h = frame.image.shape[0] * 2 // 3
        y = frame.image[:h].astype(np.float32)
        texture, valid = unwrap(y, fit.track.landmarks[frame.index], size)
        texture = cv2.GaussianBlur(np.log1p(texture), (0, 0), _PRE_SMOOTH)
        texture[~valid] = np.nan
        out[k] = texture
    return out


def _not_skin(neutral: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """``(S, S) bool`` pixels that some of ``frames`` show much darker or lighter than the
    ``neutral`` (``_MAX_CHANGE``), grown by ``_CHANGE_MARGIN``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        change = np.fmax(neutral - np.nanmin(frames, axis=0), np.nanmax(frames, axis=0) - neutral)
    dark = (np.nan_to_num(change) > _MAX_CHANGE).astype(np.uint8)
    size = 2 * _CHANGE_MARGIN + 1
    return cv2.dilate(dark, np.ones((size, size), np.uint8)) > 0


def _without_lighting(log_ratio: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Subtract the ratio's slow variation (a normalised blur over the face only)."""
    num = cv2.GaussianBlur(log_ratio * weight, (0, 0), _LIGHTING_SCALE)
    den = cv2.GaussianBlur(weight, (0, 0), _LIGHTING_SCALE)
    return log_ratio - num / np.maximum(den, 1e-3)


def calibrate_detail(
    fits: list[LabeledFit],
    progress: Callable[[str], None] | None = None,
    mean_of: Collection[Emotion] = (),
) -> ExpressionDetail:
    """Measure the log ratio image of every expressive emotion.

    Args:
        fits: The labelled clips, tracked and fitted (``fit_labeled_clips``).
        progress: Called with a line of text per clip.
        mean_of: Emotions whose actors' ratios are combined by their mean even with three or
            more actors (``calibrate.combine`` chooses them).

    Returns:
        Detail for every emotion the prototypes are calibrated for, all region gains 1.

    Raises:
        InvalidOptionError: No actor has both a neutral and an emotional clip.
    """
    peaks = peak_masks(fits, above_mouth=False)
    by_key = {(f.clip.actor, f.clip.emotion): f for f in fits}
    actors = tuple(sorted({a for a, _ in peaks}))
    emotions = tuple(e for e in Emotion if any(e is k[1] for k in peaks))
    if not actors or not emotions:
        raise InvalidOptionError("need, for at least one actor, a neutral and an emotional clip")
    size = TEXTURE_SIZE
    face = detail_mask(size) > 0
    ratios = np.zeros((len(actors), len(emotions), size, size), np.float32)
    kept = np.zeros(ratios.shape, bool)  # each actor's skin: its ratio is combined there
    for i, actor in enumerate(actors):
        neutral_fit = by_key[actor, Emotion.NEUTRAL]
        present = np.flatnonzero(neutral_fit.fit.present)
        pick = present[np.linspace(0, len(present) - 1, min(len(present), _MAX_NEUTRAL_FRAMES))
                       .round().astype(int)]  # fmt: skip
        with warnings.catch_warnings():  # layout pixels off every frame's face stay NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            neutral = np.nanmedian(_log_textures(neutral_fit, pick, size), axis=0)
        for j, emotion in enumerate(emotions):
            f = by_key[actor, emotion]
            frames = _log_textures(f, np.flatnonzero(peaks[actor, emotion]), size)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                expressive = np.nanmean(frames, axis=0)
            kept[i, j] = face & ~_not_skin(neutral, frames)
            skin = kept[i, j].astype(np.float32)
            ratio = np.nan_to_num(expressive - neutral) * skin
            ratios[i, j] = _without_lighting(ratio, skin) * skin
            if progress is not None:
                progress(f"detail {actor} {emotion.value}: |log ratio| "
                         f"{float(np.abs(ratios[i, j][face]).mean()):.3f}")  # fmt: skip
    with warnings.catch_warnings():  # pixels no actor keeps stay NaN, then 0
        warnings.simplefilter("ignore", RuntimeWarning)
        own = np.where(kept, ratios, np.nan)
        combined = np.nanmedian(own, axis=0) if len(actors) > 2 else np.nanmean(own, axis=0)
        for j, emotion in enumerate(emotions):
            if emotion in mean_of:
                combined[j] = np.nanmean(own[:, j], axis=0)
    combined = np.nan_to_num(combined).astype(np.float32)
    # a per-pixel median switches between actors from pixel to pixel: smooth the seams
    combined = np.stack([cv2.GaussianBlur(c, (0, 0), _POST_SMOOTH) for c in combined])
    return ExpressionDetail(
        names=tuple(e.value for e in emotions),
        log_ratio=combined,
        region_gains=region_gains(ratios, combined, region_masks(size))
        * carried(tuple(e.value for e in emotions)),
        actors=actors,
    )


def carried(names: tuple[str, ...]) -> np.ndarray:
    """``(E, R)`` 1 where a region's detail is carried over, 0 where it is not (``_ONLY_FOR``)."""
    out = np.ones((len(names), len(REGION_NAMES)), np.float32)
    for region, emotions in _ONLY_FOR.items():
        for k, name in enumerate(names):
            if Emotion(name) not in emotions:
                out[k, REGION_NAMES.index(region)] = 0.0
    return out


def region_gains(ratios: np.ndarray, combined: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """``(E, R)`` gains that give each region of the combined ratio the actors' mean strength.

    Combining actors keeps what they share but weakens it (their wrinkles do not lie exactly on
    top of each other); as for the geometric prototypes, intensity 1 should be as strong as one
    actor's acting, so each region is scaled back to the actors' mean RMS, by at most
    ``_MAX_REGION_GAIN``.

    Args:
        ratios: ``(A, E, S, S)`` per-actor log ratios.
        combined: ``(E, S, S)`` their combination.
        masks: ``(R, S, S)`` region masks.
    """

    def rms(x: np.ndarray) -> np.ndarray:  # (..., S, S) -> (..., R)
        return np.sqrt(np.einsum("...ij,rij->...r", x**2, masks) / masks.sum(axis=(1, 2)))

    actor_rms = rms(ratios).mean(axis=0)
    gains = actor_rms / np.maximum(rms(combined), 1e-6)
    return np.clip(gains, 1.0, _MAX_REGION_GAIN).astype(np.float32)
