"""Siting: :func:`plan` = review + maximal covering with the kept stations fixed + metrics.

The steps, each a function below: :func:`~geoplan.planning.inputs.planning_inputs`
(metric arrays), :func:`~geoplan.planning.review.review_network` (keep/close),
:func:`_siting_problem` (coverage of kept stations and candidate venues, the
venue bonus and the every-town rule), :func:`_choose_sites` (the optimizer),
then the result tables (:func:`_station_table`, :func:`_area_tables`) and
:func:`_plan_metrics`.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from geoplan import access
from geoplan.datasets import Dataset
from geoplan.exceptions import InputError
from geoplan.i18n.reasons import reason
from geoplan.planning._helpers import Progress, canon_table, km, people, report
from geoplan.planning.inputs import CoverFunction, PlanningInputs, coverage_function, planning_inputs
from geoplan.planning.models import certainty_metrics, certainty_tables, siting_solution
from geoplan.planning.result import STATION_COLUMNS, VILLAGE_COLUMNS, Plan, PlanMetrics
from geoplan.planning.review import NetworkReview, review_network
from geoplan.planning.scenario import Scenario
from geoplan.settings import STORAGE_CRS
from geoplan.vocabulary import CATEGORY_LABELS

if TYPE_CHECKING:
    from geoplan.optimize import Solution

__all__ = ["plan", "siting_problem", "SitingProblem"]


@dataclass(frozen=True, eq=False)
class SitingProblem:
    """The siting model: columns are the kept stations (fixed), then the candidate venues."""

    cov: sp.csc_matrix  # demand × [kept stations | venues]
    kept: np.ndarray  # indices of kept stations among the active ones
    bonus: np.ndarray  # venue bonus per column (0 for kept stations)
    groups: np.ndarray | None  # town group per column when the every-town rule binds
    min_per_group: np.ndarray | int
    #: venues the scenario requires (indices into inputs.sites), sorted; fixed like the kept stations
    required: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    @property
    def n_kept(self) -> int:
        """Number of kept stations (the first columns)."""
        return len(self.kept)

    @property
    def fixed(self) -> np.ndarray:
        """Columns open whatever the optimizer does: the kept stations, then the required venues."""
        return np.concatenate([np.arange(self.n_kept, dtype=np.int64), self.n_kept + self.required])


@dataclass(frozen=True)
class _Choice:
    new: np.ndarray  # chosen venues (indices into inputs.sites), sorted
    objective: float
    bound: float
    gap: float
    solver: str
    status: str
    seconds: float
    extra: dict[str, float] = field(default_factory=dict)  # metrics of the model's question (price, regret)


def _siting_problem(inp: PlanningInputs, rv: NetworkReview, scenario: Scenario, cover_fn: CoverFunction) -> SitingProblem:
    """Build the covering model; raise if ``min_per_town`` needs more new points than the budget."""
    n_towns = len(inp.towns)
    kept = np.flatnonzero(rv.open_)
    C = cover_fn(inp.demand_xy, inp.site_xy, np.full(len(inp.sites), scenario.radius_m["point"]))
    cov = sp.hstack([rv.cover[:, kept], C], format="csc")
    footfall = inp.sites["footfall"].to_numpy(dtype=float)
    bonus = np.concatenate([np.zeros(len(kept)), scenario.footfall_weight * inp.site_weight * footfall])
    col_town = np.concatenate([inp.station_town[kept], inp.site_town])

    # every-town rule: only towns with a candidate venue can be required to get one
    town_kept = np.bincount(inp.station_town[kept], minlength=n_towns)
    town_cands = np.bincount(inp.site_town, minlength=n_towns)
    need = (town_kept == 0) & (town_cands > 0)
    if scenario.min_per_town and need.sum() > scenario.budget:
        town_names = inp.towns["name"].astype(str).to_numpy()
        town_codes = inp.towns["code"].astype(str).to_numpy()
        names = ", ".join(f"{town_names[t]} ({town_codes[t]})" for t in np.flatnonzero(need)[:8])
        more = f" and {int(need.sum()) - 8} more" if need.sum() > 8 else ""
        raise InputError(
            f"scenario.budget: min_per_town needs a new point in {int(need.sum())} town(s) that have no station "
            f"left after the review ({names}{more}), but budget is {scenario.budget}; raise the budget to at "
            f"least {int(need.sum())} or set min_per_town=False"
        )
    groups = None
    min_per_group: np.ndarray | int = 0
    if scenario.min_per_town and need.any():
        present, groups = np.unique(col_town, return_inverse=True)
        groups = groups.astype(np.int64)
        min_per_group = need[present].astype(float)
    required = np.flatnonzero(inp.sites["id"].astype(str).isin(set(scenario.require_sites)).to_numpy())
    return SitingProblem(cov=cov, kept=kept, bonus=bonus, groups=groups, min_per_group=min_per_group,
                    required=required.astype(np.int64))


def _solve(pb: SitingProblem, inp: PlanningInputs, p: int, scenario: Scenario) -> tuple[Solution, dict[str, float]]:
    # the scenario's model: maximal coverage, a town floor, max-min or robust (geoplan.planning.models)
    return siting_solution(pb.cov.tocsr(), inp, p, pb.fixed, pb.bonus, pb.groups, pb.min_per_group, scenario)


def siting_problem(dataset: Dataset, scenario: Scenario, network: Any = None) -> tuple[PlanningInputs, SitingProblem]:
    """The metric inputs and the siting model :func:`plan` solves (after the review), for other models.

    Columns of ``SitingProblem.cov`` are the kept stations (fixed) then ``inputs.sites``.
    """
    inp = planning_inputs(dataset, scenario)
    cover_fn = coverage_function(scenario, network, inp.metric_crs)
    rv = review_network(inp, scenario, cover_fn)
    return inp, _siting_problem(inp, rv, scenario, cover_fn)


def _choose_sites(pb: SitingProblem, inp: PlanningInputs, scenario: Scenario) -> _Choice:
    """Run the optimizer for ``min(budget, venues)`` new points, the required venues among them
    (none: the kept network as is).
    """
    n_req = len(pb.required)
    p = min(scenario.budget, len(inp.sites)) - n_req  # the optimizer picks the rest; required ones are fixed
    if p > 0:
        sol, extra = _solve(pb, inp, p, scenario)
        if sol.status == "infeasible":
            raise InputError(f"scenario: the siting model is infeasible ({sol.solver}); check min_per_town and budget")
        new = np.concatenate([pb.required, np.asarray(sol.selected, dtype=np.int64) - pb.n_kept])
        return _Choice(np.sort(new), float(sol.objective), float(sol.bound), float(sol.gap), str(sol.solver),
                       str(sol.status), float(sol.seconds), extra)
    obj = float(inp.pop[np.asarray(pb.cov[:, pb.fixed].sum(axis=1)).ravel() > 0].sum())
    return _Choice(np.sort(pb.required), obj, obj, 0.0, "none", "optimal", 0.0)


def _station_table(inp: PlanningInputs, rv: NetworkReview, pb: SitingProblem, new: np.ndarray,
                   final: sp.csc_matrix, cnt_after: np.ndarray) -> gpd.GeoDataFrame:
    """Existing stations (metric order) then the new points (venue order), WGS84."""
    pop, kept, nk = inp.pop, pb.kept, pb.n_kept
    reach_final = final.T @ pop
    unique_final = final.T @ (pop * (cnt_after == 1))
    d_site, _ = access.nearest_distance(inp.site_xy[new], inp.station_xy[kept])
    st, rt = inp.stations, rv.table
    k = len(st)
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
    required = set(pb.required.tolist())
    reasons = [
        reason("required", category=CATEGORY_LABELS.get(c, c), name=nm, people=people(u), footfall=people(f))
        if i in required else
        reason("opened", category=CATEGORY_LABELS.get(c, c), name=nm, people=people(u), distance=km(d),
               footfall=people(f))
        for i, c, nm, u, d, f in zip(new.tolist(), cat, vname, uq, d_site, ff)
    ]
    # say so when the town's unresolved opinions weighed its people more
    town_w = np.ones(len(inp.towns))
    ok = inp.demand_town >= 0
    np.maximum.at(town_w, inp.demand_town[ok], inp.demand_weight[ok])
    pressing = town_w[np.maximum(inp.site_town[new], 0)] if len(new) else np.ones(0)
    reasons = [r + (f"; its town's unresolved opinions weigh people there ×{w:.1f} (民情所急)" if w > 1.0 + 1e-9 else "")
               for r, w in zip(reasons, pressing)]
    opened = pd.DataFrame({
        "id": "new-" + ns["id"].astype(str), "name": vname, "tier": "point", "level": "town",
        "town_code": ns["town_code"].astype(str), "sector": [None] * len(ns), "status": "proposed",
        "site_id": ns["id"].astype(str), "category": cat, "footfall": ff, "decision": "open",
        "reason": reasons, "reach_people": reach_final[nk:], "unique_people": uq,
        "loss_if_closed": uq,
    })
    geoms = np.concatenate([st.geometry.values, ns.geometry.values]) if len(ns) else st.geometry.values
    return gpd.GeoDataFrame(
        canon_table(pd.concat([existing, opened], ignore_index=True)[list(STATION_COLUMNS)]),
        geometry=gpd.GeoSeries(geoms, crs=inp.metric_crs).values, crs=inp.metric_crs,
    ).to_crs(STORAGE_CRS)


@dataclass(frozen=True, eq=False)
class _Access:
    """E2SFCA access to deputies per demand point, per 10,000 people, before / after the plan."""

    before: np.ndarray
    after: np.ndarray


def _access(dataset: Dataset, inp: PlanningInputs, kept: np.ndarray, new: np.ndarray, scenario: Scenario) -> _Access:
    """Each network's stations share their town's deputies (:func:`~geoplan.accessibility.station_capacity`)
    and reach as far as their tier's radius, straight-line, with Luo & Qi's three distance zones.

    Straight-line even when the plan's coverage is by road: the index is a second view of the
    network, comparable between plans whatever their distance mode.
    """
    from geoplan.accessibility import PER_PEOPLE, e2sfca, station_capacity

    codes = inp.towns["code"].astype(str).to_numpy()

    def index(xy: np.ndarray, town: np.ndarray, radius: np.ndarray) -> np.ndarray:
        if not len(xy):
            return np.zeros(len(inp.pop))
        towns = pd.DataFrame({"town_code": codes[town]})
        cap = station_capacity(towns, dataset.groups, dataset.deputies)
        return PER_PEOPLE * e2sfca(inp.demand_xy, inp.pop, xy, cap, radius)

    before = index(inp.station_xy, inp.station_town, inp.station_radius)
    after = index(np.vstack([inp.station_xy[kept], inp.site_xy[new]]),
                  np.concatenate([inp.station_town[kept], inp.site_town[new]]),
                  np.concatenate([inp.station_radius[kept], np.full(len(new), scenario.radius_m["point"])]))
    return _Access(before=before, after=after)


def _village_table(dataset: Dataset, inp: PlanningInputs, acc: _Access) -> gpd.GeoDataFrame:
    """One WGS84 point per demand point with its access before / after (:data:`VILLAGE_COLUMNS`)."""
    d = dataset.demand.reset_index(drop=True)
    names = d["name"].astype(object).where(d["name"].notna(), None) if "name" in d.columns else [None] * len(d)
    table = pd.DataFrame({"id": d["id"].astype(str), "name": names, "town_code": d["town_code"].astype(str),
                          "population": inp.pop, "access_before": acc.before, "access_after": acc.after})
    return gpd.GeoDataFrame(canon_table(table[list(VILLAGE_COLUMNS)]), geometry=d.geometry.values,
                            crs=dataset.demand.crs).to_crs(STORAGE_CRS)


def _area_table(keys: np.ndarray, n: int, pop: np.ndarray, before: np.ndarray, after: np.ndarray,
                st_before: np.ndarray, st_after: np.ndarray, acc: _Access) -> pd.DataFrame:
    """Per-area sums: ``keys`` are area indices per demand point (``st_*`` per station)."""
    ok = keys >= 0
    p = np.bincount(keys[ok], weights=pop[ok], minlength=n)

    def per_head(x: np.ndarray) -> np.ndarray:  # people-weighted mean of x over the area (0 without people)
        tot = np.bincount(keys[ok], weights=(pop * x)[ok], minlength=n)
        return np.divide(tot, p, out=np.zeros(n), where=p > 0)

    return pd.DataFrame({
        "population": p, "covered_before": np.bincount(keys[ok], weights=(pop * before)[ok], minlength=n),
        "covered_after": np.bincount(keys[ok], weights=(pop * after)[ok], minlength=n),
        "share_before": per_head(before.astype(float)), "share_after": per_head(after.astype(float)),
        "stations_before": np.bincount(st_before[st_before >= 0], minlength=n).astype(np.int64),
        "stations_after": np.bincount(st_after[st_after >= 0], minlength=n).astype(np.int64),
        "access_before": per_head(acc.before), "access_after": per_head(acc.after),
    })


def _area_tables(dataset: Dataset, inp: PlanningInputs, kept: np.ndarray, new: np.ndarray,
                 covered_before: np.ndarray, covered_after: np.ndarray,
                 acc: _Access) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Per town (WGS84 polygons) and per county: population, covered, shares, stations before/after."""
    pop = inp.pop
    st_town_after = np.concatenate([inp.station_town[kept], inp.site_town[new]])
    tt = _area_table(inp.demand_town, len(inp.towns), pop, covered_before, covered_after, inp.station_town,
                     st_town_after, acc)
    towns_wgs = dataset.towns.reset_index(drop=True)
    towns = gpd.GeoDataFrame(
        canon_table(pd.concat([inp.towns[["code", "name", "county_code"]], tt], axis=1)),
        geometry=towns_wgs.geometry.values, crs=dataset.towns.crs,
    )
    county_idx = pd.Index(inp.counties["code"].astype(str))
    tc = county_idx.get_indexer(pd.Index(inp.towns["county_code"].astype(str)))
    d_county = np.where(inp.demand_town >= 0, tc[np.maximum(inp.demand_town, 0)], -1)
    s_county_b = tc[inp.station_town]
    s_county_a = tc[st_town_after] if len(st_town_after) else np.zeros(0, np.int64)
    ct = _area_table(d_county, len(county_idx), pop, covered_before, covered_after, s_county_b, s_county_a, acc)
    counties = canon_table(pd.concat([inp.counties[["code", "name"]], ct], axis=1))
    return towns, counties


