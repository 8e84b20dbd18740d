"""A tiny manipulator trained a few steps on generated sequences, and faces made from them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from emodirector.emotion import Emotion
from emodirector.face_model import load_face_model
from emodirector.fit.fitting import FaceFit
from emodirector.manipulate.learned.params import ExpressionParams

if TYPE_CHECKING:
    from emodirector.manipulate.learned.checkpoint import Checkpoint
    from emodirector.manipulate.learned.model import ModelConfig
    from emodirector.manipulate.learned.training import TrainingSet


#: Generated clips: frames per clip, clips per emotion.
FRAMES, CLIPS = 40, 3
#: Emotions of the generated clips.
EMOTIONS = (Emotion.NEUTRAL, Emotion.HAPPY, Emotion.SAD)


def tiny_config() -> ModelConfig:
    """A model small enough to train in a second."""
    from emodirector.manipulate.learned.model import ModelConfig

    return ModelConfig(n_params=50, n_emotions=len(Emotion), style_dim=4, latent_dim=4,
                       hidden=16, window=8)  # fmt: skip


@pytest.fixture(scope="session")
def torch():  # type: ignore[no-untyped-def]
    """torch, or skip (CI installs it with scripts/setup.sh, so there these tests run)."""
    return pytest.importorskip("torch", reason="the learned editor needs emodirector[learned]")


def generated_sequences(params: ExpressionParams, seed: int = 0) -> TrainingSet:
    """Clips of smooth random motion whose mean coefficients depend on their emotion, with a
    speech-like aperture (opening and closing) on every clip."""
    from emodirector.manipulate.learned.training import TrainingSet

    rng = np.random.default_rng(seed)
    w, b = params.aperture_weights()
    seqs, labels = [], []
    t = np.arange(FRAMES)
    for e in EMOTIONS:
        shift = rng.normal(0, 1.0, params.size).astype(np.float32)
        for _ in range(CLIPS):
            x = shift + 0.3 * np.sin(t[:, None] / 4.0 + rng.uniform(0, 6, params.size))
            # speech: push the aperture along w with a syllable rhythm
            x += np.outer(0.5 * np.sin(t / 2.5), w / np.linalg.norm(w) ** 2 * 0.2)
            seqs.append(x.astype(np.float32))
            labels.append(list(Emotion).index(e))
    whole = np.concatenate([s @ w + b for s in seqs])
    return TrainingSet(tuple(seqs), tuple(labels), (0.15,) * len(seqs),
                       (w, b, 0.03, float(whole.std())))  # fmt: skip


@pytest.fixture(scope="session")
def params() -> ExpressionParams:
    return ExpressionParams.load_default()


@pytest.fixture(scope="session")
def tiny_data(torch, params: ExpressionParams) -> TrainingSet:  # type: ignore[no-untyped-def]
    return generated_sequences(params)


@pytest.fixture(scope="session")
def tiny_checkpoint(torch, params: ExpressionParams, tiny_data: TrainingSet  # type: ignore[no-untyped-def]
                    ) -> Checkpoint:  # fmt: skip
    """The tiny model after 30 steps (enough to move the styles apart)."""
    from emodirector.manipulate.learned.checkpoint import Checkpoint
    from emodirector.manipulate.learned.training import Trainer, label_styles, new_model

    torch.set_num_threads(1)
    model = new_model(tiny_config(), seed=1)
    trainer = Trainer(model, tiny_data, seed=1, batch=8)
    for _ in range(30):
        trainer.step()
    model.eval()
    styles = label_styles(model, tiny_data, len(Emotion))
    return Checkpoint(model, tuple(Emotion), styles, params, {"seed": 1})


def face_fit(params: ExpressionParams, coef: np.ndarray, present: np.ndarray | None = None
             ) -> FaceFit:  # fmt: skip
    """A FaceFit whose canonical shapes are the template plus the decoded coefficients."""
    t = len(coef)
    tpl = load_face_model().template.astype(np.float32)
    canonical = (tpl + params.decode(coef)).astype(np.float32)
    present = np.ones(t, bool) if present is None else present
    segment = np.where(present, 0, -1).astype(np.int32)
    canonical[~present] = np.nan
    return FaceFit(
        scale=np.where(present, 100.0, np.nan).astype(np.float32),
        rotation=np.repeat(np.eye(3, dtype=np.float32)[None], t, axis=0),
        translation=np.zeros((t, 3), np.float32),
        canonical=canonical,
        neutral=np.nanmedian(canonical, axis=0)[None].astype(np.float32),
        segment=segment,
    )
