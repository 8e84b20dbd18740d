"""Batch jobs and long videos on Ray: ``emodirector batch jobs.csv -o out/``.

``read_jobs`` reads a jobs file, ``run_batch`` runs it on a local Ray or a cluster, keeping a
journal (``Journal``) and writing a summary beside the outputs; ``join_ranges`` joins the
separately rendered ranges of one long video. Importing this package does not import Ray.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Job": "jobs",
    "read_jobs": "jobs",
    "Journal": "journal",
    "status_text": "journal",
    "BatchOptions": "runner",
    "BatchResult": "runner",
    "run_batch": "runner",
    "join_ranges": "ranges",
    "plan_ranges": "ranges",
    "write_summary": "summary",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


__all__ = sorted(_EXPORTS)
