"""The service attacked over loopback, bounded: quotas, single-flight reads, the auth matrix of every
route and role, deep nesting, chunked and slow bodies, strict JSON types (issue 11).

Every request goes to a real uvicorn server on 127.0.0.1 (the options ``geoplan serve`` uses), and no
answer may be a 5xx. Each test is bounded (a few seconds on the tiny dataset).
"""
from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from api_helpers import (
    CITY,
    EAST,
    PORTAL,
    WEST,
    assert_problem,
    loopback,
    make_settings,
    raw_http,
)

from api.main import create_app
from geoplan.exceptions import InputError
from geoplan.scenario import plan as real_plan

ANON: dict[str, str] = {}
ROLES = {"anon": ANON, "service": PORTAL, "west": WEST, "east": EAST, "city": CITY}


def gated_planner(gate: threading.Event, solve: bool = True):
    """A planner that waits for ``gate`` (holding its solve slot, not the GIL), then solves for real
    (or, without ``solve``, fails at once: the test only needs the solve to end)."""
    def plan(dataset, scenario, progress=None):  # noqa: ANN001
        progress(0.0, "waiting")
        while not gate.wait(0.05):
            progress(0.0, "waiting")
        if not solve:
            raise RuntimeError("released")
        return real_plan(dataset, scenario, progress=progress)
    return plan


def body(budget: int = 1, county: str | None = None, **kw: Any) -> dict[str, Any]:
    return {"county_code": county, "scenario": {"name": f"b{budget}", "budget": budget, **kw}}


@pytest.fixture
def server(dataset_path: Path, tmp_path: Path) -> Iterator[tuple[str, Any]]:
    settings = make_settings(dataset_path, tmp_path / "abuse.db", body_timeout=1.0, header_timeout=1.0)
    app = create_app(settings)
    with loopback(app, settings) as base:
        yield base, app


# -- quota and queue ------------------------------------------------------------------------------
def test_per_user_quota_and_bounded_queue(dataset_path: Path, tmp_path: Path) -> None:
    gate = threading.Event()
    settings = make_settings(dataset_path, tmp_path / "q.db", max_jobs_per_user=3, max_queue=5)
    app = create_app(settings, planner=gated_planner(gate))
    with loopback(app, settings) as base, httpx.Client(base_url=base, timeout=30) as c:
        try:
            codes = [c.post("/scenarios", headers=WEST, params={"mode": "async"}, json=body(1, "C1", seed=i)).status_code
                     for i in range(6)]
            assert codes == [202, 202, 202, 429, 429, 429]
            r = c.post("/scenarios", headers=WEST, params={"mode": "async"}, json=body(1, "C1"))
            assert_problem(r, 429)
            assert int(r.headers["retry-after"]) >= 1
            # the quota is per user: another county planner still gets in, until the queue is full
            assert c.post("/scenarios", headers=EAST, params={"mode": "async"}, json=body(1, "C2")).status_code == 202
            assert c.post("/scenarios", headers=EAST, params={"mode": "async"}, json=body(1, "C2")).status_code == 202
            full = c.post("/scenarios", headers=CITY, params={"mode": "async"}, json=body(1))
            assert_problem(full, 503)
            assert int(full.headers["retry-after"]) >= 1
            # refused submissions stored nothing
            assert c.get("/scenarios", headers=CITY).json()["numberMatched"] == 5
            # cancelling a queued job frees its place at once
            queued = [s for s in c.get("/scenarios", headers=CITY).json()["items"] if s["owner"] == "bob"]
            assert c.post(f"/scenarios/{queued[0]['id']}/cancel", headers=WEST).status_code == 202
            deadline = time.monotonic() + 10
            while app.state.ctx.jobs.active("bob") > 2:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert c.post("/scenarios", headers=WEST, params={"mode": "async"}, json=body(1, "C1")).status_code == 202
        finally:
            gate.set()


