"""Helpers shared by routes: pagination links, JSON responses, query parameters and checks."""
from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Annotated, Any, Mapping
from urllib.parse import urlencode

from fastapi import Query, Request
from starlette.responses import Response

from api.catalog import Catalog
from api.problems import ApiProblem

GEOJSON = "application/geo+json"
#: OpenAPI ``responses=`` entry of a route answering with a GeoJSON FeatureCollection.
GEOJSON_200: dict[int | str, dict[str, Any]] = {
    200: {"content": {GEOJSON: {"schema": {"$ref": "#/components/schemas/FeatureCollection"}}}}}

Limit = Annotated[int, Query(ge=1, le=5000, description="Page size (at most 5000)")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="Rows to skip")]
Code = Annotated[str | None, Query(max_length=32)]


def href(request: Request, path: str, params: Mapping[str, Any] | None = None) -> str:
    """A link to ``path``: under ``GEOPLAN_PUBLIC_BASE_URL`` when set, else root-relative.

    Never built from the request's ``Host`` header, which the client chooses.
    """
    base = request.app.state.ctx.settings.public_base_url
    query = f"?{urlencode(params)}" if params else ""
    return f"{base.rstrip('/') if base else ''}{path}{query}"


def self_href(request: Request, **changes: Any) -> str:
    """A link to this request's path and query, with ``changes`` to the query."""
    params = dict(request.query_params.multi_items())
    params.update({k: str(v) for k, v in changes.items()})
    return href(request, request.url.path, params)


def page_links(request: Request, offset: int, limit: int, matched: int, media: str | None = None) -> list[dict[str, Any]]:
    """``self`` and, when more rows remain, ``next`` links (OGC API Features style)."""
    links = [{"href": self_href(request), "rel": "self", "type": media}]
    if offset + limit < matched:
        links.append({"href": self_href(request, offset=offset + limit, limit=limit), "rel": "next", "type": media})
    if offset > 0:
        links.append({"href": self_href(request, offset=max(0, offset - limit), limit=limit), "rel": "prev",
                      "type": media})
    return links


def utc(value: datetime) -> datetime:
    """A stored time in UTC: SQLite drops the zone (every stored time is UTC); zoned values are converted."""
    return value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc(value).isoformat()
    return str(value)


def json_response(body: Any, media_type: str = "application/json", status: int = 200,
                  headers: dict[str, str] | None = None) -> Response:
    """Compact JSON response (numpy/pandas values converted) with the given media type and status."""
    return Response(json.dumps(body, separators=(",", ":"), default=_default), status_code=status,
                    media_type=media_type, headers=headers)


def check_limit(limit: int, max_page: int) -> None:
    """Raise a 422 :class:`ApiProblem` naming ``query.limit`` if ``limit`` exceeds ``max_page``."""
    if limit > max_page:
        raise ApiProblem(422, f"limit must be <= {max_page}", field="query.limit", kind="validation-error")


def check_codes(catalog: Catalog, county: str | None, town: str | None) -> None:
    """422 naming ``query.county`` / ``query.town`` if either code is not in the dataset."""
    if county is not None and county not in catalog.county_codes:
        raise ApiProblem(422, f"unknown county code {county!r}", field="query.county", kind="unknown-id")
    if town is not None and town not in catalog.town_county:
        raise ApiProblem(422, f"unknown town code {town!r}", field="query.town", kind="unknown-id")


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    """``minLon,minLat,maxLon,maxLat`` (WGS84) → tuple; 422 naming ``query.bbox`` if malformed."""
    if text is None:
        return None
    parts = text.split(",")
    try:
        vals = tuple(float(p) for p in parts)
    except ValueError:
        vals = ()
    if len(parts) != 4 or len(vals) != 4:
        raise ApiProblem(422, "bbox must be four numbers: minLon,minLat,maxLon,maxLat", field="query.bbox",
                         kind="validation-error")
    x0, y0, x1, y1 = vals
    if not all(v == v and abs(v) != float("inf") for v in vals) or not (-180 <= x0 <= x1 <= 180) \
            or not (-90 <= y0 <= y1 <= 90):
        raise ApiProblem(422, "bbox must satisfy -180 <= minLon <= maxLon <= 180 and -90 <= minLat <= maxLat <= 90",
                         field="query.bbox", kind="validation-error")
    return vals
