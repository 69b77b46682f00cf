"""The solve pipeline shared by the benefit models (max coverage,
attendance, p-median): greedy -> swap -> Lagrangian bound (+ fixing) ->
warm-started HiGHS MIP when it pays.  Coverage models up to ``LP_MAX_NNZ``
stored pairs whose LP can finish in its share of the limit take the LP
route under ``solver="auto"`` instead: LP duals -> fixing -> restricted-MIP
incumbent -> fixing -> MIP on what is left.

Everything here works on a reduced :class:`~geoplan.optimize.greedy.Model`
and returns an :class:`EngineResult` in its (reduced) site indices.
"""
from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

from geoplan.optimize._helpers import OPT_GAP, fill_to_p
from geoplan.optimize.greedy import Model, evaluate, greedy, swap_search
from geoplan.optimize.lagrange import bound_from_multipliers, round_bound, subgradient
from geoplan.optimize.mip import coverage_lp, solve_highs
from geoplan.optimize.reduce import restrict
from geoplan.optimize.solution import SolverName, Status

MIP_MAX_NNZ = 4_000_000  # "small enough" for the exact MIP under solver="auto"
# HiGHS checks its time limit only between phases (presolve, root LP), so a
# large MIP started with little time left overruns it; under solver="auto" the
# MIP is only started with at least this much time left (or on small models).
MIP_MIN_SECONDS = 5.0
# ... plus this many seconds per million stored pairs left free: on the spread
# 20,000 x 40,000 tuning instance a MIP over 260 k free pairs started with 8 s
# left found and proved nothing, while the same seconds spent on the resumed
# subgradient tighten the bound.
MIP_SECONDS_PER_MNNZ = 20.0
MIP_SMALL_NNZ = 50_000
# coverage models up to this size take the LP route under solver="auto": exact
# LP duals (dual simplex) instead of subgradient multipliers, an LP-guided
# restricted MIP for the incumbent, reduced-cost fixing, then the MIP on the
# much smaller model that is left.
LP_MAX_NNZ = 1_000_000
# ... and only when the LP can finish in the time it may take (LP_SHARE of the
# limit).  Interior point's time grows with the rows more than with the
# stored pairs: 0.18-0.29 s at 2,400-2,500 rows (the S and Yancheng models),
# 3.0-7.5 s at 17,600-19,800 rows (20,000 × 40,000: 47 k-407 k pairs) and
# 85 s at 190,565 rows (200,000 × 400,000 clustered, where the attempt cost
# the MIP 24 s of a 60-s limit).  LP_SECONDS · (n / LP_REF_ROWS) **
# LP_EXPONENT covers them on the 2-core benchmark machine (above the small
# ones); the LP is skipped when its share is below half of that.
LP_SECONDS, LP_REF_ROWS, LP_EXPONENT = 5.0, 19_000, 1.2
LP_SHARE = 0.4  # the LP's time cap: this share of the limit (at most 0.7 of what is left)
KERNEL_FACTOR = 2  # restricted MIP: LP support + incumbent + best KERNEL_FACTOR·p sites by reduced value
# ... skipped after the LP when the sites left free hold at most this many
# stored pairs: the final MIP on them, warm-started, is then about as fast
# as the kernel MIP would be, and the kernel's better incumbent would
# mostly buy fixing that MIP no longer needs (Yancheng geography, 25 % of
# the venues, seeds 0-4: median proof 0.28 -> 0.24 s, worst 0.32 -> 0.27 s).
KERNEL_SKIP_NNZ = 50_000
KERNEL_SHARE = 0.1  # its time cap: this share of the limit (at least 1 s), at most 0.3 of what is left
KERNEL_LAST_SHARE = 0.5  # ... or this share of what is left when no LP or MIP can follow it


class EngineResult(NamedTuple):
    """What :func:`solve_model` found, in the reduced model's site indices."""

    selected: np.ndarray
    objective: float
    bound: float
    status: Status
    route: str  # the Solution.solver label ("greedy+swap", "greedy+swap+highs", ...)
    incumbent_by: str = ""  # the phase that found ``selected`` (see Solution.incumbent_by)
    bound_by: str = ""  # the phase whose bound is reported (see Solution.bound_by)


