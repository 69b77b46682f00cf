"""Brute force and property tests for geoplan.optimize (tiny instances)."""
from itertools import combinations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from geoplan.optimize import (
    close_least_loss,
    closure_impact,
    decay_function,
    max_attendance,
    max_coverage,
    minimal_keep_set,
    p_median,
    set_cover,
)
from geoplan.optimize.reduce import dominated_sites, merge_rows

SOLVERS = ["auto", "highs", "greedy"]


def inst(seed, n=14, m=8, dens=0.3):
    rng = np.random.default_rng(seed)
    A = (rng.random((n, m)) < dens).astype(np.uint8)
    A[rng.integers(0, n, 3)] = A[0]  # duplicate rows for merging
    A[:, 1] = A[:, 0]                # identical sites for dominance
    w = rng.integers(0, 9, n).astype(float)
    return rng, A, w


def brute_mclp(A, w, p, fixed=(), bonus=None, groups=None, gmin=0, gcap=None):
    m = A.shape[1]
    bonus = np.zeros(m) if bonus is None else bonus
    cand = [j for j in range(m) if j not in set(fixed)]
    base = A[:, list(fixed)].any(axis=1) if len(fixed) else np.zeros(A.shape[0], bool)
    best = -1.0
    for S in combinations(cand, p):
        S = list(S)
        if groups is not None:
            cnt = np.bincount(groups[list(fixed) + S], minlength=groups.max() + 1)
            if (cnt < gmin).any():
                continue
            if gcap is not None and (np.bincount(groups[S], minlength=groups.max() + 1) > gcap).any():
                continue
        cov = A[:, S].any(axis=1) & ~base
        best = max(best, w[cov].sum() + bonus[S].sum())
    return best


def mclp_value(A, w, sel, fixed, bonus):
    base = A[:, list(fixed)].any(axis=1) if len(fixed) else np.zeros(A.shape[0], bool)
    return w[A[:, list(sel)].any(axis=1) & ~base].sum() + bonus[list(sel)].sum()


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 100_000), st.integers(1, 4), st.sampled_from(SOLVERS), st.booleans(), st.booleans())
def test_mclp_brute_force_and_properties(seed, p, solver, use_fixed, use_bonus):
    rng, A, w = inst(seed)
    m = A.shape[1]
    fixed = [int(rng.integers(0, m))] if use_fixed else []
    bonus = rng.integers(0, 4, m).astype(float) if use_bonus else None
    sol = max_coverage(sp.csr_matrix(A) if seed % 2 else A, p, weights=w, fixed=fixed or None,
                       site_bonus=bonus, solver=solver, time_limit=10)
    b = np.zeros(m) if bonus is None else bonus
    opt = brute_mclp(A, w, p, fixed, b)
    assert len(sol.selected) == p and not set(sol.selected) & set(fixed)
    assert np.isclose(sol.objective, mclp_value(A, w, sol.selected, fixed, b))
    assert sol.objective <= opt + 1e-9                # never better than the optimum
    assert sol.bound >= opt - 1e-9                    # bound valid
    assert sol.bound >= sol.objective - 1e-9
    if solver != "greedy" or sol.status == "optimal":
        assert sol.status != "optimal" or np.isclose(sol.objective, opt)
    if solver in ("auto", "highs"):
        assert np.isclose(sol.objective, opt)
    if fixed:
        assert sol.covered[A[:, fixed[0]] > 0].all()
    again = max_coverage(A, p, weights=w, fixed=fixed or None, site_bonus=bonus, solver=solver, time_limit=10)
    assert np.array_equal(again.selected, sol.selected)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 100_000), st.sampled_from(SOLVERS))
