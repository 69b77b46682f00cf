"""The reception-day rota (定时定点接待群众日): which deputies receive the people where and when.

For every active station and every reception day of its county (or town), deputies of the
groups linked to the station (the assignment's group → station links) take turns on duty.

The rules (:class:`ReceptionRules`):

* ``station_min_deputies`` — each station has at least ``min_deputies`` on each reception day
  (and at most ``max_deputies`` when set);
* one duty per deputy per day — no deputy at two stations on one day;
* ``deputy_min_per_year`` — every deputy is on duty at least ``min_per_year`` times;
* ``group_fair_load`` — the load is spread fairly inside each group. *Fair* means: the duty
  counts of a group's deputies differ by at most one (``max − min <= 1``); the rota
  minimises the sum of squared duty counts, which gives exactly that wherever the
  deputies' unavailability allows, and the spread of every group is measured;
* near home — among equally fair rotas, the least total distance from the deputies' home
  towns to their stations;
* dates a deputy cannot attend (a CSV of ``deputy_id,date``) are never used.

It is solved as one min-cost flow, written as an LP and solved by HiGHS: source →
deputy (one arc per k-th duty, cost ``−reward`` for the first ``min_per_year`` duties plus
``fairness × (k − 1)``, convex, so the flow fills the arcs in order) → deputy-day
(capacity 1) → station-day (demand ``min_deputies``, high-cost slack) → sink. The
constraint matrix is a network matrix, so the simplex optimum is integral (checked; a
MIP re-solve guards against a non-vertex answer). Unmet rules come back as
:class:`~geoplan.operations._helpers.Unmet` rows (rule, where, by how much) with the best
partial rota, never as an exception.

Examples
--------
>>> from geoplan.datasets import Dataset
>>> from geoplan.settings import BUNDLED_DATASET
>>> from geoplan.assign import assign
>>> ds = Dataset.load(BUNDLED_DATASET).subset("320902")         # doctest: +SKIP
>>> rota = plan_reception(ds, assign(ds), 2026)                       # doctest: +SKIP
>>> rota.metrics["station_days_short"]                                # doctest: +SKIP
0.0
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from geoplan.assign import shortfall_lines
from geoplan.datasets import Dataset
from geoplan.exceptions import InputError
from geoplan.operations._helpers import (
    Network,
    Unmet,
    deputy_station_pairs,
    distances_m,
    fmt_number,
    network,
    records,
    save_tables,
    unmet_frame,
    write_csvs,
)
from geoplan.operations.calendars import ReceptionCalendar
from geoplan.operations.tables import check_rows, date_field, read_csv_records, str_field
from geoplan.operations.workdays import WorkdayCalendar
from geoplan.optimize.mip import run_highs
from geoplan.settings import STORAGE_CRS

__all__ = ["ReceptionRules", "Rota", "plan_reception", "read_unavailable", "unavailable_from_records",
           "RULES_CHECKED", "GPKG_LAYERS"]

RULES_CHECKED: dict[str, str] = {
    "station_min_deputies": "every active station has at least min_deputies deputies on each reception day",
    "deputy_min_per_year": "every deputy is on duty at least min_per_year times a year",
    "group_fair_load": "inside each group, the deputies' duty counts differ by at most 1",
}
GPKG_LAYERS: tuple[str, ...] = ("reception_rota", "reception_days", "reception_load", "reception_unmet",
                                "reception_metrics")
_DAY = 10_000_000  # key = deputy row * _DAY + date ordinal (ordinals stay below 10**7 until year 27,000)


class ReceptionRules(BaseModel):
    """Parameters of the rota.

    Parameters
    ----------
    min_deputies : int
        Deputies on duty at each station on each reception day (at least).
    max_deputies : int or None
        At most this many (None: no upper bound; deputies beyond ``min_deputies`` are only
        sent to meet ``min_per_year``).
    min_per_year : int
        Duties every deputy does at least.
    fairness_km : float
        Cost, in km-equivalents, of each further duty of a deputy above their previous count
        (the k-th duty costs ``fairness_km × (k − 1)``): it outweighs distance, so fairness comes first.
    time_limit : float
        Seconds for HiGHS.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_deputies: int = Field(2, ge=1, le=100)
    max_deputies: int | None = Field(None, ge=1, le=1000)
    min_per_year: int = Field(1, ge=0, le=366)
    fairness_km: float = Field(100.0, ge=0, le=1e5)
    time_limit: float = Field(120.0, gt=0, le=3600)


