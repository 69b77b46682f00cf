"""HTTP API: every endpoint, every role, bad input, restarts and concurrent submissions."""
from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from api_helpers import (
    CITY,
    EAST,
    PORTAL,
    WEST,
    assert_problem,
    crashing_planner,
    make_settings,
    slow_planner,
    submit,
    submit_async_concurrently,
    submit_crashing_solve,
    wait_final,
)
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings
from geoplan.datasets import Dataset


@pytest.fixture
def settings(dataset_path: Path, tmp_path: Path) -> Settings:
    return make_settings(dataset_path, tmp_path / "api.db")


@pytest.fixture
def client(settings: Settings):
    with TestClient(create_app(settings)) as c:
        yield c


# -- meta and authentication ----------------------------------------------------
def test_health_and_version_need_no_token(client: TestClient) -> None:
    h = client.get("/health").json()
    assert h["status"] == "ok" and h["database"] == "ok" and h["dataset"] == "tiny"
    v = client.get("/version").json()
    assert v["dataset"] == "tiny" and v["api"]


def test_missing_or_unknown_token_is_401_and_api_key_works(client: TestClient) -> None:
    r = client.get("/layers/towns")
    assert_problem(r, 401)
    assert r.headers["www-authenticate"] == "Bearer"
    assert_problem(client.get("/layers/towns", headers={"Authorization": "Bearer nope"}), 401)
    assert client.get("/layers/towns", headers={"X-API-Key": "portal"}).status_code == 200


