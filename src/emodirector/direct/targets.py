"""The ways of directing a face, and the per-frame goal each one becomes.

- ``EmotionTarget``: a label and an intensity, for the whole video;
- ``ReferenceTarget``: the emotion read from a reference photo or clip (``read_reference``);
- ``ActionUnitTarget``: FACS action units set to given intensities, the others left alone;
- ``Timeline``: keyframes of labels or references at times in seconds, with smooth transitions.

``edit_goal`` turns any of them into an ``EditGoal`` for the frames of a clip; the editor is the
same for all.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import numpy as np

from emodirector.direct.reference import ReferenceExpression
from emodirector.errors import InvalidOptionError
from emodirector.manipulate.action_units import (
    ACTION_UNIT_NAMES,
    FORBIDDEN_UNITS,
    ActionUnits,
    normalize_code,
)
from emodirector.manipulate.basis import EditGoal
from emodirector.manipulate.emotions import EmotionTarget
from emodirector.manipulate.prototypes import EmotionPrototypes
from emodirector.ramps import smoothstep

#: Default length of a timeline transition, in seconds.
DEFAULT_RAMP_SECONDS = 0.5


def _check_intensity(value: float, what: str) -> float:
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise InvalidOptionError(f"{what} must be within 0..1, got {value:g}")
    return value


@dataclass(frozen=True)
class ReferenceTarget:
    """Take on the emotion of a reference face.

    Attributes:
        reference: What ``read_reference`` read from the photo or clip.
        intensity: Scales the transferred emotion (1: as strongly as it was read).
    """

    reference: ReferenceExpression
    intensity: float = 1.0

    def __post_init__(self) -> None:
        _check_intensity(self.intensity, "intensity")


@dataclass(frozen=True)
class ActionUnitTarget:
    """Set FACS action units to given intensities.

    Attributes:
        units: ``(code, intensity 0..1)`` pairs, e.g. ``(("AU12", 0.7), ("AU04", 0.0))``; a unit
            at 0 is taken out of the face's shape (the lines the actor shows with it stay: the
            renderer only adds expression detail), units not named are left as the actor shows
            them.
        intensity: Scales the whole change (1: the units reach their values).
    """

    units: tuple[tuple[str, float], ...]
    intensity: float = 1.0

    def __post_init__(self) -> None:
        if not self.units:
            raise InvalidOptionError("name at least one action unit")
        codes = [normalize_code(code) for code, _ in self.units]
        if len(set(codes)) != len(codes):
            raise InvalidOptionError("an action unit is named twice")
        for code, value in self.units:
            code = normalize_code(code)
            if code in FORBIDDEN_UNITS:
                raise InvalidOptionError(
                    f"{code} ({ACTION_UNIT_NAMES[code]}) is refused: {FORBIDDEN_UNITS[code]}"
                )
            _check_intensity(value, f"{code}'s intensity")
        _check_intensity(self.intensity, "intensity")

    @classmethod
    def parse(cls, text: str, intensity: float = 1.0) -> ActionUnitTarget:
        """Parse ``"AU12=0.7,AU6=0.5,AU4=0"`` (case-insensitive; ``AU6`` or ``AU06``).

        Raises:
            InvalidOptionError: Malformed text, unknown or refused unit, value outside 0..1.

        >>> ActionUnitTarget.parse("au12=0.7, AU4=0").units
        (('AU12', 0.7), ('AU04', 0.0))
        """
        units = []
        for item in text.split(","):
            if not item.strip():
                continue
            name, sep, value = item.partition("=")
            if not sep:
                raise InvalidOptionError(
                    f"malformed action unit {item.strip()!r}: write UNIT=INTENSITY, e.g. AU12=0.7"
                )
            try:
                number = float(value)
            except ValueError:
                raise InvalidOptionError(
                    f"malformed action unit {item.strip()!r}: {value.strip()!r} is not a number"
                ) from None
            units.append((normalize_code(name), number))
        return cls(tuple(units), intensity)


#: What a keyframe can hold.
KeyframeTarget: TypeAlias = EmotionTarget | ReferenceTarget


@dataclass(frozen=True)
class Keyframe:
    """The face reaches ``target`` at ``time`` seconds and holds it until the next keyframe."""

    time: float
    target: KeyframeTarget

    def __post_init__(self) -> None:
        if not np.isfinite(self.time) or self.time < 0:
            raise InvalidOptionError(
                f"keyframe time must be a non-negative number, got {self.time}"
            )


@dataclass(frozen=True)
class Timeline:
    """Emotion keyframes over time.

    Before the first keyframe the face is left as it is (unless that keyframe is at 0); the
    transition into each keyframe takes ``ramp_seconds`` (or the time since the previous
    keyframe, if shorter) and ends at the keyframe's time, easing in and out (smoothstep), so
    the face never jumps.

    Attributes:
        keyframes: In strictly increasing time order.
        ramp_seconds: Length of each transition.
    """

    keyframes: tuple[Keyframe, ...]
    ramp_seconds: float = DEFAULT_RAMP_SECONDS

    def __post_init__(self) -> None:
        if not self.keyframes:
            raise InvalidOptionError("a timeline needs at least one keyframe")
        times = [k.time for k in self.keyframes]
        for a, b in zip(times, times[1:], strict=False):
            if b <= a:
                raise InvalidOptionError(
                    f"timeline keyframes must be in increasing time order: {b:g} s after {a:g} s"
                )
        if not np.isfinite(self.ramp_seconds) or self.ramp_seconds < 0:
            raise InvalidOptionError(f"ramp must be non-negative, got {self.ramp_seconds}")

    @classmethod
    def parse(
        cls,
        text: str,
        read_reference: Callable[[Path], ReferenceExpression] | None = None,
        ramp_seconds: float = DEFAULT_RAMP_SECONDS,
    ) -> Timeline:
        """Parse ``"0:neutral, 2.5:happy@0.8, 6:ref=angry.jpg@0.7"``.

        Each keyframe is ``SECONDS:EMOTION[@INTENSITY]`` or ``SECONDS:ref=PATH[@INTENSITY]``.

        Args:
            text: The timeline.
            read_reference: Reads a reference file (needed only for ``ref=`` keyframes).
            ramp_seconds: Transition length.

        Raises:
            InvalidOptionError: Malformed text, unknown emotion, bad intensity, keyframes out
                of order.
        """
        keyframes = []
        for item in text.split(","):
            if not item.strip():
                continue
            time_text, sep, what = item.partition(":")
            if not sep or not what.strip():
                raise InvalidOptionError(
                    f"malformed timeline keyframe {item.strip()!r}: write SECONDS:EMOTION[@0..1],"
                    " e.g. 2.5:happy@0.8"
                )
            try:
                time = float(time_text)
            except ValueError:
                raise InvalidOptionError(
                    f"malformed timeline keyframe {item.strip()!r}: {time_text.strip()!r} is not "
                    "a time in seconds"
                ) from None
            what, at, level = what.strip().rpartition("@") if "@" in what else ("", "", what)
            what = what if at else level
            intensity = _parse_level(level, item) if at else 1.0
            keyframes.append(
                Keyframe(time, _keyframe_target(what.strip(), intensity, read_reference))
            )
        return cls(tuple(keyframes), ramp_seconds)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        read_reference: Callable[[Path], ReferenceExpression] | None = None,
    ) -> Timeline:
        """Read a JSON timeline.

        ``{"ramp_seconds": 0.5, "keyframes": [{"time": 0, "emotion": "neutral"},
        {"time": 2.5, "emotion": "happy", "intensity": 0.8},
        {"time": 6, "reference": "angry.jpg"}]}``; reference paths are relative to the file.

        Raises:
            InvalidOptionError: Unreadable or malformed file.
        """
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise InvalidOptionError(f"timeline {path}: not a readable JSON file ({exc})") from None
        if not isinstance(data, dict) or not isinstance(data.get("keyframes"), list):
            raise InvalidOptionError(f'timeline {path}: expected {{"keyframes": [...]}}')
        keyframes = []
        for i, item in enumerate(data["keyframes"]):
            if not isinstance(item, dict) or "time" not in item:
                raise InvalidOptionError(f"timeline {path}: keyframe {i} needs a time")
            if ("emotion" in item) == ("reference" in item):
                raise InvalidOptionError(
                    f"timeline {path}: keyframe {i} needs either an emotion or a reference"
                )
            try:
                time = float(item["time"])
                intensity = float(item.get("intensity", 1.0))
            except (TypeError, ValueError):
                raise InvalidOptionError(
                    f"timeline {path}: keyframe {i} has a non-numeric time or intensity"
                ) from None
            what = (
                str(item["emotion"])
                if "emotion" in item
                else "ref=" + str(path.parent / str(item["reference"]))
            )
            keyframes.append(Keyframe(time, _keyframe_target(what, intensity, read_reference)))
        try:
            ramp = float(data.get("ramp_seconds", DEFAULT_RAMP_SECONDS))
        except (TypeError, ValueError):
            raise InvalidOptionError(f"timeline {path}: ramp_seconds is not a number") from None
        return cls(tuple(keyframes), ramp)


def _parse_level(text: str, item: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidOptionError(
            f"malformed timeline keyframe {item.strip()!r}: {text!r} is not an intensity"
        ) from None
    return _check_intensity(value, "keyframe intensity")


def _keyframe_target(
    what: str,
    intensity: float,
    read_reference: Callable[[Path], ReferenceExpression] | None,
) -> KeyframeTarget:
    if re.match(r"(?i)ref\s*=", what):
        if read_reference is None:
            raise InvalidOptionError("reference keyframes need a reference reader")
        path = Path(what.split("=", 1)[1].strip())
        return ReferenceTarget(read_reference(path), intensity)
    return EmotionTarget.from_label(what, intensity)


#: Every way of directing a face.
Direction: TypeAlias = EmotionTarget | ReferenceTarget | ActionUnitTarget | Timeline


def _emotion_goal(
    target: KeyframeTarget, prototypes: EmotionPrototypes
) -> tuple[np.ndarray, float]:
    """``(E,)`` goal weights and strength of a label or reference target."""
    goal = np.zeros(len(prototypes.emotions))
    if isinstance(target, ReferenceTarget):
        read = dict(zip(target.reference.emotions, target.reference.weights, strict=True))
        for i, emotion in enumerate(prototypes.emotions):
            goal[i] = float(read.get(emotion, 0.0))
    else:
        goal = prototypes.goal(target.emotion)
    return goal, float(target.intensity)


def timeline_weights(
    timeline: Timeline, times: np.ndarray, prototypes: EmotionPrototypes
) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame ``(strength * goal (T, E), strength (T,))`` of a timeline.

    Both are interpolated (smoothstep) in each transition, so the edit they give,
    ``strength * goal - strength * own``, changes smoothly.
    """
    n_e = len(prototypes.emotions)
    values = [(np.zeros(n_e), 0.0)]  # before the first keyframe: unchanged
    starts = [-np.inf]
    for keyframe in timeline.keyframes:
        goal_k, strength_k = _emotion_goal(keyframe.target, prototypes)
        values.append((strength_k * goal_k, strength_k))
        starts.append(keyframe.time)
    mixed = np.zeros((times.size, n_e))
    strength = np.zeros(times.size)
    # the value before keyframe k holds until its transition starts
    mixed[:] = values[0][0]
    strength[:] = values[0][1]
    for k in range(1, len(values)):
        end = starts[k]
        ramp = min(timeline.ramp_seconds, end - starts[k - 1]) if k > 1 else timeline.ramp_seconds
        start = end - ramp
        x = (times - start) / ramp if ramp > 0 else (times >= end).astype(np.float64)
        s = smoothstep(x)
        sel = times >= start
        prev_a, prev_s = values[k - 1]
        a, st = values[k]
        mixed[sel] = prev_a + (a - prev_a) * s[sel, None]
        strength[sel] = prev_s + (st - prev_s) * s[sel]
    return mixed, strength


