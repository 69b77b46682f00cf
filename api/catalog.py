"""The dataset as the API serves it: public layers as pre-rendered GeoJSON features with
filter columns, station edits applied on top of the loaded stations, county subsets.

This is lookup and filtering only; every planning answer comes from :mod:`geoplan`.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any, Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan.datasets import Dataset

#: URL name → dataset layer of the public layers.
PUBLIC_LAYERS: dict[str, str] = {
    "counties": "counties", "towns": "towns", "stations": "stations", "venues": "sites", "demand": "demand",
}
LAYER_TITLES: dict[str, str] = {
    "counties": "Counties and districts (polygons)",
    "towns": "Towns, streets, townships, farms and parks (polygons)",
    "stations": "Deputy homes, liaison stations and contact points (points; station edits applied)",
    "venues": "Candidate venues for new contact points (points)",
    "demand": "Population demand points (points)",
}


@dataclass(frozen=True)
class LayerIndex:
    """One public layer: its rows' GeoJSON features plus arrays to filter them by."""

    name: str
    frame: gpd.GeoDataFrame
    features: list[dict[str, Any]]
    columns: dict[str, np.ndarray]  # filter name → per-row values (county, town, tier, category, status)

    def select(self, filters: dict[str, str | None], bbox: tuple[float, float, float, float] | None) -> np.ndarray:
        """Row positions matching every given filter, in layer order."""
        mask = np.ones(len(self.features), dtype=bool)
        for key, value in filters.items():
            if value is None:
                continue
            col = self.columns.get(key)
            mask &= (col == value) if col is not None else False
        if bbox is not None and len(self.frame):
            hit = np.zeros(len(self.frame), dtype=bool)
            hit[self.frame.sindex.query(shapely.box(*bbox), predicate="intersects")] = True
            mask &= hit
        return np.flatnonzero(mask)


def features(gdf: gpd.GeoDataFrame, id_column: str) -> list[dict[str, Any]]:
    """A WGS84 frame's rows as GeoJSON features (NaN → null), ``id`` from ``id_column``."""
    feats = json.loads(gdf.to_json(na="null", drop_id=True, to_wgs84=False))["features"]
    for f, fid in zip(feats, gdf[id_column].astype(str)):
        f["id"] = fid
    return feats


def _index(url_name: str, ds: Dataset, town_county: dict[str, str]) -> LayerIndex:
    layer = PUBLIC_LAYERS[url_name]
    gdf = getattr(ds, layer).reset_index(drop=True)
    if layer == "counties":
        cols = {"county": gdf["code"].astype(str).to_numpy()}
    elif layer == "towns":
        cols = {"county": gdf["county_code"].astype(str).to_numpy(), "town": gdf["code"].astype(str).to_numpy()}
    else:
        towns = gdf["town_code"].astype(str)
        cols = {"county": towns.map(town_county).fillna("").to_numpy(dtype=object), "town": towns.to_numpy()}
    if layer == "stations":
        cols["tier"] = gdf["tier"].astype(str).to_numpy()
        cols["status"] = gdf["status"].astype(str).to_numpy()
    if layer == "sites":
        cols["category"] = gdf["category"].astype(str).to_numpy()
    return LayerIndex(url_name, gdf, features(gdf, "code" if layer in ("counties", "towns") else "id"), cols)


def apply_edits(stations: gpd.GeoDataFrame, edits: Iterable[Any]) -> gpd.GeoDataFrame:
    """Stations after the edits (in order): ``propose`` adds a row, ``close``/``reopen`` set the status."""
    out = stations.copy()
    new_rows: list[dict[str, Any]] = []
    status = dict(zip(out["id"].astype(str), out["status"]))
    for e in edits:
        if e.action == "propose":
            d = dict(e.data)
            new_rows.append({"id": e.station_id, "name": d.get("name"), "tier": d["tier"], "level": d["level"],
                             "town_code": e.town_code, "sector": d.get("sector"), "status": "proposed",
                             "site_id": d.get("site_id"), "geometry": shapely.Point(d["lon"], d["lat"])})
            status[e.station_id] = "proposed"
        elif e.action == "close":
            status[e.station_id] = "closed"
        elif e.action == "reopen":
            status[e.station_id] = "active"
    if new_rows:
        add = gpd.GeoDataFrame(new_rows, geometry="geometry", crs=out.crs)
        out = pd.concat([out, add[[c for c in out.columns if c in add.columns]]], ignore_index=True)
        out = gpd.GeoDataFrame(out, geometry=stations.geometry.name, crs=stations.crs)
    out["status"] = out["id"].astype(str).map(status)
    return out


