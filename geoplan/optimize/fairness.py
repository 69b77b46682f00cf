"""Fairness between towns: a floor on every town's covered share, lexicographic max-min
(the worst town first, then total coverage), and the price of fairness against plain
maximal coverage, with the towns' share spread (min, p10, Gini) before and after.

A town's *share* is the weight (people) of its demand points reached by an open site
(fixed or new) over all of its weight.  Every model is an exact HiGHS MIP (z-form) whose
answer is re-evaluated from the chosen sites and carries HiGHS's dual bound, so the gap
printed is certified.

>>> import numpy as np
>>> from geoplan.optimize.fairness import max_coverage_town_floor
>>> A = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1]])
>>> sol = max_coverage_town_floor(A, 1, weights=[5, 4, 1], towns=[0, 0, 1], min_town_share=0.0)
>>> sol.selected.tolist(), sol.status
([0], 'optimal')
"""
from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from geoplan.exceptions import InputError
from geoplan.optimize import _cover_mip as C
from geoplan.optimize import _validate as V
from geoplan.optimize.solution import Solution

__all__ = ["Spread", "FairnessReport", "town_shares", "share_spread", "max_coverage_town_floor",
           "max_min_town_share", "price_of_fairness"]

_SHARE_TOL = 1e-7  # relative slack when re-checking a floor (HiGHS works to feasibility tolerances)


@dataclass(frozen=True)
class Spread:
    """How unevenly coverage falls on towns (towns with people only)."""

    min: float
    p10: float
    gini: float
    mean: float
    n_towns: int


@dataclass(frozen=True, eq=False)
class FairnessReport:
    """A fair plan against plain maximal coverage: what the fairness costs and what it gains.

    ``price`` is plain − fair objective (people + bonus) of the two answers found;
    ``price_low``/``price_high`` bracket the true price with the two certificates:
    ``plain.objective − fair.bound <= price of the optima <= plain.bound − fair.objective``.
    """

    plain: Solution
    fair: Solution
    price: float
    price_low: float
    price_high: float
    before: Spread  # fixed sites only
    after_plain: Spread
    after_fair: Spread
    shares_before: np.ndarray
    shares_plain: np.ndarray
    shares_fair: np.ndarray

    def summary(self) -> str:
        """A few lines for the CLI: cost in people and the spread before/after."""
        def line(name: str, s: Spread) -> str:
            return f"  {name:<14} min {s.min:6.1%}  p10 {s.p10:6.1%}  Gini {s.gini:.3f}  mean {s.mean:6.1%}"
        return "\n".join([
            f"price of fairness: {self.price:,.0f} (certified between {self.price_low:,.0f} and "
            f"{self.price_high:,.0f})",
            "town shares:", line("before", self.before), line("max coverage", self.after_plain),
            line("fair plan", self.after_fair)])


def _towns(towns: Any, n: int) -> tuple[np.ndarray, int]:
    return C.group_labels(towns, n, "towns")


def town_shares(coverage: Any, *, weights: Any, towns: Any, selected: Any = (), fixed: Any = None) -> np.ndarray:
    """Per town (sorted labels): covered weight / total weight with ``fixed`` and ``selected`` open.

    Towns without weight get NaN.

    Examples
    --------
    >>> town_shares([[1, 0], [0, 1], [0, 0]], weights=[1, 1, 2], towns=["a", "a", "b"], selected=[0]).tolist()
    [0.5, 0.0]
    """
    A = V.matrix(coverage, "coverage", binary=True)
    n, m = A.shape
    w = V.weights(weights, n)
    lab, G = _towns(towns, n)
    sites = np.union1d(V.fixed_sites(fixed, m), V.fixed_sites(selected, m, "selected")).astype(np.int64)
    cov = (np.asarray(A[:, sites].sum(axis=1)).ravel() > 0) if len(sites) else np.zeros(n, bool)
    return _shares(cov, w, lab, G)


def _shares(cov: np.ndarray, w: np.ndarray, lab: np.ndarray, G: int) -> np.ndarray:
    tot = C.group_sums(w, lab, G)
    got = C.group_sums(w * cov, lab, G)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, got / np.where(tot > 0, tot, 1), np.nan)


