"""Property tests (hypothesis) for geoplan.optimize on small random instances.

For every model: the bound is on the right side of the objective, the
heuristic (``solver="greedy"``) is never better than the proven optimum
(``solver="highs"``), fixed sites are always open and counted, group minimums
and caps hold, the answer is deterministic, and the reductions keep the
optimum.
"""
from itertools import combinations

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from geoplan.optimize import max_attendance, max_coverage, p_median, set_cover
from geoplan.optimize.reduce import dominated_sites, merge_rows

TOL = 1e-6
PROP = settings(max_examples=30, deadline=None)


def coverage_instance(seed: int, n: int = 16, m: int = 9):
    rng = np.random.default_rng(seed)
    A = (rng.random((n, m)) < rng.uniform(0.15, 0.45)).astype(np.uint8)
    A[rng.integers(0, n, 3)] = A[rng.integers(0, n)]  # duplicate rows (merging)
    A[:, 2] = A[:, 1] * (rng.random(n) < 0.7)          # a dominated column
    w = rng.integers(0, 12, n).astype(float)
    return rng, A, w


def cost_instance(seed: int, n: int = 14, m: int = 8):
    rng = np.random.default_rng(seed)
    pts = rng.random((n, 2)) * 3000
    sites = rng.random((m, 2)) * 3000
    C = np.linalg.norm(pts[:, None] - sites[None], axis=2)
    w = rng.integers(1, 9, n).astype(float)
    return rng, C, w


def groups_for(rng, m: int, G: int = 3) -> np.ndarray:
    g = rng.integers(0, G, m)
    g[:G] = np.arange(G)
    return g


def check_common(sol, ref, sense: str, fixed, p=None, groups=None, gmin=None, gcap=None):
    """Invariants shared by all models; ``ref`` is the exact (highs) answer."""
    if sense == "max":
        assert sol.bound >= sol.objective - TOL * max(1, abs(sol.objective))
        assert sol.objective <= ref.objective + TOL * max(1, abs(ref.objective))
        assert sol.bound >= ref.objective - TOL * max(1, abs(ref.objective))
    else:
        assert sol.bound <= sol.objective + TOL * max(1, abs(sol.objective))
        assert sol.objective >= ref.objective - TOL * max(1, abs(ref.objective))
        assert sol.bound <= ref.objective + TOL * max(1, abs(ref.objective))
    assert 0 <= sol.gap
    assert not set(sol.selected.tolist()) & set(fixed)
    assert set(fixed) <= set(sol.open_sites.tolist())
    if p is not None:
        assert len(sol.selected) == p
    if groups is not None:
        G = groups.max() + 1
        if gmin is not None:
            assert (np.bincount(groups[sol.open_sites], minlength=G) >= gmin).all()
        if gcap is not None:
            assert (np.bincount(groups[sol.selected], minlength=G) <= gcap).all()


# --- max coverage ---------------------------------------------------------------

@PROP
@given(st.integers(0, 10**6), st.integers(1, 4), st.booleans(), st.booleans(), st.booleans())
def test_max_coverage_properties(seed, p, use_fixed, use_groups, as_array):
    rng, A, w = coverage_instance(seed)
    m = A.shape[1]
    fixed = [int(rng.integers(0, m))] if use_fixed else []
    groups = gmin = gcap = None
    kw = {}
    if use_groups:
        groups = groups_for(rng, m)
        gmin = rng.integers(0, 2, 3) if as_array else 1
        gcap = np.array([3, 3, 3])
        need = np.maximum(np.broadcast_to(gmin, 3) - np.bincount(groups[fixed], minlength=3), 0).sum()
        p = max(p, int(need))
        kw = dict(groups=groups, min_per_group=gmin, group_caps=gcap)
    exact = max_coverage(A, p, weights=w, fixed=fixed or None, solver="highs", time_limit=20, **kw)
    assert exact.status == "optimal"
    for solver in ("greedy", "auto"):
        sol = max_coverage(sp.csr_matrix(A), p, weights=w, fixed=fixed or None, solver=solver, time_limit=20, **kw)
        check_common(sol, exact, "max", fixed, p, groups, np.broadcast_to(gmin, 3) if use_groups else None, gcap)
        if fixed:
            assert sol.covered[A[:, fixed[0]] > 0].all()  # fixed sites count toward coverage
        assert np.isclose(sol.covered_weight, w[sol.covered].sum())
        again = max_coverage(A, p, weights=w, fixed=fixed or None, solver=solver, time_limit=20, **kw)
        assert np.array_equal(again.selected, sol.selected) and again.objective == sol.objective
    auto = max_coverage(A, p, weights=w, fixed=fixed or None, solver="auto", time_limit=20, **kw)
    assert np.isclose(auto.objective, exact.objective)


