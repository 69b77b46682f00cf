"""Shared by the API tests (SQLite in test_api.py, PostgreSQL in test_api_postgres.py):
tokens, settings, the tiny dataset file and small request helpers."""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from api.settings import Settings
from conftest import make_tiny_layers
from geoplan.datasets import Dataset

TOKENS = {
    "city": {"role": "city_planner", "name": "alice"},
    "west": {"role": "county_planner", "county_code": "C1", "name": "bob"},
    "east": {"role": "county_planner", "county_code": "C2", "name": "carol"},
    "portal": {"role": "service", "name": "portal"},
}
CITY, WEST, EAST, PORTAL = ({"Authorization": f"Bearer {t}"} for t in TOKENS)
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def dataset_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return Dataset.from_layers(make_tiny_layers(), name="tiny").save(tmp_path_factory.mktemp("ds") / "tiny.gpkg")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_settings(dataset_path: Path, db: Path | str, **kw: object) -> Settings:
    """Test settings; ``db`` is an SQLite file or a full SQLAlchemy URL."""
    url = db if isinstance(db, str) else f"sqlite:///{db}"
    base = dict(database_url=url, dataset_path=dataset_path, tokens=TOKENS, sync_budget_limit=5,
                max_body_bytes=20_000, solve_concurrency=2, solve_time_limit=60)
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
