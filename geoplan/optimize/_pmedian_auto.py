"""``p_median(solver="auto")`` without group rules: its own time plan.

The shared engine (:mod:`geoplan.optimize._engine`) gives the greedy route
half the time limit and then starts the radius MIP only with what is left.
On p-median graphs of 1,000 nodes that route spends most of a 10-s limit on
swap search (15 s at p = 333 when not capped) and on a sparse subgradient
(~23 ms per iteration), and the MIP starts with no fixing to speak of
(benchmarks/README.md, "p-median families").  Here:

1. greedy, then swap search capped at ``SWAP_SHARE`` of the limit;
2. the Lagrangian bound on a dense copy of the benefit matrix
   (:mod:`._pmedian_lagrange`, several times faster per iteration) until
   ``LAGRANGE_SHARE``, with site fixing against the incumbent;
3. the Lagrangian heuristic (swap from the relaxation's site set) and
   fixing again at the best multipliers against the better incumbent;
4. the radius MIP (:func:`~geoplan.optimize.mip.solve_highs`: lazy levels,
   LP reduced-cost fixing) on the sites left free, warm-started, for the
   rest of the time.

Every phase may only improve the incumbent, and the bound is the smallest
valid one any phase produced (the fixing keeps every solution better than
the incumbent, so ``max(MIP bound, incumbent)`` bounds the optimum).
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from geoplan.optimize._engine import EngineResult
from geoplan.optimize._helpers import OPT_GAP, certify, fill_to_p, floored
from geoplan.optimize._pmedian_lagrange import DENSE_MAX_ENTRIES, _values, dense_subgradient, fixing
from geoplan.optimize.greedy import Model, evaluate, greedy, row_top2, swap_search
from geoplan.optimize.lagrange import round_bound, subgradient
from geoplan.optimize.mip import solve_highs
from geoplan.optimize.solution import Solution

SWAP_SHARE = 0.25  # greedy + swap search end at this share of the time limit
LAGRANGE_SHARE = 0.5  # the subgradient ends here (large radius models)
# The radius model starts with every level down to the incumbent's
# second-best site.  When that is small (large p: a few levels per row) its
# LP is fast and far tighter than a short subgradient run, which then fixes
# nothing (1,000 nodes, p = 333: 0 sites fixed; spending half the limit on it
# left a 5 % gap where the MIP proves the optimum), so the subgradient only
# gets ``SHORT_LAGRANGE_SHARE`` more and the MIP the rest.  Not less: the
# Lagrangian heuristic starts from the relaxation's site set, and on lattice
# graphs with uniform weights (1,000 nodes, p = 100, where the MIP cannot
# close a 1-2.5 % LP gap in the time) a 5 % run and a 10 % heuristic left
# auto's answer 0.3-1.1 % worse than solver="greedy"'s.  15 % and 25 %,
# tuning seeds 0-1: road p = 100 gaps 0.29 / 1.2 -> 0.22 / 0.13 % (greedy
# 0.33 / 0.16 %), grid p = 100 2.5 / 2.2 -> 1.7 / 1.3 % (greedy 1.7 / 1.7 %),
# rgg p = 100 and 333 uniform now all proven; lognormal p = 100 / 333 still
# proven, 0.5-1 s later.
RADIUS_SMALL_LEVELS = 20_000
SHORT_LAGRANGE_SHARE = 0.15
HEURISTIC_SHARE = 0.25  # the Lagrangian heuristic's swap search gets at most this much
# HiGHS checks its time limit only between phases, so a radius MIP started
# with little time left overruns it (by 4 s with 4.4 s left on a 1,000-node
# graph, p = 333): a large model is only started with this much time left.
MIP_MIN_SECONDS = 2.0
MIP_SMALL_NNZ = 50_000
# On large models the MIP may end without any bound (its LP phase cut off:
# 1,000-node road graphs, p = 100, left the short subgradient's 33 % gap,
# worse than solver="greedy"); the last ``RESERVE_SHARE`` of the limit is
# kept for resuming the subgradient from its best multipliers in that case.
RESERVE_SHARE = 0.1


def solve_pmedian_model(model: Model, time_limit: float, seed: int, t0: float) -> EngineResult:
    """Solve a reduced, group-free p-median benefit model within ``t0 + time_limit``."""
    empty = np.zeros(0, np.int64)
    if model.p <= 0 or model.m == 0:
        return EngineResult(empty, 0.0, 0.0, "optimal", "greedy", "greedy", "trivial")
    deadline = t0 + time_limit
    g = greedy(model)
    s = swap_search(model, g, t0 + SWAP_SHARE * time_limit)
    lb = evaluate(model, s)
    by = "swap" if lb > evaluate(model, g) else "greedy"
    tol = model.tol(lb)
    p = min(model.p, model.m)
    u0, _, b2 = row_top2(model, s)
    levels = int((model.B.data >= b2[model.rows]).sum())  # the radius model's first size
    Bd = model.B.toarray() if model.n * model.m <= DENSE_MAX_ENTRIES else None
    lag_end = t0 + LAGRANGE_SHARE * time_limit
    if levels <= RADIUS_SMALL_LEVELS:
        lag_end = min(lag_end, time.perf_counter() + SHORT_LAGRANGE_SHARE * time_limit)
    if Bd is not None:
        db = dense_subgradient(Bd, p, u0, lb, lag_end, tol)
        ub, fix0, fix1, top, u = db.ub, db.fix0, db.fix1, db.top, db.u
    else:
        ub, fix0, fix1, top, u = subgradient(model, s, lb, lag_end)
    ub = max(round_bound(model, ub), lb)
    route = "greedy+swap"  # the Solution.solver labels of the shared engine
    if model.rel_gap(lb, ub) <= OPT_GAP:
        return EngineResult(s, lb, ub, "optimal", route, by, "Lagrangian")
    # Lagrangian heuristic: local search from the relaxation's site set
    if len(top) and not np.array_equal(np.sort(top), np.sort(s)):
        s2 = swap_search(model, top, min(time.perf_counter() + HEURISTIC_SHARE * time_limit, deadline))
        lb2 = evaluate(model, s2)
        if lb2 > lb + tol * 1e-3:
            s, lb, by = s2, lb2, "Lagrangian heuristic"
            # fixing against the better incumbent at the best multipliers
            if Bd is not None:
                v = _values(Bd, u)
                f0, f1 = fixing(float(u.sum() + np.sort(v)[::-1][:p].sum()), v, p, lb, model.tol(lb))
            else:
                _, f0, f1, _, _ = subgradient(model, s, lb, time.perf_counter(), max_iter=1, u0=u)
            fix0, fix1 = fix0 | f0, fix1 | f1
    if model.rel_gap(lb, ub) <= OPT_GAP:
        return EngineResult(s, lb, ub, "optimal", route, by, "Lagrangian")
    left = deadline - time.perf_counter()
    if left <= 0.05 or (left < MIP_MIN_SECONDS and model.B.nnz > MIP_SMALL_NNZ):
        return EngineResult(s, lb, ub, "feasible", route, by, "Lagrangian")
    reserve = RESERVE_SHARE * time_limit if model.B.nnz > MIP_SMALL_NNZ else 0.0
    sel, obj, bd, st = solve_highs(model, fix0, fix1, s, max(left - reserve, 0.05), seed)
    route = "greedy+swap+highs"
    if st != "optimal" and (not np.isfinite(bd) or bd > ub) and len(u):
        # no better bound from the MIP: spend what is left on the Lagrangian
        if Bd is not None:
            ub2 = dense_subgradient(Bd, p, u, lb, deadline, tol, lam0=0.5).ub
        else:
            ub2 = subgradient(model, s, lb, deadline, u0=u, lam0=0.5)[0]
        ub = min(ub, max(round_bound(model, ub2), lb))
    if st == "optimal" and sel is not None and model.rel_gap(evaluate(model, sel), bd) > OPT_GAP:
        st = "time_limit"  # "optimal" that its own numbers do not show: not a proof
    if sel is None or not model.feasible(sel):
        return EngineResult(s, lb, ub, "feasible", route, by, "Lagrangian")
    obj = evaluate(model, sel)  # the exact value, not HiGHS's tolerance-laden objective
    if obj > lb:
        s, lb, by = sel, obj, "MIP"
    # every solution better than the incumbent survived the fixing, so
    # max(bound of what is left, incumbent) bounds the optimum
    mip_ub = max(bd, lb) if np.isfinite(bd) else np.inf
    bound, bound_by = (mip_ub, "MIP") if mip_ub < ub else (ub, "Lagrangian")
    bound = max(round_bound(model, bound), lb)
    proven = st == "optimal" or model.rel_gap(lb, bound) <= OPT_GAP
    return EngineResult(s, lb, bound, "optimal" if proven else "time_limit", route, by, bound_by)


def solve_pmedian(Bfull: sp.csr_matrix, w: np.ndarray, p: int, fx: np.ndarray, cand: np.ndarray,
                  time_limit: float, seed: int, t0: float, offset: float,
                  cost_of: Callable[[np.ndarray], float]) -> Solution:
    """The group-free p-median front end: the same reduction as
    :func:`~geoplan.optimize._benefit.solve_benefit` (fixed sites become
    per-row floors, empty columns and rows go), :func:`solve_pmedian_model`,
    and the answer priced and certified on the full matrix.
    """
    n, m = Bfull.shape
    floor, Bc = floored(Bfull, fx, cand)
    cols = np.flatnonzero(np.bincount(Bc.indices, minlength=len(cand)) > 0)
    B = sp.csr_matrix(Bc[:, cols])
    B = sp.csr_matrix(B[np.diff(B.indptr) > 0])
    B.sort_indices()
    base = float(floor.sum())
    model = Model(B=B, bonus=np.zeros(len(cols)), p=p, cost_offset=offset - base)
    res = solve_pmedian_model(model, time_limit, seed, t0)
    sel = np.sort(cand[cols[res.selected]]).astype(np.int64)
    if len(sel) < p:  # fill with unused candidates (zero gain), lowest index first
        sel = fill_to_p(sel, cand, p, None, None)
    opened = np.union1d(fx, sel).astype(np.int64)
    best, site, _ = row_top2(Model(B=Bfull, bonus=np.zeros(m), p=len(opened)), opened)
    value = float(best.sum())
    ubv = max(float(res.bound) + base, value)
    objective = cost_of(site)  # straight from the costs (offset - value would lose digits)
    cert = certify(objective, offset - ubv, "min", res.status)
    unreachable = np.flatnonzero(np.diff(Bfull.indptr) == 0)
    return Solution(
        selected=sel, objective=objective, bound=cert.bound, gap=cert.gap, solver=res.route,
        seconds=time.perf_counter() - t0, status=cert.status, sense="min",
        assignment=site, unreachable=unreachable, unreachable_weight=float(w[unreachable].sum()),
        fixed=fx, n_demand_reduced=model.n, n_sites_reduced=model.m,
        incumbent_by=res.incumbent_by, bound_by=res.bound_by,
    )
