"""Bound / status / objective validity of geoplan.optimize in every code path.

Adversarial small instances compared with brute force: group minimums and
caps (the LP route's relaxation ignores them), fixed sites, bonuses, integral
weights at the 1e8 scale, p = 0 with a tiny time limit, and HiGHS made to fail
or time out (monkeypatched) so that the fallbacks are exercised.
"""
from itertools import combinations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import geoplan.optimize._highs as highs_mod
import geoplan.optimize.capacitated as capacitated_mod
import geoplan.optimize.coverage as coverage_mod
import geoplan.optimize.mip as mip_mod
from geoplan.exceptions import InputError
from geoplan.optimize import _validate as V
from geoplan.optimize import decay_function, max_attendance, max_coverage, p_median, set_cover
from geoplan.optimize.solution import relative_gap

SOLVERS = ["auto", "highs", "greedy"]
PROP = settings(max_examples=25, deadline=None)


def _rtol(x: float) -> float:
    return 1e-6 * max(1.0, abs(x))


def brute_benefit(B, p, fixed=(), bonus=None, groups=None, gmin=None, gcap=None):
    """max over feasible S (|S| <= p) of Σ_i max_{j∈fixed∪S} B_ij + bonus(S)."""
    n, m = B.shape
    bonus = np.zeros(m) if bonus is None else bonus
    fixed = list(fixed)
    cand = [j for j in range(m) if j not in set(fixed)]
    best = -np.inf
    for k in range(p + 1):
        for S in combinations(cand, k):
            S = list(S)
            if groups is not None:
                G = len(gmin)
                c = np.bincount(groups[S], minlength=G) if S else np.zeros(G)
                cf = np.bincount(groups[fixed], minlength=G) if fixed else np.zeros(G)
                if ((c + cf) < gmin).any() or (c > gcap).any():
                    continue
            O = fixed + S
            v = (B[:, O].max(axis=1).sum() if O else 0.0) + bonus[S].sum()
            best = max(best, v)
    return best


def brute_mclp(A, w, p, fixed=(), bonus=None, groups=None, gmin=None, gcap=None):
    """Optimum of max_coverage's objective (newly covered weight + bonus).

    Rows the fixed sites reach get benefit 0, so the fixed columns are all
    zero and only count toward the group rules."""
    fixed = list(fixed)
    base = A[:, fixed].any(axis=1) if fixed else np.zeros(A.shape[0], bool)
    B = (A * (w * ~base)[:, None]).astype(float)
    return brute_benefit(B, p, fixed=fixed, bonus=bonus, groups=groups, gmin=gmin, gcap=gcap)


def assert_valid(sol, opt, sense):
    """The bound brackets the true optimum, the objective is achievable, and
    ``optimal`` is claimed only when the numbers show it."""
    if sense == "max":
        assert sol.objective <= opt + _rtol(opt)
        assert sol.bound >= opt - _rtol(opt), (sol, opt)
        assert sol.bound >= sol.objective
    else:
        assert sol.objective >= opt - _rtol(opt)
        assert sol.bound <= opt + _rtol(opt), (sol, opt)
        assert sol.bound <= sol.objective
    assert sol.gap >= 0 and not np.isnan(sol.gap)
    assert np.isclose(sol.gap, relative_gap(sol.objective, sol.bound, sense)) or sol.gap == np.inf
    if sol.status == "optimal":
        assert sol.gap <= 1e-6
        assert abs(sol.objective - opt) <= _rtol(opt)


def group_instance(seed, n=40, m=12):
    """Clustered coverage with group caps: the group-free LP relaxation is far
    from the capped optimum (this made the LP route claim "optimal" with a
    4 % gap)."""
    rng = np.random.default_rng(seed)
    pts, sites = rng.random((n, 2)), rng.random((m, 2))
    A = (np.linalg.norm(pts[:, None] - sites[None], axis=2) < rng.uniform(0.2, 0.4)).astype(float)
    w = rng.integers(1, 60, n).astype(float)
    grp = rng.integers(0, 3, m)
    grp[:3] = [0, 1, 2]
    return rng, A, w, grp


# --- gap arithmetic ---------------------------------------------------------------

