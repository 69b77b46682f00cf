"""Capacitated max coverage: each station serves at most its capacity,
demand may be split (an assignment MIP on the sparse pairs).

Reached through ``max_coverage(..., capacity=...)``.
"""
from __future__ import annotations

import heapq
import time
from typing import NamedTuple

import numpy as np
import scipy.sparse as sp

from geoplan.exceptions import InputError
from geoplan.optimize import _validate as V
from geoplan.optimize._helpers import Groups, certify
from geoplan.optimize._highs import run_highs
from geoplan.optimize.solution import Solution, SolverName, Status

__all__ = ["solve_capacitated"]


class _Assignment(NamedTuple):
    """The MIP ``max c·x`` s.t. ``rlo <= M x <= rhi``, ``lo <= x <= hi``;
    columns: ``y`` (one per site), then ``x`` (one per stored pair).
    """

    c: np.ndarray
    M: sp.csr_matrix
    rlo: np.ndarray
    rhi: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    integer: np.ndarray


def _pairs(A: sp.csr_matrix, w: np.ndarray) -> sp.csr_matrix:
    """The coverage pairs of rows with positive weight (0/1)."""
    n = A.shape[0]
    B = sp.csr_matrix(A)
    keep = w[np.repeat(np.arange(n), np.diff(B.indptr))] > 0
    B.data = keep.astype(float)
    B.eliminate_zeros()
    return B


def _greedy_open(B: sp.csr_matrix, w: np.ndarray, cap: np.ndarray, bonus: np.ndarray, p: int,
                 fx: np.ndarray, g: Groups) -> np.ndarray:
    """Lazy greedy by ``min(cap, unserved weight in reach) + bonus``, filling
    the fixed stations first, respecting group minimums and caps.
    """
    m = B.shape[1]
    isfix = np.zeros(m, bool)
    isfix[fx] = True
    Bc = B.tocsc()
    resid = w.copy()
    capleft = cap.copy()

    def assign(j: int) -> None:
        for i in Bc.indices[Bc.indptr[j]:Bc.indptr[j + 1]]:
            if capleft[j] <= 0:
                break
            t = min(resid[i], capleft[j])
            resid[i] -= t
            capleft[j] -= t

    for j in fx:
        assign(int(j))
    G = 0
    grp = rmin = gcap = np.zeros(0)  # unused without groups (G == 0)
    if g.grp is not None:
        assert g.rmin is not None and g.gcap is not None, "Groups: grp, rmin and gcap are all set or all None"
        grp, rmin, gcap = g.grp, g.rmin, g.gcap
        G = len(rmin)
    cnt = np.zeros(G, np.int64)
    heap = [(-(min(cap[j], float(w[Bc.indices[Bc.indptr[j]:Bc.indptr[j + 1]]].sum())) + bonus[j]), j)
            for j in range(m) if not isfix[j]]
    heapq.heapify(heap)
    opened: list[int] = []
    for t in range(p):
        must = G and (p - t) <= np.maximum(rmin - cnt, 0).sum()
        chosen = -1
        while heap:
            _, j = heapq.heappop(heap)
            if G and (cnt[grp[j]] >= gcap[grp[j]] or (must and rmin[grp[j]] - cnt[grp[j]] <= 0)):
                continue
            gain = min(cap[j], float(resid[Bc.indices[Bc.indptr[j]:Bc.indptr[j + 1]]].sum())) + bonus[j]
            if not heap or (-gain, j) <= heap[0]:
                chosen = j
                break
            heapq.heappush(heap, (-gain, j))
        if chosen < 0:
            break
        opened.append(chosen)
        assign(chosen)
        if G:
            cnt[grp[chosen]] += 1
    return np.array(sorted(opened), np.int64)


def _assignment_model(B: sp.csr_matrix, w: np.ndarray, cap: np.ndarray, bonus: np.ndarray, p: int,
                      fx: np.ndarray, g: Groups) -> _Assignment:
    """``max Σ w_i x_ij + Σ bonus_j y_j`` s.t. ``Σ_j x_ij <= 1``,
    ``Σ_i w_i x_ij <= cap_j y_j``, ``x_ij <= y_j``, ``Σ_{new} y_j <= p``,
    group rows; fixed ``y_j = 1``.
    """
    n, m = B.shape
    rows = np.repeat(np.arange(n), np.diff(B.indptr))
    cols = B.indices
    nnz = B.nnz
    isfix = np.zeros(m, bool)
    isfix[fx] = True
    c = np.concatenate([np.where(isfix, 0.0, bonus), w[rows]])
    R1 = sp.hstack([sp.csr_matrix((n, m)), sp.csr_matrix((np.ones(nnz), (rows, np.arange(nnz))), shape=(n, nnz))])
    R2 = sp.hstack([sp.csr_matrix((-cap, (np.arange(m), np.arange(m))), shape=(m, m)),
                    sp.csr_matrix((w[rows], (cols, np.arange(nnz))), shape=(m, nnz))])
    R3 = sp.hstack([sp.csr_matrix((-np.ones(nnz), (np.arange(nnz), cols)), shape=(nnz, m)),
                    sp.identity(nnz, format="csr")])
    newrow = sp.hstack([sp.csr_matrix((~isfix).astype(float)[None, :]), sp.csr_matrix((1, nnz))])
    blocks = [R1, R2, R3, newrow]
    rlo: list[np.ndarray | list[float]] = [np.full(n, -np.inf), np.full(m, -np.inf), np.full(nnz, -np.inf), [-np.inf]]
    rhi: list[np.ndarray | list[float]] = [np.ones(n), np.zeros(m), np.zeros(nnz), [float(p)]]
    grp, rmin, gcap = g
    if grp is not None:
        assert rmin is not None and gcap is not None, "Groups: grp, rmin and gcap are all set or all None"
        G = len(rmin)
        Gm = sp.csr_matrix((np.ones(m), (grp, np.arange(m))), shape=(G, m)).multiply((~isfix)[None, :])
        blocks.append(sp.hstack([Gm, sp.csr_matrix((G, nnz))]))
        rlo.append(rmin.astype(float))
        rhi.append(np.where(np.isfinite(gcap), gcap, np.inf))
    return _Assignment(c=c, M=sp.vstack(blocks, format="csr"), rlo=np.concatenate(rlo), rhi=np.concatenate(rhi),
                       lo=np.concatenate([isfix.astype(float), np.zeros(nnz)]), hi=np.ones(m + nnz),
                       integer=np.concatenate([np.ones(m, bool), np.zeros(nnz, bool)]))


