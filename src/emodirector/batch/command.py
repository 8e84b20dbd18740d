"""``emodirector batch``: run a jobs file, or show a batch's journal (``batch status OUT``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emodirector.errors import InputNotFoundError, InvalidOptionError

#: Exit code of an interrupted batch (as of an interrupted edit).
EXIT_INTERRUPTED = 130


def run_batch_command(args: argparse.Namespace) -> int:
    """Run the ``batch`` sub-command; returns the exit code.

    The exit code is 0 when every job is done, else the exit code class of the first failed
    job (by row); an unreadable jobs file or output folder raises (one-line error).
    """
    if args.jobs == "status":
        return _status(args.folder or args.output)
    if args.folder is not None:
        raise InvalidOptionError(f"unexpected argument {args.folder} (only 'status' takes a "
                                 "folder)")  # fmt: skip
    if args.output is None:
        raise InvalidOptionError("batch needs an output folder: -o OUT")
    from emodirector.batch.runner import BatchOptions, import_ray, run_batch

    import_ray()
    options = BatchOptions(
        workers=args.workers,
        cpus_per_job=args.cpus_per_job,
        address=args.address,
        resume=args.resume,
        retries=args.retries,
        range_seconds=args.range_seconds,
        overwrite=args.overwrite,
        progress=not args.quiet,
    )
    try:
        result = run_batch(args.jobs, args.output, options)
    except KeyboardInterrupt:
        print(f"emodirector: batch interrupted; finished outputs stay in {args.output}, the others "
              "were stopped and removed; continue with --resume", file=sys.stderr)  # fmt: skip
        return EXIT_INTERRUPTED
    counts = result.journal.counts()
    print(f"{len(result.jobs)} jobs: {counts['done']} done, {counts['failed']} failed; "
          f"summary in {result.summary[0]} and {result.summary[1].name}")  # fmt: skip
    failed = result.failed
    return result.journal.jobs[failed[0].output].exit_code if failed else 0


def _status(folder: Path | None) -> int:
    from emodirector.batch.journal import Journal, status_text

    if folder is None:
        raise InvalidOptionError("batch status needs the batch's output folder")
    journal = Journal(folder)
    if not journal.exists:
        raise InputNotFoundError(f"{folder}: no batch journal ({journal.path.name}) there")
    print(status_text(journal))
    return 0