def test_relative_gap_edge_cases():
    assert relative_gap(0.0, 0.0, "max") == 0.0
    assert relative_gap(0.0, 0.0, "min") == 0.0
    assert relative_gap(0.0, 5.0, "max") == 1.0
    assert relative_gap(5.0, 0.0, "min") == 1.0
    assert relative_gap(90.0, 100.0, "max") == pytest.approx(0.1)
    assert relative_gap(100.0, 90.0, "min") == pytest.approx(0.1)
    # no bound / no objective must never read as a zero gap (max(0, nan) == 0)
    assert relative_gap(5.0, np.inf, "max") == np.inf
    assert relative_gap(5.0, -np.inf, "min") == np.inf
    assert relative_gap(5.0, np.nan, "max") == np.inf
    assert relative_gap(np.nan, 5.0, "min") == np.inf


# --- brute force over every code path ------------------------------------------------

@PROP
@given(st.integers(0, 10**6), st.integers(1, 4), st.sampled_from(SOLVERS), st.booleans(),
       st.sampled_from([60.0, 0.02]))
def test_max_coverage_groups_caps_fixed_vs_brute_force(seed, p, solver, use_fixed, tl):
    rng, A, w, grp = group_instance(seed)
    m = A.shape[1]
    gmin = rng.integers(0, 2, 3)
    gcap = np.maximum(np.where(rng.random(3) < 0.6, rng.integers(1, 3, 3), np.inf), gmin)
    if gmin.sum() > p:
        gmin[:] = 0
    fixed = [int(rng.integers(0, m))] if use_fixed else []
    bonus = rng.integers(0, 4, m).astype(float) if rng.random() < 0.3 else None
    sol = max_coverage(A, p, weights=w, fixed=fixed, site_bonus=bonus, groups=grp, min_per_group=gmin,
                       group_caps=gcap, solver=solver, time_limit=tl, seed=seed)
    opt = brute_mclp(A, w, p, fixed, bonus, grp, gmin, gcap)
    assert_valid(sol, opt, "max")
    # the objective is recomputed on the original instance and matches `selected`
    base = A[:, fixed].any(axis=1) if fixed else np.zeros(A.shape[0], bool)
    cov = A[:, sol.open_sites].any(axis=1)
    val = w[cov & ~base].sum() + (bonus[sol.selected].sum() if bonus is not None else 0.0)
    assert sol.objective == pytest.approx(val, rel=1e-12, abs=1e-12)
    assert (np.bincount(grp[sol.open_sites], minlength=3) >= gmin).all()
    assert (np.bincount(grp[sol.selected], minlength=3) <= gcap).all()


def test_lp_route_with_caps_does_not_claim_optimal_with_a_gap():
    # regression: all sites reduced-cost fixed under a group cap -> "optimal" with gap 4 %
    for seed in range(40):
        rng, A, w, grp = group_instance(seed)
        gcap = np.array([1.0, np.inf, 1.0])
        sol = max_coverage(A, 3, weights=w, groups=grp, group_caps=gcap, seed=seed)
        assert_valid(sol, brute_mclp(A, w, 3, (), None, grp, np.zeros(3), gcap), "max")


@PROP
@given(st.integers(0, 10**6), st.integers(1, 3), st.sampled_from(SOLVERS))
def test_integral_weights_at_1e8_scale(seed, p, solver):
    """Objectives ~1e8: rounding of integral bounds and fixing tolerances must be relative."""
    rng, A, _, grp = group_instance(seed, n=30, m=10)
    w = rng.integers(1, 10**7, A.shape[0]).astype(float)
    sol = max_coverage(A, p, weights=w, solver=solver, seed=seed)
    assert_valid(sol, brute_mclp(A, w, p), "max")
    C = np.where(A > 0, rng.random(A.shape) * 3000, np.inf)
    sol = p_median(C, p, weights=w, solver=solver, unreachable_cost=1e4, seed=seed)
    B = np.where(np.isfinite(C), 1e4 - np.where(np.isfinite(C), C, 0), 0) * w[:, None]
    assert_valid(sol, (1e4 * w).sum() - brute_benefit(B, p), "min")


@PROP
@given(st.integers(0, 10**6), st.integers(1, 3), st.sampled_from(SOLVERS),
       st.sampled_from(["linear", "power", "exponential"]), st.booleans())