@dataclass(frozen=True, eq=False)
class Rota:
    """A year's reception rota, what it leaves unmet, and its measures.

    Attributes
    ----------
    rota : GeoDataFrame
        One row per duty: date, start, end, station_id, station_name, tier, town_code, town_name,
        county_code, county_name, deputy_id, group_id, distance_m; the station's point (WGS84).
    days : DataFrame
        One row per station and reception day: … deputies (on duty), short (below min_deputies), deputy_ids.
    load : DataFrame
        One row per deputy in scope: deputy_id, group_id, required (min duties), duties, dates.
    unmet : tuple of Unmet
    metrics : dict
        Numbers only: ``objective`` is the flow's cost as solved (``big`` per deputy unit a
        station-day is short − ``reward`` per duty counted towards ``min_per_year`` + fairness +
        km; the constants make the priorities lexicographic), with its readable parts
        ``deputy_units_short_at_stations``, ``deputies_below_min``, ``objective_fairness`` (the
        sum of ``fairness_km × (k − 1)`` over every deputy's k-th duty) and
        ``objective_distance_km``; duties per deputy, group spreads, distances, solver figures, seconds.
    notes : tuple of str
        What the calendar fell back to (years unknown to chinese-calendar) and other caveats.
    """

    year: int
    rota: gpd.GeoDataFrame
    days: pd.DataFrame
    load: pd.DataFrame
    unmet: tuple[Unmet, ...]
    metrics: dict[str, float]
    notes: tuple[str, ...]
    rules: ReceptionRules = field(default_factory=ReceptionRules)
    county: str | None = None

    def unmet_table(self) -> pd.DataFrame:
        """The unmet rules as a DataFrame (rule, where, amount, detail)."""
        return unmet_frame(self.unmet)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name (CSV file names; GeoPackage layers are ``reception_<name>``)."""
        metrics = pd.DataFrame({"metric": list(self.metrics), "value": [float(v) for v in self.metrics.values()]})
        notes = pd.DataFrame({"note": list(self.notes)}, dtype=object)
        return {"rota": self.rota, "days": self.days, "load": self.load, "unmet": self.unmet_table(),
                "metrics": metrics, "notes": notes}

    def save(self, path: str | Path) -> Path:
        """Write the tables as layers ``reception_*`` of a GeoPackage (other layers are kept)."""
        return save_tables(path, {f"reception_{k}": v for k, v in self.tables().items()})

    def to_csv(self, directory: str | Path) -> list[Path]:
        """Write each table as ``<directory>/<name>.csv``."""
        return write_csvs(directory, self.tables())

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: year, county, rules, metrics, notes, unmet and the rota and days as records."""
        return {"year": self.year, "county": self.county, "rules": self.rules.model_dump(),
                "metrics": dict(self.metrics), "notes": list(self.notes),
                "unmet": records(self.unmet_table()), "rota": records(self.rota), "days": records(self.days)}

    def report(self) -> str:
        """Plain-text summary for the command line: notes first, then metrics and unmet rules."""
        lines = [f"note: {n}" for n in self.notes]
        lines += [f"{k:<34} {fmt_number(v)}" for k, v in self.metrics.items()]
        return "\n".join(lines + shortfall_lines(self.unmet))


# --------------------------------------------------------------------------- unavailability
_UNAV_FIELDS = {"deputy_id": str_field(max_len=64), "date": date_field()}


def unavailable_from_records(rows: Iterable[dict[str, Any]], source: str = "api", *,
                             deputy_ids: Iterable[str] | None = None, numbers: list[int] | None = None
                             ) -> pd.DataFrame:
    """``deputy_id, date`` rows checked (known deputy when ``deputy_ids`` is given); all or nothing."""
    known = set(deputy_ids) if deputy_ids is not None else None

    def rules(_n: int, r: dict[str, Any]) -> list[tuple[str, str]]:
        if known is not None and r["deputy_id"] not in known:
            return [("deputy_id", f"unknown deputy {r['deputy_id']!r}")]
        return []

    parsed = check_rows(rows, source, _UNAV_FIELDS, numbers=numbers, row_rules=rules)
    return pd.DataFrame.from_records(parsed, columns=["deputy_id", "date"]).drop_duplicates().reset_index(drop=True)


