"""Issue 11's defects, one test (or a few) each: city-level stations, least privilege for deputy data,
venues across county lines, stored data (owner-only files, retention), links without the Host header,
security headers. The abuse tests (quotas, single flight, auth matrix, hostile bodies) are in
test_api_abuse.py."""
from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest
from api_helpers import (
    CITY,
    EAST,
    PORTAL,
    TOKENS,
    WEST,
    assert_problem,
    make_settings,
    submit,
)
from fastapi.testclient import TestClient
from helpers import make_tiny_layers

from api.main import create_app
from api.retention import prune
from api.settings import Settings
from geoplan.datasets import Dataset


@pytest.fixture(scope="module")
def city_station_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny dataset with ST01 (town T2, county C1) the city's own deputy home: tier home, level city."""
    layers = make_tiny_layers()
    st = layers["stations"].copy()
    st.loc[st["id"] == "ST01", "level"] = "city"
    layers["stations"] = st
    return Dataset.from_layers(layers, name="tiny").save(tmp_path_factory.mktemp("ds") / "tiny.gpkg")


@pytest.fixture
def settings(city_station_dataset: Path, tmp_path: Path) -> Settings:
    return make_settings(city_station_dataset, tmp_path / "api.db")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as c:
        yield c


# -- 3: county planners may not edit city-level stations -------------------------------------------
def test_county_planner_cannot_edit_city_level_stations(client: TestClient) -> None:
    assert_problem(client.post("/stations/ST01/close", headers=WEST, json={"reason": "mine?"}), 403)
    assert client.post("/stations/ST01/close", headers=CITY).status_code == 200
    assert_problem(client.post("/stations/ST01/reopen", headers=WEST), 403)
    assert client.post("/stations/ST01/reopen", headers=CITY).status_code == 200
    # a second city-level home, proposed in the county's own town: neither proposed nor confirmed by it
    home = {"name": "second city home", "tier": "home", "level": "city", "lon": 120.05, "lat": 33.35}
    assert_problem(client.post("/stations", headers=WEST, json=home), 403)
    proposed = client.post("/stations", headers=CITY, json=home)
    assert proposed.status_code == 201, proposed.text
    assert proposed.json()["county_code"] == "C1"
    new = proposed.json()["station_id"]
    assert_problem(client.post(f"/stations/{new}/reopen", headers=WEST), 403)
    assert_problem(client.post(f"/stations/{new}/close", headers=WEST), 403)
    assert client.post(f"/stations/{new}/reopen", headers=CITY).status_code == 200
    # its own town-level stations stay the county planner's to edit
    assert client.post("/stations/ST00/close", headers=WEST).status_code == 200
    log = client.get("/audit", headers=CITY).json()["items"]
    assert [e["actor"] for e in log if e["target_id"] in ("ST01", new)] == ["alice"] * 4


def test_a_proposal_cannot_name_another_countys_venue(client: TestClient) -> None:
    venues = client.get("/layers/venues", headers=CITY, params={"county": "C2", "limit": 1}).json()["features"]
    other = venues[0]["id"]
    r = client.post("/stations", headers=WEST, json={"name": "x", "lon": 120.05, "lat": 33.35, "site_id": other})
    assert_problem(r, 422, "body.site_id")
    own = client.get("/layers/venues", headers=CITY, params={"county": "C1", "limit": 1}).json()["features"][0]["id"]
    r = client.post("/stations", headers=WEST, json={"name": "x", "lon": 120.05, "lat": 33.35, "site_id": own})
    assert r.status_code == 201, r.text


# -- 9: least privilege for deputy-level data --------------------------------------------------------
def test_county_planners_read_only_their_countys_deputy_level_data(client: TestClient) -> None:
    ds = Dataset.load(client.app.state.ctx.settings.dataset_path)
    c1_groups = set(ds.groups.loc[ds.groups["county_code"] == "C1", "id"])
    mine = client.get("/layers/deputies", headers=WEST, params={"limit": 5000}).json()
    assert mine["numberMatched"] == int(ds.deputies["group_id"].isin(c1_groups).sum()) > 0
    assert {d["group_id"] for d in mine["items"]} <= c1_groups
    assert_problem(client.get("/layers/deputies", headers=WEST, params={"county": "C2"}), 403, "query.county")
    assert client.get("/layers/deputies", headers=CITY).json()["numberMatched"] == len(ds.deputies)
    listed = {x["name"]: x["count"] for x in client.get("/layers", headers=WEST).json()}
    assert listed["deputies"] == mine["numberMatched"]
    # the audit log: own county's entries only
    client.post("/stations/ST00/close", headers=WEST)  # C1
    client.post("/stations/ST02/close", headers=EAST)  # C2
    submit(client, CITY, budget=1)  # city-wide
    west_log = client.get("/audit", headers=WEST).json()
    assert west_log["numberMatched"] == 1 and {e["county_code"] for e in west_log["items"]} == {"C1"}
    assert client.get("/audit", headers=CITY).json()["numberMatched"] == 3
    # edit histories are audit data too
    assert client.get("/stations/ST00/history", headers=WEST).status_code == 200
    assert_problem(client.get("/stations/ST02/history", headers=WEST), 403)
    assert_problem(client.get("/stations/ST02", headers=WEST), 403)


