"""Measure emotion prototypes from labelled footage (MEAD-style clips).

For every actor that has a neutral clip and emotional clips, each clip is tracked and fitted;
the actor's neutral face is the median canonical shape over the neutral clip. The prototypes
carry the mouth each emotion has *while speaking* (the speech constraint of ``fit.speech`` then
decides, frame by frame, how much of its lip separation an edit applies):

- Speech's own motion is taken out of every emotional frame as the jaw moves it: the *jaw mode*
  is the lower face's offset per unit of chin drop over the actors' neutral takes (least
  squares), and each emotional frame loses its chin drop times that mode. What is left at any
  jaw position is the emotion's mouth: wider or pressed, corners up or down, the upper lip
  raised over the teeth, the lower lip depressed.
- The prototype is the mean of that over the most expressive tenth of the frames (ranked by
  the projection of the face above the mouth on the clip's median), so that intensity 1 matches
  acted level-3 strength rather than the clip's quieter moments, and the mouth is the one the
  emotion's peak has rather than the widest the speech opens it. Offsets are smoothed over the
  mesh and the irises are made to follow their eye corners rigidly.
- The *aperture factor* of an emotion is how much wider its takes open and close the lips than
  the same actor's neutral take: the ratio of the 10th-90th percentile spread of the inner-lip
  aperture, combined over actors by the median and kept within ``fit.speech.AMPLITUDE_BAND``.
  An emotion whose takes open the lips clearly wider than neutral speech (factor at least
  ``OPENING_FACTOR``) does not also press them: the closing part of its inner-lip separation
  is taken out of its prototype (``without_press``); it ate part of the factor on open frames.

The per-actor prototypes are combined by a per-coordinate median (with three or more actors; a
mean otherwise, and for the emotions ``calibrate.combine`` finds read better so), so that one
actor's idiosyncrasy does not leak in. Actors express an emotion in
partly different ways, so the combination is weaker than any one of them; it is scaled back up
to the actors' mean magnitude (at most ``_MAX_GAIN`` times), which makes intensity 1 as strong
as one actor's acting rather than a blend that cancels out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from emodirector.emotion import EXPRESSIVE, Emotion
from emodirector.errors import InvalidOptionError
from emodirector.face_model import (
    CHIN,
    GEOMETRY_REGIONS,
    LEFT_EYE_CORNERS,
    LEFT_IRIS,
    N_LANDMARKS,
    N_MESH,
    RIGHT_EYE_CORNERS,
    RIGHT_IRIS,
    SUBNASALE,
    load_face_model,
    mesh_smoother,
)
from emodirector.fit.fitting import FaceFit, fit_track
from emodirector.fit.speech import AMPLITUDE_BAND, lip_aperture, lip_gaps, mouth_split
from emodirector.manipulate.prototypes import EmotionPrototypes
from emodirector.track.tracker import FaceTrack, FaceTracker
from emodirector.video.reader import probe

#: MEAD file names: ``M030_front_happy_level3_001.mp4``.
_MEAD_NAME = re.compile(r"^(?P<actor>[A-Z]\d{3})_front_(?P<emotion>[a-z]+)_level(?P<level>\d)_")
#: Frames ranked above this quantile of expressiveness make the prototype (the clip's peak).
_PEAK_QUANTILE = 0.9
#: Largest gain applied to an averaged prototype to restore the per-actor magnitude.
_MAX_GAIN = 2.0
#: Largest extra gain of one region of a combined prototype (``region_gains``).
_MAX_REGION_GAIN = 1.5
#: Percentiles of the aperture whose spread compares an emotional take with a neutral one.
_SPREAD_PERCENTILES = (10, 90)
#: An emotion whose aperture factor reaches this opens the lips more than neutral speech, and
#: its prototype loses its lip press (``without_press``); sad's 1.03 is within the factor's
#: noise between trackers (``benchmarks/results/calibration_notes.md``) and keeps its press.
OPENING_FACTOR = 1.1
#: Passes of neighbour averaging over the mesh applied to each prototype.
_SMOOTH_PASSES = 2


@dataclass(frozen=True)
class LabeledClip:
    """A clip of one actor acting one emotion."""

    path: Path
    actor: str
    emotion: Emotion


def find_mead_clips(folder: Path) -> list[LabeledClip]:
    """The MEAD clips in ``folder`` whose emotion is one of ours (contempt is skipped)."""
    clips = []
    for p in sorted(folder.glob("*.mp4")):
        m = _MEAD_NAME.match(p.name)
        emotion = _mead_emotion(m["emotion"]) if m else None
        if m and emotion is not None:
            clips.append(LabeledClip(p, m["actor"], emotion))
    return clips


def _mead_emotion(label: str) -> Emotion | None:
    """The emotion of a MEAD file's label (``fear`` included), None for one of theirs only."""
    try:
        return Emotion.parse(label)
    except InvalidOptionError:  # contempt
        return None


