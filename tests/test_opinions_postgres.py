"""The opinion and standards tables on PostgreSQL: migration 0003, dates, JSON rules, composite keys.

Uses the throwaway server of ``tests/test_api_postgres.py`` (same skip rule: no server binaries and
no ``GEOPLAN_TEST_POSTGRES_URL`` means skip, with the reason)."""
from __future__ import annotations

import base64
from pathlib import Path
from typing import Iterator

import pytest
from api_helpers import CITY, PORTAL, WEST, make_settings
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, inspect
from test_api_postgres import pg_admin_url, pg_url  # noqa: F401  (fixtures: a throwaway PostgreSQL database)

from api.main import create_app


@pytest.fixture
def client(dataset_path: Path, pg_url: str) -> Iterator[TestClient]:  # noqa: F811
    with TestClient(create_app(make_settings(dataset_path, pg_url, max_body_bytes=2_000_000))) as c:
        yield c


def test_opinions_and_standards_round_trip_on_postgres(client: TestClient, pg_url: str) -> None:  # noqa: F811
    cols = {c["name"]: str(c["type"]) for c in inspect(create_engine(pg_url)).get_columns("opinions")}
    assert cols["received_on"] == "DATE" and cols["deadline"] == "DATE"
    o = client.post("/opinions", headers=PORTAL, json={"text": "村口路灯坏了好几盏，晚上出行不安全，希望镇上协调。",
                                                       "station_id": "ST00", "received_on": "2026-09-28",
                                                       "contact": "13900000000"}).json()
    r = client.post(f"/opinions/{o['id']}/confirm", headers=WEST,
                    json={"category": "transport", "level": "town", "on": "2026-09-28"}).json()
    assert r["deadline"] == "2026-10-30" and r["status"] == "assigned"
    client.post(f"/opinions/{o['id']}/status", headers=WEST, json={"status": "answered", "answer": "已修复",
                                                                   "on": "2026-10-09"})
    assert client.get(f"/opinions/{o['id']}", headers=PORTAL).json()["answered_on"] == "2026-10-09"
    csv = "received_on,town_code,channel,text,category,level\n2026-04-01,T2,hotline,养老院床位不够,elderly,county\n"
    up = client.post("/opinions/import", headers=CITY,
                     json={"filename": "a.csv", "content_base64": base64.b64encode(csv.encode()).decode()})
    assert up.status_code == 201, up.text
    rules = client.get("/opinions/routing-rules", headers=CITY).json()["rules"]
    assert client.put("/opinions/routing-rules", headers=CITY, json={"rules": rules}).status_code == 200
    rep = client.get("/opinions/reports/2026Q3", headers=CITY).json()
    assert rep["received"] == 1 and rep["median_days_to_answer"] is None  # answered in October
    q4 = client.get("/opinions/reports/2026Q4", headers=CITY, params={"as_of": "2026-11-30"}).json()
    assert q4["received"] == 0 and q4["median_days_to_answer"] == 11
    for item in ("venue", "sign"):
        assert client.put(f"/standards/stations/ST01/items/{item}", headers=WEST,
                          json={"ok": True, "checked_on": "2026-06-01"}).status_code == 200
    client.put("/standards/stations/ST01/items/venue", headers=WEST, json={"ok": False, "checked_on": "2026-07-01"})
    st = client.get("/standards/stations/ST01", headers=WEST, params={"year": 2026}).json()
    assert [i["ok"] for i in st["items"][:2]] == [False, True]
    assert "13900000000" not in client.get("/audit", headers=CITY, params={"limit": 5000}).text