def test_openapi_describes_every_route(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for p in ["/health", "/version", "/layers", "/layers/{layer}", "/layers/deputies", "/scenarios",
              "/scenarios/{scenario_id}", "/scenarios/{scenario_id}/plan", "/scenarios/{scenario_id}/summary",
              "/scenarios/{scenario_id}/map", "/scenarios/{scenario_id}/export", "/scenarios/{scenario_id}/cancel",
              "/scenarios/{scenario_id}/assignments", "/scenarios/{scenario_id}/review", "/review", "/stations",
              "/stations/{station_id}", "/stations/{station_id}/close", "/stations/{station_id}/reopen",
              "/stations/{station_id}/history", "/audit"]:
        assert p in paths, p


# -- layers -----------------------------------------------------------------------
@pytest.mark.parametrize("layer,count", [("counties", 2), ("towns", 4), ("stations", 12), ("venues", 60), ("demand", 40)])
@pytest.mark.parametrize("who", [CITY, WEST, PORTAL])
def test_layers_are_geojson_for_every_role(client: TestClient, layer: str, count: int, who: dict) -> None:
    r = client.get(f"/layers/{layer}", headers=who, params={"limit": 5000})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and fc["numberMatched"] == fc["numberReturned"] == count
    for f in fc["features"]:
        assert f["type"] == "Feature" and isinstance(f["id"], str) and f["geometry"]["type"] in ("Point", "Polygon")
        lon, lat = (f["geometry"]["coordinates"] if f["geometry"]["type"] == "Point" else f["geometry"]["coordinates"][0][0])
        assert 119 < lon < 121 and 33 < lat < 34  # RFC 7946: lon, lat


def test_layer_list_shows_deputies_only_to_planners(client: TestClient) -> None:
    assert "deputies" in [x["name"] for x in client.get("/layers", headers=WEST).json()]
    assert "deputies" not in [x["name"] for x in client.get("/layers", headers=PORTAL).json()]


def test_layer_filters(client: TestClient) -> None:
    get = lambda layer, **p: client.get(f"/layers/{layer}", headers=CITY, params=p).json()  # noqa: E731
    assert {f["properties"]["county_code"] for f in get("towns", county="C2")["features"]} == {"C2"}
    assert {f["properties"]["town_code"] for f in get("demand", county="C1")["features"]} <= {"T1", "T2"}
    assert {f["properties"]["town_code"] for f in get("venues", town="T3")["features"]} == {"T3"}
    assert {f["properties"]["tier"] for f in get("stations", tier="home")["features"]} == {"home"}
    assert get("stations", status="closed")["numberMatched"] == 1
    assert {f["properties"]["category"] for f in get("venues", category="bank")["features"]} == {"bank"}
    west_half = get("demand", bbox="120.0,33.3,120.1,33.4")
    assert 0 < west_half["numberMatched"] < 40
    assert all(f["geometry"]["coordinates"][0] <= 120.1 for f in west_half["features"])


def test_layer_pagination(client: TestClient) -> None:
    first = client.get("/layers/venues", headers=CITY, params={"limit": 25}).json()
    assert first["numberMatched"] == 60 and first["numberReturned"] == 25
    nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
    second = client.get(nxt, headers=CITY).json()
    assert second["numberReturned"] == 25 and second["features"][0]["id"] == "S025"
    last = client.get("/layers/venues", headers=CITY, params={"limit": 25, "offset": 50}).json()
    assert last["numberReturned"] == 10 and "next" not in [x["rel"] for x in last["links"]]


@pytest.mark.parametrize("params,field", [
    ({"limit": 5001}, "query.limit"), ({"limit": 0}, "query.limit"), ({"offset": -1}, "query.offset"),
    ({"county": "XX"}, "query.county"), ({"town": "nope"}, "query.town"), ({"tier": "castle"}, "query.tier"),
    ({"bbox": "1,2,3"}, "query.bbox"), ({"bbox": "a,b,c,d"}, "query.bbox"), ({"bbox": "10,0,5,1"}, "query.bbox"),
    ({"category": "bank"}, "query.category"),  # not a filter of towns
])
def test_bad_layer_queries_are_422_naming_the_field(client: TestClient, params: dict, field: str) -> None:
    assert_problem(client.get("/layers/towns", headers=CITY, params=params), 422, field)


def test_unknown_layer_is_422(client: TestClient) -> None:
    assert_problem(client.get("/layers/castles", headers=CITY), 422, "path.layer")


def test_deputies_for_planners_only(client: TestClient) -> None:
    r = client.get("/layers/deputies", headers=WEST, params={"county": "C1", "level": "town"})
    assert r.status_code == 200 and r.json()["numberMatched"] > 0
    assert all(d["level"] == "town" for d in r.json()["items"])
    assert client.get("/layers/deputies", headers=CITY).json()["numberMatched"] == 100
    assert_problem(client.get("/layers/deputies", headers=PORTAL), 403)


# -- scenarios -----------------------------------------------------------------------
def test_small_scenario_answers_in_the_request_with_plan_map_export(client: TestClient) -> None:
    r = submit(client, CITY, budget=2)
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["status"] == "done" and s["progress"] == 1.0 and s["owner"] == "alice"
    assert r.headers["location"].endswith(f"/scenarios/{s['id']}")
    sid = s["id"]
    for who in (CITY, WEST, PORTAL):
        plan = client.get(f"/scenarios/{sid}/plan", headers=who)
        assert plan.status_code == 200 and plan.headers["content-type"].startswith("application/geo+json")
    fc = plan.json()
    assert fc["type"] == "FeatureCollection" and fc["metrics"]["n_open"] == 2
    assert {f["properties"]["decision"] for f in fc["features"]} <= {"keep", "close", "open"}
    opened = client.get(f"/scenarios/{sid}/plan", headers=CITY, params={"decision": "open"}).json()
    assert opened["numberMatched"] == 2
    summ = client.get(f"/scenarios/{sid}/summary", headers=PORTAL).json()
    assert summ["metrics"]["population"] > 0 and len(summ["towns"]) == 4 and len(summ["counties"]) == 2
    html = client.get(f"/scenarios/{sid}/map", headers=PORTAL)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html") and "<html" in html.text
    gpkg = client.get(f"/scenarios/{sid}/export", headers=PORTAL)
    assert gpkg.headers["content-type"] == "application/geopackage+sqlite3"
    assert gpkg.content.startswith(b"SQLite format 3")
    listing = client.get("/scenarios", headers=PORTAL).json()
    assert [x["id"] for x in listing["items"]] == [sid]


def test_large_scenario_runs_as_a_job(client: TestClient) -> None:
    r = submit(client, CITY, budget=8)
    assert r.status_code == 202 and r.json()["status"] in ("queued", "running", "done")
    final = wait_final(client, r.json()["id"])
    assert final["status"] == "done" and final["progress"] == 1.0
    assert client.get(f"/scenarios/{final['id']}/plan", headers=CITY).json()["metrics"]["n_open"] == 8
    assert submit(client, CITY, budget=1, mode="async").status_code == 202


def test_cancel_a_running_job(settings: Settings) -> None:
    started = threading.Event()
    with TestClient(create_app(settings, planner=slow_planner(started))) as client:
        _cancel_running(client, started)


def _cancel_running(client: TestClient, started: threading.Event) -> None:
    sid = submit(client, CITY, budget=9).json()["id"]
    assert started.wait(10)
    time.sleep(0.3)
    running = client.get(f"/scenarios/{sid}", headers=CITY).json()
    assert running["status"] == "running" and 0 < running["progress"] < 1
    assert client.post(f"/scenarios/{sid}/cancel", headers=CITY).status_code == 202
    assert wait_final(client, sid)["status"] == "cancelled"
    assert_problem(client.get(f"/scenarios/{sid}/plan", headers=CITY), 409)
    assert_problem(client.post(f"/scenarios/{sid}/cancel", headers=CITY), 409)


def test_solve_time_limit_fails_the_scenario(dataset_path: Path, tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(dataset_path, tmp_path / "t.db", solve_time_limit=0.3),
                               planner=slow_planner(threading.Event()))) as c:
        final = wait_final(c, submit(c, CITY, budget=9).json()["id"])
        assert final["status"] == "failed" and "time limit" in final["error"]


