"""``/ogc``: the OGC API – Features endpoints (landing page, conformance, API definition,
collections, items, one feature). The data and its access rules come from
:mod:`api.ogc.collections`; parameters are checked by :mod:`api.ogc.params`.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from starlette.responses import Response

from api.deps import Ctx, CurrentUser, Db
from api.ogc import collections as cols
from api.ogc.openapi import OPENAPI_MEDIA, document
from api.ogc.params import check_format, check_known, items_query
from api.problems import responses
from api.queries import deputy_county_scope
from api.routes.common import GEOJSON, href, json_response, page_links, self_href

router = APIRouter(prefix="/ogc", tags=["ogc"])

CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
TRS = "http://www.opengis.net/def/uom/ISO-8601/0/Gregorian"
#: The conformance classes declared (and tested in tests/test_ogc.py).
CONFORMANCE: tuple[str, ...] = (
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
)
CollectionId = Annotated[str, Path(min_length=1, max_length=100, description="Collection id")]
FeatureId = Annotated[str, Path(min_length=1, max_length=100, description="Feature id")]
Text = Annotated[str | None, Query(description="see the /ogc/api definition")]
_META = responses(400, 401, 404)


def _link(href: str, rel: str, media: str, title: str | None = None) -> dict[str, str]:
    out = {"href": href, "rel": rel, "type": media}
    if title:
        out["title"] = title
    return out


def _only_f(request: Request) -> None:
    check_known(request.query_params, ("f",))
    check_format(request.query_params)


def _url(request: Request, name: str, **params: str) -> str:
    """A link to route ``name``: under the configured public base URL, never from the ``Host`` header."""
    return href(request, request.app.url_path_for(name, **params))


def _version(request: Request) -> str:
    return str(request.app.version)


@router.get("", summary="OGC API – Features landing page", responses=responses(400))
def landing(request: Request) -> Response:
    """The OGC API – Features landing page: title, description and links to the API, conformance and collections."""
    _only_f(request)
    base = _url(request, "landing")
    body = {"title": "geoplan – deputy stations and plans",
            "description": "Public layers of the dataset and the stations of every stored plan, as OGC API – "
                           "Features. Authenticate with 'Authorization: Bearer <token>'.",
            "links": [_link(base, "self", "application/json", "This document"),
                      _link(_url(request, "api_definition"), "service-desc", OPENAPI_MEDIA,
                            "The API definition (OpenAPI 3.0)"),
                      _link(_url(request, "swagger_ui_html") if _has_docs(request) else base + "/api",
                            "service-doc", "text/html" if _has_docs(request) else OPENAPI_MEDIA,
                            "The API documentation"),
                      _link(_url(request, "conformance"), "conformance", "application/json",
                            "Conformance classes"),
                      _link(_url(request, "list_collections"), "data", "application/json", "The collections")]}
    return json_response(body)


def _has_docs(request: Request) -> bool:
    return any(getattr(r, "name", None) == "swagger_ui_html" for r in request.app.routes)


@router.get("/conformance", summary="Conformance classes", responses=responses(400))
def conformance(request: Request) -> Response:
    """The OGC conformance classes this service implements."""
    _only_f(request)
    return json_response({"conformsTo": list(CONFORMANCE)})


@router.get("/api", summary="The OGC service's API definition (OpenAPI 3.0)", responses=responses(400))
def api_definition(request: Request, ctx: Ctx) -> Response:
    """The OGC service's own OpenAPI 3.0 definition, with this server as its base URL."""
    _only_f(request)
    doc = document(ctx.settings.max_page_size, _version(request))
    doc["servers"] = [{"url": _url(request, "landing")}]
    return json_response(doc, OPENAPI_MEDIA)