def test_waiting_sync_solves_hold_no_server_thread_and_health_stays_fast(dataset_path: Path, tmp_path: Path) -> None:
    # 45 requests waiting for in-request solves would hold all 40 of the server's worker threads if
    # they waited on threads; they wait on the event loop, so /health and reads still answer.
    gate = threading.Event()
    settings = make_settings(dataset_path, tmp_path / "s.db", max_jobs_per_user=100, max_queue=100,
                             solve_time_limit=60)
    app = create_app(settings, planner=gated_planner(gate, solve=False))

    async def attack(base: str) -> tuple[list[int], list[float], int]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(base_url=base, timeout=60, limits=limits) as ac:
            sync = [asyncio.create_task(ac.post("/scenarios", headers=CITY, json=body(1, seed=i))) for i in range(45)]
            deadline = time.monotonic() + 20
            while app.state.ctx.jobs.active() < 45:  # every request is in and waiting
                assert time.monotonic() < deadline, app.state.ctx.jobs.active()
                await asyncio.sleep(0.05)
            lat = []
            for _ in range(5):
                t = time.perf_counter()
                h = await ac.get("/health")
                lat.append(time.perf_counter() - t)
                assert h.status_code == 200
            layer = await ac.get("/layers/towns", headers=PORTAL)
            gate.set()
            done = await asyncio.gather(*sync)
            return [r.status_code for r in done], lat, layer.status_code

    with loopback(app, settings) as base:
        try:
            codes, lat, layer = asyncio.run(attack(base))
        finally:
            gate.set()
    assert layer == 200
    assert max(lat) < 1.0, lat
    assert sorted(set(codes)) == [201], codes