def county_subset(ds: Dataset, county_code: str) -> Dataset:
    """The layers of one county (towns, demand, venues, stations, groups and their deputies)."""
    towns = ds.towns[ds.towns["county_code"] == county_code]
    codes = set(towns["code"])
    sites = ds.sites[ds.sites["town_code"].isin(codes)]
    stations = ds.stations[ds.stations["town_code"].isin(codes)].copy()
    # A station may point at a venue across the county line; keep the reference valid.
    stations.loc[~stations["site_id"].isin(set(sites["id"])), "site_id"] = None
    groups = ds.groups[ds.groups["county_code"] == county_code]
    layers = {
        "counties": ds.counties[ds.counties["code"] == county_code], "towns": towns,
        "demand": ds.demand[ds.demand["town_code"].isin(codes)], "sites": sites, "stations": stations,
        "deputies": ds.deputies[ds.deputies["group_id"].isin(set(groups["id"]))], "groups": groups,
        "committees": ds.committees,
    }
    return _warm(Dataset.from_layers(layers, name=f"{ds.name}-{county_code}", check=False))


def _warm(ds: Dataset) -> Dataset:
    """Fill the dataset's lazy metric-CRS cache now: solver threads share the dataset, and
    ``Dataset.to_metric`` fills its cache layer by layer, which is not safe to race."""
    ds.to_metric()
    return ds


@dataclass
class View:
    """The dataset with station edits up to ``version`` applied, and its layer indexes."""

    version: int
    dataset: Dataset
    layers: dict[str, LayerIndex]
    cache: dict[Any, Any] = field(default_factory=dict)  # derived results (review tables) for this version
    lock: threading.Lock = field(default_factory=threading.Lock)


class Catalog:
    """Holds the loaded dataset and the current :class:`View` (rebuilt when station edits change)."""

    def __init__(self, base: Dataset) -> None:
        self.base = _warm(base)
        self.town_county: dict[str, str] = dict(zip(base.towns["code"].astype(str), base.towns["county_code"].astype(str)))
        self.county_codes: frozenset[str] = frozenset(base.counties["code"].astype(str))
        self.deputy_ids: frozenset[str] = frozenset(base.deputies["id"].astype(str))
        self.site_ids: frozenset[str] = frozenset(base.sites["id"].astype(str))
        self._static = {n: _index(n, base, self.town_county) for n in PUBLIC_LAYERS if n != "stations"}
        self._lock = threading.Lock()
        self._view = View(0, base, self._static | {"stations": _index("stations", base, self.town_county)})

    def view(self, version: int, load_edits: Any) -> View:
        """The view at ``version`` (the largest station-edit id); ``load_edits()`` lists the edits."""
        v = self._view
        if v.version == version:
            return v
        with self._lock:
            if self._view.version != version:
                edits = load_edits()
                stations = apply_edits(self.base.stations, edits)
                layers = self.base.layers() | {"stations": stations}
                ds = _warm(Dataset.from_layers(layers, name=self.base.name, check=False))
                self._view = View(version, ds, self._static | {"stations": _index("stations", ds, self.town_county)})
            return self._view

    def town_at(self, lon: float, lat: float) -> str | None:
        """Code of the town whose polygon contains the point (None outside every town)."""
        towns = self.base.towns
        hit = towns.sindex.query(shapely.Point(lon, lat), predicate="intersects")
        return str(towns["code"].iloc[int(hit[0])]) if len(hit) else None


__all__ = ["Catalog", "View", "LayerIndex", "PUBLIC_LAYERS", "LAYER_TITLES", "apply_edits", "county_subset", "features"]
