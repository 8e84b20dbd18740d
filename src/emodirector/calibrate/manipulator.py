"""``emodirector train-manipulator``: train the learned editor's manipulator on labelled clips.

The clips (``calibrate.clips``) are fitted once and cached; each clip's expression is its
canonical shapes less its actor's resting face (the median of the actor's neutral clips),
encoded on the packaged expression basis. Training (``manipulate.learned.training``) runs a
fixed number of steps with a progress bar, writes a checkpoint every ``checkpoint_every`` steps
beside the output (``--resume`` continues from it, with the optimisers and the sampler where they
were), then computes each emotion's fixed style and writes the manipulator and a plot of the
losses. With the same seed, thread count and data a run reproduces the file byte for byte.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emodirector.calibrate.clips import (
    FittedClip,
    actor_neutrals,
    find_training_clips,
    fit_training_clips,
)
from emodirector.emotion import Emotion
from emodirector.errors import InvalidOptionError
from emodirector.files import replacing

#: Training steps of ``train-manipulator`` by default.
DEFAULT_STEPS = 1000
#: Threads torch uses by default (the result depends on it; the shipped file used this).
DEFAULT_THREADS = 1


@dataclass(frozen=True)
class TrainOptions:
    """How to train.

    Attributes:
        steps: Training steps (batches of windows).
        seed: Seeds the initial weights and the batch sampler.
        batch: Windows per step.
        threads: torch's CPU threads (results are reproduced exactly only with the same count).
        checkpoint_every: Steps between checkpoints.
        device: ``"cpu"``, ``"cuda"``, or ``None``: the GPU when torch sees one.
    """

    steps: int = DEFAULT_STEPS
    seed: int = 0
    batch: int = 64
    threads: int = DEFAULT_THREADS
    checkpoint_every: int = 250
    device: str | None = "cpu"

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch < 1 or self.threads < 1 or self.checkpoint_every < 1:
            raise InvalidOptionError("steps, batch, threads and checkpoint interval must be >= 1")


def expression_offsets(fits: list[FittedClip]) -> list[np.ndarray]:
    """Per clip ``(T, 478, 3)``: canonical shapes less the actor's resting face."""
    neutrals = actor_neutrals(fits)
    return [f.canonical - neutrals[f.clip.actor] for f in fits]


def checkpoint_path(output: Path) -> Path:
    """Where the training checkpoint of ``output`` is kept (``manipulator.pt.ckpt``)."""
    return output.with_name(output.name + ".ckpt")


