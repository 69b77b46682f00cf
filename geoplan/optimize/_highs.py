"""HiGHS plumbing shared by every model: a silent ``Highs`` object, the one
CSR -> ``HighsLp`` builder and :func:`run_highs` (solve, read back the
answer, a *valid* bound and the status).
"""
from __future__ import annotations

import os
import sys
import threading
import time
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

if TYPE_CHECKING:  # pragma: no cover
    import highspy

_BANNER_LOCK = threading.Lock()
_banner_done = False


def new_highs() -> highspy.Highs:
    """A silent ``highspy.Highs``.

    The HiGHS C++ constructor prints its copyright banner straight to file
    descriptor 1 the first time it runs in a process, before any option can
    be set.  So the first construction runs with fd 1 pointed at /dev/null
    (C and Python buffers flushed around it); later ones only need
    ``output_flag`` off.
    """
    import highspy

    global _banner_done
    with _BANNER_LOCK:
        if not _banner_done:
            _banner_done = True
            h = _quietly(highspy.Highs)
        else:
            h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("log_to_console", False)
    return h


def _quietly(fn):  # type: ignore[no-untyped-def]
    try:
        fd = sys.__stdout__.fileno() if sys.__stdout__ is not None else 1
        saved = os.dup(fd)
    except (OSError, ValueError, AttributeError):  # no real stdout (e.g. embedded): nothing to hide
        return fn()
    try:
        sys.stdout.flush()
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, fd)
            try:
                return fn()
            finally:
                _flush_c_stdout()
                os.dup2(saved, fd)
        finally:
            os.close(devnull)
    finally:
        os.close(saved)


def _flush_c_stdout() -> None:
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError):  # pragma: no cover - non-POSIX libc
        pass


def highs_lp(c: np.ndarray, lo: np.ndarray, hi: np.ndarray, A: sp.spmatrix, rlo: np.ndarray,
             rhi: np.ndarray, maximize: bool, integer: np.ndarray | None = None) -> highspy.HighsLp:
    """The one CSR -> ``highspy.HighsLp`` builder: ``max/min c·x`` s.t.
    ``rlo <= A x <= rhi``, ``lo <= x <= hi``, ``x_j`` integer where ``integer``.
    """
    import highspy

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
    if integer is not None and integer.any():
        lp.integrality_ = [highspy.HighsVarType.kInteger if b else highspy.HighsVarType.kContinuous
                           for b in integer]
    return lp


def run_highs(
    c: np.ndarray, lo: np.ndarray, hi: np.ndarray, A: sp.csr_matrix, rlo: np.ndarray, rhi: np.ndarray,
    integer: np.ndarray, maximize: bool, time_limit: float, seed: int = 0,
    start: np.ndarray | None = None, *, options: dict | None = None, duals: dict | None = None,
) -> tuple[np.ndarray | None, float, float, str]:
    """Solve a (MI)LP with HiGHS. Returns ``(x, objective, bound, status)``.

    ``options`` are extra HiGHS options.  For an LP, a ``duals`` dict is
    filled with ``rc`` (column reduced costs as objective change per unit
    move *into* the box, so ``<= 0`` at an optimum), ``at_lower`` and
    ``at_upper`` (nonbasic columns at their bounds).

    A MIP answer is only returned with the objective its own values give
    (``c @ x``).  HiGHS 1.16 can finish a warm-started MIP "optimal" with the
    *start's* column values and the objective of a better solution it found
    in the presolved space (seen on radius p-median models: start 117,989,
    reported 119,427, the vector the start's); then the model is solved
    again without presolve, which keeps one space, in the time left.  If that
    does not give a consistent answer either, the vector is returned with its
    own objective and status ``"time_limit"`` (the bound stays valid).
    """
    t0 = time.perf_counter()
    out = _solve_once(c, lo, hi, A, rlo, rhi, integer, maximize, time_limit, seed, start, options, duals)
    x, obj, bound, status = out
    if x is None or not integer.any() or _consistent(c, x, obj):
        return out
    left = time_limit - (time.perf_counter() - t0)
    if (options or {}).get("presolve") != "off" and left > 0.01:
        again = _solve_once(c, lo, hi, A, rlo, rhi, integer, maximize, left, seed, start,
                            {**(options or {}), "presolve": "off"}, None)
        x2, obj2, bound2, status2 = again
        if x2 is not None and _consistent(c, x2, obj2):
            # both bounds are valid for the same model: keep the tighter
            tight = min(bound, bound2) if maximize else max(bound, bound2)
            return x2, obj2, tight, status2
    return x, float(c @ x), bound, "time_limit" if status == "optimal" else status


def _consistent(c: np.ndarray, x: np.ndarray, obj: float) -> bool:
    """Whether HiGHS's objective is the one its column values give."""
    return bool(abs(float(c @ x) - obj) <= 1e-9 * max(1.0, abs(obj)) + 1e-6)


def _solve_once(
    c: np.ndarray, lo: np.ndarray, hi: np.ndarray, A: sp.csr_matrix, rlo: np.ndarray, rhi: np.ndarray,
    integer: np.ndarray, maximize: bool, time_limit: float, seed: int, start: np.ndarray | None,
    options: dict | None, duals: dict | None,
) -> tuple[np.ndarray | None, float, float, str]:
    import highspy

    h = new_highs()
    h.setOptionValue("random_seed", int(seed))
    h.setOptionValue("threads", 1)
    h.setOptionValue("time_limit", float(max(time_limit, 0.01)))
    h.setOptionValue("mip_rel_gap", 1e-7)
    h.setOptionValue("mip_abs_gap", 1e-7)
    for key, val in (options or {}).items():
        h.setOptionValue(key, val)
    nc = len(c)
    h.passModel(highs_lp(c, lo, hi, A, rlo, rhi, maximize, integer))
    if start is not None and integer.any():
        h.setSolution(nc, np.arange(nc, dtype=np.int32), np.asarray(start, float))
    h.run()
    st = h.getModelStatus()
    info = h.getInfo()
    MS = highspy.HighsModelStatus
    # only two outcomes carry a usable bound: proven optimal, or stopped by a
    # limit (MIP dual bound still valid); anything else (solve error,
    # unbounded, unknown...) is reported as "error" with no bound
    if st == MS.kOptimal:
        status = "optimal"
    elif st in (MS.kTimeLimit, MS.kIterationLimit, MS.kSolutionLimit, MS.kInterrupt):
        status = "time_limit"
    elif st == MS.kInfeasible:
        return None, np.nan, np.nan, "infeasible"
    else:
        status = "error"
    no_bound = np.inf if maximize else -np.inf
    sol = h.getSolution()
    x = np.asarray(sol.col_value, float) if sol.value_valid else None
    obj = float(info.objective_function_value) if x is not None else np.nan
    if status == "error":
        bound = no_bound
    elif integer.any():
        bound = float(info.mip_dual_bound)
        if not np.isfinite(bound) or np.isnan(bound):
            bound = no_bound
    else:
        # an LP value bounds the MIP only when the LP is solved to optimality
        bound = obj if status == "optimal" else no_bound
        if duals is not None and x is not None and sol.dual_valid and st == MS.kOptimal:
            cs = np.array([int(v) for v in h.getBasis().col_status])
            d = np.asarray(sol.col_dual, float)
            at_lower = cs == int(highspy.HighsBasisStatus.kLower)
            at_upper = cs == int(highspy.HighsBasisStatus.kUpper)
            # moving a column off its bound can only worsen an optimal LP
            duals.update(rc=-np.abs(d), at_lower=at_lower, at_upper=at_upper)
    return x, obj, bound, status
