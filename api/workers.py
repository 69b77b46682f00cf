"""The CPU-heavy work of the service — solves, map pages, deputy assignments — and where it runs.

geoplan's solvers and renderers run Python code that holds the GIL for seconds at a time; run in
the server's own process they stall every request, ``/health`` included, however the threads are
arranged. So by default (``GEOPLAN_COMPUTE=process``) that work runs in long-lived **worker
processes**: each loads the dataset once, keeps the station-edited dataset of the latest edit
version and its county subsets, and answers one job at a time over a pipe. The server's thread
that waits for a job holds no GIL; it relays the job's progress and, when the job is cancelled or
over its time limit, kills the worker (a worker may be deep in HiGHS, which never reports
progress) and a fresh one takes its place on the next job. Results are written by the server in
one transaction, so a killed worker leaves nothing half-written.

``GEOPLAN_COMPUTE=thread`` (and any app built with an injected planner, as tests do) runs the
same work in the server process instead (:class:`InProcess`).

Examples
--------
>>> from api.workers import InProcess
>>> InProcess().kind
'thread'
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal, Protocol

from api.planner import PlanResult
from geoplan.exceptions import InputError

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from api.catalog import View
    from geoplan.datasets import Dataset, StationEdit
    from geoplan.scenario import Scenario

log = logging.getLogger("api.workers")
JobKind = Literal["plan", "map", "assign", "review", "ping"]
Progress = Callable[[float, str], None]
Check = Callable[[], None]  # raises to stop the job (cancelled, timed out)
Planner = Callable[..., Any]  # plan(dataset, scenario, progress=...) -> Plan
_POLL = 0.1  # seconds between checks while waiting for a worker
_PROGRESS_EVERY = 0.2  # a worker reports progress at most this often


class WorkerDied(RuntimeError):
    """A worker process ended (crashed, killed, out of memory) before answering."""


@dataclass(frozen=True)
class Job:
    """One unit of work for a worker: small and picklable (the worker holds the dataset)."""

    kind: JobKind
    version: int  # station-edit version of the view the job is for
    edits: tuple[StationEdit, ...]  # the edits of that version (the worker applies them once per version)
    county: str | None
    scenario_json: str = ""  # kinds "plan" and "review"
    gpkg: bytes = b""  # kinds "map" and "assign": the stored plan
    lang: str = "en"  # kind "map" (plan_map's default)


class Compute(Protocol):
    """Where solves, map pages and assignments are computed (see the module docstring)."""

    kind: Literal["thread", "process"]

    def plan(self, view: View, county: str | None, scenario: Scenario, progress: Progress,
             check: Check) -> PlanResult:
        """Solve ``scenario`` on the view's dataset (cut to ``county``) and serialise the plan."""

    def map_page(self, view: View, county: str | None, gpkg: bytes, lang: str = "en") -> str:
        """The stored plan ``gpkg`` as a self-contained HTML page."""

    def assignment(self, view: View, county: str | None, gpkg: bytes) -> Any:
        """The ``geoplan.assign.Assignment`` of the stored plan ``gpkg`` (empty: of the current network)."""

    def review(self, view: View, county: str | None, scenario: Scenario) -> list[dict[str, Any]]:
        """The network review under ``scenario`` as GeoJSON features."""

    def warm(self) -> int:
        """Be ready to work (a worker with the dataset loaded); return the process id that will work."""

    def shutdown(self) -> None:
        """Stop whatever runs the work."""


# -- the work itself: the same functions in a worker or in the server ------------------------------
def _plan(dataset: Dataset, scenario: Scenario, progress: Progress, planner: Planner | None = None) -> PlanResult:
    from api.planner import serialise
    from geoplan.scenario import plan

    return serialise((planner or plan)(dataset, scenario, progress=progress))


def _map_page(dataset: Dataset, gpkg: bytes, lang: str) -> str:
    from api.planner import geoplan_function, load_plan
    from geoplan import html_assets

    # self-contained (Leaflet & co. inlined from geoplan/vendor): intranets cannot reach a CDN
    return html_assets.render(geoplan_function("maps", "plan_map")(dataset, load_plan(gpkg), lang=lang))


def _assignment(dataset: Dataset, gpkg: bytes) -> Any:
    from api.planner import geoplan_function, load_plan

    # no plan: the groups of the current network (the operations routes plan on it)
    return geoplan_function("assign", "assign")(dataset, plan=load_plan(gpkg) if gpkg else None)