def _served_by(mod: _Assignment, m: int, open_sites: np.ndarray, deadline: float, seed: int) -> float:
    """The exact value of an open set: the best split of demand (an LP with
    ``y`` fixed; small, so it gets at least a second even near the deadline).
    """
    nnz = len(mod.c) - m
    y = np.zeros(m)
    y[open_sites] = 1
    x, obj, _, st = run_highs(mod.c, np.concatenate([y, np.zeros(nnz)]), np.concatenate([y, np.ones(nnz)]),
                              mod.M, mod.rlo, mod.rhi, np.zeros(m + nnz, bool), True,
                              max(deadline - time.perf_counter(), 1.0), seed)
    return obj if x is not None and st == "optimal" else -np.inf


def _meets_groups(sel: np.ndarray, p: int, g: Groups) -> bool:
    if len(sel) > p:
        return False
    grp, rmin, gcap = g
    if grp is None:
        return True
    assert rmin is not None and gcap is not None, "Groups: grp, rmin and gcap are all set or all None"
    k = np.bincount(grp[sel], minlength=len(rmin))
    return bool((k >= rmin).all() and (k <= gcap).all())


def solve_capacitated(A: sp.csr_matrix, w: np.ndarray, p: int, fx: np.ndarray, bonus: np.ndarray,
                      g: Groups, capacity: object, solver: SolverName, time_limit: float,
                      seed: int, t0: float) -> Solution:
    """Capacitated max coverage (checked inputs from :func:`max_coverage`).

    The objective counts all served weight (fixed stations included) plus
    the bonus of new sites.  ``solver="greedy"`` certifies the greedy answer
    with the LP relaxation; otherwise the MIP runs (no warm start: the
    greedy incumbent is compared afterwards and kept if better).
    """
    n, m = A.shape
    cap = V.site_values(capacity, m, "capacity")
    deadline = t0 + time_limit
    B = _pairs(A, w)
    g_sel = _greedy_open(B, w, cap, bonus, p, fx, g)
    mod = _assignment_model(B, w, cap, bonus, p, fx, g)
    g_obj = _served_by(mod, m, np.union1d(fx, g_sel).astype(np.int64), deadline, seed) \
        if _meets_groups(g_sel, p, g) else -np.inf
    label = "greedy"
    status: Status
    if solver == "greedy":
        # the LP relaxation bounds the optimum only if solved to optimality
        # (run_highs reports an infinite bound otherwise)
        _, _, bound, _ = run_highs(mod.c, mod.lo, mod.hi, mod.M, mod.rlo, mod.rhi, np.zeros(len(mod.c), bool),
                                   True, max(deadline - time.perf_counter(), 1.0), seed)
        sel, obj, status = g_sel, g_obj, "feasible"
    else:
        x, obj, bound, st = run_highs(mod.c, mod.lo, mod.hi, mod.M, mod.rlo, mod.rhi, mod.integer, True,
                                      max(deadline - time.perf_counter(), 0.05), seed)
        label = "highs"
        if st == "infeasible":
            raise InputError("min_per_group: the group minimums and caps cannot be met with p sites")
        isfix = np.zeros(m, bool)
        isfix[fx] = True
        mip_sel = np.flatnonzero((x[:m] > 0.5) & ~isfix).astype(np.int64) if x is not None else None
        if mip_sel is not None and _meets_groups(mip_sel, p, g):
            # value the MIP answer exactly rather than trusting its tolerance-laden objective
            val = _served_by(mod, m, np.union1d(fx, mip_sel).astype(np.int64), deadline, seed)
            obj = val if np.isfinite(val) else obj
        else:
            mip_sel, obj = None, -np.inf
        if mip_sel is None or (np.isfinite(g_obj) and obj < g_obj):
            sel, obj, status = g_sel, g_obj, "feasible"
        else:
            sel = mip_sel
            # run_highs's "error" (an answer but no bound) is a heuristic answer
            status = "optimal" if st == "optimal" else ("time_limit" if st == "time_limit" else "feasible")
    if not np.isfinite(obj):
        raise InputError("min_per_group: the group minimums and caps cannot be met with p sites "
                         "(or no feasible selection was found within time_limit)")
    cert = certify(float(obj), bound, "max", status)
    unreachable = np.flatnonzero(np.diff(A.indptr) == 0)
    return Solution(
        selected=np.sort(sel).astype(np.int64), objective=float(obj), bound=float(cert.bound), gap=cert.gap,
        solver=label, seconds=time.perf_counter() - t0, status=cert.status, sense="max",
        covered_weight=float(obj - bonus[sel].sum()), fixed=fx,
        unreachable=unreachable, unreachable_weight=float(w[unreachable].sum()),
        n_demand_reduced=n, n_sites_reduced=m, extra={"capacity": cap},
    )
