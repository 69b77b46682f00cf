"""Closures: which existing stations can go with the least coverage loss."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from geoplan.exceptions import InputError
from geoplan.optimize import _validate as V
from geoplan.optimize._helpers import certify
from geoplan.optimize.coverage import max_coverage, set_cover
from geoplan.optimize.solution import Sense, Solution, SolverName, Status

__all__ = ["ClosureImpact", "ClosurePlan", "closure_impact", "close_least_loss", "minimal_keep_set"]


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


@dataclass(frozen=True, eq=False)
class ClosurePlan:
    """Which existing stations to keep and which to close, with a certificate.

    Returned by :func:`close_least_loss` and :func:`minimal_keep_set`.

    Attributes
    ----------
    kept, closed
        Sorted station indices to keep open / to close (together: all).
    objective
        :func:`close_least_loss`: covered weight lost by the closures;
        :func:`minimal_keep_set`: number of stations kept.  Both minimised.
    bound
        A proven lower bound on the optimum of ``objective``.
    gap
        Certified relative gap ``(objective - bound) / objective``.
    status, solver, seconds
        As in :class:`Solution`.
    covered_weight
        Weight the kept stations cover.
    covered
        Per demand point, whether a kept station reaches it.
    must_keep
        The stations that had to stay (``fixed`` of :func:`close_least_loss`).
    solution
        The underlying max-coverage / set-cover :class:`Solution`.
    """

    kept: np.ndarray
    closed: np.ndarray
    objective: float
    bound: float
    gap: float
    status: Status
    solver: str
    seconds: float
    covered_weight: float
    covered: np.ndarray | None
    must_keep: np.ndarray
    solution: Solution
    sense: Sense = "min"

    def __repr__(self) -> str:  # short, arrays summarised
        return (f"ClosurePlan(n_kept={len(self.kept)}, n_closed={len(self.closed)}, "
                f"objective={self.objective:.6g}, bound={self.bound:.6g}, gap={self.gap:.3g}, "
                f"status={self.status!r})")


def closure_impact(coverage_existing: Any, *, weights: Any = None) -> ClosureImpact:
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

    Examples
    --------
    >>> import numpy as np
    >>> from geoplan.optimize import closure_impact
    >>> A = np.array([[1, 0], [1, 1], [0, 1]])
    >>> imp = closure_impact(A, weights=[10, 20, 30])
    >>> imp.unique_weight.tolist(), imp.order.tolist()
    ([10.0, 30.0], [0, 1])
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


def close_least_loss(coverage_existing: Any, k: int, *, weights: Any = None, fixed: Any = None,
                     solver: SolverName = "auto", time_limit: float = 60, seed: int = 0) -> ClosurePlan:
    """Choose ``k`` stations to close losing the least covered weight.

    Solved as max coverage keeping ``m - k`` stations.

    Parameters
    ----------
    coverage_existing
        ``(n_demand, n_stations)`` 0/1 matrix of the existing stations.
    k
        Number of stations to close.
    weights
        Demand weights (default 1 each).
    fixed
        Indices (or boolean mask) of stations that must stay open.
    solver, time_limit, seed
        As in :func:`~geoplan.optimize.max_coverage`.

    Returns
    -------
    ClosurePlan
        ``closed`` = stations to close; ``objective`` = weight no longer
        covered (min); ``bound`` = proven lower bound on it.

    Examples
    --------
    >>> import numpy as np
    >>> from geoplan.optimize import close_least_loss
    >>> A = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1]])
    >>> plan = close_least_loss(A, 1, weights=[10, 20, 30])
    >>> plan.closed.tolist(), plan.kept.tolist(), plan.objective
    ([2], [0, 1], 0.0)
    >>> close_least_loss(A, 1, weights=[10, 20, 30], fixed=[2]).closed.tolist()
    [1]
    """
    t0 = time.perf_counter()
    A = V.matrix(coverage_existing, "coverage_existing", binary=True)
    n, m = A.shape
    w = V.weights(weights, n)
    k = V.count(k, "k")
    fx = V.fixed_sites(fixed, m, "fixed")
    if k > m - len(fx):
        raise InputError(f"k: cannot close {k} of {m} stations when {len(fx)} must stay")
    now = float(w[np.diff(A.indptr) > 0].sum())
    sol = max_coverage(A, m - len(fx) - k, weights=w, fixed=fx, solver=solver, time_limit=time_limit, seed=seed)
    kept = sol.open_sites
    loss = now - sol.covered_weight
    fixed_w = sol.covered_weight - sol.objective
    cert = certify(float(loss), max(0.0, now - (fixed_w + sol.bound)), "min", sol.status)
    return ClosurePlan(kept=kept, closed=np.setdiff1d(np.arange(m), kept).astype(np.int64),
                       objective=float(loss), bound=cert.bound, gap=cert.gap, status=cert.status,
                       solver=sol.solver, seconds=time.perf_counter() - t0, covered_weight=sol.covered_weight,
                       covered=sol.covered, must_keep=fx, solution=sol)


def minimal_keep_set(coverage_existing: Any, target: float = 1.0, *, weights: Any = None,
                     solver: SolverName = "auto", time_limit: float = 60, seed: int = 0) -> ClosurePlan:
    """Smallest set of existing stations keeping ``target`` × today's coverage.

    Parameters
    ----------
    coverage_existing
        ``(n_demand, n_stations)`` 0/1 matrix of the existing stations.
    target
        Share in (0, 1] of today's reachable weight to keep covered.
    weights
        Demand weights (default 1 each).
    solver, time_limit, seed
        As in :func:`~geoplan.optimize.max_coverage`.

    Returns
    -------
    ClosurePlan
        ``kept`` = stations to keep (``objective`` = how many, minimised);
        ``closed`` = the others.

    Examples
    --------
    >>> import numpy as np
    >>> from geoplan.optimize import minimal_keep_set
    >>> A = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1]])
    >>> plan = minimal_keep_set(A)
    >>> plan.kept.tolist(), plan.closed.tolist(), plan.status
    ([0, 1], [2], 'optimal')
    """
    t0 = time.perf_counter()
    sol = set_cover(coverage_existing, target, weights=weights, solver=solver, time_limit=time_limit, seed=seed)
    m = np.shape(coverage_existing)[1]  # set_cover has checked the matrix
    return ClosurePlan(kept=sol.selected, closed=np.setdiff1d(np.arange(m), sol.selected).astype(np.int64),
                       objective=sol.objective, bound=sol.bound, gap=sol.gap, status=sol.status,
                       solver=sol.solver, seconds=time.perf_counter() - t0, covered_weight=sol.covered_weight,
                       covered=sol.covered, must_keep=np.zeros(0, np.int64), solution=sol)