def share_spread(shares: Any) -> Spread:
    """Minimum, 10th percentile, Gini coefficient and mean of town shares (NaN towns skipped).

    Examples
    --------
    >>> s = share_spread([0.5, 1.0, 1.0, 1.0])
    >>> round(s.min, 2), round(s.gini, 3)
    (0.5, 0.107)
    """
    x = np.asarray(shares, float)
    x = x[np.isfinite(x)]
    if not len(x):
        return Spread(float("nan"), float("nan"), float("nan"), float("nan"), 0)
    mean = float(x.mean())
    xs = np.sort(x)
    k = len(xs)
    # Gini = Σ_i (2i - k - 1) x_(i) / (k Σ x), i = 1..k (mean absolute difference / 2 mean)
    gini = float(((2 * np.arange(1, k + 1) - k - 1) * xs).sum() / (k * xs.sum())) if xs.sum() > 0 else 0.0
    return Spread(float(xs[0]), float(np.percentile(xs, 10)), gini, mean, k)


def _name(t: int, names: Sequence[str] | None, uniq: np.ndarray) -> str:
    return str(names[t]) if names is not None else f"town {uniq[t]!r}"


def _floor_check(inst: C.CoverInstance, lab: np.ndarray, G: int, share: float, names: Sequence[str] | None,
                 uniq: np.ndarray) -> np.ndarray:
    """People each town still needs covered by new sites; InputError naming towns that cannot get there."""
    W = C.group_sums(inst.w, lab, G)
    fixw = C.group_sums(inst.w * inst.fixcov, lab, G)
    reach = inst.fixcov.copy()
    reach[inst.rows] = True
    maxw = C.group_sums(inst.w * reach, lab, G)
    need = share * W - fixw
    short = np.flatnonzero(maxw < share * W * (1 - _SHARE_TOL) - 1e-9)
    if len(short):
        parts = [f"{_name(t, names, uniq)}: at most {maxw[t] / W[t]:.1%} of its {W[t]:,.0f} people are within reach "
                 f"of any site; {share:.0%} needs {share * W[t] - maxw[t]:,.0f} more people within reach"
                 for t in short[:8]]
        more = f" (and {len(short) - 8} more towns)" if len(short) > 8 else ""
        raise InputError(f"min_town_share: {len(short)} town(s) cannot reach {share:.0%} — " + "; ".join(parts) + more)
    return need


def _floor_rows(form: C.ZForm, lab: np.ndarray, G: int, need: np.ndarray) -> None:
    act = np.flatnonzero(need > 1e-9)
    if len(act):
        M = form.z_rows_by_group(lab, G, form.inst.w)[act]
        form.add_rows(M, need[act] * (1 - _SHARE_TOL), np.full(len(act), np.inf))


def _min_sites_for_floor(inst: C.CoverInstance, lab: np.ndarray, G: int, need: np.ndarray, seconds: float
                         ) -> tuple[int, int]:
    """Fewest new sites meeting the floors: (best found, proven lower bound)."""
    form = C.ZForm(inst)
    form.rhi[1] = np.array([np.inf])
    form.c = np.zeros(form.ncols)
    form.c[:form.mc] = 1.0
    _floor_rows(form, lab, G, need)
    sel, _, _, bound, _ = form.solve(False, seconds)
    lb = int(np.ceil(bound - 1e-6)) if np.isfinite(bound) else inst.p + 1
    return (len(sel) if sel is not None else -1), max(lb, inst.p + 1)


def _solution(inst: C.CoverInstance, sel: np.ndarray, bound: float, status: str, label: str, t0: float,
              extra: dict[str, Any]) -> Solution:
    obj = inst.objective(sel)
    bound = max(float(bound), obj)
    gap, status = C.gap_status(obj, bound, status)
    cov = inst.covered(sel)
    unreachable = np.flatnonzero(np.diff(inst.A.indptr) == 0)
    return Solution(selected=np.sort(sel).astype(np.int64), objective=obj, bound=bound, gap=gap, solver=label,
                    seconds=time.perf_counter() - t0, status=status, sense="max",
                    covered_weight=float(inst.w[cov].sum()), covered=cov, unreachable=unreachable,
                    unreachable_weight=float(inst.w[unreachable].sum()), fixed=inst.fixed,
                    n_demand_reduced=len(inst.rows), n_sites_reduced=len(inst.cand), extra=extra)


