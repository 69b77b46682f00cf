"""Sparse MIP models solved with HiGHS (highspy), built directly as CSR.

Two formulations of the benefit model ``max Σ_i max_{j open} B_ij``:

* coverage (``B_ij = w_i a_ij``): the classic z-form ``z_i <= Σ_j a_ij y_j``;
* general benefits (p-median, attendance): the *radius* formulation of
  Elloumi (2010) / García, Labbé & Marín (2011).  Per demand row the distinct
  values ``V^1 > V^2 > ...`` are levels; ``u^k`` = "row gets at least
  ``V^k``" with ``u^k <= u^{k-1} + Σ_{j: B_ij = V^k} y_j`` (the telescoped,
  equally tight form of ``u^k <= Σ_{j: B_ij >= V^k} y_j``), objective
  ``Σ_k (V^k - V^{k+1}) u^k``.  Levels below a per-row threshold are left
  out and replaced by a constant (their constraints dropped, so the model is
  a relaxation and its bound stays valid); if the MIP answer serves some row
  below its threshold, those rows get more levels and the MIP is solved
  again.  Starting from the incumbent's value per row this keeps the model a
  small fraction of the ``n × m`` assignment form.
"""
from __future__ import annotations

import time

import numpy as np
import scipy.sparse as sp

from geoplan.optimize._highs import highs_lp, new_highs, run_highs
from geoplan.optimize.greedy import Model, evaluate, row_top2

__all__ = ["solve_highs", "coverage_lp"]

LP_SOLVER = "ipm"  # HiGHS solver for coverage_lp: "ipm" (no crossover) or "simplex"


def solve_highs(
    model: Model, fix0: np.ndarray, fix1: np.ndarray, warm: np.ndarray | None,
    time_limit: float, seed: int = 0, *, options: dict | None = None,
) -> tuple[np.ndarray | None, float, float, str]:
    """Exact MIP of a reduced :class:`Model` with sites ``fix0`` closed and
    ``fix1`` open.  Returns ``(selected, objective, bound, status)``.

    Coverage models use the z-form ``z_i <= Σ_j a_ij y_j`` (HiGHS
    ``options``: ``_COVER_MIP_OPTIONS`` unless given; the benchmarks' plain
    HiGHS passes ``{}``); the others the radius formulation
    (:func:`_solve_radius`).
    """
    if not model.coverage:
        return _solve_radius(model, fix0, fix1, warm, time_limit, seed)
    B, m, n = model.B, model.m, model.n
    Apat = sp.csr_matrix((np.ones(B.nnz), B.indices, B.indptr), shape=B.shape)
    cover_rows = sp.hstack([-Apat, sp.identity(n, format="csr")], format="csr")
    blocks, rlo, rhi = _group_rows(model, n)
    A = sp.vstack([cover_rows] + blocks, format="csr")
    c = np.concatenate([model.bonus, model.w])
    lo = np.concatenate([fix1.astype(float), np.zeros(n)])
    hi = np.concatenate([(~fix0).astype(float), np.ones(n)])
    integer = np.concatenate([np.ones(m, bool), np.zeros(n, bool)])
    start = None
    if warm is not None and len(warm):
        y = np.zeros(m)
        y[warm] = 1.0
        start = np.concatenate([y, np.minimum(np.asarray(B.astype(bool).astype(float) @ y).ravel(), 1.0)])
    x, obj, bound, status = run_highs(c, lo, hi, A, np.concatenate([np.full(n, -np.inf)] + rlo),
                                      np.concatenate([np.zeros(n)] + rhi), integer, True, time_limit, seed, start,
                                      options=_COVER_MIP_OPTIONS if options is None else options)
    if x is None:
        return None, np.nan, np.nan, status
    sel = np.flatnonzero(x[:m] > 0.5).astype(np.int64)
    return sel, obj, bound, status


# The z-form models reaching HiGHS are already reduced (identical rows
# merged, dominated and reduced-cost-fixed sites gone), and HiGHS presolve
# mostly redoes that work -- and again at each of its restarts: on the
# bundled Yancheng geography 0.12 s of a 0.44 s MIP over ~1,000 x 600 was
# presolve.  Measured end to end on the tuning seeds of bench_families.py
# (benchmarks/README.md): Yancheng 25 % venues 0.85 / 0.48 s -> 0.34 / 0.27 s,
# 20,000 x 40,000 clustered 7.4 / 5.0 s -> 3.2 / 2.3 s (uniform), 4.3 s ->
# 2.3 s (lognormal), 22 / 12 s -> 13 / 10 s (Pareto); spread lognormal at
# 30 s: certified gap 0.023 % -> 0.0017 % on one seed, equal on the other.
_COVER_MIP_OPTIONS = {"presolve": "off"}