def rigid_irises(offsets: np.ndarray) -> np.ndarray:
    """Make each iris move with the mean of its eye corners (no stretching, no gaze change)."""
    out = offsets.copy()
    for iris, corners in ((RIGHT_IRIS, RIGHT_EYE_CORNERS), (LEFT_IRIS, LEFT_EYE_CORNERS)):
        out[..., list(iris), :] = offsets[..., list(corners), :].mean(axis=-2, keepdims=True)
    return out


def jaw_mode(neutral_offsets: list[np.ndarray]) -> np.ndarray:
    """How the lower face moves with the jaw while actors speak neutrally.

    Args:
        neutral_offsets: Per actor, ``(T, 478, 3)`` offsets of a neutral speaking clip from the
            actor's neutral face (NaN where no face).

    Returns:
        ``(478, 3)`` the least-squares offset of the lower face (below the subnasale) per unit
        of chin drop, each actor's take centred; 1 at the chin's own vertical coordinate.
    """
    lower = ~_upper_face()
    xs, ys = [], []
    for d in neutral_offsets:
        d = d[~np.isnan(d).any(axis=(1, 2))].astype(np.float64)
        jaw = d[:, CHIN, 1]
        xs.append(jaw - jaw.mean())
        ys.append((d - d.mean(axis=0)).reshape(len(d), -1))
    x, y = np.concatenate(xs), np.concatenate(ys)
    mode = ((x @ y) / max(float(x @ x), 1e-12)).reshape(N_LANDMARKS, 3)
    mode[~lower] = 0.0
    return mode


def aperture_factor(emotional: np.ndarray, neutral: np.ndarray) -> float:
    """How much wider an emotional take opens and closes the lips than a neutral take.

    Args:
        emotional: ``(T, 478, 3)`` canonical shapes of the emotional take.
        neutral: ``(T', 478, 3)`` those of the same actor's neutral take.

    Returns:
        The ratio of their aperture spreads (``_SPREAD_PERCENTILES``), unclipped.
    """

    def spread(shapes: np.ndarray) -> float:
        a = lip_aperture(shapes.astype(np.float64))
        lo, hi = np.nanpercentile(a, _SPREAD_PERCENTILES)
        return float(hi - lo)

    return spread(emotional) / max(spread(neutral), 1e-9)


def _upper_face() -> np.ndarray:
    """``(478,) bool`` the face above the subnasale (brows, eyes, cheeks, nose).

    The jaw mode moves only what lies below it (the nose stays the emotion's: with the nose in
    the mode, disgust's raised nostrils, which come with a raised jaw, were taken out with the
    jaw), and a clip's peak frames are ranked above it.
    """
    y = load_face_model().template[:, 1]
    return y < y[SUBNASALE]


