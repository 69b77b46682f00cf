"""The solve pipeline shared by the benefit models (max coverage,
attendance, p-median): greedy -> swap -> Lagrangian bound (+ fixing) ->
warm-started HiGHS MIP when it pays."""
from __future__ import annotations

import time

import numpy as np

from geoplan.optimize.greedy import Model, evaluate, greedy, swap_search
from geoplan.optimize.lagrange import lagrangian_bound
from geoplan.optimize.mip import solve_highs
from geoplan.optimize.solution import relative_gap

OPT_GAP = 1e-6
MIP_MAX_NNZ = 4_000_000  # "small enough" for the exact MIP under solver="auto"
# HiGHS checks its time limit only between phases (presolve, root LP), so a
# large MIP started with little time left overruns it; under solver="auto" the
# MIP is only started with at least this much time left (or on small models).
MIP_MIN_SECONDS = 5.0
MIP_SMALL_NNZ = 50_000


def solve_model(model: Model, solver: str, time_limit: float, seed: int, t0: float
                ) -> tuple[np.ndarray, float, float, str, str]:
    """Return ``(selected, objective, bound, status, solver_label)`` (reduced indices)."""
    deadline = t0 + time_limit
    g = greedy(model)
    if model.constrained and not model.feasible(g):
        # greedy could not satisfy the group rules: only the MIP can tell
        g = np.zeros(0, np.int64)
    lb = evaluate(model, g) if len(g) else -np.inf
    if solver == "highs":
        sel, obj, bd, st = solve_highs(model, np.zeros(model.m, bool), np.zeros(model.m, bool),
                                       g if len(g) else None, max(deadline - time.perf_counter(), 0.05), seed)
        if sel is None:
            if not len(g):
                return np.zeros(0, np.int64), np.nan, np.nan, "infeasible", "highs"
            return g, lb, np.inf, "time_limit", "greedy"
        if obj < lb - model.tol(lb) * 1e-2:
            sel, obj = g, lb
        bd = max(bd, obj)
        return sel, obj, bd, st, "highs"
    s = swap_search(model, g, t0 + 0.5 * time_limit) if len(g) else g
    lb = evaluate(model, s) if len(s) else -np.inf
    ub, fix0, fix1, top = lagrangian_bound(model, s, lb if np.isfinite(lb) else 0.0,
                                           t0 + (0.9 if solver == "greedy" else 0.6) * time_limit)
    if len(s) and not model.constrained and len(top) and model.rel_gap(lb, ub) > OPT_GAP:
        # Lagrangian heuristic: swap search from the relaxation's site set
        s2 = swap_search(model, top, t0 + 0.7 * time_limit)
        lb2 = evaluate(model, s2)
        if lb2 > lb + model.tol(lb) * 1e-3:
            s, lb = s2, lb2
            ub2, f0, f1, _ = lagrangian_bound(model, s, lb, t0 + 0.8 * time_limit, max_iter=150)
            ub, fix0, fix1 = min(ub, ub2), fix0 | f0, fix1 | f1
    label = "greedy+swap"
    if len(s) and model.rel_gap(lb, ub) <= OPT_GAP:
        return s, lb, ub, "optimal", label
    if solver == "greedy":
        return s, lb, max(ub, lb), "feasible", label
    free = ~(fix0 | fix1)
    free_nnz = int(np.diff(model.Bc.indptr)[free].sum())
    left = deadline - time.perf_counter()
    if free_nnz > MIP_MAX_NNZ or left < 0.05 or (left < MIP_MIN_SECONDS and free_nnz > MIP_SMALL_NNZ):
        return s, lb, max(ub, lb), "feasible" if len(s) else "infeasible", label
    sel, obj, bd, st = solve_highs(model, fix0 if len(s) else np.zeros(model.m, bool),
                                   fix1 if len(s) else np.zeros(model.m, bool),
                                   s if len(s) else None, max(deadline - time.perf_counter(), 0.05), seed)
    label = "greedy+swap+highs"
    if sel is None:
        if not len(s):
            return np.zeros(0, np.int64), np.nan, np.nan, "infeasible", label
        return s, lb, max(ub, lb), "feasible", label
    if len(s) and obj < lb:
        sel, obj = s, lb
    bound = min(ub, max(bd, obj)) if np.isfinite(ub) else max(bd, obj)
    if model.integral:
        bound = float(np.floor(bound + 1e-6))
    bound = max(bound, obj)
    status = "optimal" if (st == "optimal" or model.rel_gap(obj, bound) <= OPT_GAP) else "time_limit"
    if status == "optimal":
        bound = max(obj, min(bound, obj)) if st == "optimal" else bound
    return sel, obj, bound, status, label


def is_integral(*arrays: np.ndarray) -> bool:
    return all(np.all(a == np.round(a)) for a in arrays)