# The greedy route's phases end at these shares of the time limit at the
# latest (each normally ends much earlier, at its own work limit: swap at a
# local optimum, the subgradient at its iteration cap or convergence).
SWAP_SHARE, SUBGRADIENT_SHARE, HEURISTIC_SHARE, RESUME_SHARE = 0.35, 0.7, 0.85, 0.95
# Under solver="auto" the Lagrangian heuristic's swap search (from the
# relaxation's site set) gets at most as many iterations as the first search
# applied (at least HEURISTIC_MIN_ROUNDS), and the exact phases the time it
# leaves: where that search needs hundreds of iterations from a far start
# (200,000 × 400,000 spread, 60 s), the kernel MIP finds a far better
# incumbent in that time (benchmarks/README.md, run 6: auto certified
# 0.025-0.14 %, greedy with the whole search 0.12-0.21 %).  solver="greedy" has
# no exact phases to give the time to, and there the long search is what
# finds its best incumbent, so it keeps the whole window; so do the other
# benefit models, which have no kernel MIP.
HEURISTIC_MIN_ROUNDS = 10


def solve_model(model: Model, solver: SolverName, time_limit: float, seed: int, t0: float) -> EngineResult:
    """Solve a reduced benefit model within ``t0 + time_limit``.

    Anytime and monotone under ``"auto"``: it first runs the route of
    ``solver="greedy"`` with the same time limit (greedy, swap, Lagrangian
    bound and heuristic; :func:`_greedy_route`, the same code on the same
    clock), and only the time that route leaves goes to the exact phases,
    started from its incumbent.  Every later phase may only replace the
    incumbent by a better one, and the reported bound is the smallest valid
    bound any phase produced, so a MIP cut off by the limit changes neither.
    One difference, on coverage models: ``auto`` caps the heuristic's swap
    search (:data:`HEURISTIC_MIN_ROUNDS`) and resumes it from where it
    stopped after the exact phases (:func:`_finish_heuristic`).  So ``auto``
    is never worse than the greedy + swap answer and the route's bound,
    whatever the limit; and never worse than ``solver="greedy"`` whenever
    the exact phases leave the resumed search the time the cap moved.
    """
    empty = np.zeros(0, np.int64)
    if (model.p <= 0 or model.m == 0) and model.feasible(empty):
        # nothing to choose (p = 0, or every candidate reduced away): the empty
        # set is optimal, value 0.  Handled here so that no time-limited
        # phase can mistake "no incumbent" for infeasibility.
        return EngineResult(empty, 0.0, 0.0, "optimal", "greedy", "greedy", "trivial")
    g = greedy(model)
    if model.constrained and not model.feasible(g):
        # greedy could not satisfy the group rules: only the MIP can tell
        g = np.zeros(0, np.int64)
    if solver == "highs":
        return _solve_exact(model, g, t0 + time_limit, seed)
    lag = _greedy_route(model, g, t0, time_limit, capped=solver == "auto" and model.coverage)
    first = EngineResult(lag.s, lag.lb, max(lag.ub, lag.lb), "feasible", "greedy+swap", lag.by, "Lagrangian")
    if len(lag.s) and model.rel_gap(lag.lb, lag.ub) <= OPT_GAP:
        return first._replace(bound=lag.ub, status="optimal")
    if solver == "greedy":
        return first
    return _exact_phases(model, lag, first, time_limit, seed, t0)


