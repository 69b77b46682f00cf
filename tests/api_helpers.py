"""Shared by the API tests (SQLite in test_api.py, PostgreSQL in test_api_postgres.py):
tokens, settings and small request helpers (the tiny dataset fixture is in conftest.py)."""
from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Iterator

import httpx
import hypothesis
import schemathesis
import schemathesis.checks
from fastapi.testclient import TestClient

from api.settings import Settings

TOKENS = {
    "city": {"role": "city_planner", "name": "alice"},
    "west": {"role": "county_planner", "county_code": "C1", "name": "bob"},
    "east": {"role": "county_planner", "county_code": "C2", "name": "carol"},
    "portal": {"role": "service", "name": "portal"},
}
CITY, WEST, EAST, PORTAL = ({"Authorization": f"Bearer {t}"} for t in TOKENS)
PROBLEM = "application/problem+json"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_settings(dataset_path: Path, db: Path | str, **kw: object) -> Settings:
    """Test settings; ``db`` is an SQLite file or a full SQLAlchemy URL."""
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    # limits well above what these tests send; the abuse tests (test_api_abuse.py) set their own
    base = dict(database_url=url, dataset_path=dataset_path, tokens=TOKENS, sync_budget_limit=5,
                max_body_bytes=20_000, solve_concurrency=2, solve_time_limit=60, max_jobs_per_user=50,
                rate_limit_per_minute=100_000, rate_limit_burst=10_000)
    return Settings(**(base | kw))


def submit(c: TestClient, headers: dict, budget: int = 2, county: str | None = None, **kw: object) -> httpx.Response:
    params = {"mode": kw.pop("mode")} if "mode" in kw else None
    return c.post("/scenarios", headers=headers, params=params,
                  json={"county_code": county, "scenario": {"name": f"b{budget}", "budget": budget, **kw}})


def wait_final(c: TestClient, sid: str, timeout: float = 60) -> dict:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        body = c.get(f"/scenarios/{sid}", headers=CITY).json()
        if body["status"] in ("done", "failed", "cancelled"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"scenario {sid} did not finish")


def assert_problem(r: httpx.Response, status: int, field: str | None = None) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM)
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"].startswith("http")
    if field is not None:
        assert field in [e["field"] for e in body["errors"]], body
    return body


def slow_planner(started: threading.Event):
    """A planner (``create_app(..., planner=)``) whose solve reports progress for ~4 s and must be stopped."""
    def plan(dataset, scenario, progress=None):  # noqa: ANN001
        started.set()
        for i in range(400):
            progress(i / 400, f"step {i}")
            time.sleep(0.01)
        raise AssertionError("should have been cancelled")
    return plan


def is_utc(stamp: str) -> bool:
    """True for an ISO 8601 time with a zero UTC offset ("Z" or "+00:00")."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).utcoffset() == timedelta(0)


def submit_async_concurrently(app: object, n: int) -> set[str]:
    """Post ``n`` job scenarios at once over one async client; return their ids (all must be 202)."""

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=CITY) as ac:
            return await asyncio.gather(*[
                ac.post("/scenarios", params={"mode": "async"},
                        json={"scenario": {"name": f"n{i}", "budget": 1 + i % 3, "seed": i}}) for i in range(n)])

    responses = asyncio.run(run())
    assert all(r.status_code == 202 for r in responses), [r.text for r in responses if r.status_code != 202]
    return {r.json()["id"] for r in responses}


def crashing_planner(dataset: object, scenario: object, progress: Any = None) -> None:
    """A planner whose solve raises half way."""
    progress(0.5, "half way")
    raise RuntimeError("solver exploded")


def submit_crashing_solve(client: TestClient) -> None:
    """Submit, on an app built with ``planner=crashing_planner``, a scenario: it must end failed with no plan."""
    s = submit(client, CITY, budget=2).json()
    assert s["status"] == "failed" and "solver exploded" in s["error"]
    assert_problem(client.get(f"/scenarios/{s['id']}/export", headers=CITY), 409)


@contextlib.contextmanager
def loopback(app: Any, settings: Settings) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1 (the options ``geoplan serve`` uses) in a thread; yield its URL."""
    import uvicorn

    from api.server import uvicorn_options

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                            **uvicorn_options(settings))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)


def raw_http(port: int, data: bytes, *, pause: float = 0.0, chunks: list[bytes] | None = None,
             timeout: float = 10.0) -> bytes:
    """Send ``data`` (then each of ``chunks`` after ``pause`` s) over a raw TCP socket; return all it answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        for c in chunks or []:
            time.sleep(pause)
            try:
                s.sendall(c)
            except OSError:  # the server closed the connection: what it sent is the answer
                break
        out = b""
        try:
            while True:
                got = s.recv(65536)
                if not got:
                    break
                out += got
        except (TimeoutError, socket.timeout, ConnectionResetError):
            pass
        return out


#: Schemathesis' stateful phase: scenarios of a few steps each, few enough to finish in well under a minute.
STATEFUL = hypothesis.settings(max_examples=12, stateful_step_count=4, deadline=None, derandomize=True,
                               suppress_health_check=list(hypothesis.HealthCheck))


def workflow(api_schema: Any, headers: dict[str, str], seen: set[str]) -> Any:
    """A state machine over ``api_schema``'s links, calling as ``headers`` and checking for 5xx only;
    ``seen`` collects the operations it called with a stored scenario's id. Only the scenario
    operations take part: the links start there, and other roots would use up the examples."""

    class Workflow(api_schema.include(path_regex="^/scenarios").as_state_machine()):  # type: ignore[misc]
        def after_call(self, response: Any, case: Any) -> None:
            if case.path_parameters and len(str(case.path_parameters.get("scenario_id", ""))) == 32 \
                    and response.status_code < 500:
                seen.add(f"{case.method} {case.path}")

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None,
                              **kwargs: Any) -> None:
            case.validate_response(response, checks=[schemathesis.checks.not_a_server_error])

    return Workflow




@contextlib.contextmanager
def serve_subprocess(command: list[str], data_dir: Path, tokens: dict[str, dict[str, str]],
                     what: str = "the service") -> Iterator[str]:
    """Run ``command --host 127.0.0.1 --port N`` (a real server process) with its own SQLite folder and
    tokens; yield its base URL once ``/health`` answers, stop it afterwards."""
    port = free_port()
    env = os.environ | {"GEOPLAN_DATA_DIR": str(data_dir), "GEOPLAN_TOKENS": json.dumps(tokens)}
    env.pop("DATABASE_URL", None)
    proc = subprocess.Popen([*command, "--host", "127.0.0.1", "--port", str(port)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                out = proc.stdout.read()[-3000:] if proc.stdout else ""
                raise AssertionError(f"{what} exited with {proc.returncode}: {out}")
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"{what} did not answer /health within 90 s")
            time.sleep(0.3)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