@PROP
@given(st.integers(0, 10**6), st.integers(1, 3))
def test_max_coverage_budget_via_group_caps(seed, p):
    """A per-group cap of 1 is a budget: never more than one new site per group."""
    rng, A, w = coverage_instance(seed)
    groups = groups_for(rng, A.shape[1], G=4)
    for solver in ("greedy", "highs"):
        sol = max_coverage(A, p, weights=w, groups=groups, group_caps=1, solver=solver, time_limit=20)
        assert (np.bincount(groups[sol.selected], minlength=4) <= 1).all()


@PROP
@given(st.integers(0, 10**6), st.integers(1, 3))
def test_reductions_preserve_max_coverage_optimum(seed, p):
    rng, A, w = coverage_instance(seed, n=12, m=7)
    bonus = rng.integers(0, 3, 7).astype(float) * (rng.random(7) < 0.5)
    A2, w2, inv = merge_rows(sp.csr_matrix(A, dtype=float), w)
    dom = dominated_sites(A2, bonus, p, None, bonus == 0)
    keep = np.flatnonzero(~dom)

    def best(Am, wm, b, k):
        k = min(k, Am.shape[1])
        return max(wm[Am[:, list(S)].any(axis=1)].sum() + b[list(S)].sum()
                   for S in combinations(range(Am.shape[1]), k))

    assert np.isclose(best(A, w, bonus, p), best(A2.toarray()[:, keep], w2, bonus[keep], p))
    sol = max_coverage(A, p, weights=w, site_bonus=bonus, solver="auto", time_limit=20)
    assert np.isclose(sol.objective, best(A, w, bonus, p))


@PROP
@given(st.integers(0, 10**6), st.integers(1, 3), st.sampled_from([1, 7, 60]))
def test_dominance_in_column_blocks_is_the_one_block_answer(seed, p, block):
    """The blocked product (memory-bounded) removes exactly the sites the
    whole product does, so does the product over one column per group of
    identical columns, a probe followed by the rest too, a probe alone a
    subset of them, and a site is removed exactly when it has its required
    number of dominators by the definition (brute force over pairs)."""
    import geoplan.optimize.reduce as R

    rng, A, w = coverage_instance(seed, n=14, m=9)
    A = np.hstack([np.asarray(A), np.asarray(A)[:, :3]])  # identical columns: the tie-by-index rule
    m = A.shape[1]
    bonus = rng.integers(0, 3, m).astype(float) * (rng.random(m) < 0.3)
    cls = rng.integers(0, 2, m)
    a = sp.csr_matrix(A, dtype=float)
    saved = R.DOMINANCE_BLOCK_PAIRS, R.DOMINANCE_ALWAYS_PAIRS, R.DOMINANCE_MIN_REMOVED, R.DOMINANCE_DEDUP_PAIRS
    try:
        R.DOMINANCE_DEDUP_PAIRS = np.inf  # every column on its own
        whole = dominated_sites(a, bonus, p, cls, bonus == 0)
        # each variant with every column on its own and with identical columns grouped
        for dedup in (np.inf, 0.0):
            R.DOMINANCE_DEDUP_PAIRS = dedup
            R.DOMINANCE_BLOCK_PAIRS, R.DOMINANCE_ALWAYS_PAIRS, R.DOMINANCE_MIN_REMOVED = saved[:3]
            np.testing.assert_array_equal(whole, dominated_sites(a, bonus, p, cls, bonus == 0))
            R.DOMINANCE_BLOCK_PAIRS = block
            np.testing.assert_array_equal(whole, dominated_sites(a, bonus, p, cls, bonus == 0))
            R.DOMINANCE_ALWAYS_PAIRS, R.DOMINANCE_MIN_REMOVED = 0, 0.0  # probe, then always the rest
            np.testing.assert_array_equal(whole, dominated_sites(a, bonus, p, cls, bonus == 0))
            R.DOMINANCE_MIN_REMOVED = 1.01  # probe only: a subset of the sample's sites
            assert not (dominated_sites(a, bonus, p, cls, bonus == 0) & ~whole).any()
    finally:
        R.DOMINANCE_BLOCK_PAIRS, R.DOMINANCE_ALWAYS_PAIRS, R.DOMINANCE_MIN_REMOVED, R.DOMINANCE_DEDUP_PAIRS = saved
    D = A.astype(bool)
    size = D.sum(axis=0)
    for j in range(m):
        above = [k for k in range(m) if k != j and cls[k] == cls[j] and bonus[k] >= bonus[j]
                 and not (D[:, j] & ~D[:, k]).any()
                 and (size[k] > size[j] or bonus[k] > bonus[j] or k < j)]
        assert whole[j] == (len(above) >= (1 if bonus[j] == 0 else p)), (j, above)


