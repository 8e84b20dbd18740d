"""NED's emotion manipulator in PyTorch: StarGAN-v2 over short windows of expression parameters.

- ``Generator``: per-frame MLP, a 2-layer bidirectional LSTM, per-frame MLP; the style vector is
  joined to every frame (so a style may change over time: timelines), and the output is a
  residual on the input's coefficients.
- ``MappingNetwork``: noise to a style, one head per emotion.
- ``StyleEncoder``: a window of parameters to a style, one head per emotion.
- ``Discriminator``: a window to a real/fake score, one head per emotion.

Sizes are set by ``ModelConfig``; the defaults train on three MEAD actors in minutes on two CPU
cores (NED uses larger layers and pre-trains on Aff-Wild2).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class ModelConfig:
    """Sizes of the manipulator.

    Attributes:
        n_params: Expression coefficients per frame (the basis's ``K``).
        n_emotions: Emotion heads (in the order of the checkpoint's ``emotions``).
        style_dim: Length of a style vector.
        latent_dim: Length of the mapping network's noise.
        hidden: Width of the per-frame MLPs and of each LSTM direction.
        window: Frames per window.
    """

    n_params: int = 50
    n_emotions: int = 7
    style_dim: int = 16
    latent_dim: int = 16
    hidden: int = 64
    window: int = 10

    def to_dict(self) -> dict[str, int]:
        return asdict(self)


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(n_in, hidden), nn.LeakyReLU(0.2), nn.Linear(hidden, n_out), nn.LeakyReLU(0.2)
    )


class Generator(nn.Module):
    """``G(x, s)``: ``(B, W, K)`` coefficients and ``(B, W, S)`` per-frame styles to
    ``(B, W, K)`` coefficients."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        h = cfg.hidden
        self.enc = _mlp(cfg.n_params, h, h)
        self.lstm = nn.LSTM(h + cfg.style_dim, h, num_layers=2, batch_first=True,
                            bidirectional=True)  # fmt: skip
        self.dec = nn.Sequential(
            nn.Linear(2 * h + cfg.style_dim, h), nn.LeakyReLU(0.2), nn.Linear(h, cfg.n_params)
        )

    def forward(self, x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(torch.cat([self.enc(x), s], dim=-1))
        return x + self.dec(torch.cat([h, s], dim=-1))


class _WindowHeads(nn.Module):
    """A window to one vector per emotion head: per-frame MLP, BiLSTM, mean over time."""

    def __init__(self, cfg: ModelConfig, n_out: int) -> None:
        super().__init__()
        h = cfg.hidden
        self.enc = _mlp(cfg.n_params, h, h)
        self.lstm = nn.LSTM(h, h // 2, batch_first=True, bidirectional=True)
        self.shared = nn.Sequential(nn.Linear(h, h), nn.LeakyReLU(0.2))
        self.heads = nn.Linear(h, cfg.n_emotions * n_out)
        self.n_out = n_out

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h, _ = self.lstm(self.enc(x))
        out = self.heads(self.shared(h.mean(dim=1))).view(len(x), -1, self.n_out)
        return out[torch.arange(len(x)), y]


class StyleEncoder(_WindowHeads):
    """``E(x, y)``: the style of ``(B, W, K)`` windows under emotion heads ``y`` ``(B,)``."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg, cfg.style_dim)


class Discriminator(_WindowHeads):
    """``D(x, y)``: ``(B,)`` real/fake logits of windows under emotion heads ``y``."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg, 1)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return super().forward(x, y)[:, 0]


class MappingNetwork(nn.Module):
    """``F(z, y)``: ``(B, latent)`` noise to ``(B, S)`` styles of emotions ``y``."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        h = cfg.hidden
        self.shared = nn.Sequential(
            nn.Linear(cfg.latent_dim, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU()
        )
        self.heads = nn.Linear(h, cfg.n_emotions * cfg.style_dim)
        self.style_dim = cfg.style_dim

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = self.heads(self.shared(z)).view(len(z), -1, self.style_dim)
        return out[torch.arange(len(z)), y]


class Manipulator(nn.Module):
    """The four networks together (what a checkpoint holds)."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.generator = Generator(cfg)
        self.mapping = MappingNetwork(cfg)
        self.style_encoder = StyleEncoder(cfg)
        self.discriminator = Discriminator(cfg)


def pearson(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """``(B,)`` correlation of ``(B, W)`` tracks along the last axis."""
    a = a - a.mean(dim=-1, keepdim=True)
    b = b - b.mean(dim=-1, keepdim=True)
    return (a * b).sum(-1) / torch.sqrt((a * a).sum(-1) * (b * b).sum(-1) + eps)


__all__ = [
    "Discriminator",
    "Generator",
    "Manipulator",
    "MappingNetwork",
    "ModelConfig",
    "StyleEncoder",
    "pearson",
]
