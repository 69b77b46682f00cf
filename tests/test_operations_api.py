"""The operations endpoints over HTTP: roles, row-level validation, storage across a restart, posters."""
from __future__ import annotations

import subprocess
from pathlib import Path

import icalendar
import pytest
from api_helpers import CITY, EAST, PORTAL, WEST, assert_problem, make_settings
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import Settings

TOPICS = [
    {"id": "A1", "committee_id": "K1", "title": "高标准农田管护条例（草案）", "sectors": "agriculture,fisheries",
     "deliberation_date": "2026-06-18", "weeks_before": 4},
    {"id": "A2", "committee_id": "K3", "title": "优化营商环境条例", "sectors": ["finance", "commerce"],
     "deliberation_date": "2026-05-28"},
]


@pytest.fixture
def settings(dataset_path: Path, tmp_path: Path) -> Settings:
    return make_settings(dataset_path, tmp_path / "api.db")


@pytest.fixture
def client(settings: Settings):
    with TestClient(create_app(settings)) as c:
        yield c


def scan_pdf(data: bytes, tmp: Path) -> list[str]:
    pdf = tmp / "p.pdf"
    pdf.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "150", "-png", str(pdf), str(tmp / "page")], check=True)
    codes: list[str] = []
    for png in sorted(tmp.glob("page-*.png")):
        out = subprocess.run(["zbarimg", "--quiet", "--raw", str(png)], capture_output=True, text=True).stdout
        codes += [x for x in out.splitlines() if x]
    return sorted(codes)


def test_county_planner_plans_and_reads_only_its_county(client: TestClient) -> None:
    r = client.post("/reception/rotas", headers=WEST, json={"year": 2026})
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["county_code"] == "C1" and body["metrics"]["station_days_short"] == 0 and body["unmet"] == []
    rid = body["id"]
    full = client.get(f"/reception/rotas/{rid}", headers=WEST).json()
    assert {d["county_code"] for d in full["days"]} == {"C1"} and full["duties"]
    assert all(d["deputies"] >= 2 for d in full["days"])
    assert_problem(client.get(f"/reception/rotas/{rid}", headers=EAST), 403)
    assert client.get(f"/reception/rotas/{rid}", headers=CITY).status_code == 200
    assert [x["id"] for x in client.get("/reception/rotas", headers=WEST).json()["items"]] == [rid]
    assert client.get("/reception/rotas", headers=EAST).json()["items"] == []
    assert_problem(client.post("/reception/rotas", headers=WEST, json={"year": 2026, "county_code": "C2"}), 403)
    assert_problem(client.post("/reception/rotas", headers=PORTAL, json={"year": 2026}), 403)
    assert_problem(client.get("/reception/rotas", headers=PORTAL), 403)
    assert_problem(client.post("/reception/rotas", headers=CITY, json={"year": 2026, "county_code": "C9"}), 422)


def test_bad_rows_are_named_and_nothing_is_stored(client: TestClient) -> None:
    r = client.post("/reception/rotas", headers=CITY, json={
        "year": 2027, "calendar": [{"county_code": "C1", "rule": "quarter:2:15"}, {"county_code": "C2", "rule": "often"}],
        "unavailable": [{"deputy_id": "P0001", "date": "2027-02-15"}, {"deputy_id": "P0001", "date": "2027-02-30"},
                        {"deputy_id": "NOBODY", "date": "2027-02-15"}]})
    assert_problem(r, 422)
    fields = [e["field"] for e in r.json()["errors"]]
    assert fields == ["body.calendar[1].rule"]
    r = client.post("/reception/rotas", headers=CITY, json={
        "year": 2027, "unavailable": [{"deputy_id": "P0001", "date": "2027-02-15"},
                                      {"deputy_id": "P0001", "date": "2027-02-30"},
                                      {"deputy_id": "NOBODY", "date": "2027-02-15"}]})
    assert_problem(r, 422)
    assert [e["field"] for e in r.json()["errors"]] == ["body.unavailable[1].date", "body.unavailable[2].deputy_id"]
    assert "unknown deputy 'NOBODY'" in r.json()["errors"][1]["message"]
    r = client.post("/reception/rotas", headers=CITY, json={"year": 2027, "holidays": [{"date": "2027-02-15",
                                                                                          "kind": "day off"}]})
    assert_problem(r, 422)
    assert r.json()["errors"][0]["field"] == "body.holidays[0].kind"
    assert client.get("/reception/rotas", headers=CITY).json()["items"] == []