def test_crashing_solve_marks_failed_never_half_written(settings: Settings) -> None:
    with TestClient(create_app(settings, planner=crashing_planner)) as client:
        submit_crashing_solve(client)
    db = sqlite3.connect(settings.db_url.removeprefix("sqlite:///"))
    assert db.execute("select count(*) from plans").fetchone()[0] == 0


def test_delete_scenario(client: TestClient) -> None:
    sid = submit(client, CITY, budget=2).json()["id"]
    assert_problem(client.delete(f"/scenarios/{sid}", headers=PORTAL), 403)
    assert_problem(client.delete(f"/scenarios/{sid}", headers=WEST), 403)  # city-wide scenario
    assert client.delete(f"/scenarios/{sid}", headers=CITY).status_code == 204
    assert_problem(client.get(f"/scenarios/{sid}", headers=CITY), 404, "path.scenario_id")
    assert_problem(client.delete(f"/scenarios/{sid}", headers=CITY), 404)


def test_county_planner_runs_scenarios_only_for_its_county(client: TestClient) -> None:
    own = submit(client, WEST, budget=1, county="C1")
    assert own.status_code == 201 and own.json()["status"] == "done"
    summ = client.get(f"/scenarios/{own.json()['id']}/summary", headers=WEST).json()
    assert [c["code"] for c in summ["counties"]] == ["C1"]
    assert_problem(submit(client, WEST, budget=1, county="C2"), 403)
    assert_problem(submit(client, WEST, budget=1), 403)  # city-wide
    assert_problem(submit(client, PORTAL, budget=1), 403)
    assert_problem(client.delete(f"/scenarios/{own.json()['id']}", headers=EAST), 403)
    assert client.get(f"/scenarios/{own.json()['id']}/plan", headers=EAST).status_code == 200  # plans are public
    assert client.get("/scenarios", headers=CITY, params={"county": "C1"}).json()["numberMatched"] == 1
    assert client.delete(f"/scenarios/{own.json()['id']}", headers=WEST).status_code == 204


@pytest.mark.parametrize("body,field", [
    ({"scenario": {"budget": -1}}, "body.scenario.budget"),
    ({"scenario": {"budget": 10**9}}, "body.scenario.budget"),
    ({"scenario": {"radius_m": {"home": 1, "station": 1, "point": 0}}}, "body.scenario.radius_m"),
    ({"scenario": {"radius_m": {"home": 1, "station": 1, "point": 60000}}}, "body.scenario.radius_m"),
    ({"scenario": {"category_weights": {"casino": 2}}}, "body.scenario.category_weights"),
    ({"scenario": {"force_closed": ["ST00", "NOPE"]}}, "body.scenario.force_closed"),
    ({"scenario": {"exclude_towns": ["T9"]}}, "body.scenario.exclude_towns"),
    ({"scenario": {"exclude_sites": ["S999"]}}, "body.scenario.exclude_sites"),
    ({"scenario": {"budgte": 3}}, "body.scenario.budgte"),
    ({"county_code": "C9", "scenario": {}}, "body.county_code"),
    ({}, "body.scenario"),
])
def test_bad_scenarios_are_422_naming_the_field(client: TestClient, body: dict, field: str) -> None:
    assert_problem(client.post("/scenarios", headers=CITY, json=body), 422, field)