# -- 7: headers ----------------------------------------------------------------------------------------
def test_security_headers_and_no_store_on_deputy_data(client: TestClient) -> None:
    sid = submit(client, CITY, budget=2).json()["id"]
    for path, who in (("/health", {}), ("/layers/towns", PORTAL), (f"/scenarios/{sid}", PORTAL),
                      ("/layers/castles", PORTAL), (f"/scenarios/{sid}/map", PORTAL)):
        r = client.get(path, headers=who)
        assert r.headers["x-content-type-options"] == "nosniff", path
    html = client.get(f"/scenarios/{sid}/map", headers=PORTAL)
    csp = html.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "content-security-policy" not in client.get("/layers/towns", headers=PORTAL).headers
    for path in ("/layers/deputies", f"/scenarios/{sid}/assignments", "/audit", "/stations/ST00/history",
                 "/stations/ST00"):
        assert client.get(path, headers=CITY).headers.get("cache-control") == "no-store", path
    assert client.get("/layers/towns", headers=CITY).headers.get("cache-control") != "no-store"


def test_links_never_echo_the_host_header(settings: Settings) -> None:
    evil = {"Host": "evil.example"}
    with TestClient(create_app(settings)) as c:
        r = submit(c, CITY | evil, budget=1)
        assert r.headers["location"] == f"/scenarios/{r.json()['id']}"
        page = c.get("/layers/venues", headers=CITY | evil, params={"limit": 5}).json()
        assert "evil.example" not in json.dumps(page) and "evil.example" not in r.text
        assert c.get("/scenarios/", headers=CITY | evil).status_code == 404  # no slash redirect either
    public = settings.model_copy(update={"public_base_url": "https://geoplan.example/api/"})
    with TestClient(create_app(public)) as c:
        r = submit(c, CITY | evil, budget=1)
        assert r.headers["location"] == f"https://geoplan.example/api/scenarios/{r.json()['id']}"
        nxt = [x["href"] for x in c.get("/layers/venues", headers=CITY | evil, params={"limit": 5}).json()["links"]
               if x["rel"] == "next"]
        assert nxt == ["https://geoplan.example/api/layers/venues?limit=5&offset=5"]
    trusted = settings.model_copy(update={"trusted_hosts": ["geoplan.example"]})
    with TestClient(create_app(trusted), base_url="http://geoplan.example") as c:
        assert c.get("/health").status_code == 200
        assert c.get("/health", headers=evil).status_code == 400


# -- 6: stored data -------------------------------------------------------------------------------------
def test_sqlite_file_and_wal_are_owner_only(settings: Settings) -> None:
    old = os.umask(0o022)  # the usual umask: without care files come out world-readable
    try:
        with TestClient(create_app(settings)) as c:
            submit(c, CITY, budget=1)
            path = Path(settings.db_url.removeprefix("sqlite:///"))
            for f in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
                assert f.exists(), f
                assert stat.S_IMODE(f.stat().st_mode) == 0o600, (f, oct(f.stat().st_mode))
    finally:
        os.umask(old)


def _age(db: Path, days: int) -> None:
    then = (datetime.now(timezone.utc) - timedelta(days=days)).strftime("%Y-%m-%d %H:%M:%S")
    con = sqlite3.connect(db)
    con.execute("update scenarios set updated_at = ?, created_at = ?", (then, then))
    con.commit()
    con.close()


def test_retention_prunes_old_scenarios_but_never_a_plan_saved_by_name(settings: Settings, tmp_path: Path) -> None:
    with TestClient(create_app(settings)) as c:
        named = submit(c, CITY, budget=1).json()["id"]  # named "b1" by its submitter
        unnamed = c.post("/scenarios", headers=CITY, json={"scenario": {"budget": 1}}).json()["id"]
        assert c.get(f"/scenarios/{unnamed}", headers=CITY).json()["name"] == "scenario"
        db = Path(settings.db_url.removeprefix("sqlite:///"))
    _age(db, 200)
    with TestClient(create_app(settings.model_copy(update={"retention_days": None}))) as c:
        fresh = submit(c, CITY, budget=1).json()["id"]
    sessions = create_app(settings.model_copy(update={"retention_days": None})).state.ctx.sessions
    assert prune(sessions, 100, dry_run=True) == 1
    assert prune(sessions, 365) == 0
    env = os.environ | {"DATABASE_URL": settings.db_url, "GEOPLAN_DATASET_PATH": str(settings.dataset_path),
                        "GEOPLAN_TOKENS": json.dumps(TOKENS)}
    exe = Path(sys.executable).with_name("geoplan")
    r = subprocess.run([str(exe), "db", "prune", "--days", "100"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "deleted 1 scenario" in r.stdout
    with TestClient(create_app(settings)) as c:
        ids = {s["id"] for s in c.get("/scenarios", headers=CITY).json()["items"]}
        assert ids == {named, fresh}
        assert c.get(f"/scenarios/{named}/plan", headers=CITY).status_code == 200
        assert any(e["action"] == "scenario.prune" for e in c.get("/audit", headers=CITY).json()["items"])
    con = sqlite3.connect(db)
    assert con.execute("select count(*) from plans").fetchone()[0] == 2  # the pruned plan went with it
    con.close()
    # the start-up run of GEOPLAN_RETENTION_DAYS: named plans survive any age
    _age(db, 10_000)
    with TestClient(create_app(settings.model_copy(update={"retention_days": 1}))) as c:
        assert {s["id"] for s in c.get("/scenarios", headers=CITY).json()["items"]} == {named, fresh}
