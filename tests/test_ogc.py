"""OGC API – Features under /ogc: the conformance classes it declares (Core, GeoJSON,
OpenAPI 3.0) checked as tests, roles and errors, and the same features as /layers and
/scenarios/{id}/plan. tests/test_ogc_gdal.py reads the service with GDAL's OAPIF driver."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import shapely
from api_helpers import CITY, PORTAL, WEST, assert_problem, make_settings, submit
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from api.main import create_app
from api.ogc.routes import CONFORMANCE

CORE = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"
GEOJSON_CLASS = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson"
OAS30 = "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30"
LAYERS = {"counties": 2, "towns": 4, "stations": 12, "venues": 60, "demand": 40}
MAX_PAGE = 25


@pytest.fixture(scope="module")
def client(dataset_path: Path, tmp_path_factory: pytest.TempPathFactory):
    settings = make_settings(dataset_path, tmp_path_factory.mktemp("db") / "api.db", max_page_size=MAX_PAGE)
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def plan_id(client: TestClient) -> str:
    r = submit(client, CITY, budget=2)
    assert r.status_code == 201 and r.json()["status"] == "done", r.text
    return r.json()["id"]


def rel(doc: dict, name: str) -> dict:
    found = [link for link in doc["links"] if link["rel"] == name]
    assert found, (name, doc["links"])
    return found[0]


def path(link: dict) -> str:
    parts = urlsplit(link["href"])
    return parts.path + (f"?{parts.query}" if parts.query else "")


def all_items(client: TestClient, cid: str, headers: dict = CITY, **params: object) -> list[dict]:
    """Follow `next` links from the first page; every page within the limit."""
    feats: list[dict] = []
    r = client.get(f"/ogc/collections/{cid}/items", headers=headers, params=params)
    while True:
        assert r.status_code == 200, r.text
        page = r.json()
        assert page["numberReturned"] == len(page["features"]) <= MAX_PAGE
        feats += page["features"]
        nxt = [link for link in page["links"] if link["rel"] == "next"]
        if not nxt:
            assert len(feats) == page["numberMatched"]
            return feats
        r = client.get(path(nxt[0]), headers=headers)


def layer_features(client: TestClient, cid: str, headers: dict = CITY, key: str = "features", **params: object) -> list:
    """All rows of /layers/{cid} (paged by offset at the page-size maximum)."""
    out: list = []
    while True:
        body = client.get(f"/layers/{cid}", headers=headers, params=params | {"limit": MAX_PAGE, "offset": len(out)})
        assert body.status_code == 200, body.text
        out += body.json()[key]
        if len(out) >= body.json()["numberMatched"]:
            return out


# -- Core: landing page, conformance, API definition (/req/core/root-*, conformance-*, api-definition-*) ----
def test_landing_page_links_without_a_token(client: TestClient) -> None:
    r = client.get("/ogc")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    doc = r.json()
    for name in ("self", "service-desc", "conformance", "data"):
        assert client.get(path(rel(doc, name))).status_code in (200, 401)  # data needs the token
    assert rel(doc, "service-desc")["type"] == "application/vnd.oai.openapi+json;version=3.0"
    assert client.get(path(rel(doc, "data")), headers=CITY).status_code == 200


def test_conformance_declares_core_geojson_and_oas30(client: TestClient) -> None:
    conf = client.get("/ogc/conformance").json()["conformsTo"]
    assert set(conf) == {CORE, GEOJSON_CLASS, OAS30} == set(CONFORMANCE)


def test_api_definition_is_valid_openapi_30(client: TestClient) -> None:
    r = client.get("/ogc/api")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    doc = r.json()
    assert doc["openapi"].startswith("3.0.")
    validate(doc)  # raises on an invalid OpenAPI 3.0 document
    paths = doc["paths"]
    for p in ("/", "/conformance", "/collections", "/collections/{collectionId}",
              "/collections/{collectionId}/items", "/collections/{collectionId}/items/{featureId}"):
        assert p in paths, p
    limit = doc["components"]["parameters"]["limit"]["schema"]
    assert limit["maximum"] == MAX_PAGE and limit["minimum"] == 1
    names = {p.get("name") for p in paths["/collections/stations/items"]["get"]["parameters"]}
    assert {"tier", "status", "county", "town"} <= names
    # the OGC routes are in the main (3.1) document too
    assert "/ogc/collections/{collectionId}/items" in client.get("/openapi.json").json()["paths"]


# -- Core: collections (/req/core/fc-md-*, sfc-md-*) -----------------------------------------
def test_collections_list_each_layer_with_extent_and_items_link(client: TestClient, plan_id: str) -> None:
    r = client.get("/ogc/collections", headers=PORTAL)
    assert r.status_code == 200
    doc = r.json()
    rel(doc, "self")
    by_id = {c["id"]: c for c in doc["collections"]}
    assert set(LAYERS) | {f"plan-{plan_id}"} == set(by_id)  # no deputies for the service role
    for cid, c in by_id.items():
        items = rel(c, "items")
        assert items["type"] == "application/geo+json"
        x0, y0, x1, y1 = c["extent"]["spatial"]["bbox"][0]
        assert 119.9 < x0 <= x1 < 120.3 and 33.2 < y0 <= y1 < 33.5
        assert c["extent"]["spatial"]["crs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
        single = client.get(f"/ogc/collections/{cid}", headers=PORTAL).json()
        assert single["id"] == cid and single["extent"] == c["extent"]
        feats = all_items(client, cid, PORTAL)
        bounds = shapely.GeometryCollection([shapely.geometry.shape(f["geometry"]) for f in feats]).bounds
        assert bounds == pytest.approx(tuple(c["extent"]["spatial"]["bbox"][0]))
    plan = by_id[f"plan-{plan_id}"]
    start, end = plan["extent"]["temporal"]["interval"][0]
    assert start == end and start.endswith("Z")


def test_unknown_collection_and_feature_are_404_problems(client: TestClient) -> None:
    assert_problem(client.get("/ogc/collections/nope", headers=CITY), 404, "path.collectionId")
    assert_problem(client.get("/ogc/collections/plan-nope/items", headers=CITY), 404)
    assert_problem(client.get("/ogc/collections/stations/items/NOPE", headers=CITY), 404, "path.featureId")


# -- Core + GeoJSON: items (/req/core/fc-*, /req/geojson/*) -----------------------------------
@pytest.mark.parametrize("cid,count", list(LAYERS.items()))
def test_items_are_geojson_and_paging_visits_every_feature_once(client: TestClient, cid: str, count: int) -> None:
    r = client.get(f"/ogc/collections/{cid}/items", headers=CITY, params={"limit": 5})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/geo+json")
    page = r.json()
    assert page["type"] == "FeatureCollection" and page["numberMatched"] == count
    assert page["numberReturned"] == min(5, count) and datetime.fromisoformat(page["timeStamp"])
    rel(page, "self")
    feats = all_items(client, cid, limit=5)
    ids = [f["id"] for f in feats]
    assert len(ids) == len(set(ids)) == count
    layer = layer_features(client, cid)
    assert feats == layer  # the same features as /layers
    for f in feats:
        assert f["type"] == "Feature" and isinstance(f["properties"], dict)
        assert shapely.geometry.shape(f["geometry"]).is_valid
    one = client.get(f"/ogc/collections/{cid}/items/{ids[-1]}", headers=CITY)
    assert one.status_code == 200 and one.headers["content-type"].startswith("application/geo+json")
    body = one.json()
    assert body["id"] == ids[-1] and body["geometry"] == feats[-1]["geometry"]
    assert {link["rel"] for link in body["links"]} >= {"self", "collection"}


def test_limit_above_the_maximum_is_served_as_the_maximum(client: TestClient) -> None:
    page = client.get("/ogc/collections/venues/items", headers=CITY, params={"limit": 10_000}).json()
    assert page["numberReturned"] == MAX_PAGE and page["numberMatched"] == 60
    assert "limit=25" in rel(page, "next")["href"]
    assert client.get("/ogc/collections/venues/items", headers=CITY).json()["numberReturned"] == MAX_PAGE


@pytest.mark.parametrize("box", [(120.0, 33.3, 120.05, 33.35), (120.02, 33.31, 120.13, 33.39), (121, 34, 122, 35)])
def test_bbox_returns_exactly_the_intersecting_features(client: TestClient, box: tuple) -> None:
    every = all_items(client, "venues")
    want = {f["id"] for f in every if shapely.geometry.shape(f["geometry"]).intersects(shapely.box(*box))}
    got = all_items(client, "venues", bbox=",".join(map(str, box)))
    assert {f["id"] for f in got} == want
    six = all_items(client, "venues", bbox=f"{box[0]},{box[1]},0,{box[2]},{box[3]},100")  # heights ignored
    assert {f["id"] for f in six} == want


def test_property_filters_match_the_layers_api(client: TestClient) -> None:
    for cid, params in [("stations", {"tier": "home"}), ("stations", {"status": "closed"}),
                        ("stations", {"county": "C2", "tier": "station"}), ("venues", {"category": "market"}),
                        ("towns", {"county": "C1"}), ("demand", {"town": "T3"})]:
        ogc = [f["id"] for f in all_items(client, cid, **params)]
        api = [f["id"] for f in layer_features(client, cid, **params)]
        assert ogc == api and ogc, (cid, params)


@pytest.mark.parametrize("params,field", [
    ({"bbox": "1,2,3"}, "query.bbox"), ({"bbox": "a,b,c,d"}, "query.bbox"), ({"bbox": "10,0,5,1"}, "query.bbox"),
    ({"limit": "0"}, "query.limit"), ({"limit": "ten"}, "query.limit"), ({"offset": "-1"}, "query.offset"),
    ({"datetime": "yesterday"}, "query.datetime"), ({"datetime": "2026-01-02T00:00:00Z/2026-01-01T00:00:00Z"},
                                                    "query.datetime"),
    ({"datetime": "2026-01-01T00:00:00"}, "query.datetime"), ({"datetime": "../.."}, "query.datetime"),
    ({"tier": "castle"}, "query.tier"), ({"county": "ZZ"}, "query.county"), ({"category": "market"}, "query.category"),
    ({"colour": "red"}, "query.colour"), ({"f": "html"}, "query.f"),
])
def test_invalid_or_unknown_parameters_are_400_problems(client: TestClient, params: dict, field: str) -> None:
    assert_problem(client.get("/ogc/collections/stations/items", headers=CITY, params=params), 400, field)


def test_unknown_parameters_on_metadata_resources_are_400(client: TestClient) -> None:
    assert_problem(client.get("/ogc/conformance", params={"x": "1"}), 400, "query.x")
    assert_problem(client.get("/ogc/collections", headers=CITY, params={"limit": "1"}), 400, "query.limit")
    assert client.get("/ogc/collections", headers=CITY, params={"f": "json"}).status_code == 200


# -- roles and tokens -------------------------------------------------------------------------
def test_data_needs_a_token_and_deputies_need_a_planner(client: TestClient) -> None:
    for url in ("/ogc/collections", "/ogc/collections/stations", "/ogc/collections/stations/items",
                "/ogc/collections/stations/items/ST00"):
        assert_problem(client.get(url), 401)
        assert_problem(client.get(url, headers={"Authorization": "Bearer nope"}), 401)
    assert client.get("/ogc/collections/stations/items", headers={"X-API-Key": "portal"}).status_code == 200
    assert_problem(client.get("/ogc/collections/deputies", headers=PORTAL), 403)
    assert_problem(client.get("/ogc/collections/deputies/items", headers=PORTAL), 403)
    ids = {c["id"] for c in client.get("/ogc/collections", headers=WEST).json()["collections"]}
    assert "deputies" in ids


def test_deputies_collection_is_the_deputies_table_without_geometry(client: TestClient) -> None:
    feats = all_items(client, "deputies", WEST, level="town")
    table = layer_features(client, "deputies", WEST, "items", level="town")
    assert [f["properties"] for f in feats] == table and all(f["geometry"] is None for f in feats)
    assert client.get("/ogc/collections/deputies/items", headers=WEST,
                      params={"bbox": "119,33,121,34"}).json()["numberMatched"] == 0
    one = client.get(f"/ogc/collections/deputies/items/{table[0]['id']}", headers=WEST).json()
    assert one["properties"] == table[0]


# -- plans ------------------------------------------------------------------------------------
def test_plan_collection_is_the_stored_plan(client: TestClient, plan_id: str) -> None:
    cid = f"plan-{plan_id}"
    plan = client.get(f"/scenarios/{plan_id}/plan", headers=PORTAL).json()["features"]
    assert all_items(client, cid, PORTAL) == plan
    opened = all_items(client, cid, PORTAL, decision="open")
    assert [f["id"] for f in opened] == [f["id"] for f in plan if f["properties"]["decision"] == "open"]
    assert len(opened) == 2
    assert_problem(client.get(f"/ogc/collections/{cid}/items", headers=PORTAL, params={"decision": "maybe"}), 400)
    f = client.get(f"/ogc/collections/{cid}/items/{opened[0]['id']}", headers=PORTAL).json()
    assert f["properties"]["decision"] == "open"


def test_datetime_selects_plans_by_their_creation_time(client: TestClient, plan_id: str) -> None:
    cid = f"plan-{plan_id}"
    t = client.get(f"/ogc/collections/{cid}", headers=CITY).json()["extent"]["temporal"]["interval"][0][0]
    made = datetime.fromisoformat(t.replace("Z", "+00:00"))
    fmt = lambda d: d.astimezone(timezone.utc).isoformat().replace("+00:00", "Z")  # noqa: E731
    hour = timedelta(hours=1)
    total = client.get(f"/ogc/collections/{cid}/items", headers=CITY).json()["numberMatched"]
    for value, expect in [(f"{fmt(made - hour)}/{fmt(made + hour)}", total), (f"../{fmt(made - hour)}", 0),
                          (f"{fmt(made - hour)}/..", total), (fmt(made + hour), 0), (made.date().isoformat(), total),
                          (f"{fmt(made + hour)}/", 0)]:
        got = client.get(f"/ogc/collections/{cid}/items", headers=CITY, params={"datetime": value}).json()
        assert got["numberMatched"] == expect, value
    # dataset layers have no feature times: a valid datetime does not filter them
    assert client.get("/ogc/collections/towns/items", headers=CITY,
                      params={"datetime": "2000-01-01T00:00:00Z"}).json()["numberMatched"] == 4


def test_deleted_plan_leaves_the_collections(client: TestClient) -> None:
    sid = submit(client, CITY, budget=1).json()["id"]
    assert client.get(f"/ogc/collections/plan-{sid}/items", headers=CITY).status_code == 200
    assert client.delete(f"/scenarios/{sid}", headers=CITY).status_code == 204
    assert_problem(client.get(f"/ogc/collections/plan-{sid}/items", headers=CITY), 404)
    assert f"plan-{sid}" not in {c["id"] for c in client.get("/ogc/collections", headers=CITY).json()["collections"]}


def test_station_edits_show_in_the_stations_collection(client: TestClient) -> None:
    r = client.post("/stations/ST00/close", headers=CITY, json={"reason": "ogc test"})
    assert r.status_code == 200, r.text
    try:
        closed = {f["id"] for f in all_items(client, "stations", status="closed")}
        assert "ST00" in closed
        assert client.get("/ogc/collections/stations/items/ST00", headers=CITY).json()["properties"]["status"] == \
            "closed"
    finally:
        assert client.post("/stations/ST00/reopen", headers=CITY, json={"reason": "ogc test"}).status_code == 200
