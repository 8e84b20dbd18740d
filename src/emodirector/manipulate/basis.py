"""Expression bases and per-frame goals: the common currency of every way of directing a face.

An ``ExpressionBasis`` is a set of named canonical offset fields (modes): the six emotion
prototypes, or the facial action units. A direction (a label, a reference photo, action units, a
timeline) becomes an ``EditGoal``: for every frame, the weight each mode should have, how far to go
from the actor's own weights towards it, and which modes the direction controls at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from emodirector.face_model import N_LANDMARKS


@dataclass(frozen=True)
class ExpressionBasis:
    """Named canonical offset fields.

    Attributes:
        names: Name of each mode (an emotion's value such as ``"happy"``, or ``"AU12"``).
        offsets: ``(K, 478, 3) float32`` canonical offsets of each mode at weight 1, the mouth
            included; an edit applies their lip separation only as the speech allows
            (``fit.speech``).
        rest: ``(478, 3) float32`` a population resting face in the canonical frame; an
            actor's resting face is read against it for the expression held through a clip.
        applied: ``(K, 478, 3) float32`` what an edit adds per unit weight of each mode
            (``offsets`` by default). A face is *read* with the whole of ``offsets``, but a mode
            may apply less.
        aperture_gain: ``(K,) float32`` change of the speech's aperture factor per unit weight
            of each mode (zeros by default): surprise opens the mouth more between words, anger
            less (``fit.speech``: the factor is ``1 + sum_k weight_k * aperture_gain_k``, kept
            within ``AMPLITUDE_BAND``).
    """

    names: tuple[str, ...]
    offsets: np.ndarray
    rest: np.ndarray
    applied: np.ndarray = field(default=None)  # type: ignore[arg-type]
    aperture_gain: np.ndarray = field(default=None)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        k = len(self.names)
        if self.offsets.shape != (k, N_LANDMARKS, 3):
            raise ValueError(f"offsets must be ({k}, 478, 3), got {self.offsets.shape}")
        if self.applied is None:
            object.__setattr__(self, "applied", self.offsets)
        if self.applied.shape != self.offsets.shape:
            raise ValueError(f"applied must be ({k}, 478, 3), got {self.applied.shape}")
        if self.aperture_gain is None:
            object.__setattr__(self, "aperture_gain", np.zeros(k, np.float32))
        if self.aperture_gain.shape != (k,):
            raise ValueError(f"aperture_gain must be ({k},), got {self.aperture_gain.shape}")
        if self.rest.shape != (N_LANDMARKS, 3):
            raise ValueError(f"rest must be (478, 3), got {self.rest.shape}")
        if len(set(self.names)) != k:
            raise ValueError("mode names must be unique")

    @property
    def size(self) -> int:
        """Number of modes."""
        return len(self.names)


@dataclass(frozen=True)
class EditGoal:
    """What the face should show on every frame, on one basis.

    The edit on frame ``t`` moves mode ``k`` (if ``controlled[k]``) by
    ``strength[t] * (goal[t, k] - own[t, k])``, where ``own`` is the actor's estimated weight.

    Attributes:
        basis: The modes.
        goal: ``(T, K) float32`` weight each mode should reach.
        strength: ``(T,) float32`` 0..1: 0 leaves the frame as it is, 1 reaches the goal.
        controlled: ``(K,) bool`` modes the direction sets; the others are left as the actor
            shows them.
    """

    basis: ExpressionBasis
    goal: np.ndarray
    strength: np.ndarray
    controlled: np.ndarray

    def __post_init__(self) -> None:
        t, k = self.strength.shape[0], self.basis.size
        if self.strength.ndim != 1:
            raise ValueError("strength must be (T,)")
        if self.goal.shape != (t, k):
            raise ValueError(f"goal must be ({t}, {k}), got {self.goal.shape}")
        if self.controlled.shape != (k,) or self.controlled.dtype != bool:
            raise ValueError(f"controlled must be ({k},) bool")
        if self.strength.size and not (
            float(self.strength.min()) >= 0.0 and float(self.strength.max()) <= 1.0
        ):
            raise ValueError("strength must be within 0..1")

    @property
    def n_frames(self) -> int:
        return int(self.strength.shape[0])

    @classmethod
    def constant(
        cls,
        basis: ExpressionBasis,
        goal: np.ndarray,
        strength: float,
        n_frames: int,
        controlled: np.ndarray | None = None,
    ) -> EditGoal:
        """The same ``(K,)`` goal and strength on all ``n_frames`` frames."""
        goal = np.asarray(goal, np.float32)
        return cls(
            basis=basis,
            goal=np.repeat(goal[None], n_frames, axis=0),
            strength=np.full(n_frames, strength, np.float32),
            controlled=(
                np.ones(basis.size, bool) if controlled is None else np.asarray(controlled, bool)
            ),
        )


__all__ = ["EditGoal", "ExpressionBasis"]
