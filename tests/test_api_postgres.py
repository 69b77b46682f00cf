"""The HTTP API on PostgreSQL: migrations, plans stored and surviving restarts and crashes,
concurrent submissions, station edits and the audit log.

The server comes from ``GEOPLAN_TEST_POSTGRES_URL`` (a role that may ``CREATE DATABASE``;
each test gets its own database, dropped afterwards) or, without it, a throwaway server this
module starts itself: ``initdb`` into a temp dir with the Debian binaries
(``/usr/lib/postgresql/*/bin``; ``apt-get install postgresql``), run as the ``postgres`` user
when we are root, listening on 127.0.0.1 on a free port, stopped at the end. When neither
works the module is skipped with the reason.
"""
from __future__ import annotations

import json
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import uuid
from pathlib import Path
from typing import Iterator

import httpx
import pytest
from api_helpers import (
    CITY,
    EAST,
    TOKENS,
    WEST,
    assert_problem,
    crashing_planner,
    free_port,
    is_utc,
    make_settings,
    slow_planner,
    submit,
    submit_async_concurrently,
    submit_crashing_solve,
    wait_final,
)
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import URL, make_url

from api.main import create_app
from api.settings import Settings

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
# Not UTC on purpose: the API must still answer in UTC whatever the server's zone.
SERVER_TIMEZONE = "Asia/Shanghai"


# -- the server ----------------------------------------------------------------------------
def _pg_bindir() -> Path | None:
    """The directory holding initdb and pg_ctl: Debian's newest version, else the PATH."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                   key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0, reverse=True)
    on_path = shutil.which("initdb")
    for d in found + ([Path(on_path).parent] if on_path else []):
        if (d / "initdb").exists() and (d / "pg_ctl").exists():
            return d
    return None


def _as_server_user(cmd: list[str]) -> list[str]:
    """``cmd`` run as ``postgres`` when we are root (initdb refuses root), else as is."""
    if os.geteuid() != 0:
        return cmd
    if shutil.which("runuser"):
        return ["runuser", "-u", "postgres", "--", *cmd]
    return ["su", "postgres", "-s", "/bin/sh", "-c", shlex.join(cmd)]


class _Unavailable(Exception):
    """Why no PostgreSQL server could be had (the skip message)."""


def _start_server(root: Path) -> tuple[URL, list[str]]:
    """initdb + pg_ctl start under ``root``; return the admin URL and the stop command."""
    bindir = _pg_bindir()
    if bindir is None:
        raise _Unavailable("no initdb/pg_ctl found under /usr/lib/postgresql/*/bin or on PATH "
                           "(apt-get install postgresql)")
    if os.geteuid() == 0:
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            raise _Unavailable("running as root and there is no 'postgres' user to run initdb as") from None
        os.chown(root, pw.pw_uid, pw.pw_gid)
    data, log = root / "data", root / "server.log"
    port = free_port()
    run = dict(capture_output=True, text=True, timeout=120)
    r = subprocess.run(_as_server_user([str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust",
                                        "-E", "UTF8", "--locale=C", "--no-sync"]), **run)
    if r.returncode:
        raise _Unavailable(f"initdb failed ({r.returncode}): {(r.stderr or r.stdout).strip()[-800:]}")
    opts = (f"-k {root} -p {port} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
            f"-c full_page_writes=off -c max_connections=200 -c timezone={SERVER_TIMEZONE}")
    r = subprocess.run(_as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "60",
                                        "-o", opts, "start"]), **run)
    if r.returncode:
        tail = log.read_text(errors="replace")[-800:] if log.exists() else ""
        raise _Unavailable(f"pg_ctl start failed ({r.returncode}): {(r.stderr or r.stdout).strip()[-400:]} {tail}")
    stop = _as_server_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"])
    return URL.create("postgresql+psycopg", username="postgres", host="127.0.0.1", port=port,
                      database="postgres"), stop


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[URL]:
    """A PostgreSQL URL whose role may create databases (see the module docstring)."""
    given = os.environ.get("GEOPLAN_TEST_POSTGRES_URL")
    if given:
        yield make_url(given).set(drivername="postgresql+psycopg")
        return
    root = Path(tempfile.mkdtemp(prefix="geoplan-pg-"))  # not under pytest's 0700 tmp: postgres must enter it
    stop: list[str] | None = None
    try:
        try:
            url, stop = _start_server(root)
        except (_Unavailable, OSError, subprocess.SubprocessError) as exc:
            pytest.skip(f"no PostgreSQL for the API tests: set GEOPLAN_TEST_POSTGRES_URL or install the server "
                        f"(apt-get install postgresql); starting a throwaway one failed: {exc}")
        yield url
    finally:
        if stop is not None:
            subprocess.run(stop, capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


def _admin(url: URL, sql: str) -> None:
    import psycopg

    with psycopg.connect(url.set(drivername="postgresql").render_as_string(hide_password=False),
                         autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def pg_url(pg_admin_url: URL) -> Iterator[str]:
    """A fresh, empty database for one test (dropped afterwards)."""
    name = f"geoplan_test_{uuid.uuid4().hex[:12]}"
    try:
        _admin(pg_admin_url, f'CREATE DATABASE "{name}"')
    except Exception as exc:  # noqa: BLE001 — e.g. server gone, or a role without CREATEDB
        pytest.skip(f"cannot create a test database on {pg_admin_url.render_as_string()}: {exc}")
    yield pg_admin_url.set(database=name).render_as_string(hide_password=False)
    _admin(pg_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(dataset_path: Path, pg_url: str) -> Settings:
    return make_settings(dataset_path, pg_url)


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


def query(url: str, sql: str, **params: object) -> list[tuple]:
    """Rows of ``sql`` read straight from the database, past the API."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


