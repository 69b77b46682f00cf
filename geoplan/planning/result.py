"""The :class:`Plan` result, its :class:`PlanMetrics`, and its GeoPackage / GeoJSON I/O.

:meth:`Plan.save` / :meth:`Plan.load` use the GeoPackage layers ``plan_stations``,
``plan_towns``, ``plan_counties`` and the ``plan_meta`` table (format, dataset
name, scenario JSON, metrics JSON).
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geoplan.datasets import write_gpkg
from geoplan.exceptions import InputError
from geoplan.planning._helpers import canon_table
from geoplan.planning.scenario import Scenario
from geoplan.settings import STORAGE_CRS

__all__ = ["Plan", "PlanMetrics", "STATION_COLUMNS", "AREA_COLUMNS", "PLAN_LAYERS", "PLAN_FORMAT"]

#: Columns of :attr:`Plan.stations` (besides geometry), in order.
STATION_COLUMNS: tuple[str, ...] = (
    "id", "name", "tier", "level", "town_code", "sector", "status", "site_id", "category", "footfall",
    "decision", "reason", "reach_people", "unique_people", "loss_if_closed",
)
#: Per-area columns of :attr:`Plan.towns` and :attr:`Plan.counties` (after code, name).
AREA_COLUMNS: tuple[str, ...] = (
    "population", "covered_before", "covered_after", "share_before", "share_after",
    "stations_before", "stations_after",
)
#: The GeoPackage layers a saved plan consists of.
PLAN_LAYERS: tuple[str, ...] = ("plan_stations", "plan_towns", "plan_counties", "plan_meta")
#: Value of the ``format`` row of ``plan_meta``.
PLAN_FORMAT = "geoplan.plan/1"


@dataclass(frozen=True)
class PlanMetrics(Mapping[str, Any]):
    """The headline numbers of a plan (typed, frozen).

    Read them as attributes (``plan.metrics.share_after``); :meth:`to_dict` gives
    the JSON object saved in ``plan_meta`` and served by the API (same keys, same
    order). The object is also a read-only mapping (``plan.metrics["n_open"]``).

    Attributes
    ----------
    population, people_before, people_after : float
        People in the demand layer; within reach of a station before / after the plan.
    share_before, share_after : float
        The same as shares of ``population`` (0 when there is nobody).
    n_existing, n_keep, n_close, n_open, n_candidates : int
        Active stations reviewed, kept, closed; new points opened; candidate venues.
    people_lost_by_closures : float
        People the closures left without a station within reach (closures taken one at a time).
    mean_distance_before_m, mean_distance_after_m : float
        Population-weighted straight-line distance to the nearest station (inf: no station).
    towns_without_station : int
        Towns with no station after the plan.
    objective, bound, gap : float
        The siting model's objective (people covered + venue bonus), its proven bound and relative gap.
    solver, status : str
        The optimizer that ran (``none`` when nothing was to be chosen) and its status.
    seconds, plan_seconds : float
        Wall-clock seconds of the optimizer and of the whole :func:`~geoplan.planning.plan` call.
    town_share_min_before, town_share_min_after, town_share_p10_before, town_share_p10_after : float
        The worst town's and the 10th-percentile town's share of people within reach, before / after
        (towns with people only; NaN when there are none, and in plans saved before these existed).
    town_gini_before, town_gini_after : float
        Gini coefficient of the town shares before / after (0: every town served alike).

    Examples
    --------
    >>> import geoplan
    >>> from geoplan.planning import Scenario, plan
    >>> m = plan(geoplan.load(), Scenario(budget=10)).metrics
    >>> m.n_open == m["n_open"] == 10 and m.n_keep + m.n_close == m.n_existing
    True
    >>> list(m.to_dict())[:3]
    ['population', 'people_before', 'people_after']
    """

    population: float
    people_before: float
    people_after: float
    share_before: float
    share_after: float
    n_existing: int
    n_keep: int
    n_close: int
    n_open: int
    n_candidates: int
    people_lost_by_closures: float
    mean_distance_before_m: float
    mean_distance_after_m: float
    towns_without_station: int
    objective: float
    bound: float
    gap: float
    solver: str
    status: str
    seconds: float
    plan_seconds: float
    town_share_min_before: float = math.nan
    town_share_min_after: float = math.nan
    town_share_p10_before: float = math.nan
    town_share_p10_after: float = math.nan
    town_gini_before: float = math.nan
    town_gini_after: float = math.nan

    # -- the mapping view --------------------------------------------------
    def __getitem__(self, key: str) -> Any:
        if key not in _METRIC_TYPES:
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(_METRIC_TYPES)

    def __len__(self) -> int:
        return len(_METRIC_TYPES)

    def to_dict(self) -> dict[str, Any]:
        """The metrics as a plain dict, in field order (the saved / served JSON object)."""
        return {name: getattr(self, name) for name in _METRIC_TYPES}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "plan.metrics") -> "PlanMetrics":
        """Read metrics back from :meth:`to_dict` output (e.g. the ``plan_meta`` JSON).

        Raises
        ------
        InputError
            A metric missing, unknown, or not a number / text as its field asks.
        """
        types = _METRIC_TYPES
        missing = [k for k in types if k not in data and k not in _OPTIONAL_METRICS]
        unknown = sorted(set(data) - set(types))
        if missing or unknown:
            what = "; ".join(x for x in (f"missing {', '.join(missing)}" if missing else "",
                                         f"unknown {', '.join(unknown)}" if unknown else "") if x)
            raise InputError(f"{where}: {what}")
        values: dict[str, Any] = {}
        for k, t in types.items():
            if k not in data:  # an optional metric of a plan saved before it existed
                continue
            v = data[k]
            ok = isinstance(v, str) if t is str else isinstance(v, (int, float)) and not isinstance(v, bool)
            if not ok:
                raise InputError(f"{where}: {k} must be {'text' if t is str else 'a number'}, got {v!r}")
            values[k] = t(v)
        return cls(**values)


def _json_safe(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(float(v)) else None
    return str(v)


# Field name → Python type, in field order (the annotations are strings under `from __future__`).
_METRIC_TYPES: dict[str, type] = {
    f.name: {"float": float, "int": int, "str": str}[str(f.type)] for f in fields(PlanMetrics)
}

#: Metrics added after the first plan format: a saved plan without them still loads (they stay NaN).
_OPTIONAL_METRICS: frozenset[str] = frozenset(
    f.name for f in fields(PlanMetrics) if f.name.startswith(("town_share_", "town_gini_")))


def _canon_geo(g: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    geom = g.geometry.values
    out = canon_table(pd.DataFrame(g.drop(columns=g.geometry.name)))
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geom, crs=g.crs).values, crs=g.crs)


@dataclass(frozen=True, eq=False)
class Plan:
    """The result of :func:`~geoplan.planning.plan`.

    Attributes
    ----------
    scenario : Scenario
    dataset_name : str
    stations : geopandas.GeoDataFrame
        WGS84; every active existing station and every new point, columns
        id, name, tier, level, town_code, sector, status, site_id, category,
        footfall, decision (keep|close|open), reason, reach_people,
        unique_people (people only it reaches in the planned network; for a
        closed station, the people its closure uncovered), loss_if_closed.
    towns : geopandas.GeoDataFrame
        WGS84 polygons; code, name, county_code, population, covered_before,
        covered_after, share_before, share_after, stations_before, stations_after.
    counties : pandas.DataFrame
        The same columns per county (code, name, ...).
    metrics : PlanMetrics
        The headline numbers (coverage before/after, counts, distances, the
        optimizer's objective, bound and gap, timings).
    """

    scenario: Scenario
    dataset_name: str
    stations: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame
    counties: pd.DataFrame
    metrics: PlanMetrics

    # -- views -----------------------------------------------------------
    @property
    def opened(self) -> gpd.GeoDataFrame:
        """New points (decision ``open``)."""
        return self.stations[self.stations["decision"] == "open"]

    @property
    def closed(self) -> gpd.GeoDataFrame:
        """Existing stations closed by the plan."""
        return self.stations[self.stations["decision"] == "close"]

    @property
    def kept(self) -> gpd.GeoDataFrame:
        """Existing stations kept."""
        return self.stations[self.stations["decision"] == "keep"]

    def summary_table(self, lang: str = "en") -> pd.DataFrame:
        """The headline numbers as a two-column table (metric, value), in ``lang`` ("en" or "zh").

        Examples
        --------
        >>> import geoplan
        >>> from geoplan.planning import Scenario, plan
        >>> t = plan(geoplan.load(), Scenario(budget=5)).summary_table(lang="zh")
        >>> list(t.columns), t.iloc[2, 0]
        (['指标', '数值'], '人口')
        """
        from geoplan.i18n import translator  # lazy: Babel is read only when a table is asked for

        tr = translator(lang)
        m = self.metrics
        n = tr.number
        rows = [
            (tr("scenario"), self.scenario.name),
            (tr("dataset"), self.dataset_name),
            (tr("population"), n(m.population)),
            (tr("people within reach before"), f"{n(m.people_before)} ({tr.percent(m.share_before)})"),
            (tr("people within reach after"), f"{n(m.people_after)} ({tr.percent(m.share_after)})"),
            (tr("stations kept"), n(m.n_keep)),
            (tr("stations closed"), n(m.n_close)),
            (tr("new points opened"), tr("{opened} of budget {budget}", opened=n(m.n_open), budget=n(self.scenario.budget))),
            (tr("mean distance before"), tr.km(m.mean_distance_before_m)),
            (tr("mean distance after"), tr.km(m.mean_distance_after_m)),
            (tr("towns without a station"), n(m.towns_without_station)),
            (tr("optimizer"), tr("{solver} ({status}, gap {gap}, {seconds} s)", solver=m.solver, status=m.status,
                                 gap=tr.percent(m.gap, 2), seconds=f"{m.seconds:.2f}")),
        ]
        return pd.DataFrame(rows, columns=[tr("metric"), tr("value")])

    def to_geojson(self) -> dict[str, Any]:
        """The stations as an RFC 7946 FeatureCollection (WGS84 lon/lat, JSON-safe properties)."""
        st = self.stations
        xy = shapely.get_coordinates(st.geometry.values)
        props = [c for c in st.columns if c != "geometry"]
        cols = {c: st[c].tolist() for c in props}
        features = [
            {
                "type": "Feature",
                "id": str(cols["id"][i]),
                "geometry": {"type": "Point", "coordinates": [round(float(xy[i, 0]), 7), round(float(xy[i, 1]), 7)]},
                "properties": {c: _json_safe(cols[c][i]) for c in props},
            }
            for i in range(len(st))
        ]
        return {"type": "FeatureCollection", "features": features}

    # -- persistence -----------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the plan to a GeoPackage.

        Layers ``plan_stations``, ``plan_towns``, ``plan_counties`` and the
        attribute table ``plan_meta`` (key, value: format, dataset_name,
        scenario JSON, metrics JSON). A new file is written to a temporary
        file and renamed; an existing file (e.g. the dataset's GeoPackage) is
        copied, its plan layers replaced, and the copy renamed over it, so a
        failure never leaves a half-written plan.
        """
        meta = pd.DataFrame({
            "key": ["format", "dataset_name", "scenario", "metrics"],
            "value": [PLAN_FORMAT, self.dataset_name, self.scenario.model_dump_json(),
                      json.dumps(self.metrics.to_dict(), sort_keys=True)],
        })
        frames = {"plan_stations": self.stations, "plan_towns": self.towns,
                  "plan_counties": self.counties, "plan_meta": meta}
        return write_gpkg(path, frames, keep_other_layers=True)

    @classmethod
    def load(cls, path: str | Path) -> "Plan":
        """Read a plan written by :meth:`save`.

        Raises
        ------
        InputError
            If the file is missing or has no plan layers.
        """
        path = Path(path)
        if not path.exists():
            raise InputError(f"plan: file not found: {path}")
        try:
            layers = {str(n) for n, _ in pyogrio.list_layers(path)}
        except Exception as exc:
            raise InputError(f"plan: cannot open {path} as a GeoPackage ({exc})") from exc
        missing = [name for name in PLAN_LAYERS if name not in layers]
        if missing:
            raise InputError(f"plan: {path} has no layer(s) {', '.join(missing)}; was it written by Plan.save?")
        meta_df = pyogrio.read_dataframe(path, layer="plan_meta", read_geometry=False)
        meta = dict(zip(meta_df["key"].astype(str), meta_df["value"].astype(str)))
        if meta.get("format") != PLAN_FORMAT:
            raise InputError(f"plan: {path} layer plan_meta has format {meta.get('format')!r}, expected {PLAN_FORMAT!r}")
        stations = pyogrio.read_dataframe(path, layer="plan_stations").to_crs(STORAGE_CRS)
        towns = pyogrio.read_dataframe(path, layer="plan_towns").to_crs(STORAGE_CRS)
        counties = pd.DataFrame(pyogrio.read_dataframe(path, layer="plan_counties", read_geometry=False))
        return cls(
            scenario=Scenario.model_validate_json(meta["scenario"]),
            dataset_name=meta["dataset_name"],
            stations=_canon_geo(stations),
            towns=_canon_geo(towns),
            counties=canon_table(counties),
            metrics=PlanMetrics.from_dict(json.loads(meta["metrics"]), where=f"plan: {path} layer plan_meta metrics"),
        )