def _exact_phases(model: Model, lag: _Lagrangian, first: EngineResult, time_limit: float, seed: int,
                  t0: float) -> EngineResult:
    """``solver="auto"`` after the greedy route: kernel MIP from the
    multipliers, then the LP route or the MIP, or, if nothing exact fits
    in the time left, the resumed subgradient; never worse than ``first``.
    The capped heuristic's search is resumed last, in the time left.
    """
    deadline = t0 + time_limit
    if model.coverage and len(lag.s):
        lag = _kernel_from_multipliers(model, lag, time_limit, deadline, seed)
        first = first._replace(selected=lag.s, objective=lag.lb, incumbent_by=lag.by,
                               route="greedy+swap+highs" if lag.by == "kernel MIP" else first.route)
        if model.rel_gap(lag.lb, lag.ub) <= OPT_GAP:
            return first._replace(bound=max(lag.ub, lag.lb), status="optimal")
    out: EngineResult | None = None
    if (model.coverage and len(lag.s) and _lp_fits(model, time_limit)
            and deadline - time.perf_counter() > 0.25 * time_limit):  # else no time to build the LP
        out = _solve_lp_route(model, lag.s, lag.lb, lag.by, time_limit, seed, t0, lag.fix0, lag.fix1)
    if out is None:
        if len(lag.s) and not _mip_pays(model, lag.fix0 | lag.fix1, deadline):
            # nothing exact fits in the time left (or the LP did not finish):
            # spend it on the bound, resuming the subgradient from its best
            # multipliers, and then on the capped heuristic's search
            if deadline - time.perf_counter() > 0.1 * time_limit:
                ub2 = subgradient(model, first.selected, first.objective, t0 + RESUME_SHARE * time_limit,
                                  u0=lag.u, lam0=1.0)[0]
                if ub2 < first.bound:
                    first = first._replace(bound=max(ub2, first.objective))
            if model.rel_gap(first.objective, first.bound) <= OPT_GAP:
                return first._replace(status="optimal")
            return _finish_heuristic(model, first, lag.pending, deadline) if lag.pending is not None else first
        out = _finish_with_mip(model, lag.s, lag.lb, lag.by, lag.ub, lag.fix0, lag.fix1, deadline, seed)
    res = _best_of(first, out, model) if len(lag.s) else out
    if lag.pending is not None and res.status != "optimal":
        res = _finish_heuristic(model, res, lag.pending, deadline)
    return res


def _finish_heuristic(model: Model, res: EngineResult, pending: np.ndarray, deadline: float) -> EngineResult:
    """Resume the Lagrangian heuristic's swap search that ``auto`` capped, from
    where the cap stopped it, in the time the exact phases left.  The search
    is deterministic (each step depends on the current set only), so given
    the time it ends where ``solver="greedy"``'s uncapped search ends: the
    cap only moves that work behind the exact phases.
    """
    s = swap_search(model, pending, deadline)
    val = evaluate(model, s)
    if not val > res.objective + model.tol(res.objective) * 1e-3:
        return res
    res = res._replace(selected=s, objective=val, incumbent_by="Lagrangian heuristic",
                       bound=max(res.bound, val))
    return res._replace(status="optimal") if model.rel_gap(val, res.bound) <= OPT_GAP else res


def _greedy_route(model: Model, g: np.ndarray, t0: float, time_limit: float, capped: bool = False) -> _Lagrangian:
    """The whole ``solver="greedy"`` route from the greedy selection ``g``:
    swap to a local optimum, subgradient bound and fixing, Lagrangian
    heuristic.  Each phase stops at its own work limit or, at the latest, at
    its share of ``[t0, t0 + time_limit]``.  Both solvers run the same code
    on the same clock, up to the heuristic's swap search, which under
    ``capped`` (``solver="auto"``) stops after as many iterations as the
    first search applied (:data:`HEURISTIC_MIN_ROUNDS` at least).
    """
    stats: dict = {}
    s = swap_search(model, g, t0 + SWAP_SHARE * time_limit, stats=stats) if len(g) else g
    cut_off = bool(len(g)) and not stats.get("local_optimum", True)
    lb = evaluate(model, s) if len(s) else -np.inf
    by = "swap" if len(s) and lb > evaluate(model, g) else "greedy"
    rounds = max(HEURISTIC_MIN_ROUNDS, int(stats.get("rounds", 0))) if capped else None
    return _lagrangian_phase(model, s, lb, by, t0, time_limit, resume_swap=cut_off, heuristic_rounds=rounds)


