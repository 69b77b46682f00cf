"""Backup coverage under a coverage floor against brute force."""
from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from geoplan.exceptions import InputError
from geoplan.optimize.backup import max_backup_coverage, reached_twice


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("tol", [0.0, 0.2])
def test_backup_matches_brute_force(seed: int, tol: float) -> None:
    rng = np.random.default_rng(seed)
    n, m, p = 9, 6, 3
    A = (rng.random((n, m)) < 0.4).astype(int)
    w = rng.integers(1, 20, n).astype(float)
    fixed = [0] if seed % 2 else []
    cand = [j for j in range(m) if j not in fixed]
    fixcov = A[:, fixed].sum(axis=1) > 0 if fixed else np.zeros(n, bool)
    rows = []
    for sel in combinations(cand, p):
        cnt = A[:, fixed + list(sel)].sum(axis=1)
        rows.append((w[(cnt > 0) & ~fixcov].sum(), w[cnt >= 2].sum()))
    best_cov = max(c for c, _ in rows)
    best_backup = max(b for c, b in rows if c >= (1 - tol) * best_cov - 1e-9)
    sol = max_backup_coverage(A, p, weights=w, fixed=fixed, coverage_tolerance=tol)
    assert sol.extra["coverage_plain"] == pytest.approx(best_cov)
    assert sol.objective == pytest.approx(best_backup) and sol.status == "optimal"
    assert sol.bound >= sol.objective - 1e-9
    assert sol.extra["covered_new"] >= (1 - tol) * best_cov - 1e-7
    twice = reached_twice(A, fixed + sol.selected.tolist())
    assert w[twice].sum() == pytest.approx(sol.objective)


def test_bad_tolerance_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="coverage_tolerance"):
        max_backup_coverage(np.eye(2), 1, weights=[1, 1], coverage_tolerance=1.0)
