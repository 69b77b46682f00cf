"""A bounded, single-flight memo: each expensive read is computed once, however many ask at once.

Used for what the service derives from the dataset and the stored plans (county subsets,
review tables, map pages, deputy assignments): the first caller computes, concurrent callers
for the same key wait for that result instead of computing it again, and the least recently
used entries are dropped beyond ``max_entries``.
"""
from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
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


class Offload:
    """Expensive reads for async routes: computed on a small thread pool of their own, once per
    key however many requests ask at once, memoised in a bounded LRU.

    The route awaits the result on the event loop, so a slow read holds none of the threads that
    serve other requests, and at most ``workers`` such reads use CPU at the same time.
    """

    def __init__(self, workers: int = 2, max_entries: int = 32) -> None:
        self._workers = workers
        self._pool: ThreadPoolExecutor | None = None  # created on first use, again after a shutdown
        self.memo = Memo(max_entries)
        self._flights: dict[Hashable, Future] = {}
        # re-entrant: a compute that finishes at once runs _finish inside future()'s lock
        self._lock = threading.RLock()

    def _finish(self, key: Hashable, future: Future) -> None:
        # memo first, then drop the flight, both under the lock: a caller sees one or the other
        with self._lock:
            if not future.cancelled() and future.exception() is None:
                with self.memo._lock:
                    self.memo.computed += 1
                    self.memo._data[key] = future.result()
                    while len(self.memo._data) > self.memo.max_entries:
                        self.memo._data.popitem(last=False)
            self._flights.pop(key, None)

    def future(self, key: Hashable, compute: Callable[[], Any]) -> Future:
        """The (possibly finished) future of ``key``'s value."""
        with self._lock:
            with self.memo._lock:
                value = self.memo._hit(key)
            if value is not _MISS:
                done: Future = Future()
                done.set_result(value)
                return done
            flight = self._flights.get(key)
            if flight is None:
                if self._pool is None:
                    from api.jobs import lower_priority

                    self._pool = ThreadPoolExecutor(max_workers=self._workers, thread_name_prefix="geoplan-read",
                                                    initializer=lower_priority)
                flight = self._flights[key] = self._pool.submit(compute)
                flight.add_done_callback(lambda f: self._finish(key, f))
            return flight

    async def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """Await ``key``'s value (``compute()`` runs on the pool unless cached or in flight)."""
        return await asyncio.shield(asyncio.wrap_future(self.future(key, compute)))

    def shutdown(self) -> None:
        """Stop the pool (running reads finish); a later read starts a new one."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
