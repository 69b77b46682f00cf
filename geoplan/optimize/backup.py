"""Backup coverage: people reached by two or more open stations, so a closed or busy
station has a fallback — as a secondary objective under a coverage floor.

:func:`max_backup_coverage` first solves plain maximal coverage
(:func:`geoplan.optimize.max_coverage`), then maximises the weight reached at least twice
subject to the newly covered weight staying within ``coverage_tolerance`` of that answer
(``0`` = lexicographic: the most backup among the plans with the most coverage found).
The second stage is an exact HiGHS MIP with a binary "reached twice" variable per row
(``2 b_i <= fixed_i + Σ_j a_ij y_j``); its answer is re-evaluated from the chosen sites.

>>> import numpy as np
>>> from geoplan.optimize.backup import max_backup_coverage
>>> A = np.array([[1, 1, 0], [0, 1, 1], [1, 0, 1]])
>>> sol = max_backup_coverage(A, 2, weights=[5, 4, 1], coverage_tolerance=0.0)
>>> sol.selected.tolist(), sol.objective, sol.extra["covered_new"]
([0, 1], 5.0, 10.0)
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from geoplan.exceptions import InputError
from geoplan.optimize import _cover_mip as C
from geoplan.optimize import _validate as V
from geoplan.optimize.solution import Solution

__all__ = ["max_backup_coverage", "reached_twice"]


def reached_twice(coverage: Any, sites: Any) -> np.ndarray:
    """Per demand point: reached by at least two of ``sites`` (indices or mask)."""
    A = V.matrix(coverage, "coverage", binary=True)
    idx = V.fixed_sites(sites, A.shape[1], "sites")
    return (np.asarray(A[:, idx].sum(axis=1)).ravel() >= 2) if len(idx) else np.zeros(A.shape[0], bool)


def max_backup_coverage(coverage: Any, p: int, *, weights: Any = None, fixed: Any = None, site_bonus: Any = None,
                        coverage_tolerance: float = 0.0, time_limit: float = 60, seed: int = 0,
                        groups: Any = None, min_per_group: Any = 0) -> Solution:
    """The most people reached twice, keeping coverage within ``coverage_tolerance`` of maximal.

    Parameters
    ----------
    coverage, weights, p, fixed, site_bonus, seed, groups, min_per_group
        As in :func:`geoplan.optimize.max_coverage` (the bonus counts in the coverage floor).
    coverage_tolerance
        Share in [0, 1) of the maximal-coverage objective that may be given up for backup.
    time_limit
        Seconds in all (a third for the coverage stage).

    Returns
    -------
    Solution
        ``objective`` = weight reached by >= 2 open sites (fixed included), ``bound`` its
        proven upper bound under the floor; ``extra``: ``covered_new`` (newly covered weight +
        bonus of this plan), ``coverage_floor``, ``coverage_plain`` (stage 1's objective) and
        ``backup_plain`` (the backup weight of stage 1's plan).
    """
    from geoplan.optimize import max_coverage

    t0 = time.perf_counter()
    inst = C.instance(coverage, p, weights=weights, fixed=fixed, site_bonus=site_bonus, time_limit=time_limit,
                      seed=seed, groups=groups, min_per_group=min_per_group)
    tol = V.number(coverage_tolerance, "coverage_tolerance")
    if not 0 <= tol < 1:
        raise InputError(f"coverage_tolerance: must be in [0, 1), got {coverage_tolerance!r}")
    plain = max_coverage(inst.A, inst.p, **inst.coverage_args(),
                         time_limit=max(inst.time_limit / 3, 0.1), seed=inst.seed)
    floor = (1 - tol) * plain.objective
    fixcnt = np.asarray(inst.A[:, inst.fixed].sum(axis=1)).ravel() if len(inst.fixed) else np.zeros(inst.n)
    Acand = sp.csr_matrix(inst.A[:, inst.cand])
    deg = np.diff(Acand.indptr)
    const = fixcnt >= 2  # already reached twice
    brow = np.flatnonzero(~const & (fixcnt + deg >= 2) & (inst.w > 0))
    nb = len(brow)
    form = C.ZForm(inst, extra=nb)
    form.hi[form.mc + form.nr:] = 1.0
    form.integer[form.mc + form.nr:] = True
    form.c = np.zeros(form.ncols)
    form.c[form.mc + form.nr:] = inst.w[brow]
    # 2 b_i - Σ_j a_ij y_j <= fixed_i
    link = sp.hstack([-Acand[brow], sp.csr_matrix((nb, form.nr)), 2 * sp.identity(nb, format="csr")], format="csr")
    form.add_rows(link, np.full(nb, -np.inf), fixcnt[brow])
    form.add_rows(form.coverage_objective()[None, :], [floor * (1 - 1e-9) - 1e-9], [np.inf])
    warm = form.start(plain.selected)
    if warm is not None:
        cnt = fixcnt + np.asarray(Acand @ warm[:form.mc]).ravel()
        warm[form.mc + form.nr:] = (cnt[brow] >= 2).astype(float)
    left = max(inst.time_limit - (time.perf_counter() - t0), 0.1)
    sel, _, _, bound, status = form.solve(True, left, warm)
    if sel is None or inst.objective(sel) < floor * (1 - 1e-7):
        sel, bound = np.asarray(plain.selected, np.int64), (np.inf if sel is None else bound)
    const_w = float(inst.w[const].sum())
    open_sites = np.union1d(inst.fixed, sel).astype(np.int64)
    twice = (np.asarray(inst.A[:, open_sites].sum(axis=1)).ravel() >= 2) if len(open_sites) else np.zeros(inst.n, bool)
    obj = float(inst.w[twice].sum())
    bound = max(const_w + float(bound), obj) if np.isfinite(bound) else float(inst.w[const | np.isin(
        np.arange(inst.n), brow)].sum())
    gap, status = C.gap_status(obj, bound, status)
    cov = inst.covered(sel)
    plain_open = np.union1d(inst.fixed, plain.selected).astype(np.int64)
    backup_plain = float(inst.w[np.asarray(inst.A[:, plain_open].sum(axis=1)).ravel() >= 2].sum()) \
        if len(plain_open) else 0.0
    return Solution(selected=np.sort(sel).astype(np.int64), objective=obj, bound=bound, gap=gap,
                    solver="highs (backup under a coverage floor)", seconds=time.perf_counter() - t0, status=status,
                    sense="max", covered_weight=float(inst.w[cov].sum()), covered=cov, fixed=inst.fixed,
                    n_demand_reduced=nb, n_sites_reduced=len(inst.cand),
                    extra={"covered_new": inst.objective(sel), "coverage_floor": floor,
                           "coverage_plain": float(plain.objective), "backup_plain": backup_plain,
                           "reached_twice": twice})