def _pop_mean(d: np.ndarray, pop: np.ndarray) -> float:
    tot = pop.sum()
    if tot <= 0 or not np.isfinite(d).all():
        return float("inf") if len(d) and not np.isfinite(d).all() else 0.0
    return float((d * pop).sum() / tot)


def _plan_metrics(inp: PlanningInputs, rv: NetworkReview, pb: SitingProblem, choice: _Choice,
                  covered_before: np.ndarray, covered_after: np.ndarray, towns: gpd.GeoDataFrame,
                  acc: _Access, t0: float, extra: dict[str, float]) -> PlanMetrics:
    pop, k, nk = inp.pop, len(inp.stations), pb.n_kept
    d_before, _ = access.nearest_distance(inp.demand_xy, inp.station_xy)
    d_after, _ = access.nearest_distance(inp.demand_xy, np.vstack([inp.station_xy[pb.kept],
                                                                   inp.site_xy[choice.new]]))
    total = float(pop.sum())
    from geoplan.optimize.fairness import share_spread  # lazy: the optimizer package is heavy

    peopled = towns["population"].to_numpy() > 0
    spread_b = share_spread(towns["share_before"].to_numpy()[peopled])
    spread_a = share_spread(towns["share_after"].to_numpy()[peopled])
    from geoplan.accessibility import access_summary

    acc_b, acc_a = access_summary(acc.before, pop), access_summary(acc.after, pop)
    return PlanMetrics(
        population=total,
        people_before=float(pop[covered_before].sum()),
        people_after=float(pop[covered_after].sum()),
        share_before=float(pop[covered_before].sum() / total) if total > 0 else 0.0,
        share_after=float(pop[covered_after].sum() / total) if total > 0 else 0.0,
        n_existing=int(k),
        n_keep=int(nk),
        n_close=int(k - nk),
        n_open=int(len(choice.new)),
        n_candidates=int(len(inp.sites)),
        people_lost_by_closures=float(np.nansum(rv.table["loss_if_closed"].to_numpy()[~rv.open_])),
        mean_distance_before_m=_pop_mean(d_before, pop),
        mean_distance_after_m=_pop_mean(d_after, pop),
        towns_without_station=int((towns["stations_after"].to_numpy() == 0).sum()),
        objective=choice.objective, bound=choice.bound, gap=choice.gap,
        solver=choice.solver, status=choice.status, seconds=choice.seconds,
        plan_seconds=float(time.perf_counter() - t0),
        town_share_min_before=spread_b.min, town_share_min_after=spread_a.min,
        town_share_p10_before=spread_b.p10, town_share_p10_after=spread_a.p10,
        town_gini_before=spread_b.gini, town_gini_after=spread_a.gini,
        access_median_before=acc_b.median, access_median_after=acc_a.median,
        access_p10_before=acc_b.p10, access_p10_after=acc_a.p10,
        villages_without_access_before=float(acc_b.zero), villages_without_access_after=float(acc_a.zero),
        **(choice.extra | extra),
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

    Examples
    --------
    >>> import geoplan
    >>> from geoplan.planning import Scenario, plan
    >>> p = plan(geoplan.load(), Scenario(budget=20))
    >>> len(p.opened), p.metrics.n_open, p.metrics.bound >= p.metrics.objective
    (20, 20, True)
    """
    t0 = time.perf_counter()
    scenario = scenario or Scenario()
    report(progress, 0.0, "preparing layers")
    inp = planning_inputs(dataset, scenario)
    cover_fn = coverage_function(scenario, network, inp.metric_crs)

    report(progress, 0.1, "reviewing existing stations")
    rv = review_network(inp, scenario, cover_fn)

    report(progress, 0.35, "building coverage of candidate venues")
    pb = _siting_problem(inp, rv, scenario, cover_fn)

    report(progress, 0.5, f"choosing {scenario.budget} new points among {len(inp.sites):,} venues")
    choice = _choose_sites(pb, inp, scenario)

    report(progress, 0.85, "computing coverage and reasons")
    final = pb.cov[:, np.concatenate([np.arange(pb.n_kept), pb.n_kept + choice.new])]  # kept, then the new venues
    cnt_after = np.asarray(final.sum(axis=1)).ravel()
    covered_after = cnt_after > 0
    covered_before = np.asarray(rv.cover.sum(axis=1)).ravel() > 0
    stations = _station_table(inp, rv, pb, choice.new, final, cnt_after)
    acc = _access(dataset, inp, pb.kept, choice.new, scenario)
    towns, counties = _area_tables(dataset, inp, pb.kept, choice.new, covered_before, covered_after, acc)
    extra: dict[str, float] = {}
    if scenario.alternatives:
        report(progress, 0.9, f"looking for {scenario.alternatives} plans within "
                              f"{scenario.alternatives_tolerance:.1%} of the optimum")
        sites, _, info = certainty_tables(inp, pb, scenario, scenario.alternatives, scenario.alternatives_tolerance,
                                          exact_force=0)
        extra = certainty_metrics(sites, info)
    metrics = _plan_metrics(inp, rv, pb, choice, covered_before, covered_after, towns, acc, t0, extra)
    report(progress, 1.0, "done")
    return Plan(scenario=scenario, dataset_name=dataset.name, stations=stations, towns=towns,
                counties=counties, metrics=metrics, villages=_village_table(dataset, inp, acc))
