"""The dataset as the API serves it: public layers as pre-rendered GeoJSON features with
filter columns, and per station-edit version the edited dataset and its county subsets
(``Dataset.with_station_edits`` / ``Dataset.subset``).

This is lookup and filtering only; every planning answer comes from :mod:`geoplan`.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import shapely

from api.cache import Memo
from api.planner import jsonable
from geoplan.datasets import Dataset, StationEdit
from geoplan.scenario import Scenario, review
from geoplan.settings import STORAGE_CRS

if TYPE_CHECKING:
    from api.workers import Compute

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


def _warm(ds: Dataset) -> Dataset:
    """Fill the dataset's lazy metric-CRS cache now: solver threads share the dataset, and
    ``Dataset.to_metric`` fills its cache layer by layer, which is not safe to race.
    """
    ds.to_metric()
    return ds


@dataclass
class View:
    """The dataset with station edits up to ``version`` applied, and its layer indexes."""

    version: int
    dataset: Dataset
    layers: dict[str, LayerIndex]
    #: results derived from this version (county subsets, review features, map pages), bounded
    cache: Memo = field(default_factory=Memo)
    #: the station edits applied (worker processes rebuild the same dataset from them)
    edits: tuple[StationEdit, ...] = ()

    def dataset_for(self, county_code: str | None) -> Dataset:
        """The edited dataset, cut to one county when given (``InputError`` for an unknown county)."""
        if county_code is None:
            return self.dataset
        return self.cache.get(("county", county_code), lambda: _warm(self.dataset.subset(county_code)))

    def review_features(self, county_code: str | None, scenario: Scenario, compute: Compute) -> list[dict[str, Any]]:
        """:func:`review_features` of the county (or city) under ``scenario``, computed once per scenario by
        ``compute`` (an :class:`api.workers.Compute`: in a worker process by default).

        Raises the library's ``InputError`` for ids the scenario names that the dataset lacks,
        which makes this the check a scenario passes before it is stored.
        """
        return self.cache.get(("review", county_code, scenario.model_dump_json()),
                              lambda: compute.review(self, county_code, scenario))


def review_features(dataset: Dataset, scenario: Scenario) -> list[dict[str, Any]]:
    """``geoplan.scenario.review`` of ``dataset`` under ``scenario`` as GeoJSON features (infinities → null)."""
    feats = features(review(dataset, scenario).to_crs(STORAGE_CRS), "id")
    for f in feats:
        f["properties"] = jsonable(f["properties"])
    return feats


class Catalog:
    """Holds the loaded dataset and the current :class:`View` (rebuilt when station edits change)."""

    def __init__(self, base: Dataset, cache_entries: int = 32) -> None:
        self.base = _warm(base)
        self.cache_entries = cache_entries
        self.town_county: dict[str, str] = dict(zip(base.towns["code"].astype(str), base.towns["county_code"].astype(str)))
        self.county_codes: frozenset[str] = frozenset(base.counties["code"].astype(str))
        self.deputy_ids: frozenset[str] = frozenset(base.deputies["id"].astype(str))
        group_county = dict(zip(base.groups["id"].astype(str), base.groups["county_code"].astype(str)))
        #: deputy id → county of its group (deputy-level data belongs to that county's office)
        self.deputy_county: dict[str, str] = {
            d: group_county.get(g, "") for d, g in zip(base.deputies["id"].astype(str), base.deputies["group_id"].astype(str))}
        self._outside: dict[str | None, frozenset[str]] = {}
        self.site_ids: frozenset[str] = frozenset(base.sites["id"].astype(str))
        self.site_county: dict[str, str] = {
            s: self.town_county.get(t, "") for s, t in zip(base.sites["id"].astype(str), base.sites["town_code"].astype(str))}
        self._static = {n: _index(n, base, self.town_county) for n in PUBLIC_LAYERS if n != "stations"}
        self._lock = threading.Lock()
        self._view = View(0, base, self._static | {"stations": _index("stations", base, self.town_county)},
                          Memo(cache_entries))

    def view(self, version: int, load_edits: Any) -> View:
        """The view at ``version`` (the largest station-edit id); ``load_edits()`` lists the edits."""
        v = self._view
        if v.version == version:
            return v
        with self._lock:
            if self._view.version != version:
                edits = tuple(StationEdit(e.station_id, e.action, e.town_code, dict(e.data or {}))
                              for e in load_edits())
                ds = _warm(self.base.with_station_edits(edits))
                self._view = View(version, ds, self._static | {"stations": _index("stations", ds, self.town_county)},
                                  Memo(self.cache_entries), edits)
            return self._view

    def deputies_outside(self, county_code: str | None) -> frozenset[str]:
        """Ids of the deputies whose group is not in ``county_code``."""
        with self._lock:
            if county_code not in self._outside:
                self._outside[county_code] = frozenset(d for d, c in self.deputy_county.items() if c != county_code)
            return self._outside[county_code]

    def town_at(self, lon: float, lat: float) -> str | None:
        """Code of the town whose polygon contains the point (None outside every town)."""
        towns = self.base.towns
        hit = towns.sindex.query(shapely.Point(lon, lat), predicate="intersects")
        return str(towns["code"].iloc[int(hit[0])]) if len(hit) else None


__all__ = ["Catalog", "View", "LayerIndex", "PUBLIC_LAYERS", "LAYER_TITLES", "features", "review_features"]
