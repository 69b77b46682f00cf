"""The workspace: its page and assets, sign-in sessions, and the compact views the map needs.

``install(app)`` adds it to an app: the routes below, ``/workspace/static`` (gzip-compressed
files from the installed package) and the :class:`~api.sessions.SessionAuth` middleware. The
workspace otherwise uses the API's own routes (``/scenarios``, ``/stations``) with the session
cookie; every role check stays where the API does it.

Layer and plan views take ``coords=gcj02`` to get coordinates converted on the server with
:mod:`geoplan.crs` for basemaps in GCJ-02 (高德 Amap); ``/workspace/crs/wgs84`` converts a clicked
position back.
"""
from __future__ import annotations

import csv
import gzip
import io
import json
import secrets
from typing import Annotated, Any, Literal

import geopandas as gpd
import numpy as np
import shapely
from fastapi import APIRouter, FastAPI, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

from api import crud
from api.deps import Ctx, Db, LockedScenario, PlanDep, Planner, ScenarioDep, User, require_edit
from api.models import PlanRow, ScenarioRow
from api.planner import load_plan, records
from api.problems import ApiProblem, responses
from api.routes.common import utc
from api.sessions import COOKIE, SessionAuth, SessionStore
from api.workspace import STATIC_DIR
from geoplan import crs
from geoplan.datasets import SITE_CATEGORIES
from geoplan.i18n import GLOSSARY, LANGS, catalogue, localize_reason
from geoplan.scenario import Scenario, compare, plan

router = APIRouter(prefix="/workspace", tags=["workspace"])
Coords = Literal["wgs84", "gcj02"]
CoordsQ = Annotated[Coords, Query(description="wgs84 (OpenStreetMap, 天地图) or gcj02 (高德 Amap)")]
LangQ = Annotated[Literal["zh", "en"], Query(description="Language of reasons and labels")]
WorkspaceLayer = Literal["counties", "towns", "stations", "venues"]
_SIMPLIFY_M = {"counties": 120.0, "towns": 60.0}  # outlines for display, not for analysis
_PRECISION = 5  # decimals of a degree, about 1 m