def test_fallback_year_notes_and_public_station_calendar(client: TestClient) -> None:
    r = client.post("/reception/rotas", headers=CITY, json={
        "year": 2027, "holidays": [{"date": "2027-02-15", "kind": "holiday"}],
        "calendar": [{"county_code": "C2", "rule": "quarter:1:20", "start": "14:30", "end": "17:00"}]})
    assert r.status_code == 201, r.text
    assert any("2027: not in chinese-calendar" in n for n in r.json()["notes"])
    pub = client.get("/stations/ST00/reception", headers=PORTAL).json()
    assert pub["deputy_ids_shown"] is False and pub["rota_id"] == r.json()["id"]
    assert [d["date"] for d in pub["days"]][0] == "2027-02-16"  # 15 Feb supplied as a holiday
    assert all("deputy_ids" not in d and d["deputies_on_duty"] >= 2 for d in pub["days"])
    planner = client.get("/stations/ST00/reception", headers=WEST).json()
    assert all(len(d["deputy_ids"]) == d["deputies_on_duty"] for d in planner["days"])
    other = client.get("/stations/ST00/reception", headers=EAST).json()  # another county's planner
    assert other["deputy_ids_shown"] is False and all("deputy_ids" not in d for d in other["days"])
    assert client.get("/stations/ST00/reception", headers=PORTAL).headers["cache-control"] == "no-store"
    ics = client.get("/stations/ST00/reception", headers=PORTAL, params={"format": "ics"})
    assert ics.headers["content-type"].startswith("text/calendar")
    cal = icalendar.Calendar.from_ical(ics.content)
    starts = [e.decoded("dtstart") for e in cal.walk("VEVENT")]
    assert [s.date().isoformat() for s in starts] == [d["date"] for d in pub["days"]]
    assert all(str(s.tzinfo) == "Asia/Shanghai" and s.hour == 9 for s in starts)
    assert "P0" not in ics.text
    east = client.get("/stations/ST02/reception", headers=PORTAL).json()  # a C2 station: its own calendar
    assert {d["start"] for d in east["days"]} == {"14:30"}
    assert_problem(client.get("/stations/NOPE/reception", headers=PORTAL), 404)
    # the poster prints the stored 2027 days and says the year's holidays are not official yet
    pdf = client.get("/stations/ST00/poster.pdf", headers=PORTAL, params={"after": "2027-01-01"}).content
    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert "2027年2月16日" in text and "尚未收录" in text


def test_topics_import_plan_and_county_view(client: TestClient, tmp_path: Path) -> None:
    assert_problem(client.post("/topics", headers=WEST, json={"topics": TOPICS}), 403)
    bad = client.post("/topics", headers=CITY, json={"topics": [TOPICS[0], {**TOPICS[1], "committee_id": "K9",
                                                                             "deliberation_date": "soon"}]})
    assert_problem(bad, 422)
    assert sorted(e["field"] for e in bad.json()["errors"]) == ["body.topics[1].committee_id",
                                                                "body.topics[1].deliberation_date"]
    assert client.get("/topics", headers=CITY).json()["items"] == []  # all or nothing
    assert client.post("/topics", headers=CITY, json={"topics": TOPICS}).status_code == 201
    dup = client.post("/topics", headers=CITY, json={"topics": [TOPICS[1]]})
    assert_problem(dup, 409)
    assert dup.json()["errors"][0]["field"] == "body.topics[0].id"
    assert [t["id"] for t in client.get("/topics", headers=WEST).json()["items"]] == ["A2", "A1"]
    assert client.post("/reception/rotas", headers=CITY, json={"year": 2026}).status_code == 201
    r = client.post("/topics/plans", headers=CITY, json={"team_size": 2})
    assert r.status_code == 201, r.text
    plan = r.json()
    assert any("stored rota" in n for n in plan["notes"])
    assert {s["topic_id"] for s in plan["stations"]} == {"A1", "A2"}
    assert plan["metrics"]["visit_share"] == 1.0
    west = client.get(f"/topics/plans/{plan['id']}", headers=WEST).json()
    assert west["visits"] and {v["county_code"] for v in west["visits"]} == {"C1"}
    assert len(west["visits"]) < len(plan["visits"])
    assert_problem(client.post("/topics/plans", headers=WEST, json={}), 403)
    assert_problem(client.post("/topics/plans", headers=CITY, json={"topic_ids": ["ZZ"]}), 404)
    pdf = client.get(f"/topics/plans/{plan['id']}/briefs/A1.pdf", headers=CITY)
    assert pdf.headers["content-type"] == "application/pdf"
    (tmp_path / "b.pdf").write_bytes(pdf.content)
    text = subprocess.run(["pdftotext", str(tmp_path / "b.pdf"), "-"], capture_output=True, text=True).stdout
    assert "高标准农田管护条例（草案）" in text


def test_poster_shows_what_the_role_may_see(client: TestClient, tmp_path: Path) -> None:
    public = client.get("/stations/ST00/poster.pdf", headers=PORTAL, params={"after": "2026-01-01"})
    assert public.status_code == 200 and public.headers["content-type"] == "application/pdf"
    (tmp_path / "pub").mkdir()
    assert scan_pdf(public.content, tmp_path / "pub") == ["https://portal.example/stations/ST00"]
    full = client.get("/stations/ST00/poster.pdf", headers=CITY, params={"after": "2026-01-01"})
    (tmp_path / "full").mkdir()
    codes = scan_pdf(full.content, tmp_path / "full")
    assert "https://portal.example/stations/ST00" in codes and len(codes) > 1
    assert all(c.startswith("https://portal.example/deputies/P") for c in codes if "stations" not in c)
    assert_problem(client.get("/stations/ST11/poster.pdf", headers=CITY), 404)  # closed
    assert_problem(client.get("/stations/ST00/poster.pdf"), 401)


def test_rotas_topics_and_plans_survive_a_restart(settings: Settings) -> None:
    with TestClient(create_app(settings)) as c:
        rid = c.post("/reception/rotas", headers=EAST, json={"year": 2026}).json()["id"]
        c.post("/topics", headers=CITY, json={"topics": TOPICS[:1]})
        pid = c.post("/topics/plans", headers=CITY, json={}).json()["id"]
        before = c.get(f"/reception/rotas/{rid}", headers=EAST).json()
    with TestClient(create_app(settings)) as c:
        after = c.get(f"/reception/rotas/{rid}", headers=EAST).json()
        assert after["duties"] == before["duties"] and after["days"] == before["days"]
        assert [t["id"] for t in c.get("/topics", headers=CITY).json()["items"]] == ["A1"]
        assert c.get(f"/topics/plans/{pid}", headers=CITY).json()["visits"]
        assert c.get("/stations/ST02/reception", headers=PORTAL).json()["rota_id"] == rid
