"""The prototype editor: remove the actor's own expression, add the direction's.

Working on the canonical expression of a fitted face and a basis of named modes (the emotion
prototypes, or action units; see ``basis.py``), the editor

1. estimates, frame by frame, how much of each emotion prototype the actor shows: a part held
   through the whole segment (the resting face compared with the calibration actors' mean
   neutral face) and a part that comes and goes (each frame compared with the resting face),
   smoothed over time so that blinks and micro-motion are not mistaken for emotion;
2. builds the edit as ``strength * (goal - estimated own weights)`` on the modes the direction
   controls (for a label: ``intensity * (target prototype - own emotion)``): at strength 0
   nothing changes, at 1 the actor's emotion is replaced by the target's at MEAD level-3 strength;
3. keeps the speech (``fit.speech``): the modes' mouth shapes apply freely, their lip
   separation only through the parting gate of the actor's own lips (closed lips stay closed,
   open lips stay open), and the aperture scales by the modes' amplitude factor within
   0.8..1.35; since the edit is an offset added to the real face, the actor's own lip motion,
   blinks and micro-motion stay in the frame;
4. lets eyelid offsets fade out while the eye closes, so that blinks survive;
5. ramps the edit in and out over ``ramp_seconds`` where the face appears or disappears, and
   fades it out as the head turns beyond what a frontal fit handles.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.optimize import nnls

from emodirector.errors import InvalidOptionError
from emodirector.face_model import (
    LEFT_LID_PAIRS,
    RIGHT_LID_PAIRS,
)
from emodirector.fit.expression import emotion_feature_indices
from emodirector.fit.fitting import FaceFit
from emodirector.fit.speech import (
    INNER_PAIRS,
    SpeechPlan,
    lip_gaps,
    lip_thickness,
    mouth_width,
    plan_speech,
)
from emodirector.framearrays import chunks, release
from emodirector.manipulate.basis import EditGoal, ExpressionBasis
from emodirector.manipulate.emotions import Emotion, EmotionTarget
from emodirector.manipulate.interface import Editor
from emodirector.manipulate.pose import yaw_fade
from emodirector.manipulate.prototypes import EmotionPrototypes
from emodirector.ramps import smoothstep

_X, _Y = 0, 1


@dataclass(frozen=True)
class EditorOptions:
    """Tuning of the prototype editor.

    Attributes:
        remove_own_emotion: Estimate and remove the actor's own emotion before adding the target.
        held_emotion_gain: How much of the emotion estimated from the resting face (compared
            with the calibration actors' mean neutral face) is trusted; identity differences
            leak into it, so it is damped.
        held_gain_overrides: Per-mode exceptions to ``held_emotion_gain`` (an Emotion, or a
            mode name such as ``"AU12"``): a held smile is read reliably, so it is trusted
            fully.
        dynamics_seconds: Time scale over which the actor's changing emotion is estimated;
            faster motion (speech, blinks, micro-expressions) is kept as it is.
        ramp_seconds: Length of the fade in/out where the face appears or disappears.
        max_yaw_degrees: The edit fades out as the head turns from this angle to 1.5 times it.
        ridge: Regularisation of the emotion estimate.
    """

    remove_own_emotion: bool = True
    held_emotion_gain: float = 0.5
    held_gain_overrides: tuple[tuple[Emotion | str, float], ...] = ((Emotion.HAPPY, 1.0),)
    dynamics_seconds: float = 0.4
    ramp_seconds: float = 0.3
    max_yaw_degrees: float = 35.0
    ridge: float = 0.05

    def __post_init__(self) -> None:
        gains = [self.held_emotion_gain, *(g for _, g in self.held_gain_overrides)]
        if not all(0.0 <= g <= 1.0 for g in gains):
            raise InvalidOptionError(
                "held_emotion_gain and held_gain_overrides must be within 0..1"
            )
        if self.ramp_seconds < 0 or self.dynamics_seconds < 0:
            raise InvalidOptionError("time constants must be non-negative")
        if not 0.0 < self.max_yaw_degrees <= 90.0:
            raise InvalidOptionError("max_yaw_degrees must be within (0, 90]")


@dataclass(frozen=True)
class ExpressionEdit:
    """The edit of one face, as per-frame weights of the modes of a basis.

    The canonical offset added on frame ``t`` is ``gain[t] * sum_k weights[t, k] * M_k`` with
    eyelid landmarks further scaled by ``lid_gate[t]``, then made to keep the speech by
    ``speech`` (if given); see ``offsets``.

    Attributes:
        basis: The modes ``M_k`` the weights refer to (emotion prototypes or action units).
        weights: ``(T, K) float32`` change of each mode's weight (goal minus own, times strength).
        own: ``(T, K) float32`` the estimated weights the actor showed (for reports).
        gain: ``(T,) float32`` 0..1 ramp (0 where no face, fading at entry/exit and head turns).
        lid_gate: ``(T, 2) float32`` per eye (right, left), 0..1 how open the eye is relative to
            its usual opening; eyelid offsets are scaled by it.
        speech: How the mouth follows the actor's speech on each frame (``plan_speech``); None
            applies the offsets as they are (for tests and for edits without a mouth).
    """

    basis: ExpressionBasis
    weights: np.ndarray
    own: np.ndarray
    gain: np.ndarray
    lid_gate: np.ndarray
    speech: SpeechPlan | None = None

    def __post_init__(self) -> None:
        t, e = self.weights.shape[0], self.basis.size
        if self.weights.shape != (t, e) or self.own.shape != (t, e):
            raise ValueError(f"weights and own must be ({t}, {e})")
        if self.gain.shape != (t,) or self.lid_gate.shape != (t, 2):
            raise ValueError("gain must be (T,), lid_gate (T, 2)")
        if self.speech is not None and self.speech.n_frames != t:
            raise ValueError(f"speech must cover the {t} frames")

    @property
    def n_frames(self) -> int:
        return int(self.gain.shape[0])

    def offsets(self, frames: slice | np.ndarray) -> np.ndarray:
        """``(n, 478, 3) float32`` canonical offsets to add on the given frames."""
        w = self.weights[frames] * self.gain[frames, None]
        out = np.einsum("te,enk->tnk", w, self.basis.applied)
        gate = self.lid_gate[frames]
        for eye, pairs in enumerate((RIGHT_LID_PAIRS, LEFT_LID_PAIRS)):
            lids = np.asarray(pairs).ravel()
            out[:, lids] *= gate[:, eye, None, None]
        if self.speech is not None:
            out = self.speech.apply(out, frames)
        return out.astype(np.float32)


def _eye_openness(canonical: np.ndarray) -> np.ndarray:
    """``(T, 2)`` mean vertical lid gap of the right and left eye."""
    out = []
    for pairs in (RIGHT_LID_PAIRS, LEFT_LID_PAIRS):
        up, lo = np.asarray(pairs).T
        out.append((canonical[:, lo, _Y] - canonical[:, up, _Y]).mean(axis=1))
    return np.stack(out, axis=1)


def _segment_ramp(present: np.ndarray, segment: np.ndarray, ramp_frames: float) -> np.ndarray:
    """``(T,)`` 1 inside each segment, easing to 0 over ``ramp_frames`` at its ends.

    The ends of the video are not ramped: a face there is edited from the first frame.
    """
    t_count = present.shape[0]
    gain = present.astype(np.float64)
    if ramp_frames <= 0 or t_count == 0:
        return gain
    # distance (in frames) to the nearest frame that belongs to another segment or no face
    idx = np.arange(t_count)
    dist = np.full(t_count, np.inf)
    boundary = np.flatnonzero(np.diff(segment) != 0)
    for b in boundary:  # b is the last frame before a change
        left = segment[b] >= 0
        right = segment[b + 1] >= 0
        if left:
            sel = idx <= b
            dist[sel] = np.minimum(dist[sel], b + 1 - idx[sel])
        if right:
            sel = idx > b
            dist[sel] = np.minimum(dist[sel], idx[sel] - b)
    return gain * smoothstep(dist / ramp_frames)


def speech_plan(fit: FaceFit, basis: ExpressionBasis, weights: np.ndarray) -> SpeechPlan:
    """How an edit of ``fit`` by ``(T, K)`` weights of ``basis`` modes keeps the speech.

    The amplitude factor is ``1 + weights @ basis.aperture_gain``, at least 1: taking away the
    actor's own emotion (whose estimate carries the actor's identity) does not narrow the
    speech; it narrowed a sad edit's aperture to 0.81-0.88 on GRID's talkers, closing lips
    dlib saw parted. The lip separation and
    thickening are what the weighted modes (``applied``) do to each inner-lip gap and each
    lip's thickness. The weights should change over a
    segment, not with the words (see ``ExpressionEditor.edit_goal``).
    """
    gaps = np.full((fit.n_frames, len(INNER_PAIRS)), np.nan)
    width = np.full(fit.n_frames, np.nan)
    for sl in chunks(fit.n_frames):
        shapes = np.asarray(fit.canonical[sl], np.float64)
        gaps[sl], width[sl] = lip_gaps(shapes), mouth_width(shapes)
        release(fit.canonical)
    w = np.nan_to_num(np.asarray(weights, np.float64))
    applied = basis.applied.astype(np.float64)
    scale = np.maximum(1.0 + w @ basis.aperture_gain.astype(np.float64), 1.0)
    return plan_speech(gaps, w @ lip_gaps(applied), scale, w @ lip_thickness(applied), width)


class ExpressionEditor:
    """Edits a fitted face towards a goal on a basis of expression modes.

    Args:
        basis: The modes (emotion prototypes, action units).
        options: Tuning.
    """

    def __init__(self, basis: ExpressionBasis, options: EditorOptions | None = None) -> None:
        self.basis = basis
        self.options = options or EditorOptions()
        idx = emotion_feature_indices(include_eyelids=False)
        self._features = idx
        flat = basis.offsets[:, idx, :2].reshape(basis.size, -1)
        self._basis = flat.astype(np.float64)  # (K, F)
        overrides = {
            (key.value if isinstance(key, Emotion) else str(key)): gain
            for key, gain in self.options.held_gain_overrides
        }
        self._held_gains = np.array(
            [overrides.get(name, self.options.held_emotion_gain) for name in basis.names]
        )

    def _project(self, offsets: np.ndarray, nonneg: bool) -> np.ndarray:
        """Weights ``(n, K)`` of the modes that best explain ``(n, 478, 3)`` offsets."""
        B = self._basis
        y = offsets[:, self._features, :2].reshape(offsets.shape[0], -1).astype(np.float64)
        lam = self.options.ridge * float((B**2).sum(axis=1).mean())
        if not nonneg:
            A = B @ B.T + lam * np.eye(B.shape[0])
            return np.linalg.solve(A, B @ y.T).T
        # ridge NNLS: augment the system with sqrt(lam) * I
        A = np.concatenate([B.T, np.sqrt(lam) * np.eye(B.shape[0])])
        out = np.zeros((y.shape[0], B.shape[0]))
        for i, row in enumerate(y):
            out[i] = nnls(A, np.concatenate([row, np.zeros(B.shape[0])]))[0]
        return out

    def read_shape(self, canonical: np.ndarray) -> np.ndarray:
        """``(K,)`` non-negative weights of the modes a single canonical face shows.

        The face is read against the basis's population resting face, so for a face other
        than the calibration actors' the read includes identity differences; it is not damped.
        """
        rest = self.basis.rest.astype(np.float64)
        return self._project((np.asarray(canonical, np.float64) - rest)[None], nonneg=True)[0]

    def estimate_own(self, fit: FaceFit, fps: float) -> np.ndarray:
        """``(T, K)`` how much of each mode the actor shows on each frame (0 where absent).

        Args:
            fit: The fitted face.
            fps: Frame rate, for the time constants.
        """
        n_e = self.basis.size
        own = np.zeros((fit.n_frames, n_e))
        for k in range(fit.neutral.shape[0]):
            frames = np.flatnonzero(fit.segment == k)
            if frames.size == 0:
                continue
            held = self.read_shape(fit.neutral[k]) * self._held_gains
            moving = np.zeros((frames.size, n_e))
            for sl in chunks(frames.size):
                moving[sl] = self._project(fit.expression(frames[sl]), nonneg=False)
                release(fit.canonical)
            sigma = self.options.dynamics_seconds * fps
            if sigma > 0 and frames.size > 1:
                moving = gaussian_filter1d(moving, sigma, axis=0, mode="nearest")
            own[frames] = np.clip(held + moving, 0.0, None)
        return own

    def edit_goal(self, fit: FaceFit, goal: EditGoal, fps: float) -> ExpressionEdit:
        """Plan the edit of ``fit`` towards a per-frame goal.

        Args:
            fit: The fitted face.
            goal: Per-frame goal on this editor's basis, one row per frame of ``fit``.
            fps: Frame rate of the video (for the time constants).

        Returns:
            The ExpressionEdit; all zero where the face is absent or the strength is 0.
        """
        if goal.basis is not self.basis and goal.basis.names != self.basis.names:
            raise ValueError("the goal is on another basis than the editor's")
        if goal.n_frames != fit.n_frames:
            raise ValueError(f"goal has {goal.n_frames} frames, the fit {fit.n_frames}")
        o = self.options
        n_e = self.basis.size
        own = self.estimate_own(fit, fps) if o.remove_own_emotion else np.zeros((fit.n_frames, n_e))
        weights = goal.strength[:, None] * (goal.goal - own) * goal.controlled[None, :]
        # the mouth's amplitude and lip separation follow the goal and the actor's emotion as
        # held over each segment, not the estimate's motion, part of which is the speech's
        steady_own = own.copy()
        for k in range(fit.neutral.shape[0]):
            sel = fit.segment == k
            if sel.any():
                steady_own[sel] = np.median(own[sel], axis=0)
        steady = goal.strength[:, None] * (goal.goal - steady_own) * goal.controlled[None, :]
        gain = _segment_ramp(fit.present, fit.segment, o.ramp_seconds * fps)
        gain *= yaw_fade(fit, o.max_yaw_degrees)
        open_ = np.zeros((fit.n_frames, 2))
        for sl in chunks(fit.n_frames):
            open_[sl] = _eye_openness(np.nan_to_num(fit.canonical[sl]))
            release(fit.canonical)
        usual = np.zeros((fit.n_frames, 2))
        for k in range(fit.neutral.shape[0]):
            sel = fit.segment == k
            usual[sel] = np.median(open_[sel], axis=0)
        lid_gate = np.clip(open_ / np.maximum(usual, 1e-6), 0.0, 1.0) ** 2
        lid_gate[~fit.present] = 0.0
        return ExpressionEdit(
            basis=self.basis,
            weights=weights.astype(np.float32),
            own=own.astype(np.float32),
            gain=gain.astype(np.float32),
            lid_gate=lid_gate.astype(np.float32),
            speech=speech_plan(fit, self.basis, steady * gain[:, None]),
        )


class PrototypeEditor(Editor):
    """The editor built on measured emotion prototypes and action units (``ExpressionEditor``).

    As an ``Editor`` it plans towards any goal ``direct`` builds (its basis: the prototypes or
    the action units); ``edit`` is the shortcut for a label.

    Args:
        prototypes: Emotion prototypes for ``goal``/``edit``; the packaged ones by default (read
            when first needed).
        options: Tuning.
    """

    name = "prototype"

    def __init__(
        self, prototypes: EmotionPrototypes | None = None, options: EditorOptions | None = None
    ) -> None:
        self.options = options or EditorOptions()
        self._prototypes = prototypes

    @property
    def prototypes(self) -> EmotionPrototypes:
        if self._prototypes is None:
            self._prototypes = EmotionPrototypes.load_default()
        return self._prototypes

    @property
    def basis(self) -> ExpressionBasis:
        """The prototypes as an expression basis (what a label's goal is on)."""
        return self.prototypes.basis()

    def plan(self, fit: FaceFit, goal: EditGoal, fps: float) -> ExpressionEdit:
        return ExpressionEditor(goal.basis, self.options).edit_goal(fit, goal, fps)

    def estimate_own_emotion(self, fit: FaceFit, fps: float) -> np.ndarray:
        """``(T, E)`` how much of each prototype the actor shows on each frame (0 where absent)."""
        return ExpressionEditor(self.prototypes.basis(), self.options).estimate_own(fit, fps)

    def goal(self, target: EmotionTarget, n_frames: int) -> EditGoal:
        """The constant goal of a label target."""
        goal = self.prototypes.goal(target.emotion)
        return EditGoal.constant(self.basis, goal, float(target.intensity), n_frames)

    def edit(self, fit: FaceFit, target: EmotionTarget, fps: float) -> ExpressionEdit:
        """Plan the edit of ``fit`` towards ``target``.

        Args:
            fit: The fitted face.
            target: Emotion and intensity.
            fps: Frame rate of the video.

        Returns:
            The ExpressionEdit; all zero where the face is absent or the intensity is 0.
        """
        return self.plan(fit, self.goal(target, fit.n_frames), fps)
