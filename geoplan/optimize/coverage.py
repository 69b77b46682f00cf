"""Max coverage (MCLP with fixed stations, bonuses and group rules; the
capacitated variant lives in :mod:`geoplan.optimize.capacitated`) and set
cover.
"""
from __future__ import annotations

import heapq
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from geoplan.exceptions import InputError
from geoplan.optimize import _validate as V
from geoplan.optimize._engine import solve_model
from geoplan.optimize._helpers import (
    Candidates,
    candidates,
    certify,
    fill_to_p,
    is_integral,
    non_fixed,
    reached,
)
from geoplan.optimize._highs import run_highs
from geoplan.optimize.capacitated import solve_capacitated
from geoplan.optimize.greedy import Model
from geoplan.optimize.reduce import dominance_pair_budget, dominated_sites, merge_rows
from geoplan.optimize.solution import Solution, SolverName, Status

__all__ = ["max_coverage", "set_cover"]


def max_coverage(
    coverage: Any,
    p: int,
    *,
    weights: Any = None,
    fixed: Any = None,
    site_bonus: Any = None,
    groups: Any = None,
    min_per_group: Any = 0,
    group_caps: Any = None,
    capacity: Any = None,
    solver: SolverName = "auto",
    time_limit: float = 60,
    seed: int = 0,
) -> Solution:
    """Choose ``p`` new sites maximising newly covered weight plus site bonus.

    Parameters
    ----------
    coverage
        ``(n_demand, n_sites)`` 0/1 matrix (numpy or scipy.sparse); non-zero
        means the site reaches the demand point.
    p
        Number of *new* sites to open (fixed sites do not count).  At most the
        number of non-fixed sites.
    weights
        ``(n_demand,)`` non-negative demand weights (people); default 1 each.
    fixed
        Indices (or boolean mask) of sites already open: they cover their
        reach, count toward coverage, never toward ``p``.
    site_bonus
        ``(n_sites,)`` non-negative value added per chosen new site (e.g.
        footfall weight × daily footfall).
    groups
        ``(n_sites,)`` integer group (town) of each site.
    min_per_group
        Scalar or per-group array: each group needs at least that many open
        sites, fixed ones included.
    group_caps
        Scalar or per-group maximum number of *new* sites.
    capacity
        Scalar or per-site capacity (people a station can serve); demand may
        be split.  Switches to the capacitated model (assignment MIP).
    solver
        ``"auto"`` (greedy+swap, Lagrangian bound, then a warm-started HiGHS
        MIP if not yet proven and small enough), ``"highs"`` (exact MIP) or
        ``"greedy"`` (greedy+swap with Lagrangian bound only).
    time_limit
        Seconds for the whole solve, honoured to about 10 % once it exceeds
        the minimum a call needs (input checks, reductions and the greedy
        construction); with a shorter limit the call takes about that
        minimum.  Measured on the shared 2-core benchmark machine (load 3-6,
        ``benchmarks/README.md``): about 0.5 s at 20,000 × 40,000 with 8
        pairs per row, 2-4 s with 30 and 6-8 s with 80, 8 s at 200,000 ×
        400,000 with 8.  ``"auto"`` is anytime and monotone: it first runs
        exactly the ``solver="greedy"`` route of the same limit, then the
        exact phases in the time that route leaves, keeping the better
        answer and the smaller bound; so at the same work it is never worse
        than ``"greedy"`` in answer or bound, and a MIP cut off by the limit
        changes neither.  The greedy route itself needs about 4 s to finish
        at 20,000 × 40,000 with 8 pairs per row, 15-20 s with 30, 35 s at
        200,000 × 400,000 with 8 (same machine); below that both solvers
        return the route's answer so far with a valid, looser bound.
    seed
        HiGHS random seed (results are deterministic for a given seed).

    Returns
    -------
    Solution
        ``objective`` = newly covered weight (not already covered by fixed
        sites) + bonus of the selected sites; ``covered_weight`` = all
        covered weight; ``covered`` per-demand mask; ``unreachable`` = demand
        no site at all can reach; ``incumbent_by`` / ``bound_by`` = the
        phases that found the answer and the bound.

    Raises
    ------
    ValueError (InputError)
        Bad shapes, negative/NaN values, ``p`` too large, fixed sites out of
        range, infeasible group minimums.

    Examples
    --------
    Three demand points of 10, 20 and 30 people; site 0 reaches the first
    two, site 1 the last two, site 2 only the third:

    >>> import numpy as np
    >>> from geoplan.optimize import max_coverage
    >>> A = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1]])
    >>> sol = max_coverage(A, 1, weights=[10, 20, 30])
    >>> sol.selected.tolist(), sol.objective, sol.status
    ([1], 50.0, 'optimal')
    >>> max_coverage(A, 1, weights=[10, 20, 30], fixed=[1]).selected.tolist()
    [0]
    """
    t0 = time.perf_counter()
    args = V.model_inputs(coverage, "coverage", binary=True, weights_=weights, fixed=fixed, solver=solver,
                          time_limit_=time_limit, p=p, site_bonus=site_bonus)
    A, w, p, fx, bonus = args.matrix, args.weights, args.p, args.fixed, args.bonus
    seed = V.seed(seed)
    cands = candidates(groups, min_per_group, group_caps, A.shape[1], fx, p)
    if capacity is not None:
        return solve_capacitated(A, w, p, fx, bonus, cands.groups, capacity, args.solver, args.time_limit,
                                 seed, t0)
    deg = np.diff(A.indptr)
    fixcov = reached(A, fx)
    model, cols = _reduced_model(A, w, p, fixcov, bonus, cands, dominance_pair_budget(args.time_limit))
    res = solve_model(model, args.solver, args.time_limit, seed, t0)
    if res.status == "infeasible":
        raise InputError("min_per_group: the group minimums and caps cannot be met with p sites")
    grp, _, gcap = cands.groups
    sel = cands.cand[cols[res.selected]]
    if len(sel) < p:  # reductions may leave fewer useful sites: fill by best marginal gain
        sel = _pad(A, w, fixcov, bonus, sel, cands.cand, p, grp, gcap)
    covered = fixcov | reached(A, sel)
    objective = float(w[covered & ~fixcov].sum() + bonus[sel].sum())
    cert = certify(objective, res.bound, "max", res.status)
    unreachable = np.flatnonzero(deg == 0)
    return Solution(
        selected=np.sort(sel).astype(np.int64), objective=objective, bound=cert.bound, gap=cert.gap,
        solver=res.route, seconds=time.perf_counter() - t0, status=cert.status, sense="max",
        covered_weight=float(w[covered].sum()), covered=covered,
        unreachable=unreachable, unreachable_weight=float(w[unreachable].sum()), fixed=fx,
        n_demand_reduced=int(model.n), n_sites_reduced=int(model.m),
        incumbent_by=res.incumbent_by, bound_by=res.bound_by,
    )