def max_coverage_town_floor(coverage: Any, p: int, *, towns: Any, min_town_share: float, weights: Any = None,
                            fixed: Any = None, site_bonus: Any = None, time_limit: float = 60, seed: int = 0,
                            town_names: Sequence[str] | None = None, start: Any = None, groups: Any = None,
                            min_per_group: Any = 0) -> Solution:
    """Maximal coverage with every town's covered share at least ``min_town_share``.

    Parameters
    ----------
    coverage, weights, p, fixed, site_bonus, time_limit, seed, groups, min_per_group
        As in :func:`geoplan.optimize.max_coverage`.
    towns
        ``(n_demand,)`` town label of each demand point (any values; sorted order is the
        order of ``extra["town_shares"]``).
    min_town_share
        Floor in [0, 1] on each town's share (fixed sites count toward it).
    town_names
        Optional names, one per town in sorted label order, for error messages.
    start
        Optional site indices of a feasible plan to warm-start HiGHS.

    Returns
    -------
    Solution
        ``objective`` = newly covered weight + bonus (as in ``max_coverage``); ``bound``
        the MIP's dual bound; ``extra["town_shares"]`` per town.

    Raises
    ------
    InputError
        Bad input; towns that cannot reach the floor even with every site open (named,
        with the people they lack); a floor that needs more than ``p`` new sites (with
        the fewest that would do); no plan found within ``time_limit``.

    Examples
    --------
    >>> A = [[1, 0], [0, 1]]
    >>> max_coverage_town_floor(A, 1, weights=[9, 1], towns=["a", "b"], min_town_share=1.0, fixed=[0]).selected.tolist()
    [1]
    """
    t0 = time.perf_counter()
    inst = C.instance(coverage, p, weights=weights, fixed=fixed, site_bonus=site_bonus, time_limit=time_limit, seed=seed,
                      groups=groups, min_per_group=min_per_group)
    share = V.number(min_town_share, "min_town_share")
    if not 0 <= share <= 1:
        raise InputError(f"min_town_share: must be in [0, 1], got {min_town_share!r}")
    lab, G = _towns(towns, inst.n)
    uniq = np.unique(np.asarray(towns))
    if town_names is not None and len(town_names) != G:
        raise InputError(f"town_names: expected {G} names (one per town), got {len(town_names)}")
    need = _floor_check(inst, lab, G, share, town_names, uniq)
    form = C.ZForm(inst)
    form.c = form.coverage_objective()
    _floor_rows(form, lab, G, need)
    warm = form.start(np.setdiff1d(np.asarray(start, np.int64), inst.fixed)) if start is not None else None
    sel, _, _, bound, status = form.solve(True, max(inst.time_limit - (time.perf_counter() - t0), 0.05), warm)
    if sel is None:
        if status == "infeasible":
            best, lb = _min_sites_for_floor(inst, lab, G, need, max(inst.time_limit / 2, 1.0))
            found = f"; a plan with {best} sites meets it" if best > 0 else ""
            raise InputError(f"min_town_share: a {share:.0%} floor in every town needs at least {lb} new sites, "
                             f"more than p={inst.p}{found}")
        raise InputError(f"time_limit: no plan meeting min_town_share={share:g} found within {inst.time_limit:g} s")
    shares = _shares(inst.covered(sel), inst.w, lab, G)
    return _solution(inst, sel, bound, status, "highs", t0,
                     {"town_shares": shares, "min_town_share": share, "towns": uniq})


