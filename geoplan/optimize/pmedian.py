"""p-median: minimise population-weighted distance to the nearest open site."""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from geoplan.exceptions import InputError
from geoplan.optimize import _validate as V
from geoplan.optimize._benefit import solve_benefit
from geoplan.optimize._helpers import candidates
from geoplan.optimize._pmedian_auto import solve_pmedian
from geoplan.optimize.solution import Solution, SolverName

__all__ = ["p_median"]


def p_median(
    cost: Any,
    p: int,
    *,
    weights: Any = None,
    fixed: Any = None,
    unreachable_cost: float | None = None,
    groups: Any = None,
    min_per_group: Any = 0,
    group_caps: Any = None,
    solver: SolverName = "auto",
    time_limit: float = 60,
    seed: int = 0,
) -> Solution:
    """Open ``p`` new sites minimising ``Σ_i w_i · min_{j open} d_ij``.

    Parameters
    ----------
    cost
        ``(n_demand, n_sites)`` distances.  Sparse input: stored pairs are
        reachable (explicit zeros count as distance 0), missing pairs are
        unreachable.  Dense input: ``inf`` means unreachable.
    p
        Number of new sites.
    weights
        Demand weights (default 1).
    unreachable_cost
        Cost per unit weight of a demand point with no open site in reach.
        If None (default): a demand point that *no* site can reach raises
        ValueError, and one whose reachable sites are all closed costs
        ``2 × max stored distance + 1`` (so serving everyone is preferred).
    fixed, groups, min_per_group, group_caps, solver, time_limit, seed
        As in :func:`~geoplan.optimize.max_coverage`.

    Returns
    -------
    Solution
        ``objective`` = weighted distance (min), ``bound`` a proven lower
        bound, ``assignment`` the site serving each demand point.

    Examples
    --------
    Four villages on a line at 0, 1, 5 and 6 km, sites at the villages:

    >>> import numpy as np
    >>> from geoplan.optimize import p_median
    >>> x = np.array([0.0, 1.0, 5.0, 6.0])
    >>> sol = p_median(np.abs(x[:, None] - x[None, :]), 2)
    >>> sol.objective, sol.bound, sol.status, len(sol.selected)
    (2.0, 2.0, 'optimal', 2)
    """
    t0 = time.perf_counter()
    args = V.model_inputs(cost, "cost", binary=False, weights_=weights, fixed=fixed, solver=solver,
                          time_limit_=time_limit, p=p)
    C, w, p, fx = args.matrix, args.weights, args.p, args.fixed
    seed = V.seed(seed)
    n, m = C.shape
    if p == 0 and len(fx) == 0 and n:
        raise InputError("p: must be >= 1 when there are no fixed sites")
    cands = candidates(groups, min_per_group, group_caps, m, fx, p)
    deg = np.diff(C.indptr)
    dmax = float(C.data.max()) if C.nnz else 0.0
    if unreachable_cost is None:
        bad = np.flatnonzero((deg == 0) & (w > 0))
        if len(bad):
            raise InputError(f"cost: {len(bad)} demand point(s) (e.g. row {int(bad[0])}) have no reachable "
                             "site; pass unreachable_cost to price them")
        U = 2.0 * dmax + 1.0
    else:
        U = V.number(unreachable_cost, "unreachable_cost")
        if U <= dmax:
            raise InputError(f"unreachable_cost: must be finite and larger than every distance ({dmax:g})")
    rows = np.repeat(np.arange(n), deg)
    B = sp.csr_matrix((w[rows] * (U - C.data), C.indices, C.indptr), shape=(n, m))
    offset = float((w * U).sum())

    def cost_of(site: np.ndarray) -> float:
        d = np.full(n, U)
        ok = site >= 0
        if ok.any():
            d[ok] = np.asarray(C[np.flatnonzero(ok), site[ok]]).ravel()
        return float((w * d).sum())

    if args.solver == "auto" and cands.groups.grp is None:
        # p-median's own time plan (fast dense Lagrangian, then the radius MIP
        # on what fixing leaves): see geoplan/optimize/_pmedian_auto.py
        return solve_pmedian(B, w, p, fx, cands.cand, args.time_limit, seed, t0, offset, cost_of)
    return solve_benefit(B, w, p, fx, np.zeros(m), cands, args.solver, args.time_limit, seed, t0,
                         offset=offset, cost_of=cost_of)
