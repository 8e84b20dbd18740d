"""Labelled clips for training a manipulator: found by MEAD's names or a CSV, fitted once.

A training folder is either laid out as MEAD names its files (``M030_front_happy_level3_001.mp4``
directly in the folder, or MEAD's own tree ``M030/video/front/happy/level_3/001.mp4``), or comes
with a CSV of ``path,emotion`` rows (paths relative to the CSV's folder; an optional ``actor``
column; otherwise the actor is read from a MEAD name, else each clip is its own actor), as
``shared/data/labels.csv`` is written (``file,label``).

Each clip is tracked and fitted once; the canonical shapes are cached in a folder, keyed by the
clip's content, so that a second training run (another seed, a resume) does not track again.
"""

from __future__ import annotations

import csv
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emodirector.emotion import Emotion
from emodirector.errors import EmodirectorError, InvalidOptionError
from emodirector.files import replacing

#: ``M030_front_happy_level3_001.mp4``.
_MEAD_NAME = re.compile(r"^(?P<actor>[A-Z]\d{3})_front_(?P<emotion>[a-z]+)_level(?P<level>\d)_")
#: MEAD's own tree: ``M030/video/front/happy/level_3/001.mp4``.
_MEAD_TREE = re.compile(r"(?P<actor>[A-Z]\d{3})/video/front/(?P<emotion>[a-z]+)/level_\d/[^/]+$")
_VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".mpg", ".webm")
#: Version of the cached fit format (bump when what is cached changes).
_CACHE_VERSION = 1


@dataclass(frozen=True)
class TrainingClip:
    """A clip of one actor showing one emotion."""

    path: Path
    actor: str
    emotion: Emotion


@dataclass(frozen=True)
class FittedClip:
    """A training clip's fitted face.

    Attributes:
        clip: The clip.
        canonical: ``(T, 478, 3) float32`` canonical shapes of the frames with a face (frames
            without one are dropped).
    """

    clip: TrainingClip
    canonical: np.ndarray

    def __post_init__(self) -> None:
        if self.canonical.ndim != 3 or self.canonical.shape[1:] != (478, 3):
            raise ValueError(f"canonical must be (T, 478, 3), got {self.canonical.shape}")


def _parse_emotion(label: str) -> Emotion | None:
    try:
        return Emotion.parse(label)
    except InvalidOptionError:  # contempt and other labels of theirs only
        return None


def _from_mead_names(folder: Path) -> list[TrainingClip]:
    clips = []
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() not in _VIDEO_SUFFIXES or not p.is_file():
            continue
        m = _MEAD_NAME.match(p.name) or _MEAD_TREE.search(p.relative_to(folder).as_posix())
        emotion = _parse_emotion(m["emotion"]) if m else None
        if m and emotion is not None:
            clips.append(TrainingClip(p, m["actor"], emotion))
    return clips


def _from_csv(labels: Path, folder: Path | None) -> list[TrainingClip]:
    if not labels.is_file():
        raise InvalidOptionError(f"{labels}: no such labels file")
    with labels.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise InvalidOptionError(
            f"{labels}: no rows (write a header 'path,emotion' and a row per clip)"
        )
    keys = {k.lower(): k for k in rows[0] if k}
    path_key = keys.get("path") or keys.get("file")
    emotion_key = keys.get("emotion") or keys.get("label")
    if path_key is None or emotion_key is None:
        raise InvalidOptionError(f"{labels}: needs a 'path' (or 'file') and an 'emotion' (or "
                                 "'label') column")  # fmt: skip
    actor_key = keys.get("actor")
    root = folder if folder is not None else labels.parent
    clips = []
    for row in rows:
        p = Path(row[path_key])
        if p.suffix.lower() not in _VIDEO_SUFFIXES:
            continue  # photos and audio are not sequences
        path = p if p.is_absolute() else root / p
        if not path.is_file() and (labels.parent / p).is_file():
            path = labels.parent / p
        emotion = _parse_emotion(row[emotion_key])
        if emotion is None:
            continue
        m = _MEAD_NAME.match(path.name)
        actor = (row.get(actor_key) if actor_key else None) or (m["actor"] if m else path.stem)
        clips.append(TrainingClip(path, actor, emotion))
    return clips


