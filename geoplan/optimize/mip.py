"""Sparse MIP models solved with HiGHS (highspy), built directly as CSR."""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from geoplan.optimize.greedy import Model, row_top2

__all__ = ["solve_highs", "run_highs"]


def run_highs(
    c: np.ndarray, lo: np.ndarray, hi: np.ndarray, A: sp.csr_matrix, rlo: np.ndarray, rhi: np.ndarray,
    integer: np.ndarray, maximize: bool, time_limit: float, seed: int = 0,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray | None, float, float, str]:
    """Solve a (MI)LP with HiGHS. Returns ``(x, objective, bound, status)``."""
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", int(seed))
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", float(max(time_limit, 0.01)))
    h.setOptionValue("mip_rel_gap", 1e-7)
    h.setOptionValue("mip_abs_gap", 1e-7)
    lp = highspy.HighsLp()
    nc, nr = len(c), A.shape[0]
    lp.num_col_ = nc
    lp.num_row_ = nr
    lp.col_cost_ = np.asarray(c, float)
    lp.col_lower_ = np.asarray(lo, float)
    lp.col_upper_ = np.asarray(hi, float)
    lp.row_lower_ = np.asarray(rlo, float)
    lp.row_upper_ = np.asarray(rhi, float)
    lp.sense_ = highspy.ObjSense.kMaximize if maximize else highspy.ObjSense.kMinimize
    A = sp.csr_matrix(A)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data.astype(float)
    lp.a_matrix_.num_col_ = nc
    lp.a_matrix_.num_row_ = nr
    if integer.any():
        lp.integrality_ = [highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous
                           for b in integer]
    h.passModel(lp)
    if start is not None and integer.any():
        h.setSolution(nc, np.arange(nc, dtype=np.int32), np.asarray(start, float))
    h.run()
    st = h.getModelStatus()
    info = h.getInfo()
    MS = highspy.HighsModelStatus
    if st == MS.kOptimal:
        status = "optimal"
    elif st == MS.kTimeLimit:
        status = "time_limit"
    elif st == MS.kInfeasible:
        return None, np.nan, np.nan, "infeasible"
    else:
        status = str(st).split(".")[-1]
    sol = h.getSolution()
    x = np.asarray(sol.col_value, float) if sol.value_valid else None
    obj = float(info.objective_function_value) if x is not None else np.nan
    if integer.any():
        bound = float(info.mip_dual_bound)
    else:
        bound = obj
    return x, obj, bound, status


def solve_highs(
    model: Model, fix0: np.ndarray, fix1: np.ndarray, warm: np.ndarray | None,
    time_limit: float, seed: int = 0,
) -> tuple[np.ndarray | None, float, float, str]:
    """Exact MIP of a reduced :class:`Model` with sites ``fix0`` closed and
    ``fix1`` open.  Returns ``(selected, objective, bound, status)``."""
    B, m, n = model.B, model.m, model.n
    ylo = fix1.astype(float)
    yhi = (~fix0).astype(float)
    if model.coverage:
        # z-form: z_i <= Σ_j a_ij y_j
        Apat = sp.csr_matrix((np.ones(B.nnz), B.indices, B.indptr), shape=B.shape)
        cover_rows = sp.hstack([-Apat, sp.identity(n, format="csr")], format="csr")
        c = np.concatenate([model.bonus, model.w])
        nx_ = n
        rlo_c = np.full(n, -np.inf)
        rhi_c = np.zeros(n)
    else:
        # x-form: Σ_j x_ij <= 1, x_ij <= y_j on the stored pairs
        nnz = B.nnz
        rows = model.rows
        R = sp.csr_matrix((np.ones(nnz), (rows, np.arange(nnz))), shape=(n, nnz))
        X = sp.csr_matrix((np.ones(nnz), (np.arange(nnz), np.arange(nnz))), shape=(nnz, nnz))
        Y = sp.csr_matrix((-np.ones(nnz), (np.arange(nnz), B.indices)), shape=(nnz, m))
        cover_rows = sp.vstack([sp.hstack([sp.csr_matrix((n, m)), R]), sp.hstack([Y, X])], format="csr")
        c = np.concatenate([model.bonus, B.data])
        nx_ = nnz
        rlo_c = np.full(n + nnz, -np.inf)
        rhi_c = np.concatenate([np.ones(n), np.zeros(nnz)])
    blocks = [cover_rows, sp.hstack([sp.csr_matrix(np.ones((1, m))), sp.csr_matrix((1, nx_))], format="csr")]
    rlo = [rlo_c, [-np.inf]]
    rhi = [rhi_c, [float(model.p)]]
    if model.grp is not None:
        G = len(model.gmin)
        Gm = sp.csr_matrix((np.ones(m), (model.grp, np.arange(m))), shape=(G, m))
        need = (model.gmin > 0) | np.isfinite(model.gcap)
        if need.any():
            blocks.append(sp.hstack([Gm[need], sp.csr_matrix((int(need.sum()), nx_))], format="csr"))
            rlo.append(model.gmin[need])
            rhi.append(np.where(np.isfinite(model.gcap[need]), model.gcap[need], np.inf))
    A = sp.vstack(blocks, format="csr")
    lo = np.concatenate([ylo, np.zeros(nx_)])
    hi = np.concatenate([yhi, np.ones(nx_)])
    integer = np.concatenate([np.ones(m, bool), np.zeros(nx_, bool)])
    start = None
    if warm is not None and len(warm):
        y = np.zeros(m)
        y[warm] = 1.0
        if model.coverage:
            xs = np.minimum(np.asarray(B.astype(bool).astype(float) @ y).ravel(), 1.0)
        else:
            _, site1, _ = row_top2(model, np.asarray(warm, np.int64))
            xs = ((site1[model.rows] == B.indices) & (site1[model.rows] >= 0)).astype(float)
        start = np.concatenate([y, xs])
    x, obj, bound, status = run_highs(c, lo, hi, A, np.concatenate(rlo), np.concatenate(rhi),
                                      integer, True, time_limit, seed, start)
    if x is None:
        return None, np.nan, np.nan, status
    sel = np.flatnonzero(x[:m] > 0.5).astype(np.int64)
    return sel, obj, bound, status
