"""Plans that hold up when the city changes: siting over K demand scenarios.

Given K weight vectors (the user's, or :func:`demand_scenarios`), :func:`robust_siting`
finds the plan with the best *worst-case* coverage (exact HiGHS MIP: max t with every
scenario's coverage >= t), the plan with the best *expected* coverage
(:func:`geoplan.optimize.max_coverage` on the probability-weighted demand), the plan with
the smallest *maximum regret*, and each scenario's own optimum; ``regret_table`` reports
every plan's regret in every scenario against that scenario's optimum, bracketed by the
scenario's certificate.  The scenarios themselves: :func:`census_scenarios` carries each
place's census trend forward (:func:`census_trend_rates`: per-county urban growth and rural
decline from the 2020 census and the 2010 → 2020 trend, :data:`JIANGSU_YANCHENG_2010_2020`);
:func:`demand_scenarios` draws from plain ranges.

>>> import numpy as np
>>> from geoplan.optimize.robust import robust_siting
>>> A = np.array([[1, 0], [0, 1]])
>>> r = robust_siting(A, 1, weights=[[10, 1], [1, 10], [6, 6]])
>>> r.worst.objective, float(r.regret_table().loc["worst-case", "max regret"])
(1.0, 9.0)
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from geoplan.exceptions import InputError
from geoplan.optimize import _cover_mip as C
from geoplan.optimize import _validate as V
from geoplan.optimize.solution import Solution, Status

__all__ = ["RobustResult", "CensusTrend", "JIANGSU_YANCHENG_2010_2020", "census_trend_rates", "census_scenarios",
           "demand_scenarios", "robust_siting"]


@dataclass(frozen=True)
class CensusTrend:
    """A decade of urbanisation between two censuses, for :func:`census_trend_rates`.

    Attributes
    ----------
    urban_share_rise
        Rise of the urban share of the population over the decade, as a fraction
        (0.1286 = 12.86 percentage points).
    population_ratio
        Resident population at the end of the decade over the start (e.g. 0.924: a
        7.6 % fall).
    years
        Length of the decade in years.
    min_urban_share
        Floor of a county's back-cast urban share at the start (keeps the rates finite
        where the end share is below the rise).
    """

    urban_share_rise: float
    population_ratio: float
    years: float = 10.0
    min_urban_share: float = 0.05

    def __post_init__(self) -> None:
        if not (0 <= self.urban_share_rise < 1 and self.population_ratio > 0 and self.years > 0
                and 0 < self.min_urban_share < 1):
            raise InputError("census trend: urban_share_rise in [0, 1), population_ratio > 0, years > 0 and "
                             f"min_urban_share in (0, 1), got {self!r}")


#: Yancheng, 2010 → 2020 (6th → 7th national census).  The rise of the urban share is
#: Jiangsu's: 60.58 % (2010) → 73.44 % (2020), +12.86 points (Jiangsu Provincial Bureau of
#: Statistics, communiqué of the 7th national census of Jiangsu, 2021; not checked against the
#: communiqué's text offline).  The population ratio is Yancheng's: 6,709,629 residents in 2020
#: (the census rows of ``data/raw/yancheng/census2020/counties_2020.csv``) over about 7,260,200
#: in 2010 (the 6th census, "726.02万", as quoted in reports of the 7th census' results; the
#: unrounded 2010 figure was not checked).  Yancheng's own 2010 urban share is not in the
#: bundled sources, hence Jiangsu's rise.
JIANGSU_YANCHENG_2010_2020 = CensusTrend(urban_share_rise=0.7344 - 0.6058, population_ratio=6_709_629 / 7_260_200)


def census_trend_rates(urban: Any, rural: Any, trend: CensusTrend = JIANGSU_YANCHENG_2010_2020
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Annual urban growth and rural decline per county from its census urban/rural population.

    Back-casts each county to the start of the decade with the city's trend and reads the
    change as a compound annual rate.  For a county with ``U`` urban and ``R`` rural people
    at the end (urban share ``u = U / (U + R)``)::

        u0 = max(u - rise, min_urban_share)            # its urban share a decade earlier
        T0 = (U + R) / population_ratio                 # its population a decade earlier
        urban growth  g = (U / (u0 T0)) ** (1 / years) - 1
        rural decline d = 1 - (R / ((1 - u0) T0)) ** (1 / years)

    Assumptions (the sources give no per-county 2010 split): every county's urban share
    rose by the province's points and its population changed by the city's ratio.  Counties
    already mostly urban thus lose their few rural people fast (亭湖区: 88 % urban, rural
    −7.8 % a year), mostly rural ones grow their towns fast (响水县: urban +1.7 % a year).
    Part of the census' "urban growth" is villages reclassified as urban; here it shows as
    urban places growing and rural ones shrinking — a rule for stress scenarios, not a forecast.

    Returns
    -------
    (growth, decline) : numpy.ndarray
        Per county, annual rates (``decline`` < 1, negative if the rural population grew;
        ``growth`` > -1).  A county without urban (rural) people gets 0 growth (decline).

    Examples
    --------
    >>> g, d = census_trend_rates([4_301_656], [2_407_973])  # Yancheng as a whole, 2020
    >>> round(float(g[0]), 4), round(float(d[0]), 4)
    (0.0146, 0.0378)
    """
    U = V.weights(urban, len(np.atleast_1d(np.asarray(urban))), "urban")
    R = V.weights(rural, len(U), "rural")
    T = U + R
    people = T > 0
    u = np.divide(U, T, out=np.zeros_like(T), where=people)
    u0 = np.maximum(u - trend.urban_share_rise, trend.min_urban_share)
    T0 = np.where(people, T / trend.population_ratio, 1.0)
    # a county without urban (rural) people has no urban (rural) rate to speak of: 0
    fu = np.where(U > 0, U / (u0 * T0), 1.0)
    fr = np.where(R > 0, R / ((1 - u0) * T0), 1.0)
    return fu ** (1 / trend.years) - 1, 1 - fr ** (1 / trend.years)


