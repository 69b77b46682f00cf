"""Network review ("look back"): per existing station, reach, unique reach, loss if closed, redundancy."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api.deps import AppContext, Ctx, CurrentUser, Db, ScenarioDep
from api.problems import input_problem, responses
from api.routes.common import (
    GEOJSON,
    GEOJSON_200,
    Code,
    Limit,
    Offset,
    check_codes,
    check_limit,
    json_response,
    page_links,
)
from geoplan.exceptions import InputError
from geoplan.scenario import Scenario

router = APIRouter(tags=["review"])


def _review_features(ctx: AppContext, db: Any, county: str | None, scenario: Scenario) -> list[dict[str, Any]]:
    try:
        return ctx.view(db).review_features(county, scenario, ctx.renderer)
    except InputError as exc:  # e.g. a stored scenario naming a station that no longer exists
        raise input_problem(exc, "stored") from exc


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


@router.get("/review", summary="Review of the current station network",
            description="geoplan.scenario.review with default parameters on the current stations (edits applied).",
            responses={**GEOJSON_200, **responses(401, 422, 503)})
def review_network(user: CurrentUser, request: Request, ctx: Ctx, db: Db, county: Code = None, town: Code = None,
                   redundant: bool | None = None, limit: Limit = 1000, offset: Offset = 0) -> Response:
    """A page of the review of the current station network (default parameters), filtered by area and redundancy."""
    check_limit(limit, ctx.settings.max_page_size)
    check_codes(ctx.catalog, county, town)
    feats = _review_features(ctx, db, None, Scenario())
    return _page(request, feats, ctx.catalog.town_county, county, town, redundant, limit, offset)


@router.get("/scenarios/{scenario_id}/review",
            summary="Review of the network under a scenario's parameters",
            responses={**GEOJSON_200, **responses(401, 404, 422, 503)})
def review_scenario(user: CurrentUser, row: ScenarioDep, request: Request, ctx: Ctx, db: Db,
                    redundant: bool | None = None, limit: Limit = 1000, offset: Offset = 0) -> Response:
    """A page of the review of the network under a stored scenario's parameters."""
    check_limit(limit, ctx.settings.max_page_size)
    sc = Scenario.model_validate_json(row.scenario_json)
    feats = _review_features(ctx, db, row.county_code, sc)
    return _page(request, feats, ctx.catalog.town_county, None, None, redundant, limit, offset)
