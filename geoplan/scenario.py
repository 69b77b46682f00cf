"""What-if scenarios: :class:`Scenario` parameters → :class:`Plan` results.

* :class:`Scenario` — a frozen, JSON-serialisable set of planning parameters.
* :func:`review` — the "look back" review of the existing network: per active
  station the people it reaches, the people only it reaches, what closing it
  would cost, and the keep/close decision with a reason in numbers.
* :func:`plan` — review + siting (maximal covering with the kept stations
  fixed) + metrics: a :class:`Plan` with stations kept / closed / opened,
  coverage before and after (city, town, county), distances, bound and gap.
* :func:`compare` — the differences between two plans (a :class:`Comparison`).
* :meth:`Plan.save` / :meth:`Plan.load` — GeoPackage layers ``plan_stations``,
  ``plan_towns``, ``plan_counties`` and the ``plan_meta`` table (scenario JSON,
  metrics JSON).

Everything is deterministic: the same dataset and scenario give the same
tables and metrics (only the ``seconds`` metrics, wall-clock times, differ).
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import scipy.sparse as sp
import shapely
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from geoplan import access
from geoplan.datasets import SITE_CATEGORIES, TIERS, Dataset, write_gpkg
from geoplan.exceptions import InputError
from geoplan.settings import DEFAULT_RADIUS_M, STORAGE_CRS

if TYPE_CHECKING:
    from geoplan.optimize import Solution
    from geoplan.optimize.solution import SolverName

__all__ = ["Scenario", "Plan", "Comparison", "plan", "review", "compare", "CATEGORY_LABELS"]

Progress = Callable[[float, str], None]
Tier = Literal["home", "station", "point"]

#: Human-readable names of venue categories, used in reasons.
CATEGORY_LABELS: dict[str, str] = {
    "market": "farmers' market",
    "bank": "rural commercial bank",
    "clinic": "village clinic",
    "workshop": "field workshop",
    "enterprise": "leading enterprise",
    "service": "public service window",
    "street": "street",
}

# Scenario.solver → geoplan.optimize solver name.
_SOLVER: dict[str, SolverName] = {"auto": "auto", "exact": "highs", "greedy": "greedy"}

STATION_COLUMNS: tuple[str, ...] = (
    "id", "name", "tier", "level", "town_code", "sector", "status", "site_id", "category", "footfall",
    "decision", "reason", "reach_people", "unique_people", "loss_if_closed",
)
_STR_COLS = ("id", "name", "tier", "level", "town_code", "sector", "status", "site_id", "category",
             "decision", "reason", "code", "county_code")
_AREA_COLUMNS: tuple[str, ...] = (
    "population", "covered_before", "covered_after", "share_before", "share_after",
    "stations_before", "stations_after",
)
PLAN_LAYERS: tuple[str, ...] = ("plan_stations", "plan_towns", "plan_counties", "plan_meta")
_FORMAT = "geoplan.plan/1"


class Scenario(BaseModel):
    """A frozen, JSON-serialisable set of planning parameters.

    ``Scenario.model_validate_json(text)`` / ``scenario.model_dump_json()`` round-trip;
    invalid values raise ``pydantic.ValidationError`` naming the field.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field("scenario", max_length=200, description="Label shown in reports and maps")
    budget: int = Field(150, ge=0, le=100_000, description="Number of new contact points to open")
    radius_m: dict[Tier, float] = Field(
        default_factory=lambda: dict[Tier, float](DEFAULT_RADIUS_M),  # type: ignore[arg-type]  # keys are the tiers
        description="Service radius per station tier, metres; new points use the 'point' radius",
    )
    distance: Literal["straight", "road"] = Field("straight", description="Straight-line or road-network distance")
    speed_kmh: float | None = Field(None, gt=0, le=200, description="If set with distance='road', radii are read as minutes at this speed")
    footfall_weight: float = Field(
        0.0, ge=0, le=1e4, description="People-equivalents per daily visitor of a chosen venue (0 to 10,000)"
    )
    category_weights: dict[str, float] = Field(
        default_factory=dict,
        description="Multiplier per venue category (0 excludes the category); missing categories weigh 1",
    )
    min_per_town: bool = Field(True, description="Every town keeps or gets at least one active station")
    allow_closures: bool = Field(True, description="Run the network review and close redundant stations")
    close_village_homes: bool = Field(True, description="Close village-level deputy homes, as the guideline asks")
    max_closure_loss: float = Field(
        0.0, ge=0, description="A station may close if closing it uncovers at most this many people"
    )
    closable_tiers: tuple[Tier, ...] = Field(
        ("station", "point"),
        description="Tiers the review may close as redundant (village-level homes close by the guideline rule)",
    )
    force_open: tuple[str, ...] = Field((), description="Station ids kept whatever the review says")
    force_closed: tuple[str, ...] = Field((), description="Station ids closed whatever the review says")
    exclude_towns: tuple[str, ...] = Field((), description="Town codes where no new point may open")
    exclude_sites: tuple[str, ...] = Field((), description="Venue ids that may not host a new point")
    solver: Literal["auto", "exact", "greedy"] = Field("auto", description="Optimizer choice")
    time_limit: float = Field(60.0, gt=0, le=3600, description="Seconds for the optimizer")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed for tie-breaking; same inputs and seed give the same plan")

    @field_validator("category_weights")
    @classmethod
    def _known_categories(cls, v: dict[str, float]) -> dict[str, float]:
        for k, w in v.items():
            if k not in SITE_CATEGORIES:
                raise ValueError(f"unknown venue category {k!r}; expected one of {', '.join(SITE_CATEGORIES)}")
            if not (0 <= w <= 1e4):  # also rejects NaN; bounded so weight × footfall never overflows
                raise ValueError(f"weight of {k!r} must be a number from 0 to 10,000")
        return v

    @field_validator("radius_m")
    @classmethod
    def _positive_radii(cls, v: dict[str, float]) -> dict[str, float]:
        for tier in TIERS:
            if tier not in v:
                raise ValueError(f"radius for tier {tier!r} is missing")
            if not (0 < v[tier] <= 50_000):
                raise ValueError(f"radius for tier {tier!r} must be in (0, 50000] metres")
        return v

    @model_validator(mode="after")
    def _open_and_closed_disjoint(self) -> "Scenario":
        both = sorted(set(self.force_open) & set(self.force_closed))
        if both:
            raise ValueError(f"force_open and force_closed both name station(s) {', '.join(both)}")
        return self


