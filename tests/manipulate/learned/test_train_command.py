"""train_manipulator end to end on generated clips (their fits placed in the cache): an
interrupted run resumed from its checkpoint ends with the same weights as an uninterrupted one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emodirector.calibrate.clips import _cache_key
from emodirector.emotion import Emotion
from emodirector.face_model import load_face_model
from emodirector.files import replacing

STEPS = 6


def _folder(tmp_path: Path, params) -> Path:  # type: ignore[no-untyped-def]
    """MEAD-named dummy files whose (generated) fits are already in the cache."""
    folder, cache = tmp_path / "clips", tmp_path / "out" / ".emodirector-fits"
    folder.mkdir()
    cache.mkdir(parents=True)
    rng = np.random.default_rng(0)
    tpl = load_face_model().template.astype(np.float32)
    for actor in ("M030", "W009"):
        for e in (Emotion.NEUTRAL, Emotion.HAPPY):
            path = folder / f"{actor}_front_{e.value}_level1_001.mp4"
            path.write_bytes(f"{actor} {e.value}".encode())
            coef = rng.normal(0, 0.5, (30, params.size)).astype(np.float32)
            with replacing(cache / f"{_cache_key(path)}.npz") as tmp, tmp.open("wb") as f:
                np.savez(f, canonical=tpl + params.decode(coef))
    return folder


def test_resume_continues_where_the_run_stopped(  # type: ignore[no-untyped-def]
    torch, params, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from emodirector.calibrate.manipulator import TrainOptions, checkpoint_path, train_manipulator
    from emodirector.manipulate.learned.checkpoint import Checkpoint
    from emodirector.manipulate.learned.training import Trainer

    folder = _folder(tmp_path, params)
    out = tmp_path / "out"
    options = TrainOptions(steps=STEPS, batch=4, checkpoint_every=2)
    quiet = {"progress": lambda line: None, "bar": False}
    train_manipulator(folder, out / "whole.pt", options=options, **quiet)

    real_step = Trainer.step

    def stop_at_5(self: Trainer, *a: object, **k: object) -> dict[str, float]:
        if self.step_count == 5:
            raise KeyboardInterrupt
        return real_step(self, *a, **k)

    monkeypatch.setattr(Trainer, "step", stop_at_5)
    with pytest.raises(KeyboardInterrupt):
        train_manipulator(folder, out / "resumed.pt", options=options, **quiet)
    assert not (out / "resumed.pt").exists() and checkpoint_path(out / "resumed.pt").is_file()
    monkeypatch.setattr(Trainer, "step", real_step)
    train_manipulator(folder, out / "resumed.pt", options=options, resume=True, **quiet)

    whole, resumed = Checkpoint.load(out / "whole.pt"), Checkpoint.load(out / "resumed.pt")
    for (name, a), b in zip(whole.model.state_dict().items(),
                            resumed.model.state_dict().values(), strict=True):  # fmt: skip
        assert torch.equal(a, b), name
    np.testing.assert_array_equal(whole.styles, resumed.styles)
    assert len(resumed.meta["losses"]) == STEPS
    assert not checkpoint_path(out / "resumed.pt").exists()
    assert (out / "resumed.losses.png").is_file()