def read_unavailable(path: str | Path, *, deputy_ids: Iterable[str] | None = None) -> pd.DataFrame:
    """Read a CSV of ``deputy_id,date`` (the days a deputy cannot attend); every bad row named."""
    rows, numbers, name = read_csv_records(path, ("deputy_id", "date"), "unavailability list")
    return unavailable_from_records(rows, name, deputy_ids=deputy_ids, numbers=numbers)


# --------------------------------------------------------------------------- the model
@dataclass(frozen=True)
class _Arcs:
    d: np.ndarray  # deputy row
    sd: np.ndarray  # station-day row
    dist: np.ndarray  # metres


def _station_days(net: Network, days: pd.DataFrame, in_scope: np.ndarray) -> pd.DataFrame:
    st = net.stations
    idx = np.flatnonzero(in_scope)
    base = pd.DataFrame({"s": idx, "town_code": st["town_code"].to_numpy()[idx]})
    sd = base.merge(days.drop(columns="county_code"), on="town_code", how="inner")
    sd = sd.sort_values(["s", "date"], kind="stable").reset_index(drop=True)
    sd["ord"] = np.array([d.toordinal() for d in sd["date"]], dtype=np.int64)
    return sd


def _arcs(net: Network, sd: pd.DataFrame, in_scope: np.ndarray, unavailable: pd.DataFrame | None
          ) -> tuple[_Arcs, np.ndarray, int]:
    """Candidate (deputy, station-day) arcs, the deputies with any link in scope, arcs dropped as unavailable."""
    link_rows = np.flatnonzero(in_scope[net.links["s"].to_numpy()])
    d, s = deputy_station_pairs(net, link_rows)
    linked = np.zeros(len(net.deputies), dtype=bool)
    linked[d] = True
    n_st = len(net.stations)
    counts = np.bincount(sd["s"].to_numpy(), minlength=n_st)
    starts = np.concatenate([[0], np.cumsum(counts)])
    n = counts[s]
    d_a = np.repeat(d, n)
    offs = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    sd_a = np.repeat(starts[s], n) + offs
    dropped = 0
    if unavailable is not None and len(unavailable):
        row_of = pd.Series(np.arange(len(net.deputies)), index=net.deputies["id"].to_numpy())
        ud = row_of.reindex(unavailable["deputy_id"]).to_numpy()
        ok = ~np.isnan(ud)
        keys = ud[ok].astype(np.int64) * _DAY + np.array([x.toordinal() for x in unavailable["date"][ok]], np.int64)
        bad = np.isin(d_a * _DAY + sd["ord"].to_numpy()[sd_a], keys)
        dropped = int(bad.sum())
        d_a, sd_a = d_a[~bad], sd_a[~bad]
    dist = distances_m(net, d_a, sd["s"].to_numpy()[sd_a])
    return _Arcs(d_a, sd_a, dist), linked, dropped