# ---------------------------------------------------------------------------
# formatting helpers
# ---------------------------------------------------------------------------
def _n(x: float) -> str:
    """People / visitors with thousands separators ("4,210")."""
    return f"{int(round(float(x))):,}"


def _km(m: float) -> str:
    return "no station" if not np.isfinite(m) else f"{m / 1000.0:.1f} km"


def _report(progress: Progress | None, fraction: float, message: str) -> None:
    if progress is not None:
        progress(float(fraction), message)


# ---------------------------------------------------------------------------
# inputs in metric coordinates
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Inputs:
    demand_xy: np.ndarray
    pop: np.ndarray
    demand_town: np.ndarray  # town index per demand point
    towns: pd.DataFrame  # code, name, county_code (dataset order)
    counties: pd.DataFrame  # code, name
    stations: gpd.GeoDataFrame  # active stations, metric CRS, reset index
    station_xy: np.ndarray
    station_town: np.ndarray
    station_radius: np.ndarray
    sites: gpd.GeoDataFrame  # candidate venues, metric CRS, reset index
    site_xy: np.ndarray
    site_town: np.ndarray
    site_weight: np.ndarray  # category weight
    metric_crs: str


def _check_ids(field: str, values: tuple[str, ...], known: pd.Series, what: str) -> None:
    unknown = sorted(set(values) - set(known.astype(str)))
    if unknown:
        raise InputError(f"scenario.{field}: unknown {what} {', '.join(map(repr, unknown[:5]))}"
                         + (f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else ""))


def _inputs(dataset: Dataset, scenario: Scenario) -> _Inputs:
    m = dataset.to_metric()
    towns = pd.DataFrame(m["towns"][["code", "name", "county_code"]]).reset_index(drop=True)
    town_idx = pd.Index(towns["code"].astype(str))
    # Spatial layers: annotated as GeoDataFrames (to_metric() also returns the attribute tables).
    demand: gpd.GeoDataFrame = m["demand"].reset_index(drop=True)
    all_st: gpd.GeoDataFrame = m["stations"]
    _check_ids("force_open", scenario.force_open, all_st["id"], "station id(s)")
    _check_ids("force_closed", scenario.force_closed, all_st["id"], "station id(s)")
    _check_ids("exclude_towns", scenario.exclude_towns, towns["code"], "town code(s)")
    _check_ids("exclude_sites", scenario.exclude_sites, m["sites"]["id"], "venue id(s)")
    inactive = sorted(set(scenario.force_open) & set(all_st.loc[all_st["status"] != "active", "id"].astype(str)))
    if inactive:
        raise InputError(f"scenario.force_open: station(s) {', '.join(inactive)} are not active in the dataset")
    st = all_st[all_st["status"] == "active"].reset_index(drop=True)
    radius = st["tier"].map(scenario.radius_m).to_numpy(dtype=float)

    sites: gpd.GeoDataFrame = m["sites"].reset_index(drop=True)
    cw = sites["category"].map(lambda c: scenario.category_weights.get(c, 1.0)).to_numpy(dtype=float)
    hosted = set(st["site_id"].dropna().astype(str))
    keep = (
        (cw > 0)
        & ~sites["id"].astype(str).isin(set(scenario.exclude_sites) | hosted).to_numpy()
        & ~sites["town_code"].astype(str).isin(set(scenario.exclude_towns)).to_numpy()
    )
    sites = sites[keep].reset_index(drop=True)
    return _Inputs(
        demand_xy=dataset.xy("demand"),
        pop=demand["population"].to_numpy(dtype=float),
        demand_town=town_idx.get_indexer(demand["town_code"].astype(str)),
        towns=towns,
        counties=pd.DataFrame(m["counties"][["code", "name"]]).reset_index(drop=True),
        stations=st,
        station_xy=shapely.get_coordinates(st.geometry.values).reshape(-1, 2),
        station_town=town_idx.get_indexer(st["town_code"].astype(str)),
        station_radius=radius,
        sites=sites,
        site_xy=shapely.get_coordinates(sites.geometry.values).reshape(-1, 2),
        site_town=town_idx.get_indexer(sites["town_code"].astype(str)),
        site_weight=cw[keep],
        metric_crs=dataset.metric_crs,
    )