def train_manipulator(
    folder: Path,
    output: Path,
    labels: Path | None = None,
    options: TrainOptions | None = None,
    resume: bool = False,
    cache: Path | None = None,
    progress: Callable[[str], None] = print,
    bar: bool = True,
) -> dict[str, float]:
    """Train on the labelled clips of ``folder`` and write the manipulator to ``output``.

    Args:
        folder: The clips (MEAD names, or with ``labels``).
        output: The ``.pt`` file (``edit --editor learned --manipulator FILE``); a plot of the
            losses is written beside it (``.losses.png``).
        labels: A CSV of ``path,emotion`` rows.
        options: Steps, seed, threads...
        resume: Continue from ``output``'s checkpoint (same data and options).
        cache: Folder of cached fits (default: ``.emodirector-fits`` beside ``output``).
        progress: Receives one line per step of the work.
        bar: Show a progress bar on stderr while training.

    Returns:
        The mean of each loss over the last tenth of the steps.

    Raises:
        InvalidOptionError: A bad folder, labels or clip (see ``find_training_clips``), or a
            checkpoint that does not match.
    """
    import torch

    from emodirector.manipulate.learned.checkpoint import Checkpoint
    from emodirector.manipulate.learned.model import ModelConfig
    from emodirector.manipulate.learned.params import ExpressionParams
    from emodirector.manipulate.learned.training import (
        LOSS_NAMES,
        Trainer,
        TrainingSet,
        label_styles,
        mean_losses,
        new_model,
    )

    o = options or TrainOptions()
    clips = find_training_clips(folder, labels)
    if not output.parent.is_dir():
        raise InvalidOptionError(f"{output.parent}: the output's folder does not exist")
    ck_path = checkpoint_path(output)
    if resume and not ck_path.is_file():
        raise InvalidOptionError(f"--resume: no checkpoint {ck_path}")
    fits = fit_training_clips(clips, cache or output.parent / ".emodirector-fits", progress)
    params = ExpressionParams.load_default()
    cfg = ModelConfig(n_params=params.size, n_emotions=len(Emotion))
    emotions = tuple(Emotion)
    short = [f.clip.path.name for f in fits if len(f.canonical) < cfg.window]
    if short:
        raise InvalidOptionError(f"{short[0]}: fewer than {cfg.window} frames with a face")
    offsets = expression_offsets(fits)
    seqs = tuple(params.encode(d)[:, : params.size] for d in offsets)
    neutrals = actor_neutrals(fits)
    w, b = params.aperture_weights()
    rest = tuple(float(params.speech[1] @ neutrals[f.clip.actor].ravel()) for f in fits)
    whole = np.concatenate([s @ w + b + r for s, r in zip(seqs, rest, strict=True)])
    from emodirector.fit.speech import CLOSED_APERTURE

    data = TrainingSet(
        sequences=seqs,
        labels=tuple(emotions.index(f.clip.emotion) for f in fits),
        rest_aperture=rest,
        aperture=(w, b, CLOSED_APERTURE, float(max(whole.std(), 1e-3))),
    )
    device = o.device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device != "cpu":
        progress(f"device {device}: the file will not match a CPU run byte for byte")
    torch.set_num_threads(o.threads)
    torch.use_deterministic_algorithms(True)
    model = new_model(cfg, o.seed)
    trainer = Trainer(model, data, o.seed, batch=o.batch)
    history: list[dict[str, float]] = []
    if resume:
        ck = Checkpoint.load(ck_path)
        if ck.meta.get("seed") != o.seed or ck.trainer is None:
            raise InvalidOptionError(f"{ck_path}: made with another seed, or not a checkpoint")
        model.load_state_dict(ck.model.state_dict())
        trainer.load_state(ck.trainer)
        history = list(ck.meta.get("losses", []))  # type: ignore[arg-type]
        progress(f"resuming at step {trainer.step_count}")
    meta = {
        "seed": o.seed, "threads": o.threads, "batch": o.batch, "steps": o.steps,
        "clips": [f.clip.path.name for f in fits], "torch": str(torch.__version__),
    }  # fmt: skip
    progress(f"training on {len(fits)} clips ({sum(len(s) for s in seqs)} frames), "
             f"{o.steps} steps, seed {o.seed}, {o.threads} thread(s), {device}")  # fmt: skip
    start = time.perf_counter()
    bar_ = _bar(o.steps, trainer.step_count, bar)
    try:
        while trainer.step_count < o.steps:
            rec = trainer.step()
            history.append(rec)
            bar_.update(1)
            if trainer.step_count % 50 == 0:
                bar_.set_postfix({k: f"{v:.3f}" for k, v in mean_losses(history[-50:]).items()})
            if trainer.step_count % o.checkpoint_every == 0 and trainer.step_count < o.steps:
                meta["losses"] = [dict(r) for r in history]
                no_styles = np.zeros((len(emotions), cfg.style_dim), np.float32)
                snapshot = Checkpoint(model, emotions, no_styles, params, dict(meta),
                                      trainer.state())  # fmt: skip
                snapshot.save(ck_path, with_trainer=True)
    finally:
        bar_.close()
    model.eval()
    styles = label_styles(model, data, len(emotions))
    meta["losses"] = [dict(r) for r in history]
    meta["seconds"] = round(time.perf_counter() - start, 1)
    meta["load"] = round(os.getloadavg()[0], 2)
    Checkpoint(model, emotions, styles, params, meta).save(output)
    final = mean_losses(history[-max(len(history) // 10, 1) :])
    plot = output.with_name(output.stem + ".losses.png")
    _plot_losses(history, LOSS_NAMES, plot)
    if ck_path.is_file():
        ck_path.unlink()
    losses = ", ".join(f"{k} {v:.3f}" for k, v in final.items())
    progress(f"wrote {output} ({meta['seconds']} s of training, load {meta['load']}); "
             f"losses {losses}; plot {plot}")  # fmt: skip
    return final


def _bar(total: int, done: int, show: bool):  # type: ignore[no-untyped-def]
    from tqdm import tqdm

    return tqdm(total=total, initial=done, disable=not show, unit="step", leave=False)


def _plot_losses(history: list[dict[str, float]], names: tuple[str, ...], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    k = max(len(history) // 100, 1)
    for name in names:
        v = np.array([r[name] for r in history])
        v = np.convolve(v, np.ones(k) / k, mode="valid")
        ax.plot(np.arange(len(v)) + k, v, label=name)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.legend()
    ax.set_title("manipulator training losses")
    fig.tight_layout()
    with replacing(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


__all__ = ["DEFAULT_STEPS", "TrainOptions", "checkpoint_path", "train_manipulator"]