def peak_frames(
    canonical: np.ndarray, neutral: np.ndarray, mode: np.ndarray, above_mouth: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """The offsets of an emotional clip with the jaw's motion taken out, and its peak frames.

    Args:
        canonical: ``(T, 478, 3)`` fitted canonical shapes of the emotional clip.
        neutral: ``(478, 3)`` the actor's neutral shape.
        mode: ``(478, 3)`` the jaw mode (``jaw_mode``): each frame loses its chin drop from the
            neutral face times it.
        above_mouth: Rank the frames by the face above the mouth (``_upper_face``: the mouth at
            the emotion's peak, rather than the frames where the speech opens it most); False
            ranks them by the whole face.

    Returns:
        ``(offsets, peak)``: ``(T, 478, 3)`` offsets (NaN where the face is absent) and a
        ``(T,) bool`` mask of the frames ranked above ``_PEAK_QUANTILE`` by their projection on
        the clip's median offset.
    """
    ok = ~np.isnan(canonical).any(axis=(1, 2))
    d = (canonical[ok] - neutral).astype(np.float64)
    d -= d[:, CHIN, 1, None, None] * mode
    upper = _upper_face() if above_mouth else np.ones(N_LANDMARKS, dtype=bool)
    median = np.median(d[:, upper], axis=0)
    score = (d[:, upper] * median).sum(axis=(1, 2)) / max(float((median**2).sum()), 1e-12)
    offsets = np.full(canonical.shape, np.nan)
    offsets[ok] = d
    peak = np.zeros(len(canonical), dtype=bool)
    peak[np.flatnonzero(ok)[score >= np.quantile(score, _PEAK_QUANTILE)]] = True
    return offsets, peak


def without_press(offsets: np.ndarray) -> np.ndarray:
    """``(478, 3)`` offsets without the part that closes any inner-lip pair.

    Each inner pair's gap change below 0 (``fit.speech.lip_gaps``) is undone by that pair's
    separation shape (``MouthSplit.separation``); opening pairs, and everything that does not
    change the gaps (width, corners, the lips' lift), stay.
    """
    out = np.asarray(offsets, np.float64)
    press = np.clip(lip_gaps(out), None, 0.0)
    return out - np.einsum("p,pnk->nk", press, mouth_split().separation.astype(np.float64))


def clip_prototype(canonical: np.ndarray, neutral: np.ndarray, mode: np.ndarray) -> np.ndarray:
    """Offset of an emotional clip's expressive peak from the actor's neutral, jaw taken out.

    Args: see ``peak_frames``.

    Returns:
        ``(478, 3)`` mean offset over the peak frames.
    """
    offsets, peak = peak_frames(canonical, neutral, mode)
    return offsets[peak].mean(axis=0)


@dataclass(frozen=True)
class LabeledFit:
    """A labelled clip tracked and fitted."""

    clip: LabeledClip
    track: FaceTrack
    fit: FaceFit


def fit_labeled_clips(
    clips: list[LabeledClip], progress: Callable[[str], None] | None = None
) -> list[LabeledFit]:
    """Track and fit every clip once (prototypes and expression detail are measured on these)."""
    out = []
    with FaceTracker() as tracker:
        for clip in clips:
            track = tracker.track_video(probe(clip.path))
            fit = fit_track(track)
            if progress is not None:
                progress(f"{clip.path.name}: {int(fit.present.sum())}/{fit.n_frames} frames")
            out.append(LabeledFit(clip, track, fit))
    return out


def region_gains(
    actor_offsets: np.ndarray, combined: np.ndarray, smoother: sp.csr_matrix
) -> np.ndarray:
    """``(E, 478)`` per-landmark gains that restore each region's per-actor strength.

    After the whole-face gain, a region where the actors moved in different ways (one lowers
    the brows more, another narrows the eyes more) can still be weaker than any one actor's;
    each region of ``GEOMETRY_REGIONS`` is scaled to the actors' mean magnitude there (never
    down, at most ``_MAX_REGION_GAIN``), and the gains are smoothed over the mesh so that no
    seam appears between regions.

    Args:
        actor_offsets: ``(A, E, 478, 3)`` per-actor prototypes.
        combined: ``(E, 478, 3)`` the combined prototypes.
        smoother: The mesh smoother.
    """
    gains = np.ones(combined.shape[:2])
    for indices in GEOMETRY_REGIONS.values():
        idx = list(indices)
        actor = np.sqrt((actor_offsets[:, :, idx] ** 2).sum(axis=(2, 3))).mean(axis=0)
        own = np.sqrt((combined[:, idx] ** 2).sum(axis=(1, 2)))
        gains[:, idx] = np.clip(actor / np.maximum(own, 1e-12), 1.0, _MAX_REGION_GAIN)[:, None]
    for _ in range(_SMOOTH_PASSES):
        gains = (smoother @ gains.T).T
    return gains


def combine_actors(
    actor_offsets: np.ndarray, emotions: Sequence[Emotion], mean_of: Collection[Emotion] = ()
) -> np.ndarray:
    """``(E, 478, 3)`` the actors' prototypes combined per coordinate: by the median with three
    or more actors, by the mean with fewer and for the emotions in ``mean_of``.

    Args:
        actor_offsets: ``(A, E, 478, 3)`` per-actor prototypes.
        emotions: The ``E`` emotions, in order.
        mean_of: Emotions combined by the mean whatever the number of actors.

    >>> a = np.zeros((3, 2, 1, 1)); a[:, :, 0, 0] = [[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]]
    >>> combine_actors(a, (Emotion.HAPPY, Emotion.SAD), {Emotion.SAD})[:, 0, 0].tolist()
    [1.0, 2.0]
    """
    if len(actor_offsets) > 2:
        combined = np.median(actor_offsets, axis=0)
    else:
        combined = actor_offsets.mean(axis=0)
    for j, emotion in enumerate(emotions):
        if emotion in mean_of:
            combined[j] = actor_offsets[:, j].mean(axis=0)
    return combined


@dataclass(frozen=True)
class _Cast:
    """The actors usable for calibration, their neutral faces and the jaw mode."""

    shapes: dict[str, dict[Emotion, np.ndarray]]
    actors: tuple[str, ...]
    emotions: tuple[Emotion, ...]
    neutrals: np.ndarray
    mode: np.ndarray

    @classmethod
    def of(cls, fits: list[LabeledFit]) -> _Cast:
        shapes: dict[str, dict[Emotion, np.ndarray]] = {}
        for f in fits:
            shapes.setdefault(f.clip.actor, {})[f.clip.emotion] = f.fit.canonical
        emotions = tuple(
            e for e in EXPRESSIVE if any(e in c and Emotion.NEUTRAL in c for c in shapes.values())
        )
        actors = tuple(
            a
            for a, c in sorted(shapes.items())
            if Emotion.NEUTRAL in c and all(e in c for e in emotions)
        )
        if not actors or not emotions:
            raise InvalidOptionError(
                "need, for at least one actor, a neutral and an emotional clip"
            )
        neutrals = np.stack([np.nanmedian(shapes[a][Emotion.NEUTRAL], axis=0) for a in actors])
        mode = jaw_mode(
            [shapes[a][Emotion.NEUTRAL] - n for a, n in zip(actors, neutrals, strict=True)]
        )
        return cls(shapes, actors, emotions, neutrals, mode)


def _peaks(
    fits: list[LabeledFit], above_mouth: bool = True
) -> dict[tuple[str, Emotion], tuple[np.ndarray, np.ndarray]]:
    """Per (actor, emotion): ``peak_frames`` of that clip."""
    cast = _Cast.of(fits)
    return {
        (actor, emotion): peak_frames(
            cast.shapes[actor][emotion], cast.neutrals[i], cast.mode, above_mouth
        )
        for i, actor in enumerate(cast.actors)
        for emotion in cast.emotions
    }


def peak_masks(
    fits: list[LabeledFit], above_mouth: bool = True
) -> dict[tuple[str, Emotion], np.ndarray]:
    """Per (actor, emotion): the ``(T,) bool`` peak frames of that clip (see ``peak_frames``).

    Raises:
        InvalidOptionError: No actor has both a neutral and an emotional clip.
    """
    return {key: peak for key, (_, peak) in _peaks(fits, above_mouth).items()}


def peak_offsets(fits: list[LabeledFit]) -> dict[tuple[str, Emotion], np.ndarray]:
    """Per (actor, emotion): ``(P, 478, 3)`` the offsets of that clip's peak frames from the
    actor's neutral face, jaw motion taken out (see ``peak_frames``).

    Raises:
        InvalidOptionError: No actor has both a neutral and an emotional clip.
    """
    return {key: offsets[peak] for key, (offsets, peak) in _peaks(fits).items()}


def calibrate_prototypes(
    clips: list[LabeledClip] | list[LabeledFit],
    progress: Callable[[str], None] | None = None,
    mean_of: Collection[Emotion] = (),
) -> EmotionPrototypes:
    """Measure prototypes from labelled clips.

    Args:
        clips: Clips of several actors (or the same already fitted by ``fit_labeled_clips``);
            each actor needs a neutral clip to be used.
        progress: Called with a line of text per clip.
        mean_of: Emotions whose per-actor prototypes are combined by their mean even with
            three or more actors (``calibrate.combine`` chooses them).

    Returns:
        Prototypes averaged over actors, for every expressive emotion found, with their
        aperture factors (median over actors, within ``AMPLITUDE_BAND``).

    Raises:
        InvalidOptionError: No actor has both a neutral and an emotional clip.
    """
    smoother = mesh_smoother()
    fits = [c for c in clips if isinstance(c, LabeledFit)]
    if len(fits) != len(clips):
        fits = fit_labeled_clips([c for c in clips if isinstance(c, LabeledClip)], progress)
    cast = _Cast.of(fits)
    actors, emotions = cast.actors, cast.emotions
    actor_offsets = np.zeros((len(actors), len(emotions), N_LANDMARKS, 3))
    factors = np.zeros((len(actors), len(emotions)))
    for i, actor in enumerate(actors):
        neutral_take = cast.shapes[actor][Emotion.NEUTRAL]
        for j, emotion in enumerate(emotions):
            take = cast.shapes[actor][emotion]
            offset = clip_prototype(take, cast.neutrals[i], cast.mode)
            for _ in range(_SMOOTH_PASSES):
                offset = smoother @ offset
            offset[N_MESH:] = 0.0
            actor_offsets[i, j] = rigid_irises(offset)
            factors[i, j] = aperture_factor(take, neutral_take)
    combined = rigid_irises(combine_actors(actor_offsets, emotions, mean_of))
    actor_norm = np.sqrt((actor_offsets**2).sum(axis=(2, 3))).mean(axis=0)  # (E,)
    combined_norm = np.sqrt((combined**2).sum(axis=(1, 2)))
    gain = np.clip(actor_norm / np.maximum(combined_norm, 1e-12), 1.0, _MAX_GAIN)
    combined = combined * gain[:, None, None]
    combined = rigid_irises(combined * region_gains(actor_offsets, combined, smoother)[..., None])
    aperture = np.clip(np.median(factors, axis=0), *AMPLITUDE_BAND)
    for j in np.flatnonzero(aperture >= OPENING_FACTOR):
        combined[j] = without_press(combined[j])
    return EmotionPrototypes(
        emotions=emotions,
        offsets=combined.astype(np.float32),
        neutral=cast.neutrals.mean(axis=0).astype(np.float32),
        actors=actors,
        actor_offsets=actor_offsets.astype(np.float32),
        aperture=aperture.astype(np.float32),
    )