def _as_network(network: Any, metric_crs: str) -> access.RoadNetwork:
    """A :class:`~geoplan.access.RoadNetwork` from a RoadNetwork or a networkx graph.

    Node coordinates are read as metres in the dataset's metric CRS, unless every
    node lies within lon/lat bounds, in which case they are WGS84 and projected.
    """
    net = network if isinstance(network, access.RoadNetwork) else access.network_from_edges(network)
    xy = net.node_xy
    if len(xy) and (np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 90).all():
        # lon/lat (a UTM easting is never below 160 km): project, keeping edge lengths
        from pyproj import Transformer

        x, y = Transformer.from_crs(STORAGE_CRS, metric_crs, always_xy=True).transform(xy[:, 0], xy[:, 1])
        net = access.RoadNetwork(graph=net.graph, node_xy=np.column_stack([x, y]), directed=net.directed)
    return net


def _coverage_fn(scenario: Scenario, network: Any, metric_crs: str) -> Callable[[np.ndarray, np.ndarray, np.ndarray], sp.csc_matrix]:
    """Return ``cover(demand_xy, xy, radius) -> bool csc`` for the scenario's distance mode."""
    if scenario.distance == "road":
        if network is None:
            raise InputError("network: scenario.distance is 'road' but no road network was given "
                             "(pass network=RoadNetwork or a networkx graph with x/y nodes and length edges)")
        net = _as_network(network, metric_crs)

        def cover(d: np.ndarray, s: np.ndarray, r: np.ndarray) -> sp.csc_matrix:
            if scenario.speed_kmh is not None:  # radii are minutes
                a = access.network_coverage_matrix(net, d, s, minutes=r, speed_kmh=scenario.speed_kmh)
            else:
                a = access.network_coverage_matrix(net, d, s, radius=r)
            return sp.csc_matrix(a, dtype=np.float64)
    else:
        def cover(d: np.ndarray, s: np.ndarray, r: np.ndarray) -> sp.csc_matrix:
            return sp.csc_matrix(access.coverage_matrix(d, s, r), dtype=np.float64)
    return cover


# ---------------------------------------------------------------------------
# review ("look back")
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class _Review:
    table: pd.DataFrame  # per active station, metric order
    open_: np.ndarray  # bool per active station after review
    cover: sp.csc_matrix  # demand × active stations


