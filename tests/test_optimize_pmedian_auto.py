"""p-median's own ``auto`` route (geoplan/optimize/_pmedian_auto.py) and its
dense Lagrangian (_pmedian_lagrange.py) against brute force on tiny graphs:
the bound is never above the optimum, the answer never below it, fixing
never cuts off an optimal set (ties included), and the MIP phase after
fixing still finds the optimum."""
from __future__ import annotations

import time
from itertools import combinations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import shortest_path

import geoplan.optimize._pmedian_auto as pa
from geoplan.optimize import p_median
from geoplan.optimize._pmedian_lagrange import dense_subgradient
from geoplan.optimize.greedy import Model, evaluate

LIMITS = (1e-3, 0.05, 5.0)


def graph_costs(seed: int, n: int = 12, kind: str = "geometric") -> tuple[np.ndarray, np.ndarray]:
    """All-pairs shortest paths on a small connected graph, and node weights.

    ``lattice``: unit-length 3 × 4 grid (many tied distances, the adversarial
    case for fixing and level sets); ``geometric``: a path through random
    points plus random chords, Euclidean lengths.
    """
    rng = np.random.default_rng(seed)
    if kind == "lattice":
        idx = np.arange(n)
        cols = 4
        e = [(i, i + 1) for i in idx if (i + 1) % cols and i + 1 < n] + [(i, i + cols) for i in idx if i + cols < n]
        E = np.array(e)
        length = np.ones(len(E))
    else:
        xy = rng.random((n, 2)) * 1000
        E = np.array([(i, i + 1) for i in range(n - 1)]
                     + [tuple(rng.choice(n, 2, replace=False)) for _ in range(n)])
        length = np.linalg.norm(xy[E[:, 0]] - xy[E[:, 1]], axis=1) + 1.0
    G = sp.csr_matrix((length, (E[:, 0], E[:, 1])), shape=(n, n))
    D = shortest_path(G, directed=False)
    w = rng.integers(1, 9, n).astype(float) if seed % 2 else np.maximum(np.round(rng.lognormal(2, 1.2, n)), 1)
    return D, w


def brute(D: np.ndarray, w: np.ndarray, p: int, fixed: tuple[int, ...] = ()) -> tuple[float, list[tuple[int, ...]]]:
    """The optimum and every optimal set of new sites."""
    cand = [j for j in range(D.shape[1]) if j not in fixed]
    vals = {S: float((w * D[:, list(S) + list(fixed)].min(axis=1)).sum()) for S in combinations(cand, p)}
    best = min(vals.values())
    return best, [S for S, v in vals.items() if v <= best * (1 + 1e-12) + 1e-9]


def benefit_model(D: np.ndarray, w: np.ndarray, p: int) -> tuple[Model, float]:
    U = 2 * D.max() + 1
    B = sp.csr_matrix(w[:, None] * (U - D))
    B.sort_indices()
    off = float((w * U).sum())
    return Model(B=B, bonus=np.zeros(D.shape[1]), p=p, cost_offset=off), off


@pytest.mark.parametrize("kind", ["lattice", "geometric"])
@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("p", [1, 2, 4])
def test_dense_bound_and_fixing_never_cut_off_the_optimum(kind, seed, p):
    D, w = graph_costs(seed, kind=kind)
    opt, optimal_sets = brute(D, w, p)
    model, off = benefit_model(D, w, p)
    Bd = model.B.toarray()
    rng = np.random.default_rng(seed)
    best_value = off - opt
    for u0 in (Bd.max(axis=1), rng.random(len(w)) * Bd.max(), np.zeros(len(w))):
        # fixing against an incumbent just below the optimum: every optimal set must survive
        lb = best_value - 1e-6
        res = dense_subgradient(Bd, p, u0, lb, time.perf_counter() + 5, model.tol(lb), max_iter=200)
        assert res.ub >= best_value - 1e-6 * max(1.0, best_value), "a Lagrangian bound below the optimum"
        for S in optimal_sets:
            S = np.array(S)
            assert not res.fix0[S].any(), "fixing closed a site of an optimal set"
            assert res.fix1[np.setdiff1d(np.arange(len(w)), S)].sum() == 0, "fixing opened a site outside one"


