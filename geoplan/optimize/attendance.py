"""Attendance with distance decay, and capacitated max coverage."""
from __future__ import annotations

import heapq
import time
from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

from geoplan.exceptions import InputError
from geoplan.optimize import _validate as V
from geoplan.optimize._engine import OPT_GAP, solve_model
from geoplan.optimize.coverage import _candidates
from geoplan.optimize.greedy import Model, row_top2
from geoplan.optimize.mip import run_highs
from geoplan.optimize.solution import Solution, relative_gap

__all__ = ["max_attendance", "decay_function"]

DECAYS = ("linear", "power", "exponential")


def decay_function(d: np.ndarray, decay: str = "linear", cutoff: float = 3000.0,
                   beta: float | None = None) -> np.ndarray:
    """Share of people who attend at distance ``d`` (metres); 0 beyond ``cutoff``.

    * ``"linear"``: ``1 - d / cutoff``;
    * ``"power"``: ``(1 + d / 1000) ** -beta`` (``beta`` default 2);
    * ``"exponential"``: ``exp(-beta * d / 1000)`` (``beta`` per km, default 1).

    Parameters
    ----------
    d
        Distances in metres.
    decay
        ``"linear"``, ``"power"`` or ``"exponential"``.
    cutoff
        Distance in metres beyond which nobody attends.
    beta
        Decay parameter (see above); ``None`` for the default.

    Returns
    -------
    numpy.ndarray
        Attendance shares in [0, 1], same shape as ``d``.
    """
    d = np.asarray(d, float)
    if decay == "linear":
        f = 1.0 - d / cutoff
    elif decay == "power":
        f = (1.0 + d / 1000.0) ** (-(2.0 if beta is None else beta))
    elif decay == "exponential":
        f = np.exp(-(1.0 if beta is None else beta) * d / 1000.0)
    else:
        raise InputError(f"decay: must be one of {DECAYS}, got {decay!r}")
    return np.where(d <= cutoff, np.clip(f, 0.0, 1.0), 0.0)


def max_attendance(
    cost: Any,
    weights: Any,
    p: int,
    decay: str = "linear",
    cutoff: float = 3000,
    beta: float | None = None,
    fixed: Any = None,
    *,
    site_bonus: Any = None,
    groups: Any = None,
    min_per_group: Any = 0,
    group_caps: Any = None,
    solver: str = "auto",
    time_limit: float = 60,
    seed: int = 0,
) -> Solution:
    """Choose ``p`` new sites maximising expected attendance.

    Each demand point attends its best open site (fixed or new);
    attendance is ``Σ_i w_i · max_j f(d_ij)`` with ``f`` from
    :func:`decay_function`.

    Parameters
    ----------
    cost
        ``(n_demand, n_sites)`` distances in metres; for sparse input only
        stored pairs are reachable (dense: ``inf`` = unreachable).
    weights
        Non-negative demand weights.
    p
        Number of new sites.
    decay, cutoff, beta
        Decay shape, cutoff in metres and its parameter.
    fixed, site_bonus, groups, min_per_group, group_caps, solver, time_limit, seed
        As in :func:`~geoplan.optimize.max_coverage`.

    Returns
    -------
    Solution
        ``objective`` = total expected attendance (fixed sites included) +
        bonus of the selected sites; ``assignment`` = site each demand point
        attends (-1 if none).
    """
    t0 = time.perf_counter()
    args = V.model_inputs(cost, "cost", binary=False, weights_=weights, fixed=fixed, solver=solver,
                          time_limit_=time_limit, p=p, site_bonus=site_bonus)
    C, w, p, fx, bonus, solver, time_limit = args.matrix, args.weights, args.p, args.fixed, args.bonus, args.solver, args.time_limit
    seed = V.seed(seed)
    n, m = C.shape
    if decay not in DECAYS:
        raise InputError(f"decay: must be one of {DECAYS}, got {decay!r}")
    try:
        cutoff = float(cutoff)
    except (TypeError, ValueError) as exc:
        raise InputError(f"cutoff: must be a positive number of metres, got {cutoff!r}") from exc
    if not cutoff > 0 or not np.isfinite(cutoff):
        raise InputError(f"cutoff: must be a positive number of metres, got {cutoff!r}")
    if beta is not None:
        beta = V.number(beta, "beta")
        if beta < 0:
            raise InputError(f"beta: must be >= 0, got {beta!r}")
    grp, rmin, gcap, cand = _candidates(groups, min_per_group, group_caps, m, fx, p)
    rows = np.repeat(np.arange(n), np.diff(C.indptr))
    val = w[rows] * decay_function(C.data, decay, cutoff, beta)
    Bfull = sp.csr_matrix((val, C.indices, C.indptr), shape=(n, m))
    return _solve_benefit(Bfull, w, p, fx, bonus, cand, grp, rmin, gcap, solver, time_limit, seed, t0,
                          offset=None)