def _review(inp: _Inputs, scenario: Scenario, cover_fn: Callable[..., sp.csc_matrix]) -> _Review:
    st = inp.stations
    k = len(st)
    A = cover_fn(inp.demand_xy, inp.station_xy, inp.station_radius)
    pop = inp.pop
    from geoplan.optimize import closure_impact

    impact = closure_impact(A.tocsr(), weights=pop)
    cnt = np.asarray(impact.n_covering, dtype=float)  # active stations reaching each demand point
    reach = A.T @ pop
    unique0 = np.asarray(impact.unique_weight, dtype=float)
    ids = st["id"].astype(str).to_numpy()
    tier = st["tier"].astype(str).to_numpy()
    village_home = (tier == "home") & (st["level"].astype(str).to_numpy() == "village")
    forced_open = np.isin(ids, scenario.force_open)
    forced_closed = np.isin(ids, scenario.force_closed)
    n_towns = len(inp.towns)
    town_has_site = np.bincount(inp.site_town[inp.site_town >= 0], minlength=n_towns) > 0
    town_names = inp.towns["name"].astype(str).to_numpy()

    open_ = np.ones(k, dtype=bool)
    loss = np.full(k, np.nan)
    others = np.zeros(k, dtype=np.int64)
    reason = np.array([""] * k, dtype=object)
    town_open = np.bincount(inp.station_town, minlength=n_towns)

    def close(j: int) -> float:
        nonlocal cnt
        col = A[:, [j]]
        dense = col.toarray().ravel()
        lost = float(pop[(cnt == 1) & (dense > 0)].sum())
        # open stations other than j sharing at least one demand point with it
        shared = (A.T @ col).toarray().ravel() > 0
        shared[j] = False
        others[j] = int((shared & open_).sum())
        cnt = cnt - dense
        open_[j] = False
        town_open[inp.station_town[j]] -= 1
        loss[j] = lost
        return lost

    # 1. forced closures: always
    for j in np.flatnonzero(forced_closed).tolist():
        lost = close(int(j))
        reason[j] = f"closed by scenario (force_closed); {_n(lost)} people lose coverage"
    if scenario.allow_closures:
        # 2. village-level homes, abolished by the guideline
        if scenario.close_village_homes:
            for j in np.flatnonzero(village_home & open_ & ~forced_open).tolist():
                t = inp.station_town[j]
                if scenario.min_per_town and town_open[t] == 1 and not town_has_site[t]:
                    reason[j] = (f"village-level home kept: last station in {town_names[t]} "
                                 "and no venue there to host a replacement")
                    continue
                lost = close(int(j))
                reason[j] = f"village-level home abolished by guideline; {_n(lost)} people lose coverage"
        # 3. redundant stations, greedily: least loss first, loss recomputed after each closure
        eligible = np.isin(tier, scenario.closable_tiers) & ~forced_open & ~village_home
        # stable tie-break: smaller reach, then seed-permuted order (deterministic)
        tiebreak = np.random.default_rng(scenario.seed).permutation(k)
        while True:
            cur = A.T @ (pop * (cnt == 1))
            ok = eligible & open_ & (cur <= scenario.max_closure_loss + 1e-9)
            if scenario.min_per_town:
                ok &= town_open[inp.station_town] > 1
            if not ok.any():
                break
            cand = np.flatnonzero(ok)
            j = int(cand[np.lexsort((tiebreak[cand], reach[cand], cur[cand]))[0]])
            lost = close(j)
            if reach[j] <= 0:
                # "all 0 people ... within reach of 0 other stations" read as nonsense in reports
                reason[j] = f"redundant: reaches nobody within its {inp.station_radius[j]:,.0f} m radius"
            elif lost <= 0:
                reason[j] = (f"redundant: all {_n(reach[j])} people it reaches are within reach of "
                             f"{others[j]} other station{'s' if others[j] != 1 else ''}")
            else:
                reason[j] = (f"redundant: {_n(reach[j] - lost)} of the {_n(reach[j])} people it reaches are "
                             f"within reach of {others[j]} other station{'s' if others[j] != 1 else ''}; "
                             f"{_n(lost)} people lose coverage")
    # what closing each kept station would cost now
    final_unique = A.T @ (pop * (cnt == 1))
    for j in np.flatnonzero(open_).tolist():
        loss[j] = final_unique[j]
        if reason[j]:
            continue
        t = inp.station_town[j]
        if forced_open[j]:
            reason[j] = f"kept by scenario (force_open); reaches {_n(reach[j])} people"
        elif final_unique[j] > 0:
            reason[j] = f"reaches {_n(final_unique[j])} people no other station reaches"
        elif scenario.min_per_town and town_open[t] == 1:
            reason[j] = f"last station in {town_names[t]}; reaches {_n(reach[j])} people"
        elif not scenario.allow_closures:
            reason[j] = f"closures not allowed; reaches {_n(reach[j])} people"
        elif tier[j] not in scenario.closable_tiers:
            reason[j] = f"{tier[j]} tier is not reviewed for closure; reaches {_n(reach[j])} people"
        else:
            reason[j] = f"reaches {_n(reach[j])} people"
    table = pd.DataFrame({
        "id": ids,
        "reach_people": reach.astype(float),
        "unique_people": unique0.astype(float),
        "loss_if_closed": loss.astype(float),
        "redundant": unique0 <= scenario.max_closure_loss + 1e-9,
        "decision": np.where(open_, "keep", "close"),
        "reason": reason.astype(str),
    })
    return _Review(table=table, open_=open_, cover=A)


def review(dataset: Dataset, scenario: Scenario | None = None, network: Any = None) -> gpd.GeoDataFrame:
    """The "look back" review of the existing active stations.

    Parameters
    ----------
    dataset : Dataset
    scenario : Scenario, optional
        Radii, closure rules (``allow_closures``, ``close_village_homes``,
        ``max_closure_loss``, ``closable_tiers``, ``force_open``,
        ``force_closed``, ``min_per_town``). Default ``Scenario()``.
    network : RoadNetwork or networkx graph, optional
        Required when ``scenario.distance == "road"``.

    Returns
    -------
    geopandas.GeoDataFrame
        WGS84; one row per active station: id, name, tier, level, town_code,
        reach_people (people within its radius), unique_people (people no other
        active station reaches), loss_if_closed (for a closed station the people
        its closure uncovered, closures being taken one at a time; for a kept
        one what closing it now would uncover), redundant (its reach is
        duplicated within ``max_closure_loss``), decision (keep|close), reason.
    """
    scenario = scenario or Scenario()
    inp = _inputs(dataset, scenario)
    rv = _review(inp, scenario, _coverage_fn(scenario, network, inp.metric_crs))
    base = inp.stations[["id", "name", "tier", "level", "town_code", "geometry"]].reset_index(drop=True)
    out = gpd.GeoDataFrame(
        pd.concat([base.drop(columns="geometry"), rv.table.drop(columns="id")], axis=1),
        geometry=base.geometry.values, crs=inp.metric_crs,
    ).to_crs(STORAGE_CRS)
    return out


