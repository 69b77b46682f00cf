"""Worker processes (api/workers.py): solves, maps, assignments and reviews run outside the server's
process, give the same answers as in-process, and a cancelled, timed-out or dead worker is replaced."""
from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import pytest
from api_helpers import CITY, make_settings, submit, wait_final
from fastapi.testclient import TestClient

from api.catalog import Catalog, View
from api.main import create_app
from api.workers import InProcess, Job, WorkerDied, WorkerPool
from geoplan.datasets import Dataset, StationEdit
from geoplan.exceptions import InputError
from geoplan.scenario import Scenario


class Stop(Exception):
    """Raised by a test's ``check`` to stop a job."""


@pytest.fixture(scope="module")
def view(dataset_path: Path) -> View:
    return Catalog(Dataset.load(dataset_path)).view(0, list)


@pytest.fixture
def pool(dataset_path: Path):
    p = WorkerPool(dataset_path, 1, name="test")
    yield p
    p.shutdown()
    assert p.alive() == 0


def test_a_worker_plans_exactly_what_the_server_would(pool: WorkerPool, view: View) -> None:
    sc = Scenario(budget=2, seed=3)
    seen: list[float] = []
    gpkg, summary, geojson = pool.plan(view, None, sc, lambda f, m: seen.append(f), lambda: None)
    _, summary_here, geojson_here = InProcess().plan(view, None, sc, lambda f, m: None, lambda: None)
    timing = {"seconds", "plan_seconds"}  # wall-clock figures, the only thing that may differ
    strip = lambda m: {k: v for k, v in m.items() if k not in timing}  # noqa: E731
    assert strip(summary.pop("metrics")) == strip(summary_here.pop("metrics"))
    assert summary == summary_here and geojson == geojson_here
    assert gpkg[:16] == b"SQLite format 3\x00"
    assert pool.alive() == 1  # kept for the next job, dataset loaded
    assert pool.pids() and os.getpid() not in pool.pids()


def test_maps_assignments_and_reviews_match_in_process(pool: WorkerPool, view: View) -> None:
    gpkg, _, _ = InProcess().plan(view, None, Scenario(budget=2), lambda f, m: None, lambda: None)
    here = InProcess()

    def page(c: InProcess | WorkerPool) -> str:  # folium names each element with a random uuid
        return re.sub(r"_[0-9a-f]{32}(?![0-9a-f])", "_id", c.map_page(view, None, gpkg, "zh"))

    assert page(pool) == page(here) and "<!DOCTYPE html>" in page(pool)
    a, b = pool.assignment(view, None, gpkg), here.assignment(view, None, gpkg)
    assert a.group_stations.equals(b.group_stations)
    assert pool.review(view, None, Scenario()) == here.review(view, None, Scenario())


def test_station_edits_reach_the_worker(pool: WorkerPool, view: View, dataset_path: Path) -> None:
    base = Dataset.load(dataset_path)
    sid = str(base.active_stations()["id"].iloc[0])
    edits = (StationEdit(sid, "close"),)
    edited = View(1, base.with_station_edits(edits), view.layers, edits=edits)
    feats = {f["id"] for f in pool.review(edited, None, Scenario())}
    assert sid not in feats and sid in {f["id"] for f in pool.review(view, None, Scenario())}


def test_refused_input_is_an_input_error_and_the_worker_stays(pool: WorkerPool, view: View) -> None:
    with pytest.raises(InputError, match="force_closed"):
        pool.review(view, None, Scenario(force_closed=("NOPE",)))
    before = pool.pids()
    assert pool.review(view, None, Scenario())  # same worker answers the next job
    assert pool.pids() == before


def test_a_stopped_job_kills_its_worker_and_the_next_job_gets_a_fresh_one(pool: WorkerPool, view: View) -> None:
    pool.start(1)
    first = pool.pids()

    def stop() -> None:
        raise Stop()

    with pytest.raises(Stop):
        pool.plan(view, None, Scenario(budget=2), lambda f, m: None, stop)
    assert pool.alive() == 0  # killed at once: a solve inside HiGHS could not be asked to stop
    assert pool.review(view, None, Scenario())
    assert pool.pids() and pool.pids() != first


def test_a_worker_that_dies_mid_job_is_reported_and_replaced(pool: WorkerPool, view: View) -> None:
    pool.start(1)
    victim = pool.pids()[0]
    killed: list[int] = []

    def kill_once() -> None:
        if not killed:
            killed.append(victim)
            os.kill(victim, signal.SIGKILL)

    with pytest.raises(WorkerDied, match="ended"):
        pool.run(Job("review", 0, (), None, Scenario().model_dump_json()), check=kill_once)
    assert pool.review(view, None, Scenario()) and victim not in pool.pids()


def test_the_service_solves_in_worker_processes_and_stops_them(dataset_path: Path, tmp_path: Path) -> None:
    settings = make_settings(dataset_path, tmp_path / "w.db", compute="process")
    app = create_app(settings)
    ctx = app.state.ctx
    assert isinstance(ctx.solver, WorkerPool) and isinstance(ctx.renderer, WorkerPool)
    with TestClient(app) as c:
        s = submit(c, CITY, budget=2).json()
        assert s["status"] == "done", s
        job = submit(c, CITY, budget=8).json()  # above the sync limit: a job
        assert wait_final(c, job["id"])["status"] == "done"
        assert c.get(f"/scenarios/{s['id']}/map", headers=CITY).text.lstrip().startswith("<!DOCTYPE html>")
        assert c.get(f"/scenarios/{s['id']}/assignments", headers=CITY).status_code == 200
        assert ctx.solver.alive() >= 1 and ctx.renderer.alive() >= 1
        assert os.getpid() not in ctx.solver.pids() + ctx.renderer.pids()
    assert ctx.solver.alive() == 0 and ctx.renderer.alive() == 0  # the lifespan's end stops them


def test_thread_mode_and_an_injected_planner_stay_in_process(dataset_path: Path, tmp_path: Path) -> None:
    from geoplan.scenario import plan

    def planner(ds, sc, progress=None):  # noqa: ANN001, ANN202
        return plan(ds, sc, progress=progress)

    assert isinstance(create_app(make_settings(dataset_path, tmp_path / "a.db", compute="thread")).state.ctx.solver,
                      InProcess)
    app = create_app(make_settings(dataset_path, tmp_path / "b.db", compute="process"), planner=planner)
    assert isinstance(app.state.ctx.solver, InProcess) and isinstance(app.state.ctx.renderer, WorkerPool)
