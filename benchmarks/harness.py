"""The loop the quality benchmarks share: analyse a clip once, measure the original once, then
per case edit, measure the edit and compare; typed rows out, and one Markdown table writer.

Not a benchmark itself (``quality.py``, ``directing.py`` and ``expression.py`` use it; they are
run as scripts, so this folder is on ``sys.path``). Nothing here does any work at import.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from _common import CpuMeter, markdown_table
from emodirector import EditOptions, EditResult, Emotion, VideoAnalysis, analyze_video, edit_video
from emodirector.direct import Direction
from emodirector.evaluate.compare import EditEvaluation, EditSummary, compare_clips
from emodirector.evaluate.measure import ClipMeasurements, measure_clip

T = TypeVar("T")


@dataclass(frozen=True)
class Case:
    """One edit of a clip.

    Attributes:
        name: Names the case in rows and in the edited file's name (``happy``, ``warp/sad``).
        target: What the edit is directed towards.
        scored: The emotion the evaluation measures the edit against.
        options: Options of the edit (overwrite is forced on: outputs are temporary).
    """

    name: str
    target: Direction
    scored: Emotion
    options: EditOptions = field(default_factory=EditOptions)


@dataclass(frozen=True)
class CaseRow:
    """What one case measured.

    Attributes:
        clip: The clip's file name.
        case: The case.
        summary: The evaluation's headline numbers.
        evaluation: The whole evaluation (both clips' measurements, per frame).
        result: The edit's result (frames, per-stage seconds; the clip was analysed once for all
            cases, so ``result.fps`` is the render pass, not a whole edit).
        other_cores: CPU used by other processes during the edit (``CpuMeter``).
        seconds: Wall time of edit, measure and compare.
    """

    clip: str
    case: Case
    summary: EditSummary
    evaluation: EditEvaluation
    result: EditResult
    other_cores: float | None
    seconds: float


def run_cases(
    clip: Path,
    cases: Sequence[Case],
    work: Path,
    *,
    analysis: VideoAnalysis | None = None,
    original: ClipMeasurements | None = None,
    keep: Callable[[CaseRow, Path], None] | None = None,
    measure_options: Mapping[str, Any] | None = None,
) -> Iterator[CaseRow]:
    """Edit ``clip`` once per case and compare each edit with the original.

    Args:
        clip: The input video.
        cases: The edits to make.
        work: Folder for the edited files (each is deleted once measured).
        analysis: ``analyze_video(clip)``, if already made.
        original: ``measure_clip(clip)``, if already made.
        keep: Called with each row and its edited file before the file is deleted (stills).
        measure_options: More keyword arguments of ``measure_clip`` for the edits.

    Yields:
        One row per case, in order, as soon as it is measured.
    """
    analysis = analysis if analysis is not None else analyze_video(clip)
    original = original if original is not None else measure_clip(clip)
    for case in cases:
        t0 = time.perf_counter()
        out = work / f"{clip.stem}__{case.name.replace('/', '_')}.mp4"
        options = dataclasses.replace(case.options, overwrite=True)
        meter = CpuMeter()
        result = edit_video(clip, out, case.target, options, analysis=analysis)
        load = meter.stop()
        try:
            edited = measure_clip(
                out, identity_frames=original.identity_frames, **(measure_options or {})
            )
            ev = compare_clips(original, edited, case.scored.value, edit_fps=result.fps)
            row = CaseRow(
                clip=clip.name,
                case=case,
                summary=ev.summary(),
                evaluation=ev,
                result=result,
                other_cores=load["other_cores"],
                seconds=time.perf_counter() - t0,
            )
            if keep is not None:
                keep(row, out)
        finally:
            out.unlink(missing_ok=True)
        yield row


def num(x: float | None, digits: int = 4) -> float | None:
    """``x`` rounded for JSON; None for None and NaN."""
    return None if x is None or not math.isfinite(x) else round(float(x), digits)


def fmt(x: Any, digits: int = 3) -> str:
    """A table cell: numbers to ``digits`` decimals, None and NaN as a dash."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


@dataclass(frozen=True)
class Column(Generic[T]):
    """A table column: its header and how a row gives its cell."""

    header: str
    cell: Callable[[T], Any]
    digits: int = 3


def table(rows: Sequence[T], columns: Sequence[Column[T]]) -> str:
    """The one Markdown table writer of the benchmarks: a row per item, a cell per column."""
    return markdown_table(
        [c.header for c in columns], [[fmt(c.cell(r), c.digits) for c in columns] for r in rows]
    )


__all__ = ["Case", "CaseRow", "Column", "fmt", "num", "run_cases", "table"]