def test_attendance_and_p_median_with_fixed_groups_vs_brute_force(seed, p, solver, decay, use_groups):
    rng = np.random.default_rng(seed)
    n, m = 25, 9
    C = np.linalg.norm(rng.random((n, 2))[:, None] * 3000 - rng.random((m, 2))[None] * 3000, axis=2)
    C[C > 2200] = np.inf
    w = rng.integers(0, 9, n).astype(float)  # zero weights included
    fixed = [int(rng.integers(0, m))] if rng.random() < 0.5 else []
    kw, grp, gmin, gcap = {}, None, None, None
    if use_groups:
        grp = rng.integers(0, 3, m)
        grp[:3] = [0, 1, 2]
        gmin = np.array([1, 0, 0])
        gcap = np.array([np.inf, 1, 2])
        kw = dict(groups=grp, min_per_group=gmin, group_caps=gcap)
    fin = np.isfinite(C)
    Ba = np.where(fin, decay_function(np.where(fin, C, 1e9), decay), 0) * w[:, None]
    sol = max_attendance(C, p, weights=w, decay=decay, fixed=fixed, solver=solver, seed=seed, **kw)
    assert_valid(sol, brute_benefit(Ba, p, fixed, None, grp, gmin, gcap), "max")
    U = 1e4
    Bp = np.where(fin, U - np.where(fin, C, 0), 0) * w[:, None]
    sol = p_median(C, p, weights=w, solver=solver, fixed=fixed, unreachable_cost=U, seed=seed, **kw)
    assert_valid(sol, (U * w).sum() - brute_benefit(Bp, p, fixed, None, grp, gmin, gcap), "min")
    # objective straight from the costs of the assignment
    d = np.where(sol.assignment >= 0, C[np.arange(n), np.maximum(sol.assignment, 0)], U)
    assert sol.objective == pytest.approx(float((w * d).sum()), rel=1e-12)


@PROP
@given(st.integers(0, 10**6), st.sampled_from([1.0, 0.9, 0.6]), st.sampled_from(SOLVERS))
def test_set_cover_target_met_and_bound_valid(seed, target, solver):
    rng, A, w, _ = group_instance(seed, n=30, m=10)
    fixed = [0] if rng.random() < 0.3 else []
    sol = set_cover(A, weights=w, target=target, solver=solver, fixed=fixed, seed=seed)
    reach = w[A.any(axis=1)].sum()
    need = target * reach - 1e-9 * max(1.0, reach)
    cand = [j for j in range(A.shape[1]) if j not in fixed]
    opt = next(k for k in range(len(cand) + 1) for S in combinations(cand, k)
               if w[A[:, fixed + list(S)].any(axis=1)].sum() >= need)
    assert_valid(sol, opt, "min")
    assert w[A[:, sol.open_sites].any(axis=1)].sum() >= need


# --- degenerate models --------------------------------------------------------------

@pytest.mark.parametrize("solver", SOLVERS)
def test_nothing_to_choose_under_a_tiny_time_limit(solver):
    # p = 0 used to come back "infeasible" from the time-limited MIP phase and
    # be raised as a min_per_group error
    A = np.array([[1, 0], [0, 1], [1, 1]])
    w = np.array([1.0, 2.0, 3.0])
    sol = max_coverage(A, 0, weights=w, solver=solver, time_limit=1e-3)
    assert sol.status == "optimal" and sol.objective == 0 and sol.bound == 0 and len(sol.selected) == 0
    sol = max_coverage(A, 1, weights=w, fixed=[0, 1][:1], solver=solver, time_limit=1e-3)
    assert_valid(sol, 2.0, "max")
    sol = max_coverage(A, 1, weights=np.zeros(3), solver=solver, time_limit=1e-3)  # zero weights
    assert sol.objective == 0 and sol.bound == 0 and sol.gap == 0
    sol = p_median(np.array([[1.0, 2.0], [3.0, 1.0]]), 0, fixed=[0], solver=solver, time_limit=1e-3)
    assert sol.objective == 4.0 and sol.status == "optimal"
    assert str(sol.bound) != "-0.0"