# -- expensive reads: once per plan -----------------------------------------------------------------
def test_concurrent_first_reads_of_assignments_and_maps_compute_once(server: tuple[str, Any],
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    base, app = server
    calls = {"assign": 0, "plan_map": 0}
    renderer = app.state.ctx.renderer  # the worker processes that compute them

    def slow(name: str, fn: Any) -> Any:
        def wrapped(*a: Any, **k: Any) -> Any:
            calls[name] += 1
            time.sleep(0.5)  # long enough for every request below to arrive while it runs
            return fn(*a, **k)
        return wrapped

    monkeypatch.setattr(renderer, "assignment", slow("assign", renderer.assignment))
    monkeypatch.setattr(renderer, "map_page", slow("plan_map", renderer.map_page))
    with httpx.Client(base_url=base, timeout=60) as c:
        sid = c.post("/scenarios", headers=CITY, json=body(2)).json()["id"]

    async def burst(path: str, who: list[dict[str, str]]) -> list[httpx.Response]:
        async with httpx.AsyncClient(base_url=base, timeout=60) as ac:
            return await asyncio.gather(*[ac.get(path, headers=h) for h in who])

    rs = asyncio.run(burst(f"/scenarios/{sid}/assignments", [CITY, WEST, EAST, PORTAL, CITY, PORTAL]))
    assert [r.status_code for r in rs] == [200] * 6 and calls["assign"] == 1
    rs = asyncio.run(burst(f"/scenarios/{sid}/map", [PORTAL] * 8))
    assert [r.status_code for r in rs] == [200] * 8 and calls["plan_map"] == 1
    assert len({r.text for r in rs}) == 1
    with httpx.Client(base_url=base, timeout=60) as c:  # later reads: from the store / the cache
        assert c.get(f"/scenarios/{sid}/assignments", headers=CITY).status_code == 200
        assert c.get(f"/scenarios/{sid}/map", headers=PORTAL).status_code == 200
    assert calls == {"assign": 1, "plan_map": 1}
    assert len(app.state.ctx.reads.memo) <= app.state.ctx.settings.cache_entries


def test_rate_limit_per_token_and_per_client(dataset_path: Path, tmp_path: Path) -> None:
    settings = make_settings(dataset_path, tmp_path / "r.db", rate_limit_per_minute=60, rate_limit_burst=5)
    app = create_app(settings)
    with loopback(app, settings) as base, httpx.Client(base_url=base, timeout=30) as c:
        codes = [c.get("/layers", headers=PORTAL).status_code for _ in range(8)]
        assert codes[:5] == [200] * 5 and codes[-1] == 429
        r = c.get("/layers", headers=PORTAL)
        assert_problem(r, 429)
        assert 1 <= int(r.headers["retry-after"]) <= 2
        assert c.get("/layers", headers=CITY).status_code == 200  # another token has its own budget
        assert c.get("/health").status_code == 200  # liveness is never rate-limited
        bad = [c.get("/layers", headers={"Authorization": f"Bearer guess{i}"}).status_code for i in range(8)]
        assert bad[:5] == [401] * 5 and bad[-1] == 429  # guessing tokens is throttled per client


# -- the auth matrix ------------------------------------------------------------------------------
#: (method, path template) → expected status per role; ids are filled in from the fixture below.
MATRIX: dict[tuple[str, str], dict[str, int]] = {
    ("GET", "/layers"): {"anon": 401, "service": 200, "west": 200, "east": 200, "city": 200},
    ("GET", "/layers/deputies"): {"anon": 401, "service": 403, "west": 200, "east": 200, "city": 200},
    ("GET", "/layers/{layer}"): {"anon": 401, "service": 200, "west": 200, "east": 200, "city": 200},
    ("POST", "/scenarios"): {"anon": 401, "service": 403, "west": 201, "east": 403, "city": 201},
    ("GET", "/scenarios"): {"anon": 401, "service": 200, "west": 200, "east": 200, "city": 200},
    ("GET", "/scenarios/{scenario_id}"): {"anon": 401, "service": 200, "west": 200, "east": 200, "city": 200},
    ("POST", "/scenarios/{scenario_id}/cancel"): {"anon": 401, "service": 403, "west": 409, "east": 403, "city": 409},
    ("GET", "/scenarios/{scenario_id}/plan"): {"anon": 401, "service": 200, "west": 200, "east": 200, "city": 200},
    ("GET", "/scenarios/{scenario_id}/summary"): {"anon": 401, "service": 200, "west": 200, "east": 200, "city": 200},
    ("GET", "/scenarios/{scenario_id}/map"): {"anon": 401, "service": 200, "west": 200, "east": 200, "city": 200},
    ("GET", "/scenarios/{scenario_id}/export"): {"anon": 401, "service": 200, "west": 200, "east": 200, "city": 200},
    ("GET", "/scenarios/{scenario_id}/assignments"): {"anon": 401, "service": 200, "west": 200, "east": 200,
                                                      "city": 200},
    ("GET", "/scenarios/{scenario_id}/review"): {"anon": 401, "service": 200, "west": 200, "east": 200, "city": 200},
    ("GET", "/review"): {"anon": 401, "service": 200, "west": 200, "east": 200, "city": 200},
    ("POST", "/stations"): {"anon": 401, "service": 403, "west": 201, "east": 403, "city": 201},
    ("GET", "/stations/{station_id}"): {"anon": 401, "service": 403, "west": 200, "east": 403, "city": 200},
    ("GET", "/stations/{station_id}/history"): {"anon": 401, "service": 403, "west": 200, "east": 403, "city": 200},
    ("POST", "/stations/{station_id}/close"): {"anon": 401, "service": 403, "west": 200, "east": 403, "city": 409},
    ("POST", "/stations/{station_id}/reopen"): {"anon": 401, "service": 403, "west": 200, "east": 403, "city": 409},
    ("GET", "/audit"): {"anon": 401, "service": 403, "west": 200, "east": 200, "city": 200},
    # operations (tests/test_operations_api.py covers /reception and /topics)
    ("GET", "/stations/{station_id}/reception"): {"anon": 401, "service": 200, "west": 200, "east": 200, "city": 200},
    ("GET", "/stations/{station_id}/poster.pdf"): {"anon": 401, "service": 200, "west": 200, "east": 200,
                                                   "city": 200},
    ("DELETE", "/scenarios/{scenario_id}"): {"anon": 401, "service": 403, "west": 204, "east": 403, "city": 404},
}
PUBLIC = {("GET", "/health"), ("GET", "/version")}
#: The routers this matrix covers (other routers bring their own tests).
COVERED = ("/layers", "/scenarios", "/review", "/stations", "/audit", "/health", "/version")


def test_the_matrix_names_every_route(server: tuple[str, Any]) -> None:
    _, app = server
    routes = {(m.upper(), path) for path, ops in app.openapi()["paths"].items() if path.startswith(COVERED)
              for m in ops}
    assert routes == set(MATRIX) | PUBLIC


def test_auth_matrix_every_route_every_role(server: tuple[str, Any]) -> None:
    base, _ = server
    order = ["anon", "service", "east", "west", "city"]  # west's writes before city's (close → reopen)
    with httpx.Client(base_url=base, timeout=60) as c:
        sid = c.post("/scenarios", headers=WEST, json=body(1, "C1")).json()["id"]
        for (method, template), expected in MATRIX.items():
            for role in order:
                if method == "DELETE":
                    continue
                path = template.format(scenario_id=sid, station_id="ST00", layer="towns")
                kw: dict[str, Any] = {}
                if template == "/scenarios":
                    kw = {"json": body(1, "C1")} if method == "POST" else {}
                elif template == "/stations" and method == "POST":
                    kw = {"json": {"name": "p", "lon": 120.05, "lat": 33.35}}  # in T1, county C1
                elif method == "POST":
                    kw = {"json": {"reason": "matrix"}}
                r = c.request(method, path, headers=ROLES[role], **kw)
                assert r.status_code < 500, (method, path, role, r.text)
                want = expected[role]
                assert r.status_code == want, (method, template, role, r.status_code, r.text[:300])
                if r.status_code >= 400:
                    assert r.headers["content-type"].startswith("application/problem+json")
        for role in order:  # deletion last
            r = c.delete(f"/scenarios/{sid}", headers=ROLES[role])
            assert r.status_code == MATRIX[("DELETE", "/scenarios/{scenario_id}")][role], (role, r.text)
        for path in ("/health", "/version"):
            assert c.get(path).status_code == 200


# -- hostile bodies ----------------------------------------------------------------------------------
@pytest.mark.parametrize("depth", [40, 948, 100_000])
def test_deeply_nested_json_is_a_problem_not_a_500(server: tuple[str, Any], depth: int) -> None:
    base, _ = server
    nested = b'{"county_code": null, "scenario": {"name": ' + b"[" * depth + b"]" * depth + b"}}"
    with httpx.Client(base_url=base, timeout=30) as c:
        r = c.post("/scenarios", headers=CITY | {"content-type": "application/json"}, content=nested)
    assert r.status_code in (400, 413, 422), r.text[:300]
    assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("raw,field", [
    (b'{"scenario": {"budget": true}}', "body.scenario.budget"),
    (b'{"scenario": {"budget": "3"}}', "body.scenario.budget"),
    (b'{"scenario": {"footfall_weight": "0.5"}}', "body.scenario.footfall_weight"),
    (b'{"scenario": {"budget": 2, "budget": 3}}', "body"),
    (b'{"scenario": {}, "scenario": {"budget": 3}}', "body"),
    (b'{"scenario": {"footfall_weight": Infinity}}', "body"),
])
def test_strict_json_types_and_duplicate_keys(server: tuple[str, Any], raw: bytes, field: str) -> None:
    base, app = server
    with httpx.Client(base_url=base, timeout=30) as c:
        r = c.post("/scenarios", headers=CITY | {"content-type": "application/json"}, content=raw)
        assert_problem(r, 422, field)
        for bad in (b'{"name": "x", "lon": "120.1", "lat": 33.35}', b'{"name": "x", "lon": 120.1, "lat": true}',
                    b'{"name": "x", "name": "y", "lon": 120.05, "lat": 33.35}'):
            assert_problem(c.post("/stations", headers=CITY | {"content-type": "application/json"}, content=bad), 422)
        assert c.get("/scenarios", headers=CITY).json()["numberMatched"] == 0


def test_oversized_chunked_body_is_413_and_slow_requests_time_out(server: tuple[str, Any]) -> None:
    base, app = server
    port = int(base.rsplit(":", 1)[1])
    limit = app.state.ctx.settings.max_body_bytes
    head = (b"POST /scenarios HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer city\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b'{"scenario": {"name": "' + b"x" * 4000
    chunks = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] + [b"%x\r\n%s\r\n" % (4000, b"x" * 4000)] * (limit // 4000 + 2)
    out = raw_http(port, head, chunks=chunks + [b"0\r\n\r\n"])
    assert out.startswith(b"HTTP/1.1 413"), out[:200]
    assert b"application/problem+json" in out
    # a body that stops arriving: 408 after GEOPLAN_BODY_TIMEOUT (1 s here)
    slow = (b"POST /scenarios HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer city\r\n"
            b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"scen")
    t = time.monotonic()
    out = raw_http(port, slow, timeout=10)
    assert out.startswith(b"HTTP/1.1 408"), out[:200]
    assert time.monotonic() - t < 5
    # headers that never end: the connection is closed after GEOPLAN_HEADER_TIMEOUT (1 s here)
    t = time.monotonic()
    out = raw_http(port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ", pause=0.3,
                   chunks=[b"a"] * 20, timeout=10)
    assert out == b"" and time.monotonic() - t < 5


def test_405_lists_every_allowed_method(server: tuple[str, Any]) -> None:
    base, _ = server
    with httpx.Client(base_url=base, timeout=30) as c:
        r = c.put("/scenarios/abc", headers=CITY, json={})
        assert_problem(r, 405)
        assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "DELETE"}
        r = c.patch("/scenarios", headers=CITY, json={})
        assert {m.strip() for m in r.headers["allow"].split(",")} >= {"GET", "POST"}


def test_input_the_planner_rejects_leaves_no_row_in_either_mode(server: tuple[str, Any]) -> None:
    base, app = server
    with httpx.Client(base_url=base, timeout=30) as c:
        for mode in ("auto", "async"):
            r = c.post("/scenarios", headers=CITY, params={"mode": mode}, json=body(8, force_closed=["NOPE"]))
            assert_problem(r, 422, "body.scenario.force_closed")
        assert c.get("/scenarios", headers=CITY).json()["numberMatched"] == 0
        assert app.state.ctx.jobs.active() == 0


def test_a_solve_refusing_the_scenario_in_the_request_leaves_no_failed_row(dataset_path: Path, tmp_path: Path) -> None:
    def refuse(dataset, scenario, progress=None):  # noqa: ANN001
        raise InputError("scenario.budget: min_per_town needs 3 new points but budget is 1")

    settings = make_settings(dataset_path, tmp_path / "x.db")
    with loopback(create_app(settings, planner=refuse), settings) as base, httpx.Client(base_url=base) as c:
        assert_problem(c.post("/scenarios", headers=CITY, json=body(1)), 422, "body.scenario.budget")
        assert c.get("/scenarios", headers=CITY).json()["numberMatched"] == 0
        log = c.get("/audit", headers=CITY).json()["items"]
        assert [e["action"] for e in log] == ["scenario.reject", "scenario.submit"]


def test_no_5xx_from_hostile_requests(server: tuple[str, Any]) -> None:
    base, _ = server
    junk = [b"", b"null", b"[]", b"1e999999", b'"\\ud800"', b"{" * 10, b'{"scenario": []}', b"\xff\xfe",
            json.dumps({"scenario": {"exclude_sites": ["S001"] * 100}}).encode()]
    with httpx.Client(base_url=base, timeout=30) as c:
        for raw in junk:
            for path in ("/scenarios", "/stations", "/stations/ST00/close"):
                r = c.post(path, headers=CITY | {"content-type": "application/json"}, content=raw)
                assert r.status_code < 500, (path, raw[:40], r.status_code, r.text[:200])
