"""The jobs file of ``emodirector batch``: one edit per row, in CSV or JSON Lines.

Columns: ``input`` and ``output`` (a file name inside the output folder), then the ``edit``
command's own option names: the direction (``emotion``, ``intensity``, ``reference``, ``au``,
``timeline``, ``ramp``) and per-job options (``face``, ``crf``, ``preset``, ``editor``,
``no_detail``, ``no_eyes``, ``no_mouth``), empty where unused. Relative paths (the input, a
reference, a timeline's JSON file or the references it names) are relative to the jobs file's
folder.

A row is turned into the ``edit`` command's arguments and parsed by the very parser of the
command line (``emodirector.cli.parse_edit``), so a row means exactly what the same options mean
to ``emodirector edit``. A wrong row (unknown emotion, missing input, bad output name) becomes a
``Job`` with an ``error``: it fails alone while the others run.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

from emodirector.errors import (
    EmodirectorError,
    InputNotFoundError,
    InvalidOptionError,
    OutputError,
)

#: Columns that take a value, as the ``edit`` command's options (``--NAME VALUE``).
VALUE_COLUMNS = ("emotion", "intensity", "reference", "au", "timeline", "ramp", "face", "crf",
                 "preset", "editor")  # fmt: skip
#: Columns that are switches (``--no-detail``): true for 1, true, yes (any case).
FLAG_COLUMNS = ("no_detail", "no_eyes", "no_mouth")
#: Every column a jobs file may have.
COLUMNS = ("input", "output", *VALUE_COLUMNS, *FLAG_COLUMNS)
#: The columns that name files, resolved against the jobs file's folder.
_PATH_COLUMNS = ("input", "reference")
#: Direction columns, in the order the summary names them.
_DIRECTIONS = ("emotion", "reference", "au", "timeline")


@dataclass(frozen=True)
class Job:
    """One row of a jobs file.

    Attributes:
        row: Its number in the file (1 = the first job).
        input: The video to edit, as an absolute path.
        output: The output's file name inside the output folder (the job's key).
        options: The row's non-empty option columns, as written.
        argv: The ``edit`` command's arguments after ``INPUT -o OUTPUT`` (paths made absolute).
        base: The folder relative paths of the row are read from.
        error: Why the row cannot run (``None`` for a valid row).
        exit_code: The exit code class of ``error`` (see ``emodirector.errors``).
    """

    row: int
    input: Path
    output: str
    options: tuple[tuple[str, str], ...]
    argv: tuple[str, ...]
    base: Path
    error: str | None = None
    exit_code: int = 0

    @property
    def direction(self) -> str:
        """The direction in one short phrase, e.g. ``emotion=happy@0.8`` or ``au=AU12=0.7``."""
        opts = dict(self.options)
        parts = [f"{k}={opts[k]}" for k in _DIRECTIONS if k in opts]
        text = ", ".join(parts) or "(none)"
        if "intensity" in opts:
            text += f"@{opts['intensity']}"
        return text

    def failed(self, exc: EmodirectorError) -> Job:
        """This job marked as not runnable because of ``exc``."""
        return Job(self.row, self.input, self.output, self.options, self.argv, self.base,
                   str(exc), exc.exit_code)  # fmt: skip


def read_jobs(path: str | os.PathLike[str]) -> list[Job]:
    """Read a jobs file (``.csv`` with a header row, or ``.jsonl``: one JSON object a line).

    Returns:
        One Job per row, in file order; rows that cannot run carry their ``error``.

    Raises:
        InputNotFoundError: The file does not exist.
        InvalidOptionError: The file as a whole is unreadable: unknown suffix, an unknown
            column (likely a typo), no ``input`` or ``output`` column, a line that is not JSON.
    """
    path = Path(path)
    if not path.is_file():
        raise InputNotFoundError(f"{path}: no such jobs file")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _csv_rows(path)
    elif suffix in (".jsonl", ".ndjson"):
        rows = _jsonl_rows(path)
    else:
        raise InvalidOptionError(f"{path}: a jobs file is .csv or .jsonl")
    base = path.resolve().parent
    jobs: list[Job] = []
    seen: set[str] = set()
    for number, row in enumerate(rows, start=1):
        job = _job(number, row, base)
        if job.error is None and job.output in seen:
            job = job.failed(OutputError(f"row {number}: output {job.output} is already the "
                                         "output of an earlier row"))  # fmt: skip
        seen.add(job.output)
        jobs.append(job)
    return jobs


def _check_columns(path: Path, columns: list[str]) -> None:
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise InvalidOptionError(
            f"{path}: unknown column {unknown[0]!r} (columns: {', '.join(COLUMNS)})"
        )
    for needed in ("input", "output"):
        if needed not in columns:
            raise InvalidOptionError(f"{path}: no {needed!r} column")


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8-sig") as f:
        reader = csv.DictReader(f, skipinitialspace=True)
        columns = [c.strip() for c in reader.fieldnames or []]
        _check_columns(path, columns)
        rows = []
        for raw in reader:
            row = {k.strip(): (v or "").strip() for k, v in raw.items() if k is not None}
            if any(row.values()):
                rows.append(row)
        return rows


def _jsonl_rows(path: Path) -> list[dict[str, str]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidOptionError(f"{path}: line {number} is not JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise InvalidOptionError(f"{path}: line {number} is not a JSON object")
        _check_columns(path, list(data))
        rows.append({k: "" if v is None else str(v).strip() for k, v in data.items()})
    return rows


def _truthy(text: str) -> bool:
    if text.lower() in ("1", "true", "yes"):
        return True
    if text.lower() in ("", "0", "false", "no"):
        return False
    raise InvalidOptionError(f"expected true or false, got {text!r}")


def _job(number: int, row: dict[str, str], base: Path) -> Job:
    """The Job of one row; any problem found without running it is kept as its error."""
    options = tuple((k, row[k]) for k in COLUMNS[2:] if row.get(k, ""))
    input_text, output = row.get("input", ""), row.get("output", "")
    source = (base / input_text) if input_text else base
    job = Job(number, source, output or f"(row {number})", options, (), base)
    try:
        if not input_text:
            raise InputNotFoundError(f"row {number}: no input")
        if not output:
            raise OutputError(f"row {number}: no output")
        if Path(output).name != output or output in (".", ".."):
            raise OutputError(f"row {number}: output {output!r} must be a file name inside the "
                              "output folder")  # fmt: skip
        if not source.is_file():
            raise InputNotFoundError(f"{source}: no such file")
        argv: list[str] = []
        for key, value in options:
            flag = "--" + key.replace("_", "-")
            if key in FLAG_COLUMNS:
                if _truthy(value):
                    argv.append(flag)
            elif key in _PATH_COLUMNS:
                argv += [flag, str(base / value)]
            else:
                argv += [flag, value]
        return Job(number, source, output, options, tuple(argv), base)
    except EmodirectorError as exc:
        return job.failed(exc)


__all__ = ["COLUMNS", "Job", "read_jobs"]
