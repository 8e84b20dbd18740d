"""The summary a batch leaves beside its outputs: one table of jobs, Markdown and CSV."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

from emodirector.batch.jobs import Job
from emodirector.batch.journal import Journal
from emodirector.files import replacing

#: File names of the summary inside the output folder.
SUMMARY_MD = "batch-summary.md"
SUMMARY_CSV = "batch-summary.csv"
#: Columns of the table.
FIELDS = ("row", "input", "output", "direction", "frames", "fps", "seconds", "attempts",
          "result", "message")  # fmt: skip


def summary_rows(jobs: Sequence[Job], journal: Journal) -> list[dict[str, str]]:
    """One row per job of the jobs file, with what the journal says about it."""
    rows = []
    for job in jobs:
        state = journal.jobs.get(job.output)
        result = state.state if state is not None else "pending"
        failed = state is not None and state.state == "failed"
        rows.append({
            "row": str(job.row),
            "input": str(job.input),
            "output": job.output,
            "direction": job.direction,
            "frames": str(state.frames) if state is not None and state.frames else "",
            "fps": f"{state.fps:.1f}" if state is not None and state.fps else "",
            "seconds": f"{state.seconds:.1f}" if state is not None and state.seconds else "",
            "attempts": str(state.attempts) if state is not None else "0",
            "result": f"failed (exit {state.exit_code})" if failed and state else result,
            "message": state.message if failed and state else "",
        })  # fmt: skip
    return rows


def write_summary(folder: Path, jobs: Sequence[Job], journal: Journal) -> tuple[Path, Path]:
    """Write ``batch-summary.md`` and ``batch-summary.csv`` into ``folder``.

    Returns:
        The Markdown and the CSV path.
    """
    rows = summary_rows(jobs, journal)
    md, table = folder / SUMMARY_MD, folder / SUMMARY_CSV
    counts = journal.counts()
    lines = [
        "# Batch summary",
        "",
        f"{len(rows)} jobs: " + ", ".join(f"{n} {s}" for s, n in counts.items()),
        "",
        "| " + " | ".join(FIELDS) + " |",
        "| " + " | ".join("---" for _ in FIELDS) + " |",
    ]
    for row in rows:
        cells = [row[f].replace("|", "\\|").replace("\n", " ") for f in FIELDS]
        lines.append("| " + " | ".join(cells) + " |")
    _write_atomic(md, "\n".join(lines) + "\n")
    with replacing(table) as temp, temp.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(rows)
    return md, table


def _write_atomic(path: Path, text: str) -> None:
    with replacing(path) as temp:
        temp.write_text(text, encoding="utf-8")


__all__ = ["SUMMARY_CSV", "SUMMARY_MD", "summary_rows", "write_summary"]
