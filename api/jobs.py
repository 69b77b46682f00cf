"""Scheduling scenario solves: quotas, a round-robin queue, progress, cancel, and one-transaction results.

A :class:`JobRunner` owns a thread pool of ``solve_concurrency`` workers, admits at most
``max_queue`` scenarios queued or running in all and ``max_per_user`` per user
(:meth:`JobRunner.reserve` raises :class:`QueueFull` / :class:`QuotaExceeded`, which the
API answers with 503 / 429 and ``Retry-After``). A request waiting for a small ("sync")
solve awaits its future on the event loop, so it holds no server thread. Each job is a
``work(progress, check)`` callable (in the service: :meth:`api.workers.Compute.plan`, which runs
the solve in a worker process — the pool thread only waits on its pipe). Each solve:

* marks the scenario ``running`` and reports progress through ``progress``, which (like
  ``check``, called every 0.1 s while a worker process solves) raises :class:`Cancelled` when a
  cancel was requested and :class:`SolveTimeout` past the per-solve time limit — the worker
  process is then killed, so even a solve deep inside HiGHS stops at once;
* writes its result (plan row + ``done``) in ONE transaction after the solve, so a
  crash leaves no half-written plan; any exception marks it ``failed`` with the message;
* on start-up, :func:`recover` marks scenarios left ``queued``/``running`` by a crash as failed.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session, sessionmaker

from api.models import PlanRow, ScenarioRow, utcnow
from api.planner import PlanResult
from geoplan.exceptions import InputError

log = logging.getLogger("api.jobs")
_INTERRUPTED = "interrupted: the service stopped before the solve finished"
#: ``work(progress, check) -> PlanResult``: one solve; ``progress(fraction, message)`` and ``check()``
#: raise to stop it
Work = Callable[[Callable[[float, str], None], Callable[[], None]], PlanResult]


def lower_priority(niceness: int = 10) -> None:
    """Thread-pool initializer: make the calling worker thread yield the CPU to the server's event-loop
    thread (Linux schedules threads separately, so the nice value applies to this thread only).
    """
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), niceness)
    except (AttributeError, OSError):  # not Linux, or not permitted: run at normal priority
        pass


class QuotaExceeded(Exception):
    """The user already has ``max_per_user`` scenarios queued or running."""

    def __init__(self, owner: str, limit: int, retry_after: float) -> None:
        super().__init__(f"{owner!r} already has {limit} scenario(s) queued or running, the most one user may; "
                         "wait for one to finish or cancel one")
        self.retry_after = retry_after


class QueueFull(Exception):
    """``max_queue`` scenarios are queued or running in all."""

    def __init__(self, limit: int, retry_after: float) -> None:
        super().__init__(f"the solve queue is full ({limit} scenarios queued or running); try again later")
        self.retry_after = retry_after


class Cancelled(Exception):
    """Raised from the progress callback when the scenario's cancel flag is set."""


class SolveTimeout(Exception):
    """Raised from the progress callback when a solve exceeds the time limit."""


def recover(sm: sessionmaker[Session]) -> int:
    """Mark scenarios a previous process left queued or running as failed; return how many."""
    with sm.begin() as s:
        # an UPDATE yields a CursorResult (Session.execute is typed as the generic Result)
        res = cast("CursorResult[Any]", s.execute(update(ScenarioRow).where(ScenarioRow.status.in_(("queued", "running")))
                        .values(status="failed", error=_INTERRUPTED,
                                updated_at=utcnow())))
        return int(res.rowcount or 0)