def test_sparse_cost_keeps_zero_distance_and_drops_inf():
    # explicit 0 = co-located (reachable); inf = unreachable.  A mask multiply
    # used to turn inf into NaN and drop the zero.
    C = sp.csr_matrix((np.array([0.0, np.inf, 2.0]), (np.array([0, 1, 2]), np.array([0, 0, 1]))), shape=(3, 2))
    M = V.matrix(C, "cost", binary=False)
    assert M.nnz == 2 and np.isfinite(M.data).all()
    assert M.indptr[1] == 1 and M.indices[0] == 0 and M.data[0] == 0.0  # the zero is stored
    sol = p_median(C, 1, unreachable_cost=100.0, solver="highs")
    # site 0 serves row 0 at 0, row 1 unreachable (100), row 2 unreachable from 0 (100) -> 200;
    # site 1: row 0 (100) + row 1 (100) + row 2 (2) = 202
    assert sol.selected.tolist() == [0] and sol.objective == pytest.approx(200.0)


# --- HiGHS failing / timing out ----------------------------------------------------

def _fake_highs(mode, real):
    def run(c, lo, hi, A, rlo, rhi, integer, maximize, time_limit, seed=0, start=None, **kw):
        if not integer.any() and mode != "lp_fail":
            return real(c, lo, hi, A, rlo, rhi, integer, maximize, time_limit, seed, start, **kw)
        nob = np.inf if maximize else -np.inf
        if mode == "error":  # a solution but an untrustworthy status
            x, obj, _, _ = real(c, lo, hi, A, rlo, rhi, integer, maximize, time_limit, seed, start, **kw)
            return x, obj, nob, "error"
        return None, np.nan, nob, "time_limit"
    return run


@pytest.mark.parametrize("mode", ["no_solution", "error", "lp_fail"])
@pytest.mark.parametrize("seed", range(4))
def test_bounds_stay_valid_when_highs_fails(monkeypatch, mode, seed):
    real = highs_mod.run_highs
    fake = _fake_highs(mode, real)
    for mod in (mip_mod, coverage_mod, capacitated_mod):
        monkeypatch.setattr(mod, "run_highs", fake)
    rng, A, w, grp = group_instance(seed, n=30, m=9)
    gmin, gcap = np.array([1, 0, 0]), np.array([np.inf, 1, np.inf])
    for solver in ("highs", "auto"):
        sol = max_coverage(A, 3, weights=w, groups=grp, min_per_group=gmin, group_caps=gcap, solver=solver, seed=seed)
        assert_valid(sol, brute_mclp(A, w, 3, (), None, grp, gmin, gcap), "max")
        C = np.where(A > 0, rng.random(A.shape) * 1000, np.inf)
        fin = np.isfinite(C)
        sol = p_median(C, 2, weights=w, solver=solver, unreachable_cost=5000.0, seed=seed)
        Bp = np.where(fin, 5000.0 - np.where(fin, C, 0), 0) * w[:, None]
        assert_valid(sol, (5000.0 * w).sum() - brute_benefit(Bp, 2), "min")
        sol = set_cover(A, weights=w, target=0.8, solver=solver, seed=seed)
        assert sol.bound <= sol.objective and (sol.status != "optimal" or sol.gap <= 1e-6)


@pytest.mark.parametrize("mode", ["no_solution", "lp_fail"])
def test_capacitated_bound_needs_a_solved_relaxation(monkeypatch, mode):
    rng, A, w, _ = group_instance(3, n=12, m=6)
    real = capacitated_mod.run_highs
    ref = max_coverage(A, 2, weights=w, capacity=60.0, solver="highs")
    assert ref.status == "optimal"
    fake = _fake_highs(mode, real)

    def lp_times_out(c, lo, hi, A_, rlo, rhi, integer, maximize, time_limit, seed=0, start=None, **kw):
        fixed_y = np.array_equal(lo[: A.shape[1]], hi[: A.shape[1]])
        if mode == "lp_fail" and not integer.any() and not fixed_y:  # the relaxation, not an evaluation
            return None, np.nan, np.inf, "time_limit"
        if mode == "lp_fail":
            return real(c, lo, hi, A_, rlo, rhi, integer, maximize, time_limit, seed, start, **kw)
        return fake(c, lo, hi, A_, rlo, rhi, integer, maximize, time_limit, seed, start, **kw)

    monkeypatch.setattr(capacitated_mod, "run_highs", lp_times_out)
    for solver in ("greedy", "highs"):
        sol = max_coverage(A, 2, weights=w, capacity=60.0, solver=solver)
        assert sol.objective <= ref.objective + 1e-6
        assert sol.bound >= ref.objective - 1e-6
        if not np.isfinite(sol.bound):
            assert sol.gap == np.inf and sol.status != "optimal"


