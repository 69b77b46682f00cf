"""The anytime rule of ``solver="auto"`` (issue 12): whatever the time limit,
the answer is never worse than the greedy + swap incumbent, the bound is
valid (never better than the optimum justifies) and never looser than the
best bound a phase produced, the time limit is honoured, and the Solution
names the phases that found the incumbent and the bound."""
from __future__ import annotations

import time
from itertools import combinations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import geoplan.optimize._engine as engine
from geoplan.optimize import max_attendance, max_coverage, p_median
from geoplan.optimize.greedy import Model, evaluate, greedy, swap_search
from geoplan.optimize.lagrange import subgradient

LIMITS = (1e-3, 0.02, 0.2, 5.0)
INCUMBENT_PHASES = {"greedy", "swap", "Lagrangian heuristic", "kernel MIP", "MIP", "fixing", "best sites by group"}
BOUND_PHASES = {"Lagrangian", "LP", "MIP", "fixing", "trivial", "none"}


def _instance(seed: int, n: int, m: int, dens: float):
    rng = np.random.default_rng(seed)
    A = sp.random(n, m, density=dens, format="csr", random_state=rng, data_rvs=np.ones)
    w = rng.integers(1, 60, n).astype(float) if seed % 2 else rng.lognormal(2, 1, n)
    return A, w


def _brute_mclp(A: np.ndarray, w: np.ndarray, p: int) -> float:
    return max(float(w[A[:, list(c)].any(axis=1)].sum()) for c in combinations(range(A.shape[1]), p))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), p=st.integers(1, 4), limit=st.sampled_from(LIMITS))
def test_short_limits_never_overclaim_and_never_lose_greedy(seed, p, limit):
    A, w = _instance(seed, 18, 9, 0.25)
    opt = _brute_mclp(A.toarray(), w, p)
    sol = max_coverage(A, p, weights=w, solver="auto", time_limit=limit, seed=seed % 7)
    assert sol.objective <= opt * (1 + 1e-9) + 1e-9
    assert sol.bound >= opt * (1 - 1e-9) - 1e-9, "a bound better than the optimum"
    if limit >= 5:  # given the time, auto is never worse than greedy (+ swap + Lagrangian heuristic)
        g = max_coverage(A, p, weights=w, solver="greedy", time_limit=limit, seed=seed % 7)
        # (the LP's interior-point multipliers may leave a bound 1e-12 above the subgradient's)
        assert sol.objective >= g.objective * (1 - 1e-12) and sol.bound <= g.bound * (1 + 1e-9)
    assert sol.incumbent_by in INCUMBENT_PHASES and sol.bound_by in BOUND_PHASES


def _model(seed: int, n: int = 400, m: int = 120) -> Model:
    A, w = _instance(seed, n, m, 0.04)
    B = sp.csr_matrix(A.multiply(w[:, None]))
    return Model(B=B, bonus=np.zeros(m), p=12, coverage=True, w=w, integral=bool(np.all(w == np.round(w))))


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("limit", LIMITS)
def test_engine_keeps_the_swap_answer_and_the_best_bound(seed, limit):
    model = _model(seed)
    g = greedy(model)
    s = swap_search(model, g, time.perf_counter() + 60)
    ub = subgradient(model, s, evaluate(model, s), time.perf_counter() + 60)[0]
    res = engine.solve_model(model, "auto", limit, seed, time.perf_counter())
    assert res.objective >= evaluate(model, g) - 1e-9
    if limit >= 5:  # with time, at least the full swap answer and the full Lagrangian bound
        assert res.objective >= evaluate(model, s) - 1e-9
        assert res.bound <= ub + 1e-9


def test_a_cut_off_mip_never_worsens_answer_or_bound(monkeypatch):
    """HiGHS stopped by the time limit with a poor answer and a useless
    bound: auto still reports the swap answer and the Lagrangian/LP bound."""
    model = _model(5)
    ref = engine.solve_model(model, "greedy", 60, 0, time.perf_counter())
    g = greedy(model)
    monkeypatch.setattr(engine, "solve_highs", lambda m, f0, f1, warm, tl, seed: (g[:1], 0.0, np.inf, "time_limit"))
    monkeypatch.setattr(engine, "coverage_lp", lambda m, tl: None)  # force the Lagrangian route
    monkeypatch.setattr(engine, "MIP_MIN_SECONDS", 0.0)  # let the MIP start
    res = engine.solve_model(model, "auto", 60, 0, time.perf_counter())
    assert res.objective >= ref.objective - 1e-9
    assert np.isfinite(res.bound) and res.bound <= ref.bound + 1e-9
    assert res.incumbent_by != "MIP"