def _solve_benefit(Bfull: sp.csr_matrix, w: np.ndarray, p: int, fx: np.ndarray, bonus: np.ndarray,
                   cand: np.ndarray, grp: np.ndarray | None, rmin: np.ndarray | None, gcap: np.ndarray | None,
                   solver: str, time_limit: float,
                   seed: int, t0: float, offset: float | None,
                   cost_of: Callable[[np.ndarray], float] | None = None) -> Solution:
    """Solve ``max Σ_i max_{j open} B_ij + bonus`` with fixed sites as floors."""
    n, m = Bfull.shape
    floor = np.zeros(n)
    if len(fx):
        sub = Bfull[:, fx]
        if sub.nnz:
            floor = sub.max(axis=1).toarray().ravel()
    Bc = sp.csr_matrix(Bfull[:, cand])
    rows = np.repeat(np.arange(n), np.diff(Bc.indptr))
    Bc.data = np.maximum(Bc.data - floor[rows], 0.0)
    Bc.eliminate_zeros()
    b1 = bonus[cand]
    g1 = grp[cand] if grp is not None else None
    # drop columns that can never matter: empty, zero bonus, no group minimum
    useless = (np.bincount(Bc.indices, minlength=len(cand)) == 0) & (b1 == 0)
    if g1 is not None:
        assert rmin is not None, "_candidates returns grp, rmin and gcap all set or all None"
        useless &= rmin[g1] == 0
    cols = np.flatnonzero(~useless)
    B = sp.csr_matrix(Bc[:, cols])
    rk = np.diff(B.indptr) > 0
    B = sp.csr_matrix(B[rk])
    B.sort_indices()
    base = float(floor.sum())
    model = Model(B=B, bonus=b1[cols], p=p, grp=g1[cols] if g1 is not None else None,
                  gmin=rmin, gcap=gcap, coverage=False,
                  cost_offset=None if offset is None else offset - base)
    sel_r, obj, bound, status, label = solve_model(model, solver, time_limit, seed, t0)
    if status == "infeasible":
        raise InputError("min_per_group: the group minimums and caps cannot be met with p sites")
    sel = np.sort(cand[cols[sel_r]]).astype(np.int64)
    if len(sel) < p:  # fill with unused candidates (zero gain), lowest index first, caps respected
        rest = np.setdiff1d(cand, sel)
        cnt: np.ndarray | None = None
        if grp is not None:
            assert gcap is not None, "_candidates returns grp, rmin and gcap all set or all None"
            cnt = np.bincount(grp[sel], minlength=len(gcap))
        extra: list[np.int64] = []
        for j in rest:
            if len(sel) + len(extra) >= p:
                break
            if grp is not None:
                assert cnt is not None and gcap is not None, "cnt and gcap are set whenever grp is"
                if cnt[grp[j]] >= gcap[grp[j]]:
                    continue
                cnt[grp[j]] += 1
            extra.append(j)
        sel = np.sort(np.concatenate([sel, np.array(extra, np.int64)])).astype(np.int64)
    opened = np.union1d(fx, sel).astype(np.int64)
    fake = Model(B=Bfull, bonus=np.zeros(m), p=len(opened))
    best, site, _ = row_top2(fake, opened)
    value = float(best.sum() + bonus[sel].sum())
    ubv = max(float(bound) + base, value)
    unreachable = np.flatnonzero(np.diff(Bfull.indptr) == 0)
    if offset is None:
        objective, bnd, sense = value, ubv, "max"
    else:
        # the cost of the answer straight from the costs (offset - value
        # would lose digits to cancellation when the offset is large)
        objective = cost_of(site) if cost_of is not None else offset - value
        bnd, sense = min(offset - ubv, objective), "min"
    bnd += 0.0  # no "-0"
    gap = relative_gap(objective, bnd, sense)
    if gap <= OPT_GAP:
        status = "optimal"
    elif status == "optimal":  # never claim optimality the numbers do not show
        status = "feasible"
    return Solution(
        selected=sel, objective=objective, bound=bnd, gap=gap, solver=label,
        seconds=time.perf_counter() - t0, status=status, sense=sense,
        assignment=site, unreachable=unreachable, unreachable_weight=float(w[unreachable].sum()),
        fixed=fx, n_demand_reduced=model.n, n_sites_reduced=model.m,
    )


