"""The every-town rule (``groups`` / ``min_per_group``) in the fairness, alternatives, robust and
backup models, against brute force over the plans that keep it."""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from geoplan.exceptions import InputError
from geoplan.optimize.alternatives import alternatives
from geoplan.optimize.backup import max_backup_coverage
from geoplan.optimize.fairness import max_coverage_town_floor, max_min_town_share, town_shares
from geoplan.optimize.robust import robust_siting


def case(seed: int):
    rng = np.random.default_rng(seed)
    n, m = 9, 7
    A = (rng.random((n, m)) < 0.35).astype(int)
    w = rng.integers(1, 20, n).astype(float)
    W = rng.integers(0, 20, (3, n)).astype(float)
    towns = rng.integers(0, 3, n)
    groups = np.array([0, 0, 1, 1, 2, 2, 2])
    gmin = np.array([1, 0, 1])
    fixed = [6] if seed % 2 else []
    return A, w, W, towns, groups, gmin, fixed


def plans(A, groups, gmin, fixed, p):
    cand = [j for j in range(A.shape[1]) if j not in fixed]
    for sel in combinations(cand, p):
        have = np.bincount(groups[list(sel) + fixed], minlength=len(gmin))
        if (have >= gmin).all():
            yield sel


def new_cov(A, w, fixed, sel):
    fixcov = A[:, fixed].sum(axis=1) > 0 if fixed else np.zeros(A.shape[0], bool)
    cov = fixcov | (A[:, list(sel)].sum(axis=1) > 0)
    return float(w[cov & ~fixcov].sum())


def keeps_rule(sel, groups, gmin, fixed) -> bool:
    return bool((np.bincount(groups[list(sel) + fixed], minlength=len(gmin)) >= gmin).all())


@pytest.mark.parametrize("seed", range(12))
def test_models_keep_the_group_rule_and_stay_optimal(seed: int) -> None:
    A, w, W, towns, groups, gmin, fixed = case(seed)
    p = 2
    rule = {"groups": groups, "min_per_group": gmin}
    ok = list(plans(A, groups, gmin, fixed, p))
    best = max(new_cov(A, w, fixed, s) for s in ok)
    # floor 0: plain coverage under the rule
    f = max_coverage_town_floor(A, p, weights=w, towns=towns, min_town_share=0.0, fixed=fixed, **rule)
    assert f.objective == pytest.approx(best) and keeps_rule(f.selected.tolist(), groups, gmin, fixed)
    # max-min under the rule
    worst = max(np.nanmin(town_shares(A, weights=w, towns=towns, selected=list(s), fixed=fixed)) for s in ok)
    mm = max_min_town_share(A, p, weights=w, towns=towns, fixed=fixed, **rule)
    assert mm.extra["worst_share"] == pytest.approx(worst) and keeps_rule(mm.selected.tolist(), groups, gmin, fixed)
    # alternatives: every plan keeps the rule and is within the tolerance
    alt = alternatives(A, p, weights=w, fixed=fixed, tolerance=0.2, n_plans=4, exact_force=2, **rule)
    assert alt.optimum.objective == pytest.approx(best)
    for pl, obj in zip(alt.plans, alt.objectives):
        assert keeps_rule(pl.tolist(), groups, gmin, fixed) and obj >= 0.8 * best - 1e-9
    for j, lo, hi in zip(alt.candidates, alt.force_low, alt.force_high):
        with_j = [new_cov(A, w, fixed, s) for s in ok if int(j) in s]
        if with_j:
            assert lo - 1e-9 <= best - max(with_j) <= hi + 1e-9
    # robust worst case under the rule
    r = robust_siting(A, p, weights=W, fixed=fixed, **rule)
    fixcov = A[:, fixed].sum(axis=1) > 0 if fixed else np.zeros(A.shape[0], bool)
    val = max(min(float((Wk * ((fixcov | (A[:, list(s)].sum(axis=1) > 0)) & ~fixcov)).sum()) for Wk in W) for s in ok)
    assert r.worst.objective == pytest.approx(val) and keeps_rule(r.worst.selected.tolist(), groups, gmin, fixed)
    # backup under the rule
    b = max_backup_coverage(A, p, weights=w, fixed=fixed, **rule)
    twice = max(float(w[A[:, list(s) + fixed].sum(axis=1) >= 2].sum()) for s in ok
                if new_cov(A, w, fixed, s) >= best - 1e-9)
    assert b.objective == pytest.approx(twice) and keeps_rule(b.selected.tolist(), groups, gmin, fixed)


def test_a_rule_that_cannot_be_kept_is_a_clear_error() -> None:
    A = np.eye(3, dtype=int)
    with pytest.raises(InputError, match="min_per_group: groups need 2 new sites in total, more than p=1"):
        max_coverage_town_floor(A, 1, weights=[1, 1, 1], towns=[0, 1, 2], min_town_share=0.0, groups=[0, 1, 2],
                                min_per_group=[1, 1, 0])
    with pytest.raises(InputError, match="min_per_group: needs groups"):
        alternatives(A, 1, weights=[1, 1, 1], min_per_group=1)