# --- set cover ------------------------------------------------------------------

@PROP
@given(st.integers(0, 10**6), st.sampled_from([1.0, 0.8, 0.5]), st.booleans())
def test_set_cover_properties(seed, target, use_fixed):
    rng, A, w = coverage_instance(seed, n=12, m=8)
    fixed = [int(rng.integers(0, 8))] if use_fixed else None
    exact = set_cover(A, weights=w, target=target, solver="highs", fixed=fixed, time_limit=20)
    reach = A.any(axis=1)
    for solver in ("greedy", "auto"):
        sol = set_cover(A, weights=w, target=target, solver=solver, fixed=fixed, time_limit=20)
        check_common(sol, exact, "min", fixed or [])
        assert sol.covered_weight >= target * w[reach].sum() - 1e-9
        again = set_cover(A, weights=w, target=target, solver=solver, fixed=fixed, time_limit=20)
        assert np.array_equal(again.selected, sol.selected)
    assert set_cover(A, weights=w, target=target, solver="auto", fixed=fixed).objective == exact.objective


# --- p-median -------------------------------------------------------------------

def brute_pmedian(C, w, p, fixed=()):
    cand = [j for j in range(C.shape[1]) if j not in set(fixed)]
    return min((w * C[:, list(S) + list(fixed)].min(axis=1)).sum() for S in combinations(cand, p))


@PROP
@given(st.integers(0, 10**6), st.integers(1, 4), st.booleans(), st.booleans())
def test_p_median_properties(seed, p, use_fixed, use_groups):
    rng, C, w = cost_instance(seed)
    m = C.shape[1]
    fixed = [int(rng.integers(0, m))] if use_fixed else []
    kw = {}
    groups = None
    if use_groups:
        groups = groups_for(rng, m)
        gmin = np.array([1, 1, 0])
        p = max(p, 2)
        kw = dict(groups=groups, min_per_group=gmin)
    exact = p_median(C, p, weights=w, solver="highs", fixed=fixed or None, time_limit=20, **kw)
    assert exact.status == "optimal"
    if not use_groups:
        assert np.isclose(exact.objective, brute_pmedian(C, w, p, fixed))
    for solver in ("greedy", "auto"):
        sol = p_median(C, p, weights=w, solver=solver, fixed=fixed or None, time_limit=20, **kw)
        check_common(sol, exact, "min", fixed, p, groups, kw.get("min_per_group"))
        assert np.isclose(sol.objective, (w * C[:, sol.open_sites].min(axis=1)).sum())
        again = p_median(C, p, weights=w, solver=solver, fixed=fixed or None, time_limit=20, **kw)
        assert np.array_equal(again.selected, sol.selected)
    auto = p_median(C, p, weights=w, solver="auto", fixed=fixed or None, time_limit=20, **kw)
    assert np.isclose(auto.objective, exact.objective)


def test_p_median_radius_formulation_medium():
    """The radius MIP proves the same optimum as brute force on a 30 × 12 instance."""
    rng, C, w = cost_instance(7, n=30, m=12)
    for p in (2, 3):
        sol = p_median(C, p, weights=w, solver="highs", time_limit=30)
        assert sol.status == "optimal" and np.isclose(sol.objective, brute_pmedian(C, w, p))


# --- attendance -----------------------------------------------------------------

@PROP
@given(st.integers(0, 10**6), st.integers(1, 3), st.sampled_from(["linear", "power", "exponential"]),
       st.booleans())
def test_max_attendance_properties(seed, p, decay, use_groups):
    rng, C, w = cost_instance(seed, n=12, m=7)
    fixed = [6]
    kw = {}
    groups = None
    if use_groups:
        groups = groups_for(rng, 7)
        kw = dict(groups=groups, min_per_group=np.array([1, 0, 1]))
        p = max(p, 2)
    exact = max_attendance(C, p, weights=w, decay=decay, cutoff=2500, fixed=fixed, solver="highs", time_limit=20, **kw)
    assert exact.status == "optimal"
    for solver in ("greedy", "auto"):
        sol = max_attendance(C, p, weights=w, decay=decay, cutoff=2500, fixed=fixed, solver=solver, time_limit=20, **kw)
        check_common(sol, exact, "max", fixed, p, groups, kw.get("min_per_group"))
        again = max_attendance(C, p, weights=w, decay=decay, cutoff=2500, fixed=fixed, solver=solver, time_limit=20, **kw)
        assert np.array_equal(again.selected, sol.selected)
    auto = max_attendance(C, p, weights=w, decay=decay, cutoff=2500, fixed=fixed, solver="auto", time_limit=20, **kw)
    assert np.isclose(auto.objective, exact.objective)