def _solve(arcs: _Arcs, sd: pd.DataFrame, required: np.ndarray, n_dep: int, rules: ReceptionRules
           ) -> tuple[np.ndarray, dict[str, float]]:
    """The min-cost flow as an LP; returns the chosen arcs (bool) and solver figures."""
    n_a, n_sd = len(arcs.d), len(sd)
    dd_key = arcs.d * _DAY + sd["ord"].to_numpy()[arcs.sd]
    dd, dd_inv, dd_count = np.unique(dd_key, return_inverse=True, return_counts=True)
    multi = dd_count >= 2  # a deputy-day with one candidate needs no capacity row: x <= 1 already
    ddm_row = np.full(len(dd), -1, dtype=np.int64)
    ddm_row[multi] = np.arange(int(multi.sum()))
    n_ddm = int(multi.sum())
    dd_dep = dd // _DAY
    k_d = np.bincount(dd_dep, minlength=n_dep)  # most duties a deputy can do: distinct candidate days
    deps = np.flatnonzero(k_d > 0)
    dep_row = np.full(n_dep, -1, dtype=np.int64)
    dep_row[deps] = np.arange(len(deps))
    n_z = int(k_d.sum())
    z_dep = np.repeat(np.arange(n_dep), k_d)
    z_k = np.arange(n_z) - np.repeat(np.cumsum(k_d) - k_d, k_d) + 1  # 1-based duty number
    m = rules.min_per_year
    fair = float(rules.fairness_km)
    # lexicographic through the constants: a short station-day costs most, then a deputy below
    # min_per_year (reward > any fairness + distance trade of one more duty), then fairness, then km
    reward = 10.0 * (fair * max(int(k_d.max()) if n_z else 1, 1) + float(arcs.dist.max(initial=0.0)) / 1000.0 + 100.0)
    big = 100.0 * reward
    cost = np.concatenate([
        arcs.dist / 1000.0,
        np.full(n_sd, big),
        np.where((z_k <= m) & required[z_dep], -reward, 0.0) + fair * (z_k - 1),
    ])
    lo = np.zeros(n_a + n_sd + n_z)
    hi = np.concatenate([np.ones(n_a), np.full(n_sd, float(rules.min_deputies)), np.ones(n_z)])
    j_x = np.arange(n_a)
    rows = [arcs.sd, n_sd + ddm_row[dd_inv[multi[dd_inv]]], n_sd + n_ddm + dep_row[arcs.d],
            np.arange(n_sd), n_sd + n_ddm + dep_row[z_dep]]
    cols = [j_x, j_x[multi[dd_inv]], j_x, n_a + np.arange(n_sd), n_a + n_sd + np.arange(n_z)]
    vals = [np.ones(n_a), np.ones(int(multi[dd_inv].sum())), np.ones(n_a), np.ones(n_sd), -np.ones(n_z)]
    n_rows = n_sd + n_ddm + len(deps)
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                      shape=(n_rows, n_a + n_sd + n_z))
    top = float(rules.max_deputies) if rules.max_deputies is not None else np.inf
    rlo = np.concatenate([np.full(n_sd, float(rules.min_deputies)), np.full(n_ddm, -np.inf), np.zeros(len(deps))])
    rhi = np.concatenate([np.full(n_sd, top), np.ones(n_ddm), np.zeros(len(deps))])
    t0 = time.perf_counter()
    integer = np.zeros(len(cost), dtype=bool)
    x, obj, _, status = run_highs(cost, lo, hi, A, rlo, rhi, integer, False, rules.time_limit,
                                  options={"solver": "simplex"})
    integral = x is not None and bool(np.all(np.abs(x[:n_a] - np.round(x[:n_a])) < 1e-6))
    if x is not None and not integral:  # network LPs are integral at a vertex; guard anyway
        integer[:n_a + n_sd + n_z] = True
        x, obj, _, status = run_highs(cost, lo, hi, A, rlo, rhi, integer, False, rules.time_limit)
    if x is None:
        raise InputError(f"reception: HiGHS found no rota ({status}); raise time_limit or check the inputs")
    chosen = x[:n_a] > 0.5
    z = x[n_a + n_sd:] > 0.5
    fairness = float(np.sum(fair * (z_k[z] - 1)))
    figures = {
        "objective": round(float(obj), 3),
        "objective_distance_km": round(float(arcs.dist[chosen].sum() / 1000.0), 3),
        "objective_fairness": round(fairness, 3),
        "variables": float(len(cost)), "constraints": float(n_rows),
        "lp_integral": float(integral), "solve_seconds": round(time.perf_counter() - t0, 3),
        "solver_optimal": float(status == "optimal"),
    }
    return chosen, figures


# --------------------------------------------------------------------------- entry points
def reception_days(dataset: Dataset, assignment: Any, years: Iterable[int], calendar: ReceptionCalendar | None = None,
                   *, workdays: WorkdayCalendar | None = None, county: str | None = None
                   ) -> tuple[pd.DataFrame, list[str]]:
    """Every station's reception days in ``years`` (no rota): station_id, county_code, date, start, end, source, rule.

    With the notes of :meth:`ReceptionCalendar.days` (fallback years and the like).
    """
    workdays = workdays if workdays is not None else WorkdayCalendar()
    calendar = calendar if calendar is not None else ReceptionCalendar()
    net = network(dataset, assignment)
    counties = dataset.counties["code"].astype(str).tolist()
    st = net.stations
    frames, notes = [], []
    for y in sorted(set(years)):
        days, n = calendar.days(y, counties, dataset.towns[["code", "county_code"]], workdays)
        frames.append(days)
        notes += n
    days = pd.concat(frames, ignore_index=True)
    scope = st if county is None else st[st["county_code"] == county]
    out = scope[["id", "town_code"]].rename(columns={"id": "station_id"}).merge(days, on="town_code")
    return out.sort_values(["station_id", "date"], kind="stable").reset_index(drop=True), list(dict.fromkeys(notes))