def _reduced_model(A: sp.csr_matrix, w: np.ndarray, p: int, fixcov: np.ndarray, bonus: np.ndarray,
                   cands: Candidates, max_pairs: float) -> tuple[Model, np.ndarray]:
    """The benefit model of max coverage (rows not yet covered by the fixed
    sites, identical rows merged, dominated sites dropped) and, per model
    column, its position in ``cands.cand``.
    """
    grp, rmin, gcap = cands.groups
    cand = cands.cand
    deg = np.diff(A.indptr)
    active = np.flatnonzero(~fixcov & (deg > 0) & (w > 0))
    A1 = A[active][:, cand]
    A1.eliminate_zeros()
    keep_r = np.diff(A1.indptr) > 0
    active, A1 = active[keep_r], A1[keep_r]
    A2, w2, _ = merge_rows(A1, w[active])
    b1 = bonus[cand]
    g1 = grp[cand] if grp is not None else None
    single = b1 == 0
    if g1 is not None:
        assert rmin is not None, "Groups: grp, rmin and gcap are all set or all None"
        single &= rmin[g1] == 0
    dom = dominated_sites(A2, b1, p, g1, single, max_pairs)
    cols = np.flatnonzero(~dom)
    A3 = sp.csr_matrix(A2[:, cols])
    rk = np.diff(A3.indptr) > 0
    A3, w3 = A3[rk], w2[rk]
    B = sp.csr_matrix(A3.multiply(w3[:, None]))
    B.sort_indices()
    model = Model(B=B, bonus=b1[cols], p=p, grp=g1[cols] if g1 is not None else None,
                  gmin=rmin, gcap=gcap, coverage=True, w=w3, integral=is_integral(w3, b1))
    return model, cols