@pytest.mark.parametrize("limit", [0.05, 0.3])
def test_no_phase_runs_past_the_time_limit(monkeypatch, limit):
    """The time limit, on the deterministic clock (so no wall-clock
    assertion): every loop of every phase checks the deadline, so a call
    reads the clock past ``t0 + limit`` only a few times more than the
    fixed number of readings any call makes (the documented minimum)."""
    rng = np.random.default_rng(1)
    n, m = 3_000, 400
    A = sp.random(n, m, density=12 / m, format="csr", random_state=rng, data_rvs=np.ones)
    w = rng.lognormal(3, 1, n)
    C = sp.csr_matrix((A.data * 1500, A.indices, A.indptr), shape=A.shape)
    for solve in (lambda tl: max_coverage(A, 40, weights=w, time_limit=tl),
                  lambda tl: max_attendance(C, 40, weights=w, time_limit=tl)):
        _, minimum = _on_clock(monkeypatch, lambda: solve(1e-9))
        # a call past its deadline still reads the clock once per phase: a
        # few dozen readings, whatever the instance (the loops stop at once)
        assert minimum <= 0.05, minimum
        _, took = _on_clock(monkeypatch, lambda: solve(limit))
        assert took <= 1.1 * limit + minimum, (took, minimum, limit)


@pytest.mark.parametrize("seed", range(3))
def test_p_median_short_limits_keep_valid_bounds(seed):
    rng = np.random.default_rng(seed)
    x = rng.random((12, 2)) * 1000
    D = np.hypot(*(x[:, None, :] - x[None, :, :]).transpose(2, 0, 1))
    opt = min(D[:, list(c)].min(axis=1).sum() for c in combinations(range(12), 3))
    for limit in LIMITS:
        sol = p_median(D, 3, solver="auto", time_limit=limit)
        assert sol.bound <= opt * (1 + 1e-9) + 1e-9 <= sol.objective * (1 + 1e-9) + 2e-9


class _Clock:
    """A deterministic stand-in for ``time.perf_counter``: every reading
    advances it by ``tick`` seconds, so a time limit becomes a work limit
    (a number of clock readings: swap and subgradient iterations, phase
    starts) that is the same on every run and every machine.
    """

    def __init__(self, tick: float = 1e-3) -> None:
        self.now, self.tick = 0.0, tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


def _on_clock(monkeypatch, solve):
    clock = _Clock()
    monkeypatch.setattr(time, "perf_counter", clock)
    try:
        return solve(), clock.now
    finally:
        monkeypatch.undo()


# fake seconds at 1 ms a reading: from "the greedy route is cut off at once" to "everything finishes"
WORK_LIMITS = (0.002, 0.01, 0.03, 0.1, 0.3, 3.0, 60.0)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("limit", WORK_LIMITS)
def test_auto_never_loses_to_greedy_in_the_same_work_limit(monkeypatch, seed, limit):
    """The monotone rule at every limit: on the same (deterministic) clock,
    ``auto`` returns at least greedy's answer and at most greedy's bound,
    and both bounds are valid against the brute-force optimum.  (On models
    this small ``auto``'s capped heuristic search ends within its cap or is
    resumed in time, so the strict comparison with ``solver="greedy"``
    holds; in general ``auto`` is bound only by the greedy + swap answer.)"""
    A, w = _instance(seed, 16, 10, 0.25)
    p = 2 + seed % 3
    opt = _brute_mclp(A.toarray(), w, p)
    g, _ = _on_clock(monkeypatch, lambda: max_coverage(A, p, weights=w, solver="greedy", time_limit=limit))
    a, _ = _on_clock(monkeypatch, lambda: max_coverage(A, p, weights=w, solver="auto", time_limit=limit))
    for sol in (g, a):
        assert sol.objective <= opt * (1 + 1e-9) + 1e-9
        assert sol.bound >= opt * (1 - 1e-9) - 1e-9, "a bound better than the optimum"
    assert a.objective >= g.objective - 1e-9, (limit, a, g)
    assert a.bound <= g.bound + 1e-9, (limit, a, g)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("limit", WORK_LIMITS)