class InProcess:
    """Run the work in the calling thread of the server process (``GEOPLAN_COMPUTE=thread``)."""

    kind: Literal["thread", "process"] = "thread"

    def __init__(self, planner: Planner | None = None) -> None:
        self._planner = planner

    def plan(self, view: View, county: str | None, scenario: Scenario, progress: Progress, check: Check) -> PlanResult:
        """Solve ``scenario`` on the view's (county) dataset; ``progress`` may raise to stop it."""
        def report(fraction: float, message: str = "") -> None:
            check()
            progress(fraction, message)

        return _plan(view.dataset_for(county), scenario, report, self._planner)

    def map_page(self, view: View, county: str | None, gpkg: bytes, lang: str = "en") -> str:
        """The stored plan ``gpkg`` as a self-contained HTML map in ``lang``."""
        return _map_page(view.dataset_for(county), gpkg, lang)

    def assignment(self, view: View, county: str | None, gpkg: bytes) -> Any:
        """The deputy assignment (``geoplan.assign.Assignment``) of the stored plan ``gpkg``."""
        return _assignment(view.dataset_for(county), gpkg)

    def review(self, view: View, county: str | None, scenario: Scenario) -> list[dict[str, Any]]:
        """The network review under ``scenario`` as GeoJSON features (``InputError`` for unknown ids)."""
        from api.catalog import review_features

        return review_features(view.dataset_for(county), scenario)

    def warm(self) -> int:
        """Always ready: the server's own process does the work."""
        return os.getpid()

    def shutdown(self) -> None:
        """Nothing to stop."""


# -- worker processes --------------------------------------------------------------------------------
class _State:
    """What one worker keeps between jobs: the base dataset and the edited one of the latest version."""

    def __init__(self, dataset_path: Path) -> None:
        from geoplan.datasets import Dataset

        self.base = Dataset.load(dataset_path)
        self.version = 0
        self.edited = self.base
        self.subsets: dict[str, Dataset] = {}

    def dataset(self, version: int, edits: tuple[StationEdit, ...], county: str | None) -> Dataset:
        if version != self.version:
            self.edited = self.base.with_station_edits(edits) if edits else self.base
            self.version, self.subsets = version, {}
        if county is None:
            return self.edited
        if county not in self.subsets:
            self.subsets[county] = self.edited.subset(county)
        return self.subsets[county]


def _worker_main(conn: Connection, dataset_path: str, niceness: int) -> None:
    """A worker process: load the dataset, then answer jobs until the pipe closes or ``None`` arrives.

    Answers are ``("progress", fraction, message)`` (a plan's progress, throttled),
    ``("done", result)``, ``("input", message)`` (an ``InputError``: the scenario is refused) or
    ``("error", message)``.
    """
    from api.catalog import review_features
    from geoplan.scenario import Scenario

    try:
        os.nice(niceness)  # the server's own process (requests, /health) gets the CPU first
    except OSError:
        pass
    state = _State(Path(dataset_path))
    while True:
        try:
            job: Job | None = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        if job.kind == "ping":  # answered once the dataset is loaded (WorkerPool.warm)
            conn.send(("done", os.getpid()))
            continue
        last = [0.0]

        def progress(fraction: float, message: str = "") -> None:
            now = time.monotonic()
            if now - last[0] >= _PROGRESS_EVERY:
                last[0] = now
                conn.send(("progress", float(fraction), str(message)[:500]))

        try:
            ds = state.dataset(job.version, job.edits, job.county)
            if job.kind == "plan":
                result: Any = _plan(ds, Scenario.model_validate_json(job.scenario_json), progress)
            elif job.kind == "review":
                result = review_features(ds, Scenario.model_validate_json(job.scenario_json))
            elif job.kind == "map":
                result = _map_page(ds, job.gpkg, job.lang)
            else:
                result = _assignment(ds, job.gpkg)
            conn.send(("done", result))
        except InputError as exc:
            conn.send(("input", str(exc)))
        except Exception as exc:  # noqa: BLE001 — reported to the server, which records it
            log.warning("worker job %s failed", job.kind, exc_info=True)
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


@dataclass(eq=False)  # hashed by identity: kept in the pool's busy set
class _Worker:
    process: BaseProcess
    conn: Connection