def max_min_town_share(coverage: Any, p: int, *, towns: Any, weights: Any = None, fixed: Any = None,
                       site_bonus: Any = None, time_limit: float = 60, seed: int = 0,
                       town_names: Sequence[str] | None = None,
                       groups: Any = None, min_per_group: Any = 0) -> Solution:
    """Lexicographic max-min: the largest worst-town share first, then the most coverage.

    Stage 1 maximises ``s`` with every town's share ``>= s``; stage 2 is
    :func:`max_coverage_town_floor` at the worst share stage 1 reached (warm-started with
    its plan).  Each stage gets half the time.

    Returns
    -------
    Solution
        Stage 2's answer and certificate (total coverage given the floor), plus
        ``extra["worst_share"]``, ``extra["worst_share_bound"]`` (stage 1's proven upper
        bound on any plan's worst share) and ``extra["worst_share_gap"]``.

    Examples
    --------
    >>> A = [[1, 1], [1, 0], [0, 1]]  # site 0 reaches all of town a, site 1 half of a and all of b
    >>> sol = max_min_town_share(A, 1, weights=[5, 5, 2], towns=["a", "a", "b"])
    >>> sol.selected.tolist(), sol.extra["worst_share"]
    ([1], 0.5)
    """
    t0 = time.perf_counter()
    inst = C.instance(coverage, p, weights=weights, fixed=fixed, site_bonus=site_bonus, time_limit=time_limit, seed=seed,
                      groups=groups, min_per_group=min_per_group)
    lab, G = _towns(towns, inst.n)
    W = C.group_sums(inst.w, lab, G)
    fixw = C.group_sums(inst.w * inst.fixcov, lab, G)
    live = np.flatnonzero(W > 0)
    form = C.ZForm(inst, extra=1)
    form.hi[-1] = 1.0
    form.c = np.zeros(form.ncols)
    form.c[-1] = 1.0
    M = sp.lil_matrix(form.z_rows_by_group(lab, G, inst.w)[live])
    M[:, form.ncols - 1] = -W[live][:, None]
    form.add_rows(sp.csr_matrix(M), -fixw[live], np.full(len(live), np.inf))
    sel1, _, _, bound1, status1 = form.solve(True, max(inst.time_limit / 2, 0.05))
    if sel1 is None:
        sel1 = np.zeros(0, np.int64)  # p = 0 or no answer in time: the fixed sites alone
        bound1 = 1.0 if status1 != "optimal" else bound1
    shares1 = _shares(inst.covered(sel1), inst.w, lab, G)
    worst = float(np.nanmin(shares1)) if len(live) else 1.0
    bound1 = float(min(max(bound1, worst), 1.0)) if np.isfinite(bound1) else 1.0
    gap1, _ = C.gap_status(worst, bound1, status1)
    left = max(inst.time_limit - (time.perf_counter() - t0), 0.05)
    sol = max_coverage_town_floor(inst.A, inst.p, towns=lab, min_town_share=worst, time_limit=left, seed=inst.seed,
                                  town_names=town_names, start=sel1, **inst.coverage_args())
    extra = dict(sol.extra) | {"worst_share": worst, "worst_share_bound": bound1, "worst_share_gap": gap1,
                               "towns": np.unique(np.asarray(towns))}
    return Solution(**{**sol.__dict__, "extra": extra, "seconds": time.perf_counter() - t0,
                       "solver": "highs (lexicographic max-min)"})


def price_of_fairness(coverage: Any, p: int, *, towns: Any, weights: Any = None,
                      fair: Literal["floor", "maxmin"] = "floor",
                      min_town_share: float | None = None, fixed: Any = None, site_bonus: Any = None,
                      time_limit: float = 60, seed: int = 0, town_names: Sequence[str] | None = None,
                      groups: Any = None, min_per_group: Any = 0) -> FairnessReport:
    """What a fair plan costs against plain maximal coverage, and the towns' spread before/after.

    ``fair="floor"`` needs ``min_town_share``; ``"maxmin"`` is :func:`max_min_town_share`.
    Plain coverage is :func:`geoplan.optimize.max_coverage` (exact HiGHS) with the same
    sites; each gets half the time.

    Examples
    --------
    >>> A = [[1, 1], [1, 0], [0, 1]]
    >>> r = price_of_fairness(A, 1, weights=[5, 5, 2], towns=["a", "a", "b"], fair="maxmin")
    >>> r.price, r.after_plain.min, r.after_fair.min
    (3.0, 0.0, 0.5)
    """
    from geoplan.optimize import max_coverage

    if fair not in ("floor", "maxmin"):
        raise InputError(f"fair: must be 'floor' or 'maxmin', got {fair!r}")
    if fair == "floor" and min_town_share is None:
        raise InputError("min_town_share: needed for fair='floor'")
    half = V.time_limit(time_limit) / 2
    rules: dict[str, Any] = {"weights": weights, "fixed": fixed, "site_bonus": site_bonus, "time_limit": half, "seed": seed,
             "town_names": town_names, "groups": groups, "min_per_group": min_per_group}
    plain = max_coverage(coverage, p, weights=weights, fixed=fixed, site_bonus=site_bonus, solver="highs",
                         time_limit=half, seed=seed, groups=groups, min_per_group=min_per_group)
    if fair == "floor":
        assert min_town_share is not None
        sol = max_coverage_town_floor(coverage, p, towns=towns, min_town_share=min_town_share, **rules)
    else:
        sol = max_min_town_share(coverage, p, towns=towns, **rules)
    before = town_shares(coverage, weights=weights, towns=towns, fixed=fixed)
    s_plain = town_shares(coverage, weights=weights, towns=towns, selected=plain.selected, fixed=fixed)
    s_fair = np.asarray(sol.extra["town_shares"])
    return FairnessReport(plain=plain, fair=sol, price=plain.objective - sol.objective,
                          price_low=max(0.0, plain.objective - sol.bound), price_high=plain.bound - sol.objective,
                          before=share_spread(before), after_plain=share_spread(s_plain),
                          after_fair=share_spread(s_fair), shares_before=before, shares_plain=s_plain,
                          shares_fair=s_fair)