def test_malformed_json_wrong_type_and_oversized_bodies(client: TestClient) -> None:
    r = client.post("/scenarios", headers=CITY | {"content-type": "application/json"}, content=b'{"scenario": {')
    assert_problem(r, 400)
    r = client.post("/scenarios", headers=CITY | {"content-type": "text/plain"}, content=b"budget=3")
    assert_problem(r, 415, "header.content-type")
    big = {"scenario": {"name": "x", "exclude_sites": ["S001"] * 5000}}
    assert_problem(client.post("/scenarios", headers=CITY, json=big), 413)
    r = client.post("/scenarios", headers=CITY | {"content-type": "application/json"},
                    content=b'{"scenario": {"footfall_weight": NaN}}')
    assert_problem(r, 422)
    assert_problem(client.post("/scenarios", headers=CITY, json=[1, 2]), 422)


def test_restart_keeps_plans_and_fails_interrupted_solves(settings: Settings) -> None:
    with TestClient(create_app(settings)) as c:
        sid = submit(c, CITY, budget=2).json()["id"]
        before = c.get(f"/scenarios/{sid}/plan", headers=CITY).json()
    db = sqlite3.connect(settings.db_url.removeprefix("sqlite:///"))
    db.execute("insert into scenarios (id, name, owner, status, progress, message, cancel_requested, scenario_json,"
               " created_at, updated_at) values ('crashed', 'x', 'alice', 'running', 0.4, '', 0, '{}', "
               "'2024-01-01 00:00:00', '2024-01-01 00:00:00')")
    db.commit()
    db.close()
    with TestClient(create_app(settings)) as c:
        assert c.get(f"/scenarios/{sid}/plan", headers=CITY).json() == before
        crashed = c.get("/scenarios/crashed", headers=CITY).json()
        assert crashed["status"] == "failed" and "interrupted" in crashed["error"]


def test_concurrent_submissions_are_all_stored(settings: Settings) -> None:
    app = create_app(settings)

    ids = submit_async_concurrently(app, 12)
    with TestClient(app) as c:
        finals = [wait_final(c, sid) for sid in ids]
        assert len(ids) == 12 and all(f["status"] == "done" for f in finals)
        assert c.get("/scenarios", headers=CITY).json()["numberMatched"] == 12


# -- assignments and review ---------------------------------------------------------
def test_assignments_show_each_role_only_the_deputies_it_may_see(client: TestClient) -> None:
    sid = submit(client, CITY, budget=2).json()["id"]
    full = client.get(f"/scenarios/{sid}/assignments", headers=CITY)
    assert full.status_code == 200, full.text
    body = full.json()
    assert body["redacted"] is False and body["tables"]["conveners"] and body["rules"]
    assert full.headers["cache-control"] == "no-store"
    assert any(str(r.get("deputy_id", "")).startswith("P") for r in body["tables"]["conveners"])
    deputies = Dataset.load(client.app.state.ctx.settings.dataset_path).deputies
    svc = client.get(f"/scenarios/{sid}/assignments", headers=PORTAL)
    assert svc.status_code == 200 and svc.json()["redacted"] is True
    text = svc.text
    assert not any(f'"{d}"' in text or f"{d}," in text for d in deputies["id"])
    assert "deputy_towns" not in svc.json()["tables"]
    assert svc.json()["tables"]["group_stations"]  # the rest is still there
    # a county planner sees its own county's deputies in a city-wide plan, no other county's
    west = client.get(f"/scenarios/{sid}/assignments", headers=WEST).json()
    assert west["redacted"] is True
    groups = Dataset.load(client.app.state.ctx.settings.dataset_path).groups
    c1 = set(deputies.loc[deputies["group_id"].isin(groups.loc[groups["county_code"] == "C1", "id"]), "id"])
    shown = {r["deputy_id"] for t in west["tables"].values() for r in t if r.get("deputy_id")}
    assert shown and shown <= c1
    assert {r["deputy_id"] for r in west["tables"]["deputy_towns"]} <= c1


def test_review_of_the_network_and_of_a_scenario(client: TestClient) -> None:
    r = client.get("/review", headers=PORTAL)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection" and fc["numberMatched"] >= 11
    assert {"id", "reach_people", "unique_people", "redundant"} <= set(fc["features"][0]["properties"])
    c2 = client.get("/review", headers=PORTAL, params={"county": "C2"}).json()
    assert 0 < c2["numberMatched"] < fc["numberMatched"]
    assert_problem(client.get("/review", headers=PORTAL, params={"county": "ZZ"}), 422, "query.county")
    sid = submit(client, WEST, budget=1, county="C1").json()["id"]
    mine = client.get(f"/scenarios/{sid}/review", headers=WEST).json()
    assert mine["numberMatched"] > 0
    assert {f["properties"]["town_code"] for f in mine["features"]} <= {"T1", "T2"}
    assert_problem(client.get("/scenarios/nope/review", headers=WEST), 404)


