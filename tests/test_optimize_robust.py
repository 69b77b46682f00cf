"""Robust siting over demand scenarios against brute force; the scenario generator's rules."""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from geoplan.exceptions import InputError
from geoplan.optimize.robust import demand_scenarios, robust_siting


def tiny(seed: int, n: int = 9, m: int = 6, K: int = 3):
    rng = np.random.default_rng(seed)
    A = (rng.random((n, m)) < 0.35).astype(int)
    W = rng.integers(0, 20, (K, n)).astype(float)
    fixed = [0] if seed % 3 == 0 else []
    return A, W, fixed


def covs(A, W, fixed, sel):
    fixcov = A[:, fixed].sum(axis=1) > 0 if fixed else np.zeros(A.shape[0], bool)
    cov = fixcov | (A[:, list(sel)].sum(axis=1) > 0)
    return (W * (cov & ~fixcov)).sum(axis=1)


@pytest.mark.parametrize("seed", range(25))
def test_robust_plans_match_brute_force(seed: int) -> None:
    A, W, fixed = tiny(seed)
    p = 2
    cand = [j for j in range(A.shape[1]) if j not in fixed]
    table = {sel: covs(A, W, fixed, sel) for sel in combinations(cand, p)}
    opt = np.max(np.array(list(table.values())), axis=0)
    r = robust_siting(A, p, weights=W, fixed=fixed, probabilities=[1, 2, 1])
    assert r.optimum == pytest.approx(opt) and (r.optimum_bound >= opt - 1e-9).all()
    assert r.worst.objective == pytest.approx(max(c.min() for c in table.values()))
    assert r.worst.status == "optimal" and r.worst.bound >= r.worst.objective
    prob = np.array([0.25, 0.5, 0.25])
    assert (prob * r.coverage["expected"]).sum() == pytest.approx(max((prob * c).sum() for c in table.values()))
    assert -r.regret.objective == pytest.approx(min((opt - c).max() for c in table.values()))
    t = r.regret_table()
    assert t.loc["worst-case", "worst coverage"] == pytest.approx(r.worst.objective)
    assert (t["max regret"] >= -1e-9).all() and (t["max regret ≤"] >= t["max regret"] - 1e-9).all()
    for s in range(3):
        assert t.loc[f"optimum s{s}", f"s{s}"] == pytest.approx(0.0)


def test_scenarios_follow_the_documented_rules() -> None:
    pop = np.array([100.0, 200.0, 300.0])
    urban = np.array([True, False, False])
    W = demand_scenarios(pop, urban, k=50, seed=3, noise=0.0)
    assert (W[0] == pop).all()
    ratio = W[1:] / pop
    assert (ratio[:, 0] >= 1.0).all() and (ratio[:, 0] <= 1.15 + 1e-12).all()  # urban growth
    assert (ratio[:, 1:] <= 1.0).all() and (ratio[:, 1:] >= 0.8 - 1e-12).all()  # rural decline
    assert np.allclose(ratio[:, 1], ratio[:, 2])  # one rate per scenario
    again = demand_scenarios(pop, urban, k=50, seed=3, noise=0.0)
    assert (again == W).all()
    assert not (demand_scenarios(pop, urban, k=5, seed=1) == demand_scenarios(pop, urban, k=5, seed=2)).all()


@pytest.mark.parametrize("call,match", [
    (lambda: robust_siting(np.eye(3), 1, weights=[[1, 2]]), r"weights: expected a \(K, 3\)"),
    (lambda: robust_siting(np.eye(2), 1, weights=[[1, -2]]), "scenario 0, demand point 1"),
    (lambda: robust_siting(np.eye(2), 1, weights=[[1, 2]], probabilities=[1, 1]), "probabilities"),
    (lambda: demand_scenarios([1, 2], [1, 0]), "urban"),
    (lambda: demand_scenarios([1, 2], [True, False], rural_decline=(0.5, 1.5)), "rural_decline"),
    (lambda: demand_scenarios([1, 2], [True, False], k=0), "k"),
])
def test_bad_input_is_a_clear_error(call, match: str) -> None:  # noqa: ANN001
    with pytest.raises(InputError, match=match):
        call()


# -- the census rule ---------------------------------------------------------------------------------
def test_census_rates_follow_the_documented_derivation() -> None:
    from geoplan.optimize.robust import JIANGSU_YANCHENG_2010_2020, CensusTrend, census_trend_rates

    # Yancheng as a whole, 2020: 4,301,656 urban, 2,407,973 rural (6,709,629); 2010: about 7,260,200 residents
    U, R = 4_301_656.0, 2_407_973.0
    u0 = U / (U + R) - (0.7344 - 0.6058)  # Jiangsu's +12.86 points, back from 64.11 % to 51.25 %
    T0 = 7_260_200.0
    g, d = census_trend_rates([U, 0.0, 500.0], [R, 0.0, 0.0])
    assert g[0] == pytest.approx((U / (u0 * T0)) ** 0.1 - 1) and d[0] == pytest.approx(1 - (R / ((1 - u0) * T0)) ** 0.1)
    assert 0.014 < g[0] < 0.015 and 0.037 < d[0] < 0.038  # +1.46 % urban, −3.78 % rural a year
    assert (g[1], d[1], d[2]) == (0.0, 0.0, 0.0)  # nobody (or no rural people): no rate
    assert JIANGSU_YANCHENG_2010_2020.population_ratio == pytest.approx(6_709_629 / 7_260_200)
    # a more urban county loses its rural people faster and grows its towns slower
    g2, d2 = census_trend_rates([880.0, 585.0], [120.0, 415.0])
    assert d2[0] > d2[1] and g2[0] < g2[1]
    # no urbanisation and no population change: no trend at all
    g3, d3 = census_trend_rates([600.0], [400.0], CensusTrend(urban_share_rise=0.0, population_ratio=1.0))
    assert g3[0] == pytest.approx(0.0) and d3[0] == pytest.approx(0.0)
    with pytest.raises(InputError, match="census trend"):
        CensusTrend(urban_share_rise=1.5, population_ratio=1.0)


def test_census_scenarios_carry_each_places_rate_forward() -> None:
    from geoplan.optimize.robust import census_scenarios

    pop = np.array([100.0, 200.0, 300.0])
    rate = np.array([0.02, -0.04, -0.04])
    W = census_scenarios(pop, rate, k=30, seed=5, horizon_years=5, pace=(0.5, 1.5), noise=0.0)
    assert (W[0] == pop).all()
    ratio = W[1:] / pop
    t = np.log(ratio[:, 0]) / (5 * np.log1p(0.02))  # the pace each scenario drew
    assert ((t >= 0.5 - 1e-9) & (t <= 1.5 + 1e-9)).all()
    assert np.allclose(ratio[:, 1], 0.96 ** (5 * t)) and np.allclose(ratio[:, 1], ratio[:, 2])
    assert (census_scenarios(pop, rate, k=30, seed=5, noise=0.0) == W).all()
    assert not (census_scenarios(pop, rate, k=5, seed=1) == census_scenarios(pop, rate, k=5, seed=2)).all()
    with pytest.raises(InputError, match="annual_rate"):
        census_scenarios(pop, [0.1, -1.0, 0.0])
    with pytest.raises(InputError, match="pace"):
        census_scenarios(pop, rate, pace=(1.0, 0.5))