def plan_reception(dataset: Dataset, assignment: Any, year: int, calendar: ReceptionCalendar | None = None, *,
                   unavailable: pd.DataFrame | None = None, workdays: WorkdayCalendar | None = None,
                   rules: ReceptionRules | None = None, county: str | None = None) -> Rota:
    """Plan the reception rota of ``year``.

    Parameters
    ----------
    dataset : Dataset
        Towns, counties, deputies and groups.
    assignment : geoplan.assign.Assignment
        Its stations (the dataset's active ones, or a plan's) and group → station links.
    year : int
    calendar : ReceptionCalendar, optional
        Default: every county on the 15th of each quarter's second month, next working day.
    unavailable : DataFrame, optional
        ``deputy_id, date`` rows (:func:`read_unavailable`).
    workdays : WorkdayCalendar, optional
        Default: China's official calendar; for a year it does not know, Monday–Friday and
        whatever holidays you supply (:func:`~geoplan.operations.workdays.read_day_overrides`) — said in ``notes``.
    rules : ReceptionRules, optional
    county : str, optional
        Plan one county's stations only. ``min_per_year`` then applies to the deputies whose
        groups are linked to that county's stations only.

    Returns
    -------
    Rota
        The rota, per-day and per-deputy tables, unmet rules with the best partial rota,
        metrics (``objective`` and its parts, ``station_days_short``, ``deputies_below_min``,
        ``groups_unfair``, ``max_group_spread``, ``mean_distance_m`` …) and notes.
    """
    t0 = time.perf_counter()
    if not isinstance(year, (int, np.integer)) or isinstance(year, bool) or not 1900 <= int(year) <= 2200:
        raise InputError(f"reception: 'year' must be an integer between 1900 and 2200, got {year!r}")
    year = int(year)
    rules = rules if rules is not None else ReceptionRules()
    workdays = workdays if workdays is not None else WorkdayCalendar()
    calendar = calendar if calendar is not None else ReceptionCalendar()
    net = network(dataset, assignment)
    st = net.stations
    counties = dataset.counties["code"].astype(str).tolist()
    if county is not None and county not in counties:
        raise InputError(f"reception: unknown county {county!r}; expected one of {', '.join(counties)}")
    days, notes = calendar.days(year, counties, dataset.towns[["code", "county_code"]], workdays)
    in_scope = (st["county_code"] == county).to_numpy() if county is not None else np.ones(len(st), dtype=bool)
    sd = _station_days(net, days, in_scope)
    arcs, linked, dropped = _arcs(net, sd, in_scope, unavailable)
    n_dep = len(net.deputies)
    g_out = ~in_scope[net.links["s"].to_numpy()]  # link leaves the scope
    groups_leaving = set(net.links["g"].to_numpy()[g_out])
    if county is None:
        required = np.ones(n_dep, dtype=bool)
    else:
        own_groups = (net.groups["county_code"] == county).to_numpy()
        required = (linked | own_groups[net.d_group]) & ~np.isin(net.d_group, list(groups_leaving))
        if groups_leaving & set(np.flatnonzero(own_groups)) or (linked & ~required).any():
            notes.append(f"county {county}: deputies of groups also linked to stations of other counties are "
                         "sent where needed here but their min_per_year is checked in the city-wide rota")
    if rules.min_per_year == 0:
        required[:] = False
    without_days = int(in_scope.sum()) - sd["s"].nunique()
    if without_days:
        notes.append(f"{without_days} station(s) have no reception day in {year} (their county/town calendar is empty)")
    if len(arcs.d):
        chosen, figures = _solve(arcs, sd, required, n_dep, rules)
    else:
        chosen, figures = np.zeros(0, dtype=bool), {"objective": 0.0, "objective_distance_km": 0.0,
                                                   "objective_fairness": 0.0, "variables": 0.0, "constraints": 0.0,
                                                   "lp_integral": 1.0, "solve_seconds": 0.0, "solver_optimal": 1.0}
    return _result(year, county, net, sd, arcs, chosen, linked, required, dropped, rules, figures, notes,
                   unavailable, t0)


