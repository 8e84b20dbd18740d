"""A base for objects that hold a model or a native resource until ``close``."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class Closing:
    """Context-manager protocol for an object with a ``close`` method.

    ``with obj:`` returns ``obj`` (after ``_open``, which subclasses may use to load eagerly)
    and calls ``close`` on exit, whatever happened inside.
    """

    def _open(self) -> None:
        """Load what ``with`` should load up front (nothing by default: lazy loading)."""

    def close(self) -> None:
        """Release what the object holds; it may be used again and reloads on demand."""

    def __enter__(self) -> Self:
        self._open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