# ---------------------------------------------------------------------------
# the plan
# ---------------------------------------------------------------------------
def _canon_table(df: pd.DataFrame) -> pd.DataFrame:
    """Canonical dtypes so that a saved and re-loaded table compares equal."""
    df = df.reset_index(drop=True).copy()
    for c in df.columns:
        if c == "geometry":
            continue
        if c in _STR_COLS:
            s = df[c]
            isna = s.isna().to_numpy()
            # numpy's stubs reject None as an object scalar for np.where
            txt = np.where(isna, None, s.astype(object).astype(str))  # type: ignore[call-overload]
            df[c] = pd.Series(txt, dtype=object, index=df.index)
        elif c.startswith("stations_"):
            df[c] = df[c].astype(np.int64)
        else:
            df[c] = pd.to_numeric(df[c]).astype(np.float64)
    return df


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


@dataclass(frozen=True, eq=False)
class Plan:
    """The result of :func:`plan`.

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
    metrics : dict
        population, people_before, people_after, share_before, share_after,
        n_keep, n_close, n_open, mean_distance_before_m, mean_distance_after_m
        (population-weighted straight-line distance to the nearest station),
        objective, bound, gap, solver, status, seconds (optimizer),
        plan_seconds (whole call), n_candidates, towns_without_station, ...
    """

    scenario: Scenario
    dataset_name: str
    stations: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame
    counties: pd.DataFrame
    metrics: dict[str, Any]

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

    def summary_table(self) -> pd.DataFrame:
        """The headline numbers as a two-column table (metric, value)."""
        m = self.metrics
        rows = [
            ("scenario", self.scenario.name),
            ("dataset", self.dataset_name),
            ("population", _n(m["population"])),
            ("people within reach before", f"{_n(m['people_before'])} ({m['share_before']:.1%})"),
            ("people within reach after", f"{_n(m['people_after'])} ({m['share_after']:.1%})"),
            ("stations kept", f"{m['n_keep']:,}"),
            ("stations closed", f"{m['n_close']:,}"),
            ("new points opened", f"{m['n_open']:,} of budget {self.scenario.budget:,}"),
            ("mean distance before", _km(m["mean_distance_before_m"])),
            ("mean distance after", _km(m["mean_distance_after_m"])),
            ("towns without a station", f"{m['towns_without_station']:,}"),
            ("optimizer", f"{m['solver']} ({m['status']}, gap {m['gap']:.2%}, {m['seconds']:.2f} s)"),
        ]
        return pd.DataFrame(rows, columns=["metric", "value"])

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
            "value": [_FORMAT, self.dataset_name, self.scenario.model_dump_json(),
                      json.dumps(self.metrics, sort_keys=True)],
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
        if meta.get("format") != _FORMAT:
            raise InputError(f"plan: {path} layer plan_meta has format {meta.get('format')!r}, expected {_FORMAT!r}")
        stations = pyogrio.read_dataframe(path, layer="plan_stations").to_crs(STORAGE_CRS)
        towns = pyogrio.read_dataframe(path, layer="plan_towns").to_crs(STORAGE_CRS)
        counties = pd.DataFrame(pyogrio.read_dataframe(path, layer="plan_counties", read_geometry=False))
        return cls(
            scenario=Scenario.model_validate_json(meta["scenario"]),
            dataset_name=meta["dataset_name"],
            stations=_canon_geo(stations),
            towns=_canon_geo(towns),
            counties=_canon_table(counties),
            metrics=json.loads(meta["metrics"]),
        )


