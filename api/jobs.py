"""Solving scenarios off the event loop.

A :class:`JobRunner` owns a thread pool of ``solve_concurrency`` workers. Each solve:

* marks the scenario ``running`` and reports progress through geoplan's ``progress``
  callback, which also raises :class:`Cancelled` when a cancel was requested and
  :class:`SolveTimeout` past the per-solve time limit — so a solve stops at its next
  progress report;
* writes its result (plan row + ``done``) in ONE transaction after the solve, so a
  crash leaves no half-written plan; any exception marks it ``failed`` with the message;
* on start-up, :func:`recover` marks scenarios left ``queued``/``running`` by a crash as failed.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.orm import Session, sessionmaker

from api.models import PlanRow, ScenarioRow, utcnow
from api.planner import serialise
from geoplan.exceptions import InputError

log = logging.getLogger("api.jobs")
_INTERRUPTED = "interrupted: the service stopped before the solve finished"
Planner = Callable[..., Any]  # plan(dataset, scenario, progress=...) -> Plan


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
    """Thread pool running ``planner`` for stored scenarios."""

    def __init__(self, sm: sessionmaker[Session], planner: Planner, concurrency: int,
                 time_limit: float) -> None:
        self._sm = sm
        self._planner = planner
        self._time_limit = time_limit
        self._concurrency = concurrency
        self._pool: ThreadPoolExecutor | None = None  # created on first submit, again after a shutdown
        self._cancel: dict[str, threading.Event] = {}
        self._lock = threading.Lock()
        self._stopping = False

    # -- public ----------------------------------------------------------
    def submit(self, scenario_id: str, dataset: Any, scenario: Any) -> Future:
        """Queue a solve of ``scenario`` on ``dataset`` for ``scenario_id``; return its future."""
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self._concurrency, thread_name_prefix="geoplan-solve")
            self._cancel[scenario_id] = threading.Event()
            return self._pool.submit(self._run, scenario_id, dataset, scenario)

    def cancel(self, scenario_id: str) -> None:
        """Ask a queued or running solve to stop (it stops at its next progress report)."""
        with self._lock:
            ev = self._cancel.get(scenario_id)
        if ev is not None:
            ev.set()

    def active(self) -> int:
        """Number of solves queued or running."""
        with self._lock:
            return len(self._cancel)

    def shutdown(self) -> None:
        """Stop every solve (they end as failed: interrupted) and wait for the workers."""
        with self._lock:
            pool, self._pool = self._pool, None
            self._stopping = True
            pending = list(self._cancel)
            for ev in self._cancel.values():
                ev.set()
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

    def _run(self, sid: str, dataset: Any, scenario: Any) -> str:
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

            def progress(fraction: float, message: str = "") -> None:
                if ev.is_set():
                    raise Cancelled()
                now = time.monotonic()
                if now - start > self._time_limit:
                    raise SolveTimeout()
                f = min(max(float(fraction), 0.0), 1.0)
                if now - last[0] > 0.25 or f - last[1] >= 0.1:  # keep DB writes few
                    last[0], last[1] = now, f
                    self._set(sid, progress=f, message=str(message)[:500])

            plan = self._planner(dataset, scenario, progress=progress)
            if ev.is_set():
                raise Cancelled()
            if time.monotonic() - start > self._time_limit:
                raise SolveTimeout()
            gpkg, summary, geojson = serialise(plan)
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