def test_mclp_groups(seed, solver):
    rng, A, w = inst(seed, n=12, m=8)
    groups = rng.integers(0, 3, 8)
    groups[:3] = [0, 1, 2]
    gcap = np.array([2, 2, 2])
    fixed = [7]
    p = 3
    try:
        opt = brute_mclp(A, w, p, fixed, None, groups, 1, gcap)
    except Exception:
        raise
    sol = max_coverage(A, p, weights=w, fixed=fixed, groups=groups, min_per_group=1, group_caps=gcap,
                       solver=solver, time_limit=10)
    cnt = np.bincount(groups[np.concatenate([sol.selected, fixed])], minlength=3)
    assert (cnt >= 1).all()
    assert (np.bincount(groups[sol.selected], minlength=3) <= gcap).all()
    assert sol.objective <= opt + 1e-9 and sol.bound >= opt - 1e-9
    if solver != "greedy":
        assert np.isclose(sol.objective, opt)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 100_000), st.integers(1, 3))
def test_reductions_preserve_optimum(seed, p):
    rng, A, w = inst(seed, n=12, m=7)
    bonus = rng.integers(0, 3, 7).astype(float) * (rng.random(7) < 0.5)
    A2, w2, inv = merge_rows(sp.csr_matrix(A, dtype=float), w)
    assert np.isclose(w2.sum(), w.sum())
    assert (A2.toarray()[inv] == A).all()
    dom = dominated_sites(A2, bonus, p, None, bonus == 0)
    keep = np.flatnonzero(~dom)
    assert len(keep) >= 1
    full = brute_mclp(A, w, p, (), bonus)
    red = brute_mclp(A2.toarray()[:, keep], w2, min(p, len(keep)), (), bonus[keep])
    assert np.isclose(full, red)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 100_000), st.sampled_from([1.0, 0.7]), st.sampled_from(SOLVERS))
def test_set_cover_brute_force(seed, target, solver):
    rng, A, w = inst(seed, n=12, m=8)
    A[-1] = 0  # unreachable demand
    sol = set_cover(A, weights=w, target=target, solver=solver, time_limit=10)
    reach = A.any(axis=1)
    need = target * w[reach].sum()
    best = None
    for k in range(0, 9):
        if any(w[A[:, list(S)].any(axis=1)].sum() >= need - 1e-9 for S in combinations(range(8), k)):
            best = k
            break
    assert 11 in sol.unreachable
    assert sol.covered_weight >= need - 1e-9
    assert sol.bound <= best <= sol.objective
    if solver != "greedy":
        assert sol.objective == best


def brute_pmedian(C, w, p):
    return min((w * C[:, list(S)].min(axis=1)).sum() for S in combinations(range(C.shape[1]), p))


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 100_000), st.integers(1, 4), st.sampled_from(SOLVERS))
def test_p_median_brute_force(seed, p, solver):
    rng = np.random.default_rng(seed)
    pts = rng.random((15, 2)) * 1000
    sites = pts[:8]
    C = np.linalg.norm(pts[:, None] - sites[None], axis=2)
    w = rng.integers(1, 5, 15).astype(float)
    sol = p_median(C, p, weights=w, solver=solver, time_limit=10)
    opt = brute_pmedian(C, w, p)
    assert len(sol.selected) == p
    val = (w * C[:, sol.selected].min(axis=1)).sum()
    assert np.isclose(sol.objective, val)
    assert sol.objective >= opt - 1e-6 and sol.bound <= opt + 1e-6
    if solver != "greedy":
        assert np.isclose(sol.objective, opt)
    assert np.array_equal(sol.assignment, sol.selected[np.argmin(C[:, sol.selected], axis=1)])