class WorkerPool:
    """At most ``size`` worker processes, started on demand, each running one job at a time.

    Parameters
    ----------
    dataset_path : Path
        The dataset GeoPackage each worker loads (the one the server serves).
    size : int
        Jobs running at the same time; more wait for a free worker.
    name : str
        Names the processes (``geoplan-<name>-<n>``) in ``ps`` and the logs.
    niceness : int
        Added to the workers' nice value so the server answers requests first.
    """

    kind: Literal["thread", "process"] = "process"

    def __init__(self, dataset_path: Path, size: int, *, name: str = "solve", niceness: int = 10) -> None:
        self._path = str(dataset_path)
        self._name = name
        self._niceness = niceness
        self._slots = threading.BoundedSemaphore(size)
        self._idle: deque[_Worker] = deque()
        self._busy: set[_Worker] = set()
        self._lock = threading.Lock()
        self._started = 0
        self._stopping = False
        self._mp = mp.get_context("spawn")  # never fork a process that runs threads

    # -- Compute ----------------------------------------------------------------------------------
    def plan(self, view: View, county: str | None, scenario: Scenario, progress: Progress, check: Check) -> PlanResult:
        """Solve ``scenario`` in a worker; ``check`` (called every 0.1 s) and ``progress`` may raise to stop it."""
        result: PlanResult = self.run(Job("plan", view.version, view.edits, county, scenario.model_dump_json()),
                                      progress, check)
        return result

    def map_page(self, view: View, county: str | None, gpkg: bytes, lang: str = "en") -> str:
        """The stored plan ``gpkg`` as a self-contained HTML map in ``lang``, rendered in a worker."""
        page: str = self.run(Job("map", view.version, view.edits, county, gpkg=gpkg, lang=lang))
        return page

    def assignment(self, view: View, county: str | None, gpkg: bytes) -> Any:
        """The deputy assignment (``geoplan.assign.Assignment``) of the stored plan ``gpkg``, from a worker."""
        return self.run(Job("assign", view.version, view.edits, county, gpkg=gpkg))

    def review(self, view: View, county: str | None, scenario: Scenario) -> list[dict[str, Any]]:
        """The network review under ``scenario`` as GeoJSON features, computed in a worker."""
        feats: list[dict[str, Any]] = self.run(Job("review", view.version, view.edits, county,
                                                   scenario.model_dump_json()))
        return feats

    # -- the pool ---------------------------------------------------------------------------------
    def start(self, n: int = 1) -> None:
        """Start up to ``n`` idle workers now (``geoplan serve`` warms one so the first solve is quick)."""
        with self._lock:
            while len(self._idle) + len(self._busy) < n and not self._stopping:
                self._idle.append(self._spawn())

    def warm(self) -> int:
        """Wait until a worker has loaded the dataset (starting one if none runs); return its process id."""
        pid: int = self.run(Job("ping", 0, (), None))
        return pid

    def _spawn(self) -> _Worker:
        parent, child = self._mp.Pipe(duplex=True)
        self._started += 1
        proc = self._mp.Process(target=_worker_main, args=(child, self._path, self._niceness),
                                name=f"geoplan-{self._name}-{self._started}", daemon=True)
        proc.start()
        child.close()
        return _Worker(proc, parent)

    def _take(self) -> _Worker:
        with self._lock:
            if self._stopping:
                raise WorkerDied("the service is stopping")
            while self._idle:
                w = self._idle.popleft()
                if w.process.is_alive():
                    break
                w.conn.close()
            else:
                w = self._spawn()
            self._busy.add(w)
            return w

    def _give_back(self, w: _Worker, healthy: bool) -> None:
        with self._lock:
            self._busy.discard(w)
            if healthy and not self._stopping:
                self._idle.append(w)
                return
        _stop(w)

    def run(self, job: Job, progress: Progress | None = None, check: Check | None = None) -> Any:
        """Run ``job`` on a free worker and return its result.

        Raises
        ------
        InputError
            The job's input was refused by geoplan (its message as geoplan wrote it).
        WorkerDied
            The worker ended before answering (it is replaced on the next job).
        RuntimeError
            Any other failure in the worker (type and message of the worker's exception).
        Exception
            Whatever ``check`` or ``progress`` raised (the worker is killed first).
        """
        with self._slots:
            w = self._take()
            healthy = False
            try:
                w.conn.send(job)
                while True:
                    if check is not None:
                        check()
                    if not w.conn.poll(_POLL):
                        if not w.process.is_alive() and not w.conn.poll():
                            raise WorkerDied(f"the {self._name} worker process ended (exit code "
                                             f"{w.process.exitcode}) before finishing the job")
                        continue
                    try:
                        msg = w.conn.recv()
                    except (EOFError, OSError) as exc:
                        raise WorkerDied(f"the {self._name} worker process ended before finishing the job") from exc
                    if msg[0] == "progress":
                        if progress is not None:
                            progress(msg[1], msg[2])
                        continue
                    healthy = True
                    if msg[0] == "done":
                        return msg[1]
                    if msg[0] == "input":
                        raise InputError(msg[1])
                    raise RuntimeError(msg[1])
            finally:
                self._give_back(w, healthy)

    def shutdown(self) -> None:
        """Stop every worker: idle ones are asked to exit, busy ones are killed (their jobs fail)."""
        with self._lock:
            self._stopping = True
            workers = list(self._idle) + list(self._busy)
            self._idle.clear()
        for w in workers:
            _stop(w)
        with self._lock:
            self._stopping = False  # a restarted lifespan may use the pool again

    def alive(self) -> int:
        """Worker processes alive now."""
        return len(self.pids())

    def pids(self) -> list[int]:
        """Process ids of the workers alive now (idle first)."""
        with self._lock:
            return [w.process.pid for w in (*self._idle, *self._busy) if w.process.is_alive() and w.process.pid]


def _stop(w: _Worker) -> None:
    """End a worker: kill it if busy or unresponsive (a solve in HiGHS cannot be asked nicely)."""
    try:
        w.conn.send(None)
    except (OSError, ValueError):
        pass
    w.process.join(timeout=0.05)
    if w.process.is_alive():
        w.process.kill()
        w.process.join(timeout=5)
    w.conn.close()


def make_compute(mode: Literal["thread", "process"], dataset_path: Path, size: int,
                 planner: Planner | None = None, *, name: str = "solve") -> Compute:
    """The :class:`Compute` for a setting: worker processes, or in-process (always with an injected planner)."""
    if mode == "thread" or planner is not None:
        return InProcess(planner)
    return WorkerPool(dataset_path, size, name=name)


__all__ = ["Compute", "InProcess", "Job", "Planner", "WorkerDied", "WorkerPool", "make_compute"]
