"""Closures: which existing stations can go with the least coverage loss."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from geoplan.exceptions import InputError
from geoplan.optimize import _validate as V
from geoplan.optimize._engine import OPT_GAP
from geoplan.optimize.coverage import max_coverage, set_cover
from geoplan.optimize.solution import Solution, relative_gap

__all__ = ["ClosureImpact", "closure_impact", "close_least_loss", "minimal_keep_set"]


@dataclass(frozen=True, eq=False)
class ClosureImpact:
    """Per-station impact of closing it alone.

    Attributes
    ----------
    unique_weight
        Per station, the demand weight only it reaches (= coverage lost if
        it alone closes).
    unique_count
        Per station, the number of demand points only it reaches.
    n_covering
        Per demand point, how many stations reach it.
    covered_weight
        Weight covered by the whole network today.
    order
        Stations sorted by increasing unique weight (ties by index).
    """

    unique_weight: np.ndarray
    unique_count: np.ndarray
    n_covering: np.ndarray
    covered_weight: float
    order: np.ndarray


def closure_impact(coverage_existing: Any, weights: Any = None) -> ClosureImpact:
    """Unique coverage of each existing station (vectorised).

    Parameters
    ----------
    coverage_existing
        ``(n_demand, n_stations)`` 0/1 matrix of the existing stations.
    weights
        Demand weights (default 1 each).

    Returns
    -------
    ClosureImpact
    """
    A = V.matrix(coverage_existing, "coverage_existing", binary=True)
    n, m = A.shape
    w = V.weights(weights, n)
    k = np.diff(A.indptr)
    rows = np.repeat(np.arange(n), k)
    only = k[rows] == 1
    uw = np.bincount(A.indices[only], weights=w[rows[only]], minlength=m)
    uc = np.bincount(A.indices[only], minlength=m)
    order = np.lexsort((np.arange(m), uw))
    return ClosureImpact(unique_weight=uw, unique_count=uc.astype(np.int64), n_covering=k.astype(np.int64),
                         covered_weight=float(w[k > 0].sum()), order=order.astype(np.int64))


def close_least_loss(coverage_existing: Any, weights: Any = None, k: int = 1, solver: str = "auto",
                     time_limit: float = 60, *, keep: Any = None, seed: int = 0) -> Solution:
    """Choose ``k`` stations to close losing the least covered weight.

    Solved as max coverage keeping ``m - k`` stations (``keep`` = stations
    that must stay open).

    Parameters
    ----------
    coverage_existing
        ``(n_demand, n_stations)`` 0/1 matrix of the existing stations.
    weights
        Demand weights (default 1 each).
    k
        Number of stations to close.
    solver, time_limit, seed
        As in :func:`~geoplan.optimize.max_coverage`.
    keep
        Indices (or boolean mask) of stations that must stay open.

    Returns
    -------
    Solution
        ``selected`` = stations to close; ``objective`` = weight no longer
        covered (min); ``bound`` = proven lower bound on it;
        ``extra["keep"]`` = stations kept.
    """
    t0 = time.perf_counter()
    A = V.matrix(coverage_existing, "coverage_existing", binary=True)
    n, m = A.shape
    w = V.weights(weights, n)
    k = V.count(k, "k")
    fx = V.fixed_sites(keep, m, "keep")
    if k > m - len(fx):
        raise InputError(f"k: cannot close {k} of {m} stations when {len(fx)} must stay")
    now = float(w[np.diff(A.indptr) > 0].sum())
    sol = max_coverage(A, w, m - len(fx) - k, fixed=fx, solver=solver, time_limit=time_limit, seed=seed)
    kept = sol.open_sites
    close = np.setdiff1d(np.arange(m), kept).astype(np.int64)
    loss = now - sol.covered_weight
    fixed_w = sol.covered_weight - sol.objective
    lb = max(0.0, now - (fixed_w + sol.bound))
    gap = relative_gap(loss, lb, "min")
    return Solution(selected=close, objective=float(loss), bound=float(min(lb, loss)), gap=gap,
                    solver=sol.solver, seconds=time.perf_counter() - t0,
                    status="optimal" if gap <= OPT_GAP else sol.status, sense="min",
                    covered_weight=sol.covered_weight, covered=sol.covered, fixed=fx,
                    n_demand_reduced=sol.n_demand_reduced, n_sites_reduced=sol.n_sites_reduced,
                    extra={"keep": kept})


def minimal_keep_set(coverage_existing: Any, weights: Any = None, target: float = 1.0,
                     solver: str = "auto", time_limit: float = 60, *, seed: int = 0) -> Solution:
    """Smallest set of existing stations keeping ``target`` × today's coverage.

    Parameters
    ----------
    coverage_existing
        ``(n_demand, n_stations)`` 0/1 matrix of the existing stations.
    weights
        Demand weights (default 1 each).
    target
        Share in (0, 1] of today's reachable weight to keep covered.
    solver, time_limit, seed
        As in :func:`~geoplan.optimize.max_coverage`.

    Returns
    -------
    Solution
        ``selected`` = stations to keep; ``extra["close"]`` = the others.
    """
    sol = set_cover(coverage_existing, weights, target=target, solver=solver, time_limit=time_limit, seed=seed)
    m = np.shape(coverage_existing)[1]  # set_cover has checked the matrix
    sol.extra["close"] = np.setdiff1d(np.arange(m), sol.selected).astype(np.int64)
    return sol
