"""A bounded, single-flight memo: each expensive read is computed once, however many ask at once.

Used for what the service derives from the dataset and the stored plans (county subsets,
review tables, map pages, deputy assignments): the first caller computes, concurrent callers
for the same key wait for that result instead of computing it again, and the least recently
used entries are dropped beyond ``max_entries``.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Callable, Hashable, TypeVar

T = TypeVar("T")
_MISS = object()


class Memo:
    """Thread-safe LRU memo with one computation in flight per key.

    Examples
    --------
    >>> memo = Memo(max_entries=2)
    >>> memo.get("a", lambda: 1), memo.get("a", lambda: 2)
    (1, 1)
    """

    def __init__(self, max_entries: int = 32) -> None:
        self.max_entries = max_entries
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._flights: dict[Hashable, threading.Lock] = {}
        self.computed = 0  # how many times a value was computed (tests and benchmarks read it)

    def _hit(self, key: Hashable) -> Any:
        value = self._data.get(key, _MISS)
        if value is not _MISS:
            self._data.move_to_end(key)
        return value

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The value for ``key``, computing it with ``compute()`` unless cached or in flight."""
        with self._lock:
            value = self._hit(key)
            if value is not _MISS:
                return value
            flight = self._flights.setdefault(key, threading.Lock())
        with flight:
            with self._lock:
                value = self._hit(key)
                if value is not _MISS:
                    return value
            try:
                value = compute()
                with self._lock:
                    self.computed += 1
                    self._data[key] = value
                    while len(self._data) > self.max_entries:
                        self._data.popitem(last=False)
            finally:
                with self._lock:
                    self._flights.pop(key, None)
            return value

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)
