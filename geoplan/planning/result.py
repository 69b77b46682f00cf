"""The :class:`Plan` result, its :class:`PlanMetrics`, and its GeoPackage / GeoJSON I/O.

:meth:`Plan.save` / :meth:`Plan.load` use the GeoPackage layers ``plan_stations``,
``plan_towns``, ``plan_counties`` and the ``plan_meta`` table (format, dataset
name, scenario JSON, metrics JSON).
"""
from __future__ import annotations

import json
import math
from collections.abc import Iterator, Mapping
from dataclasses import MISSING, dataclass, fields
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

__all__ = ["Plan", "PlanMetrics", "STATION_COLUMNS", "AREA_COLUMNS", "VILLAGE_COLUMNS", "PLAN_LAYERS",
           "OPTIONAL_PLAN_LAYERS", "PLAN_FORMAT"]

#: Columns of :attr:`Plan.stations` (besides geometry), in order.
STATION_COLUMNS: tuple[str, ...] = (
    "id", "name", "tier", "level", "town_code", "sector", "status", "site_id", "category", "footfall",
    "decision", "reason", "reach_people", "unique_people", "loss_if_closed",
)
#: Per-area columns of :attr:`Plan.towns` and :attr:`Plan.counties` (after code, name).
AREA_COLUMNS: tuple[str, ...] = (
    "population", "covered_before", "covered_after", "share_before", "share_after",
    "stations_before", "stations_after", "access_before", "access_after",
)
#: Columns of :attr:`Plan.villages` (besides geometry), in order.
VILLAGE_COLUMNS: tuple[str, ...] = ("id", "name", "town_code", "population", "access_before", "access_after")
#: The GeoPackage layers a saved plan consists of.
PLAN_LAYERS: tuple[str, ...] = ("plan_stations", "plan_towns", "plan_counties", "plan_meta")
#: Layers written since the first plan format: a saved plan without them still loads.
OPTIONAL_PLAN_LAYERS: tuple[str, ...] = ("plan_villages",)
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
    access_median_before, access_median_after, access_p10_before, access_p10_after : float
        Access to deputies (enhanced two-step floating catchment, :func:`geoplan.accessibility.e2sfca`):
        deputies per 10,000 people within reach of the median and of the 10th-percentile person
        (population-weighted over the villages), before / after.  A station's supply is its town's
        deputies shared by the town's stations (:func:`~geoplan.accessibility.station_capacity`),
        its catchment its tier's radius with Luo & Qi's three distance zones, straight-line.
    villages_without_access_before, villages_without_access_after : float
        Villages (demand points with people) no station reaches, before / after.
    fairness_price, fairness_price_low, fairness_price_high : float
        With ``min_town_share`` or ``fair="maxmin"``: people (+ venue bonus) the fair plan gives up
        against plain maximal coverage of the same scenario, and the certified bracket of the price
        of the optima (plain bound − fair objective is the high end).  NaN otherwise.
    robust_scenarios, robust_worst_coverage, robust_expected_coverage : float
        With ``robust``: the demand scenarios, and the plan's coverage (people newly reached
        + bonus, over the kept network) in its worst scenario and on average.  NaN otherwise.
    robust_max_regret, robust_mean_regret, robust_max_regret_bound : float
        The plan's largest and mean regret over the scenarios (each scenario's best plan found
        minus this plan), and the certified upper bound on the largest (each scenario's bound).
    alternatives_plans, sites_firm, sites_swappable, sites_only_one : float
        With ``Scenario.alternatives``: the plans found within ``alternatives_tolerance`` of the
        optimum and how many of the optimum's new points are in all of them (firm), some
        (swappable) or only the optimum (only-one).  NaN when not run.

    Metrics after ``town_share_min_before`` are optional: they are NaN in plans saved before
    they existed (and when their question was not asked).

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
    access_median_before: float = math.nan
    access_median_after: float = math.nan
    access_p10_before: float = math.nan
    access_p10_after: float = math.nan
    villages_without_access_before: float = math.nan
    villages_without_access_after: float = math.nan
    fairness_price: float = math.nan
    fairness_price_low: float = math.nan
    fairness_price_high: float = math.nan
    robust_scenarios: float = math.nan
    robust_worst_coverage: float = math.nan
    robust_expected_coverage: float = math.nan
    robust_max_regret: float = math.nan
    robust_mean_regret: float = math.nan
    robust_max_regret_bound: float = math.nan
    alternatives_plans: float = math.nan
    sites_firm: float = math.nan
    sites_swappable: float = math.nan
    sites_only_one: float = math.nan

    def __post_init__(self) -> None:
        # every NaN (a question not asked) is the one math.nan object, so metrics read back from
        # JSON compare equal to themselves — as a dataclass and as a dict (`is` before `==`)
        for k in _NAN_FIELDS:
            v = getattr(self, k)
            if isinstance(v, float) and math.isnan(v) and v is not math.nan:
                object.__setattr__(self, k, math.nan)

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
            if v is None and k in _OPTIONAL_METRICS:  # NaN served as JSON null (the API's metrics)
                continue
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

_NAN_FIELDS: tuple[str, ...] = tuple(k for k, t in _METRIC_TYPES.items() if t is float)

#: Metrics added after the first plan format (those with a default): a saved plan without them still
#: loads (they stay NaN).
_OPTIONAL_METRICS: frozenset[str] = frozenset(f.name for f in fields(PlanMetrics) if f.default is not MISSING)


def _canon_geo(g: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    geom = g.geometry.values
    out = canon_table(pd.DataFrame(g.drop(columns=g.geometry.name)))
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geom, crs=g.crs).values, crs=g.crs)