def test_engine_auto_starts_from_the_greedy_route_on_the_same_clock(monkeypatch, seed, limit):
    """On a model big enough for the greedy route to be cut off at short
    limits: auto's answer and bound are never worse than the greedy route's,
    and once that route finishes, auto's answer is at least its finished
    answer (the deterministic local optimum + Lagrangian heuristic)."""
    model = _model(seed)
    g, _ = _on_clock(monkeypatch, lambda: engine.solve_model(model, "greedy", limit, seed, time.perf_counter()))
    a, _ = _on_clock(monkeypatch, lambda: engine.solve_model(model, "auto", limit, seed, time.perf_counter()))
    assert a.objective >= g.objective - 1e-9 and evaluate(model, a.selected) == pytest.approx(a.objective)
    assert a.bound <= g.bound + 1e-9
    full, _ = _on_clock(monkeypatch, lambda: engine.solve_model(model, "greedy", 1e6, seed, time.perf_counter()))
    if limit >= 60:
        assert g.objective == pytest.approx(full.objective) and g.bound == pytest.approx(full.bound)
        assert a.objective >= full.objective - 1e-9


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("limit", WORK_LIMITS)
def test_groups_and_attendance_keep_the_rule(monkeypatch, seed, limit):
    """The same rule through the other front ends of the engine: group
    minimums and caps (coverage) and the general benefit model (attendance)."""
    rng = np.random.default_rng(seed)
    A, w = _instance(seed, 30, 12, 0.2)
    grp = rng.integers(0, 3, 12)
    kw = dict(weights=w, groups=grp, min_per_group=1, group_caps=2, time_limit=limit)
    g, _ = _on_clock(monkeypatch, lambda: max_coverage(A, 4, solver="greedy", **kw))
    a, _ = _on_clock(monkeypatch, lambda: max_coverage(A, 4, solver="auto", **kw))
    if g.status != "infeasible" and np.isfinite(g.objective):
        assert a.objective >= g.objective - 1e-9 and a.bound <= g.bound + 1e-9
    C = sp.csr_matrix((rng.random(A.nnz) * 2500, A.indices, A.indptr), shape=A.shape)
    g, _ = _on_clock(monkeypatch, lambda: max_attendance(C, 3, weights=w, solver="greedy", time_limit=limit))
    a, _ = _on_clock(monkeypatch, lambda: max_attendance(C, 3, weights=w, solver="auto", time_limit=limit))
    assert a.objective >= g.objective - 1e-9 and a.bound <= g.bound + 1e-9


@pytest.mark.parametrize("seed", range(6))
def test_coverage_fast_path_equals_the_general_reduced_values(seed):
    """The coverage models' reduced values by one product with the
    transposed pattern are the per-entry values of the general form."""
    from geoplan.optimize.lagrange import _served_count, _site_values

    model = _model(seed, 200, 60)
    rng = np.random.default_rng(seed)
    u = model.w * rng.random(model.n) * 1.2  # some rows over their weight: no positive part
    general = Model(B=model.B, bonus=model.bonus, p=model.p)  # same matrix, per-entry form
    v1, pos1 = _site_values(model, u)
    v2, pos2 = _site_values(general, u)
    np.testing.assert_allclose(v1, v2, rtol=1e-12, atol=1e-9)
    intop = np.zeros(model.m, bool)
    intop[rng.choice(model.m, model.p, replace=False)] = True
    np.testing.assert_array_equal(_served_count(model, pos1, intop), _served_count(general, pos2, intop))


def _brute_values(A: np.ndarray, w: np.ndarray, p: int) -> list[tuple[tuple[int, ...], float]]:
    return [(c, float(w[A[:, list(c)].any(axis=1)].sum())) for c in combinations(range(A.shape[1]), p)]


@pytest.mark.parametrize("seed", range(12))
def test_kernel_fixing_never_cuts_off_a_better_solution(monkeypatch, seed):
    """After the kernel MIP from the Lagrangian multipliers, every selection
    worth more than the new incumbent opens no site fixed closed and every
    site fixed open (brute force over all selections), and the bound holds."""
    A, w = _instance(seed, 60, 18, 0.15)
    w = np.round(w) + 1
    p = 4
    B = sp.csr_matrix(A.multiply(w[:, None]))
    model = Model(B=B, bonus=np.zeros(A.shape[1]), p=p, coverage=True, w=w, integral=True)
    g = greedy(model)
    # good multipliers, a weak incumbent (greedy, no swap) and a small kernel,
    # so that the kernel improves on it without always reaching the optimum
    ub, f0, f1, top, u = subgradient(model, g, evaluate(model, g), time.perf_counter() + 60)
    monkeypatch.setattr(engine, "KERNEL_FACTOR", 1)
    lag = engine._Lagrangian(g, evaluate(model, g), "greedy", ub, f0, f1, u)
    out = engine._kernel_from_multipliers(model, lag, 60, time.perf_counter() + 60, seed)
    allv = _brute_values(A.toarray(), w, p)
    opt = max(v for _, v in allv)
    assert out.lb <= opt + 1e-9 and out.ub >= opt - 1e-9 and evaluate(model, out.s) == pytest.approx(out.lb)
    for sel, v in allv:
        if v > out.lb + 1e-6:
            assert not out.fix0[list(sel)].any(), (sel, v, out.lb)
            assert set(np.flatnonzero(out.fix1)) <= set(sel), (sel, v, out.lb)


