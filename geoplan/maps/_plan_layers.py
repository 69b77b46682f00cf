"""What the plan map and the comparison map share (package-private): plan checks and layers."""
from __future__ import annotations

from typing import Any, Iterable, Mapping

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan.datasets import Dataset
from geoplan.exceptions import InputError
from geoplan.i18n import Translator
from geoplan.maps._helpers import (
    LAYER,
    add_counties,
    add_demand,
    add_reach,
    add_stations,
    add_towns,
    add_venues,
    assignment_links_layer,
    county_names,
    empty_layer,
    feature_collection,
    share_colormap,
    town_names,
)
from geoplan.settings import DEFAULT_RADIUS_M, STORAGE_CRS
from geoplan.vocabulary import DECISIONS


def plan_radius(plan: Any) -> dict[str, float]:
    scenario = getattr(plan, "scenario", None)
    radius = getattr(scenario, "radius_m", None)
    return dict(radius) if radius else dict(DEFAULT_RADIUS_M)


def check_columns(df: pd.DataFrame, needed: Iterable[str], what: str) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputError(f"{what}: required column(s) {', '.join(missing)} missing")


PLAN_STATION_COLUMNS = ("id", "name", "tier", "town_code", "decision", "reason", "reach_people", "unique_people")
PLAN_TOWN_COLUMNS = ("code", "name", "population", "share_before", "share_after")


def station_fields(tr: Translator) -> dict[str, tuple[str, str]]:
    return {
        "name": ("text", tr("Name")), "id": ("text", tr("Id")), "tier": ("text", tr("Tier")),
        "level": ("text", tr("Level")), "town": ("text", tr("Town")), "sector": ("text", tr("Sector")),
        "decision": ("text", tr("Decision")), "category": ("text", tr("Venue")),
        "reach_people": ("int", tr("People within reach")),
        "unique_people": ("int", tr("Reached by no other station")),
        "loss_if_closed": ("int", tr("People left unreached if closed")), "reason": ("text", tr("Why")),
    }


