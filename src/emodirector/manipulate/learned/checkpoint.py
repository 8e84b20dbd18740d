"""Saving and loading a trained manipulator (one ``.pt`` file, no pickled code).

A file holds the networks' weights, their sizes, the emotion order of the heads, each emotion's
fixed style, the expression basis the model works on (so a user's model carries its own), and
what it was trained with (seed, steps, threads, the loss history). A training checkpoint adds
the optimisers and the sampler, for ``--resume``.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from emodirector.emotion import Emotion
from emodirector.errors import InputNotFoundError, InvalidOptionError
from emodirector.files import replacing
from emodirector.manipulate.learned.model import Manipulator, ModelConfig
from emodirector.manipulate.learned.params import ExpressionParams

#: Format version of the file.
FORMAT = 1
#: Name of the packaged manipulator in ``emodirector/data``.
PACKAGED_NAME = "manipulator.pt"


@dataclass
class Checkpoint:
    """A manipulator and what it needs at inference (and, for resuming, in training).

    Attributes:
        model: The networks.
        emotions: The emotion of each head, in order.
        styles: ``(E, S) float32`` each emotion's fixed style (mean style of its clips).
        params: The expression basis of the model's inputs and outputs.
        meta: What it was trained with (seed, steps, threads, data, losses per step).
        trainer: Optimiser and sampler state (training checkpoints only).
    """

    model: Manipulator
    emotions: tuple[Emotion, ...]
    styles: np.ndarray
    params: ExpressionParams
    meta: dict[str, object] = field(default_factory=dict)
    trainer: dict[str, object] | None = None

    def index(self, emotion: Emotion) -> int:
        return self.emotions.index(emotion)

    def to_bytes(self, with_trainer: bool = False) -> bytes:
        p = self.params
        blob = {
            "format": FORMAT,
            "config": self.model.cfg.to_dict(),
            "state": self.model.state_dict(),
            "emotions": [e.value for e in self.emotions],
            "styles": torch.as_tensor(self.styles),
            "params": {
                "mean": torch.as_tensor(p.mean), "components": torch.as_tensor(p.components),
                "scale": torch.as_tensor(p.scale), "speech": torch.as_tensor(p.speech),
                "rms_error": p.rms_error, "rms_signal": p.rms_signal,
            },  # fmt: skip
            "meta": self.meta,
        }
        if with_trainer and self.trainer is not None:
            blob["trainer"] = self.trainer
        buf = io.BytesIO()
        torch.save(blob, buf)
        return buf.getvalue()

    def save(self, path: Path, with_trainer: bool = False) -> None:
        """Write the file (to a temporary name, renamed when complete)."""
        data = self.to_bytes(with_trainer)
        with replacing(Path(path)) as tmp:
            tmp.write_bytes(data)

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        """Read a file written by ``save``.

        Raises:
            InputNotFoundError: No such file.
            InvalidOptionError: Not a manipulator file.
        """
        path = Path(path)
        if not path.is_file():
            raise InputNotFoundError(f"manipulator {path}: no such file")
        try:
            blob = torch.load(path, map_location="cpu", weights_only=True)
            return cls._from_blob(blob)
        except (pickle.UnpicklingError, RuntimeError, KeyError, ValueError, TypeError, EOFError,
                OSError) as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InvalidOptionError(
                f"manipulator {path}: not a manipulator file made by train-manipulator ({msg})"
            ) from None

    @classmethod
    def load_default(cls) -> Checkpoint:
        """The packaged manipulator (trained on the shared MEAD clips)."""
        from importlib import resources

        ref = resources.files("emodirector.data").joinpath(PACKAGED_NAME)
        with ref.open("rb") as f:
            return cls._from_blob(torch.load(io.BytesIO(f.read()), weights_only=True))

    @classmethod
    def _from_blob(cls, blob: dict) -> Checkpoint:  # type: ignore[type-arg]
        if blob.get("format") != FORMAT:
            raise ValueError(f"format {blob.get('format')!r}, expected {FORMAT}")
        model = Manipulator(ModelConfig(**blob["config"]))
        model.load_state_dict(blob["state"])
        model.eval()
        p = blob["params"]
        params = ExpressionParams(
            mean=p["mean"].numpy(), components=p["components"].numpy(),
            scale=p["scale"].numpy(), speech=p["speech"].numpy(),
            rms_error=float(p["rms_error"]), rms_signal=float(p["rms_signal"]),
        )  # fmt: skip
        return cls(
            model=model,
            emotions=tuple(Emotion(v) for v in blob["emotions"]),
            styles=blob["styles"].numpy().astype(np.float32),
            params=params,
            meta=dict(blob.get("meta", {})),
            trainer=blob.get("trainer"),
        )


__all__ = ["FORMAT", "PACKAGED_NAME", "Checkpoint"]
