"""The learned editor: NED's manipulator translating the actor's expression sequence.

For each segment of the fitted face, the expression (canonical shapes less the segment's
resting face) is encoded on the model's basis, cut into overlapping windows, and translated by
the generator twice: with the direction's style on every frame and with the actor's own style
(the style encoder's neutral head over the clip). The edit is the difference of the two,
overlap-added with smooth window weights (no seams), so that at intensity 0 nothing changes and
the generator's reconstruction error never reaches the frame. Styles are fixed per emotion (the
mean style of its training clips), so the edit is deterministic.

The direction's goal (on the emotion prototypes' basis: a label, a reference's read emotion, a
timeline's blend) becomes a per-frame style: the emotions' styles weighted by the goal's
shares (neutral's where the goal is empty), moved from the actor's own style by the goal's
strength. Action units have no style: they stay with the prototype editor.

The edit is then made to keep the speech (``fit.speech.plan_speech``): the lip separation of the
translated sequence is applied through the closure gate of the actor's own lips and the
amplitude band, and what that adds is carried by extra modes of the edit's basis (the lip
separation fields and the jaw opening), so the renderer draws it like any other edit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from emodirector.emotion import Emotion
from emodirector.errors import InvalidOptionError
from emodirector.fit.fitting import FaceFit
from emodirector.fit.speech import lip_gaps, mouth_split, plan_speech
from emodirector.framearrays import chunks, release
from emodirector.manipulate.basis import EditGoal, ExpressionBasis
from emodirector.manipulate.editor import EditorOptions, ExpressionEdit, ExpressionEditor
from emodirector.manipulate.interface import Editor
from emodirector.manipulate.learned.checkpoint import Checkpoint

#: Windows overlap by half; each frame's result is the weighted mean of its windows.
_HOP_FRACTION = 2


def _window_weights(window: int) -> np.ndarray:
    """``(W,)`` smooth, positive weights that fade towards a window's ends."""
    return np.hanning(window + 2)[1:-1].astype(np.float32)