# -- tests -----------------------------------------------------------------------------------
def test_migrations_create_the_schema_with_native_types(settings: Settings) -> None:
    create_app(settings).state.ctx.engine.dispose()
    url = settings.db_url
    engine = create_engine(url)
    try:
        insp = inspect(engine)
        assert {"scenarios", "plans", "station_edits", "audit_log", "alembic_version"} <= set(insp.get_table_names())
        assert {"reception_rotas", "topics", "topic_plans"} <= set(insp.get_table_names())  # operations (0002)
    finally:
        engine.dispose()
    assert query(url, "select version_num from alembic_version") == [(_head(),)]
    types = dict(query(url, "select table_name || '.' || column_name, data_type from information_schema.columns "
                            "where table_schema = 'public'"))
    assert types["plans.gpkg"] == "bytea"
    assert types["scenarios.cancel_requested"] == "boolean"
    assert types["scenarios.created_at"] == types["audit_log.at"] == "timestamp with time zone"
    assert types["plans.summary"] in ("json", "jsonb") and types["audit_log.detail"] in ("json", "jsonb")
    assert types["topics.deliberation_date"] == "date" and types["reception_rotas.duties"] in ("json", "jsonb")
    # id columns draw from sequences/identity (autoincrement)
    assert query(url, "select pg_get_serial_sequence('audit_log', 'id') is not null "
                      "or (select is_identity = 'YES' from information_schema.columns "
                      "where table_name = 'audit_log' and column_name = 'id')")[0][0]
    create_app(settings).state.ctx.engine.dispose()  # a second start-up is a no-op migration
    assert query(url, "select count(*) from alembic_version") == [(1,)]


def _head() -> str:
    from alembic.script import ScriptDirectory

    from api.db import alembic_config

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_health_reports_the_database(client: TestClient) -> None:
    assert client.get("/health").json()["database"] == "ok"


