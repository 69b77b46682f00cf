"""Network review ("look back"): per existing station, reach, unique reach, loss if closed, redundancy."""
from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.deps import AppContext, Ctx, CurrentUser, Db
from api.planner import geoplan_function, jsonable
from api.problems import ApiProblem, responses
from api.routes.common import GEOJSON, check_limit, json_response, page_links
from api.routes.scenarios import ScenarioId, dataset_for, get_row
from api.schemas import FeatureCollection
from geoplan.exceptions import InputError
from geoplan.scenario import Scenario

router = APIRouter(tags=["review"])
Code = Annotated[str | None, Query(max_length=32)]
GEOJSON_200: dict[int | str, dict[str, Any]] = {200: {"content": {GEOJSON: {"schema": {"$ref": "#/components/schemas/FeatureCollection"}}}}}


def _review_features(ctx: AppContext, db: Any, county: str | None, scenario: Scenario) -> list[dict[str, Any]]:
    """Review features, computed once per (station-edit version, county, scenario)."""
    view = ctx.view(db)
    key = ("review", county, scenario.model_dump_json())
    with view.lock:
        cached = view.cache.get(key)
    if cached is not None:
        return cached
    review = geoplan_function("scenario", "review")
    try:
        table = review(dataset_for(ctx, db, county), scenario)
    except InputError as exc:
        raise ApiProblem(422, f"review rejected the parameters: {exc}", kind="invalid-scenario") from exc
    if "geometry" in getattr(table, "columns", []) and hasattr(table, "to_json"):
        feats = json.loads(table.to_crs("EPSG:4326").to_json(na="null", drop_id=True))["features"]
    else:  # a plain table: join the station points
        feats = [{"type": "Feature", "geometry": None, "properties": r} for r in jsonable(table.to_dict("records"))]
    for f in feats:
        f["properties"] = jsonable(f["properties"])
        f["id"] = str(f["properties"].get("id", ""))
    with view.lock:
        view.cache[key] = feats
    return feats


def _page(request: Request, feats: list[dict[str, Any]], town_county: dict[str, str], county: str | None,
          town: str | None, redundant: bool | None, limit: int, offset: int) -> Response:
    def keep(f: dict[str, Any]) -> bool:
        p = f["properties"]
        tc = str(p.get("town_code", ""))
        return ((county is None or town_county.get(tc) == county) and (town is None or tc == town)
                and (redundant is None or bool(p.get("redundant")) == redundant))

    rows = [f for f in feats if keep(f)]
    page = rows[offset:offset + limit]
    return json_response({"type": "FeatureCollection", "features": page, "numberMatched": len(rows),
                          "numberReturned": len(page), "links": page_links(request, offset, limit, len(rows), GEOJSON)},
                         GEOJSON)


@router.get("/review", response_model=FeatureCollection, summary="Review of the current station network",
            description="geoplan.scenario.review with default parameters on the current stations (edits applied).",
            responses={**GEOJSON_200, **responses(401, 422, 503)})
def review_network(request: Request, ctx: Ctx, db: Db, user: CurrentUser, county: Code = None, town: Code = None,
                   redundant: bool | None = None, limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
                   offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0) -> Response:
    check_limit(limit, ctx.settings.max_page_size)
    if county is not None and county not in ctx.catalog.county_codes:
        raise ApiProblem(422, f"unknown county code {county!r}", field="query.county", kind="unknown-id")
    if town is not None and town not in ctx.catalog.town_county:
        raise ApiProblem(422, f"unknown town code {town!r}", field="query.town", kind="unknown-id")
    feats = _review_features(ctx, db, None, Scenario())
    return _page(request, feats, ctx.catalog.town_county, county, town, redundant, limit, offset)


@router.get("/scenarios/{scenario_id}/review", response_model=FeatureCollection,
            summary="Review of the network under a scenario's parameters",
            responses={**GEOJSON_200, **responses(401, 404, 422, 503)})
def review_scenario(scenario_id: ScenarioId, request: Request, ctx: Ctx, db: Db, user: CurrentUser,
                    redundant: bool | None = None, limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
                    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0) -> Response:
    check_limit(limit, ctx.settings.max_page_size)
    row = get_row(db, scenario_id)
    sc = Scenario.model_validate_json(row.scenario_json)
    feats = _review_features(ctx, db, row.county_code, sc)
    return _page(request, feats, ctx.catalog.town_county, None, None, redundant, limit, offset)