def census_scenarios(population: Any, annual_rate: Any, k: int = 10, *, seed: int = 0, horizon_years: float = 5.0,
                     pace: tuple[float, float] = (0.5, 1.5), noise: float = 0.05) -> np.ndarray:
    """K demand scenarios that carry each place's census trend forward over a horizon.

    Scenario 0 is today's population.  Scenario ``s >= 1`` draws one pace ``t_s ~ U(pace)``
    (how fast the trend runs: 1 is the census decade's own pace) and multiplies every point
    by its compound annual rate (urban growth ``+g``, rural decline ``-d`` of its county,
    :func:`census_trend_rates`) over ``t_s × horizon_years``, and by ``exp(N(0, noise))``
    for local variation::

        w_si = population_i × (1 + rate_i) ** (t_s × horizon_years) × exp(ε_si)

    Returns
    -------
    numpy.ndarray
        ``(k, n)`` non-negative weights; deterministic for a given ``seed``.

    Examples
    --------
    >>> w = census_scenarios([100, 100], [0.02, -0.04], k=3, seed=1, noise=0.0)
    >>> w[0].tolist(), bool((w[1:, 0] > 100).all() and (w[1:, 1] < 100).all())
    ([100.0, 100.0], True)
    """
    pop = V.weights(population, len(np.asarray(population)), "population")
    rate = np.asarray(annual_rate, dtype=float)
    if rate.shape != pop.shape or not np.isfinite(rate).all() or (rate <= -1).any():
        raise InputError(f"annual_rate: expected one finite rate > -1 per demand point ({len(pop)}), "
                         f"got shape {rate.shape}")
    k = V.count(k, "k")
    if k < 1:
        raise InputError("k: at least one scenario")
    lo, hi = pace
    if not (np.isfinite(lo) and np.isfinite(hi) and 0 <= lo <= hi):
        raise InputError(f"pace: expected (low, high) with 0 <= low <= high, got {pace!r}")
    h = V.number(horizon_years, "horizon_years")
    noise = V.number(noise, "noise")
    if h < 0 or noise < 0:
        raise InputError("horizon_years, noise: must be >= 0")
    rng = np.random.default_rng(V.seed(seed))
    out = np.empty((k, len(pop)))
    out[0] = pop
    log_rate = np.log1p(rate)
    for s in range(1, k):
        t = rng.uniform(lo, hi)
        out[s] = pop * np.exp(log_rate * t * h + rng.normal(0.0, noise, len(pop)))
    return np.maximum(out, 0.0)