def _group_rows(model: Model, ncols_extra: int) -> tuple[list[sp.csr_matrix], list[np.ndarray], list[np.ndarray]]:
    """The budget row (``Σ y_j <= p``) and the group minimum / cap rows, padded
    with ``ncols_extra`` zero columns, with their lower and upper bounds.
    """
    m = model.m
    blocks = [sp.hstack([sp.csr_matrix(np.ones((1, m))), sp.csr_matrix((1, ncols_extra))], format="csr")]
    rlo: list[np.ndarray] = [np.array([-np.inf])]
    rhi: list[np.ndarray] = [np.array([float(model.p)])]
    if model.grp is not None:
        assert model.gmin is not None and model.gcap is not None, "Model invariant: gmin, gcap accompany grp"
        G = len(model.gmin)
        Gm = sp.csr_matrix((np.ones(m), (model.grp, np.arange(m))), shape=(G, m))
        need = (model.gmin > 0) | np.isfinite(model.gcap)
        if need.any():
            blocks.append(sp.hstack([Gm[need], sp.csr_matrix((int(need.sum()), ncols_extra))], format="csr"))
            rlo.append(model.gmin[need].astype(float))
            rhi.append(np.where(np.isfinite(model.gcap[need]), model.gcap[need], np.inf))
    return blocks, rlo, rhi


# HiGHS restarts its MIP when root reduced-cost fixing deactivates >= 10 % of
# the columns; on the radius model each restart re-runs the root LP and cut
# rounds (half the solve on the 1000-node p = 20 benchmark, 38 s -> 18 s
# without), while fixing has already been done against our own LP.
_RADIUS_MIP_OPTIONS = {"mip_allow_restart": False}


def _row_values(model: Model, sel: np.ndarray) -> np.ndarray:
    best1, _, _ = row_top2(model, np.asarray(sel, np.int64))
    return best1


