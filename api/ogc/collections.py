"""The OGC collections: which exist for a user, their metadata, and their features.

Three kinds, all answered by code the rest of the API already uses:

- the public layers (counties, towns, stations, venues, demand): the catalog view's
  :class:`~api.catalog.LayerIndex` (station edits applied), filtered by ``LayerIndex.select``;
- ``deputies`` (planners only, no geometry): :func:`api.queries.select_deputies`;
- ``plan-{scenario_id}``: a stored plan's stations (``Plan.to_geojson`` as the plans table
  keeps it), indexed once into a ``LayerIndex`` and filtered the same way.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import geopandas as gpd
import numpy as np
import shapely
from sqlalchemy.orm import Session

from api import crud
from api.catalog import LAYER_TITLES, PUBLIC_LAYERS, LayerIndex, View
from api.deps import AppContext, User
from api.planner import records
from api.problems import ApiProblem
from api.queries import DEPUTY_FILTERS, LAYER_FILTERS, select_deputies
from api.routes.common import utc
from geoplan.datasets import DEPUTY_LEVELS, SITE_CATEGORIES, STATUSES, TIERS

PLAN_PREFIX = "plan-"
PLAN_FILTERS: list[str] = ["county", "town", "tier", "status", "category", "decision"]
DECISIONS: tuple[str, ...] = ("keep", "close", "open")
#: Allowed values of the enumerated filters (the OpenAPI document lists them).
FILTER_VALUES: dict[str, tuple[str, ...]] = {"tier": TIERS, "status": STATUSES, "category": SITE_CATEGORIES,
                                             "decision": DECISIONS, "level": DEPUTY_LEVELS}
FILTER_HELP: dict[str, str] = {
    "county": "county code (of the feature's town; of the group for deputies)", "town": "town code",
    "tier": "station tier", "status": "station status", "category": "venue category",
    "decision": "the plan's decision for the station", "level": "deputy level", "group": "deputy group id",
}

Kind = Literal["layer", "deputies", "plan"]
Box = tuple[float, float, float, float]
Interval = tuple[datetime | None, datetime | None]


@dataclass(frozen=True)
class Collection:
    """One collection: what it is, its filters and extents, and where its rows come from."""

    id: str
    kind: Kind
    title: str
    description: str
    filters: tuple[str, ...]  # property filters (bbox, datetime and paging are always accepted)
    count: int
    bbox: Box | None  # WGS84 extent, None without geometry
    instant: datetime | None = None  # a plan's creation time: its features' temporal extent
    index: LayerIndex | None = None  # layers and plans


@dataclass(frozen=True)
class Page:
    """Features of one items request: those on the page and how many matched in all."""

    features: list[dict[str, Any]]
    matched: int


def _bounds(frame: gpd.GeoDataFrame) -> Box | None:
    geoms = frame.geometry
    if not len(frame) or geoms.isna().all():
        return None
    x0, y0, x1, y1 = (float(v) for v in geoms.total_bounds)
    return (x0, y0, x1, y1)


def _layer(view: View, name: str) -> Collection:
    index = view.layers[name]
    filters = tuple(f for f in LAYER_FILTERS[name] if f != "bbox")
    desc = LAYER_TITLES[name] + ". The dataset has no feature times: `datetime` is accepted and does not filter."
    return Collection(name, "layer", LAYER_TITLES[name], desc, filters, len(index.features), _bounds(index.frame),
                      index=index)


def _deputies(ctx: AppContext) -> Collection:
    return Collection("deputies", "deputies", "Deputies (pseudonymous; planners only)",
                      "One row per deputy, without geometry: a bbox matches none of them.",
                      tuple(DEPUTY_FILTERS), len(ctx.catalog.base.deputies), None)


def plan_index(scenario_id: str, geojson: dict[str, Any], town_county: dict[str, str]) -> LayerIndex:
    """A stored plan's stations (``Plan.to_geojson``) as a :class:`LayerIndex` with the plan filters."""
    feats = list(geojson["features"])
    xy = np.array([f["geometry"]["coordinates"] for f in feats], dtype=float).reshape(-1, 2)
    frame = gpd.GeoDataFrame(geometry=shapely.points(xy), crs="EPSG:4326")

    def column(key: str) -> np.ndarray:
        return np.array(["" if (v := f["properties"].get(key)) is None else str(v) for f in feats], dtype=object)

    towns = column("town_code")
    cols = {"town": towns, "county": np.array([town_county.get(t, "") for t in towns], dtype=object)}
    cols |= {k: column(k) for k in ("tier", "status", "category", "decision")}
    return LayerIndex(PLAN_PREFIX + scenario_id, frame, feats, cols)