def _pad(A: sp.csr_matrix, w: np.ndarray, fixcov: np.ndarray, bonus: np.ndarray, sel: np.ndarray,
         cand: np.ndarray, p: int, grp: np.ndarray | None, gcap: np.ndarray | None) -> np.ndarray:
    """Fill up to ``p`` sites by best marginal gain (ties by lowest index), caps respected."""
    Ac = A.tocsc()
    covered = fixcov | reached(A, sel)

    def gain() -> np.ndarray:
        return bonus + Ac.T @ (w * ~covered)

    def add(j: int) -> None:
        covered[Ac.indices[Ac.indptr[j]:Ac.indptr[j + 1]]] = True

    return fill_to_p(np.asarray(sel, np.int64), cand, p, grp, gcap, gain=gain, on_add=add)


def set_cover(
    coverage: Any,
    target: float = 1.0,
    *,
    weights: Any = None,
    fixed: Any = None,
    solver: SolverName = "auto",
    time_limit: float = 60,
    seed: int = 0,
) -> Solution:
    """Fewest new sites that bring covered weight to ``target`` × reachable weight.

    Parameters
    ----------
    coverage
        ``(n_demand, n_sites)`` 0/1 matrix.
    target
        Share in (0, 1] of *reachable* demand weight (demand some site can
        reach, fixed sites included) that must be covered.  Demand no site
        can reach is reported in ``unreachable`` instead of failing.
    weights
        Demand weights (default 1 each).
    fixed
        Sites already open (count toward coverage, not toward the objective).
    solver, time_limit, seed
        As in :func:`max_coverage`.

    Returns
    -------
    Solution
        ``objective`` = number of new sites; ``bound`` = proven lower bound
        (rounded-up LP relaxation or MIP dual bound).

    Examples
    --------
    >>> import numpy as np
    >>> from geoplan.optimize import set_cover
    >>> A = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1]])
    >>> sol = set_cover(A)
    >>> sol.selected.tolist(), sol.objective, sol.bound
    ([0, 1], 2.0, 2.0)
    >>> set_cover(A, 0.6, weights=[10, 20, 30]).objective  # one site reaches 50 of 60
    1.0
    """
    t0 = time.perf_counter()
    args = V.model_inputs(coverage, "coverage", binary=True, weights_=weights, fixed=fixed, solver=solver,
                          time_limit_=time_limit)
    A, w, fx = args.matrix, args.weights, args.fixed
    seed = V.seed(seed)
    try:
        target = float(target)
    except (TypeError, ValueError) as exc:
        raise InputError(f"target: must be a number in (0, 1], got {target!r}") from exc
    if not 0 < target <= 1:
        raise InputError(f"target: must be in (0, 1], got {target}")
    deg = np.diff(A.indptr)
    unreachable = np.flatnonzero(deg == 0)
    reach_w = float(w[deg > 0].sum())
    fixcov = reached(A, fx)
    need = target * reach_w - float(w[fixcov].sum())
    need -= 1e-9 * max(1.0, reach_w)
    cand = non_fixed(A.shape[1], fx)
    full = target >= 1.0
    active = np.flatnonzero(~fixcov & (deg > 0) & (w > 0))
    A2, w2, _ = merge_rows(sp.csr_matrix(A[active][:, cand]), w[active])
    # dominated columns: cover(j) ⊆ cover(k) -> j never needed (unit costs)
    dom = dominated_sites(A2, np.zeros(A2.shape[1]), 1, None, np.ones(A2.shape[1], bool),
                          dominance_pair_budget(args.time_limit))
    cols = np.flatnonzero(~dom)
    A3 = sp.csr_matrix(A2[:, cols])
    n3, m3 = A3.shape
    status: Status
    if need <= 0 or n3 == 0:
        sel_r = np.zeros(0, np.int64)
        lbnd, status, label = 0.0, "optimal", "greedy"
    else:
        sel_r = _sc_greedy(A3, w2, need, full)
        lbnd, sel2, status, label = _sc_exact(A3, w2, need, full, sel_r, args.solver, t0 + args.time_limit, seed)
        # take the MIP answer only if it really reaches the target (HiGHS
        # works within feasibility tolerances)
        if sel2 is not None and len(sel2) < len(sel_r) and _sc_meets(A3, w2, sel2, need, full):
            sel_r = sel2
    sel = np.sort(cand[cols[sel_r]]).astype(np.int64)
    covered = fixcov | reached(A, sel)
    obj = float(len(sel))
    # the LP / MIP bound carries solver tolerance: round up only past a relative slack
    cert = certify(obj, float(np.ceil(lbnd - 1e-5 * max(1.0, abs(lbnd)))), "min", status)
    return Solution(
        selected=sel, objective=obj, bound=cert.bound, gap=cert.gap, solver=label,
        seconds=time.perf_counter() - t0, status=cert.status, sense="min",
        covered_weight=float(w[covered].sum()), covered=covered,
        unreachable=unreachable, unreachable_weight=float(w[unreachable].sum()), fixed=fx,
        n_demand_reduced=n3, n_sites_reduced=m3,
        extra={"target_weight": target * reach_w, "reachable_weight": reach_w},
    )