@pytest.mark.parametrize("seed", range(6))
def test_exact_phases_after_a_weak_greedy_route_stay_valid(monkeypatch, seed):
    """With the greedy route crippled (no swap, a 3-step subgradient), auto's
    kernel, LP, fixing and MIP phases carry the whole proof: the answer is
    the brute-force optimum, valued exactly, and the bound is valid."""
    A, w = _instance(seed, 50, 16, 0.18)
    p = 4
    monkeypatch.setattr(engine, "swap_search", lambda model, sel, deadline, **k: np.asarray(sel, np.int64))
    real = engine.subgradient
    monkeypatch.setattr(engine, "subgradient", lambda *a, **k: real(*a, **(k | {"max_iter": 3})))
    sol = max_coverage(A, p, weights=w, solver="auto", time_limit=60)
    opt = max(v for _, v in _brute_values(A.toarray(), w, p))
    assert sol.bound >= opt * (1 - 1e-9) - 1e-9
    assert sol.objective <= opt * (1 + 1e-9) + 1e-9
    assert sol.status == "optimal" and sol.objective == pytest.approx(opt)
    assert float(w[A[:, sol.selected].toarray().any(axis=1)].sum()) == pytest.approx(sol.objective)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 100_000))
def test_vectorised_coverage_greedy_is_the_lazy_greedy(seed):
    """The coverage models' vectorised greedy picks what the lazy heap greedy
    of the general form picks, ties (lowest index) and zero-gain fill included."""
    from geoplan.optimize.greedy import _coverage_greedy

    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(5, 60)), int(rng.integers(2, 25))
    A = sp.random(n, m, density=rng.uniform(0.05, 0.5), format="csr", random_state=rng, data_rvs=np.ones)
    w = rng.integers(1, 9, n).astype(float) if seed % 3 else rng.lognormal(1, 1, n)
    bonus = np.zeros(m) if seed % 2 else rng.integers(0, 5, m).astype(float)
    B = sp.csr_matrix(A.multiply(w[:, None]))
    B.sort_indices()
    p = int(rng.integers(1, m + 1))
    fast = _coverage_greedy(Model(B=B, bonus=bonus, p=p, coverage=True, w=w))
    heap = greedy(Model(B=B, bonus=bonus, p=p))  # the general (per-entry) form takes the heap
    np.testing.assert_array_equal(fast, heap)


@pytest.mark.parametrize("seed", [3, 4, 5, 7])  # models whose best greedy-route answer is the heuristic's
def test_a_capped_heuristic_resumed_after_the_exact_phases_ends_where_greedy_ends(monkeypatch, seed):
    """``auto`` caps the Lagrangian heuristic's swap search and resumes it
    after the exact phases: with the cap at 0 iterations and exact phases
    that find nothing, the resumed search (deterministic: each step depends
    on the current set only) reaches ``solver="greedy"``'s uncapped answer."""
    model = _model(seed)
    ref = engine.solve_model(model, "greedy", 60, 0, time.perf_counter())
    monkeypatch.setattr(engine, "HEURISTIC_MIN_ROUNDS", 0)
    calls = []
    real = engine._finish_heuristic
    monkeypatch.setattr(engine, "_finish_heuristic", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setattr(engine, "solve_highs", lambda m, f0, f1, warm, tl, seed: (None, np.nan, np.inf, "time_limit"))
    monkeypatch.setattr(engine, "coverage_lp", lambda m, tl: None)
    res = engine.solve_model(model, "auto", 60, 0, time.perf_counter())
    assert ref.incumbent_by == "Lagrangian heuristic" and calls, "the capped search was not resumed"
    assert res.objective >= ref.objective - 1e-9
    np.testing.assert_array_equal(res.selected, ref.selected)


def test_an_lp_that_cannot_finish_in_its_share_is_not_started(monkeypatch):
    """The LP route is skipped when its expected time (LP_SECONDS at
    LP_REF_ROWS rows) is more than twice its share of the limit; the answer
    is then still valid and at least the greedy route's."""
    model = _model(4)
    ref = engine.solve_model(model, "greedy", 5, 0, time.perf_counter())
    calls = []
    real = engine.coverage_lp
    monkeypatch.setattr(engine, "coverage_lp", lambda m, tl: calls.append(tl) or real(m, tl))
    engine.solve_model(model, "auto", 5, 0, time.perf_counter())
    assert calls, "a small model's LP is started"
    calls.clear()
    monkeypatch.setattr(engine, "LP_SECONDS", 1e6)
    res = engine.solve_model(model, "auto", 5, 0, time.perf_counter())
    assert not calls
    assert res.objective >= ref.objective - 1e-9 and res.bound <= ref.bound + 1e-9
