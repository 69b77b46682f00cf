"""Opinions and standards over HTTP: portal intake, confirmation and routing, life cycle, overdue,
reports, imports, routing rules, roles — and the contact never leaving the service."""
from __future__ import annotations

import base64
import datetime as dt
import io
from pathlib import Path

import openpyxl
import pytest
from api_helpers import CITY, EAST, PORTAL, WEST, assert_problem, make_settings
from fastapi.testclient import TestClient

from api.main import create_app
from geoplan.operations.workdays import WorkdayCalendar

CONTACT = "13912345678"
SCHOOL = "村口那段路坑洼不平，下雨天积水，孩子上学不安全，希望镇上协调修一下。"


@pytest.fixture(scope="module")
def client(dataset_path: Path, tmp_path_factory: pytest.TempPathFactory):
    settings = make_settings(dataset_path, tmp_path_factory.mktemp("db") / "api.db", max_body_bytes=2_000_000)
    with TestClient(create_app(settings)) as c:
        yield c


def _submit(c: TestClient, who: dict, **kw: object) -> dict:
    body = {"text": SCHOOL, "station_id": "ST00", "received_on": "2026-09-28", "contact": CONTACT} | kw
    r = c.post("/opinions", headers=who, json={k: v for k, v in body.items() if v is not None})
    assert r.status_code == 201, r.text
    return r.json()


def _upload(name: str, data: bytes) -> dict:
    return {"filename": name, "content_base64": base64.b64encode(data).decode()}


def test_portal_submits_and_reads_only_its_own_status_never_a_contact(client: TestClient) -> None:
    mine = _submit(client, PORTAL)
    assert mine["status"] == "received" and set(mine) == {"id", "received_on", "status", "deadline", "answer",
                                                          "answered_on", "closed_on"}
    other = _submit(client, CITY, station_id=None, town_code="T3", contact=None)
    r = client.get(f"/opinions/{mine['id']}", headers=PORTAL)
    assert r.status_code == 200 and r.json()["status"] == "received" and CONTACT not in r.text
    assert "text" not in r.json() and "contact" not in r.json()
    assert_problem(client.get(f"/opinions/{other['id']}", headers=PORTAL), 404)
    listed = client.get("/opinions", headers=PORTAL).json()
    assert {i["id"] for i in listed["items"]} == {mine["id"]} and CONTACT not in str(listed)
    r = client.get(f"/opinions/{mine['id']}", headers=PORTAL, params={"include_contact": True})
    assert CONTACT not in r.text
    assert_problem(client.post(f"/opinions/{mine['id']}/confirm", headers=PORTAL,
                               json={"category": "transport", "level": "town"}), 403)