def _kernel_from_multipliers(model: Model, lag: _Lagrangian, time_limit: float, deadline: float,
                             seed: int) -> _Lagrangian:
    """The kernel MIP (:func:`_kernel_incumbent`) guided by the greedy route's
    Lagrangian multipliers, before any LP: on the spread 20,000 × 40,000
    tuning instance it finds in 1.4 s the incumbent the LP-guided kernel
    finds only after an 8-14 s LP, and the better incumbent then fixes far
    more sites (1,154 -> 8,600 of 25,949 at the same multipliers).  Returns
    the route's result with the better incumbent and the added fixing.
    """
    _, f0, f1, v, _ = bound_from_multipliers(model, lag.u, lag.lb)
    fix0, fix1 = lag.fix0 | f0, lag.fix1 | f1
    # the only exact phase when neither the LP route nor a MIP can follow:
    # then it gets most of the time left (200,000 × 400,000 spread, tuning
    # seeds: the kernel found 1.1257e8 in 14 s and 1.1210e8 in 6 s; the
    # heuristic's search and the subgradient in the same seconds gain less)
    last = not _lp_fits(model, time_limit) and _free_nnz(model, fix0 | fix1) > MIP_MAX_NNZ
    ks = _kernel_incumbent(model, lag.s, fix0, fix1, v, np.zeros(model.m), time_limit, deadline, seed,
                           KERNEL_LAST_SHARE if last else None)
    if ks is None:
        return lag
    kv = evaluate(model, ks)
    if not kv > lag.lb + model.tol(lag.lb) * 1e-3:
        return lag
    # fixing against a better incumbent stays valid with the earlier fixing
    # (every solution better than kv is better than the old lb)
    ub, g0, g1, _, _ = bound_from_multipliers(model, lag.u, kv)
    return lag._replace(s=ks, lb=kv, by="kernel MIP", ub=min(lag.ub, max(ub, kv)), fix0=lag.fix0 | f0 | g0,
                        fix1=lag.fix1 | f1 | g1)


def _best_of(first: EngineResult, later: EngineResult, model: Model) -> EngineResult:
    """The better incumbent and the smaller bound of two results (both valid)."""
    if not (later.objective >= first.objective):  # no later phase may lose the greedy route's answer
        later = later._replace(selected=first.selected, objective=first.objective, incumbent_by=first.incumbent_by)
    if first.bound < later.bound:
        later = later._replace(bound=max(first.bound, later.objective), bound_by=first.bound_by)
    if later.status != "optimal" and model.rel_gap(later.objective, later.bound) <= OPT_GAP:
        later = later._replace(status="optimal")
    return later


class _Lagrangian(NamedTuple):
    s: np.ndarray  # incumbent (reduced indices)
    lb: float  # its value
    by: str  # the phase that found it
    ub: float  # Lagrangian bound
    fix0: np.ndarray  # sites that may be closed / opened for solutions better than lb
    fix1: np.ndarray
    u: np.ndarray  # the best multipliers found
    pending: np.ndarray | None = None  # where the capped heuristic's search stopped (None: it finished)


def _solve_exact(model: Model, g: np.ndarray, deadline: float, seed: int) -> EngineResult:
    """``solver="highs"``: the MIP on the whole model, warm-started from greedy."""
    empty = np.zeros(0, np.int64)
    lb = evaluate(model, g) if len(g) else -np.inf
    z = np.zeros(model.m, bool)
    sel, obj, bd, st = solve_highs(model, z, z, g if len(g) else None,
                                   max(deadline - time.perf_counter(), 0.05), seed)
    if sel is None:
        if not len(g) and st == "infeasible":
            return EngineResult(empty, np.nan, np.nan, "infeasible", "highs", "", "MIP")
        if not len(g):
            return _no_incumbent(model)
        return EngineResult(g, lb, np.inf, "time_limit", "greedy", "greedy", "none")
    # judge the MIP answer by its exact value, not HiGHS's (tolerance-laden) objective
    obj = evaluate(model, sel)
    by = "MIP" if not len(g) or obj > lb else "greedy"
    if not model.feasible(sel) or obj < lb:
        sel, obj, by = g, lb, "greedy"
    bd = max(round_bound(model, bd), obj)
    return EngineResult(sel, obj, bd, ("optimal" if st == "optimal" else "time_limit"), "highs", by,
                        "MIP" if np.isfinite(bd) else "none")