def test_p_median_sparse_unreachable():
    C = sp.csr_matrix(np.array([[0.0, 5.0], [0.0, 0.0]]))
    C = sp.csr_matrix((np.array([0.0, 5.0]), np.array([0, 1]), np.array([0, 2, 2])), shape=(2, 2))
    with pytest.raises(ValueError, match="cost"):
        p_median(C, 1)
    sol = p_median(C, 1, unreachable_cost=100)
    assert list(sol.selected) == [0] and np.isclose(sol.objective, 100)  # explicit zero kept


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 100_000), st.integers(1, 3), st.sampled_from(["linear", "power", "exponential"]))
def test_attendance_brute_force(seed, p, decay):
    rng = np.random.default_rng(seed)
    C = rng.random((12, 7)) * 4000
    w = rng.integers(1, 9, 12).astype(float)
    fixed = [6]
    sol = max_attendance(C, p, weights=w, decay=decay, cutoff=3000, fixed=fixed, time_limit=10)
    F = decay_function(C, decay, 3000) * w[:, None]
    opt = max(F[:, list(S) + fixed].max(axis=1).sum() for S in combinations(range(6), p))
    val = F[:, list(sol.selected) + fixed].max(axis=1).sum()
    assert np.isclose(sol.objective, val) and np.isclose(val, opt)
    assert sol.bound >= opt - 1e-6


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 100_000), st.integers(1, 3))
def test_capacitated_brute_force(seed, p):
    from scipy.optimize import linprog
    rng, A, w = inst(seed, n=10, m=6)
    cap = 12.0

    def served(S):
        # max flow as LP
        pairs = [(i, j) for i in range(10) for j in S if A[i, j]]
        if not pairs:
            return 0.0
        c = -np.array([w[i] for i, j in pairs])
        Aub, b = [], []
        for i in range(10):
            Aub.append([1.0 if pi == i else 0.0 for pi, _ in pairs]); b.append(1.0)
        for j in S:
            Aub.append([w[pi] if pj == j else 0.0 for pi, pj in pairs]); b.append(cap)
        return -linprog(c, A_ub=Aub, b_ub=b, bounds=(0, 1)).fun

    opt = max(served(list(S)) for S in combinations(range(6), p))
    sol = max_coverage(A, p, weights=w, capacity=cap, time_limit=10)
    assert np.isclose(sol.objective, opt, atol=1e-6)
    g = max_coverage(A, p, weights=w, capacity=cap, solver="greedy", time_limit=10)
    assert g.objective <= opt + 1e-6 <= g.bound + 2e-6


def test_closures():
    A = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1], [0, 0, 0]])
    w = np.array([5.0, 1, 2, 1, 3, 7])
    imp = closure_impact(A, weights=w)
    assert imp.unique_weight.tolist() == [5, 2, 3] and imp.covered_weight == 12
    sol = close_least_loss(A, 1, weights=w)
    assert sol.closed.tolist() == [1] and sol.objective == 2 and sol.bound <= 2
    keep = minimal_keep_set(A, weights=w)
    assert keep.kept.tolist() == [0, 1, 2] and keep.closed.tolist() == []
    A2 = np.array([[1, 1, 0], [1, 1, 1], [0, 0, 1]])
    assert minimal_keep_set(A2).kept.tolist() == [0, 2]


@pytest.mark.parametrize("call, arg", [
    (lambda: max_coverage(np.ones((3, 4)), 1, weights=np.ones(2)), "weights"),
    (lambda: max_coverage(np.ones((3, 4)), 1, weights=[1, -1, 1]), "weights"),
    (lambda: max_coverage(np.ones((3, 4)), 1, weights=[1, np.nan, 1]), "weights"),
    (lambda: max_coverage(np.ones((3, 4)), 5, weights=np.ones(3)), "p"),
    (lambda: max_coverage(np.ones((3, 4)), 2, weights=np.ones(3), fixed=[4]), "fixed"),
    (lambda: max_coverage(np.ones((3, 4)), 1, weights=np.ones(3), groups=[0, 0, 1, 1], min_per_group=1), "min_per_group"),
    (lambda: max_coverage(np.ones((3, 4)), 1, weights=np.ones(3), groups=[0, 1], min_per_group=1), "groups"),
    (lambda: max_coverage(np.ones((3, 4)), 1, weights=np.ones(3), site_bonus=[1, 2]), "site_bonus"),
    (lambda: max_coverage(np.full((3, 4), np.nan), 1, weights=np.ones(3)), "coverage"),
    (lambda: max_coverage(np.ones((3, 4)), 1, weights=np.ones(3), solver="cplex"), "solver"),
    (lambda: set_cover(np.ones((3, 4)), target=1.5), "target"),
    (lambda: p_median(-np.ones((3, 4)), 1), "cost"),
    (lambda: max_attendance(np.ones((3, 4)), 1, weights=np.ones(3), decay="cubic"), "decay"),
])
def test_bad_input_names_argument(call, arg):
    with pytest.raises(ValueError, match=arg):
        call()