def _sc_meets(A: sp.csr_matrix, w: np.ndarray, sel: np.ndarray, need: float, full: bool) -> bool:
    hit = reached(A, sel)
    return bool(hit.all()) if full else float(w[hit].sum()) >= need


def _sc_greedy(A: sp.csr_matrix, w: np.ndarray, need: float, full: bool) -> np.ndarray:
    """Greedy set cover (by uncovered count if full cover, else weight) + redundancy removal."""
    Ac = A.tocsc()
    n, m = A.shape
    val = np.ones(n) if full else w.copy()
    unc = np.ones(n, bool)
    got = 0.0
    sel: list[int] = []
    gain = np.asarray(Ac.T @ val).ravel()
    heap = list(zip((-gain).tolist(), range(m)))
    heapq.heapify(heap)
    while got < need and heap:
        ng, j = heapq.heappop(heap)
        r = Ac.indices[Ac.indptr[j]:Ac.indptr[j + 1]]
        g = float((val[r] * unc[r]).sum())
        if heap and (-g, j) > heap[0]:
            heapq.heappush(heap, (-g, j))
            continue
        if g <= 0:
            break
        sel.append(j)
        got += float((w[r] * unc[r]).sum())
        unc[r] = False
    # remove redundant sites (last chosen first)
    cnt = np.asarray(A[:, sel].sum(axis=1)).ravel() if sel else np.zeros(n)
    covw = float(w[cnt > 0].sum())
    for j in sorted(sel, reverse=True):
        r = Ac.indices[Ac.indptr[j]:Ac.indptr[j + 1]]
        lost = float(w[r][cnt[r] == 1].sum())
        if full and (cnt[r] == 1).any():
            continue
        if covw - lost >= need:
            cnt[r] -= 1
            covw -= lost
            sel.remove(j)
    return np.array(sorted(sel), np.int64)


def _sc_exact(A: sp.csr_matrix, w: np.ndarray, need: float, full: bool, inc: np.ndarray,
              solver: SolverName, deadline: float, seed: int) -> tuple[float, np.ndarray | None, Status, str]:
    """LP bound, then MIP if not proven. Returns (bound, selection|None, status, label)."""
    n, m = A.shape
    if full:
        Amat, rlo, rhi = A, np.ones(n), np.full(n, np.inf)
        c = np.ones(m)
        nz = 0
    else:
        Amat = sp.vstack([sp.hstack([-A, sp.identity(n, format="csr")]),
                          sp.hstack([sp.csr_matrix((1, m)), sp.csr_matrix(w[None, :])])], format="csr")
        rlo = np.concatenate([np.full(n, -np.inf), [need]])
        rhi = np.concatenate([np.zeros(n), [np.inf]])
        c = np.concatenate([np.ones(m), np.zeros(n)])
        nz = n
    lo = np.zeros(m + nz)
    hi = np.ones(m + nz)
    integer = np.concatenate([np.ones(m, bool), np.zeros(nz, bool)])
    remaining = deadline - time.perf_counter()
    if solver != "highs":
        x, lpobj, _, st = run_highs(c, lo, hi, Amat, rlo, rhi, np.zeros(m + nz, bool), False,
                                    max(remaining * 0.5, 0.05), seed)
        lb = lpobj if st == "optimal" else 0.0
        if np.ceil(lb - 1e-5 * max(1.0, abs(lb))) >= len(inc):
            return lb, None, "optimal", "greedy"
        if solver == "greedy":
            return lb, None, "feasible", "greedy"
    else:
        lb = 0.0
    start = None
    if len(inc):
        y = np.zeros(m)
        y[inc] = 1
        start = y if full else np.concatenate([y, np.minimum(np.asarray(A @ y).ravel(), 1)])
    x, obj, bd, st = run_highs(c, lo, hi, Amat, rlo, rhi, integer, False,
                               max(deadline - time.perf_counter(), 0.05), seed, start)
    if x is None:
        return lb, None, "feasible", "highs"
    sel = np.flatnonzero(x[:m] > 0.5).astype(np.int64)
    bd = bd if np.isfinite(bd) else 0.0
    return max(lb, bd), sel, "optimal" if st == "optimal" else "time_limit", "highs"