def _solve_radius(
    model: Model, fix0: np.ndarray, fix1: np.ndarray, warm: np.ndarray | None,
    time_limit: float, seed: int,
) -> tuple[np.ndarray | None, float, float, str]:
    """Radius formulation with lazily added levels (see module docs).

    Phase 1 grows the level sets until the *LP* relaxation serves every row
    within its kept levels (then the truncated LP equals the full one);
    phase 2 solves the MIP and grows the sets of rows the integer answer
    serves below their threshold, until none is.
    """
    # Long on purpose (~130 lines): one loop whose iterations share a dozen
    # arrays (levels kept per row, the fixing bounds, the incumbent, the
    # phase); split into helpers it would pass all of them back and forth.
    deadline = time.perf_counter() + time_limit
    B, m, n = model.B, model.m, model.n
    rows, vals = model.rows, B.data
    free = ~fix0
    f1 = np.flatnonzero(fix1)
    floor = _row_values(model, f1) if len(f1) else np.zeros(n)
    usable = free[B.indices] & (vals > floor[rows])
    ue = np.flatnonzero(usable)
    ue = ue[np.lexsort((-vals[ue], rows[ue]))]
    urow, uval, ucol = rows[ue], vals[ue], B.indices[ue]
    ucnt = np.bincount(urow, minlength=n)
    ustart = np.cumsum(ucnt) - ucnt
    inc = np.asarray(warm, np.int64) if warm is not None and len(warm) else None
    # start with the levels down to the incumbent's second-best open site
    if inc is not None:
        _, _, b2 = row_top2(model, inc)
        k = np.bincount(urow[uval >= b2[urow]], minlength=n)
    else:
        k = ucnt.copy()
    best_sel, best_val = (inc, evaluate(model, inc)) if inc is not None else (None, -np.inf)
    bound = np.inf
    status = "time_limit"
    ylo = fix1.astype(float)
    yhi = free.astype(float)
    integer_phase = False
    req = np.full(n, -np.inf)  # rows proven to need at least this value (reduced-cost fixing)
    while True:
        k = np.minimum(k, ucnt)
        # entries kept per row: the first k (in value order) plus ties of the k-th
        pos = np.arange(len(ue)) - ustart[urow]
        kth = np.full(n, np.inf)
        has = k > 0
        kth[has] = uval[ustart[has] + k[has] - 1]
        keep = (pos < k[urow]) | (uval >= kth[urow])
        tail = floor.copy()
        if (~keep).any():
            np.maximum.at(tail, urow[~keep], uval[~keep])
        r, c, v = urow[keep], ucol[keep], uval[keep]
        new = np.ones(len(r), bool)
        new[1:] = (r[1:] != r[:-1]) | (v[1:] != v[:-1])
        lvl = np.cumsum(new) - 1
        L = int(new.sum())
        lrow, lval = r[new], v[new]
        first = np.ones(L, bool)
        first[1:] = lrow[1:] != lrow[:-1]
        last = np.ones(L, bool)
        last[:-1] = first[1:]
        nxt = np.empty(L)
        if L:
            nxt[:-1] = np.where(first[1:], tail[lrow[:-1]], lval[1:])
            nxt[-1] = tail[lrow[-1]]
        coef = lval - nxt
        # rows: u_l - u_{l-1} - Σ_{j at level l} y_j <= 0
        prev = np.flatnonzero(~first)
        R = np.concatenate([np.arange(L), prev, lvl])
        C = np.concatenate([m + np.arange(L), m + prev - 1, c])
        D = np.concatenate([np.ones(L), -np.ones(len(prev)), -np.ones(len(c))])
        Alev = sp.csr_matrix((D, (R, C)), shape=(L, m + L))
        blocks, rlo, rhi = _group_rows(model, L)
        A = sp.vstack([Alev] + blocks, format="csr")
        cvec = np.concatenate([model.bonus, coef])
        const = float(tail.sum())
        start = None
        if integer_phase and best_sel is not None:
            y = np.zeros(m)
            y[best_sel] = 1.0
            got = _row_values(model, best_sel)
            start = np.concatenate([y, (lval <= got[lrow] + 1e-12 * np.abs(lval)).astype(float)])
        remaining = deadline - time.perf_counter()
        if remaining <= 0.02:
            break
        integer = np.concatenate([np.full(m, integer_phase), np.zeros(L, bool)])
        dd: dict = {}
        x, obj, bd, st = run_highs(cvec, np.concatenate([ylo, (lval <= req[lrow]).astype(float)]),
                                   np.concatenate([yhi, np.ones(L)]),
                                   A, np.concatenate([np.full(L, -np.inf)] + rlo),
                                   np.concatenate([np.zeros(L)] + rhi), integer, True,
                                   remaining, seed, start, duals=None if integer_phase else dd,
                                   options=_RADIUS_MIP_OPTIONS if integer_phase else None)
        if st == "infeasible":
            if best_sel is not None:
                return best_sel, best_val, best_val, "optimal"
            return None, np.nan, np.nan, "infeasible"
        if not integer_phase:
            if x is None or st != "optimal":
                break
            bound = min(bound, obj + const)  # an LP optimum of a relaxation: valid
            u = x[m:]
            short_l = last & (u < 1 - 1e-7) & (tail[lrow] > floor[lrow])
            short = np.zeros(n, bool)
            short[lrow[short_l]] = True
            short &= k < ucnt
            if short.any():
                k = np.where(short, 2 * k + 1, k)
                continue
            integer_phase = True
            if best_sel is not None and bound - best_val <= model.tol(best_val):
                status = "optimal"
                break
            if best_sel is not None and dd:
                # LP reduced-cost fixing against the incumbent (the truncated LP
                # is a relaxation, so every statement holds for the full model)
                # base the fixing on *this* LP's value: its reduced costs are
                # relative to it (``bound`` may come from an earlier LP)
                ylo, yhi, req = _rc_fix(dd, obj + const, best_val - model.tol(best_val), m, lrow, lval,
                                        urow, ucol, uval, ylo, yhi, req)
            continue
        if np.isfinite(bd):
            bound = min(bound, bd + const)
        if x is None:
            break
        sel = np.flatnonzero(x[:m] > 0.5).astype(np.int64)
        got = _row_values(model, sel)
        val = float(got.sum() + model.bonus[sel].sum())
        if val > best_val:
            best_sel, best_val = sel, val
        if st != "optimal":
            status = st
            break
        short = got < tail - 1e-12 * np.maximum(np.abs(tail), 1.0)
        if not short.any():  # the relaxation's optimum is exact: proven
            status = "optimal"
            break
        need = np.bincount(urow[uval >= got[urow]], minlength=n)
        k = np.where(short, np.maximum(2 * k + 1, need), k)
    if best_sel is None:
        return None, np.nan, np.nan, status
    return best_sel, best_val, max(bound, best_val), status