@pytest.mark.parametrize("dense", [True, False])
@pytest.mark.parametrize("kind", ["lattice", "geometric"])
@pytest.mark.parametrize("seed", range(3))
def test_mip_after_fixing_is_exact(monkeypatch, dense, kind, seed):
    """A deliberately poor start (no swap, first p sites) leaves a gap after the
    Lagrangian phase, so the fixing and the radius MIP run; the answer is
    still the brute-force optimum and the bound equals it."""
    D, w = graph_costs(seed, kind=kind)
    p = 3
    opt, _ = brute(D, w, p)
    monkeypatch.setattr(pa, "greedy", lambda model: np.arange(model.p, dtype=np.int64))
    monkeypatch.setattr(pa, "swap_search", lambda model, sel, deadline: np.asarray(sel, np.int64))
    if not dense:
        monkeypatch.setattr(pa, "DENSE_MAX_ENTRIES", 0)
    calls = []
    real = pa.solve_highs
    monkeypatch.setattr(pa, "solve_highs", lambda *a: calls.append(1) or real(*a))
    sol = p_median(D, p, weights=w, solver="auto", time_limit=20)
    assert sol.status == "optimal"
    assert sol.objective == pytest.approx(opt, rel=1e-9)
    assert sol.bound == pytest.approx(opt, rel=1e-6) and sol.bound <= sol.objective
    model, off = benefit_model(D, w, p)
    first = float(off - evaluate(model, np.arange(p)))
    if first > opt * (1 + 1e-6):  # the poor start was not optimal: some later phase improved it
        assert sol.incumbent_by in {"Lagrangian heuristic", "MIP"}


def test_the_mip_phase_is_exercised(monkeypatch):
    calls = []
    real = pa.solve_highs
    monkeypatch.setattr(pa, "greedy", lambda model: np.arange(model.p, dtype=np.int64))
    monkeypatch.setattr(pa, "swap_search", lambda model, sel, deadline: np.asarray(sel, np.int64))
    monkeypatch.setattr(pa, "solve_highs", lambda *a: calls.append(1) or real(*a))
    for seed in range(3):
        D, w = graph_costs(seed, kind="lattice")
        p_median(D, 3, weights=w, solver="auto", time_limit=20)
    assert calls


@pytest.mark.parametrize("seed", range(3))
def test_fixed_sites_and_unreachable_cost(seed):
    D, w = graph_costs(seed, n=11)
    fixed = (0, 7)
    opt, _ = brute(D, w, 2, fixed)
    sol = p_median(D, 2, weights=w, fixed=list(fixed), solver="auto")
    assert sol.objective == pytest.approx(opt, rel=1e-9) and sol.status == "optimal"
    assert not set(sol.selected) & set(fixed) and set(fixed) <= set(sol.open_sites.tolist())
    # a sparse matrix with missing pairs: unreachable demand priced at unreachable_cost
    C = sp.csr_matrix(np.where(D <= np.median(D), D + 1.0, 0.0))
    ref = p_median(C, 2, weights=w, unreachable_cost=1e5, solver="highs")
    got = p_median(C, 2, weights=w, unreachable_cost=1e5, solver="auto")
    assert got.objective == pytest.approx(ref.objective, rel=1e-9)
    assert got.bound <= ref.objective * (1 + 1e-9)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10**6), p=st.integers(1, 4), limit=st.sampled_from(LIMITS),
       kind=st.sampled_from(["lattice", "geometric"]))
def test_bound_below_optimum_below_objective(seed, p, limit, kind):
    D, w = graph_costs(seed, kind=kind)
    opt, _ = brute(D, w, p)
    sol = p_median(D, p, weights=w, solver="auto", time_limit=limit, seed=seed % 5)
    tol = 1e-9 * max(1.0, opt)
    assert sol.bound <= opt + tol <= sol.objective + 2 * tol
    assert np.isclose(sol.objective, (w * D[:, sol.open_sites].min(axis=1)).sum())
    if limit >= 5:
        assert sol.status == "optimal"
        g = p_median(D, p, weights=w, solver="greedy", time_limit=limit)
        assert sol.objective <= g.objective * (1 + 1e-12)


def test_deterministic():
    D, w = graph_costs(3, n=12)
    a = p_median(D, 3, weights=w, seed=2)
    b = p_median(D, 3, weights=w, seed=2)
    assert np.array_equal(a.selected, b.selected) and a.objective == b.objective
