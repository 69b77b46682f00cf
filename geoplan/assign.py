"""Who serves where: deputy groups ↔ stations, conveners, visiting deputies, committees.

The city's practice, as rules (all parameters live in :class:`Rules`):

* **Groups ↔ stations** — every active station is linked to at least one deputy
  group, every group to at least one and at most ``max_stations_per_group``
  stations; links are short (distance from the group's home town) and industry
  stations (``sector`` set) prefer groups rich in that sector.
* **Conveners** — each station gets ``conveners_per_station`` (1–2) deputies from
  its linked groups, plus one liaison-officer slot (staff, appointed later); no
  deputy convenes more than ``max_convened_per_deputy`` stations.
* **Every deputy enters a station** — through the stations of their group.
* **Visiting deputies** — each national deputy visits one town and keeps fixed
  contact with 5 residents there; provincial and city deputies do the same by
  group; every town gets a visitor before any town gets a second, and
  under-served towns come first.
* **"1 + 5 + N"** — each special committee is linked to ``committee_groups`` (5)
  groups matched by sector to its field; no group serves two committees unless
  there are too few groups.

Each rule is solved exactly on sparse candidate arcs: bipartite min-cost flows
with lower and upper bounds (networkx network simplex) for the first, second
and last, a rectangular linear assignment (scipy ``linear_sum_assignment``) for
the visits. Costs are metres (integers for the network simplex), discounted by
``sector_discount`` × sector share. Every flow has high-cost slack arcs, so it is
always feasible: whatever used slack is reported as a :class:`Shortfall` (rule,
where, by how much) and the rest of the assignment is still returned.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import shapely
from scipy.optimize import linear_sum_assignment
from scipy.spatial import cKDTree

from geoplan.datasets import DEPUTY_LEVELS, SECTORS, Dataset, write_gpkg
from geoplan.exceptions import InputError
from geoplan.settings import STORAGE_CRS

#: Plan decisions whose stations are in service after the plan.
KEPT_DECISIONS: tuple[str, ...] = ("keep", "open")

#: Names of the rules a :class:`Shortfall` can refer to.
RULES_CHECKED: dict[str, str] = {
    "station_has_group": "every active station is linked to at least one deputy group",
    "group_capacity": "a group links to at most max_stations_per_group stations",
    "group_has_station": "every deputy group is linked to at least one station",
    "deputy_enters_station": "every deputy enters a station through their group",
    "industry_station_sector": "industry stations go to groups rich in their sector",
    "station_conveners": "each station has conveners_per_station[0]..[1] deputy conveners",
    "town_has_visitor": "every town is visited by a national, provincial or city deputy",
    "committee_groups": "each special committee is linked to committee_groups deputy groups",
    "committee_field": "a committee's groups are matched by sector to its field",
    "committee_distinct_groups": "no group is linked to more than one committee",
}

GPKG_LAYERS: tuple[str, ...] = (
    "assign_group_stations",
    "assign_conveners",
    "assign_deputy_towns",
    "assign_committee_groups",
    "assign_town_visitors",
    "assign_unmet",
    "assign_metrics",
    "assign_group_links",
)


# --------------------------------------------------------------------------- rules
@dataclass(frozen=True)
class Rules:
    """Parameters of the assignment rules (defaults follow Yancheng's practice).

    Parameters
    ----------
    max_stations_per_group : int
        Upper bound of stations linked to one group (each group gets at least 1). A group
        also takes no more stations than its deputies can convene
        (``deputies × max_convened_per_deputy // conveners_per_station[0]``).
    max_groups_per_station : int or None
        Upper bound of groups linked to one station (None: no bound).
    sector_discount : float
        In [0, 1): the cost of a link to an industry station is
        ``distance × (1 − sector_discount × sector_share)``.
    sector_match_share : float
        A group is "rich" in a sector (a sector match) if the sector is the group's own
        or at least this share of its deputies work in it.
    k_nearest : int
        Candidate arcs: the k nearest stations of each group, the k nearest groups of
        each station, and the k nearest sector-rich groups of each industry station.
    max_link_distance_m : float
        No group is linked to a station farther than this from its home town.
    conveners_per_station : (int, int)
        Minimum and maximum deputy conveners per station (filled up to the maximum
        when the linked groups have free deputies).
    max_convened_per_deputy : int
        A deputy convenes at most this many stations.
    convener_levels : tuple of str
        Deputy levels preferred as conveners (others cost ``convener_level_penalty_m`` more).
    convener_level_penalty_m : float
        Extra cost, metres, of a convener from another level.
    individual_visitor_levels, group_visitor_levels : tuple of str
        Deputies who visit a town one by one (national) and as a group (provincial, city).
    contacts_per_visitor : int
        Residents each visiting deputy keeps fixed contact with.
    min_visitors_per_town : int
        Visiting units (a deputy or a group) every town should get before any town gets more.
    visit_crowding_m : float
        Extra cost, metres, of each visiting unit a town already has (spreads the rest).
    underserved_weight_m : float
        Extra cost, metres, of visiting the best-served town rather than the worst-served.
    committee_groups : int
        Groups per special committee ("1 + 5 + N").
    """

    max_stations_per_group: int = 3
    max_groups_per_station: int | None = None
    sector_discount: float = 0.5
    sector_match_share: float = 0.3
    k_nearest: int = 20
    max_link_distance_m: float = 30_000.0
    conveners_per_station: tuple[int, int] = (1, 2)
    max_convened_per_deputy: int = 1
    convener_levels: tuple[str, ...] = ("county", "town")
    convener_level_penalty_m: float = 5_000.0
    individual_visitor_levels: tuple[str, ...] = ("national",)
    group_visitor_levels: tuple[str, ...] = ("provincial", "city")
    contacts_per_visitor: int = 5
    min_visitors_per_town: int = 1
    visit_crowding_m: float = 20_000.0
    underserved_weight_m: float = 50_000.0
    committee_groups: int = 5

    def __post_init__(self) -> None:
        for name in ("conveners_per_station", "convener_levels", "individual_visitor_levels", "group_visitor_levels"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = tuple(v.strip() for v in value.split(",") if v.strip())
            object.__setattr__(self, name, tuple(value))

        def bad(name: str, rule: str) -> InputError:
            return InputError(f"rules: '{name}' {rule}, got {getattr(self, name)!r}")

        for name in ("max_stations_per_group", "k_nearest", "max_convened_per_deputy", "committee_groups"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise bad(name, "must be an integer >= 1")
        for name in ("contacts_per_visitor", "min_visitors_per_town"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 0:
                raise bad(name, "must be an integer >= 0")
        m = self.max_groups_per_station
        if m is not None and (not isinstance(m, (int, np.integer)) or isinstance(m, bool) or m < 1):
            raise bad("max_groups_per_station", "must be None or an integer >= 1")
        if not (0.0 <= float(self.sector_discount) < 1.0):
            raise bad("sector_discount", "must be in [0, 1)")
        if not (0.0 < float(self.sector_match_share) <= 1.0):
            raise bad("sector_match_share", "must be in (0, 1]")
        if not (float(self.max_link_distance_m) > 0 and math.isfinite(float(self.max_link_distance_m))):
            raise bad("max_link_distance_m", "must be a finite number of metres > 0")
        for name in ("convener_level_penalty_m", "visit_crowding_m", "underserved_weight_m"):
            v = float(getattr(self, name))
            if not (v >= 0 and math.isfinite(v)):
                raise bad(name, "must be a finite number of metres >= 0")
        cps = self.conveners_per_station
        if len(cps) != 2 or not all(isinstance(c, (int, np.integer)) for c in cps) or not (0 <= cps[0] <= cps[1]) or cps[1] < 1:
            raise bad("conveners_per_station", "must be (min, max) integers with 0 <= min <= max, max >= 1")
        for name in ("convener_levels", "individual_visitor_levels", "group_visitor_levels"):
            unknown = [v for v in getattr(self, name) if v not in DEPUTY_LEVELS]
            if unknown:
                raise bad(name, f"must list deputy levels among {', '.join(DEPUTY_LEVELS)}")
        if set(self.individual_visitor_levels) & set(self.group_visitor_levels):
            raise bad("group_visitor_levels", "must not repeat a level of individual_visitor_levels")

    @classmethod
    def with_overrides(cls, rules: "Rules | None" = None, **overrides: Any) -> "Rules":
        """Return ``rules`` (or the defaults) with some fields replaced, naming unknown ones."""
        base = rules if rules is not None else cls()
        if not isinstance(base, Rules):
            raise InputError(f"assign: 'rules' must be a geoplan.assign.Rules, got {type(base).__name__}")
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            raise InputError(f"assign: unknown rule(s) {', '.join(unknown)}; expected one of {', '.join(names)}")
        return cls(**(asdict(base) | overrides))


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class Shortfall:
    """One rule that could not hold: which rule, where (an id or 'all'), by how much."""

    rule: str
    where: str
    amount: float
    detail: str

    def __str__(self) -> str:
        return f"{self.rule} at {self.where}: short by {self.amount:g} ({self.detail})"


@dataclass(frozen=True, eq=False)
class Assignment:
    """The assignment tables, the unmet rules and summary metrics.

    Attributes
    ----------
    group_stations : DataFrame
        group_id, station_id, distance_m, sector, sector_share, sector_match,
        group_town_code, station_town_code — one row per link.
    conveners : DataFrame
        station_id, slot, role ('convener' | 'liaison_officer'), deputy_id, group_id,
        level, distance_m — the liaison officer row has no deputy (staff, to be appointed).
    deputy_towns : DataFrame
        deputy_id, level, group_id, unit ('individual' | 'group'), town_code,
        distance_m, contacts.
    committee_groups : DataFrame
        committee_id, group_id, sector_share, sector_match, group_sector, field_stations.
    town_visitors : DataFrame
        town_code, name, underserved (0 best served … 1 worst), visiting_units, visiting_deputies.
    unmet : tuple of Shortfall
    metrics : dict
        Numbers only (see :func:`assign`).
    stations, group_points : GeoDataFrame
        WGS84 points of the stations assigned and of each group's home town (for maps).
    rules : Rules
    """

    group_stations: pd.DataFrame
    conveners: pd.DataFrame
    deputy_towns: pd.DataFrame
    committee_groups: pd.DataFrame
    town_visitors: pd.DataFrame
    unmet: tuple[Shortfall, ...]
    metrics: dict[str, float]
    stations: gpd.GeoDataFrame
    group_points: gpd.GeoDataFrame
    rules: Rules = field(default_factory=Rules)

    # -- views -------------------------------------------------------------
    def unmet_table(self) -> pd.DataFrame:
        """The shortfalls as a DataFrame (rule, where, amount, detail)."""
        return pd.DataFrame(
            [asdict(s) for s in self.unmet], columns=["rule", "where", "amount", "detail"]
        ).astype({"rule": object, "where": object, "amount": float, "detail": object})

    def metrics_table(self) -> pd.DataFrame:
        """The metrics as a two-column DataFrame (metric, value), in a stable order."""
        return pd.DataFrame({"metric": list(self.metrics), "value": [float(v) for v in self.metrics.values()]})

    def links_geodataframe(self) -> gpd.GeoDataFrame:
        """Each group ↔ station link as a WGS84 LineString from the group's home town to the station."""
        gs = self.group_stations
        gp = self.group_points.set_index("id").geometry
        sp = self.stations.set_index("id").geometry
        a = shapely.get_coordinates(gp.reindex(gs["group_id"]).values).reshape(-1, 2)
        b = shapely.get_coordinates(sp.reindex(gs["station_id"]).values).reshape(-1, 2)
        lines = (np.asarray(shapely.linestrings(np.stack([a, b], axis=1)), dtype=object) if len(gs)
                 else np.array([], dtype=object))
        return gpd.GeoDataFrame(gs.copy(), geometry=list(lines), crs=STORAGE_CRS)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name (the CSV files / GeoPackage layers without prefix)."""
        return {
            "group_stations": self.group_stations,
            "conveners": self.conveners,
            "deputy_towns": self.deputy_towns,
            "committee_groups": self.committee_groups,
            "town_visitors": self.town_visitors,
            "unmet": self.unmet_table(),
            "metrics": self.metrics_table(),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: rules, metrics, unmet and every table as records."""
        out: dict[str, Any] = {"rules": asdict(self.rules), "metrics": dict(self.metrics)}
        for name, df in self.tables().items():
            if name != "metrics":
                out[name] = _records(df)
        return out

    # -- output ------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the tables as layers ``assign_*`` of a GeoPackage, plus ``assign_group_links``.

        An existing GeoPackage keeps its other layers (e.g. a dataset or a plan);
        earlier ``assign_*`` layers are replaced.
        """
        frames = {f"assign_{name}": _for_ogr(df) for name, df in self.tables().items()}
        frames["assign_group_links"] = _for_ogr(self.links_geodataframe())
        # atomic: `geoplan demo` writes these next to the plan layers in plan.gpkg
        return write_gpkg(path, frames, keep_other_layers=True)

    def to_csv(self, directory: str | Path) -> list[Path]:
        """Write each table to ``<directory>/<name>.csv`` (UTF-8); return the paths."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, df in self.tables().items():
            p = directory / f"{name}.csv"
            df.to_csv(p, index=False, encoding="utf-8", lineterminator="\n")
            paths.append(p)
        return paths

    def report(self) -> str:
        """Plain-text metrics and unmet rules, for the command line."""
        lines = [f"{k:<38} {_fmt(v)}" for k, v in self.metrics.items()]
        if self.unmet:
            by_rule = pd.Series([s.rule for s in self.unmet]).value_counts(sort=False)
            lines.append(f"unmet rules ({len(self.unmet)}):")
            for rule, n in by_rule.items():
                first = next(s for s in self.unmet if s.rule == rule)
                lines.append(f"  {rule}: {n} place(s), e.g. {first}")
        else:
            lines.append("all rules met")
        return "\n".join(lines)


def _fmt(v: float) -> str:
    return f"{int(v):,}" if float(v).is_integer() and abs(v) < 1e15 else f"{v:,.3f}"


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    clean = df.astype(object).where(df.notna(), None)
    return [{str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
            for r in clean.to_dict("records")]


def _for_ogr(df: pd.DataFrame) -> pd.DataFrame:
    """Make columns OGR-friendly: bools as int, all-None object columns as strings."""
    df = df.copy()
    for c in df.columns:
        if c == getattr(df, "_geometry_column_name", None):
            continue
        if df[c].dtype == bool:
            df[c] = df[c].astype("int32")
        elif df[c].dtype == object or str(df[c].dtype) in ("string", "str"):
            df[c] = df[c].astype(object).where(df[c].notna(), None)
            if len(df) == 0 or df[c].isna().all():
                df[c] = df[c].astype("string").astype(object)
    return df


# --------------------------------------------------------------------------- solver core
@dataclass(frozen=True)
class _Flow:
    arc_flow: np.ndarray  # units on each candidate arc (0/1)
    left_short: np.ndarray  # unmet lower bound per left node
    right_short: np.ndarray  # unmet lower bound per right node


def _bipartite_flow(
    left_lo: np.ndarray,
    left_hi: np.ndarray,
    right_lo: np.ndarray,
    right_hi: np.ndarray | None,
    arc_left: np.ndarray,
    arc_right: np.ndarray,
    arc_cost: np.ndarray,
    *,
    fill_left: bool = False,
    right_extra_cost: int = 0,
) -> _Flow:
    """Min-cost b-matching with lower/upper bounds on both sides, always feasible.

    Priorities, lexicographic through the size of the constants: (1) fewest unmet
    lower bounds (slack arcs cost ``big``), (2) with ``fill_left``, most units sent
    by the left nodes up to their upper bound, (3) least ``right_extra_cost`` (each
    unit a right node takes beyond its first), (4) least arc cost.

    Lower bounds become node demands (left i supplies ``lo_i``, right j demands
    ``lo_j``); optional units circulate source S → left → right → sink T → S.
    Upper bounds of ``right_hi`` None / negative mean unbounded.
    """
    n_l, n_r = len(left_lo), len(right_lo)
    s_node, t_node, t2_node = n_l + n_r, n_l + n_r + 1, n_l + n_r + 2
    cost = np.asarray(arc_cost, dtype=np.int64)
    max_cost = int(cost.max()) if cost.size else 0
    bonus = max_cost + 1 if fill_left else 0
    big = (len(cost) + 1) * (max_cost + bonus + int(right_extra_cost) + 1) + 1
    g: nx.DiGraph[int] = nx.DiGraph()
    g.add_nodes_from((i, {"demand": -int(left_lo[i])}) for i in range(n_l))
    g.add_nodes_from((n_l + j, {"demand": int(right_lo[j])}) for j in range(n_r))
    g.add_node(s_node, demand=0)
    g.add_node(t_node, demand=int(np.sum(left_lo)) - int(np.sum(right_lo)))
    g.add_node(t2_node, demand=0)
    edges: list[tuple[int, int, dict[str, int]]] = []
    for i in range(n_l):
        extra = int(left_hi[i]) - int(left_lo[i])
        if extra > 0:
            edges.append((s_node, i, {"capacity": extra, "weight": -bonus}))
        if left_lo[i] > 0:
            edges.append((i, t_node, {"capacity": int(left_lo[i]), "weight": big}))
    for j in range(n_r):
        node = n_l + j
        lo = int(right_lo[j])
        hi = None if right_hi is None or right_hi[j] < 0 else int(right_hi[j])
        if lo > 0:
            edges.append((s_node, node, {"capacity": lo, "weight": big}))
        room = None if hi is None else hi - lo
        free = room if right_extra_cost == 0 else max(0, 1 - lo) if room is None else min(room, max(0, 1 - lo))
        if free is None:
            edges.append((node, t_node, {"weight": 0}))
        elif free > 0:
            edges.append((node, t_node, {"capacity": free, "weight": 0}))
        if right_extra_cost:
            rest = None if room is None else room - (free or 0)
            if rest is None:
                edges.append((node, t2_node, {"weight": int(right_extra_cost)}))
            elif rest > 0:
                edges.append((node, t2_node, {"capacity": rest, "weight": int(right_extra_cost)}))
    edges.append((t_node, s_node, {"weight": 0}))
    edges.append((t2_node, t_node, {"weight": 0}))
    al, ar = np.asarray(arc_left, dtype=np.int64), np.asarray(arc_right, dtype=np.int64) + n_l
    edges.extend((int(a), int(b), {"capacity": 1, "weight": int(c)}) for a, b, c in zip(al, ar, cost))
    g.add_edges_from(edges)
    _, flow = nx.network_simplex(g)
    arc_flow = np.fromiter((flow[a][b] for a, b in zip(al.tolist(), ar.tolist())), dtype=np.int64, count=len(al))
    left_short = np.array([flow[i].get(t_node, 0) for i in range(n_l)], dtype=np.int64)
    right_short = np.array([flow[s_node].get(n_l + j, 0) for j in range(n_r)], dtype=np.int64)
    return _Flow(arc_flow, left_short, right_short)


def _knn_pairs(
    query_xy: np.ndarray, target_xy: np.ndarray, k: int, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """(query index, target index) of each target among the k nearest within radius."""
    if len(query_xy) == 0 or len(target_xy) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    k = min(k, len(target_xy))
    d, idx = cKDTree(target_xy).query(query_xy, k=k, distance_upper_bound=radius)
    d, idx = d.reshape(len(query_xy), k), idx.reshape(len(query_xy), k)
    ok = np.isfinite(d)
    q = np.broadcast_to(np.arange(len(query_xy))[:, None], idx.shape)
    return q[ok].astype(np.int64), idx[ok].astype(np.int64)


# --------------------------------------------------------------------------- inputs
@dataclass(frozen=True, eq=False)
class _Inputs:
    towns: pd.DataFrame  # code, name, population, x, y, underserved
    stations: gpd.GeoDataFrame  # metric; id, name, tier, town_code, sector
    sxy: np.ndarray
    s_sector: np.ndarray  # sector index or -1
    groups: pd.DataFrame
    gxy: np.ndarray
    g_sector: np.ndarray
    deputies: pd.DataFrame
    d_group: np.ndarray
    dxy: np.ndarray
    d_sector: np.ndarray
    share: np.ndarray  # groups × sectors: effective sector share
    frac: np.ndarray  # groups × sectors: share of deputies


def _sector_index(values: pd.Series) -> np.ndarray:
    lookup = {s: i for i, s in enumerate(SECTORS)}
    return np.array([lookup.get(v, -1) if isinstance(v, str) else -1 for v in values], dtype=np.int64)


def _plan_stations(plan: Any, metric: str) -> gpd.GeoDataFrame:
    st = getattr(plan, "stations", None)
    if not isinstance(st, gpd.GeoDataFrame):
        raise InputError("plan: expected an object with a 'stations' GeoDataFrame (a geoplan.scenario.Plan)")
    missing = [c for c in ("id", "town_code", "decision") if c not in st.columns]
    if missing:
        raise InputError(f"plan.stations: required column(s) {', '.join(missing)} missing")
    if st.crs is None:
        raise InputError("plan.stations: CRS is missing")
    bad = ~st["decision"].isin(("keep", "close", "open"))
    if bad.any():
        row = st.loc[bad.idxmax()]
        raise InputError(
            f"plan.stations[{row['id']}]: column 'decision' value {row['decision']!r} is not one of keep, close, open"
        )
    kept = st[st["decision"].isin(KEPT_DECISIONS)]
    return kept.to_crs(metric)


def _underserved(towns: pd.DataFrame, pop: np.ndarray, stations: pd.DataFrame, plan: Any) -> np.ndarray:
    """0 (best served) … 1 (worst served) per town: plan coverage share, else stations per 10k people."""
    ptowns = getattr(plan, "towns", None) if plan is not None else None
    if isinstance(ptowns, pd.DataFrame) and {"code", "share_after"} <= set(ptowns.columns):
        share = pd.to_numeric(ptowns.set_index("code")["share_after"], errors="coerce").reindex(towns["code"])
        u = 1.0 - share.to_numpy(dtype=float).clip(0.0, 1.0)
        return np.where(np.isfinite(u) & (pop > 0), u, 0.0)
    count = stations["town_code"].value_counts().reindex(towns["code"]).fillna(0).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.where(pop > 0, count / (pop / 1e4), np.nan)
    top = np.nanmax(density) if np.isfinite(density).any() else 0.0
    u = 1.0 - density / top if top > 0 else np.ones(len(towns))
    return np.where(pop > 0, np.nan_to_num(u, nan=0.0), 0.0)


def _prepare(dataset: Dataset, plan: Any) -> _Inputs:
    if not isinstance(dataset, Dataset):
        raise InputError(f"assign: 'dataset' must be a geoplan.datasets.Dataset, got {type(dataset).__name__}")
    layers = dataset.to_metric()
    towns_m: gpd.GeoDataFrame = layers["towns"]
    pts = shapely.point_on_surface(towns_m.geometry.values)
    txy = shapely.get_coordinates(pts)
    pop = (
        dataset.demand.groupby("town_code")["population"].sum().reindex(towns_m["code"]).fillna(0.0).to_numpy(float)
    )
    st: gpd.GeoDataFrame
    if plan is None:
        st = layers["stations"]
        st = st[st["status"] == "active"]
    else:
        st = _plan_stations(plan, dataset.metric_crs)
        unknown = ~st["town_code"].isin(set(towns_m["code"]))
        if unknown.any():
            row = st.loc[unknown.idxmax()]
            raise InputError(f"plan.stations[{row['id']}]: town_code {row['town_code']!r} is not a town of the dataset")
    st = st.reset_index(drop=True)
    if "sector" not in st.columns:
        st = st.assign(sector=None)
    towns = pd.DataFrame(
        {"code": towns_m["code"].to_numpy(), "name": towns_m["name"].to_numpy(), "population": pop,
         "x": txy[:, 0], "y": txy[:, 1]}
    )
    towns["underserved"] = _underserved(towns, pop, st, plan)
    tidx = pd.Series(np.arange(len(towns)), index=towns["code"])
    groups = dataset.groups.reset_index(drop=True)
    deputies = dataset.deputies.reset_index(drop=True)
    gxy = txy[tidx.reindex(groups["town_code"]).to_numpy()]
    d_group = pd.Series(np.arange(len(groups)), index=groups["id"]).reindex(deputies["group_id"]).to_numpy()
    dxy = txy[tidx.reindex(deputies["home_town_code"]).to_numpy()]
    d_sector = _sector_index(deputies["sector"])
    counts = np.zeros((len(groups), len(SECTORS)))
    ok = d_sector >= 0
    np.add.at(counts, (d_group[ok], d_sector[ok]), 1.0)
    size = counts.sum(axis=1, keepdims=True)
    frac = np.divide(counts, size, out=np.zeros_like(counts), where=size > 0)
    g_sector = _sector_index(groups["sector"])
    share = frac.copy()
    has = g_sector >= 0
    share[np.flatnonzero(has), g_sector[has]] = 1.0  # a group themed on a sector counts as fully in it
    return _Inputs(
        towns=towns, stations=st, sxy=shapely.get_coordinates(st.geometry.values).reshape(-1, 2),
        s_sector=_sector_index(st["sector"]), groups=groups, gxy=gxy, g_sector=g_sector, deputies=deputies,
        d_group=d_group, dxy=dxy, d_sector=d_sector, share=share, frac=frac,
    )


# --------------------------------------------------------------------------- rule 1: groups ↔ stations
def _group_stations(inp: _Inputs, rules: Rules) -> tuple[pd.DataFrame, list[Shortfall]]:
    n_g, n_s = len(inp.groups), len(inp.stations)
    k, r = rules.k_nearest, float(rules.max_link_distance_m)
    pairs = [_knn_pairs(inp.gxy, inp.sxy, k, r)]  # k nearest stations of each group
    s_q, g_t = _knn_pairs(inp.sxy, inp.gxy, k, r)  # k nearest groups of each station
    pairs.append((g_t, s_q))
    rich_missing: list[int] = []
    for sec in np.unique(inp.s_sector[inp.s_sector >= 0]):
        stations = np.flatnonzero(inp.s_sector == sec)
        rich = np.flatnonzero(inp.share[:, sec] >= rules.sector_match_share)
        s_q, g_t = _knn_pairs(inp.sxy[stations], inp.gxy[rich], k, r)
        pairs.append((rich[g_t], stations[s_q]))
        rich_missing.extend(np.setdiff1d(stations, stations[s_q]).tolist())
    g_arr = np.concatenate([p[0] for p in pairs]) if pairs else np.empty(0, np.int64)
    s_arr = np.concatenate([p[1] for p in pairs]) if pairs else np.empty(0, np.int64)
    key = np.unique(g_arr * max(n_s, 1) + s_arr)
    g_arr, s_arr = key // max(n_s, 1), key % max(n_s, 1)
    dist = np.hypot(*(inp.gxy[g_arr] - inp.sxy[s_arr]).T)
    sec = inp.s_sector[s_arr]
    sshare = np.where(sec >= 0, inp.share[g_arr, np.maximum(sec, 0)], 0.0)
    cost = np.rint(dist * (1.0 - rules.sector_discount * sshare)).astype(np.int64)

    # A group can only staff as many stations as its deputies can convene: a 1-deputy
    # group linked to 3 stations would leave 2 of them without a convener.
    dep_per_group = np.bincount(inp.d_group, minlength=n_g)
    staffable = dep_per_group * rules.max_convened_per_deputy // max(rules.conveners_per_station[0], 1)
    hi_g = np.clip(staffable, 1, rules.max_stations_per_group)
    right_hi = None if rules.max_groups_per_station is None else np.full(n_s, rules.max_groups_per_station)
    res = _bipartite_flow(np.ones(n_g, np.int64), hi_g, np.ones(n_s, np.int64), right_hi, g_arr, s_arr, cost)
    used = res.arc_flow > 0
    st, gr = inp.stations, inp.groups
    gi, si = g_arr[used], s_arr[used]
    table = pd.DataFrame(
        {
            "group_id": gr["id"].to_numpy()[gi],
            "station_id": st["id"].to_numpy()[si],
            "distance_m": np.round(dist[used], 1),
            "sector": st["sector"].to_numpy()[si],
            "sector_share": np.round(sshare[used], 4),
            "sector_match": (sec[used] >= 0) & (sshare[used] >= rules.sector_match_share),
            "group_town_code": gr["town_code"].to_numpy()[gi],
            "station_town_code": st["town_code"].to_numpy()[si],
        }
    )
    table["sector"] = table["sector"].astype(object).where(table["sector"].notna(), None)

    unmet: list[Shortfall] = []
    cap = int(hi_g.sum())
    if n_s > cap:
        unmet.append(Shortfall(
            "group_capacity", "all", float(n_s - cap),
            f"{n_s} stations need a group but {n_g} groups can take only {cap} "
            f"(at most {rules.max_stations_per_group} each, and no more than their deputies can convene)",
        ))
    has_arc = np.zeros(n_s, bool)
    has_arc[s_arr] = True
    for j in np.flatnonzero(res.right_short > 0).tolist():
        why = (f"no deputy group's home town within {r:,.0f} m" if not has_arc[j]
               else "every group within reach already has its maximum of stations")
        unmet.append(Shortfall("station_has_group", str(st["id"].iat[j]), 1.0, why))
    g_has_arc = np.zeros(n_g, bool)
    g_has_arc[g_arr] = True
    for i in np.flatnonzero(res.left_short > 0).tolist():
        why = (f"no station within {r:,.0f} m of home town {gr['town_code'].iat[i]}" if not g_has_arc[i]
               else "every station within reach is full")
        unmet.append(Shortfall("group_has_station", str(gr["id"].iat[i]), 1.0, why))
        if dep_per_group[i]:
            unmet.append(Shortfall("deputy_enters_station", str(gr["id"].iat[i]), float(dep_per_group[i]),
                                   f"{dep_per_group[i]} deputies of a group with no station"))
    for j in sorted(set(rich_missing)):
        unmet.append(Shortfall(
            "industry_station_sector", str(st["id"].iat[j]), 1.0,
            f"no group rich in {st['sector'].iat[j]} (share >= {rules.sector_match_share:g}) within {r:,.0f} m",
        ))
    table = table.sort_values(["group_id", "distance_m", "station_id"], kind="stable").reset_index(drop=True)
    return table, unmet


# --------------------------------------------------------------------------- rule 2: conveners
def _conveners(inp: _Inputs, links: pd.DataFrame, rules: Rules) -> tuple[pd.DataFrame, list[Shortfall]]:
    st, deps = inp.stations, inp.deputies
    n_s, n_d = len(st), len(deps)
    lo, hi = rules.conveners_per_station
    s_of = pd.Series(np.arange(n_s), index=st["id"])
    g_of = pd.Series(np.arange(len(inp.groups)), index=inp.groups["id"])
    link_s = s_of.reindex(links["station_id"]).to_numpy()
    link_g = g_of.reindex(links["group_id"]).to_numpy()
    # (station, deputy) arcs: every deputy of every group linked to the station.
    order = np.argsort(inp.d_group, kind="stable")
    starts = np.searchsorted(inp.d_group[order], np.arange(len(inp.groups) + 1))
    sizes = starts[link_g + 1] - starts[link_g]
    arc_s = np.repeat(link_s, sizes)
    offs = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    arc_d = order[np.repeat(starts[link_g], sizes) + offs]
    dist = np.hypot(*(inp.dxy[arc_d] - inp.sxy[arc_s]).T) if len(arc_d) else np.empty(0)
    other_level = ~deps["level"].isin(rules.convener_levels).to_numpy()[arc_d]
    match = (inp.s_sector[arc_s] >= 0) & (inp.d_sector[arc_d] == inp.s_sector[arc_s])
    cost = (dist + rules.convener_level_penalty_m * other_level) * np.where(match, 1.0 - rules.sector_discount, 1.0)
    res = _bipartite_flow(
        np.full(n_s, lo), np.full(n_s, hi), np.zeros(n_d, np.int64), np.full(n_d, rules.max_convened_per_deputy),
        arc_s, arc_d, np.rint(cost).astype(np.int64), fill_left=True,
    )
    used = res.arc_flow > 0
    chosen = pd.DataFrame(
        {"s": arc_s[used], "cost": cost[used], "deputy_id": deps["id"].to_numpy()[arc_d[used]],
         "group_id": deps["group_id"].to_numpy()[arc_d[used]], "level": deps["level"].to_numpy()[arc_d[used]],
         "distance_m": np.round(dist[used], 1)}
    ).sort_values(["s", "cost", "deputy_id"], kind="stable")
    chosen["slot"] = chosen.groupby("s").cumcount() + 1
    chosen["role"] = "convener"
    n_conv = np.bincount(chosen["s"].to_numpy(dtype=np.int64), minlength=n_s)
    liaison = pd.DataFrame(
        {"s": np.arange(n_s), "cost": 0.0, "deputy_id": None, "group_id": None, "level": None,
         "distance_m": np.nan, "slot": n_conv + 1, "role": "liaison_officer"}
    )
    table = pd.concat([chosen, liaison], ignore_index=True).sort_values(["s", "slot"], kind="stable")
    table.insert(0, "station_id", st["id"].to_numpy()[table["s"].to_numpy(dtype=np.int64)])
    table = table[["station_id", "slot", "role", "deputy_id", "group_id", "level", "distance_m"]].reset_index(drop=True)
    table = table.astype({"deputy_id": object, "group_id": object, "level": object, "slot": np.int64})
    linked = np.bincount(link_s, minlength=n_s) if len(link_s) else np.zeros(n_s, np.int64)
    unmet = [
        Shortfall("station_conveners", str(st["id"].iat[j]), float(res.left_short[j]),
                  "station has no linked group" if linked[j] == 0 else
                  f"its linked groups have only {n_conv[j]} deputies free to convene")
        for j in np.flatnonzero(res.left_short > 0)
    ]
    return table, unmet


# --------------------------------------------------------------------------- rule 3: visiting deputies
def _deputy_towns(inp: _Inputs, rules: Rules) -> tuple[pd.DataFrame, pd.DataFrame, list[Shortfall]]:
    deps, towns = inp.deputies, inp.towns
    level = deps["level"].to_numpy()
    indiv = np.flatnonzero(np.isin(level, rules.individual_visitor_levels))
    in_group = np.flatnonzero(np.isin(level, rules.group_visitor_levels))
    teams = np.unique(inp.d_group[in_group])
    # Units: each individual visitor, then each group's team (located at the group's home town).
    uxy = np.vstack([inp.dxy[indiv], inp.gxy[teams]]) if len(indiv) + len(teams) else np.empty((0, 2))
    n_u, n_t = len(uxy), len(towns)
    txy = towns[["x", "y"]].to_numpy()
    town_of_unit = np.empty(0, np.int64)
    if n_u and n_t:
        m_first = rules.min_visitors_per_town
        slots = max(m_first, math.ceil(n_u / n_t)) + 1
        dist = np.hypot(uxy[:, None, 0] - txy[None, :, 0], uxy[:, None, 1] - txy[None, :, 1])  # units × towns
        base = dist + rules.underserved_weight_m * (1.0 - towns["underserved"].to_numpy())[None, :]
        # Spread first: a slot beyond the first m_first of a town costs more than any first slot.
        first = 10.0 * (float(np.max(base)) + rules.visit_crowding_m * slots + 1.0)
        j = np.arange(slots)
        slot_cost = rules.visit_crowding_m * j + np.where(j >= m_first, first, 0.0)
        cost = (base[:, :, None] + slot_cost[None, None, :]).reshape(n_u, n_t * slots)
        rows, cols = linear_sum_assignment(cost)
        town_of_unit = np.empty(n_u, np.int64)
        town_of_unit[rows] = cols // slots
    unit_town_i = town_of_unit[: len(indiv)]
    team_town = pd.Series(town_of_unit[len(indiv):], index=teams, dtype=np.int64)
    grp_town = team_town.reindex(inp.d_group[in_group]).to_numpy(dtype=np.int64)
    who = np.concatenate([indiv, in_group])
    t_idx = np.concatenate([unit_town_i, grp_town]).astype(np.int64)
    table = pd.DataFrame(
        {
            "deputy_id": deps["id"].to_numpy()[who],
            "level": level[who],
            "group_id": deps["group_id"].to_numpy()[who],
            "unit": np.r_[np.full(len(indiv), "individual", dtype=object), np.full(len(in_group), "group", dtype=object)],
            "town_code": towns["code"].to_numpy()[t_idx] if len(t_idx) else np.empty(0, object),
            "distance_m": np.round(np.hypot(*(inp.dxy[who] - txy[t_idx]).T), 1) if len(t_idx) else np.empty(0),
            "contacts": np.full(len(who), rules.contacts_per_visitor, dtype=np.int64),
        }
    )
    table["level_rank"] = table["level"].map({lv: i for i, lv in enumerate(DEPUTY_LEVELS)})
    table = table.sort_values(["level_rank", "group_id", "deputy_id"], kind="stable").drop(columns="level_rank")
    table = table.reset_index(drop=True)
    units = np.bincount(town_of_unit, minlength=n_t) if n_u else np.zeros(n_t, np.int64)
    visitors = table["town_code"].value_counts().reindex(towns["code"]).fillna(0).to_numpy(dtype=np.int64)
    tv = pd.DataFrame(
        {"town_code": towns["code"].to_numpy(), "name": towns["name"].to_numpy(),
         "underserved": np.round(towns["underserved"].to_numpy(), 4), "visiting_units": units,
         "visiting_deputies": visitors}
    )
    unmet = [
        Shortfall("town_has_visitor", str(towns["code"].iat[t]), float(rules.min_visitors_per_town - units[t]),
                  f"only {n_u} visiting units (national deputies + provincial/city deputy groups) for {n_t} towns")
        for t in np.flatnonzero(units < rules.min_visitors_per_town).tolist()
    ]
    return table, tv, unmet


# --------------------------------------------------------------------------- rule 4: committees ↔ groups
def _committee_groups(inp: _Inputs, links: pd.DataFrame, committees: pd.DataFrame,
                      rules: Rules) -> tuple[pd.DataFrame, list[Shortfall]]:
    n_c, n_g, need = len(committees), len(inp.groups), rules.committee_groups
    field_idx = [_sector_index(pd.Series([s.strip() for s in str(v).split(",") if s.strip()]))
                 for v in committees["sectors"]]
    fmask = np.zeros((n_c, len(SECTORS)), bool)
    for c, idx in enumerate(field_idx):
        fmask[c, idx[idx >= 0]] = True
    field_share = inp.frac @ fmask.T.astype(float)  # groups × committees
    own = np.zeros((n_g, n_c), bool)
    has = inp.g_sector >= 0
    own[has] = fmask[:, inp.g_sector[has]].T
    # "N": the group's linked industry stations in the committee's field.
    g_of = pd.Series(np.arange(n_g), index=inp.groups["id"])
    lg = g_of.reindex(links["group_id"]).to_numpy()
    ls = _sector_index(links["sector"])
    field_st = np.zeros((n_g, n_c), np.int64)
    ok = ls >= 0
    # numpy's stubs do not accept a slice inside the index tuple of ufunc.at
    np.add.at(field_st, (lg[ok], slice(None)), fmask[:, ls[ok]].T.astype(np.int64))  # type: ignore[arg-type]
    score = field_share + own + 0.5 * (field_st > 0)
    cost = np.rint((2.5 - score) * 100_000).astype(np.int64)  # ≤ 250,000
    reuse = max(1, math.ceil(n_c * need / max(n_g, 1)))
    arc_c, arc_g = np.repeat(np.arange(n_c), n_g), np.tile(np.arange(n_g), n_c)
    res = _bipartite_flow(
        np.full(n_c, need), np.full(n_c, need), np.zeros(n_g, np.int64), np.full(n_g, reuse),
        arc_c, arc_g, cost.T.reshape(-1), right_extra_cost=1_000_000,
    )
    used = res.arc_flow > 0
    ci, gi = arc_c[used], arc_g[used]
    matched = (field_share[gi, ci] > 0) | own[gi, ci]
    table = pd.DataFrame(
        {"committee_id": committees["id"].to_numpy()[ci], "group_id": inp.groups["id"].to_numpy()[gi],
         "sector_share": np.round(field_share[gi, ci], 4), "sector_match": matched,
         "group_sector": inp.groups["sector"].to_numpy()[gi], "field_stations": field_st[gi, ci]}
    )
    table["cost"] = cost[gi, ci]
    table = table.sort_values(["committee_id", "cost", "group_id"], kind="stable").drop(columns="cost")
    table = table.reset_index(drop=True).astype({"group_sector": object})
    unmet: list[Shortfall] = []
    got = np.bincount(ci, minlength=n_c)
    bad = np.bincount(ci[~matched], minlength=n_c)
    for c in range(n_c):
        cid, sectors = str(committees["id"].iat[c]), str(committees["sectors"].iat[c])
        if got[c] < need:
            unmet.append(Shortfall("committee_groups", cid, float(need - got[c]),
                                   f"only {n_g} deputy groups exist"))
        if bad[c]:
            unmet.append(Shortfall("committee_field", cid, float(bad[c]),
                                   f"{bad[c]} of its {got[c]} groups have no deputy in its field ({sectors})"))
    uses = np.bincount(gi, minlength=n_g)
    extra = int(np.sum(np.maximum(uses - 1, 0)))
    if extra:
        unmet.append(Shortfall("committee_distinct_groups", "all", float(extra),
                               f"{n_c} committees × {need} groups = {n_c * need} links but only {n_g} groups"))
    return table, unmet


# --------------------------------------------------------------------------- entry point
def assign(dataset: Dataset, plan: Any = None, rules: Rules | None = None, **overrides: Any) -> Assignment:
    """Assign deputy groups, conveners, visiting deputies and committees.

    Parameters
    ----------
    dataset : Dataset
        Towns, stations, deputies, groups and committees.
    plan : geoplan.scenario.Plan, optional
        If given, its stations with decision ``keep`` or ``open`` are assigned (instead
        of the dataset's active stations) and its per-town ``share_after`` measures
        which towns are under-served.
    rules : Rules, optional
        The rules (defaults: :class:`Rules`()); keyword ``overrides`` replace fields,
        e.g. ``assign(ds, max_stations_per_group=2)``.

    Returns
    -------
    Assignment
        Tables, unmet rules (never an exception for infeasible rules) and metrics:
        ``mean_distance_m``, ``p95_distance_m`` (group home town → station),
        ``industry_sector_match_share``, ``stations_per_group_min/mean/max``,
        ``towns_without_visitor``, ``deputies_without_station`` and more.

    Raises
    ------
    InputError
        Unknown or invalid rule, or a malformed plan.
    """
    t0 = time.perf_counter()
    rules = Rules.with_overrides(rules, **overrides)
    inp = _prepare(dataset, plan)
    links, unmet = _group_stations(inp, rules)
    conveners, u2 = _conveners(inp, links, rules)
    deputy_towns, town_visitors, u3 = _deputy_towns(inp, rules)
    committee_groups, u4 = _committee_groups(inp, links, dataset.committees.reset_index(drop=True), rules)
    unmet = unmet + u2 + u3 + u4
    order = {r: i for i, r in enumerate(RULES_CHECKED)}
    unmet.sort(key=lambda s: (order.get(s.rule, 99), s.where))
    metrics = _metrics(inp, links, conveners, town_visitors, committee_groups, unmet, rules)
    metrics["seconds"] = round(time.perf_counter() - t0, 3)
    st_wgs = inp.stations.to_crs(STORAGE_CRS)
    keep = [c for c in ("id", "name", "tier", "level", "town_code", "sector") if c in st_wgs.columns]
    group_points = gpd.GeoDataFrame(
        inp.groups[["id", "town_code"]].copy(), geometry=shapely.points(inp.gxy), crs=dataset.metric_crs
    ).to_crs(STORAGE_CRS)
    return Assignment(
        group_stations=links, conveners=conveners, deputy_towns=deputy_towns, committee_groups=committee_groups,
        town_visitors=town_visitors, unmet=tuple(unmet), metrics=metrics,
        stations=st_wgs[keep + [st_wgs.geometry.name]].reset_index(drop=True), group_points=group_points, rules=rules,
    )


def _metrics(inp: _Inputs, links: pd.DataFrame, conveners: pd.DataFrame, town_visitors: pd.DataFrame,
             committee_groups: pd.DataFrame, unmet: list[Shortfall], rules: Rules) -> dict[str, float]:
    n_g, n_s, n_d = len(inp.groups), len(inp.stations), len(inp.deputies)
    d = links["distance_m"].to_numpy(dtype=float)
    per_group = links["group_id"].value_counts().reindex(inp.groups["id"]).fillna(0).to_numpy()
    per_station = links["station_id"].value_counts().reindex(inp.stations["id"]).fillna(0).to_numpy()
    industry = inp.stations["id"][inp.s_sector >= 0]
    matched = set(links.loc[links["sector_match"], "station_id"])
    groups_linked = set(links["group_id"])
    dep_without = int((~inp.deputies["group_id"].isin(groups_linked)).sum())
    conv = conveners[conveners["role"] == "convener"]
    n_conv = conv["station_id"].value_counts().reindex(inp.stations["id"]).fillna(0).to_numpy()
    lo, hi = rules.conveners_per_station

    def stat(a: np.ndarray, f: Any) -> float:
        return float(f(a)) if len(a) else 0.0

    return {
        "groups": float(n_g),
        "stations": float(n_s),
        "industry_stations": float(len(industry)),
        "deputies": float(n_d),
        "links": float(len(links)),
        "mean_distance_m": round(stat(d, np.mean), 1),
        "p95_distance_m": round(stat(d, lambda a: np.percentile(a, 95)), 1),
        "max_distance_m": round(stat(d, np.max), 1),
        "industry_sector_match_share": round(
            float(industry.isin(matched).mean()) if len(industry) else 1.0, 4),
        "stations_per_group_min": stat(per_group, np.min),
        "stations_per_group_mean": round(stat(per_group, np.mean), 3),
        "stations_per_group_max": stat(per_group, np.max),
        "groups_per_station_min": stat(per_station, np.min),
        "groups_per_station_mean": round(stat(per_station, np.mean), 3),
        "groups_per_station_max": stat(per_station, np.max),
        "stations_without_group": float(np.sum(per_station == 0)),
        "groups_without_station": float(np.sum(per_group == 0)),
        "deputies_without_station": float(dep_without),
        "conveners": float(len(conv)),
        "stations_with_max_conveners": float(np.sum(n_conv >= hi)),
        "stations_below_min_conveners": float(np.sum(n_conv < lo)),
        "visiting_units": float(town_visitors["visiting_units"].sum()),
        "visiting_deputies": float(town_visitors["visiting_deputies"].sum()),
        "towns_without_visitor": float(np.sum(town_visitors["visiting_units"] == 0)),
        "committee_links": float(len(committee_groups)),
        "committee_sector_match_share": round(
            float(committee_groups["sector_match"].mean()) if len(committee_groups) else 1.0, 4),
        "unmet": float(len(unmet)),
    }


# --------------------------------------------------------------------------- maps
def links_layer(assignment: Assignment) -> Any:
    """A folium FeatureGroup of each group's links (lines home town → station), coloured by sector match."""
    import folium

    links = assignment.links_geodataframe()
    links = links[["group_id", "station_id", "distance_m", "sector_match", links.geometry.name]].copy()
    links["sector_match"] = links["sector_match"].map({True: "yes", False: "no"})
    lines = folium.FeatureGroup(name="Deputy groups → stations", show=True)
    if len(links):
        folium.GeoJson(
            links.to_json(drop_id=True),
            name="links",
            style_function=lambda f: {
                "color": "#b2182b" if f["properties"]["sector_match"] == "yes" else "#2166ac",
                "weight": 1.5, "opacity": 0.6,
            },
            tooltip=folium.GeoJsonTooltip(
                fields=["group_id", "station_id", "distance_m", "sector_match"],
                aliases=["Group", "Station", "Distance (m)", "Sector match"],
            ),
        ).add_to(lines)
    return lines


def folium_layers(assignment: Assignment, dataset: Dataset) -> list[Any]:
    """Folium layers: each group's links (lines home town → station) and a choropleth
    of visiting deputies per town. Add them with ``layer.add_to(m)`` (see :func:`add_to_map`)."""
    import folium

    towns = dataset.towns[["code", "name", dataset.towns.geometry.name]].merge(
        assignment.town_visitors[["town_code", "visiting_deputies"]], left_on="code", right_on="town_code", how="left"
    ).drop(columns="town_code")
    towns["visiting_deputies"] = towns["visiting_deputies"].fillna(0).astype(int)
    top = max(int(towns["visiting_deputies"].max()) if len(towns) else 0, 1)
    bins = sorted({float(b) for b in np.linspace(0, top, 6).round()} | {0.0, float(top)})
    choro = folium.Choropleth(
        geo_data=towns.to_json(drop_id=True),
        data=towns,
        columns=["code", "visiting_deputies"],
        key_on="feature.properties.code",
        fill_color="YlGn",
        fill_opacity=0.6,
        line_opacity=0.3,
        bins=bins,
        name="Visiting deputies per town",
        legend_name="Visiting national, provincial and city deputies per town",
        highlight=True,
    )
    return [links_layer(assignment), choro]


def add_to_map(m: Any, assignment: Assignment, dataset: Dataset) -> Any:
    """Add :func:`folium_layers` to a folium map and return it."""
    for layer in folium_layers(assignment, dataset):
        layer.add_to(m)
    return m