class JobRunner:
    """Thread pool running the solves of stored scenarios (each a :data:`Work` callable)."""

    def __init__(self, sm: sessionmaker[Session], concurrency: int,
                 time_limit: float, *, max_per_user: int = 10, max_queue: int = 100) -> None:
        self._sm = sm
        self._time_limit = time_limit
        self._concurrency = concurrency
        self.max_per_user = max_per_user
        self.max_queue = max_queue
        self._pool: ThreadPoolExecutor | None = None  # created on first submit, again after a shutdown
        self._cancel: dict[str, threading.Event] = {}
        self._owner: dict[str, str] = {}  # scenario id → owner, from reserve() until its solve ends
        self._futures: dict[str, Future] = {}
        # queued solves per owner, served round-robin: one user's flood never delays another's job
        self._queues: dict[str, deque[tuple[str, Work, Future]]] = {}
        self._turns: deque[str] = deque()
        self._lock = threading.Lock()
        self._stopping = False
        self._mean_seconds = 5.0  # running mean of solve times, for Retry-After

    # -- public ----------------------------------------------------------
    def reserve(self, owner: str) -> str:
        """A new scenario id with a place in the queue for ``owner``; :meth:`submit` or :meth:`release` it.

        Raises
        ------
        QuotaExceeded
            ``owner`` already has ``max_per_user`` scenarios reserved, queued or running.
        QueueFull
            ``max_queue`` scenarios are reserved, queued or running in all.
        """
        with self._lock:
            mine = sum(1 for o in self._owner.values() if o == owner)
            wait = self._mean_seconds * max(1.0, len(self._owner) / self._concurrency)
            if mine >= self.max_per_user:
                raise QuotaExceeded(owner, self.max_per_user, wait)
            if len(self._owner) >= self.max_queue:
                raise QueueFull(self.max_queue, wait)
            sid = uuid.uuid4().hex
            self._owner[sid] = owner
            return sid

    def release(self, scenario_id: str) -> None:
        """Give back a reservation that was not submitted (the scenario was refused)."""
        with self._lock:
            if scenario_id not in self._futures:
                self._owner.pop(scenario_id, None)

    def submit(self, scenario_id: str, work: Work) -> Future:
        """Queue ``work`` (the solve) for a reserved ``scenario_id``; return its future."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._concurrency, thread_name_prefix="geoplan-solve",
                                                initializer=lower_priority)
            owner = self._owner.setdefault(scenario_id, "")
            self._cancel[scenario_id] = threading.Event()
            future: Future = Future()
            queue = self._queues.setdefault(owner, deque())
            if not queue:
                self._turns.append(owner)
            queue.append((scenario_id, work, future))
            self._futures[scenario_id] = future
            self._pool.submit(self._next)  # one pool task per queued solve: it runs whichever is next
        future.add_done_callback(lambda _f: self._forget(scenario_id))
        return future

    def _next(self) -> None:
        """Run the next queued solve, taking owners in turn (round-robin)."""
        with self._lock:
            if not self._turns:
                return
            owner = self._turns.popleft()
            queue = self._queues[owner]
            sid, work, future = queue.popleft()
            if queue:
                self._turns.append(owner)
            else:
                del self._queues[owner]
        if not future.set_running_or_notify_cancel():
            return  # cancelled while queued
        try:
            future.set_result(self._run(sid, work))
        except BaseException as exc:  # noqa: BLE001 — handed to whoever waits for the solve
            future.set_exception(exc)

    def _forget(self, scenario_id: str) -> None:
        with self._lock:
            self._owner.pop(scenario_id, None)
            self._futures.pop(scenario_id, None)
            self._cancel.pop(scenario_id, None)

    def cancel(self, scenario_id: str) -> None:
        """Ask a queued or running solve to stop: a queued one never starts, a running one stops
        at its next progress report.
        """
        with self._lock:
            ev = self._cancel.get(scenario_id)
            future = self._futures.get(scenario_id)
        if ev is not None:
            ev.set()
        if future is not None:
            future.cancel()  # frees its place in the queue at once if it has not started

    def active(self, owner: str | None = None) -> int:
        """Number of scenarios reserved, queued or running (of ``owner`` when given)."""
        with self._lock:
            return sum(1 for o in self._owner.values() if owner is None or o == owner)

    def shutdown(self) -> None:
        """Stop every solve (they end as failed: interrupted) and wait for the workers."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._stopping = True
            pending = list(self._cancel)
            for ev in self._cancel.values():
                ev.set()
            queued = [item[2] for q in self._queues.values() for item in q]
            self._queues.clear()
            self._turns.clear()
        for future in queued:
            future.cancel()
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        if pending:  # queued solves that never started
            with self._sm.begin() as s:
                s.execute(update(ScenarioRow).where(ScenarioRow.id.in_(pending),
                                                    ScenarioRow.status.in_(("queued", "running")))
                          .values(status="failed", error=_INTERRUPTED, updated_at=utcnow()))
        with self._lock:
            self._stopping = False
            for sid in pending:
                self._cancel.pop(sid, None)

    # -- worker ----------------------------------------------------------
    def _set(self, sid: str, **values: Any) -> None:
        with self._sm.begin() as s:
            s.execute(update(ScenarioRow).where(ScenarioRow.id == sid).values(updated_at=utcnow(), **values))

    def _run(self, sid: str, work: Work) -> str:
        ev = self._cancel.get(sid) or threading.Event()
        try:
            with self._sm.begin() as s:
                # FOR UPDATE (PostgreSQL; SQLite serialises writers anyway): a concurrent cancel or
                # delete waits for this transaction, or this one sees its outcome.
                row = s.get(ScenarioRow, sid, with_for_update=True)
                if row is None:
                    return "deleted"
                if ev.is_set() or row.cancel_requested:
                    row.status, row.message = "cancelled", "cancelled before it started"
                    return "cancelled"
                row.status, row.progress, row.message = "running", 0.0, "starting"
            start = time.monotonic()
            last = [0.0, -1.0]  # time and value of the last progress written

            def check() -> None:
                if ev.is_set():
                    raise Cancelled()
                if time.monotonic() - start > self._time_limit:
                    raise SolveTimeout()

            def progress(fraction: float, message: str = "") -> None:
                check()
                now = time.monotonic()
                f = min(max(float(fraction), 0.0), 1.0)
                if now - last[0] > 0.25 or f - last[1] >= 0.1:  # keep DB writes few
                    last[0], last[1] = now, f
                    self._set(sid, progress=f, message=str(message)[:500])

            gpkg, summary, geojson = work(progress, check)
            with self._lock:
                self._mean_seconds = 0.8 * self._mean_seconds + 0.2 * (time.monotonic() - start)
            if ev.is_set():
                raise Cancelled()
            if time.monotonic() - start > self._time_limit:
                raise SolveTimeout()
            with self._sm.begin() as s:  # the one transaction that publishes the result
                row = s.get(ScenarioRow, sid, with_for_update=True)
                if row is None:
                    return "deleted"
                if row.cancel_requested:
                    row.status, row.message = "cancelled", "cancelled"
                    return "cancelled"
                s.add(PlanRow(scenario_id=sid, gpkg=gpkg, summary=summary, stations_geojson=geojson))
                row.status, row.progress, row.message, row.error = "done", 1.0, "done", None
            return "done"
        except Cancelled:
            if self._stopping:
                self._set(sid, status="failed", error=_INTERRUPTED)
                return "failed"
            self._set(sid, status="cancelled", message="cancelled")
            return "cancelled"
        except SolveTimeout:
            self._set(sid, status="failed", error=f"time limit of {self._time_limit:g} s exceeded")
            return "failed"
        except BaseException as exc:  # noqa: BLE001 — any failure must be recorded, never lost
            log.warning("scenario %s failed: %s", sid, exc, exc_info=not isinstance(exc, InputError))
            try:
                self._set(sid, status="failed", error=f"{type(exc).__name__}: {exc}"[:4000])
            except Exception:  # pragma: no cover — DB gone; recover() marks it failed at next start
                log.exception("could not record failure of %s", sid)
            if isinstance(exc, InputError):
                raise  # the request that waits for this solve answers 422
            return "failed"
        finally:
            with self._lock:
                self._cancel.pop(sid, None)
