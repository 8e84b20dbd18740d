"""The job journal of a batch: an append-only JSON Lines file in the output folder.

Why JSON Lines and not SQLite: only the driver writes it, one line per change of a job's state,
so there is nothing to lock or update in place; each line is flushed and fsynced before the
driver goes on, so a driver that dies (Ctrl-C, kill, power) loses at most the line it was
writing, and a torn last line is skipped on reading. The file is plain text that ``tail -f``,
``grep`` or ``jq`` read while a batch runs, and it sits as well on the network folders a Ray
cluster shares (where SQLite's file locking is unreliable). A job's state is the last line about
it; attempts are counted from its ``running`` lines.

States: ``pending`` (not started, or interrupted: ``--resume`` runs it), ``running`` (a worker
started it; a journal left with ``running`` jobs belongs to a driver that died, and ``--resume``
runs them again), ``done`` (with seconds, frames, fps and the output's SHA-256), ``failed``
(with the exit code class and the one-line message).
"""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: The journal's name inside the output folder.
JOURNAL_NAME = "batch-journal.jsonl"
#: Job states, in the order ``batch status`` counts them.
STATES = ("done", "running", "pending", "failed")


@dataclass
class JobState:
    """What the journal says about one job (its key is the output name).

    Attributes:
        job: The output file name.
        row: Row number in the jobs file.
        input: The input video.
        direction: The direction in one phrase.
        state: One of ``STATES``.
        attempts: Times a worker started it (across resumes).
        seconds: Wall time of the attempt that finished.
        frames: Frames written.
        fps: Frames per second of the edit.
        exit_code: For a failed job, the exit code class of its error (0 otherwise).
        message: For a failed job, the one-line error; for a running one, where it runs.
        sha256: Checksum of the finished output.
        cpu_seconds: CPU time the worker processes spent on it (all ranges of a long video).
        edit_id: The edit id its watermark and manifest carry (8 hex digits).
    """

    job: str
    row: int = 0
    input: str = ""
    direction: str = ""
    state: str = "pending"
    attempts: int = 0
    seconds: float = 0.0
    frames: int = 0
    fps: float = 0.0
    exit_code: int = 0
    message: str = ""
    sha256: str = ""
    cpu_seconds: float = 0.0
    edit_id: str = ""


class Journal:
    """Append-only journal of a batch's jobs.

    Args:
        folder: The batch's output folder; the journal is ``folder / JOURNAL_NAME``.
    """

    def __init__(self, folder: Path) -> None:
        self.path = Path(folder) / JOURNAL_NAME
        self.jobs: dict[str, JobState] = {}
        if self.path.is_file():
            for record in read_records(self.path):
                self._apply(record)

    @property
    def exists(self) -> bool:
        return self.path.is_file()

    def record(self, job: str, state: str, **fields: Any) -> JobState:
        """Append one change of ``job``'s state (and its fields) and apply it."""
        if state not in STATES:
            raise ValueError(f"unknown state {state!r}")
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
        record = {"time": now, "job": job, "state": state, **fields}
        line = json.dumps(record, sort_keys=True) + "\n"
        with self.path.open("a", encoding="utf-8") as f:
            f.write(line)
            f.flush()
            os.fsync(f.fileno())
        return self._apply(record)

    def _apply(self, record: dict[str, Any]) -> JobState:
        key = str(record["job"])
        state = self.jobs.get(key) or JobState(job=key)
        state.state = str(record["state"])
        if state.state == "running" and record.get("new_attempt", True):
            state.attempts += 1
        if state.state != "failed":
            state.exit_code, state.message = 0, ""
        for name in ("row", "input", "direction", "seconds", "frames", "fps", "exit_code",
                     "message", "sha256", "cpu_seconds", "edit_id"):  # fmt: skip
            if name in record:
                setattr(state, name, type(getattr(state, name))(record[name]))
        self.jobs[key] = state
        return state

    def counts(self) -> dict[str, int]:
        """Jobs per state."""
        return {s: sum(j.state == s for j in self.jobs.values()) for s in STATES}


def read_records(path: Path) -> list[dict[str, Any]]:
    """The journal's records; a torn or garbled line (a driver killed mid-write) is skipped."""
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and "job" in record and record.get("state") in STATES:
            records.append(record)
    return records


def status_text(journal: Journal) -> str:
    """What ``batch status`` prints: counts, then one line per job (failed ones with why)."""
    counts = journal.counts()
    lines = [
        f"{len(journal.jobs)} jobs: " + ", ".join(f"{counts[s]} {s}" for s in STATES),
    ]
    if not journal.jobs:
        return lines[0]
    width = max(len(j.job) for j in journal.jobs.values())
    lines.append(f"{'job':{width}s}  {'state':7s}  attempts  seconds  message")
    for j in sorted(journal.jobs.values(), key=lambda j: (j.row, j.job)):
        message = j.message
        if j.state == "failed":
            message = f"exit {j.exit_code}: {j.message}"
        elif j.state == "done":
            message = f"{j.frames} frames, {j.fps:.1f} fps, sha256 {j.sha256[:12]}"
            message += f", edit id {j.edit_id}" if j.edit_id else ""
        lines.append(f"{j.job:{width}s}  {j.state:7s}  {j.attempts:8d}  {j.seconds:7.1f}  "
                     f"{message}")  # fmt: skip
    return "\n".join(lines)


__all__ = ["JOURNAL_NAME", "STATES", "JobState", "Journal", "read_records", "status_text"]