# --------------------------------------------------------------------------- helpers
def compact_json(body: Any, request: Request, media_type: str = "application/json") -> Response:
    """JSON, gzip-compressed when the browser accepts it (the layers are most of the first page)."""
    raw = json.dumps(body, separators=(",", ":"), ensure_ascii=False, default=str).encode("utf-8")
    headers = {"Cache-Control": "no-store", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", "") and len(raw) > 1024:
        return Response(gzip.compress(raw, 6, mtime=0), media_type=media_type,
                        headers=headers | {"Content-Encoding": "gzip"})
    return Response(raw, media_type=media_type, headers=headers)


def _geometries(gdf: gpd.GeoDataFrame, coords: Coords, simplify_m: float | None, metric_crs: str) -> np.ndarray:
    geoms = gdf.geometry
    if simplify_m:
        geoms = geoms.to_crs(metric_crs).simplify(simplify_m, preserve_topology=True).to_crs(gdf.crs)
    arr = np.asarray(geoms.values, dtype=object)
    if coords == "gcj02":
        arr = crs.convert_geometry(arr, "wgs84", "gcj02")
    return shapely.set_precision(arr, 10 ** -_PRECISION) if simplify_m else _round_points(arr)


def _round_points(arr: np.ndarray) -> np.ndarray:
    return shapely.transform(arr, lambda xy: np.round(xy, _PRECISION))


def feature_collection(gdf: gpd.GeoDataFrame, props: list[str], id_col: str, coords: Coords,
                       metric_crs: str, simplify_m: float | None = None) -> dict[str, Any]:
    """A small GeoJSON FeatureCollection: the given properties only, rounded (and simplified) shapes."""
    geoms = _geometries(gdf, coords, simplify_m, metric_crs)
    cols = {p: [None if v != v else v for v in gdf[p].tolist()] if p in gdf.columns else [None] * len(gdf)
            for p in props}
    geo = [json.loads(g) for g in shapely.to_geojson(geoms)] if len(gdf) else []
    ids = gdf[id_col].astype(str).tolist()
    feats = [{"type": "Feature", "id": ids[i], "geometry": geo[i], "properties": {p: cols[p][i] for p in props}}
             for i in range(len(gdf))]
    return {"type": "FeatureCollection", "coords": coords, "features": feats}


def _plan_item(row: ScenarioRow) -> dict[str, Any]:
    """A scenario as the plan list shows it."""
    return {"id": row.id, "name": row.name, "county_code": row.county_code, "owner": row.owner,
            "status": row.status, "progress": float(row.progress), "message": row.message, "error": row.error,
            "created_at": utc(row.created_at).isoformat()}


def _may_see(user: User, row: ScenarioRow) -> bool:
    return user.role == "city_planner" or row.county_code == user.county_code


def _check_sees(user: User, row: ScenarioRow) -> None:
    if not _may_see(user, row):
        raise ApiProblem(403, f"{user.role} {user.name!r} may not open plans of {row.county_code or 'the whole city'}",
                         kind="forbidden")


def _plan_for(db: Db, user: User, scenario_id: str) -> tuple[ScenarioRow, PlanRow]:
    row = crud.scenario(db, scenario_id)
    if row is None:
        raise ApiProblem(404, f"unknown scenario id {scenario_id!r}", field="query", kind="unknown-id")
    plan = crud.plan_of(db, row)
    if plan is None:
        raise ApiProblem(409, f"scenario {row.id} has no plan: its status is {row.status!r}", kind="no-plan")
    _check_sees(user, row)
    return row, plan


def _convert_features(fc: dict[str, Any], coords: Coords) -> dict[str, Any]:
    if coords == "wgs84":
        return fc
    feats = fc["features"]
    xy = np.array([f["geometry"]["coordinates"] for f in feats], dtype=float).reshape(-1, 2)
    x, y = crs.convert(xy[:, 0], xy[:, 1], "wgs84", "gcj02")
    out = []
    for f, a, b in zip(feats, x, y):
        out.append({**f, "geometry": {"type": "Point", "coordinates": [round(float(a), 7), round(float(b), 7)]}})
    return {**fc, "features": out}


# --------------------------------------------------------------------------- page and session
class SignIn(BaseModel):
    """The API token a planner was given (sent once; the browser keeps only a session cookie)."""

    model_config = ConfigDict(extra="forbid")
    token: str = Field(min_length=1, max_length=500)


def _store(request: Request) -> SessionStore:
    return request.app.state.workspace_sessions


@router.post("/session", summary="Sign in to the workspace with an API token", responses=responses(401, 403, 422))
def sign_in(body: SignIn, request: Request, ctx: Ctx) -> Response:
    """Sign in with a planner's API token: a new session cookie (HttpOnly, SameSite=Strict) and its CSRF token.

    An unknown token is a 401, a service account's a 403; an earlier session of the browser is dropped.
    """
    found = None
    for known, info in ctx.settings.tokens.items():
        if secrets.compare_digest(known.encode(), body.token.encode()):  # every token compared: constant time
            found = (known, info)
    if found is None:
        raise ApiProblem(401, "unknown token", field="body.token", kind="unauthenticated")
    token, info = found
    if info.role == "service":
        raise ApiProblem(403, f"the service account {info.name!r} has no workspace; sign in with a planner's token",
                         kind="forbidden")
    store = _store(request)
    old = request.cookies.get(COOKIE)
    store.delete(old)  # a new sign-in never reuses a session id (no fixation)
    s = store.create(token, info.name, info.role, info.county_code)
    resp = Response(json.dumps({"signed_in": True, **s.public()}), media_type="application/json")
    resp.set_cookie(COOKIE, s.id, max_age=int(store.ttl), path="/", httponly=True, samesite="strict",
                    secure=request.url.scheme == "https")
    return resp


@router.get("/session", summary="Who is signed in (and the CSRF token for state-changing requests)")
def session_info(request: Request) -> Response:
    """Whether a session is signed in, and if so who, with the CSRF token for state-changing requests."""
    s = getattr(request.state, "workspace_session", None)
    body = {"signed_in": False} if s is None else {"signed_in": True, **s.public()}
    return Response(json.dumps(body), media_type="application/json", headers={"Cache-Control": "no-store"})


@router.delete("/session", status_code=204, summary="Sign out", response_class=Response)
def sign_out(request: Request) -> Response:
    """End the session and clear its cookie."""
    s = getattr(request.state, "workspace_session", None)
    if s is not None:
        _store(request).delete(s.id)
    resp = Response(status_code=204)
    resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return resp


@router.get("/i18n/{lang}.json", summary="The workspace's message catalogue of one language")
def messages(lang: Literal["zh", "en"], request: Request) -> Response:
    """The workspace's messages and glossary in one language (zh or en)."""
    return compact_json({"lang": lang, "messages": catalogue(lang),
                         "glossary": {t.key: {"en": t.en, "zh": t.zh} for t in GLOSSARY}, "langs": list(LANGS)},
                        request)


@router.get("/config", summary="Basemaps and the signed-in planner's scope", responses=responses(401, 403))
def config(request: Request, ctx: Ctx, user: Planner) -> Response:
    """What the workspace needs to start: the planner's scope, counties, bounds, scenario defaults and basemaps."""
    import os

    key = os.environ.get("GEOPLAN_TIANDITU_KEY", "")
    ds = ctx.catalog.base
    bounds = [float(v) for v in ds.towns.total_bounds]
    counties = [{"code": str(c), "name": str(n)} for c, n in zip(ds.counties["code"], ds.counties["name"])]
    defaults = json.loads(Scenario().model_dump_json())
    return compact_json({"user": {"name": user.name, "role": user.role, "county_code": user.county_code},
                         "counties": counties, "bounds": bounds, "dataset": ds.name,
                         "scenario_defaults": defaults, "categories": list(SITE_CATEGORIES),
                         "require_sites": "require_sites" in Scenario.model_fields,
                         "road_network": False,  # the service plans with straight-line distances only
                         "basemaps": {"osm": True, "tianditu": bool(key), "amap": True, "none": True},
                         "tianditu_key": key}, request)


# --------------------------------------------------------------------------- layers
@router.get("/layers/{layer}", summary="A layer for the map: few properties, simplified outlines",
            responses=responses(401, 403, 422))
def layer(layer: WorkspaceLayer, request: Request, ctx: Ctx, db: Db, user: Planner, coords: CoordsQ = "wgs84",
          county: Annotated[str | None, Query(max_length=32)] = None) -> Response:
    """A dataset layer for the map, with few properties and simplified outlines, in the basemap's coordinates."""
    view = ctx.view(db)
    ds = view.dataset
    def build() -> dict[str, Any]:
        tc = ctx.catalog.town_county
        if layer == "counties":
            g = ds.counties.reset_index(drop=True)
            body = feature_collection(g, ["code", "name"], "code", coords, ds.metric_crs, _SIMPLIFY_M["counties"])
        elif layer == "towns":
            g = ds.towns.reset_index(drop=True)
            body = feature_collection(g, ["code", "name", "county_code"], "code", coords, ds.metric_crs,
                                      _SIMPLIFY_M["towns"])
        else:
            g = (ds.stations if layer == "stations" else ds.sites).reset_index(drop=True).copy()
            g["county_code"] = g["town_code"].astype(str).map(tc)
            if county is not None:
                g = g[g["county_code"] == county]
            props = (["id", "name", "tier", "level", "town_code", "county_code", "status", "site_id"]
                     if layer == "stations" else ["id", "name", "category", "footfall", "town_code", "county_code"])
            body = feature_collection(g, props, "id", coords, ds.metric_crs)
        return body

    return compact_json(view.cache.get(("workspace-layer", layer, coords, county), build), request,
                        "application/geo+json")


@router.get("/crs/wgs84", summary="A clicked position on a GCJ-02 basemap back in WGS84")
def to_wgs84(lon: Annotated[float, Query(ge=-180, le=180)], lat: Annotated[float, Query(ge=-90, le=90)],
             coords: CoordsQ = "gcj02") -> Response:
    """Convert a position clicked on a GCJ-02 basemap back to WGS84."""
    x, y = crs.convert([lon], [lat], coords, "wgs84")
    return Response(json.dumps({"lon": round(float(x[0]), 7), "lat": round(float(y[0]), 7)}),
                    media_type="application/json")


@router.get("/baseline", summary="Share of people within reach of the current network, per town and county",
            responses=responses(401, 403))
def baseline(request: Request, ctx: Ctx, db: Db, user: Planner) -> Response:
    """The share of people within reach of the current network, per town and county."""
    view = ctx.view(db)

    def build() -> dict[str, Any]:
        # the plan with no new point and no closure measures the network as it stands
        p = plan(view.dataset, Scenario(name="baseline", budget=0, allow_closures=False, min_per_town=False))
        return {"metrics": {k: p.metrics[k] for k in ("population", "people_before", "share_before")},
                "towns": records(p.towns), "counties": records(p.counties)}

    return compact_json(view.cache.get("workspace-baseline", build), request)


# --------------------------------------------------------------------------- plans
class PlanName(BaseModel):
    """The name a plan is saved under."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


@router.put("/plans/{scenario_id}/name", summary="Save a plan under a name", responses=responses(401, 403, 404, 422))
def save_plan(user: Planner, row: LockedScenario, body: PlanName, request: Request, db: Db) -> Response:
    """Save a plan under a name; the rename is audited."""
    require_edit(user, row.county_code, "save plans")
    crud.add_audit(db, user, "scenario.rename", "scenario", row.id, row.county_code, {"from": row.name, "to": body.name})
    row.name = body.name
    db.commit()
    return compact_json(_plan_item(row), request)


@router.get("/plans", summary="The planner's plans (own county for a county planner)", responses=responses(401, 403))
def plans(request: Request, db: Db, user: Planner) -> Response:
    """The planner's plans, newest first (a county planner: its own county's)."""
    q = select(ScenarioRow)
    if user.role != "city_planner":
        q = q.where(ScenarioRow.county_code == user.county_code)
    rows = db.scalars(q.order_by(ScenarioRow.created_at.desc(), ScenarioRow.id).limit(500)).all()
    return compact_json({"items": [_plan_item(r) for r in rows]}, request)


@router.get("/plans/{scenario_id}", summary="A plan for the map: summary, towns, stations with reasons",
            responses=responses(401, 403, 404, 409, 422))
def plan_view(user: Planner, row: ScenarioDep, plan_row: PlanDep, request: Request, coords: CoordsQ = "wgs84",
              lang: LangQ = "zh") -> Response:
    """A plan for the map: summary, towns and stations with the reasons for each decision."""
    _check_sees(user, row)
    fc = _convert_features(plan_row.stations_geojson, coords)
    feats = []
    for f in fc["features"]:
        p = dict(f["properties"])
        p["reason"] = localize_reason(str(p.get("reason") or ""), lang)
        feats.append({**f, "properties": p})
    summary = plan_row.summary
    return compact_json({"id": row.id, "name": row.name, "county_code": row.county_code, "owner": row.owner,
                         "scenario": summary.get("scenario"), "metrics": summary.get("metrics"),
                         "counties": summary.get("counties"), "towns": summary.get("towns"),
                         "stations": {"type": "FeatureCollection", "features": feats}}, request)


@router.get("/plans/{scenario_id}/assignment", summary="Deputy groups → stations of a plan, as lines",
            responses=responses(401, 403, 404, 409, 422, 503))
def plan_assignment(user: Planner, row: ScenarioDep, plan_row: PlanDep, request: Request, ctx: Ctx, db: Db,
                    coords: CoordsQ = "wgs84") -> Response:
    """A plan's deputy groups → stations links as GeoJSON lines."""
    _check_sees(user, row)
    view = ctx.view(db)
    a = view.cache.get(("workspace-assignment", row.id),
                       lambda: ctx.renderer.assignment(view, row.county_code, plan_row.gpkg))
    links = a.links_geodataframe()
    lines = feature_collection(links.assign(link=np.arange(len(links)).astype(str)),
                               ["group_id", "station_id", "distance_m", "sector_match"], "link", coords,
                               ctx.catalog.base.metric_crs)
    by_station: dict[str, dict[str, list[str]]] = {}
    for gid, sid in zip(a.group_stations["group_id"].astype(str), a.group_stations["station_id"].astype(str)):
        by_station.setdefault(sid, {"groups": [], "conveners": []})["groups"].append(gid)
    conv = a.conveners
    if len(conv):
        for sid, role, dep in zip(conv["station_id"].astype(str), conv["role"].astype(str), conv["deputy_id"]):
            if role == "convener" and dep == dep and dep is not None:
                by_station.setdefault(sid, {"groups": [], "conveners": []})["conveners"].append(str(dep))
    return compact_json({"links": lines, "by_station": by_station}, request)


