"""The OpenAPI 3.0 definition of the ``/ogc`` service (conformance class ``oas30``).

The main app's ``/openapi.json`` is OpenAPI 3.1 and covers the whole API; OGC clients
(GDAL's OAPIF driver, QGIS) read a 3.0 document from the landing page's ``service-desc``
link. This one describes each public layer's items path with its own property filters
(so clients can pass equality filters to the server), and one templated path for the
plan collections, whose ids change as plans are stored.
"""
from __future__ import annotations

from typing import Any

from api.catalog import LAYER_TITLES, PUBLIC_LAYERS
from api.ogc.collections import FILTER_HELP, FILTER_VALUES, PLAN_FILTERS
from api.ogc.params import DEFAULT_LIMIT, FORMATS
from api.queries import DEPUTY_FILTERS, LAYER_FILTERS

OPENAPI_MEDIA = "application/vnd.oai.openapi+json;version=3.0"
_PROBLEM = {"$ref": "#/components/responses/Problem"}


def _param(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "maxLength": 64}
    if name in FILTER_VALUES:
        schema = {"type": "string", "enum": list(FILTER_VALUES[name])}
    return {"name": name, "in": "query", "required": False, "style": "form", "explode": False,
            "description": f"Only features with this {FILTER_HELP[name]}", "schema": schema}


def _items(summary: str, filters: list[str], path_param: bool) -> dict[str, Any]:
    params: list[dict[str, Any]] = [{"$ref": f"#/components/parameters/{p}"} for p in ("bbox", "datetime", "limit",
                                                                                       "offset", "f")]
    if path_param:
        params.insert(0, {"$ref": "#/components/parameters/collectionId"})
    params += [_param(f) for f in filters if f != "bbox"]
    return {"get": {
        "summary": summary, "tags": ["Data"], "parameters": params,
        "responses": {"200": {"description": "GeoJSON FeatureCollection with `numberMatched`, `numberReturned`, "
                                             "`timeStamp` and `self`/`next`/`prev` links",
                              "content": {"application/geo+json": {"schema": {"$ref": "#/components/schemas/"
                                                                                       "featureCollectionGeoJSON"}}}},
                      "400": _PROBLEM, "401": _PROBLEM, "403": _PROBLEM, "404": _PROBLEM}}}


def _json(description: str, schema: str) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _get(summary: str, ok: dict[str, Any], tag: str, params: tuple[str, ...] = (), auth: bool = True) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "tags": [tag],
                          "parameters": [{"$ref": f"#/components/parameters/{p}"} for p in params],
                          "responses": {"200": ok, "400": _PROBLEM, "401": _PROBLEM, "404": _PROBLEM}}
    if not auth:
        op["security"] = []
    return {"get": op}


