"""The workspace over HTTP: sign-in sessions, CSRF, roles, the map's layers (WGS84 and GCJ-02),
plans, comparison and exports — as the page calls them, with a cookie and no bearer token."""
from __future__ import annotations

import csv
import gzip
import io
import logging
from pathlib import Path

import numpy as np
import pytest
from api_helpers import CITY, assert_problem, make_settings, wait_final
from fastapi.testclient import TestClient

from api.main import create_app
from api.sessions import COOKIE
from api.settings import Settings
from geoplan import crs


@pytest.fixture
def settings(dataset_path: Path, tmp_path: Path) -> Settings:
    return make_settings(dataset_path, tmp_path / "ws.db")


@pytest.fixture
def app(settings: Settings):
    return create_app(settings)


def sign_in(app, token: str) -> tuple[TestClient, dict]:
    c = TestClient(app)
    r = c.post("/workspace/session", json={"token": token})
    assert r.status_code == 200, r.text
    return c, r.json()


def test_page_and_assets_are_served_by_the_service(app) -> None:
    with TestClient(app) as c:
        page = c.get("/")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        html = page.text
        csp = page.headers["content-security-policy"]
        assert "script-src 'self';" in csp and "style-src 'self';" in csp and "unsafe-inline" not in csp
        assert 'data-testid="login-token"' in html and 'data-testid="lang-switch"' in html
        # every script and stylesheet is local; no inline script (strict CSP)
        assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
        assert "<script>" not in html and "onclick=" not in html
        for path in ("/workspace/static/app.js", "/workspace/static/app.css", "/workspace/static/vendor/leaflet/leaflet.js",
                     "/workspace/static/vendor/leaflet/leaflet.css",
                     "/workspace/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
                     "/workspace/static/vendor/leaflet/images/layers.png"):
            r = c.get(path, headers={"Accept-Encoding": "gzip"})
            assert r.status_code == 200, path
        js = c.get("/workspace/static/app.js", headers={"Accept-Encoding": "gzip"})
        assert js.headers.get("content-encoding") == "gzip"
        assert "BSD 2-Clause" in c.get("/workspace/static/vendor/leaflet/LICENSE").text
        assert "Permission is hereby granted" in c.get("/workspace/static/vendor/leaflet.markercluster/LICENSE").text


def test_sign_in_sets_a_strict_httponly_cookie_and_never_returns_the_token(app) -> None:
    c = TestClient(app)
    assert c.get("/workspace/session").json() == {"signed_in": False}
    r = c.post("/workspace/session", json={"token": "city"})
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}=") and "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
    assert "Max-Age=" in cookie and "Path=/" in cookie
    body = r.json()
    assert body["role"] == "city_planner" and body["csrf"] and "city" not in r.text.replace("city_planner", "")
    # the cookie alone authenticates API reads
    assert c.get("/layers/towns").status_code == 200
    s = c.get("/workspace/session").json()
    assert s["signed_in"] and s["name"] == "alice" and s["csrf"] == body["csrf"]
    # signing in again (another tab) replaces the session without a CSRF token
    again = c.post("/workspace/session", json={"token": "city"})
    assert again.status_code == 200 and again.json()["csrf"] != body["csrf"]
    body = again.json()
    # logout ends the session on the server and clears the cookie

    assert c.delete("/workspace/session", headers={"X-CSRF-Token": body["csrf"]}).status_code == 204
    assert c.get("/workspace/session").json() == {"signed_in": False}
    assert_problem(c.get("/layers/towns"), 401)


def test_unknown_token_and_service_account_get_no_session(app) -> None:
    c = TestClient(app)
    r = c.post("/workspace/session", json={"token": "nope-secret-guess"})
    body = assert_problem(r, 401)
    assert "nope-secret-guess" not in r.text and "set-cookie" not in r.headers
    r = c.post("/workspace/session", json={"token": "portal"})
    assert_problem(r, 403)
    assert "set-cookie" not in r.headers and "no workspace" in r.json()["detail"]
    assert body["status"] == 401


def test_state_changing_requests_need_the_csrf_token(app) -> None:
    c, s = sign_in(app, "city")
    with c:
        body = {"scenario": {"name": "csrf", "budget": 1}}
        # no header, wrong header, or a foreign Origin: refused before the route runs
        assert_problem(c.post("/scenarios", json=body), 403)
        assert_problem(c.post("/scenarios", json=body, headers={"X-CSRF-Token": "forged"}), 403)
        assert_problem(c.post("/scenarios", json=body, headers={"X-CSRF-Token": s["csrf"],
                                                                 "Origin": "http://evil.example"}), 403)
        assert c.get("/workspace/plans").json()["items"] == []
        ok = c.post("/scenarios", json=body, headers={"X-CSRF-Token": s["csrf"], "Origin": "http://testserver"})
        assert ok.status_code in (201, 202), ok.text
        # a bearer-token client is not subject to the cookie's CSRF rule
        assert TestClient(app).post("/scenarios", json=body, headers=CITY).status_code in (201, 202)