def links_fallback(dataset: Dataset, assignment: Any, stations: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Lines group town → station from a bare ``group_stations`` table (group_id, station_id)."""
    table = getattr(assignment, "group_stations", None)
    if not isinstance(table, pd.DataFrame):
        raise InputError("assignment: expected an Assignment with a 'group_stations' table")
    check_columns(table, ("group_id", "station_id"), "assignment.group_stations")
    st = stations.to_crs(STORAGE_CRS)
    st_xy = pd.DataFrame(shapely.get_coordinates(st.geometry.values), columns=["sx", "sy"], index=st["id"].astype(str))
    towns: gpd.GeoDataFrame = dataset.to_metric()["towns"]
    anchor = gpd.GeoSeries(shapely.point_on_surface(towns.geometry.values), crs=towns.crs).to_crs(STORAGE_CRS)
    town_xy = pd.DataFrame(shapely.get_coordinates(anchor.values), columns=["gx", "gy"], index=towns["code"].astype(str))
    groups = dataset.groups.assign(group_id=dataset.groups["id"].astype(str))[["group_id", "town_code"]]
    t = table.assign(group_id=table["group_id"].astype(str), station_id=table["station_id"].astype(str))
    t = t[["group_id", "station_id"]].merge(groups, on="group_id", how="left")
    t = t.join(town_xy, on="town_code").join(st_xy, on="station_id").dropna(subset=["gx", "gy", "sx", "sy"])
    a = np.stack([t[["gx", "gy"]].to_numpy(float), t[["sx", "sy"]].to_numpy(float)], axis=1)
    lines = shapely.linestrings(a) if len(t) else np.empty(0, dtype=object)
    return gpd.GeoDataFrame(t[["group_id", "station_id"]].reset_index(drop=True), geometry=lines, crs=STORAGE_CRS)


def add_links(m: folium.Map, dataset: Dataset, assignment: Any, stations: gpd.GeoDataFrame, tr: Translator) -> None:
    """Group → station links, off by default.

    Uses :func:`assignment_links_layer` (coloured by sector match) for a real
    :class:`~geoplan.assign.Assignment`; a bare object with a ``group_stations``
    table is drawn from the groups' towns.
    """
    if hasattr(assignment, "links_geodataframe"):
        group = assignment_links_layer(assignment, lang=tr.lang)
        group.layer_name = tr(LAYER["links"])
        group.show = False
        group.add_to(m)
        return
    links = links_fallback(dataset, assignment, stations)
    if links.empty:
        empty_layer(m, tr(LAYER["links"]), show=False)
        return
    folium.GeoJson(
        feature_collection(links, {"group_id": "text", "station_id": "text"}),
        name=tr(LAYER["links"]),
        show=False,
        style_function=lambda f: {"color": "#424242", "weight": 1, "opacity": 0.55},
        tooltip=folium.GeoJsonTooltip(fields=["group_id", "station_id"], aliases=[tr("Deputy group"), tr("Station")]),
    ).add_to(m)


def metrics_of(plan: Any) -> dict[str, Any]:
    """A plan's metrics as a dict: ``PlanMetrics.to_dict()``, or a bare mapping (a duck-typed plan), or {}."""
    m: Any = getattr(plan, "metrics", None)
    if hasattr(m, "to_dict"):
        return dict(m.to_dict())
    return dict(m) if isinstance(m, Mapping) else {}


def check_plan(plan: Any, label: str = "plan") -> None:
    stations = getattr(plan, "stations", None)
    towns = getattr(plan, "towns", None)
    if not isinstance(stations, gpd.GeoDataFrame) or not isinstance(towns, gpd.GeoDataFrame):
        raise InputError(f"{label}: expected a Plan with 'stations' and 'towns' GeoDataFrames")
    check_columns(stations, PLAN_STATION_COLUMNS, f"{label}.stations")
    check_columns(towns, PLAN_TOWN_COLUMNS, f"{label}.towns")
    bad = ~stations["decision"].isin(DECISIONS)
    if bad.any():
        row = stations.loc[bad, "id"].iloc[0]
        raise InputError(
            f"{label}.stations: row {row}: column 'decision' value {stations.loc[bad, 'decision'].iloc[0]!r} "
            f"is not one of {', '.join(DECISIONS)}"
        )


def plan_layers(m: folium.Map, dataset: Dataset, plan: Any, assignment: Any | None, venues: bool,
                 tr: Translator) -> pd.DataFrame:
    """Add a plan's layers to ``m``; return its stations with town names and icon states."""
    stations, towns = plan.stations, plan.towns
    radius_m = plan_radius(plan)
    t = towns.copy()
    if "county" not in t.columns and "county_code" in t.columns:
        t = t.merge(county_names(dataset), on="county_code", how="left")
    add_towns(
        m, dataset, t, "share_after", share_colormap(), tr(LAYER["towns"]),
        {"name": "text", "county": "text", "population": "int", "share_before": "pct", "share_after": "pct",
         "stations_before": "int", "stations_after": "int"},
        [tr("Town"), tr("County"), tr("People"), tr("Within reach before"), tr("Within reach after"),
         tr("Stations before"), tr("Stations after")],
    )
    add_counties(m, dataset, tr)
    add_demand(m, dataset, tr)
    st = stations.drop(columns=[c for c in ("town",) if c in stations.columns]).merge(
        town_names(dataset), on="town_code", how="left"
    )
    st["state"] = st["decision"].map({"open": "open", "close": "close"}).fillna("")
    fields = {k: v for k, v in station_fields(tr).items() if k in st.columns}
    add_stations(m, st[st["decision"] == "keep"], tr(LAYER["keep"]), "state", fields, tr)
    add_stations(m, st[st["decision"] == "open"], tr(LAYER["open"]), "state", fields, tr)
    add_stations(m, st[st["decision"] == "close"], tr(LAYER["close"]), "state", fields, tr)
    add_reach(m, st[st["decision"] != "close"], radius_m, tr)
    if assignment is not None:
        add_links(m, dataset, assignment, stations, tr)
    if venues:
        add_venues(m, dataset, tr)
    return st