def _rc_fix(dd: dict, lp: float, lb: float, m: int, lrow: np.ndarray, lval: np.ndarray,
            urow: np.ndarray, ucol: np.ndarray, uval: np.ndarray, ylo: np.ndarray, yhi: np.ndarray,
            req: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Reduced-cost fixing in the radius LP for solutions better than ``lb``.

    A column whose move off its LP bound costs more than ``lp - lb`` keeps
    that bound in every better solution.  Sites: ``y_j`` fixed.  Level
    ``u_l`` stuck at 0: its row cannot reach ``V^l``, so every site at that
    value or better for the row is closed.  ``u_l`` stuck at 1: the row gets
    at least ``V^l`` (recorded in ``req``; levels at or below it get lower
    bound 1).
    """
    rc, lo_, up_ = dd["rc"], dd["at_lower"], dd["at_upper"]
    stuck = lp + rc < lb
    ylo, yhi, req = ylo.copy(), yhi.copy(), req.copy()
    yhi[stuck[:m] & lo_[:m]] = 0.0
    ylo[stuck[:m] & up_[:m] & (yhi > 0)] = 1.0
    sl, su = stuck[m:] & lo_[m:], stuck[m:] & up_[m:]
    n = len(req)
    cap = np.full(n, np.inf)
    np.minimum.at(cap, lrow[sl], lval[sl])
    yhi[ucol[uval >= cap[urow]]] = 0.0
    np.maximum.at(req, lrow[su], lval[su])
    return ylo, yhi, req


def coverage_lp(model: Model, time_limit: float) -> tuple[np.ndarray, np.ndarray] | None:
    """LP relaxation of the z-form coverage model without group rules.

    Returns ``(u, y)``: multipliers for :func:`~geoplan.optimize.lagrange.
    bound_from_multipliers` (``u_i = w_i - dual_i``, so ``L(u)`` equals the LP
    bound up to the solver's tolerance) and the LP site values ``y``; None if
    the LP did not finish.  The LP reaches (near-)exact duals faster than
    subgradient iterations, and the resulting bound is the best any
    multipliers can give.
    """
    import highspy

    B, n, m = model.B, model.n, model.m
    h = new_highs()
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("time_limit", float(max(time_limit, 0.01)))
    # interior point without crossover: the multipliers only have to be
    # good, not a vertex's exact duals, because the bound is recomputed as
    # L(u) (valid for every u >= 0) by bound_from_multipliers.  Measured on
    # the benchmark families (benchmarks/README.md): 5-8x faster than dual
    # simplex at the same rounded bound.
    h.setOptionValue("solver", LP_SOLVER)
    if LP_SOLVER == "ipm":
        h.setOptionValue("run_crossover", "off")
    assert model.w is not None, "coverage models carry their row weights w"
    Apat = sp.csr_matrix((np.ones(B.nnz), B.indices, B.indptr), shape=B.shape)
    K = sp.vstack([sp.hstack([-Apat, sp.identity(n, format="csr")]),
                   sp.hstack([sp.csr_matrix(np.ones((1, m))), sp.csr_matrix((1, n))])], format="csr")
    h.passModel(highs_lp(np.concatenate([model.bonus, model.w]), np.zeros(m + n), np.ones(m + n), K,
                         np.full(n + 1, -np.inf), np.concatenate([np.zeros(n), [float(model.p)]]), True))
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    sol = h.getSolution()
    if not sol.dual_valid:
        return None
    dual = np.abs(np.asarray(sol.row_dual, float)[:n])  # sign convention aside, these are >= 0
    return np.maximum(model.w - dual, 0.0), np.asarray(sol.col_value, float)[:m]
