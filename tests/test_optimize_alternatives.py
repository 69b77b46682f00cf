"""Diverse near-optimal plans, site certainty and forcing costs against brute force."""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from geoplan.exceptions import InputError
from geoplan.optimize.alternatives import alternatives


def tiny(seed: int, n: int = 10, m: int = 7):
    rng = np.random.default_rng(seed)
    A = (rng.random((n, m)) < 0.3).astype(int)
    A[rng.integers(0, n), :2] = 1  # some overlap
    w = rng.integers(1, 20, n).astype(float)
    fixed = [m - 1] if seed % 3 == 0 else []
    return A, w, fixed


def value(A, w, fixed, sel) -> float:
    fixcov = A[:, fixed].sum(axis=1) > 0 if fixed else np.zeros(len(w), bool)
    cov = fixcov | (A[:, list(sel)].sum(axis=1) > 0) if len(sel) else fixcov
    return float(w[cov & ~fixcov].sum())


def all_plans(A, w, fixed, p):
    cand = [j for j in range(A.shape[1]) if j not in fixed]
    return {sel: value(A, w, fixed, sel) for k in range(p + 1) for sel in combinations(cand, k)}


@pytest.mark.parametrize("seed", range(20))
@pytest.mark.parametrize("tol", [0.0, 0.1, 0.3])
def test_plans_are_within_tolerance_distinct_and_exhaustive(seed: int, tol: float) -> None:
    A, w, fixed = tiny(seed)
    p = 2
    plans = all_plans(A, w, fixed, p)
    opt = max(plans.values())
    alt = alternatives(A, p, weights=w, fixed=fixed, tolerance=tol, n_plans=8, exact_force=0)
    assert alt.certified and alt.optimum.objective == pytest.approx(opt)
    assert alt.threshold == pytest.approx((1 - tol) * opt)
    found = [tuple(sorted(pl.tolist())) for pl in alt.plans]
    assert len(set(found)) == len(found)
    for pl, obj in zip(found, alt.objectives):
        assert obj == pytest.approx(plans[pl]) and obj >= (1 - tol) * opt - 1e-9 and len(pl) <= p
    if alt.exhausted:  # every other plan reaching the threshold contains a found one
        for sel, v in plans.items():
            if v >= alt.threshold - 1e-9:
                assert any(set(f) <= set(sel) for f in found), sel
    if len(found) >= 2:  # the second plan shares as few sites with the first as any plan can
        fewest = min(len(set(sel) & set(found[0])) for sel, v in plans.items()
                     if v >= alt.threshold - 1e-9 and not set(found[0]) <= set(sel))
        assert len(set(found[1]) & set(found[0])) == fewest
    for j, kind, count in zip(alt.site, alt.kind, alt.n_plans):
        holds = sum(int(j) in f for f in found)
        assert count == holds
        assert kind == ("firm" if holds == len(found) else "only-one" if holds == 1 else "swappable")


@pytest.mark.parametrize("seed", range(20))
def test_forcing_costs_bracket_the_true_cost(seed: int) -> None:
    A, w, fixed = tiny(seed)
    p = 2
    plans = all_plans(A, w, fixed, p)
    opt = max(plans.values())
    alt = alternatives(A, p, weights=w, fixed=fixed, tolerance=0.0, n_plans=1, exact_force=3)
    for j, lo, hi in zip(alt.candidates, alt.force_low, alt.force_high):
        true = opt - max(v for sel, v in plans.items() if int(j) in sel)
        assert lo - 1e-9 <= true <= hi + 1e-9, (j, lo, true, hi)
        if int(j) in alt.exact:
            elo, ehi = alt.exact[int(j)]
            assert elo == pytest.approx(true) and ehi == pytest.approx(true)
    assert len(alt.exact) == min(3, len(alt.candidates))
    table = alt.force_table()
    assert list(table["force_high"]) == sorted(table["force_high"])


def test_a_unique_optimum_is_reported_as_exhausted_and_firm() -> None:
    A = np.array([[1, 0], [0, 1]])
    alt = alternatives(A, 1, weights=[10, 1], tolerance=0.05, n_plans=3)
    assert [pl.tolist() for pl in alt.plans] == [[0]] and alt.exhausted
    assert alt.kind.tolist() == ["firm"]
    assert alt.exact[1] == pytest.approx((9.0, 9.0))


@pytest.mark.parametrize("kw,match", [({"tolerance": 0.9}, "tolerance"), ({"tolerance": "x"}, "tolerance"),
                                      ({"n_plans": 0}, "n_plans"), ({"n_plans": 2.5}, "n_plans"),
                                      ({"p": 3}, "p: 3 is larger")])
def test_bad_input_is_a_clear_error(kw: dict, match: str) -> None:
    args = {"coverage": np.eye(2, dtype=int), "weights": [1, 2], "p": 1} | kw
    with pytest.raises(InputError, match=match):
        alternatives(**args)