def test_sync_and_async_scenarios_store_their_plans(client: TestClient, settings: Settings) -> None:
    r = submit(client, CITY, budget=2)
    assert r.status_code == 201 and r.json()["status"] == "done", r.text
    sid = r.json()["id"]
    fc = client.get(f"/scenarios/{sid}/plan", headers=CITY).json()
    assert fc["metrics"]["n_open"] == 2
    gpkg = client.get(f"/scenarios/{sid}/export", headers=CITY)
    assert gpkg.content.startswith(b"SQLite format 3")
    stored = query(settings.db_url, "select octet_length(gpkg) from plans where scenario_id = :s", s=sid)
    assert stored == [(len(gpkg.content),)]  # the GeoPackage round-trips through bytea byte for byte
    assert client.get(f"/scenarios/{sid}/map", headers=CITY).status_code == 200
    summ = client.get(f"/scenarios/{sid}/summary", headers=CITY).json()
    assert summ["metrics"]["population"] > 0 and len(summ["towns"]) == 4
    # assignments are computed on first request and written back into the JSON column
    assert client.get(f"/scenarios/{sid}/assignments", headers=WEST).json()["tables"]["conveners"]
    assert query(settings.db_url, "select assignment is not null from plans where scenario_id = :s", s=sid) == [(True,)]

    job = submit(client, CITY, budget=8)
    assert job.status_code == 202
    final = wait_final(client, job.json()["id"])
    assert final["status"] == "done" and final["progress"] == 1.0
    assert client.get(f"/scenarios/{final['id']}/plan", headers=CITY).json()["metrics"]["n_open"] == 8
    # times come back in UTC although the server's zone is not UTC
    assert is_utc(final["created_at"]) and is_utc(final["updated_at"])
    listing = client.get("/scenarios", headers=CITY).json()
    assert [x["id"] for x in listing["items"]] == [final["id"], sid]  # newest first


def test_restart_keeps_plans_and_fails_interrupted_solves(settings: Settings) -> None:
    with TestClient(create_app(settings)) as c:
        sid = submit(c, CITY, budget=2).json()["id"]
        before = c.get(f"/scenarios/{sid}/plan", headers=CITY).json()
        summary = c.get(f"/scenarios/{sid}/summary", headers=CITY).json()
    engine = create_engine(settings.db_url)
    with engine.begin() as conn:
        conn.execute(text("insert into scenarios (id, name, owner, status, progress, message, cancel_requested,"
                          " scenario_json, created_at, updated_at) values ('crashed', 'x', 'alice', 'running', 0.4,"
                          " '', false, '{}', now(), now())"))
    engine.dispose()
    with TestClient(create_app(settings)) as c:
        assert c.get(f"/scenarios/{sid}/plan", headers=CITY).json() == before
        assert c.get(f"/scenarios/{sid}/summary", headers=CITY).json() == summary
        crashed = c.get("/scenarios/crashed", headers=CITY).json()
        assert crashed["status"] == "failed" and "interrupted" in crashed["error"]


def test_crashing_solve_marks_failed_never_half_written(settings: Settings) -> None:
    with TestClient(create_app(settings, planner=crashing_planner)) as client:
        submit_crashing_solve(client)
    assert query(settings.db_url, "select count(*) from plans") == [(0,)]


def test_cancel_and_delete_running_jobs(settings: Settings) -> None:
    started = threading.Event()
    with TestClient(create_app(settings, planner=slow_planner(started))) as client:
        _cancel_and_delete(client, settings, started)