def _starts(n: int, window: int) -> list[int]:
    hop = max(window // _HOP_FRACTION, 1)
    starts = list(range(0, max(n - window, 0) + 1, hop))
    if starts[-1] != max(n - window, 0):
        starts.append(max(n - window, 0))
    return starts


class LearnedEditor(Editor):
    """Plans edits with a trained manipulator (``train-manipulator``).

    Args:
        manipulator: A ``.pt`` file made by ``train-manipulator``, or a loaded checkpoint; the
            packaged one by default (read when first needed).
        options: Ramps and head-turn fades (as the prototype editor's; the emotion estimate is
            not used).
    """

    name = "learned"

    def __init__(
        self, manipulator: Path | str | Checkpoint | None = None,
        options: EditorOptions | None = None,
    ) -> None:  # fmt: skip
        self.options = options or EditorOptions()
        self._source = manipulator
        self._checkpoint = manipulator if isinstance(manipulator, Checkpoint) else None
        if isinstance(manipulator, str | Path):
            self._checkpoint = Checkpoint.load(Path(manipulator))

    @property
    def checkpoint(self) -> Checkpoint:
        if self._checkpoint is None:
            self._checkpoint = Checkpoint.load_default()
        return self._checkpoint

    def _styles(self, goal: EditGoal, own: np.ndarray) -> np.ndarray:
        """``(T, S)`` per-frame styles of ``goal``, from the actor's ``own`` ``(S,)``."""
        ck = self.checkpoint
        target = np.zeros((goal.n_frames, ck.styles.shape[1]), np.float32)
        shares = np.clip(np.asarray(goal.goal, np.float32), 0.0, None)
        shares = shares * goal.controlled[None, :]
        total = shares.sum(axis=1, keepdims=True)
        shares = np.where(total > 1e-6, shares / np.maximum(total, 1e-6), 0.0)
        for k, name in enumerate(goal.basis.names):
            emotion = Emotion(name)
            if emotion in ck.emotions:
                target += shares[:, k, None] * ck.styles[ck.index(emotion)]
        if Emotion.NEUTRAL in ck.emotions:
            rest = 1.0 - shares.sum(axis=1, keepdims=True)
            target += rest * ck.styles[ck.index(Emotion.NEUTRAL)]
        strength = np.asarray(goal.strength, np.float32)[:, None]
        return own[None, :] + strength * (target - own[None, :])

    @torch.no_grad()
    def own_style(self, coef: np.ndarray) -> np.ndarray:
        """``(S,)`` the actor's style: the neutral head over ``(T, K)`` coefficients' windows."""
        ck = self.checkpoint
        w = ck.model.cfg.window
        x = _pad(coef, w)
        wins = np.stack([x[s : s + w] for s in _starts(len(x), w)])
        head = ck.index(Emotion.NEUTRAL) if Emotion.NEUTRAL in ck.emotions else 0
        y = torch.full((len(wins),), head, dtype=torch.long)
        return ck.model.style_encoder(torch.as_tensor(wins), y).mean(0).numpy()

    @torch.no_grad()
    def translate(self, coef: np.ndarray, styles: np.ndarray, own: np.ndarray) -> np.ndarray:
        """``(T, K)`` change of ``(T, K)`` coefficients towards per-frame ``(T, S)`` styles.

        Windows overlap by half and are blended with smooth weights; the generator's output
        under the actor's own style ``own`` is subtracted, so a style equal to ``own`` changes
        nothing.
        """
        ck = self.checkpoint
        w = ck.model.cfg.window
        n = len(coef)
        x, s = _pad(coef, w), _pad(styles, w)
        starts = _starts(len(x), w)
        xw = torch.as_tensor(np.stack([x[a : a + w] for a in starts]))
        sw = torch.as_tensor(np.stack([s[a : a + w] for a in starts]))
        ow = torch.as_tensor(np.broadcast_to(own, sw.shape).copy())
        both = ck.model.generator(torch.cat([xw, xw]), torch.cat([sw, ow])).numpy()
        delta = both[: len(starts)] - both[len(starts) :]
        weights = _window_weights(w)
        out = np.zeros_like(x)
        total = np.zeros(len(x), np.float32)
        for a, d in zip(starts, delta, strict=True):
            out[a : a + w] += weights[:, None] * d
            total[a : a + w] += weights
        return (out / total[:, None])[:n]

    def _check_goal(self, goal: EditGoal) -> None:
        names = {e.value for e in Emotion}
        if not all(n in names for n in goal.basis.names):
            raise InvalidOptionError(
                "the learned editor edits emotions (a label, a reference, a timeline); action "
                "units need the prototype editor (--editor prototype)"
            )

    def plan(self, fit: FaceFit, goal: EditGoal, fps: float) -> ExpressionEdit:
        self._check_goal(goal)
        if goal.n_frames != fit.n_frames:
            raise ValueError(f"goal has {goal.n_frames} frames, the fit {fit.n_frames}")
        ck = self.checkpoint
        params = ck.params
        delta = np.zeros((fit.n_frames, params.size), np.float32)
        for k in range(fit.neutral.shape[0]):
            frames = np.flatnonzero(fit.segment == k)
            if frames.size == 0:
                continue
            coef = np.zeros((frames.size, params.size), np.float32)
            for sl in chunks(frames.size):
                coef[sl] = params.encode(fit.expression(frames[sl]))[:, : params.size]
                release(fit.canonical)
            own = self.own_style(coef)
            styles = self._styles(_rows(goal, frames), own)
            delta[frames] = self.translate(coef, styles, own)
        # the ramps and the lid gates of the prototype editor (no emotion estimate, no change)
        still = EditGoal(goal.basis, goal.goal, np.zeros_like(goal.strength), goal.controlled)
        frame = ExpressionEditor(goal.basis, _no_estimate(self.options)).edit_goal(fit, still, fps)
        return _edit(fit, goal, delta * frame.gain[:, None], params.modes(), frame)


def _rows(goal: EditGoal, frames: np.ndarray) -> EditGoal:
    return EditGoal(goal.basis, goal.goal[frames], goal.strength[frames], goal.controlled)


def _no_estimate(options: EditorOptions) -> EditorOptions:
    from dataclasses import replace

    return replace(options, remove_own_emotion=False)


def _pad(x: np.ndarray, window: int) -> np.ndarray:
    """``x`` with its last row repeated up to ``window`` rows (short segments)."""
    if len(x) >= window:
        return np.asarray(x, np.float32)
    return np.concatenate([x, np.repeat(x[-1:], window - len(x), axis=0)]).astype(np.float32)


def _edit(
    fit: FaceFit, goal: EditGoal, delta: np.ndarray, modes: np.ndarray, frame: ExpressionEdit
) -> ExpressionEdit:
    """The ExpressionEdit of per-frame coefficient changes ``delta`` (ramps applied), with the
    speech plan's lip separation and opening as extra modes and the goal's emotions as modes
    that move nothing (their weights drive the renderer's expression detail)."""
    split = mouth_split()
    gaps = np.full((fit.n_frames, split.separation.shape[0]), np.nan)
    for sl in chunks(fit.n_frames):
        gaps[sl] = lip_gaps(np.asarray(fit.canonical[sl], np.float64))
        release(fit.canonical)
    edit_gaps = delta.astype(np.float64) @ lip_gaps(modes.astype(np.float64))
    plan = plan_speech(gaps, edit_gaps, 1.0)
    separation = (plan.gate - 1.0) * edit_gaps
    n_e, n_k, n_p = goal.basis.size, modes.shape[0], separation.shape[1]
    names = (*goal.basis.names, *(f"pc{i:02d}" for i in range(n_k)),
             *(f"lips{i}" for i in range(n_p)), "jaw")  # fmt: skip
    offsets = np.concatenate([
        goal.basis.offsets, modes, split.separation, split.opening[None],
    ]).astype(np.float32)  # fmt: skip
    applied = offsets.copy()
    applied[:n_e] = 0.0
    basis = ExpressionBasis(names, offsets, goal.basis.rest, applied)
    emotion_w = goal.strength[:, None] * goal.goal * goal.controlled[None, :] * frame.gain[:, None]
    weights = np.concatenate(
        [emotion_w, delta, separation, plan.opening[:, None]], axis=1
    ).astype(np.float32)
    # the ramps are already in the weights: the edit's own gain only gates absent frames
    gain = (frame.gain > 0).astype(np.float32)
    return ExpressionEdit(
        basis=basis,
        weights=weights,
        own=np.zeros_like(weights),
        gain=gain,
        lid_gate=frame.lid_gate,
    )


__all__ = ["LearnedEditor"]
