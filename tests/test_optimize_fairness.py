"""Fairness models against brute force on tiny instances, their certificates and their errors."""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from geoplan.exceptions import InputError
from geoplan.optimize import max_coverage
from geoplan.optimize.fairness import (
    max_coverage_town_floor,
    max_min_town_share,
    price_of_fairness,
    share_spread,
    town_shares,
)


def tiny(seed: int, n: int = 9, m: int = 7, n_towns: int = 3, density: float = 0.3):
    rng = np.random.default_rng(seed)
    A = (rng.random((n, m)) < density).astype(int)
    w = rng.integers(1, 20, n).astype(float)
    towns = rng.integers(0, n_towns, n)
    fixed = [0] if seed % 3 == 0 else []
    bonus = rng.integers(0, 3, m).astype(float) if seed % 4 == 1 else None
    return A, w, towns, fixed, bonus


def brute(A, w, towns, fixed, bonus, p):
    """Every plan of p new sites: (objective, shares) by exhaustive enumeration."""
    m = A.shape[1]
    cand = [j for j in range(m) if j not in fixed]
    b = np.zeros(m) if bonus is None else np.asarray(bonus)
    fixcov = A[:, fixed].sum(axis=1) > 0 if fixed else np.zeros(len(w), bool)
    out = []
    for sel in combinations(cand, p):
        cov = fixcov | (A[:, list(sel)].sum(axis=1) > 0)
        obj = w[cov & ~fixcov].sum() + b[list(sel)].sum()
        out.append((obj, town_shares(A, weights=w, towns=towns, selected=list(sel), fixed=fixed), sel))
    return out


@pytest.mark.parametrize("seed", range(24))
@pytest.mark.parametrize("share", [0.0, 0.4, 0.7])
def test_floor_matches_brute_force(seed: int, share: float) -> None:
    A, w, towns, fixed, bonus = tiny(seed)
    p = 2
    plans = brute(A, w, towns, fixed, bonus, p)
    ok = [obj for obj, sh, _ in plans if np.all(sh[np.isfinite(sh)] >= share - 1e-9)]
    if not ok:
        with pytest.raises(InputError, match="min_town_share"):
            max_coverage_town_floor(A, p, weights=w, towns=towns, min_town_share=share, fixed=fixed, site_bonus=bonus)
        return
    sol = max_coverage_town_floor(A, p, weights=w, towns=towns, min_town_share=share, fixed=fixed, site_bonus=bonus)
    assert sol.status == "optimal" and sol.gap <= 1e-6
    assert sol.objective == pytest.approx(max(ok)) and sol.bound >= sol.objective - 1e-9
    sh = sol.extra["town_shares"]
    assert np.all(sh[np.isfinite(sh)] >= share - 1e-7)
    assert len(sol.selected) <= p and not set(sol.selected) & set(fixed)


@pytest.mark.parametrize("seed", range(24))
def test_maxmin_is_lexicographic_optimum(seed: int) -> None:
    A, w, towns, fixed, bonus = tiny(seed)
    p = 2
    plans = brute(A, w, towns, fixed, bonus, p)
    worst = [float(np.nanmin(sh)) for _, sh, _ in plans]
    best_worst = max(worst)
    best_total = max(obj for (obj, _, _), ws in zip(plans, worst) if ws >= best_worst - 1e-9)
    sol = max_min_town_share(A, p, weights=w, towns=towns, fixed=fixed, site_bonus=bonus)
    assert sol.extra["worst_share"] == pytest.approx(best_worst)
    assert sol.extra["worst_share_bound"] >= best_worst - 1e-9 and sol.extra["worst_share_gap"] <= 1e-6
    assert sol.objective == pytest.approx(best_total) and sol.status == "optimal"


@pytest.mark.parametrize("seed", range(8))
def test_price_of_fairness_is_bracketed_by_the_certificates(seed: int) -> None:
    A, w, towns, fixed, bonus = tiny(seed)
    r = price_of_fairness(A, 2, weights=w, towns=towns, fair="maxmin", fixed=fixed, site_bonus=bonus)
    plain = max_coverage(A, 2, weights=w, fixed=fixed, site_bonus=bonus, solver="highs")
    assert r.plain.objective == pytest.approx(plain.objective)
    assert r.price == pytest.approx(r.plain.objective - r.fair.objective) and r.price >= -1e-9
    assert r.price_low - 1e-9 <= r.price <= r.price_high + 1e-9
    assert r.after_fair.min >= r.after_plain.min - 1e-9  # max-min never has a worse worst town
    assert "price of fairness" in r.summary()


def test_spread_statistics() -> None:
    s = share_spread([0.2, 0.4, 0.6, 0.8, np.nan])
    assert s.n_towns == 4 and s.min == 0.2 and s.mean == pytest.approx(0.5)
    assert s.p10 == pytest.approx(np.percentile([0.2, 0.4, 0.6, 0.8], 10))
    x = np.array([0.2, 0.4, 0.6, 0.8])
    gini = np.abs(x[:, None] - x[None, :]).sum() / (2 * len(x) ** 2 * x.mean())
    assert s.gini == pytest.approx(gini)
    assert share_spread([1, 1, 1]).gini == 0.0


def test_towns_that_cannot_reach_the_floor_are_named() -> None:
    A = [[1, 0], [0, 0], [0, 1]]  # row 1 (town b, 30 people) is out of every site's reach
    with pytest.raises(InputError, match=r"Beta: at most 25\.0% of its 40 people.*needs 14 more"):
        max_coverage_town_floor(A, 2, weights=[10, 30, 10], towns=["a", "b", "b"], min_town_share=0.6,
                                town_names=["Alpha", "Beta"])


def test_a_floor_needing_more_sites_than_p_says_how_many() -> None:
    A = np.eye(4, dtype=int)
    with pytest.raises(InputError, match="needs at least 4 new sites, more than p=2"):
        max_coverage_town_floor(A, 2, weights=[1, 1, 1, 1], towns=[0, 1, 2, 3], min_town_share=0.5)


@pytest.mark.parametrize("kw,match", [
    ({"min_town_share": 1.5}, "min_town_share: must be in"), ({"min_town_share": float("nan")}, "min_town_share"),
    ({"towns": [0, 1]}, "towns: expected one label per demand point"),
    ({"p": 5}, "p: 5 is larger"), ({"town_names": ["x"]}, "town_names"),
])
def test_bad_input_is_a_clear_error(kw: dict, match: str) -> None:
    args = {"coverage": np.eye(3, dtype=int), "weights": [1, 2, 3], "p": 1, "towns": [0, 1, 1],
            "min_town_share": 0.5} | kw
    with pytest.raises(InputError, match=match):
        max_coverage_town_floor(**args)
    with pytest.raises(InputError, match="fair"):
        price_of_fairness(np.eye(3), 1, weights=[1, 1, 1], towns=[0, 1, 2], fair="equal")  # type: ignore[arg-type]