@router.get("/plans/{scenario_id}/export.csv", summary="A plan's stations or towns as CSV (UTF-8 with BOM, for Excel)",
            responses=responses(401, 403, 404, 409, 422))
def export_csv(user: Planner, row: ScenarioDep, plan_row: PlanDep,
               table: Literal["stations", "towns"] = "stations", lang: LangQ = "zh") -> Response:
    """A plan's stations or towns as CSV (UTF-8 with BOM, so that Excel opens it)."""
    _check_sees(user, row)
    if table == "towns":
        rows = plan_row.summary.get("towns") or []
    else:
        rows = [dict(f["properties"], lon=f["geometry"]["coordinates"][0], lat=f["geometry"]["coordinates"][1])
                for f in plan_row.stations_geojson["features"]]
        for r in rows:
            r["reason"] = localize_reason(str(r.get("reason") or ""), lang)
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    return Response("\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="plan-{row.id}-{table}.csv"'})


@router.get("/plans/{scenario_id}/map", summary="A plan as a standalone HTML map (works offline)",
            responses=responses(401, 403, 404, 409, 422, 503))
def export_map(user: Planner, row: ScenarioDep, plan_row: PlanDep, ctx: Ctx, db: Db, lang: LangQ = "zh") -> Response:
    """A plan as a standalone HTML map with every asset inlined, so that it opens offline."""
    _check_sees(user, row)
    view = ctx.view(db)
    # self-contained (opens on a PC with no internet); rendered once per plan, version and language
    html = view.cache.get(("workspace-map", row.id, lang),
                          lambda: ctx.renderer.map_page(view, row.county_code, plan_row.gpkg, lang))
    return Response(html, media_type="text/html; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="plan-{row.id}.html"'})


@router.get("/compare", summary="Two plans compared: metrics, towns, stations whose decision differs",
            responses=responses(401, 403, 404, 409, 422))
def compare_plans(request: Request, db: Db, user: Planner, a: Annotated[str, Query(min_length=1, max_length=64)],
                  b: Annotated[str, Query(min_length=1, max_length=64)], coords: CoordsQ = "wgs84") -> Response:
    """Two plans compared: metrics, towns, and the stations whose decision differs."""
    ra, pa = _plan_for(db, user, a)
    rb, pb = _plan_for(db, user, b)
    cmp = compare(load_plan(pa.gpkg), load_plan(pb.gpkg))
    where = {f["id"]: f for f in _convert_features(pb.stations_geojson, coords)["features"]}
    where_a = {f["id"]: f for f in _convert_features(pa.stations_geojson, coords)["features"]}
    changed = []
    for r in records(cmp.stations):
        f = where.get(r["id"]) or where_a.get(r["id"])
        if f is not None:
            changed.append({"type": "Feature", "id": r["id"], "geometry": f["geometry"],
                            "properties": {**r, "tier": f["properties"].get("tier")}})
    return compact_json({"a": {"id": ra.id, "name": ra.name}, "b": {"id": rb.id, "name": rb.name},
                         "metrics": records(cmp.metrics), "towns": records(cmp.towns),
                         "stations": {"type": "FeatureCollection", "features": changed}}, request)


# --------------------------------------------------------------------------- install
#: The page's policy: its own scripts and styles only (no inline code), data from this origin, images
#: also from the basemap tile servers the planner can pick.
TILE_SOURCES = ("https://tile.openstreetmap.org", "https://*.tianditu.gov.cn", "https://*.is.autonavi.com")
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; "
            f"img-src 'self' data: {' '.join(TILE_SOURCES)}; font-src 'self'; object-src 'none'; "
            "base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

def install(app: FastAPI, session_ttl_seconds: float = 8 * 3600) -> None:
    """Serve the workspace from ``app``: page at ``/``, assets, these routes and cookie sessions."""
    store = SessionStore(ttl_seconds=session_ttl_seconds)
    app.state.workspace_sessions = store
    app.include_router(router)

    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                            headers={"Cache-Control": "no-cache", "Content-Security-Policy": PAGE_CSP,
                                     "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"})

    app.mount("/workspace/static", GZipMiddleware(StaticFiles(directory=STATIC_DIR), minimum_size=1024),
              name="workspace-static")
    app.add_middleware(SessionAuth, store=store)