# --- determinism and input checks ---------------------------------------------------

def test_deterministic_on_ties():
    # many identical columns and equal weights: every tie-break must be by index
    A = np.tile(np.eye(6, dtype=np.uint8), (3, 3))
    w = np.ones(A.shape[0])
    runs = [max_coverage(A, 4, weights=w, solver=s, seed=7) for s in SOLVERS for _ in range(2)]
    for a, b in zip(runs[::2], runs[1::2]):
        assert a.selected.tolist() == b.selected.tolist() and a.bound == b.bound
    C = np.tile(np.arange(1.0, 7.0), (10, 2))
    s1, s2 = p_median(C, 2, seed=3), p_median(C, 2, seed=3)
    assert s1.selected.tolist() == s2.selected.tolist()


@pytest.mark.parametrize("call, arg", [
    (lambda: max_coverage("abc", 1), "coverage"),
    (lambda: max_coverage([[1, 2], [3]], 1), "coverage"),
    (lambda: max_coverage(np.ones((2, 2)), 1, seed=-1), "seed"),
    (lambda: max_coverage(np.ones((2, 2)), 1, seed="x"), "seed"),
    (lambda: set_cover(np.ones((2, 2)), seed=2.5), "seed"),
    (lambda: p_median(np.ones((2, 2)), 1, unreachable_cost="x"), "unreachable_cost"),
    (lambda: p_median(np.ones((2, 2)), 1, unreachable_cost=np.nan), "unreachable_cost"),
    (lambda: max_attendance(np.ones((2, 2)), 1, beta="x"), "beta"),
    (lambda: p_median("zz", 1), "cost"),
])
def test_bad_input_is_input_error_naming_argument(call, arg):
    with pytest.raises(InputError, match=arg):
        call()


def _fuzz_instance(seed):
    """The random generator that exposed the LP-route bug (seeds 19 and 60)."""
    rng = np.random.default_rng(seed)
    n, m = rng.integers(8, 40), rng.integers(4, 12)
    A = (rng.random((n, m)) < rng.uniform(0.1, 0.4)).astype(float)
    w = rng.integers(0, 50, n).astype(float) if rng.random() < .6 else rng.random(n) * rng.choice([1, 1e6])
    p = int(rng.integers(0, min(4, m) + 1))
    fixed = sorted(set(rng.integers(0, m, rng.integers(0, 3)).tolist())) if rng.random() < .4 else []
    p = min(p, m - len(fixed))
    bonus = rng.integers(0, 5, m).astype(float) * (rng.random() < .3)
    grp = gmin = gcap = None
    if rng.random() < .4:
        grp = rng.integers(0, 3, m)
        grp[:3] = [0, 1, 2]
        gmin = rng.integers(0, 2, 3)
        gcap = np.maximum(np.where(rng.random(3) < .5, rng.integers(1, 3, 3), np.inf), gmin)
    return A, w, p, fixed, bonus, grp, gmin, gcap


@pytest.mark.parametrize("seed", [19, 60, 10])
def test_fuzz_regressions(seed):
    A, w, p, fixed, bonus, grp, gmin, gcap = _fuzz_instance(seed)
    kw = dict(groups=grp, min_per_group=gmin, group_caps=gcap) if grp is not None else {}
    opt = brute_mclp(A, w, p, fixed, bonus, grp, gmin, gcap)
    for solver in SOLVERS:
        for tl in (60.0, 0.02):
            sol = max_coverage(A, p, weights=w, fixed=fixed, site_bonus=bonus, solver=solver, time_limit=tl, seed=seed, **kw)
            assert_valid(sol, opt, "max")