def _no_villages() -> gpd.GeoDataFrame:
    cols = {c: pd.Series(dtype=object if c in ("id", "name", "town_code") else float) for c in VILLAGE_COLUMNS}
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs=STORAGE_CRS), crs=STORAGE_CRS)


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
        Also ``access_before`` / ``access_after``: the people-weighted mean access to
        deputies of the town's villages (deputies per 10,000 people, see ``villages``).
    counties : pandas.DataFrame
        The same columns per county (code, name, ...).
    metrics : PlanMetrics
        The headline numbers (coverage before/after, counts, distances, the
        optimizer's objective, bound and gap, timings).
    villages : geopandas.GeoDataFrame or None
        WGS84 points, one per demand point: id, name, town_code, population, access_before,
        access_after — the enhanced two-step floating catchment index (deputies per 10,000
        people within reach, :mod:`geoplan.accessibility`) before and after the plan.  None for
        a plan saved before villages were (layer ``plan_villages``).
    """

    scenario: Scenario
    dataset_name: str
    stations: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame
    counties: pd.DataFrame
    metrics: PlanMetrics
    villages: gpd.GeoDataFrame | None = None

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
                  "plan_counties": self.counties, "plan_meta": meta,
                  # always written (empty without villages), so no older plan's villages linger in the file
                  "plan_villages": self.villages if self.villages is not None else _no_villages()}
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
        villages = None
        if "plan_villages" in layers:
            v = pyogrio.read_dataframe(path, layer="plan_villages")
            villages = _canon_geo(v.set_crs(STORAGE_CRS, allow_override=True) if v.crs is None else v.to_crs(STORAGE_CRS))
            villages = villages if len(villages) else None
        return cls(
            scenario=Scenario.model_validate_json(meta["scenario"]),
            dataset_name=meta["dataset_name"],
            stations=_canon_geo(stations),
            towns=_canon_geo(towns),
            counties=canon_table(counties),
            metrics=PlanMetrics.from_dict(json.loads(meta["metrics"]), where=f"plan: {path} layer plan_meta metrics"),
            villages=villages,
        )