def _plan(ctx: AppContext, db: Session, view: View, header: tuple[str, str, str | None, datetime]) -> Collection:
    """The collection of one stored plan; its index is built once per plan (memoised on the view)."""
    sid, name, county, created = header

    def build() -> LayerIndex:
        geojson = crud.plan_stations_geojson(db, sid) or {"features": []}
        return plan_index(sid, geojson, ctx.catalog.town_county)

    index = view.cache.get(("ogc-plan", sid, created), build)  # a re-used id gets a new plan time
    where = f"county {county}" if county else "the whole city"
    return Collection(PLAN_PREFIX + sid, "plan", f"Plan: {name}",
                      f"Stations of scenario {sid} ({where}) with the plan's decision keep/close/open; "
                      "their time is the plan's creation time.",
                      tuple(PLAN_FILTERS), len(index.features), _bounds(index.frame), utc(created), index)


def list_collections(ctx: AppContext, db: Session, user: User) -> list[Collection]:
    """Every collection ``user`` may read: public layers, deputies for planners, stored plans."""
    view = ctx.view(db)
    out = [_layer(view, n) for n in PUBLIC_LAYERS]
    if user.is_planner:
        out.append(_deputies(ctx))
    out += [_plan(ctx, db, view, header) for header in crud.stored_plans(db)]
    return out


def get_collection(ctx: AppContext, db: Session, user: User, collection_id: str) -> Collection:
    """The collection ``collection_id``; 404 if unknown, 403 for deputies without a planner role."""
    if collection_id in PUBLIC_LAYERS:
        return _layer(ctx.view(db), collection_id)
    if collection_id == "deputies":
        if not user.is_planner:
            raise ApiProblem(403, f"role {user.role!r} may not read deputies; a planner role is required",
                             kind="forbidden")
        return _deputies(ctx)
    if collection_id.startswith(PLAN_PREFIX):
        found = crud.stored_plans(db, collection_id[len(PLAN_PREFIX):])
        if found:
            return _plan(ctx, db, ctx.view(db), found[0])
    raise ApiProblem(404, f"unknown collection {collection_id!r}; see /ogc/collections", field="path.collectionId",
                     kind="unknown-id")


def in_interval(t: datetime, interval: Interval) -> bool:
    """Whether instant ``t`` lies in the closed interval (``None`` ends are open)."""
    start, end = interval
    return (start is None or start <= t) and (end is None or t <= end)


def _deputy_feature(rec: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Feature", "id": str(rec["id"]), "geometry": None, "properties": rec}


def items(ctx: AppContext, col: Collection, filters: dict[str, str], bbox: Box | None, interval: Interval | None,
          offset: int, limit: int) -> Page:
    """The page ``[offset, offset + limit)`` of the collection's features matching every filter."""
    if interval is not None and col.instant is not None and not in_interval(col.instant, interval):
        return Page([], 0)
    if col.kind == "deputies":
        if bbox is not None:  # no geometry: nothing intersects a box
            return Page([], 0)
        rows = select_deputies(ctx.catalog.base, filters.get("county"), filters.get("town"), filters.get("level"),
                               filters.get("group"))
        return Page([_deputy_feature(r) for r in records(rows.iloc[offset:offset + limit])], len(rows))
    assert col.index is not None
    hits = col.index.select(dict(filters), bbox)
    return Page([col.index.features[i] for i in hits[offset:offset + limit]], int(len(hits)))


def feature(ctx: AppContext, col: Collection, feature_id: str, *, county: str | None = None) -> dict[str, Any]:
    """One feature by id; 404 naming the collection if it has none with that id.

    ``county`` limits the deputies collection to that county's deputies (a county planner's view).
    """
    if col.kind == "deputies":
        dep = select_deputies(ctx.catalog.base, county)
        rows = dep[dep["id"].astype(str) == feature_id]
        if len(rows):
            return _deputy_feature(records(rows)[0])
    else:
        assert col.index is not None
        for f in col.index.features:
            if f["id"] == feature_id:
                return f
    raise ApiProblem(404, f"collection {col.id} has no feature {feature_id!r}", field="path.featureId",
                     kind="unknown-id")


__all__ = ["Collection", "Page", "PLAN_PREFIX", "PLAN_FILTERS", "FILTER_VALUES", "FILTER_HELP", "list_collections",
           "get_collection", "plan_index", "items", "feature", "in_interval"]
