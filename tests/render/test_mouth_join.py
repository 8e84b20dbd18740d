"""The mouth bank of a clip tracked in two halves at once (``MouthBank.fork`` / ``join``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emodirector.render.mouth import MouthBank
from emodirector.track import FaceTracker, TrackerOptions
from emodirector.video import probe

#: The GRID face's size changes this little from the first half's first mouth to the later's.
_PPU_REL = 0.05

Seen = tuple[int, np.ndarray, list[np.ndarray]]


@pytest.fixture(scope="module")
def grid_frames(grid_clip: Path) -> list[Seen]:
    """What the tracking pass shows its observer on each frame of the GRID clip."""
    seen: list[Seen] = []
    with FaceTracker(TrackerOptions(parallel=False)) as tracker:
        tracker.track_all(
            probe(grid_clip),
            observer=lambda i, rgb, faces: seen.append((i, rgb.copy(), [f.copy() for f in faces])),
        )
    return seen


def _fed(bank: MouthBank, frames: list[Seen]) -> MouthBank:
    for index, rgb, faces in frames:
        bank(index, rgb, faces)
    return bank


def _split(frames: list[Seen], capacity: int) -> tuple[MouthBank, MouthBank, MouthBank]:
    half = len(frames) // 2
    first = _fed(MouthBank(capacity), frames[:half])
    later = _fed(first.fork(), frames[half:])
    joined = _fed(MouthBank(capacity), frames[:half])
    joined.join(_fed(joined.fork(), frames[half:]))
    return first, later, joined


def test_joined_bank_with_room_for_all_equals_one_pass(grid_frames: list[Seen]) -> None:
    """With room for every open mouth nothing is replaced: the halves' mouths, joined, are the
    mouths of one pass. The later half's are cut at that half's own resolution (set by its
    first mouth, as one pass sets it by the clip's first), each candidate carrying its own."""
    capacity = len(grid_frames)
    one_pass = _fed(MouthBank(capacity), grid_frames)
    *_, joined = _split(grid_frames, capacity)
    assert len(one_pass.candidates) >= 10  # the GRID speaker opens his mouth often
    assert [c.index for c in joined.candidates] == [c.index for c in one_pass.candidates]
    half = len(grid_frames) // 2
    for a, b in zip(joined.candidates, one_pass.candidates, strict=True):
        if a.index < half:
            np.testing.assert_array_equal(a.crop, b.crop)
            np.testing.assert_array_equal(a.pieces, b.pieces)
        else:
            assert a.px_per_unit == pytest.approx(b.px_per_unit, rel=_PPU_REL)
            np.testing.assert_allclose(a.upper, b.upper)
    assert joined.frames_seen == one_pass.frames_seen == len(grid_frames)


def test_joined_full_bank_keeps_mouths_of_both_halves(grid_frames: list[Seen]) -> None:
    first, later, joined = _split(grid_frames, capacity=6)
    kept = {c.index for c in joined.candidates}
    assert len(kept) == 6
    assert kept <= {c.index for c in first.candidates} | {c.index for c in later.candidates}
    half = len(grid_frames) // 2
    assert min(kept) < half <= max(kept)  # each half gave some