def document(max_page: int, version: str) -> dict[str, Any]:
    """The OpenAPI 3.0.3 document of the service (paths relative to the server URL ``/ogc``)."""
    paths: dict[str, Any] = {
        "/": _get("Landing page", _json("Links to the API definition, conformance and collections", "landingPage"),
                  "Capabilities", auth=False),
        "/conformance": _get("Conformance classes this service implements",
                             _json("The conformance classes", "confClasses"), "Capabilities", auth=False),
        "/api": _get("This API definition (OpenAPI 3.0)", {"description": "OpenAPI 3.0 document", "content": {
            OPENAPI_MEDIA: {"schema": {"type": "object"}}}}, "Capabilities", auth=False),
        "/collections": _get("The collections the token may read", _json("Collections", "collections"),
                             "Capabilities"),
        "/collections/{collectionId}": _get("One collection's metadata and extents", _json("Collection",
                                                                                              "collection"),
                                            "Capabilities", ("collectionId",)),
        "/collections/{collectionId}/items": _items("Features of a collection (the plan-{scenario_id} collections "
                                                    f"take {', '.join(PLAN_FILTERS)})", PLAN_FILTERS, True),
        "/collections/{collectionId}/items/{featureId}": _get(
            "One feature", {"description": "GeoJSON Feature", "content": {"application/geo+json": {
                "schema": {"$ref": "#/components/schemas/featureGeoJSON"}}}}, "Data", ("collectionId", "featureId")),
    }
    for name in PUBLIC_LAYERS:
        paths[f"/collections/{name}/items"] = _items(LAYER_TITLES[name], LAYER_FILTERS[name], False)
    paths["/collections/deputies/items"] = _items("Deputies (planners only; no geometry)", DEPUTY_FILTERS, False)
    link = {"type": "object", "required": ["href", "rel"],
            "properties": {"href": {"type": "string"}, "rel": {"type": "string"}, "type": {"type": "string"},
                           "title": {"type": "string"}}}
    links = {"type": "array", "items": {"$ref": "#/components/schemas/link"}}
    extent = {"type": "object", "properties": {
        "spatial": {"type": "object", "properties": {
            "bbox": {"type": "array", "items": {"type": "array", "minItems": 4, "maxItems": 6,
                                                "items": {"type": "number"}}},
            "crs": {"type": "string"}}},
        "temporal": {"type": "object", "properties": {
            "interval": {"type": "array", "items": {"type": "array", "minItems": 2, "maxItems": 2,
                                                    "items": {"type": "string", "format": "date-time",
                                                              "nullable": True}}},
            "trs": {"type": "string"}}}}}
    collection = {"type": "object", "required": ["id", "links"], "properties": {
        "id": {"type": "string"}, "title": {"type": "string"}, "description": {"type": "string"}, "links": links,
        "extent": {"$ref": "#/components/schemas/extent"}, "itemType": {"type": "string"},
        "crs": {"type": "array", "items": {"type": "string"}}}}
    feature = {"type": "object", "required": ["type", "geometry", "properties"], "properties": {
        "type": {"type": "string", "enum": ["Feature"]}, "id": {"type": "string"},
        "geometry": {"type": "object", "nullable": True}, "properties": {"type": "object", "nullable": True},
        "links": links}}
    problem = {"type": "object", "required": ["type", "title", "status", "detail"], "properties": {
        "type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"},
        "detail": {"type": "string"}, "instance": {"type": "string", "nullable": True},
        "errors": {"type": "array", "items": {"type": "object"}}}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "geoplan – OGC API – Features", "version": version,
                 "description": "The dataset's public layers and every stored plan's stations as OGC API – Features "
                                "(Part 1: Core, GeoJSON, OpenAPI 3.0). Send the same token as the rest of the API: "
                                "`Authorization: Bearer <token>` or `X-API-Key`. Errors are RFC 9457 problem details."},
        "servers": [{"url": "/ogc"}],
        "security": [{"bearer": []}, {"apiKey": []}],
        "tags": [{"name": "Capabilities"}, {"name": "Data"}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}},
            "parameters": {
                "collectionId": {"name": "collectionId", "in": "path", "required": True,
                                 "schema": {"type": "string", "maxLength": 100}},
                "featureId": {"name": "featureId", "in": "path", "required": True,
                              "schema": {"type": "string", "maxLength": 100}},
                "bbox": {"name": "bbox", "in": "query", "required": False, "style": "form", "explode": False,
                         "description": "minLon,minLat,maxLon,maxLat in CRS84 (six numbers: heights ignored)",
                         "schema": {"type": "array", "minItems": 4, "maxItems": 6, "items": {"type": "number"}}},
                "datetime": {"name": "datetime", "in": "query", "required": False, "style": "form", "explode": False,
                             "description": "RFC 3339 instant or interval (`..` for an open end); plans have the "
                                            "time they were created, dataset layers have no feature times",
                             "schema": {"type": "string"}},
                "limit": {"name": "limit", "in": "query", "required": False, "style": "form", "explode": False,
                          "description": f"Page size; larger values are served as {max_page}",
                          "schema": {"type": "integer", "minimum": 1, "maximum": max_page,
                                     "default": min(DEFAULT_LIMIT, max_page)}},
                "offset": {"name": "offset", "in": "query", "required": False, "style": "form", "explode": False,
                           "description": "Features to skip (the `next` link sets it)",
                           "schema": {"type": "integer", "minimum": 0, "default": 0}},
                "f": {"name": "f", "in": "query", "required": False, "style": "form", "explode": False,
                      "schema": {"type": "string", "enum": list(FORMATS)}},
            },
            "responses": {"Problem": {"description": "RFC 9457 problem details",
                                      "content": {"application/problem+json": {
                                          "schema": {"$ref": "#/components/schemas/problem"}}}}},
            "schemas": {
                "link": link, "extent": extent, "collection": collection, "problem": problem,
                "landingPage": {"type": "object", "required": ["links"], "properties": {
                    "title": {"type": "string"}, "description": {"type": "string"}, "links": links}},
                "confClasses": {"type": "object", "required": ["conformsTo"], "properties": {
                    "conformsTo": {"type": "array", "items": {"type": "string"}}}},
                "collections": {"type": "object", "required": ["links", "collections"], "properties": {
                    "links": links, "collections": {"type": "array",
                                                    "items": {"$ref": "#/components/schemas/collection"}}}},
                "featureGeoJSON": feature,
                "featureCollectionGeoJSON": {"type": "object", "required": ["type", "features"], "properties": {
                    "type": {"type": "string", "enum": ["FeatureCollection"]},
                    "features": {"type": "array", "items": {"$ref": "#/components/schemas/featureGeoJSON"}},
                    "links": links, "timeStamp": {"type": "string", "format": "date-time"},
                    "numberMatched": {"type": "integer", "minimum": 0},
                    "numberReturned": {"type": "integer", "minimum": 0}}},
            },
        },
    }


__all__ = ["document", "OPENAPI_MEDIA"]