def _lagrangian_phase(model: Model, s: np.ndarray, lb: float, by: str, start: float, window: float,
                      resume_swap: bool = False, heuristic_rounds: int | None = None) -> _Lagrangian:
    """Subgradient bound and fixing, then the Lagrangian heuristic with refixing.

    The heuristic is a swap search from the relaxation's site set; phases
    end at fixed shares of ``[start, start + window]``.  With ``resume_swap`` (the first swap search
    was cut off by its deadline) the heuristic's window goes to resuming
    that search from ``s`` instead: a search from the relaxation's set, far
    from any local optimum, cannot finish where the nearer one did not
    (50,000 × 100,000 with 80 pairs per row, a 30-s limit: 9 s spent for a
    set worth 35 % of the incumbent).  ``heuristic_rounds`` caps the
    heuristic's search (not a resumed one) at that many iterations.
    """
    ub, fix0, fix1, top, u = subgradient(model, s, lb if np.isfinite(lb) else 0.0,
                                         start + SUBGRADIENT_SHARE * window)
    pending = None
    if len(s) and not model.constrained and len(top) and model.rel_gap(lb, ub) > OPT_GAP:
        cap = 100_000 if resume_swap or heuristic_rounds is None else heuristic_rounds
        stats: dict = {}
        s2 = swap_search(model, s if resume_swap else top, start + HEURISTIC_SHARE * window, max_iter=cap,
                         stats=stats)
        if stats.get("rounds", 0) >= cap and not stats.get("local_optimum", True):
            pending = s2  # stopped by the cap, not by the clock: _finish_heuristic may resume it
        lb2 = evaluate(model, s2)
        if lb2 > lb + model.tol(lb) * 1e-3:
            s, lb, by = s2, lb2, "swap" if resume_swap else "Lagrangian heuristic"
            # fixing against the better incumbent: at the best multipliers so
            # far, then along a short, small-step resumed subgradient run
            # (restarting from scratch fixed half as many sites on p-median)
            _, f0, f1, _, _ = bound_from_multipliers(model, u, lb)
            ub2, g0, g1, _, _ = subgradient(model, s, lb, start + RESUME_SHARE * window, max_iter=150, u0=u,
                                            lam0=0.5)
            ub, fix0, fix1 = min(ub, ub2), fix0 | f0 | g0, fix1 | f1 | g1
    return _Lagrangian(s, lb, by, ub, fix0, fix1, u, pending)


def _lp_fits(model: Model, time_limit: float) -> bool:
    """Whether the LP route may run: a model up to ``LP_MAX_NNZ`` stored
    pairs whose LP's expected interior-point time (see :data:`LP_SECONDS`)
    is at most twice its share of the limit.
    """
    expected = LP_SECONDS * (model.n / LP_REF_ROWS) ** LP_EXPONENT
    return model.B.nnz <= LP_MAX_NNZ and LP_SHARE * time_limit >= 0.5 * expected


def _free_nnz(model: Model, fixed: np.ndarray) -> int:
    """Stored pairs of the sites not fixed either way."""
    return int(np.diff(model.Bc.indptr)[~fixed].sum())


def _mip_pays(model: Model, fixed: np.ndarray, deadline: float) -> bool:
    """Whether the MIP on the non-fixed sites is small enough for the time left."""
    free_nnz = _free_nnz(model, fixed)
    left = deadline - time.perf_counter()
    need = MIP_MIN_SECONDS + MIP_SECONDS_PER_MNNZ * free_nnz / 1e6
    return not (free_nnz > MIP_MAX_NNZ or left < 0.05 or (left < need and free_nnz > MIP_SMALL_NNZ))


def _finish_with_mip(model: Model, s: np.ndarray, lb: float, by: str, ub: float, fix0: np.ndarray,
                     fix1: np.ndarray, deadline: float, seed: int) -> EngineResult:
    """The MIP with the Lagrangian fixing (if there is an incumbent ``s``)."""
    empty = np.zeros(0, np.int64)
    z = np.zeros(model.m, bool)
    sel, obj, bd, st = solve_highs(model, fix0 if len(s) else z, fix1 if len(s) else z,
                                   s if len(s) else None, max(deadline - time.perf_counter(), 0.05), seed)
    label = "greedy+swap+highs"
    if sel is None:
        if not len(s):
            if st == "infeasible":
                return EngineResult(empty, np.nan, np.nan, "infeasible", label, "", "MIP")
            return _no_incumbent(model)
        return EngineResult(s, lb, max(ub, lb), "feasible", label, by, "Lagrangian")
    obj = evaluate(model, sel)
    if not model.feasible(sel) or (len(s) and obj < lb):
        sel, obj = s, lb
        if not len(s):
            return _no_incumbent(model)
    elif not (len(s) and obj <= lb):
        by = "MIP"
    # without an incumbent nothing was fixed, so the MIP bound covers the
    # whole model; with one, every solution better than lb survived the
    # fixing, so max(bound of what is left, lb) bounds the optimum
    bound = min(ub, max(bd, obj)) if np.isfinite(ub) else max(bd, obj)
    bound_by = "Lagrangian" if np.isfinite(ub) and ub <= max(bd, obj) else "MIP"
    bound = max(round_bound(model, bound), obj)
    # HiGHS "optimal" means within its mip_rel_gap (1e-7 < OPT_GAP): keep its bound, not obj
    status: Status = "optimal" if (st == "optimal" or model.rel_gap(obj, bound) <= OPT_GAP) else "time_limit"
    return EngineResult(sel, obj, bound, status, label, by, bound_by)