def demand_scenarios(population: Any, urban: Any, k: int = 10, *, seed: int = 0,
                     urban_growth: tuple[float, float] = (0.0, 0.15),
                     rural_decline: tuple[float, float] = (0.0, 0.20), noise: float = 0.05) -> np.ndarray:
    """K demand scenarios from documented rules: urban growth, rural decline, local noise.

    Scenario 0 is today's population.  Scenario ``s >= 1`` draws one growth rate
    ``g_s ~ U(urban_growth)`` for urban demand points and one decline ``d_s ~
    U(rural_decline)`` for rural ones (over the planning horizon), and multiplies every
    point by ``exp(N(0, noise))`` for local variation (an ageing village, a new estate, foot
    traffic)::

        w_si = population_i × (1 + g_s if urban_i else 1 - d_s) × exp(ε_si)

    The default ranges are placeholders, not census figures; :func:`census_scenarios` with
    :func:`census_trend_rates` is the rule derived from the census.

    Returns
    -------
    numpy.ndarray
        ``(k, n)`` non-negative weights; deterministic for a given ``seed``.

    Examples
    --------
    >>> w = demand_scenarios([100, 100], [True, False], k=3, seed=1)
    >>> w.shape, w[0].tolist()
    ((3, 2), [100.0, 100.0])
    """
    pop = V.weights(population, len(np.asarray(population)), "population")
    urb = np.asarray(urban)
    if urb.shape != pop.shape or urb.dtype != bool:
        raise InputError(f"urban: expected one True/False per demand point ({len(pop)}), got {urb.dtype} {urb.shape}")
    k = V.count(k, "k")
    if k < 1:
        raise InputError("k: at least one scenario")
    for name, (lo, hi) in (("urban_growth", urban_growth), ("rural_decline", rural_decline)):
        if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi) or (name == "rural_decline" and not 0 <= lo <= hi <= 1):
            raise InputError(f"{name}: expected (low, high) with low <= high"
                             + (" within [0, 1]" if name == "rural_decline" else "") + f", got {(lo, hi)!r}")
    noise = V.number(noise, "noise")
    if noise < 0:
        raise InputError("noise: must be >= 0")
    rng = np.random.default_rng(V.seed(seed))
    out = np.empty((k, len(pop)))
    out[0] = pop
    for s in range(1, k):
        g = rng.uniform(*urban_growth)
        d = rng.uniform(*rural_decline)
        out[s] = pop * np.where(urb, 1 + g, 1 - d) * np.exp(rng.normal(0.0, noise, len(pop)))
    return np.maximum(out, 0.0)


@dataclass(frozen=True, eq=False)
class RobustResult:
    """Robust plans, each scenario's optimum, and every plan's coverage per scenario.

    ``coverage[name][s]`` is plan ``name``'s objective (newly covered weight + bonus) in
    scenario ``s``; ``optimum[s]``/``optimum_bound[s]`` bracket scenario ``s``'s optimum.
    """

    worst: Solution  # best worst case: objective = its worst scenario's coverage
    expected: Solution  # best expected coverage
    regret: Solution  # smallest maximum regret (against the scenario optima found)
    optimum: np.ndarray
    optimum_bound: np.ndarray
    probabilities: np.ndarray
    plans: dict[str, np.ndarray] = field(default_factory=dict)
    coverage: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: float = 0.0

    def regret_table(self) -> pd.DataFrame:
        """Per plan: regret in each scenario (``optimum - coverage``), its maximum and mean,
        and ``max regret ≤`` (with each scenario's bound instead of its best plan).
        """
        rows = {}
        for name, cov in self.coverage.items():
            reg = self.optimum - cov
            rows[name] = {**{f"s{s}": float(r) for s, r in enumerate(reg)}, "max regret": float(reg.max()),
                          "mean regret": float((self.probabilities * reg).sum()),
                          "max regret ≤": float((self.optimum_bound - cov).max()),
                          "worst coverage": float(cov.min()), "expected coverage": float((self.probabilities * cov).sum())}
        return pd.DataFrame.from_dict(rows, orient="index")


