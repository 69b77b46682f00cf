"""Public layers as RFC 7946 GeoJSON, filtered and paginated; the deputies table for planners."""
from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from api.catalog import LAYER_TITLES, PUBLIC_LAYERS
from api.deps import Ctx, CurrentUser, Db, NoStore, Planner
from api.planner import records
from api.problems import ApiProblem, responses
from api.queries import DEPUTY_FILTERS, LAYER_FILTERS, deputy_county_scope, select_deputies
from api.routes.common import (
    GEOJSON,
    GEOJSON_200,
    Code,
    Limit,
    Offset,
    check_codes,
    check_limit,
    href,
    json_response,
    page_links,
    parse_bbox,
)
from api.schemas import LayerInfo, TablePage
from geoplan.datasets import DEPUTY_LEVELS, SITE_CATEGORIES, STATUSES, TIERS

router = APIRouter(prefix="/layers", tags=["layers"])

LayerName = Enum("LayerName", {n: n for n in PUBLIC_LAYERS}, type=str)  # type: ignore[misc]


@router.get("", response_model=list[LayerInfo], summary="List the public layers",
            responses=responses(401))
def list_layers(user: CurrentUser, request: Request, ctx: Ctx, db: Db) -> list[LayerInfo]:
    """The public layers with their titles, feature counts, filters and links (planners also see the deputies table)."""
    view = ctx.view(db)
    out = [LayerInfo(name=n, title=LAYER_TITLES[n], count=len(view.layers[n].features), filters=LAYER_FILTERS[n],
                     links=[{"href": href(request, f"/layers/{n}"), "rel": "items", "type": GEOJSON}])
           for n in PUBLIC_LAYERS]
    if user.is_planner:
        mine = user.deputy_county
        count = len(ctx.catalog.deputy_county) if mine is None else \
            sum(1 for c in ctx.catalog.deputy_county.values() if c == mine)
        out.append(LayerInfo(name="deputies", title="Deputies (pseudonymous; planners only, county planners: "
                                                    "their county)",
                             count=count, filters=DEPUTY_FILTERS,
                             links=[{"href": href(request, "/layers/deputies"), "rel": "items",
                                     "type": "application/json"}]))
    return out


@router.get("/deputies", response_model=TablePage, summary="Deputies (planners only; county planners: their county)",
            description="City planners see every deputy; a county planner sees the deputies of its own county "
                        "(the default filter) and gets 403 for another county's.",
            responses=responses(401, 403, 422, 429))
def get_deputies(user: Planner, request: Request, ctx: Ctx, _: NoStore,
                 county: Code = None, town: Code = None,
                 level: Literal[DEPUTY_LEVELS] | None = None,  # type: ignore[valid-type]
                 group: Code = None, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    """A page of the deputies table, filtered by county, town, level and group (county planners: their county)."""
    check_limit(limit, ctx.settings.max_page_size)
    check_codes(ctx.catalog, county, town)
    county = deputy_county_scope(user, county)
    rows = select_deputies(ctx.catalog.base, county, town, level, group)
    page = rows.iloc[offset:offset + limit]
    return {"items": records(page), "numberMatched": len(rows), "numberReturned": len(page),
            "links": page_links(request, offset, limit, len(rows), "application/json")}


@router.get("/{layer}", summary="A public layer as GeoJSON",
            response_description="RFC 7946 FeatureCollection (application/geo+json)",
            responses={**GEOJSON_200, **responses(401, 404, 422)})
def get_layer(user: CurrentUser, layer: LayerName, request: Request, ctx: Ctx, db: Db,
              county: Code = None, town: Code = None,
              tier: Literal[TIERS] | None = Query(None, description="stations only"),  # type: ignore[valid-type]
              status: Literal[STATUSES] | None = Query(None, description="stations only"),  # type: ignore[valid-type]
              category: Literal[SITE_CATEGORIES] | None = Query(None, description="venues only"),  # type: ignore[valid-type]
              bbox: str | None = Query(None, max_length=200, description="minLon,minLat,maxLon,maxLat (WGS84)"),
              limit: Limit = 100, offset: Offset = 0) -> Response:
    """A page of a public layer as a GeoJSON FeatureCollection, filtered by the layer's own filters and bbox."""
    name = layer.value
    check_limit(limit, ctx.settings.max_page_size)
    given = {"county": county, "town": town, "tier": tier, "status": status, "category": category}
    for key, value in given.items():
        if value is not None and key not in LAYER_FILTERS[name]:
            raise ApiProblem(422, f"filter '{key}' does not apply to layer {name}; use {', '.join(LAYER_FILTERS[name])}",
                             field=f"query.{key}", kind="validation-error")
    check_codes(ctx.catalog, county, town)
    box = parse_bbox(bbox)
    index = ctx.view(db).layers[name]
    rows = index.select(given, box)
    page = rows[offset:offset + limit]
    body = {"type": "FeatureCollection", "features": [index.features[i] for i in page],
            "numberMatched": int(len(rows)), "numberReturned": int(len(page)),
            "links": page_links(request, offset, limit, len(rows), GEOJSON),
            "timeStamp": datetime.now(timezone.utc).isoformat()}
    return json_response(body, GEOJSON)
