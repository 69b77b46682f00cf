"""The benefit-model front end shared by attendance and p-median: fixed
sites become per-row floors, useless columns go, the engine solves the
reduced model, and the answer is valued and certified on the full matrix.
"""
from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from geoplan.exceptions import InputError
from geoplan.optimize._engine import solve_model
from geoplan.optimize._helpers import Candidates, certify, fill_to_p, floored
from geoplan.optimize.greedy import Model, row_top2
from geoplan.optimize.solution import Sense, Solution, SolverName


def solve_benefit(Bfull: sp.csr_matrix, w: np.ndarray, p: int, fx: np.ndarray, bonus: np.ndarray,
                  cands: Candidates, solver: SolverName, time_limit: float, seed: int, t0: float,
                  offset: float | None, cost_of: Callable[[np.ndarray], float] | None = None) -> Solution:
    """Solve ``max Σ_i max_{j open} B_ij + bonus`` with fixed sites as floors.

    With ``offset`` the model is a minimisation of ``offset - value``
    (p-median); ``cost_of(assignment)`` then prices the answer straight
    from the costs.
    """
    n, m = Bfull.shape
    grp, rmin, gcap = cands.groups
    cand = cands.cand
    floor, Bc = floored(Bfull, fx, cand)
    b1 = bonus[cand]
    g1 = grp[cand] if grp is not None else None
    # drop columns that can never matter: empty, zero bonus, no group minimum
    useless = (np.bincount(Bc.indices, minlength=len(cand)) == 0) & (b1 == 0)
    if g1 is not None:
        assert rmin is not None, "Groups: grp, rmin and gcap are all set or all None"
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
    res = solve_model(model, solver, time_limit, seed, t0)
    if res.status == "infeasible":
        raise InputError("min_per_group: the group minimums and caps cannot be met with p sites")
    sel = np.sort(cand[cols[res.selected]]).astype(np.int64)
    if len(sel) < p:  # fill with unused candidates (zero gain), lowest index first, caps respected
        sel = fill_to_p(sel, cand, p, grp, gcap)
    opened = np.union1d(fx, sel).astype(np.int64)
    best, site, _ = row_top2(Model(B=Bfull, bonus=np.zeros(m), p=len(opened)), opened)
    value = float(best.sum() + bonus[sel].sum())
    ubv = max(float(res.bound) + base, value)
    sense: Sense = "max"
    if offset is None:
        objective, bnd = value, ubv
    else:
        # the cost of the answer straight from the costs (offset - value
        # would lose digits to cancellation when the offset is large)
        objective = cost_of(site) if cost_of is not None else offset - value
        bnd, sense = offset - ubv, "min"
    cert = certify(objective, bnd, sense, res.status)
    unreachable = np.flatnonzero(np.diff(Bfull.indptr) == 0)
    return Solution(
        selected=sel, objective=objective, bound=cert.bound, gap=cert.gap, solver=res.route,
        seconds=time.perf_counter() - t0, status=cert.status, sense=sense,
        assignment=site, unreachable=unreachable, unreachable_weight=float(w[unreachable].sum()),
        fixed=fx, n_demand_reduced=model.n, n_sites_reduced=model.m,
        incumbent_by=res.incumbent_by, bound_by=res.bound_by,
    )