def _weights_matrix(weights: Any, n: int) -> np.ndarray:
    W = np.asarray(weights, dtype=float)
    if W.ndim != 2 or W.shape[1] != n:
        raise InputError(f"weights: expected a (K, {n}) matrix of scenario weights, got shape {W.shape}")
    if not len(W):
        raise InputError("weights: at least one scenario")
    if not np.isfinite(W).all() or (W < 0).any():
        bad = np.argwhere(~np.isfinite(W) | (W < 0))[0]
        raise InputError(f"weights: scenario {int(bad[0])}, demand point {int(bad[1])} must be a finite number >= 0")
    return W


def _minmax(inst: C.CoverInstance, W: np.ndarray, shift: np.ndarray, seconds: float, start: np.ndarray | None
            ) -> tuple[np.ndarray, float, str]:
    """Max t s.t. objective_s(y) - shift_s >= t for every scenario; (sites, bound on t, status)."""
    form = C.ZForm(inst, extra=1)
    form.lo[-1] = -np.inf
    form.c = np.zeros(form.ncols)
    form.c[-1] = 1.0
    rows = sp.vstack([sp.csr_matrix(form.coverage_objective(w)[None, :]) for w in W], format="lil")
    rows[:, form.ncols - 1] = -1.0
    form.add_rows(sp.csr_matrix(rows), shift, np.full(len(W), np.inf))
    warm = form.start(start)
    if warm is not None and start is not None:
        warm[-1] = min(inst.objective(start, w) - s for w, s in zip(W, shift))
    sel, _, _, bound, status = form.solve(True, seconds, warm)
    if sel is None:
        return (start if start is not None else np.zeros(0, np.int64)), np.inf, status
    return sel, bound, status


