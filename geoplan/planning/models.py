"""Which optimizer model answers a scenario's siting question, and the planning questions
asked around a plan: fairness between towns, robustness over demand scenarios, and how sure
each chosen site is.

:func:`solve_siting` is what :func:`~geoplan.planning.plan` calls: maximal coverage by
default, :mod:`geoplan.optimize.fairness` for ``Scenario.min_town_share`` / ``fair``,
:mod:`geoplan.optimize.robust` for ``Scenario.robust``.  The report functions
(:func:`fairness_report`, :func:`robust_report`, :func:`site_certainty`) solve on exactly the
plan's siting model (:func:`~geoplan.planning.siting.siting_problem`) and name stations,
venues and towns by their ids.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from geoplan.exceptions import InputError
from geoplan.planning.inputs import PlanningInputs
from geoplan.planning.scenario import OPTIMIZER_SOLVER, RobustSpec, Scenario

if TYPE_CHECKING:
    from geoplan.datasets import Dataset
    from geoplan.optimize import Solution

__all__ = ["solve_siting", "siting_solution", "ROBUST_ROW", "certainty_metrics", "census_trend",
           "scenario_weights", "demand_towns", "FairnessSummary", "fairness_report",
           "robust_report", "site_certainty", "certainty_tables", "with_site_certainty"]


def demand_towns(inp: PlanningInputs) -> tuple[np.ndarray, list[str]]:
    """Per demand point its town index (-1: none) and the names of the sorted labels, for messages."""
    labels = np.asarray(inp.demand_town, np.int64)
    names = inp.towns["name"].astype(str) + " (" + inp.towns["code"].astype(str) + ")"
    return labels, [names.iloc[t] if t >= 0 else "no town" for t in np.unique(labels)]


def census_trend(inp: PlanningInputs) -> pd.DataFrame:
    """Per county its 2020 urban / rural people and the annual rates the ``census`` rule uses.

    The people come from the counties layer's census columns (``urban_population``,
    ``rural_population``) when every county has them, else from the demand points (their
    people by urban / rural class) — for the bundled dataset both are the 2020 census, since
    the builder shares each county's census urban (rural) people among its urban (rural)
    places.  Rates: :func:`geoplan.optimize.robust.census_trend_rates` with
    :data:`~geoplan.optimize.robust.JIANGSU_YANCHENG_2010_2020`.

    Examples
    --------
    >>> import geoplan
    >>> from geoplan.planning import planning_inputs
    >>> t = census_trend(planning_inputs(geoplan.load()))
    >>> t.set_index("code").loc["320902", ["urban_2020", "rural_2020"]].tolist()
    [702800.0, 95203.0]
    """
    from geoplan.optimize.robust import census_trend_rates

    c = inp.counties
    n = len(c)
    if c["urban_population"].notna().all() and c["rural_population"].notna().all():
        urban = c["urban_population"].to_numpy(float)
        rural = c["rural_population"].to_numpy(float)
        source = "census columns of the counties layer"
    else:
        ok = inp.demand_county >= 0
        urban = np.bincount(inp.demand_county[ok], weights=(inp.pop * inp.demand_urban)[ok], minlength=n)
        rural = np.bincount(inp.demand_county[ok], weights=(inp.pop * ~inp.demand_urban)[ok], minlength=n)
        source = "demand points by urban / rural class"
    growth, decline = census_trend_rates(urban, rural)
    total = urban + rural
    return pd.DataFrame({"code": c["code"].astype(str), "name": c["name"].astype(str), "urban_2020": urban,
                         "rural_2020": rural,
                         "urban_share_2020": np.divide(urban, total, out=np.zeros(n), where=total > 0),
                         "urban_growth": growth, "rural_decline": decline, "source": source})


def scenario_weights(inp: PlanningInputs, spec: RobustSpec) -> np.ndarray:
    """The ``(K, n_demand)`` demand of the robust scenarios (today first).

    Examples
    --------
    >>> import geoplan
    >>> from geoplan.planning import Scenario, planning_inputs
    >>> inp = planning_inputs(geoplan.load(), Scenario())
    >>> scenario_weights(inp, RobustSpec(k=4)).shape[0]
    4
    """
    from geoplan.optimize.robust import census_scenarios, demand_scenarios

    if not spec.town_factors:
        if spec.generator == "ranges":
            return demand_scenarios(inp.pop, inp.demand_urban, spec.k, seed=spec.seed, urban_growth=spec.urban_growth,
                                    rural_decline=spec.rural_decline, noise=spec.noise)
        t = census_trend(inp)
        county = np.maximum(inp.demand_county, 0)
        # a point outside every county keeps today's people (rate 0) but still gets the noise
        rate = np.where(inp.demand_county < 0, 0.0,
                        np.where(inp.demand_urban, t["urban_growth"].to_numpy()[county],
                                 -t["rural_decline"].to_numpy()[county]))
        return census_scenarios(inp.pop, rate, spec.k, seed=spec.seed, horizon_years=spec.horizon_years,
                                pace=spec.pace, noise=spec.noise)
    codes = inp.towns["code"].astype(str).to_numpy()
    known = set(codes)
    rows = [inp.pop]
    for i, factors in enumerate(spec.town_factors):
        unknown = sorted(set(factors) - known)
        if unknown:
            raise InputError(f"scenario.robust.town_factors.{i}: unknown town code(s) {', '.join(unknown[:5])}")
        per_town = np.array([factors.get(c, 1.0) for c in codes])
        rows.append(inp.pop * np.where(inp.demand_town >= 0, per_town[np.maximum(inp.demand_town, 0)], 1.0))
    return np.vstack(rows)


def solve_siting(cov: sp.csr_matrix, inp: PlanningInputs, p: int, fixed: np.ndarray, bonus: np.ndarray,
                 groups: np.ndarray | None, min_per_group: Any, scenario: Scenario) -> "Solution":
    """The scenario's siting model on ``cov`` (kept stations fixed, then the candidate venues).

    Maximal coverage; with ``min_town_share`` the town floor; with ``fair="maxmin"`` the
    lexicographic max-min; with ``robust`` the plan its ``objective`` names (its
    ``objective`` is then the worst scenario's coverage, the expected coverage, or minus
    the largest regret).  :func:`siting_solution` also returns what the model's question
    measures (the price of fairness, the robust plan's regret).
    """
    return siting_solution(cov, inp, p, fixed, bonus, groups, min_per_group, scenario)[0]


#: :attr:`RobustSpec.objective` → its plan's row in :meth:`RobustResult.regret_table`.
ROBUST_ROW = {"worst": "worst-case", "expected": "expected", "regret": "min-max regret"}


def siting_solution(cov: sp.csr_matrix, inp: PlanningInputs, p: int, fixed: np.ndarray, bonus: np.ndarray,
                    groups: np.ndarray | None, min_per_group: Any, scenario: Scenario
                    ) -> tuple["Solution", dict[str, float]]:
    """:func:`solve_siting` and the :class:`~geoplan.planning.PlanMetrics` its question adds.

    With a fairness rule, plain maximal coverage of the same model is solved too
    (:func:`geoplan.optimize.fairness.price_of_fairness`, half the time limit each):
    ``fairness_price`` (plain − fair objective) and its certified bracket.  With ``robust``,
    the chosen plan's row of the regret table: scenarios, worst and expected coverage, largest
    and mean regret and the bound on the largest.  Otherwise no extra metric.
    """
    from geoplan.optimize import max_coverage
    from geoplan.optimize.fairness import price_of_fairness
    from geoplan.optimize.robust import robust_siting

    tl, seed = scenario.time_limit, scenario.seed
    towns, names = demand_towns(inp)
    if scenario.min_town_share is not None or scenario.fair == "maxmin":
        floor = scenario.min_town_share is not None
        rep = price_of_fairness(cov, p, weights=inp.pop, towns=towns, fair="floor" if floor else "maxmin",
                                min_town_share=scenario.min_town_share, fixed=fixed, site_bonus=bonus, time_limit=tl,
                                seed=seed, town_names=names, groups=groups, min_per_group=min_per_group)
        return rep.fair, {"fairness_price": float(rep.price), "fairness_price_low": float(rep.price_low),
                          "fairness_price_high": float(rep.price_high)}
    if scenario.robust is not None:
        # people weigh more where their town's unresolved opinions press (demand_weight is 1 by default)
        W = scenario_weights(inp, scenario.robust) * inp.demand_weight
        r = robust_siting(cov, p, weights=W, fixed=fixed, site_bonus=bonus, time_limit=tl, seed=seed,
                          groups=groups, min_per_group=min_per_group)
        row = r.regret_table().loc[ROBUST_ROW[scenario.robust.objective]].astype(float).to_dict()
        return ({"worst": r.worst, "expected": r.expected, "regret": r.regret}[scenario.robust.objective],
                {"robust_scenarios": float(len(W)), "robust_worst_coverage": row["worst coverage"],
                 "robust_expected_coverage": row["expected coverage"], "robust_max_regret": row["max regret"],
                 "robust_mean_regret": row["mean regret"], "robust_max_regret_bound": row["max regret ≤"]})
    return max_coverage(cov, p, weights=inp.pop * inp.demand_weight, fixed=fixed, site_bonus=bonus, groups=groups,
                        min_per_group=min_per_group,
                        solver=OPTIMIZER_SOLVER[scenario.solver], time_limit=tl, seed=seed), {}


# -- reports around a plan ------------------------------------------------------------------
@dataclass(frozen=True)
class FairnessSummary:
    """What a fair plan costs against the same scenario without the fairness rule."""

    price: float  # people (+ bonus) the fair plan gives up
    price_low: float  # certified bracket of the price of the optima
    price_high: float
    table: pd.DataFrame  # rows before / plain / fair; min, p10, Gini, mean of town shares; people

    def lines(self) -> list[str]:
        """Printable lines (the CLI's)."""
        out = [f"price of fairness: {self.price:,.0f} people (certified between {self.price_low:,.0f} and "
               f"{self.price_high:,.0f})"]
        for name, r in self.table.iterrows():
            out.append(f"  {name:<22} town shares min {r['min']:6.1%}  p10 {r['p10']:6.1%}  Gini {r['gini']:.3f}  "
                       f"people within reach {r['people']:,.0f}")
        return out


def fairness_report(plain: Any, fair: Any) -> FairnessSummary:
    """Compare a fair :class:`~geoplan.planning.Plan` with the plain one (same scenario otherwise).

    The spread is over towns with people, from the plans' town tables (``share_before`` is
    today's network, ``share_after`` each plan's).
    """
    from geoplan.optimize.fairness import share_spread

    def spread(shares: pd.Series, pop: pd.Series, people: float) -> dict[str, float]:
        s = share_spread(shares[pop > 0].to_numpy(float))
        return {"min": s.min, "p10": s.p10, "gini": s.gini, "mean": s.mean, "people": people}

    tp, tf = plain.towns, fair.towns
    mp, mf = plain.metrics, fair.metrics
    table = pd.DataFrame({
        "before (today)": spread(tp["share_before"], tp["population"], mp.people_before),
        "maximal coverage": spread(tp["share_after"], tp["population"], mp.people_after),
        "fair plan": spread(tf["share_after"], tf["population"], mf.people_after),
    }).T
    return FairnessSummary(price=mp.objective - mf.objective, price_low=max(0.0, mp.objective - mf.bound),
                           price_high=mp.bound - mf.objective, table=table)


def robust_report(dataset: "Dataset", scenario: Scenario, network: Any = None) -> pd.DataFrame:
    """The regret table of the robust plans and today's maximal-coverage plan over the scenario's
    demand scenarios (``scenario.robust``, default :class:`RobustSpec`), on the plan's siting model.
    """
    from geoplan.optimize import max_coverage
    from geoplan.optimize.robust import robust_siting
    from geoplan.planning.siting import siting_problem

    spec = scenario.robust or RobustSpec()
    inp, pb = siting_problem(dataset, scenario, network)
    p = min(scenario.budget, len(inp.sites)) - len(pb.required)  # required venues are fixed, in the budget
    cov = pb.cov.tocsr()
    today = max_coverage(cov, p, weights=inp.pop, fixed=pb.fixed, site_bonus=pb.bonus, groups=pb.groups,
                         min_per_group=pb.min_per_group, time_limit=scenario.time_limit, seed=scenario.seed)
    r = robust_siting(cov, p, weights=scenario_weights(inp, spec), fixed=pb.fixed, site_bonus=pb.bonus,
                      time_limit=scenario.time_limit, seed=scenario.seed,
                      plans={"today's maximal coverage": today.selected}, groups=pb.groups,
                      min_per_group=pb.min_per_group)
    keep = ["today's maximal coverage", "worst-case", "expected", "min-max regret"]
    return r.regret_table().loc[keep]


def site_certainty(dataset: "Dataset", scenario: Scenario, n_plans: int = 5, tolerance: float = 0.005,
                   exact_force: int = 10, network: Any = None) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """How sure each new point of the scenario's plan is, over ``n_plans`` plans within ``tolerance``.

    Returns
    -------
    (sites, force, info)
        ``sites``: per chosen venue ``site_id``, ``town_code``, ``kind`` (firm / swappable /
        only-one), ``n_plans`` and ``swaps`` (venue ids); ``force``: per candidate venue not
        chosen, ``force_low``/``force_high`` people the plan would lose if it were forced in,
        cheapest first; ``info``: plans found, their objectives, threshold, ``certified``,
        ``exhausted``, seconds.  :func:`certainty_metrics` turns ``sites`` and ``info`` into
        the plan's metrics (:func:`with_site_certainty`).
    """
    from geoplan.planning.siting import siting_problem

    inp, pb = siting_problem(dataset, scenario, network)
    return certainty_tables(inp, pb, scenario, n_plans, tolerance, exact_force)


def certainty_tables(inp: PlanningInputs, pb: Any, scenario: Scenario, n_plans: int, tolerance: float,
                     exact_force: int) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """:func:`site_certainty` on a siting model already built (``pb``: a ``SitingProblem``)."""
    from geoplan.optimize.alternatives import alternatives

    p = min(scenario.budget, len(inp.sites)) - len(pb.required)  # required venues are fixed, in the budget
    alt = alternatives(pb.cov.tocsr(), p, weights=inp.pop, fixed=pb.fixed, site_bonus=pb.bonus, tolerance=tolerance,
                       n_plans=n_plans, exact_force=exact_force, time_limit=scenario.time_limit, seed=scenario.seed,
                       groups=pb.groups, min_per_group=pb.min_per_group)
    nk = pb.n_kept
    vid = inp.sites["id"].astype(str).to_numpy()
    vtown = inp.sites["town_code"].astype(str).to_numpy()

    def venue(col: int) -> str:
        return str(vid[col - nk])

    sites = pd.DataFrame({"site_id": [venue(j) for j in alt.site], "town_code": [vtown[j - nk] for j in alt.site],
                          "kind": alt.kind, "n_plans": alt.n_plans,
                          "swaps": [", ".join(venue(s) for s in sw[:5]) for sw in alt.swaps]})
    force = alt.force_table()
    force = pd.DataFrame({"site_id": [venue(j) for j in force["site"]], "town_code": [vtown[j - nk] for j in force["site"]],
                          "force_low": force["force_low"].to_numpy(), "force_high": force["force_high"].to_numpy(),
                          "exact": [int(j) in alt.exact for j in force["site"]]})
    info = {"plans": len(alt.plans), "objectives": alt.objectives.tolist(), "threshold": alt.threshold,
            "certified": alt.certified, "exhausted": alt.exhausted, "seconds": alt.seconds}
    return sites, force, info


def certainty_metrics(sites: pd.DataFrame, info: Mapping[str, Any]) -> dict[str, float]:
    """The :class:`~geoplan.planning.PlanMetrics` of :func:`site_certainty`'s answer.

    Examples
    --------
    >>> certainty_metrics(pd.DataFrame({"kind": ["firm", "firm", "swappable"]}), {"plans": 4})
    {'alternatives_plans': 4.0, 'sites_firm': 2.0, 'sites_swappable': 1.0, 'sites_only_one': 0.0}
    """
    kinds = sites["kind"].astype(str)
    return {"alternatives_plans": float(info["plans"]), "sites_firm": float((kinds == "firm").sum()),
            "sites_swappable": float((kinds == "swappable").sum()), "sites_only_one": float((kinds == "only-one").sum())}


def with_site_certainty(plan: Any, sites: pd.DataFrame, info: Mapping[str, Any], n_plans: int,
                        tolerance: float = 0.005) -> Any:
    """The :class:`~geoplan.planning.Plan` with :func:`site_certainty`'s counts in its metrics and
    ``alternatives`` / ``alternatives_tolerance`` in its scenario (what :func:`~geoplan.planning.plan`
    gives for that scenario, without searching again).
    """
    scenario = plan.scenario.model_copy(update={"alternatives": int(n_plans), "alternatives_tolerance": float(tolerance)})
    return replace(plan, scenario=scenario, metrics=replace(plan.metrics, **certainty_metrics(sites, info)))
