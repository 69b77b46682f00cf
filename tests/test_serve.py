"""`geoplan serve` as the portal meets it: a real uvicorn process on loopback, real HTTP.

The other API tests use FastAPI's in-process client; this one starts the console
script on the bundled Yancheng dataset, talks to it with httpx over TCP, stops it,
starts it again on the same database and finds the plan still there.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from api_helpers import serve_subprocess

pytestmark = pytest.mark.slow

TOKEN = "serve-test-city-planner"
PORTAL = "serve-test-portal"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@contextmanager
def serving(data_dir: Path) -> Iterator[str]:
    tokens = {TOKEN: {"role": "city_planner", "name": "test"}, PORTAL: {"role": "service", "name": "portal"}}
    with serve_subprocess([str(Path(sys.executable).with_name("geoplan")), "serve"], data_dir, tokens,
                          what="geoplan serve") as base:
        yield base


def test_serve_bundled_dataset_over_http(tmp_path: Path) -> None:
    with serving(tmp_path) as base, httpx.Client(base_url=base, timeout=120) as c:
        assert c.get("/version").status_code == 200
        assert c.get("/layers/stations").status_code == 401
        page = c.get("/layers/stations", params={"limit": 5, "tier": "home"}, headers=AUTH)
        assert page.status_code == 200
        body = page.json()
        assert body["type"] == "FeatureCollection" and body["numberReturned"] == 5
        lon, lat = body["features"][0]["geometry"]["coordinates"]
        assert 119.0 < lon < 121.5 and 32.5 < lat < 34.6  # WGS84 lon/lat, Yancheng
        assert c.get("/layers/deputies", headers={"Authorization": f"Bearer {PORTAL}"}).status_code == 403
        bad = c.post("/scenarios", headers=AUTH, json={"scenario": {"budget": -1}})
        assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
        assert "budget" in bad.text
        r = c.post("/scenarios", headers=AUTH, json={"scenario": {"name": "over http", "budget": 5}})
        assert r.status_code in (201, 202), r.text
        sid = r.json()["id"]
        deadline = time.monotonic() + 120
        while (status := c.get(f"/scenarios/{sid}", headers=AUTH).json()["status"]) not in ("done", "failed"):
            assert time.monotonic() < deadline, "scenario did not finish"
            time.sleep(0.2)
        assert status == "done"
        plan = c.get(f"/scenarios/{sid}/plan", headers=AUTH).json()
        decisions = {f["properties"]["decision"] for f in plan["features"]}
        assert "open" in decisions
        html = c.get(f"/scenarios/{sid}/map", headers=AUTH)
        assert html.status_code == 200 and "leaflet" in html.text.lower()
        export = c.get(f"/scenarios/{sid}/export", headers=AUTH)
        assert export.status_code == 200 and export.content[:16] == b"SQLite format 3\x00"
    # A restart of the service on the same database keeps the plan.
    with serving(tmp_path) as base, httpx.Client(base_url=base, timeout=60) as c:
        again = c.get(f"/scenarios/{sid}/plan", headers=AUTH)
        assert again.status_code == 200
        assert again.json()["features"] == plan["features"]


@pytest.mark.parametrize("tokens", [
    '{"my-very-secret-token-1": {"role": "county_planner", "name": "bob"}}',  # county planner without county
    '{"my-very-secret-token-1": {"role": "boss", "name": "bob"}}',
    '{"my-very-secret-token-1": "city_planner"}',
    '{"my-very-secret-token-1": {"role": "city_planner", "name": "bob"}',  # not JSON
])
def test_a_malformed_token_configuration_never_prints_the_tokens(tmp_path: Path, tokens: str) -> None:
    env = os.environ | {"GEOPLAN_DATA_DIR": str(tmp_path), "GEOPLAN_TOKENS": tokens}
    exe = Path(sys.executable).with_name("geoplan")
    r = subprocess.run([str(exe), "serve", "--port", "1"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, (r.returncode, r.stderr[-2000:])
    out = r.stdout + r.stderr
    assert "invalid configuration" in out and "Traceback" not in out
    assert "my-very-secret-token-1" not in out and "very-secret" not in out
    if "county_planner" in tokens:
        assert "county_code" in out and "bob" in out  # the problem and whose entry it is are named
