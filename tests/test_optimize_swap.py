"""Swap (vertex substitution) local search: the batched rounds used on large
models end at a true local optimum, every applied swap improves, and the
search reports whether it reached one (``stats``).
"""
from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.sparse as sp

import geoplan.optimize.greedy as G
from geoplan.optimize.greedy import Model, evaluate, greedy, swap_search


def _model(seed: int, n: int = 300, m: int = 80, p: int = 8, coverage: bool = True) -> Model:
    rng = np.random.default_rng(seed)
    A = sp.random(n, m, density=0.06, format="csr", random_state=rng, data_rvs=np.ones)
    w = rng.integers(1, 40, n).astype(float)
    if coverage:
        B = sp.csr_matrix(A.multiply(w[:, None]))
        B.sort_indices()
        return Model(B=B, bonus=np.zeros(m), p=p, coverage=True, w=w, integral=True)
    B = sp.csr_matrix(A.multiply(rng.integers(1, 9, A.shape)))  # general benefits with ties
    B.sort_indices()
    return Model(B=B, bonus=np.zeros(m), p=p)


def _best_single_swap(model: Model, sel: np.ndarray) -> float:
    base = evaluate(model, sel)
    out = 0.0
    for j in sel:
        for k in np.setdiff1d(np.arange(model.m), sel):
            out = max(out, evaluate(model, np.r_[sel[sel != j], k]) - base)
    return out


@pytest.mark.parametrize("coverage", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_batched_rounds_end_at_a_local_optimum(monkeypatch, seed, coverage):
    model = _model(seed, coverage=coverage)
    g = greedy(model)
    plain = swap_search(model, g, time.perf_counter() + 60)
    monkeypatch.setattr(G, "SWAP_BATCH_NNZ", 0)  # batch on this small model
    stats: dict = {}
    batched = swap_search(model, g, time.perf_counter() + 60, stats=stats)
    assert stats["local_optimum"]
    assert len(batched) == len(g) == len(np.unique(batched))
    assert evaluate(model, batched) >= evaluate(model, g)
    assert _best_single_swap(model, batched) <= 1e-9 * evaluate(model, batched)
    assert _best_single_swap(model, plain) <= 1e-9 * evaluate(model, plain)
    again = swap_search(model, g, time.perf_counter() + 60)  # deterministic
    np.testing.assert_array_equal(again, batched)


@pytest.mark.parametrize("seed", range(6))
def test_every_batched_round_improves_by_its_computed_gain(monkeypatch, seed):
    """Independent swaps keep their gains: one round (max_iter=1) with
    batching gains at least what the single best swap gains."""
    model = _model(seed, n=500, m=120, p=12)
    g = greedy(model)
    one = swap_search(model, g, time.perf_counter() + 60, max_iter=1)
    monkeypatch.setattr(G, "SWAP_BATCH_NNZ", 0)
    stats: dict = {}
    many = swap_search(model, g, time.perf_counter() + 60, max_iter=1, stats=stats)
    assert evaluate(model, many) >= evaluate(model, one) - 1e-9
    assert not stats["local_optimum"] or np.array_equal(many, g)  # one round: a local optimum only if nothing moved


def test_stats_say_when_the_search_was_cut_off():
    model = _model(1, n=800, m=200, p=20)
    g = greedy(model)
    stats: dict = {}
    one = swap_search(model, g, time.perf_counter() + 60, max_iter=1, stats=stats)
    full: dict = {}
    best = swap_search(model, g, time.perf_counter() + 60, stats=full)
    assert full["local_optimum"]
    assert not np.array_equal(one, g) and not stats["local_optimum"]  # the round swapped: not known optimal
    assert stats["rounds"] == 1 and full["rounds"] >= 1
    assert evaluate(model, best) >= evaluate(model, one)
    swap_search(model, g, time.perf_counter() - 1, stats=stats)  # past its deadline
    assert stats == {"local_optimum": False, "rounds": 0}