def _result(year: int, county: str | None, net: Network, sd: pd.DataFrame, arcs: _Arcs, chosen: np.ndarray,
            linked: np.ndarray, required: np.ndarray, dropped: int, rules: ReceptionRules,
            figures: dict[str, float], notes: list[str], unavailable: pd.DataFrame | None, t0: float) -> Rota:
    st = net.stations
    dep = net.deputies
    d_c, sd_c = arcs.d[chosen], arcs.sd[chosen]
    s_c = sd["s"].to_numpy()[sd_c]
    rota = pd.DataFrame({
        "date": sd["date"].to_numpy()[sd_c], "start": sd["start"].to_numpy()[sd_c], "end": sd["end"].to_numpy()[sd_c],
        "station_id": st["id"].to_numpy()[s_c], "station_name": st["name"].to_numpy()[s_c],
        "tier": st["tier"].to_numpy()[s_c], "town_code": st["town_code"].to_numpy()[s_c],
        "town_name": st["town_name"].to_numpy()[s_c], "county_code": st["county_code"].to_numpy()[s_c],
        "county_name": st["county_name"].to_numpy()[s_c], "deputy_id": dep["id"].to_numpy()[d_c],
        "group_id": dep["group_id"].to_numpy()[d_c], "distance_m": np.round(arcs.dist[chosen], 1),
        "_s": s_c,
    }).sort_values(["date", "station_id", "deputy_id"], kind="stable").reset_index(drop=True)
    geom = st.geometry.to_numpy()[rota.pop("_s").to_numpy()]
    rota_gdf = gpd.GeoDataFrame(rota, geometry=list(geom), crs=STORAGE_CRS)

    # per station-day
    on_duty = np.bincount(sd_c, minlength=len(sd))
    cand = np.bincount(arcs.sd, minlength=len(sd))
    ids_by_sd = pd.Series(dep["id"].to_numpy()[d_c]).groupby(sd_c).agg(lambda v: ",".join(sorted(v)))
    short = np.maximum(rules.min_deputies - on_duty, 0)
    s = sd["s"].to_numpy()
    days_df = pd.DataFrame({
        "station_id": st["id"].to_numpy()[s], "station_name": st["name"].to_numpy()[s],
        "tier": st["tier"].to_numpy()[s], "town_code": st["town_code"].to_numpy()[s],
        "town_name": st["town_name"].to_numpy()[s], "county_code": st["county_code"].to_numpy()[s],
        "county_name": st["county_name"].to_numpy()[s], "date": sd["date"].to_numpy(),
        "start": sd["start"].to_numpy(), "end": sd["end"].to_numpy(), "source": sd["source"].to_numpy(),
        "rule": sd["rule"].to_numpy(), "deputies": on_duty, "candidates": cand, "short": short,
        "deputy_ids": ids_by_sd.reindex(np.arange(len(sd))).fillna("").to_numpy(),
    })

    # per deputy
    duties = np.bincount(d_c, minlength=len(dep))
    scope = linked | required
    dates_by_d = pd.Series(sd["date"].to_numpy()[sd_c]).groupby(d_c).agg(lambda v: ",".join(sorted(map(str, v))))
    need = np.where(required, rules.min_per_year, 0)
    rows = np.flatnonzero(scope)
    load = pd.DataFrame({"deputy_id": dep["id"].to_numpy()[rows], "group_id": dep["group_id"].to_numpy()[rows],
                         "required": need[rows], "duties": duties[rows],
                         "dates": dates_by_d.reindex(rows).fillna("").to_numpy()})

    unmet: list[Unmet] = []
    # a candidate of a short station-day is busy when on duty at another of the group's stations that day
    ord_sd = sd["ord"].to_numpy()
    busy_keys = d_c * _DAY + ord_sd[sd_c]
    for i in map(int, np.flatnonzero(short > 0)):
        here = arcs.sd == i
        elsewhere = np.isin(arcs.d[here] * _DAY + ord_sd[i], busy_keys) & ~chosen[here]
        unmet.append(Unmet("station_min_deputies", f"{days_df['station_id'].iat[i]} {days_df['date'].iat[i]}",
                           float(short[i]), f"{rules.min_deputies} needed, {on_duty[i]} on duty; of the linked "
                                            f"groups' {cand[i]} deputies free that day, {int(elsewhere.sum())} are on "
                                            "duty at their groups' other stations (one duty a day)"))
    cand_days = np.bincount(arcs.d, minlength=len(dep))
    unav_n = (pd.Series(1, index=unavailable["deputy_id"]).groupby(level=0).size()
              if unavailable is not None and len(unavailable) else pd.Series(dtype=int))
    for i in map(int, np.flatnonzero(required & (duties < rules.min_per_year))):
        if not linked[i]:
            why = f"group {dep['group_id'].iat[i]} is linked to no station with reception days"
        elif cand_days[i] < rules.min_per_year:
            why = (f"only {cand_days[i]} reception day(s) left at the group's stations "
                   f"({int(unav_n.get(dep['id'].iat[i], 0))} date(s) unavailable)")
        else:
            why = "station upper bounds (max_deputies) leave no room"
        unmet.append(Unmet("deputy_min_per_year", str(dep["id"].iat[i]), float(rules.min_per_year - duties[i]), why))
    spread_frame = pd.DataFrame({"g": dep["group_id"].to_numpy()[rows], "n": duties[rows]})
    spread = spread_frame.groupby("g")["n"].agg(["min", "max"]) if len(rows) else pd.DataFrame(columns=["min", "max"])
    gap = (spread["max"] - spread["min"]).astype(int) if len(spread) else pd.Series(dtype=int)
    for g, v in gap[gap > 1].items():
        unmet.append(Unmet("group_fair_load", str(g), float(v - 1),
                           f"duties range {spread.at[g, 'min']!s}–{spread.at[g, 'max']!s} "
                           "(unavailability or one-duty-a-day leaves no fairer choice)"))
    order = {r: i for i, r in enumerate(RULES_CHECKED)}
    unmet.sort(key=lambda u: (order[u.rule], u.where))

    d_m = arcs.dist[chosen]
    dv = duties[rows] if len(rows) else np.zeros(1)
    metrics: dict[str, float] = {
        "year": float(year),
        "stations": float(sd["s"].nunique()),
        "reception_days": float(sd["date"].nunique()),
        "station_days": float(len(sd)),
        "deputies_in_scope": float(len(rows)),
        "duties": float(len(rota)),
        "duties_per_deputy_min": float(dv.min()),
        "duties_per_deputy_mean": round(float(dv.mean()), 3),
        "duties_per_deputy_max": float(dv.max()),
        "deputies_on_duty_per_station_day_min": float(on_duty.min()) if len(sd) else 0.0,
        "deputies_on_duty_per_station_day_mean": round(float(on_duty.mean()), 3) if len(sd) else 0.0,
        "station_days_short": float(np.sum(short > 0)),
        "deputy_units_short_at_stations": float(short.sum()),
        "deputies_below_min": float(np.sum(required & (duties < rules.min_per_year))),
        "groups": float(len(spread)),
        "groups_fair": float(np.sum(gap <= 1)),
        "groups_unfair": float(np.sum(gap > 1)),
        "max_group_spread": float(gap.max()) if len(gap) else 0.0,
        "mean_distance_m": round(float(d_m.mean()), 1) if len(d_m) else 0.0,
        "p95_distance_m": round(float(np.percentile(d_m, 95)), 1) if len(d_m) else 0.0,
        "max_distance_m": round(float(d_m.max()), 1) if len(d_m) else 0.0,
        "candidate_arcs": float(len(arcs.d)),
        "arcs_removed_unavailable": float(dropped),
        **figures,
        "unmet": float(len(unmet)),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return Rota(year=year, rota=rota_gdf, days=days_df, load=load, unmet=tuple(unmet), metrics=metrics,
                notes=tuple(dict.fromkeys(notes)), rules=rules, county=county)