def _capacitated(A: sp.csr_matrix, w: np.ndarray, p: int, fx: np.ndarray, bonus: np.ndarray,
                 grp: Any, rmin: Any, gcap: Any, capacity: Any, solver: str, time_limit: float,
                 seed: int, t0: float) -> Solution:
    """Capacitated max coverage: x_ij (share of i served by j) on the sparse pairs.

    ``max Σ w_i x_ij + Σ bonus_j y_j`` s.t. ``Σ_j x_ij <= 1``,
    ``Σ_i w_i x_ij <= cap_j y_j``, ``x_ij <= y_j``, ``Σ_{new} y_j <= p``,
    fixed ``y_j = 1``.  The objective counts all served weight (fixed
    stations included) plus the bonus of new sites.
    """
    n, m = A.shape
    cap = V.site_values(capacity, m, "capacity")
    deadline = t0 + time_limit
    B = sp.csr_matrix(A)
    keep = w[np.repeat(np.arange(n), np.diff(B.indptr))] > 0
    B.data = keep.astype(float)
    B.eliminate_zeros()
    rows = np.repeat(np.arange(n), np.diff(B.indptr))
    cols = B.indices
    nnz = B.nnz
    isfix = np.zeros(m, bool)
    isfix[fx] = True
    # --- greedy heuristic -------------------------------------------------
    Bc = B.tocsc()
    resid = w.copy()
    capleft = cap.copy()
    opened: list[int] = []

    def assign(j: int) -> None:
        r = Bc.indices[Bc.indptr[j]:Bc.indptr[j + 1]]
        for i in r:
            if capleft[j] <= 0:
                break
            t = min(resid[i], capleft[j])
            resid[i] -= t
            capleft[j] -= t

    for j in fx:
        assign(int(j))
    G = len(rmin) if grp is not None else 0
    cnt = np.zeros(G, np.int64)
    heap = [(-(min(cap[j], float(w[Bc.indices[Bc.indptr[j]:Bc.indptr[j + 1]]].sum())) + bonus[j]), j)
            for j in range(m) if not isfix[j]]
    heapq.heapify(heap)
    for t in range(p):
        must = G and (p - t) <= np.maximum(rmin - cnt, 0).sum()
        chosen = -1
        while heap:
            _, j = heapq.heappop(heap)
            if G and (cnt[grp[j]] >= gcap[grp[j]] or (must and rmin[grp[j]] - cnt[grp[j]] <= 0)):
                continue
            g = min(cap[j], float(resid[Bc.indices[Bc.indptr[j]:Bc.indptr[j + 1]]].sum())) + bonus[j]
            if not heap or (-g, j) <= heap[0]:
                chosen = j
                break
            heapq.heappush(heap, (-g, j))
        if chosen < 0:
            break
        opened.append(chosen)
        assign(chosen)
        if G:
            cnt[grp[chosen]] += 1
    # --- the model ----------------------------------------------------------
    ny = m
    c = np.concatenate([np.where(isfix, 0.0, bonus), w[rows]])
    R1 = sp.hstack([sp.csr_matrix((n, ny)), sp.csr_matrix((np.ones(nnz), (rows, np.arange(nnz))), shape=(n, nnz))])
    R2 = sp.hstack([sp.csr_matrix((-cap, (np.arange(m), np.arange(m))), shape=(m, m)),
                    sp.csr_matrix((w[rows], (cols, np.arange(nnz))), shape=(m, nnz))])
    R3 = sp.hstack([sp.csr_matrix((-np.ones(nnz), (np.arange(nnz), cols)), shape=(nnz, m)),
                    sp.identity(nnz, format="csr")])
    newrow = sp.hstack([sp.csr_matrix((~isfix).astype(float)[None, :]), sp.csr_matrix((1, nnz))])
    blocks = [R1, R2, R3, newrow]
    rlo: list[np.ndarray | list[float]] = [np.full(n, -np.inf), np.full(m, -np.inf), np.full(nnz, -np.inf), [-np.inf]]
    rhi: list[np.ndarray | list[float]] = [np.ones(n), np.zeros(m), np.zeros(nnz), [float(p)]]
    if G:
        Gm = sp.csr_matrix((np.ones(m), (grp, np.arange(m))), shape=(G, m)).multiply((~isfix)[None, :])
        blocks.append(sp.hstack([Gm, sp.csr_matrix((G, nnz))]))
        rlo.append(rmin.astype(float))
        rhi.append(np.where(np.isfinite(gcap), gcap, np.inf))
    M = sp.vstack(blocks, format="csr")
    rlo_a, rhi_a = np.concatenate(rlo), np.concatenate(rhi)
    lo = np.concatenate([isfix.astype(float), np.zeros(nnz)])
    hi = np.ones(m + nnz)
    integer = np.concatenate([np.ones(m, bool), np.zeros(nnz, bool)])

    def served_by(open_sites: np.ndarray) -> float:
        y = np.zeros(m)
        y[open_sites] = 1
        # the exact value of an open set: the best split of demand (an LP with
        # y fixed; small, so it gets at least a second even near the deadline)
        x, obj, _, st = run_highs(c, np.concatenate([y, np.zeros(nnz)]), np.concatenate([y, np.ones(nnz)]),
                                  M, rlo_a, rhi_a, np.zeros(m + nnz, bool), True,
                                  max(deadline - time.perf_counter(), 1.0), seed)
        return obj if x is not None and st == "optimal" else -np.inf

    def feasible(sel: np.ndarray) -> bool:
        if len(sel) > p:
            return False
        if not G:
            return True
        k = np.bincount(grp[sel], minlength=G)
        return bool((k >= rmin).all() and (k <= gcap).all())

    g_sel = np.array(sorted(opened), np.int64)
    g_obj = served_by(np.union1d(fx, g_sel).astype(np.int64)) if feasible(g_sel) else -np.inf
    label = "greedy"
    if solver == "greedy":
        # the LP relaxation bounds the optimum only if solved to optimality
        # (run_highs reports an infinite bound otherwise)
        _, _, lpb, _ = run_highs(c, lo, hi, M, rlo_a, rhi_a, np.zeros(m + nnz, bool), True,
                                 max(deadline - time.perf_counter(), 1.0), seed)
        sel, obj, bound, status = g_sel, g_obj, lpb, "feasible"
    else:
        # no warm start: the greedy incumbent is compared below
        x, obj, bound, st = run_highs(c, lo, hi, M, rlo_a, rhi_a, integer, True,
                                      max(deadline - time.perf_counter(), 0.05), seed)
        label = "highs"
        if st == "infeasible":
            raise InputError("min_per_group: the group minimums and caps cannot be met with p sites")
        mip_sel = np.flatnonzero((x[:m] > 0.5) & ~isfix).astype(np.int64) if x is not None else None
        if mip_sel is not None and feasible(mip_sel):
            # value the MIP answer exactly rather than trusting its tolerance-laden objective
            val = served_by(np.union1d(fx, mip_sel).astype(np.int64))
            obj = val if np.isfinite(val) else obj
        else:
            mip_sel, obj = None, -np.inf
        if mip_sel is None or (np.isfinite(g_obj) and obj < g_obj):
            sel, obj = g_sel, g_obj
            status = "feasible"
        else:
            sel = mip_sel
            status = st
    if not np.isfinite(obj):
        raise InputError("min_per_group: the group minimums and caps cannot be met with p sites "
                         "(or no feasible selection was found within time_limit)")
    bound = max(bound, obj) + 0.0
    gap = relative_gap(obj, bound, "max")
    if gap <= OPT_GAP:
        status = "optimal"
    elif status == "optimal":
        status = "feasible"
    unreachable = np.flatnonzero(np.diff(A.indptr) == 0)
    return Solution(
        selected=np.sort(sel).astype(np.int64), objective=float(obj), bound=float(bound), gap=gap,
        solver=label, seconds=time.perf_counter() - t0, status=status, sense="max",
        covered_weight=float(obj - bonus[sel].sum()), fixed=fx,
        unreachable=unreachable, unreachable_weight=float(w[unreachable].sum()),
        n_demand_reduced=n, n_sites_reduced=m, extra={"capacity": cap},
    )
