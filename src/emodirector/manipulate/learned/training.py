"""Training the manipulator: StarGAN-v2's losses over windows of expression coefficients.

One step (``train_step``) samples a batch of windows of the training clips, a target emotion
for each and a target style (from the mapping network's noise for half the batch, from the
style encoder on a window of a clip of that emotion for the other half), then updates

- the discriminator: non-saturating adversarial loss (real windows under their own emotion's
  head, translated ones under the target's) plus an R1 penalty on the real ones;
- the generator, mapping network and style encoder: adversarial, style reconstruction
  (``|E(G(x, s), y) - s|``), cycle (``|G(G(x, s), E(x, y_src)) - x|``) and the speech term.

The speech term enforces our speech constraint on the lip aperture (a linear function of the
coefficients): timing (``1 - r`` of the aperture track over the window), closures (a frame whose
input lips touch keeps its aperture) and the amplitude band (the aperture of a frame may scale
by ``APERTURE_BAND``, no more). The editor projects its output onto the constraint as well; the
term teaches the network to need as little of that projection as possible.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F  # noqa: N812

from emodirector.manipulate.learned.model import Manipulator, ModelConfig, pearson

#: How far a frame's lip aperture may scale (the speech constraint's amplitude band).
APERTURE_BAND = (0.8, 1.35)
#: The names of the losses, in the order of a step's record.
LOSS_NAMES = ("d_adv", "g_adv", "style", "cycle", "speech")


@dataclass(frozen=True)
class LossWeights:
    """Weights of the generator's losses and of the discriminator's R1 penalty."""

    adv: float = 1.0
    style: float = 1.0
    cycle: float = 2.0
    speech: float = 5.0
    r1: float = 1.0


@dataclass(frozen=True)
class TrainingSet:
    """Normalised coefficient sequences of labelled clips.

    Attributes:
        sequences: Per clip, ``(T_i, K) float32`` (``T_i >= window``).
        labels: Per clip, the index of its emotion (into the checkpoint's emotions).
        rest_aperture: Per clip, the lip aperture of the actor's resting face (the sequences
            are offsets from it).
        aperture: ``(w, b, closed, spread)``: the aperture change of coefficients ``c`` is
            ``c @ w + b`` (canonical units); an input whose whole aperture (rest plus change)
            is at or below ``closed`` is a closure; ``spread`` is the typical aperture, the
            speech term's unit.
    """

    sequences: tuple[np.ndarray, ...]
    labels: tuple[int, ...]
    rest_aperture: tuple[float, ...]
    aperture: tuple[np.ndarray, float, float, float]

    def __post_init__(self) -> None:
        if len(self.sequences) != len(self.labels) or not self.sequences:
            raise ValueError("one label per sequence, at least one sequence")


class Trainer:
    """The manipulator, its optimisers and the batch sampler (one random stream per seed).

    Args:
        model: The networks.
        data: The training windows' source.
        seed: Seeds the sampler (the model's initial weights are seeded by the caller).
        batch: Windows per step.
        lr: Adam's learning rate.
        weights: Loss weights.
    """

    def __init__(
        self,
        model: Manipulator,
        data: TrainingSet,
        seed: int,
        batch: int = 32,
        lr: float = 1e-3,
        weights: LossWeights | None = None,
    ) -> None:
        self.model = model
        self.data = data
        self.batch = batch
        self.weights = weights or LossWeights()
        self.rng = np.random.default_rng(seed)
        gen = [*model.generator.parameters(), *model.mapping.parameters(),
               *model.style_encoder.parameters()]  # fmt: skip
        self.opt_g = torch.optim.Adam(gen, lr=lr, betas=(0.5, 0.99))
        self.opt_d = torch.optim.Adam(model.discriminator.parameters(), lr=lr, betas=(0.5, 0.99))
        w, b, closed, spread = data.aperture
        self._ap_w = torch.as_tensor(np.asarray(w, np.float32))
        self._ap_b, self._closed, self._spread = float(b), float(closed), float(spread)
        labels = np.asarray(data.labels)
        self._emotions = np.unique(labels)
        self._by_emotion = {int(e): np.flatnonzero(labels == e) for e in self._emotions}
        self.step_count = 0

    def _windows(self, clips: np.ndarray) -> torch.Tensor:
        """``(n, W, K)`` a random window of each clip."""
        w = self.model.cfg.window
        out = []
        for c in clips:
            seq = self.data.sequences[int(c)]
            start = int(self.rng.integers(0, len(seq) - w + 1))
            out.append(seq[start : start + w])
        return torch.as_tensor(np.stack(out))

    def sample(self) -> dict[str, torch.Tensor]:
        """A batch: windows, their emotions, target emotions, reference windows, noise."""
        n = self.batch
        clips = self.rng.integers(0, len(self.data.sequences), n)
        y_src = np.asarray(self.data.labels)[clips]
        y_trg = self._emotions[self.rng.integers(0, len(self._emotions), n)]
        pools = [self._by_emotion[int(e)] for e in y_trg]
        refs = np.array([pool[self.rng.integers(0, len(pool))] for pool in pools])
        return {
            "x": self._windows(clips),
            "rest": torch.as_tensor(np.asarray(self.data.rest_aperture, np.float32)[clips]),
            "y_src": torch.as_tensor(y_src, dtype=torch.long),
            "y_trg": torch.as_tensor(y_trg, dtype=torch.long),
            "ref": self._windows(refs),
            "z": torch.as_tensor(self.rng.standard_normal((n, self.model.cfg.latent_dim)),
                                 dtype=torch.float32),  # fmt: skip
            "use_ref": torch.as_tensor(self.rng.random(n) < 0.5),
        }

    def aperture(self, c: torch.Tensor) -> torch.Tensor:
        """``(B, W)`` lip aperture (canonical units) of ``(B, W, K)`` coefficients."""
        return c @ self._ap_w + self._ap_b

    def speech_loss(self, x: torch.Tensor, out: torch.Tensor, rest: torch.Tensor) -> torch.Tensor:
        """The speech term of translated windows ``out`` of inputs ``x`` (``rest``: ``(B,)``
        the resting aperture of each window's actor)."""
        a_in, a_out = self.aperture(x) + rest[:, None], self.aperture(out) + rest[:, None]
        timing = 1.0 - pearson(a_in, a_out)
        lo, hi = APERTURE_BAND
        band = F.relu(lo * a_in - a_out) + F.relu(a_out - hi * a_in)
        closed = (a_in <= self._closed).float()
        closure = closed * (a_out - a_in).abs()
        return timing.mean() + ((band + closure) / self._spread).mean()

    def _target_style(self, b: dict[str, torch.Tensor]) -> torch.Tensor:
        m = self.model
        s_map = m.mapping(b["z"], b["y_trg"])
        s_ref = m.style_encoder(b["ref"], b["y_trg"])
        return torch.where(b["use_ref"][:, None], s_ref, s_map)

    def _per_frame(self, s: torch.Tensor) -> torch.Tensor:
        return s[:, None, :].expand(-1, self.model.cfg.window, -1)

    def discriminator_loss(self, b: dict[str, torch.Tensor]) -> torch.Tensor:
        m, wt = self.model, self.weights
        x = b["x"].clone().requires_grad_(wt.r1 > 0)
        real = m.discriminator(x, b["y_src"])
        loss = F.softplus(-real).mean()
        if wt.r1 > 0:
            (grad,) = torch.autograd.grad(real.sum(), x, create_graph=True)
            loss = loss + wt.r1 * 0.5 * grad.pow(2).sum(dim=(1, 2)).mean()
        with torch.no_grad():
            fake = m.generator(b["x"], self._per_frame(self._target_style(b)))
        return loss + F.softplus(m.discriminator(fake, b["y_trg"])).mean()

    def generator_losses(self, b: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        m = self.model
        s_trg = self._target_style(b)
        fake = m.generator(b["x"], self._per_frame(s_trg))
        s_src = m.style_encoder(b["x"], b["y_src"])
        back = m.generator(fake, self._per_frame(s_src))
        return {
            "g_adv": F.softplus(-m.discriminator(fake, b["y_trg"])).mean(),
            "style": (m.style_encoder(fake, b["y_trg"]) - s_trg).abs().mean(),
            "cycle": (back - b["x"]).abs().mean(),
            "speech": self.speech_loss(b["x"], fake, b["rest"]),
        }

    def step(self, train_d: bool = True, train_g: bool = True) -> dict[str, float]:
        """One update of the discriminator and of the rest; the losses before the update."""
        wt = self.weights
        b = self.sample()
        record: dict[str, float] = {}
        d_loss = self.discriminator_loss(b)
        record["d_adv"] = float(d_loss.detach())
        if train_d:
            self.opt_d.zero_grad()
            d_loss.backward()
            self.opt_d.step()
        g = self.generator_losses(b)
        record.update({k: float(v.detach()) for k, v in g.items()})
        if train_g:
            total = (wt.adv * g["g_adv"] + wt.style * g["style"] + wt.cycle * g["cycle"]
                     + wt.speech * g["speech"])  # fmt: skip
            self.opt_g.zero_grad()
            total.backward()
            self.opt_g.step()
        self.step_count += 1
        return record

    def state(self) -> dict[str, object]:
        """What resuming needs beyond the model: the optimisers, the sampler, the step."""
        return {
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "rng": self.rng.bit_generator.state,
            "step": self.step_count,
        }

    def load_state(self, state: dict[str, object]) -> None:
        self.opt_g.load_state_dict(state["opt_g"])  # type: ignore[arg-type]
        self.opt_d.load_state_dict(state["opt_d"])  # type: ignore[arg-type]
        self.rng.bit_generator.state = state["rng"]
        self.step_count = int(state["step"])  # type: ignore[call-overload]


def all_windows(seq: np.ndarray, window: int, hop: int) -> np.ndarray:
    """``(N, window, K)`` windows of ``(T, K)`` every ``hop`` frames (the last one ends at T)."""
    starts = list(range(0, max(len(seq) - window, 0) + 1, hop))
    if starts[-1] != len(seq) - window:
        starts.append(len(seq) - window)
    return np.stack([seq[s : s + window] for s in starts])


@torch.no_grad()
def label_styles(model: Manipulator, data: TrainingSet, n_emotions: int) -> np.ndarray:
    """``(E, S)`` each emotion's fixed style: the mean style of its training clips' windows
    (zero for an emotion without clips)."""
    w = model.cfg.window
    out = np.zeros((n_emotions, model.cfg.style_dim), np.float32)
    for e in range(n_emotions):
        wins = [all_windows(s, w, w // 2) for s, y in zip(data.sequences, data.labels, strict=True)
                if y == e]  # fmt: skip
        if wins:
            x = torch.as_tensor(np.concatenate(wins))
            out[e] = model.style_encoder(x, torch.full((len(x),), e)).mean(0).numpy()
    return out


def new_model(cfg: ModelConfig, seed: int) -> Manipulator:
    """The networks with seeded initial weights."""
    torch.manual_seed(seed)
    return Manipulator(cfg)


def mean_losses(records: Sequence[dict[str, float]]) -> dict[str, float]:
    return {k: float(np.mean([r[k] for r in records])) for k in LOSS_NAMES}


__all__ = [
    "APERTURE_BAND",
    "LOSS_NAMES",
    "LossWeights",
    "Trainer",
    "TrainingSet",
    "all_windows",
    "label_styles",
    "mean_losses",
    "new_model",
]
