"""Exactness of the p-median radius MIP with LP reduced-cost fixing, and of
the resumed subgradient's fixing (brute force on small geometric instances)."""
from itertools import combinations

import numpy as np
import pytest
import scipy.sparse as sp

import geoplan.optimize.mip as mip
from geoplan.optimize import p_median
from geoplan.optimize.greedy import Model, evaluate, greedy, swap_search
from geoplan.optimize.lagrange import subgradient


def _instance(seed: int, n: int = 36, m: int = 30):
    rng = np.random.default_rng(seed)
    d = rng.random((n, 2)) * 10
    s = rng.random((m, 2)) * 10
    D = np.sqrt(((d[:, None, :] - s[None, :, :]) ** 2).sum(-1))
    w = rng.integers(1, 20, n).astype(float)
    U = 2 * D.max() + 1
    B = sp.csr_matrix(w[:, None] * (U - D))
    B.sort_indices()
    return D, w, Model(B=B, bonus=np.zeros(m), p=4, coverage=False)


def _brute(D: np.ndarray, w: np.ndarray, p: int) -> float:
    combos = np.array(list(combinations(range(D.shape[1]), p)))
    best = np.inf
    for chunk in np.array_split(combos, max(1, len(combos) // 4000)):
        best = min(best, float((D[:, chunk].min(axis=2) * w[:, None]).sum(axis=0).min()))
    return best


@pytest.mark.parametrize("seed", range(6))
def test_radius_mip_with_rc_fixing_is_exact(seed):
    D, w, model = _instance(seed)
    g = greedy(model)  # a deliberately weak incumbent, so the LP has a gap to fix against
    z = np.zeros(model.m, bool)
    sel, obj, bound, status = mip.solve_highs(model, z, z, g, 30.0, 0)
    assert status == "optimal"
    cost = float((D[:, sel].min(axis=1) * w).sum())
    assert cost == pytest.approx(_brute(D, w, 4), rel=1e-9)
    assert bound == pytest.approx(obj, rel=1e-9)
    sol = p_median(D, 4, weights=w)
    assert sol.objective == pytest.approx(cost, rel=1e-9) and sol.status == "optimal"


def test_rc_fixing_is_exercised(monkeypatch):
    calls = []
    real = mip._rc_fix
    monkeypatch.setattr(mip, "_rc_fix", lambda *a: calls.append(1) or real(*a))
    for seed in range(6):
        _, _, model = _instance(seed)
        z = np.zeros(model.m, bool)
        mip.solve_highs(model, z, z, greedy(model), 30.0, 0)
    assert calls  # some instance has an LP gap against the greedy incumbent


@pytest.mark.parametrize("seed", range(4))
def test_resumed_subgradient_never_fixes_an_improving_solution(seed):
    D, w, model = _instance(seed, n=30, m=16)
    g = greedy(model)
    lb = evaluate(model, g)
    ub, f0, f1, top, u = subgradient(model, g, lb, 1e18)
    s2 = swap_search(model, top, 1e18)
    lb2 = min(evaluate(model, s2), lb)  # keep some slack so fixing is tested, not trivially empty
    ub2, g0, g1, _, _ = subgradient(model, s2, lb2, 1e18, max_iter=150, u0=u, lam0=0.5)
    fix0, fix1 = f0 | g0, f1 | g1
    best = None
    for c in combinations(range(model.m), 4):
        val = evaluate(model, np.array(c))
        assert val <= min(ub, ub2) + 1e-6 * abs(val)
        if best is None or val > best[0]:
            best = (val, c)
    for c in combinations(range(model.m), 4):
        val = evaluate(model, np.array(c))
        if val > lb + 1e-6 * abs(lb):  # better than the first incumbent: must survive the first fixing
            assert not f0[list(c)].any()
            assert f1[np.flatnonzero(f1)].all() and set(np.flatnonzero(f1)) <= set(c)
        if val > lb2 + 1e-6 * abs(lb2):
            assert not fix0[list(c)].any()
            assert set(np.flatnonzero(fix1)) <= set(c)
