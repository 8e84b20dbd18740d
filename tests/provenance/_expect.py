"""What an output carrying the watermark must be, exactly: for tests that compare pixels."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from emodirector import VideoAnalysis
from emodirector.provenance.manifest import read_manifest
from emodirector.provenance.stamp import face_region
from emodirector.provenance.watermark import Embedder, Payload


def edit_id_of(video: Path) -> int:
    """The edit id the manifest of an edited video records."""
    record = read_manifest(video).record
    assert record is not None, f"{video} has no emodirector manifest"
    return int(record.edit_id, 16)


def with_mark(
    frames: Iterable[np.ndarray], edit_id: int, analysis: VideoAnalysis | None = None
) -> Iterator[np.ndarray]:
    """yuv420p frames ``(H * 3 // 2, W)`` with the watermark of ``edit_id``, as an edit adds it
    (the mask is fixed by the first frame, and lowered over the faces ``analysis`` followed)."""
    calm = None
    if analysis is not None:
        calm = face_region([(a.track.landmarks, a.track.present)
                            for a in (analysis, *analysis.others)])  # fmt: skip
    embedder: Embedder | None = None
    for frame in frames:
        if embedder is None:
            h = frame.shape[0] * 2 // 3
            embedder = Embedder.for_frame(Payload(edit_id), frame[:h], calm=calm)
        yield embedder.apply(frame)