def _cancel_and_delete(client: TestClient, settings: Settings, started: threading.Event) -> None:
    sid = submit(client, CITY, budget=9).json()["id"]
    assert started.wait(10)
    assert client.post(f"/scenarios/{sid}/cancel", headers=CITY).status_code == 202
    assert wait_final(client, sid)["status"] == "cancelled"
    assert_problem(client.post(f"/scenarios/{sid}/cancel", headers=CITY), 409)

    started.clear()
    other = submit(client, CITY, budget=9).json()["id"]
    assert started.wait(10)
    assert client.delete(f"/scenarios/{other}", headers=CITY).status_code == 204  # while its solve runs
    assert_problem(client.get(f"/scenarios/{other}", headers=CITY), 404)
    client.app.state.ctx.jobs.shutdown()  # waits for the worker: it must find the row gone, not fail on it
    assert query(settings.db_url, "select id, status from scenarios") == [(sid, "cancelled")]
    assert query(settings.db_url, "select count(*) from plans") == [(0,)]


_CRASHING_SERVICE = textwrap.dedent("""
    import os
    from fastapi.testclient import TestClient
    from api.main import create_app

    def crash(dataset, scenario, progress=None):
        progress(0.5, "half way")
        os._exit(17)  # the process dies mid-solve: no except, no finally, no shutdown

    app = create_app(planner=crash)
    with TestClient(app) as c:
        c.post("/scenarios", headers={"Authorization": "Bearer city"}, json={"scenario": {"name": "x", "budget": 1}})
    raise SystemExit("the solve should have killed the process")
""")


