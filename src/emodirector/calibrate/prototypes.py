"""Measure emotion prototypes from labelled footage (MEAD-style clips).

For every actor that has a neutral clip and emotional clips, each clip is tracked and fitted;
the actor's neutral face is the median canonical shape over the neutral clip. On an emotional
clip, every frame's offset from that neutral is made speech-free (``SpeechConstraint``), and the
prototype is the mean offset of the most expressive tenth of the frames (ranked by their
projection on the clip's median offset), so that intensity 1 matches acted level-3 strength
rather than the clip's quieter moments. Offsets are smoothed over the mesh and the irises are
made to follow their eye corners rigidly. Before that, the main modes of *neutral* speech
(principal components of the lower face over the neutral clips: jaw opening first) are removed
from every frame, so that an emotion acted with an open mouth does not leave a shifted mouth
behind. Lip rounding (the mouth narrowing: MEAD's surprise is
acted with an "oh") is speech, not emotion, and is removed from a prototype that carries it.

The per-actor prototypes are combined by a per-coordinate median (with three or more actors; a
mean otherwise), so that one actor's idiosyncrasy does not leak in. Actors express an emotion in
partly different ways, so the combination is weaker than any one of them; it is scaled back up
to the actors' mean magnitude (at most ``_MAX_GAIN`` times), which makes intensity 1 as strong
as one actor's acting rather than a blend that cancels out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from emodirector.emotion import EXPRESSIVE, Emotion
from emodirector.errors import InvalidOptionError
from emodirector.face_model import (
    GEOMETRY_REGIONS,
    LEFT_EYE_CORNERS,
    LEFT_IRIS,
    N_LANDMARKS,
    N_MESH,
    RIGHT_EYE_CORNERS,
    RIGHT_IRIS,
    load_face_model,
    mesh_smoother,
)
from emodirector.fit.expression import SpeechConstraint, speech_constraint, without_rounding
from emodirector.fit.fitting import FaceFit, fit_track
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
#: Principal modes of neutral speech removed from every emotional frame.
_SPEECH_MODES = 1
#: Landmark of the nose tip: the lower face, where speech moves, lies below it.
_NOSE_TIP = 1
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


def _rigid_irises(offsets: np.ndarray) -> np.ndarray:
    """Make each iris move with the mean of its eye corners (no stretching, no gaze change)."""
    out = offsets.copy()
    for iris, corners in ((RIGHT_IRIS, RIGHT_EYE_CORNERS), (LEFT_IRIS, LEFT_EYE_CORNERS)):
        out[..., list(iris), :] = offsets[..., list(corners), :].mean(axis=-2, keepdims=True)
    return out


def speech_modes(neutral_offsets: list[np.ndarray], count: int = _SPEECH_MODES) -> np.ndarray:
    """The main ways the lower face moves while actors speak neutrally.

    Args:
        neutral_offsets: Per actor, ``(T, 478, 3)`` offsets of a neutral speaking clip from the
            actor's neutral face.
        count: How many modes to keep.

    Returns:
        ``(count, 478 * 3)`` orthonormal modes (principal components of the lower face: jaw
        opening, lip aperture, rounding come first).
    """
    lower = load_face_model().template[:, 1] > load_face_model().template[_NOSE_TIP, 1]
    rows = []
    for d in neutral_offsets:
        d = d[~np.isnan(d).any(axis=(1, 2))].astype(np.float64)
        d[:, ~lower] = 0.0
        rows.append(d.reshape(len(d), -1) - d.reshape(len(d), -1).mean(axis=0))
    _, _, vt = np.linalg.svd(np.concatenate(rows), full_matrices=False)
    return vt[:count]


def peak_frames(
    canonical: np.ndarray,
    neutral: np.ndarray,
    constraint: SpeechConstraint,
    modes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """The speech-free offsets of an emotional clip and which frames are its expressive peak.

    Args:
        canonical: ``(T, 478, 3)`` fitted canonical shapes of the emotional clip.
        neutral: ``(478, 3)`` the actor's neutral shape.
        constraint: The speech constraint.
        modes: ``(K, 478 * 3)`` orthonormal speech modes, removed from every frame first (so a
            jaw drop is taken out whole rather than spread over the mouth by the constraint).

    Returns:
        ``(offsets, peak)``: ``(T, 478, 3)`` offsets (NaN where the face is absent) and a
        ``(T,) bool`` mask of the frames ranked above ``_PEAK_QUANTILE`` by their projection on
        the clip's median offset.
    """
    ok = ~np.isnan(canonical).any(axis=(1, 2))
    flat = (canonical[ok] - neutral).reshape(int(ok.sum()), -1).astype(np.float64)
    flat -= (flat @ modes.T) @ modes
    d = constraint.project(flat.reshape(-1, N_LANDMARKS, 3))
    median = np.median(d, axis=0)
    score = (d * median).sum(axis=(1, 2)) / max(float((median**2).sum()), 1e-12)
    offsets = np.full(canonical.shape, np.nan)
    offsets[ok] = d
    peak = np.zeros(len(canonical), dtype=bool)
    peak[np.flatnonzero(ok)[score >= np.quantile(score, _PEAK_QUANTILE)]] = True
    return offsets, peak


def clip_prototype(
    canonical: np.ndarray,
    neutral: np.ndarray,
    constraint: SpeechConstraint,
    modes: np.ndarray,
) -> np.ndarray:
    """Speech-free offset of an emotional clip's expressive peak from the actor's neutral.

    Args: see ``peak_frames``.

    Returns:
        ``(478, 3)`` mean offset over the peak frames.
    """
    offsets, peak = peak_frames(canonical, neutral, constraint, modes)
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


@dataclass(frozen=True)
class _Cast:
    """The actors usable for calibration, their neutral faces and the speech modes."""

    shapes: dict[str, dict[Emotion, np.ndarray]]
    actors: tuple[str, ...]
    emotions: tuple[Emotion, ...]
    neutrals: np.ndarray
    modes: np.ndarray
    constraint: SpeechConstraint

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
        modes = speech_modes(
            [shapes[a][Emotion.NEUTRAL] - n for a, n in zip(actors, neutrals, strict=True)]
        )
        return cls(shapes, actors, emotions, neutrals, modes, speech_constraint())


def peak_masks(fits: list[LabeledFit]) -> dict[tuple[str, Emotion], np.ndarray]:
    """Per (actor, emotion): the ``(T,) bool`` peak frames of that clip (see ``peak_frames``).

    Raises:
        InvalidOptionError: No actor has both a neutral and an emotional clip.
    """
    cast = _Cast.of(fits)
    out = {}
    for i, actor in enumerate(cast.actors):
        for emotion in cast.emotions:
            shapes = cast.shapes[actor][emotion]
            out[actor, emotion] = peak_frames(
                shapes, cast.neutrals[i], cast.constraint, cast.modes
            )[1]
    return out


def calibrate_prototypes(
    clips: list[LabeledClip] | list[LabeledFit],
    progress: Callable[[str], None] | None = None,
) -> EmotionPrototypes:
    """Measure prototypes from labelled clips.

    Args:
        clips: Clips of several actors (or the same already fitted by ``fit_labeled_clips``);
            each actor needs a neutral clip to be used.
        progress: Called with a line of text per clip.

    Returns:
        Prototypes averaged over actors, for every expressive emotion found.

    Raises:
        InvalidOptionError: No actor has both a neutral and an emotional clip.
    """
    smoother = mesh_smoother()
    fits = [c for c in clips if isinstance(c, LabeledFit)]
    if len(fits) != len(clips):
        fits = fit_labeled_clips([c for c in clips if isinstance(c, LabeledClip)], progress)
    cast = _Cast.of(fits)
    constraint, actors, emotions = cast.constraint, cast.actors, cast.emotions
    actor_offsets = np.zeros((len(actors), len(emotions), N_LANDMARKS, 3))
    for i, actor in enumerate(actors):
        for j, emotion in enumerate(emotions):
            offset = clip_prototype(
                cast.shapes[actor][emotion], cast.neutrals[i], constraint, cast.modes
            )
            for _ in range(_SMOOTH_PASSES):
                offset = smoother @ offset
            offset[N_MESH:] = 0.0
            actor_offsets[i, j] = constraint.project(_rigid_irises(offset))
    mean = np.median(actor_offsets, axis=0) if len(actors) > 2 else actor_offsets.mean(axis=0)
    # the median is not linear: project again so the combination opens no lip or jaw either
    combined = constraint.project(_rigid_irises(mean))
    combined = constraint.project(np.stack([without_rounding(c, constraint) for c in combined]))
    actor_norm = np.sqrt((actor_offsets**2).sum(axis=(2, 3))).mean(axis=0)  # (E,)
    combined_norm = np.sqrt((combined**2).sum(axis=(1, 2)))
    gain = np.clip(actor_norm / np.maximum(combined_norm, 1e-12), 1.0, _MAX_GAIN)
    combined = combined * gain[:, None, None]  # linear: the constraints still hold
    combined = constraint.project(
        _rigid_irises(combined * region_gains(actor_offsets, combined, smoother)[..., None])
    )
    return EmotionPrototypes(
        emotions=emotions,
        offsets=combined.astype(np.float32),
        neutral=cast.neutrals.mean(axis=0).astype(np.float32),
        actors=actors,
        actor_offsets=actor_offsets.astype(np.float32),
    )
