"""How much of an edit to show given the head's pose.

The edit moves a frontal face mesh; as the head turns far aside or tilts far up or down the
mesh's triangles fold over each other (the nose hides the mouth, the brows the eyes) and a warp
would smear the face. The editor fades its edit out as the head turns (``yaw_fade``, part of the
edit's gain, tuned by ``EditorOptions.max_yaw_degrees``) and as it tilts (``pitch_weight``,
applied where the edit is mapped into the image).
"""

from __future__ import annotations

import numpy as np

from emodirector.fit.fitting import FaceFit
from emodirector.ramps import smoothstep

#: Up to this head pitch (degrees, either way) the edit is shown in full ...
MAX_PITCH_DEGREES = 25.0
#: ... and it is gone at this pitch; smoothstep in between, so it fades without a jump.
ZERO_PITCH_DEGREES = 40.0


def head_pitch(rotation: np.ndarray) -> np.ndarray:
    """``(n,)`` head pitch in degrees of ``(n, 3, 3)`` canonical-to-image rotations.

    The same angle as ``FaceFit.yaw_pitch_roll``'s second column.

    >>> head_pitch(np.eye(3)[None]).tolist()
    [0.0]
    """
    R = np.asarray(rotation, np.float64)
    return np.degrees(np.arctan2(R[:, 2, 1], R[:, 2, 2]))


def pitch_weight(rotation: np.ndarray) -> np.ndarray:
    """``(n,)`` weight in 0..1 of the edit for ``(n, 3, 3)`` head rotations.

    1 while ``|pitch| <= MAX_PITCH_DEGREES``, 0 from ``ZERO_PITCH_DEGREES`` on, smoothstep
    between; 0 where the rotation is NaN (no face).

    >>> c, s = np.cos(np.radians(32.5)), np.sin(np.radians(32.5))
    >>> R = np.array([np.eye(3), [[1, 0, 0], [0, c, -s], [0, s, c]]])
    >>> pitch_weight(R).round(3).tolist()
    [1.0, 0.5]
    """
    pitch = np.abs(head_pitch(rotation))
    fade = (ZERO_PITCH_DEGREES - pitch) / (ZERO_PITCH_DEGREES - MAX_PITCH_DEGREES)
    return np.nan_to_num(smoothstep(fade), nan=0.0)


def yaw_fade(fit: FaceFit, max_yaw: float) -> np.ndarray:
    """``(T,)`` weight in 0..1 of the edit: 1 up to ``max_yaw`` degrees of head turn either way,
    0 from 1.5 times it, smoothstep between (and 1 where there is no face: the gain is 0 there)."""
    yaw = np.nan_to_num(np.abs(fit.yaw_pitch_roll()[:, 0]), nan=0.0)
    return smoothstep((1.5 * max_yaw - yaw) / (0.5 * max_yaw))


__all__ = ["MAX_PITCH_DEGREES", "ZERO_PITCH_DEGREES", "head_pitch", "pitch_weight", "yaw_fade"]