def edit_goal(
    direction: Direction,
    times: np.ndarray,
    prototypes: EmotionPrototypes,
    action_units: ActionUnits | None = None,
    duration: float | None = None,
) -> EditGoal:
    """The per-frame goal of a direction on the frames at ``times``.

    Args:
        direction: Label, reference, action units or timeline.
        times: ``(T,)`` frame times in seconds.
        prototypes: The emotion prototypes (the basis of labels, references and timelines).
        action_units: The action units (the packaged ones if None and needed).
        duration: The video's length in seconds; timeline keyframes after it are refused.

    Raises:
        InvalidOptionError: A timeline keyframe after the video's end, a target with no
            prototype.
    """
    times = np.asarray(times, np.float64)
    n = times.size
    if isinstance(direction, ActionUnitTarget):
        units = action_units or ActionUnits.load_default()
        basis = units.basis(prototypes.neutral)
        goal = np.zeros(basis.size, np.float32)
        controlled = np.zeros(basis.size, bool)
        for code, value in direction.units:
            i = basis.names.index(normalize_code(code))
            goal[i], controlled[i] = value, True
        return EditGoal.constant(basis, goal, direction.intensity, n, controlled)
    basis = prototypes.basis()
    if isinstance(direction, Timeline):
        if duration is not None:
            last = direction.keyframes[-1].time
            if last > duration + 1e-6:
                raise InvalidOptionError(
                    f"timeline keyframe at {last:g} s is after the video's end ({duration:.2f} s)"
                )
        mixed, strength = timeline_weights(direction, times, prototypes)
        goal = np.divide(
            mixed, strength[:, None], out=np.zeros_like(mixed), where=strength[:, None] > 0
        )
        return EditGoal(
            basis=basis,
            goal=goal.astype(np.float32),
            strength=np.clip(strength, 0.0, 1.0).astype(np.float32),
            controlled=np.ones(basis.size, bool),
        )
    goal_e, strength_e = _emotion_goal(direction, prototypes)
    return EditGoal.constant(basis, goal_e, strength_e, n)


__all__ = [
    "DEFAULT_RAMP_SECONDS",
    "ActionUnitTarget",
    "Direction",
    "Keyframe",
    "KeyframeTarget",
    "ReferenceTarget",
    "Timeline",
    "edit_goal",
    "timeline_weights",
]