def test_expired_session_is_refused(dataset_path: Path, tmp_path: Path) -> None:
    from api.routes import workspace

    app = create_app(make_settings(dataset_path, tmp_path / "exp.db"))
    store = app.state.workspace_sessions
    store.ttl = -1.0  # every new session is already past its expiry
    c, _ = sign_in(app, "city")
    assert c.get("/workspace/session").json() == {"signed_in": False}
    assert_problem(c.get("/layers/towns"), 401)
    assert workspace.COOKIE == COOKIE


def test_token_is_never_logged(app, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    c, s = sign_in(app, "city")
    with c:
        c.get("/workspace/config")
        c.post("/scenarios", json={"scenario": {"name": "x", "budget": 1}}, headers={"X-CSRF-Token": s["csrf"]})
    for rec in caplog.records:
        msg = rec.getMessage()
        assert "Bearer city" not in msg and '"token": "city"' not in msg


def test_county_planner_edits_own_county_and_reads_the_rest(app) -> None:
    c, s = sign_in(app, "west")  # county C1
    h = {"X-CSRF-Token": s["csrf"]}
    with c:
        cfg = c.get("/workspace/config").json()
        assert cfg["user"]["county_code"] == "C1" and {x["code"] for x in cfg["counties"]} == {"C1", "C2"}
        stations = c.get("/workspace/layers/stations").json()["features"]
        counties = {f["properties"]["county_code"] for f in stations}
        assert counties == {"C1", "C2"}  # sees the whole city
        east = next(f for f in stations if f["properties"]["county_code"] == "C2")
        west = next(f for f in stations if f["properties"]["county_code"] == "C1")
        assert_problem(c.post(f"/stations/{east['id']}/close", json={"reason": "no"}, headers=h), 403)
        r = c.post(f"/stations/{west['id']}/close", json={"reason": "merged with the town hall"}, headers=h)
        assert r.status_code == 200, r.text
        hist = c.get(f"/stations/{west['id']}/history").json()
        assert hist[-1]["action"] == "close" and hist[-1]["reason"] == "merged with the town hall"
        # the closure shows in the workspace's stations layer
        again = {f["id"]: f for f in c.get("/workspace/layers/stations").json()["features"]}
        assert again[west["id"]]["properties"]["status"] == "closed"
        # plans: only for its county
        assert_problem(c.post("/scenarios", json={"scenario": {"name": "city", "budget": 1}}, headers=h), 403)
        r = c.post("/scenarios", json={"county_code": "C1", "scenario": {"name": "west", "budget": 1}}, headers=h)
        assert r.status_code in (201, 202), r.text
    city, cs = sign_in(app, "city")
    with city:
        r = city.post("/scenarios", json={"county_code": "C2", "scenario": {"name": "east plan", "budget": 1}},
                      headers={"X-CSRF-Token": cs["csrf"]})
        east_id = r.json()["id"]
        wait_final(city, east_id)
        assert {p["name"] for p in city.get("/workspace/plans").json()["items"]} == {"west", "east plan"}
    with c:
        assert [p["name"] for p in c.get("/workspace/plans").json()["items"]] == ["west"]
        assert_problem(c.get(f"/workspace/plans/{east_id}"), 403)
        assert_problem(c.put(f"/workspace/plans/{east_id}/name", json={"name": "mine"}, headers=h), 403)


def test_layers_are_small_and_convert_to_gcj02_on_the_server(app) -> None:
    c, _ = sign_in(app, "city")
    with c:
        wgs = c.get("/workspace/layers/stations").json()
        gcj = c.get("/workspace/layers/stations?coords=gcj02").json()
        assert gcj["coords"] == "gcj02" and len(wgs["features"]) == len(gcj["features"]) > 0
        a = np.array([f["geometry"]["coordinates"] for f in wgs["features"]])
        b = np.array([f["geometry"]["coordinates"] for f in gcj["features"]])
        x, y = crs.wgs84_to_gcj02(a[:, 0], a[:, 1])
        assert np.allclose(b[:, 0], x, atol=2e-5) and np.allclose(b[:, 1], y, atol=2e-5)
        assert np.abs(b - a).max() > 1e-3  # several hundred metres near Yancheng: a real shift
        # a clicked GCJ-02 position comes back as the WGS84 point
        p = c.get("/workspace/crs/wgs84", params={"lon": b[0, 0], "lat": b[0, 1], "coords": "gcj02"}).json()
        assert abs(p["lon"] - a[0, 0]) < 2e-5 and abs(p["lat"] - a[0, 1]) < 2e-5
        towns = c.get("/workspace/layers/towns?coords=gcj02", headers={"Accept-Encoding": "gzip"})
        assert towns.status_code == 200 and towns.headers["content-encoding"] == "gzip"
        t = towns.json()["features"][0]
        assert set(t["properties"]) == {"code", "name", "county_code"} and t["geometry"]["type"].endswith("Polygon")
        venues = c.get("/workspace/layers/venues").json()["features"]
        assert {"id", "category", "footfall"} <= set(venues[0]["properties"])
        assert_problem(c.get("/workspace/layers/deputies"), 422)


def test_layers_and_plans_need_a_planner(app) -> None:
    portal = TestClient(app)
    assert_problem(portal.get("/workspace/layers/towns", headers={"Authorization": "Bearer portal"}), 403)
    assert_problem(portal.get("/workspace/config"), 401)


def test_run_save_compare_and_export_as_the_page_does(app) -> None:
    c, s = sign_in(app, "city")
    h = {"X-CSRF-Token": s["csrf"]}
    with c:
        base = c.get("/workspace/baseline").json()
        assert len(base["towns"]) == 4 and 0 <= base["metrics"]["share_before"] <= 1
        ids = []
        for budget in (1, 3):
            r = c.post("/scenarios?mode=async", json={"scenario": {"name": f"draft {budget}", "budget": budget}}, headers=h)
            assert r.status_code == 202, r.text
            ids.append(r.json()["id"])
        for sid in ids:
            assert wait_final(c, sid)["status"] == "done"
        assert c.put(f"/workspace/plans/{ids[1]}/name", json={"name": "三个新点"}, headers=h).status_code == 200
        names = [p["name"] for p in c.get("/workspace/plans").json()["items"]]
        assert "三个新点" in names and "draft 1" in names
        audit = c.get("/audit", params={"action": "scenario.rename"}).json()["items"]
        assert audit and audit[0]["detail"]["to"] == "三个新点"

        zh = c.get(f"/workspace/plans/{ids[1]}", params={"lang": "zh"}).json()
        en = c.get(f"/workspace/plans/{ids[1]}", params={"lang": "en"}).json()
        assert zh["name"] == "三个新点" and zh["metrics"]["n_open"] == 3 and len(zh["towns"]) == 4
        opened_zh = [f for f in zh["stations"]["features"] if f["properties"]["decision"] == "open"]
        opened_en = [f for f in en["stations"]["features"] if f["properties"]["decision"] == "open"]
        assert len(opened_zh) == 3
        assert all("覆盖" in f["properties"]["reason"] for f in opened_zh)
        assert all("reaches" in f["properties"]["reason"] for f in opened_en)

        cmp = c.get("/workspace/compare", params={"a": ids[0], "b": ids[1]}).json()
        m = {r["metric"]: r for r in cmp["metrics"]}
        assert m["n_open"]["a"] == 1 and m["n_open"]["b"] == 3 and m["n_open"]["difference"] == 2
        assert len(cmp["stations"]["features"]) >= 2 and len(cmp["towns"]) == 4

        r = c.get(f"/workspace/plans/{ids[1]}/export.csv", params={"table": "stations", "lang": "zh"})
        assert r.headers["content-type"].startswith("text/csv") and "attachment" in r.headers["content-disposition"]
        rows = list(csv.DictReader(io.StringIO(r.text.lstrip("\ufeff"))))
        assert sum(r["decision"] == "open" for r in rows) == 3 and {"lon", "lat", "reason"} <= set(rows[0])
        towns = list(csv.DictReader(io.StringIO(c.get(f"/workspace/plans/{ids[1]}/export.csv",
                                                       params={"table": "towns"}).text.lstrip("\ufeff"))))
        assert len(towns) == 4 and "share_after" in towns[0]
        gpkg = c.get(f"/scenarios/{ids[1]}/export")
        assert gpkg.status_code == 200 and gpkg.content[:16] == b"SQLite format 3\x00"
        html = c.get(f"/workspace/plans/{ids[1]}/map", params={"lang": "zh"})
        assert html.status_code == 200 and "attachment" in html.headers["content-disposition"]

        a = c.get(f"/workspace/plans/{ids[1]}/assignment").json()
        assert a["links"]["features"] and all(f["geometry"]["type"] == "LineString" for f in a["links"]["features"])
        assert set(a["by_station"]) <= {f["id"] for f in zh["stations"]["features"]}


def test_catalogue_endpoint_serves_both_languages(app) -> None:
    with TestClient(app) as c:
        zh = c.get("/workspace/i18n/zh.json", headers={"Accept-Encoding": "gzip"})
        assert zh.headers.get("content-encoding") == "gzip"
        body = zh.json()
        assert body["messages"]["Sign in"] == "登录" and body["glossary"]["point"]["zh"] == "代表联系点"
        en = c.get("/workspace/i18n/en.json").json()
        assert en["messages"] == {} or all(k == v for k, v in en["messages"].items())
        assert c.get("/workspace/i18n/fr.json").status_code == 422


def test_gzip_bytes_of_the_first_page(app) -> None:
    """The first page's layers stay small (the benchmark measures the bundled dataset)."""
    c, _ = sign_in(app, "city")
    with c:
        for name in ("counties", "towns", "stations"):
            raw = c.get(f"/workspace/layers/{name}", headers={"Accept-Encoding": "identity"}).content
            assert len(gzip.compress(raw)) < 50_000