def robust_siting(coverage: Any, p: int, *, weights: Any, fixed: Any = None, site_bonus: Any = None,
                  probabilities: Any = None, time_limit: float = 60, seed: int = 0,
                  plans: dict[str, Any] | None = None, groups: Any = None, min_per_group: Any = 0) -> RobustResult:
    """Best worst-case, best expected and least-max-regret plans over K weight scenarios.

    Parameters
    ----------
    coverage, p, fixed, site_bonus, seed, groups, min_per_group
        As in :func:`geoplan.optimize.max_coverage`.
    weights
        ``(K, n_demand)`` weights, one row per scenario.
    probabilities
        ``(K,)`` scenario probabilities for the expected plan (default equal; normalised).
    time_limit
        Seconds in all: half for the K scenario optima and the expected plan, a quarter
        each for the worst-case and the regret MIPs.
    plans
        More plans (name → new-site indices) to report in the regret table, e.g. today's
        plain maximal-coverage plan.

    Returns
    -------
    RobustResult
        ``worst.objective`` is the worst scenario's coverage of the worst-case plan and
        ``worst.bound`` HiGHS's bound on it; ``regret.objective`` is minus its maximum
        regret.  ``regret_table()`` compares every plan.

    Raises
    ------
    InputError
        Bad shapes or values (naming the scenario and demand point), bad probabilities.
    """
    from geoplan.optimize import max_coverage

    t0 = time.perf_counter()
    A = V.matrix(coverage, "coverage", binary=True)
    W = _weights_matrix(weights, A.shape[0])
    K = len(W)
    inst = C.instance(A, p, weights=W[0], fixed=fixed, site_bonus=site_bonus, time_limit=time_limit, seed=seed,
                      groups=groups, min_per_group=min_per_group)
    if probabilities is None:
        prob = np.full(K, 1.0 / K)
    else:
        prob = np.asarray(probabilities, float)
        if prob.shape != (K,) or not np.isfinite(prob).all() or (prob < 0).any() or prob.sum() <= 0:
            raise InputError(f"probabilities: expected {K} non-negative numbers with a positive sum")
        prob = prob / prob.sum()
    budget = inst.time_limit
    opt_sel, opt, opt_bound = [], np.empty(K), np.empty(K)
    for s in range(K):
        sol = max_coverage(A, inst.p, **(inst.coverage_args() | {"weights": W[s]}), time_limit=max(budget / (2 * (K + 1)), 0.1),
                           seed=inst.seed)
        opt_sel.append(sol.selected)
        opt[s], opt_bound[s] = sol.objective, sol.bound
    exp_sol = max_coverage(A, inst.p, **(inst.coverage_args() | {"weights": prob @ W}),
                           time_limit=max(budget / (2 * (K + 1)), 0.1), seed=inst.seed)
    covs = lambda sel: np.array([inst.objective(sel, w) for w in W])  # noqa: E731
    # warm start: the scenario optimum (or expected plan) with the best worst case
    starts = opt_sel + [exp_sol.selected]
    best_start = max(starts, key=lambda sel: covs(sel).min())
    left = max(budget - (time.perf_counter() - t0), 0.2)
    w_sel, w_bound, w_status = _minmax(inst, W, np.zeros(K), left / 2, best_start)
    worst_val = float(covs(w_sel).min())
    gap, status = C.gap_status(worst_val, max(w_bound, worst_val), w_status)
    worst = _solution(inst, w_sel, worst_val, max(float(w_bound), worst_val), gap, status, t0,
                      "highs (max-min over scenarios)")
    reg_start = min(starts + [w_sel], key=lambda sel: (opt - covs(sel)).max())
    left = max(budget - (time.perf_counter() - t0), 0.1)
    r_sel, r_bound, r_status = _minmax(inst, W, opt, left, reg_start)  # max t = -(max regret)
    r_val = float((covs(r_sel) - opt).min())
    r_bound = max(float(r_bound), r_val)
    # the regret gap is absolute (the objective is <= 0): report it relative to the largest optimum
    r_gap = (r_bound - r_val) / max(float(opt.max()), 1e-12)
    r_cert: Status = "optimal" if r_gap <= C.OPT_GAP else ("time_limit" if r_status == "time_limit" else "feasible")
    regret = _solution(inst, r_sel, r_val, r_bound, r_gap, r_cert, t0,
                       "highs (min-max regret vs the scenario optima found)")
    named = {"worst-case": w_sel, "expected": np.asarray(exp_sol.selected, np.int64), "min-max regret": r_sel}
    named |= {f"optimum s{s}": np.asarray(sel, np.int64) for s, sel in enumerate(opt_sel)}
    for name, sel in (plans or {}).items():
        named[str(name)] = V.fixed_sites(sel, A.shape[1], f"plans[{name!r}]")
    return RobustResult(worst=worst, expected=exp_sol, regret=regret, optimum=opt, optimum_bound=opt_bound,
                        probabilities=prob, plans=named, coverage={k: covs(v) for k, v in named.items()},
                        seconds=time.perf_counter() - t0)


def _solution(inst: C.CoverInstance, sel: np.ndarray, obj: float, bound: float, gap: float, status: Status, t0: float,
              label: str) -> Solution:
    cov = inst.covered(sel)
    return Solution(selected=np.sort(sel).astype(np.int64), objective=obj, bound=bound, gap=gap, solver=label,
                    seconds=time.perf_counter() - t0, status=status, sense="max", covered=cov,
                    covered_weight=float(inst.w[cov].sum()), fixed=inst.fixed, n_demand_reduced=len(inst.rows),
                    n_sites_reduced=len(inst.cand))