def _canon_geo(g: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    geom = g.geometry.values
    out = _canon_table(pd.DataFrame(g.drop(columns=g.geometry.name)))
    return gpd.GeoDataFrame(out, geometry=gpd.GeoSeries(geom, crs=g.crs).values, crs=g.crs)


def _area_table(keys: np.ndarray, n: int, pop: np.ndarray, before: np.ndarray, after: np.ndarray,
                st_before: np.ndarray, st_after: np.ndarray) -> pd.DataFrame:
    """Per-area sums: ``keys`` are area indices per demand point (``st_*`` per station)."""
    ok = keys >= 0
    p = np.bincount(keys[ok], weights=pop[ok], minlength=n)
    cb = np.bincount(keys[ok], weights=(pop * before)[ok], minlength=n)
    ca = np.bincount(keys[ok], weights=(pop * after)[ok], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        sb = np.where(p > 0, cb / np.where(p > 0, p, 1), 0.0)
        sa = np.where(p > 0, ca / np.where(p > 0, p, 1), 0.0)
    return pd.DataFrame({
        "population": p, "covered_before": cb, "covered_after": ca, "share_before": sb, "share_after": sa,
        "stations_before": np.bincount(st_before[st_before >= 0], minlength=n).astype(np.int64),
        "stations_after": np.bincount(st_after[st_after >= 0], minlength=n).astype(np.int64),
    })


def _pop_mean(d: np.ndarray, pop: np.ndarray) -> float:
    tot = pop.sum()
    if tot <= 0 or not np.isfinite(d).all():
        return float("inf") if len(d) and not np.isfinite(d).all() else 0.0
    return float((d * pop).sum() / tot)


def _solve(cov: sp.csc_matrix, pop: np.ndarray, p: int, fixed: np.ndarray, bonus: np.ndarray,
           groups: np.ndarray | None, min_per_group: np.ndarray | int, scenario: Scenario) -> Solution:
    from geoplan.optimize import max_coverage  # lazy: keeps `import geoplan.scenario` light for the API

    return max_coverage(
        cov.tocsr(), p, weights=pop, fixed=fixed, site_bonus=bonus, groups=groups, min_per_group=min_per_group,
        solver=_SOLVER[scenario.solver], time_limit=scenario.time_limit, seed=scenario.seed,
    )


def plan(dataset: Dataset, scenario: Scenario | None = None, network: Any = None,
         progress: Progress | None = None) -> Plan:
    """Review the existing network and site new contact points.

    Parameters
    ----------
    dataset : Dataset
    scenario : Scenario, optional
        Default ``Scenario()``.
    network : RoadNetwork or networkx graph, optional
        Road network for ``scenario.distance == "road"`` (nodes in the dataset's
        metric CRS, or in WGS84 lon/lat, which are projected).
    progress : callable, optional
        Called as ``progress(fraction, message)`` at each stage.

    Returns
    -------
    Plan

    Raises
    ------
    InputError
        Unknown ids in the scenario, a missing road network, or a budget too
        small for ``min_per_town``.
    """
    t0 = time.perf_counter()
    scenario = scenario or Scenario()
    _report(progress, 0.0, "preparing layers")
    inp = _inputs(dataset, scenario)
    cover_fn = _coverage_fn(scenario, network, inp.metric_crs)
    pop = inp.pop
    n_towns = len(inp.towns)
    town_names = inp.towns["name"].astype(str).to_numpy()
    town_codes = inp.towns["code"].astype(str).to_numpy()

    _report(progress, 0.1, "reviewing existing stations")
    rv = _review(inp, scenario, cover_fn)
    A = rv.cover
    kept = np.flatnonzero(rv.open_)

    _report(progress, 0.35, "building coverage of candidate venues")
    C = cover_fn(inp.demand_xy, inp.site_xy, np.full(len(inp.sites), scenario.radius_m["point"]))
    cov = sp.hstack([A[:, kept], C], format="csc")
    nk = len(kept)
    fixed = np.arange(nk, dtype=np.int64)
    footfall = inp.sites["footfall"].to_numpy(dtype=float)
    bonus = np.concatenate([np.zeros(nk), scenario.footfall_weight * inp.site_weight * footfall])
    col_town = np.concatenate([inp.station_town[kept], inp.site_town])

    # every-town rule: only towns with a candidate venue can be required to get one
    town_kept = np.bincount(inp.station_town[kept], minlength=n_towns)
    town_cands = np.bincount(inp.site_town, minlength=n_towns)
    need = (town_kept == 0) & (town_cands > 0)
    if scenario.min_per_town and need.sum() > scenario.budget:
        names = ", ".join(f"{town_names[t]} ({town_codes[t]})" for t in np.flatnonzero(need)[:8])
        more = f" and {int(need.sum()) - 8} more" if need.sum() > 8 else ""
        raise InputError(
            f"scenario.budget: min_per_town needs a new point in {int(need.sum())} town(s) that have no station "
            f"left after the review ({names}{more}), but budget is {scenario.budget}; raise the budget to at "
            f"least {int(need.sum())} or set min_per_town=False"
        )

    _report(progress, 0.5, f"choosing {scenario.budget} new points among {len(inp.sites):,} venues")
    groups = None
    min_per_group: np.ndarray | int = 0
    if scenario.min_per_town and need.any():
        present, groups = np.unique(col_town, return_inverse=True)
        groups = groups.astype(np.int64)
        min_per_group = need[present].astype(float)
    p = min(scenario.budget, len(inp.sites))
    if p > 0:
        sol = _solve(cov, pop, p, fixed, bonus, groups, min_per_group, scenario)
        if sol.status == "infeasible":
            raise InputError(f"scenario: the siting model is infeasible ({sol.solver}); check min_per_town and budget")
        new = np.asarray(sol.selected, dtype=np.int64) - nk
        sol_info = {"objective": float(sol.objective), "bound": float(sol.bound), "gap": float(sol.gap),
                    "solver": str(sol.solver), "status": str(sol.status), "seconds": float(sol.seconds)}
    else:
        new = np.zeros(0, dtype=np.int64)
        obj = float(pop[np.asarray(cov[:, fixed].sum(axis=1)).ravel() > 0].sum())
        sol_info = {"objective": obj, "bound": obj, "gap": 0.0, "solver": "none", "status": "optimal", "seconds": 0.0}
    new = np.sort(new)

    _report(progress, 0.85, "computing coverage and reasons")
    final = cov[:, np.concatenate([fixed, nk + new])]  # kept stations, then the chosen venues
    cnt_after = np.asarray(final.sum(axis=1)).ravel()
    covered_after = cnt_after > 0
    covered_before = np.asarray(A.sum(axis=1)).ravel() > 0
    reach_final = final.T @ pop
    unique_final = final.T @ (pop * (cnt_after == 1))

    d_before, _ = access.nearest_distance(inp.demand_xy, inp.station_xy)
    after_xy = np.vstack([inp.station_xy[kept], inp.site_xy[new]])
    d_after, _ = access.nearest_distance(inp.demand_xy, after_xy)
    d_site, _ = access.nearest_distance(inp.site_xy[new], inp.station_xy[kept])

    # stations table: existing (metric order) then new points (venue order)
    st = inp.stations
    k = len(st)
    rt = rv.table
    unique_col = rt["loss_if_closed"].to_numpy(dtype=float).copy()
    unique_col[kept] = unique_final[:nk]
    existing = pd.DataFrame({
        "id": st["id"], "name": st["name"], "tier": st["tier"], "level": st["level"],
        "town_code": st["town_code"], "sector": st["sector"], "status": st["status"], "site_id": st["site_id"],
        "category": [None] * k, "footfall": np.full(k, np.nan),
        "decision": rt["decision"], "reason": rt["reason"],
        "reach_people": rt["reach_people"], "unique_people": unique_col,
        "loss_if_closed": rt["loss_if_closed"],
    })
    ns = inp.sites.iloc[new].reset_index(drop=True)
    cat = ns["category"].astype(str).to_numpy()
    vname = ns["name"].astype(object).where(ns["name"].notna(), ns["id"]).astype(str).to_numpy()
    ff = ns["footfall"].to_numpy(dtype=float)
    uq = unique_final[nk:]
    reasons = [
        f"{CATEGORY_LABELS.get(c, c)} {nm}: reaches {_n(u)} people no other station reaches; "
        f"nearest existing station {_km(d)}; footfall {_n(f)}/day"
        for c, nm, u, d, f in zip(cat, vname, uq, d_site, ff)
    ]
    opened = pd.DataFrame({
        "id": "new-" + ns["id"].astype(str), "name": vname, "tier": "point", "level": "town",
        "town_code": ns["town_code"].astype(str), "sector": [None] * len(ns), "status": "proposed",
        "site_id": ns["id"].astype(str), "category": cat, "footfall": ff, "decision": "open",
        "reason": reasons, "reach_people": reach_final[nk:], "unique_people": uq,
        "loss_if_closed": uq,
    })
    geoms = np.concatenate([st.geometry.values, ns.geometry.values]) if len(ns) else st.geometry.values
    stations = gpd.GeoDataFrame(
        _canon_table(pd.concat([existing, opened], ignore_index=True)[list(STATION_COLUMNS)]),
        geometry=gpd.GeoSeries(geoms, crs=inp.metric_crs).values, crs=inp.metric_crs,
    ).to_crs(STORAGE_CRS)

    # per town and county
    st_town_after = np.concatenate([inp.station_town[kept], inp.site_town[new]])
    tt = _area_table(inp.demand_town, n_towns, pop, covered_before, covered_after, inp.station_town, st_town_after)
    towns_wgs = dataset.towns.reset_index(drop=True)
    towns = gpd.GeoDataFrame(
        _canon_table(pd.concat([inp.towns[["code", "name", "county_code"]], tt], axis=1)),
        geometry=towns_wgs.geometry.values, crs=dataset.towns.crs,
    )
    county_idx = pd.Index(inp.counties["code"].astype(str))
    tc = county_idx.get_indexer(pd.Index(inp.towns["county_code"].astype(str)))
    d_county = np.where(inp.demand_town >= 0, tc[np.maximum(inp.demand_town, 0)], -1)
    s_county_b = tc[inp.station_town]
    s_county_a = tc[st_town_after] if len(st_town_after) else np.zeros(0, np.int64)
    ct = _area_table(d_county, len(county_idx), pop, covered_before, covered_after, s_county_b, s_county_a)
    counties = _canon_table(pd.concat([inp.counties[["code", "name"]], ct], axis=1))

    total = float(pop.sum())
    metrics: dict[str, Any] = {
        "population": total,
        "people_before": float(pop[covered_before].sum()),
        "people_after": float(pop[covered_after].sum()),
        "share_before": float(pop[covered_before].sum() / total) if total > 0 else 0.0,
        "share_after": float(pop[covered_after].sum() / total) if total > 0 else 0.0,
        "n_existing": int(k),
        "n_keep": int(nk),
        "n_close": int(k - nk),
        "n_open": int(len(new)),
        "n_candidates": int(len(inp.sites)),
        "people_lost_by_closures": float(np.nansum(rt["loss_if_closed"].to_numpy()[~rv.open_])),
        "mean_distance_before_m": _pop_mean(d_before, pop),
        "mean_distance_after_m": _pop_mean(d_after, pop),
        "towns_without_station": int((tt["stations_after"].to_numpy() == 0).sum()),
        **sol_info,
    }
    metrics["plan_seconds"] = float(time.perf_counter() - t0)
    _report(progress, 1.0, "done")
    return Plan(scenario=scenario, dataset_name=dataset.name, stations=stations, towns=towns,
                counties=counties, metrics=metrics)


# ---------------------------------------------------------------------------
# comparing plans
# ---------------------------------------------------------------------------
_COMPARED = ("population", "people_before", "people_after", "share_before", "share_after", "n_keep", "n_close",
             "n_open", "mean_distance_before_m", "mean_distance_after_m", "towns_without_station",
             "objective", "bound", "gap")


@dataclass(frozen=True, eq=False)
class Comparison:
    """Differences between two plans (``b`` minus ``a``).

    Attributes
    ----------
    metrics : pandas.DataFrame
        metric, a, b, difference (numeric metrics).
    stations : pandas.DataFrame
        Stations whose decision differs: id, name, decision_a, decision_b
        (``absent`` when a plan does not list the station).
    towns : pandas.DataFrame
        code, name, share_a, share_b, diff (share of people within reach after each plan).
    """

    name_a: str
    name_b: str
    metrics: pd.DataFrame
    stations: pd.DataFrame
    towns: pd.DataFrame

    def summary(self) -> str:
        """A few lines of text describing the differences."""
        m = self.metrics.set_index("metric")
        # Float columns indexed by metric name (label lookups on the frame type as any scalar).
        ma, mb = m["a"].astype(float), m["b"].astype(float)
        lines = [f"{self.name_b} vs {self.name_a}:"]
        pa, pb = ma["people_after"], mb["people_after"]
        lines.append(f"  people within reach: {_n(pa)} → {_n(pb)} ({'+' if pb >= pa else '-'}{_n(abs(pb - pa))}; "
                     f"share {ma['share_after']:.1%} → {mb['share_after']:.1%})")
        for key, label in (("n_open", "new points"), ("n_close", "closures"), ("n_keep", "kept stations")):
            lines.append(f"  {label}: {int(ma[key]):,} → {int(mb[key]):,}")
        da, db = ma["mean_distance_after_m"], mb["mean_distance_after_m"]
        lines.append(f"  mean distance to nearest station: {_km(da)} → {_km(db)}")
        lines.append(f"  stations with a different decision: {len(self.stations):,}")
        moved = self.towns[self.towns["diff"].abs() > 1e-9]
        lines.append(f"  towns whose share changed: {len(moved):,}")
        for _, r in moved.reindex(moved["diff"].abs().sort_values(ascending=False).index).head(5).iterrows():
            lines.append(f"    {r['name']} ({r['code']}): {r['share_a']:.1%} → {r['share_b']:.1%}")
        return "\n".join(lines)


def compare(a: Plan, b: Plan) -> Comparison:
    """Compare two plans: metrics, station decisions and town shares (``b`` − ``a``).

    Parameters
    ----------
    a, b : Plan
        The baseline and the alternative plan.

    Returns
    -------
    Comparison
        Metric differences, stations whose decision differs and per-town shares.
    """
    keys = [k for k in _COMPARED if k in a.metrics and k in b.metrics]
    va = np.array([float(a.metrics[k]) for k in keys])
    vb = np.array([float(b.metrics[k]) for k in keys])
    metrics = pd.DataFrame({"metric": keys, "a": va, "b": vb, "difference": vb - va})
    sa = pd.DataFrame(a.stations[["id", "name", "decision"]])
    sb = pd.DataFrame(b.stations[["id", "name", "decision"]])
    st = sa.merge(sb, on="id", how="outer", suffixes=("_a", "_b"), sort=True)
    st["name"] = st["name_a"].where(st["name_a"].notna(), st["name_b"])
    st["decision_a"] = st["decision_a"].astype(object).where(st["decision_a"].notna(), "absent")
    st["decision_b"] = st["decision_b"].astype(object).where(st["decision_b"].notna(), "absent")
    st = st.loc[st["decision_a"] != st["decision_b"], ["id", "name", "decision_a", "decision_b"]].reset_index(drop=True)
    ta = pd.DataFrame(a.towns[["code", "name", "share_after"]])
    tb = pd.DataFrame(b.towns[["code", "share_after"]])
    tw = ta.merge(tb, on="code", how="outer", suffixes=("_a", "_b"), sort=True)
    towns = pd.DataFrame({"code": tw["code"], "name": tw["name"], "share_a": tw["share_after_a"],
                          "share_b": tw["share_after_b"]})
    towns["diff"] = towns["share_b"] - towns["share_a"]
    return Comparison(name_a=a.scenario.name, name_b=b.scenario.name, metrics=metrics, stations=st, towns=towns)
