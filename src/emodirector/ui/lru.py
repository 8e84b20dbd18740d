"""A small thread-safe cache of the most recently used values (planned edits, read references)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    """Keeps the ``size`` most recently used values, made on demand.

    >>> cache: LRU[str, int] = LRU(2)
    >>> [cache.get("a", lambda: 1), cache.get("b", lambda: 2), cache.get("a", lambda: 0)]
    [1, 2, 1]
    >>> cache.get("c", lambda: 3), cache.get("b", lambda: 20)  # "b" was the least recent
    (3, 20)
    """

    def __init__(self, size: int) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.size = size
        self._values: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K, make: Callable[[], V]) -> V:
        """The value kept for ``key``, else ``make()`` (called outside the lock) kept."""
        with self._lock:
            if key in self._values:
                self._values.move_to_end(key)
                return self._values[key]
        value = make()
        with self._lock:
            self._values[key] = value
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._values)


__all__ = ["LRU"]