def _solve_lp_route(model: Model, s: np.ndarray, lb: float, by: str, time_limit: float, seed: int, t0: float,
                    prior0: np.ndarray | None = None, prior1: np.ndarray | None = None) -> EngineResult | None:
    """LP duals -> fixing -> restricted-MIP incumbent -> fixing -> MIP on what is left.

    Returns None (the caller falls back to the subgradient route) if the LP
    does not finish in its share of the time: at most LP_SHARE × the time limit
    and 0.7 of what is left, so that the fallback keeps the rest.
    ``prior0`` / ``prior1``: sites already fixed closed / open against an
    incumbent no better than ``lb`` (kept: still valid).
    """
    z = np.zeros(model.m, bool)
    prior0 = z if prior0 is None else prior0
    prior1 = z if prior1 is None else prior1
    deadline = t0 + time_limit
    lp = coverage_lp(model, min(LP_SHARE * time_limit, 0.7 * (deadline - time.perf_counter())))
    if lp is None:
        return None
    u, ylp = lp
    label = "greedy+swap+highs" if by == "kernel MIP" else "greedy+swap"
    ub, fix0, fix1, v, _ = bound_from_multipliers(model, u, lb)
    fix0, fix1 = fix0 | (prior0 & ~fix1), fix1 | (prior1 & ~fix0)
    if model.rel_gap(lb, ub) <= OPT_GAP:
        return EngineResult(s, lb, ub, "optimal", label, by, "LP")
    ks = None
    if _free_nnz(model, fix0 | fix1) > KERNEL_SKIP_NNZ:
        ks = _kernel_incumbent(model, s, fix0, fix1, v, ylp, time_limit, deadline, seed)
    if ks is not None:
        kv = evaluate(model, ks)
        if kv > lb + model.tol(lb) * 1e-3:
            s, lb, by = ks, kv, "kernel MIP"
            label = "greedy+swap+highs"
            ub, f0, f1, v, _ = bound_from_multipliers(model, u, lb)
            fix0, fix1 = fix0 | (f0 & ~fix1), fix1 | (f1 & ~fix0)
    if model.rel_gap(lb, ub) <= OPT_GAP:
        return EngineResult(s, lb, max(ub, lb), "optimal", label, by, "LP")
    if not (~(fix0 | fix1)).any():
        # every solution better than lb opens exactly the fix1 sites: the
        # optimum is lb or that set's value (the relaxation ignores group
        # rules, so ub itself may be far from it)
        only = np.flatnonzero(fix1).astype(np.int64)
        if model.feasible(only):
            val = evaluate(model, only)
            if val > lb:
                s, lb, label, by = only, val, "greedy+swap+highs", "fixing"
        return EngineResult(s, lb, lb, "optimal", label, by, "fixing")
    if not _mip_pays(model, fix0 | fix1, deadline):
        return EngineResult(s, lb, max(ub, lb), "feasible", label, by, "LP")
    # every solution better than lb survives the fixing, so the restricted
    # MIP's optimum (or lb, if it finds nothing better) is the optimum
    left = deadline - time.perf_counter()
    sel, _, bd, st = _solve_restricted(model, fix0, fix1, s, max(left, 0.05), seed)
    label = "greedy+swap+highs"
    if sel is None:
        if st == "infeasible":  # nothing at least as good as lb exists beyond s
            return EngineResult(s, lb, lb, "optimal", label, by, "MIP")
        return EngineResult(s, lb, max(ub, lb), "feasible", label, by, "LP")
    val = evaluate(model, sel)
    if val < lb or not model.feasible(sel):
        sel, val = s, lb
    elif val > lb:
        by = "MIP"
    bound = min(ub, max(bd, val)) if np.isfinite(bd) else ub
    bound_by = "LP" if bound >= ub else "MIP"
    bound = max(round_bound(model, bound), val)
    status: Status = "optimal" if (st == "optimal" or model.rel_gap(val, bound) <= OPT_GAP) else "time_limit"
    return EngineResult(sel, val, bound, status, label, by, bound_by)