def test_process_killed_during_a_solve_leaves_the_scenario_failed(settings: Settings, dataset_path: Path) -> None:
    env = os.environ | {"DATABASE_URL": settings.db_url, "GEOPLAN_DATASET_PATH": str(dataset_path),
                        "GEOPLAN_TOKENS": json.dumps(TOKENS)}
    r = subprocess.run([sys.executable, "-c", _CRASHING_SERVICE], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 17, r.stderr[-2000:]
    rows = query(settings.db_url, "select id, status, progress from scenarios")
    assert len(rows) == 1 and rows[0][1] == "running" and rows[0][2] == pytest.approx(0.5)
    assert query(settings.db_url, "select count(*) from plans") == [(0,)]
    with TestClient(create_app(settings)) as c:
        final = c.get(f"/scenarios/{rows[0][0]}", headers=CITY).json()
        assert final["status"] == "failed" and "interrupted" in final["error"]
        assert_problem(c.get(f"/scenarios/{rows[0][0]}/plan", headers=CITY), 409)
    assert query(settings.db_url, "select count(*) from plans") == [(0,)]


def test_concurrent_submissions_are_all_stored(settings: Settings) -> None:
    app = create_app(settings)

    ids = submit_async_concurrently(app, 12)
    with TestClient(app) as c:
        # and synchronous ones from several threads at once, each holding a request open during its solve
        results: list[httpx.Response] = []
        threads = [threading.Thread(target=lambda i=i: results.append(submit(c, CITY, budget=1, seed=100 + i)))
                   for i in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert [r.status_code for r in results] == [201] * 6, [r.text for r in results if r.status_code != 201]
        ids |= {r.json()["id"] for r in results}
        finals = [wait_final(c, sid) for sid in ids]
        assert len(ids) == 18 and all(f["status"] == "done" for f in finals)
        assert c.get("/scenarios", headers=CITY).json()["numberMatched"] == 18
    assert query(settings.db_url, "select count(*) from plans") == [(18,)]
    assert query(settings.db_url, "select count(*) from audit_log where action = 'scenario.submit'") == [(18,)]


def test_station_edits_with_audit_trail(client: TestClient, settings: Settings) -> None:
    r = client.post("/stations/ST00/close", headers=WEST, json={"reason": "duplicate of ST04"})
    assert r.status_code == 200 and r.json()["actor"] == "bob" and is_utc(r.json()["created_at"])
    assert_problem(client.post("/stations/ST00/close", headers=CITY), 409)
    assert client.post("/stations/ST00/reopen", headers=CITY).json()["action"] == "reopen"
    p = client.post("/stations", headers=EAST, json={"name": "Market point", "tier": "point", "lon": 120.17,
                                                     "lat": 33.35, "sector": "commerce", "reason": "busy market"})
    assert p.status_code == 201, p.text
    new_id = p.json()["station_id"]
    assert p.json()["data"]["lon"] == 120.17  # the JSON column keeps the proposal
    layer = client.get("/layers/stations", headers=CITY, params={"town": "T4"}).json()
    assert any(f["id"] == new_id and f["properties"]["status"] == "proposed" for f in layer["features"])
    assert client.post(f"/stations/{new_id}/reopen", headers=EAST).status_code == 200  # confirm the proposal
    hist = client.get("/stations/ST00/history", headers=WEST).json()
    assert [(h["action"], h["actor"]) for h in hist] == [("close", "bob"), ("reopen", "alice")]
    assert hist[0]["id"] < hist[1]["id"]  # ids from the sequence, in order
    s = submit(client, CITY, budget=1, force_open=[new_id])
    assert s.status_code == 201 and s.json()["status"] == "done", s.text

    log = client.get("/audit", headers=CITY).json()
    actions = [(e["actor"], e["action"], e["target_id"]) for e in log["items"]]
    assert actions == [("alice", "scenario.submit", s.json()["id"]), ("carol", "station.reopen", new_id),
                       ("carol", "station.propose", new_id),
                       ("alice", "station.reopen", "ST00"), ("bob", "station.close", "ST00")]
    assert all(is_utc(e["at"]) for e in log["items"])
    assert client.get("/audit", headers=WEST, params={"target_id": "ST00"}).json()["numberMatched"] == 2
    assert query(settings.db_url, "select detail->>'reason' from audit_log where action = 'station.close'") == \
        [("duplicate of ST04",)]

    # the edits are in the database: a restarted service sees them
    with TestClient(create_app(settings)) as c:
        st = c.get(f"/stations/{new_id}", headers=CITY).json()
        assert [h["action"] for h in st["history"]] == ["propose", "reopen"]
        assert st["station"]["properties"]["status"] == "active"


def test_schemathesis_stateful_phase_on_postgresql(settings: Settings) -> None:
    # once on PostgreSQL: linked submit → status/plan/cancel/delete sequences give no 5xx (bounded steps)
    import schemathesis
    from api_helpers import STATEFUL, workflow

    app = create_app(settings.model_copy(update={"max_jobs_per_user": 10_000, "max_queue": 10_000}))
    seen: set[str] = set()
    for pool in (app.state.ctx.solver, app.state.ctx.renderer):
        pool.warm()  # a worker with the dataset loaded, so the first solve does not wait for one
    try:
        workflow(schemathesis.openapi.from_asgi("/openapi.json", app), CITY, seen).run(settings=STATEFUL)
    finally:
        app.state.ctx.close()
    assert len(seen) >= 3, seen


def test_rotas_topics_and_visit_plans_survive_a_restart(settings: Settings) -> None:
    topic = {"id": "A1", "committee_id": "K1", "title": "高标准农田管护条例（草案）", "sectors": "agriculture",
             "deliberation_date": "2026-06-18"}
    with TestClient(create_app(settings)) as c:
        rota = c.post("/reception/rotas", headers=WEST, json={"year": 2026}).json()
        assert c.post("/topics", headers=CITY, json={"topics": [topic]}).status_code == 201
        plan = c.post("/topics/plans", headers=CITY, json={}).json()
    with TestClient(create_app(settings)) as c:
        back = c.get(f"/reception/rotas/{rota['id']}", headers=WEST).json()
        assert back["metrics"] == rota["metrics"] and back["duties"]
        assert_problem(c.get(f"/reception/rotas/{rota['id']}", headers=EAST), 403)
        assert c.get("/topics", headers=CITY).json()["items"][0]["deliberation_date"] == "2026-06-18"
        assert c.get(f"/topics/plans/{plan['id']}", headers=CITY).json()["visits"] == plan["visits"]
    assert query(settings.db_url, "select count(*) from reception_rotas") == [(1,)]
