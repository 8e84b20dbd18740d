"""Disk-backed per-frame arrays (emodirector.framearrays)."""

from __future__ import annotations

import numpy as np
import pytest

from emodirector.framearrays import CHUNK, FrameSpool


def test_spool_extend_appends_the_later_spool_in_order() -> None:
    first, later = FrameSpool((2, 3)), FrameSpool((2, 3))
    frames = np.arange((CHUNK + 7) * 6, dtype=np.float32).reshape(-1, 2, 3)
    for f in frames[:5]:
        first.append(f)
    for f in frames[5:]:  # more than a chunk: part of it already written to its file
        later.append(f)
    first.extend(later)
    first.append(frames[0])
    assert len(first) == len(frames) + 1
    np.testing.assert_array_equal(first.finish(), np.concatenate([frames, frames[:1]]))


def test_spool_extend_refuses_another_shape() -> None:
    with pytest.raises(ValueError, match="expected"):
        FrameSpool((2, 3)).extend(FrameSpool((3, 2)))