def _kernel_incumbent(model: Model, s: np.ndarray, fix0: np.ndarray, fix1: np.ndarray, v: np.ndarray,
                      ylp: np.ndarray, time_limit: float, deadline: float, seed: int,
                      left_share: float | None = None) -> np.ndarray | None:
    """Incumbent from an exact MIP over the sites the LP and the reduced
    values point at (a kernel / RENS-like neighbourhood), time-capped;
    None if there was no time or no feasible answer.  Reduced-cost fixing
    is strong only with a near-optimal incumbent, so this pays for itself.
    ``left_share``: cap it at that share of the time left instead.
    """
    k = min(model.m, int(KERNEL_FACTOR * model.p))
    kernel = np.zeros(model.m, bool)
    kernel[np.argsort(-v, kind="stable")[:k]] = True
    kernel[ylp > 1e-6] = True
    kernel[s] = True
    kernel &= ~fix0
    left = max(deadline - time.perf_counter(), 0.0)
    cap = min(max(KERNEL_SHARE * time_limit, 1.0), left * 0.3) if left_share is None else left * left_share
    if cap <= 0.05:
        return None
    ks = _solve_restricted(model, ~kernel, fix1, s, cap, seed)[0]
    return ks if ks is not None and model.feasible(ks) else None


def _solve_restricted(model: Model, fix0: np.ndarray, fix1: np.ndarray, warm: np.ndarray,
                      time_limit: float, seed: int) -> tuple[np.ndarray | None, float, float, str]:
    """MIP with ``fix0`` closed and ``fix1`` open, built on the restricted model
    (fixed sites removed, rows re-merged) and warm-started from ``warm`` when
    it respects the fixing.  Returns ``(selected, objective, bound, status)``
    in the full model's terms.
    """
    sub, free, open_, const = restrict(model, fix0, fix1)
    if sub.m == 0 or sub.p <= 0:
        return open_, const, const, "optimal"
    pos = np.full(model.m, -1, np.int64)
    pos[free] = np.arange(len(free))
    start = None
    ws = pos[np.asarray(warm, np.int64)]
    if np.isin(open_, warm).all() and (ws >= 0).sum() + len(open_) == len(warm):
        start = np.sort(ws[ws >= 0])
    z = np.zeros(sub.m, bool)
    sel, obj, bd, st = solve_highs(sub, z, z, start, time_limit, seed)
    if sel is None:
        return None, np.nan, np.nan, st
    if len(sel) > sub.p:  # cannot happen for a feasible MIP answer; never trust it blindly
        return None, np.nan, np.nan, "error"
    return np.sort(np.concatenate([open_, free[sel]])).astype(np.int64), obj + const, bd + const, st


def _no_incumbent(model: Model) -> EngineResult:
    """Time ran out before any feasible selection was found (only possible
    with group rules the greedy could not meet): open the best sites of each
    group up to its minimum, then the best others within caps.  The caller's
    checks guarantee this is feasible; the bound is unknown (inf).
    """
    m, p = model.m, model.p
    colv = np.asarray(model.B.sum(axis=0)).ravel() + model.bonus
    order = np.lexsort((np.arange(m), -colv))
    sel: list[int] = []
    if model.grp is not None:
        assert model.gmin is not None and model.gcap is not None, "Model invariant: gmin, gcap accompany grp"
        cnt = np.zeros(len(model.gmin), np.int64)
        for j in order:  # minimums first
            g = model.grp[j]
            if cnt[g] < model.gmin[g]:
                sel.append(int(j))
                cnt[g] += 1
    out = fill_to_p(np.array(sel, np.int64), order, p, model.grp, model.gcap)
    if not model.feasible(out):
        return EngineResult(np.zeros(0, np.int64), np.nan, np.nan, "infeasible", "greedy", "", "none")
    return EngineResult(out, evaluate(model, out), np.inf, "time_limit", "greedy", "best sites by group", "none")