# -- station edits and audit ---------------------------------------------------------------
def test_station_edits_with_audit_trail(client: TestClient) -> None:
    # ST02 is in T3 (county C2), ST00 in T1 (C1)
    r = client.post("/stations/ST00/close", headers=WEST, json={"reason": "duplicate of ST04"})
    assert r.status_code == 200 and r.json()["actor"] == "bob" and r.json()["action"] == "close"
    closed = client.get("/layers/stations", headers=PORTAL, params={"status": "closed"}).json()
    assert "ST00" in [f["id"] for f in closed["features"]]
    assert_problem(client.post("/stations/ST00/close", headers=CITY), 409)
    assert_problem(client.post("/stations/ST02/close", headers=WEST), 403)
    assert_problem(client.post("/stations/ST00/reopen", headers=PORTAL), 403)
    assert client.post("/stations/ST00/reopen", headers=EAST).status_code == 403
    assert client.post("/stations/ST00/reopen", headers=CITY).json()["action"] == "reopen"
    assert_problem(client.post("/stations/ST00/reopen", headers=CITY), 409)
    assert_problem(client.post("/stations/NOPE/close", headers=CITY), 404, "path.station_id")

    p = client.post("/stations", headers=EAST, json={"name": "Market point", "tier": "point", "lon": 120.17,
                                                     "lat": 33.35, "sector": "commerce", "reason": "busy market"})
    assert p.status_code == 201, p.text
    new_id = p.json()["station_id"]
    assert p.json()["town_code"] == "T4" and p.json()["county_code"] == "C2"
    assert_problem(client.post("/stations", headers=WEST, json={"name": "x", "lon": 120.17, "lat": 33.35}), 403)
    assert_problem(client.post("/stations", headers=CITY, json={"name": "x", "lon": 100.0, "lat": 33.35}), 422, "body.lon")
    assert_problem(client.post("/stations", headers=CITY, json={"name": "x", "lon": 500, "lat": 33.35}), 422, "body.lon")
    assert_problem(client.post("/stations", headers=CITY, json={"name": "x", "lon": 120.17, "lat": 33.35,
                                                               "site_id": "S999"}), 422, "body.site_id")
    assert_problem(client.post("/stations", headers=PORTAL, json={"name": "x", "lon": 120.17, "lat": 33.35}), 403)
    layer = client.get("/layers/stations", headers=PORTAL, params={"town": "T4"}).json()
    assert any(f["id"] == new_id and f["properties"]["status"] == "proposed" for f in layer["features"])
    st = client.get(f"/stations/{new_id}", headers=CITY).json()
    assert st["county_code"] == "C2" and [h["action"] for h in st["history"]] == ["propose"]
    assert client.post(f"/stations/{new_id}/reopen", headers=EAST).status_code == 200  # confirm the proposal
    hist = client.get("/stations/ST00/history", headers=WEST).json()
    assert [(h["action"], h["actor"]) for h in hist] == [("close", "bob"), ("reopen", "alice")]
    assert_problem(client.get("/stations/ST00/history", headers=PORTAL), 403)
    # A scenario submitted now plans on the edited network.
    s = submit(client, CITY, budget=1, force_open=[new_id])
    assert s.status_code == 201 and s.json()["status"] == "done", s.text

    log = client.get("/audit", headers=CITY).json()
    actions = [(e["actor"], e["action"], e["target_id"]) for e in log["items"]]
    assert ("bob", "station.close", "ST00") in actions and ("carol", "station.propose", new_id) in actions
    assert ("alice", "scenario.submit", s.json()["id"]) in actions
    assert all(e["at"] for e in log["items"])
    only = client.get("/audit", headers=WEST, params={"target_id": "ST00"}).json()
    assert only["numberMatched"] == 2
    assert_problem(client.get("/audit", headers=PORTAL), 403)
    assert_problem(client.get("/audit"), 401)


def test_migrations_create_the_schema(settings: Settings) -> None:
    create_app(settings)
    db = sqlite3.connect(settings.db_url.removeprefix("sqlite:///"))
    tables = {r[0] for r in db.execute("select name from sqlite_master where type='table'")}
    assert {"scenarios", "plans", "station_edits", "audit_log", "alembic_version"} <= tables
    assert db.execute("pragma journal_mode").fetchone()[0] == "wal"