def find_training_clips(folder: Path, labels: Path | None = None) -> list[TrainingClip]:
    """The labelled clips of a training folder.

    Args:
        folder: The clips (MEAD names or tree), or the folder a CSV's relative paths start from.
        labels: A CSV of ``path,emotion`` (or ``file,label``) rows; without it MEAD names.

    Raises:
        InvalidOptionError: Not a folder, no video in it, no labelled clip, a labelled clip that
            does not exist, or fewer than two emotions (nothing to translate between).
    """
    if not folder.is_dir():
        raise InvalidOptionError(f"{folder}: not a folder")
    videos = [p for p in folder.rglob("*") if p.suffix.lower() in _VIDEO_SUFFIXES]
    if labels is None and not videos:
        raise InvalidOptionError(f"{folder}: no video clips in it")
    clips = _from_csv(labels, folder) if labels is not None else _from_mead_names(folder)
    if not clips:
        raise InvalidOptionError(
            f"{folder}: no labelled clips (name them as MEAD does, e.g. "
            "M030_front_happy_level3_001.mp4, or pass --labels CSV with path,emotion rows)"
        )
    missing = [c.path for c in clips if not c.path.is_file()]
    if missing:
        raise InvalidOptionError(f"{missing[0]}: labelled clip not found ({len(missing)} missing)")
    emotions = {c.emotion for c in clips}
    if len(emotions) < 2:
        raise InvalidOptionError(
            f"{folder}: every clip is {next(iter(emotions)).value}; a manipulator needs clips of "
            "at least two emotions"
        )
    return clips


def _cache_key(path: Path) -> str:
    h = hashlib.sha1(f"v{_CACHE_VERSION}".encode())
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:20]


def fit_training_clips(
    clips: list[TrainingClip],
    cache: Path | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[FittedClip]:
    """Track and fit every clip, reading and writing the cache folder if given.

    Raises:
        InvalidOptionError: A clip cannot be read or shows no face (the message names it).
    """
    from emodirector.fit.fitting import fit_track
    from emodirector.track.tracker import FaceTracker
    from emodirector.video.reader import probe

    out: list[FittedClip] = []
    tracker: FaceTracker | None = None
    try:
        for clip in clips:
            key = _cache_key(clip.path) if cache is not None else ""
            cached = cache / f"{key}.npz" if cache is not None else None
            if cached is not None and cached.is_file():
                with np.load(cached) as z:
                    canonical = z["canonical"]
                note = "cached"
            else:
                if tracker is None:
                    tracker = FaceTracker().__enter__()
                try:
                    fit = fit_track(tracker.track_video(probe(clip.path)))
                except EmodirectorError as exc:
                    raise InvalidOptionError(f"{clip.path}: cannot be read ({exc})") from None
                canonical = np.asarray(fit.canonical[fit.present], np.float32)
                if cached is not None and canonical.size:
                    cached.parent.mkdir(parents=True, exist_ok=True)
                    with replacing(cached) as tmp, tmp.open("wb") as f:
                        np.savez(f, canonical=canonical)
                note = "fitted"
            if len(canonical) == 0:
                raise InvalidOptionError(f"{clip.path}: no face found in the clip")
            if progress is not None:
                progress(f"{clip.path.name}: {len(canonical)} frames ({note})")
            out.append(FittedClip(clip, canonical))
    finally:
        if tracker is not None:
            tracker.__exit__(None, None, None)
    return out


def actor_neutrals(fits: list[FittedClip]) -> dict[str, np.ndarray]:
    """``(478, 3)`` resting face per actor: the median over the actor's neutral clips, or over
    all of the actor's frames if the actor has no neutral clip."""
    out = {}
    for actor in sorted({f.clip.actor for f in fits}):
        own = [f.canonical for f in fits if f.clip.actor == actor]
        neutral = [f.canonical for f in fits if f.clip.actor == actor
                   and f.clip.emotion is Emotion.NEUTRAL]  # fmt: skip
        out[actor] = np.median(np.concatenate(neutral or own), axis=0).astype(np.float32)
    return out


__all__ = [
    "FittedClip",
    "TrainingClip",
    "actor_neutrals",
    "find_training_clips",
    "fit_training_clips",
]