def test_planner_sees_the_suggestion_and_routing_waits_for_confirmation(client: TestClient) -> None:
    o = _submit(client, PORTAL)
    got = client.get(f"/opinions/{o['id']}", headers=WEST).json()
    assert got["suggested_category"] == "transport" and 0 < got["category_confidence"] <= 1
    assert got["category"] is None and got["level"] is None and got["track"] is None and got["deadline"] is None
    assert got["has_contact"] is True and "contact" not in got
    r = client.post(f"/opinions/{o['id']}/confirm", headers=WEST,
                    json={"category": "transport", "level": "town", "on": "2026-09-28"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "assigned" and body["track"] == "office" and body["confirmed_by"] == "bob"
    assert body["assigned_unit"] == "Alpha Street人民政府（办事处）"
    # 20 working days on China's calendar: the National Day week is skipped
    assert body["deadline"] == str(WorkdayCalendar().add_workdays(dt.date(2026, 9, 28), 20)) == "2026-10-30"
    assert_problem(client.post(f"/opinions/{o['id']}/confirm", headers=WEST,
                               json={"category": "transport", "level": "town"}), 409)
    # the portal now reads back the deadline, still no contact
    st = client.get(f"/opinions/{o['id']}", headers=PORTAL).json()
    assert st["status"] == "assigned" and st["deadline"] == "2026-10-30"


def test_county_planner_handles_only_its_county(client: TestClient) -> None:
    o = _submit(client, PORTAL, station_id=None, town_code="T3")  # county C2
    assert_problem(client.get(f"/opinions/{o['id']}", headers=WEST), 404)
    assert_problem(client.post(f"/opinions/{o['id']}/confirm", headers=WEST,
                               json={"category": "transport", "level": "town"}), 404)
    assert_problem(client.get("/opinions", headers=WEST, params={"county": "C2"}), 403)
    assert client.post(f"/opinions/{o['id']}/confirm", headers=EAST,
                       json={"category": "transport", "level": "county"}).json()["assigned_unit"] == "East人民政府"
    r = client.post("/opinions", headers=WEST, json={"text": "路灯坏了", "town_code": "T3"})
    assert_problem(r, 403)


def test_life_cycle_overdue_escalation_and_audit_trail(client: TestClient) -> None:
    o = _submit(client, PORTAL, received_on="2026-03-02")
    oid = o["id"]
    client.post(f"/opinions/{oid}/confirm", headers=CITY, json={"category": "public_safety", "level": "town",
                                                                "on": "2026-03-02"})
    got = client.get(f"/opinions/{oid}", headers=CITY).json()
    assert got["deadline"] == "2026-03-09" and got["overdue"] is True  # safety hazards: 5 working days
    overdue = client.get("/opinions", headers=CITY, params={"overdue": True}).json()
    assert oid in {i["id"] for i in overdue["items"]}
    assert_problem(client.post(f"/opinions/{oid}/status", headers=CITY, json={"status": "closed"}), 409)
    assert_problem(client.post(f"/opinions/{oid}/status", headers=CITY, json={"status": "escalated"}), 422,
                   "body.reason")
    r = client.post(f"/opinions/{oid}/status", headers=CITY,
                    json={"status": "escalated", "reason": "镇里无权审批", "on": "2026-03-05"})
    assert r.json()["status"] == "escalated" and r.json()["deadline"] is None
    assert_problem(client.post(f"/opinions/{oid}/confirm", headers=CITY,
                               json={"category": "public_safety", "level": "town"}), 422, "body.level")
    r = client.post(f"/opinions/{oid}/confirm", headers=CITY,
                    json={"category": "public_safety", "level": "county", "on": "2026-03-05"}).json()
    assert r["status"] == "assigned" and r["assigned_unit"] == "West人民政府"
    client.post(f"/opinions/{oid}/status", headers=CITY, json={"status": "in_progress", "on": "2026-03-06"})
    assert_problem(client.post(f"/opinions/{oid}/status", headers=CITY, json={"status": "answered"}), 422, "body.answer")
    client.post(f"/opinions/{oid}/status", headers=CITY,
                json={"status": "answered", "answer": "已修复", "on": "2026-03-20"})
    done = client.post(f"/opinions/{oid}/status", headers=CITY, json={"status": "closed", "on": "2026-03-25"}).json()
    assert done["status"] == "closed" and done["overdue"] is False
    assert_problem(client.post(f"/opinions/{oid}/status", headers=CITY, json={"status": "in_progress"}), 409)
    hist = client.get(f"/opinions/{oid}/history", headers=CITY).json()
    assert [h["action"] for h in hist] == ["opinion.submit", "opinion.confirm", "opinion.escalated", "opinion.confirm",
                                           "opinion.in_progress", "opinion.answered", "opinion.closed"]
    assert hist[1]["detail"]["suggested"]["category"] and hist[2]["detail"]["proposed_level"] == "county"
    st = client.get(f"/opinions/{oid}", headers=PORTAL).json()
    assert st == {"id": oid, "received_on": "2026-03-02", "status": "closed", "deadline": st["deadline"],
                  "answer": "已修复", "answered_on": "2026-03-20", "closed_on": "2026-03-25"}


def test_city_level_lands_in_the_quarterly_batch_and_report(client: TestClient) -> None:
    o = _submit(client, PORTAL, text="城际公交线路没有延伸到乡镇，跨县（区）需要市里统一协调。", received_on="2026-05-06")
    r = client.post(f"/opinions/{o['id']}/confirm", headers=CITY, json={"category": "transport", "level": "city",
                                                                        "on": "2026-05-07"}).json()
    assert r["track"] == "city_batch" and r["batch"] == "2026Q2"
    rep = client.get("/opinions/reports/2026Q2", headers=CITY, params={"as_of": "2026-12-01"}).json()
    assert o["id"] in [b["编号"] for b in rep["city_batch"]]
    assert rep["received"] >= 1 and sum(x["count"] for x in rep["by_level"]) == rep["received"]
    west = client.get("/opinions/reports/2026Q2", headers=WEST, params={"county": "C1"}).json()
    assert o["id"] in [b["编号"] for b in west["city_batch"]]
    assert_problem(client.get("/opinions/reports/2026Q2", headers=WEST), 403)  # the city report
    assert_problem(client.get("/opinions/reports/2026Q5", headers=CITY), 422)
    pdf = client.get("/opinions/reports/2026Q2", headers=CITY, params={"format": "pdf"})
    assert pdf.headers["content-type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
    html = client.get("/opinions/reports/2026Q2", headers=CITY, params={"format": "html"})
    assert "市级季度交办批次清单" in html.text and "http" not in html.text.split("<body>")[1].split("data:image")[0]
    hot = client.get("/opinions/hotspots/2026Q2", headers=CITY).json()
    assert hot["type"] == "FeatureCollection" and len(hot["features"]) == 4


def test_contact_is_never_in_lists_reports_or_the_audit_log(client: TestClient,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    o = _submit(client, PORTAL)
    long = CONTACT * 20  # too long: the 422 names the field but does not echo the value
    r = client.post("/opinions", headers=PORTAL, json={"text": "x", "town_code": "T1", "contact": long})
    assert_problem(r, 422, "body.contact")
    assert CONTACT not in r.text
    assert CONTACT not in client.get("/opinions", headers=CITY, params={"limit": 5000}).text
    for fmt in ("json", "markdown", "html"):
        assert CONTACT not in client.get("/opinions/reports/2026Q3", headers=CITY, params={"format": fmt}).text
    assert CONTACT not in client.get("/audit", headers=CITY, params={"limit": 5000}).text
    # the planner of the county may look it up, and that look-up is audited (without the contact)
    r = client.get(f"/opinions/{o['id']}", headers=WEST, params={"include_contact": True})
    assert r.json()["contact"] == CONTACT
    assert_problem(client.get(f"/opinions/{o['id']}", headers=EAST, params={"include_contact": True}), 404)
    log = client.get("/audit", headers=CITY, params={"target_id": o["id"]}).json()["items"]
    assert "opinion.contact_viewed" in [e["action"] for e in log] and CONTACT not in str(log)
    assert CONTACT not in caplog.text


def test_import_is_all_or_nothing_with_every_bad_row_named(client: TestClient) -> None:
    before = client.get("/opinions", headers=CITY).json()["numberMatched"]
    bad = ("received_on,station_id,town_code,channel,text,contact\n"
           "2026-04-01,ST00,,接待日,路灯坏了,13800000000\n"
           "2026-04-31,ST00,,接待日,路灯坏了,\n"
           "2026-04-02,NOPE,,foo,,\n").encode()
    r = client.post("/opinions/import", headers=CITY, json=_upload("april.csv", bad))
    body = assert_problem(r, 422)
    fields = {e["field"] for e in body["errors"]}
    assert {"april.csv row 3.received_on", "april.csv row 4.station_id", "april.csv row 4.channel",
            "april.csv row 4.text"} <= fields
    assert "13800000000" not in r.text
    assert client.get("/opinions", headers=CITY).json()["numberMatched"] == before
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["received_on", "town_code", "channel", "text", "category", "level"])
    ws.append(["2026-04-01", "T2", "热线", "养老院床位不够", "养老服务", "county"])
    ws.append(["2026-04-02", "T1", "deputy", "小区楼道灯不亮", "", ""])
    buf = io.BytesIO()
    wb.save(buf)
    r = client.post("/opinions/import", headers=WEST, json=_upload("april.xlsx", buf.getvalue()))
    assert r.status_code == 201, r.text
    ids = r.json()["ids"]
    first = client.get(f"/opinions/{ids[0]}", headers=WEST).json()
    assert first["category"] == "elderly" and first["confirmed_by"] == "bob" and first["status"] == "received"
    assert_problem(client.post("/opinions/import", headers=WEST, json=_upload(
        "east.csv", b"received_on,town_code,channel,text\n2026-04-01,T3,hotline,x\n")), 403)
    assert_problem(client.post("/opinions/import", headers=PORTAL, json=_upload("a.csv", b"x")), 403)


def test_routing_rules_are_a_validated_table_the_office_changes(client: TestClient) -> None:
    rules = client.get("/opinions/routing-rules", headers=CITY).json()["rules"]
    assert {r["level"] for r in rules} == {"town", "county", "city", "policy"}
    assert_problem(client.put("/opinions/routing-rules", headers=WEST, json={"rules": rules}), 403)
    assert_problem(client.put("/opinions/routing-rules", headers=CITY,
                              json={"rules": [r for r in rules if r["level"] != "policy"]}), 422, "body.rules")
    assert_problem(client.put("/opinions/routing-rules", headers=CITY,
                              json={"rules": [rules[0] | {"unit": "{nope}"}] + rules[1:]}), 422)
    faster = [r | {"deadline_workdays": 10} if (r["level"], r["category"]) == ("town", "*") else r for r in rules]
    assert client.put("/opinions/routing-rules", headers=CITY, json={"rules": faster}).status_code == 200
    o = _submit(client, PORTAL)
    r = client.post(f"/opinions/{o['id']}/confirm", headers=CITY,
                    json={"category": "transport", "level": "town", "on": "2026-09-28"}).json()
    assert r["deadline"] == str(WorkdayCalendar().add_workdays(dt.date(2026, 9, 28), 10))
    client.put("/opinions/routing-rules", headers=CITY, json={"rules": rules})


def test_standards_checks_activity_league_and_gaps(client: TestClient) -> None:
    for item in ("venue", "sign", "rules", "plan", "records", "study", "equipment", "online"):
        r = client.put(f"/standards/stations/ST01/items/{item}", headers=WEST,
                       json={"ok": True, "checked_on": "2026-06-01", "evidence": "现场照片"})
        assert r.status_code == 200, r.text
    client.put("/standards/stations/ST00/items/venue", headers=WEST, json={"ok": True, "checked_on": "2026-06-01"})
    assert_problem(client.put("/standards/stations/ST02/items/venue", headers=WEST,
                              json={"ok": True, "checked_on": "2026-06-01"}), 403)  # ST02 is in county C2
    assert_problem(client.put("/standards/stations/ST01/items/garden", headers=WEST,
                              json={"ok": True, "checked_on": "2026-06-01"}), 422)
    client.put("/standards/stations/ST01/activity", headers=WEST, json={"year": 2026, "reception_days": 10})
    st = client.get("/standards/stations/ST01", headers=WEST, params={"year": 2026}).json()
    assert all(i["ok"] for i in st["items"]) and st["score"]["items_in_place"] == 8
    assert st["score"]["venue_good"] and st["score"]["activity_good"]
    league = client.get("/standards/league", headers=WEST, params={"county": "C1", "year": 2026}).json()["items"]
    assert league[0]["station_id"] == "ST01" and league[0]["rank"] == 1
    assert all(row["county_code"] == "C1" for row in league)
    assert_problem(client.get("/standards/league", headers=WEST, params={"county": "C2"}), 403)
    gaps = client.get("/standards/gaps", headers=CITY, params={"year": 2026}).json()
    ids = {f["properties"]["id"] for f in gaps["features"]}
    assert "ST01" not in ids and "ST00" in ids and "ST11" not in ids  # ST11 is closed
    bad = b"station_id,item,ok,checked_on\nST03,venue,maybe,2026-01-01\nXX,venue,yes,2026-01-01\n"
    body = assert_problem(client.post("/standards/import", headers=CITY, json=_upload("ck.csv", bad)), 422)
    assert {"ck.csv row 2.ok", "ck.csv row 3.station_id"} <= {e["field"] for e in body["errors"]}
    good = "station_id,item,ok,checked_on,evidence\nST03,有场所,是,2026-02-01,照片\nST03,sign,否,2026-02-01,\n"
    r = client.post("/standards/import", headers=CITY, json=_upload("ck.csv", good.encode()))
    assert r.status_code == 201 and r.json() == {"imported": 2, "stations": 1}


def test_planning_feedback_goes_into_a_scenario(client: TestClient) -> None:
    fb = client.get("/standards/planning-feedback", headers=CITY, params={"year": 2026}).json()
    assert fb["unresolved_opinions"] and all(v > 0 for v in fb["unresolved_opinions"].values())
    assert set(fb["station_performance"]) == {f"ST{i:02d}" for i in range(11)}  # the active stations
    st01 = fb["station_performance"]["ST01"]
    assert "八有齐全" in st01["reason"] and "全年接待日 10 天" in st01["reason"]
    r = client.post("/scenarios", headers=CITY, json={"scenario": {
        "name": "opinions", "budget": 2, "opinion_weight": 2, "unresolved_opinions": fb["unresolved_opinions"],
        "station_performance": fb["station_performance"]}})
    assert r.status_code in (200, 201), r.text
    bad = client.post("/scenarios", headers=CITY, json={"scenario": {
        "budget": 2, "opinion_weight": 1, "unresolved_opinions": {"nowhere": 1}}})
    assert_problem(bad, 422)
    assert_problem(client.get("/standards/planning-feedback", headers=PORTAL), 403)


def test_concurrent_portal_submissions_all_land(client: TestClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def one(i: int) -> int:
        return client.post("/opinions", headers=PORTAL, json={"text": f"路灯坏了 {i}", "town_code": "T1",
                                                              "received_on": "2026-11-02"}).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(one, range(24)))
    assert codes == [201] * 24
    mine = client.get("/opinions", headers=PORTAL, params={"limit": 5000}).json()["items"]
    assert len({o["id"] for o in mine if o["received_on"] == "2026-11-02"}) == 24