def _collection(request: Request, c: cols.Collection) -> dict[str, Any]:
    href = _url(request, "get_collection", collectionId=c.id)
    out: dict[str, Any] = {
        "id": c.id, "title": c.title, "description": c.description, "itemType": "feature", "crs": [CRS84],
        "links": [_link(href, "self", "application/json", c.title),
                  _link(_url(request, "get_items", collectionId=c.id), "items", GEOJSON, "Its features")],
    }
    extent: dict[str, Any] = {}
    if c.bbox is not None:
        extent["spatial"] = {"bbox": [list(c.bbox)], "crs": CRS84}
    if c.instant is not None:
        t = c.instant.isoformat().replace("+00:00", "Z")
        extent["temporal"] = {"interval": [[t, t]], "trs": TRS}
    if extent:
        out["extent"] = extent
    return out


@router.get("/collections", summary="The collections this token may read", responses=_META)
def list_collections(request: Request, ctx: Ctx, db: Db, user: CurrentUser) -> Response:
    """The collections (public layers, plans' stations) the caller may read, with their links."""
    _only_f(request)
    found = cols.list_collections(ctx, db, user)
    return json_response({"links": [_link(self_href(request), "self", "application/json")],
                          "collections": [_collection(request, c) for c in found]})


@router.get("/collections/{collectionId}", summary="One collection's metadata and extents",
            responses=responses(400, 401, 403, 404))
def get_collection(collectionId: CollectionId, request: Request, ctx: Ctx, db: Db,  # noqa: N803 — OGC's name
                   user: CurrentUser) -> Response:
    """One collection's metadata: title, spatial and temporal extents, CRS and links."""
    _only_f(request)
    return json_response(_collection(request, cols.get_collection(ctx, db, user, collectionId)))


@router.get("/collections/{collectionId}/items", summary="Features of a collection (GeoJSON)",
            response_description="GeoJSON FeatureCollection (application/geo+json)",
            responses=responses(400, 401, 403, 404))
def get_items(collectionId: CollectionId, request: Request, ctx: Ctx, db: Db, user: CurrentUser,  # noqa: N803
              bbox: Text = None, datetime_: Annotated[str | None, Query(alias="datetime")] = None,
              limit: Text = None, offset: Text = None, county: Text = None, town: Text = None, tier: Text = None,
              status: Text = None, category: Text = None, decision: Text = None, level: Text = None,
              group: Text = None, f: Text = None) -> Response:
    """A page of a collection's features as GeoJSON, filtered by bbox, datetime and attributes.

    County planners read only their own county's deputies; bad parameters are a 400 naming the parameter.
    """
    # The typed parameters document the request; checking is OGC's (400 naming the parameter).
    c = cols.get_collection(ctx, db, user, collectionId)
    q = items_query(request.query_params, c, ctx.catalog, ctx.settings.max_page_size)
    filters = dict(q.filters)
    if c.kind == "deputies":  # least privilege: a county planner reads its own county's deputies
        scope = deputy_county_scope(user, filters.get("county"))
        if scope is not None:
            filters["county"] = scope
    page = cols.items(ctx, c, filters, q.bbox, q.interval, q.offset, q.limit)
    links = page_links(request, q.offset, q.limit, page.matched, GEOJSON)
    links.append(_link(_url(request, "get_collection", collectionId=c.id), "collection", "application/json",
                       c.title))
    body = {"type": "FeatureCollection", "features": page.features, "numberMatched": page.matched,
            "numberReturned": len(page.features), "timeStamp": datetime.now(timezone.utc).isoformat(),
            "links": links}
    return json_response(body, GEOJSON)


@router.get("/collections/{collectionId}/items/{featureId}", summary="One feature (GeoJSON)",
            responses=responses(400, 401, 403, 404))
def get_feature(collectionId: CollectionId, featureId: FeatureId, request: Request, ctx: Ctx,  # noqa: N803
                db: Db, user: CurrentUser) -> Response:
    """One feature of a collection as GeoJSON, with links to itself and its collection."""
    _only_f(request)
    c = cols.get_collection(ctx, db, user, collectionId)
    feat = dict(cols.feature(ctx, c, featureId, county=user.deputy_county))
    feat["links"] = [_link(self_href(request), "self", GEOJSON),
                     _link(_url(request, "get_collection", collectionId=c.id), "collection",
                           "application/json", c.title)]
    return json_response(feat, GEOJSON)
