"""Record / compare the outputs of every public optimizer on seeded random cases.

Used to check that a refactor of ``geoplan.optimize`` changes no result::

    python benchmarks/compare_optimize.py record /tmp/optimize_baseline.pkl
    python benchmarks/compare_optimize.py compare /tmp/optimize_baseline.pkl

Each case calls a model by keyword only (so it runs on the old and the new
signatures; ``fixed`` of :func:`close_least_loss` was once called ``keep``)
with a time limit no case comes near, and records ``selected``, the objective,
bound, gap and status (plus the closure lists / kept stations).
"""
from __future__ import annotations

import inspect
import pickle
import sys
import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from geoplan import optimize as O

SOLVERS = ("auto", "highs", "greedy")


def _instance(rng: np.random.Generator, size: str) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray]:
    n, m = (int(rng.integers(5, 25)), int(rng.integers(4, 12))) if size == "small" else \
        (int(rng.integers(80, 250)), int(rng.integers(25, 70)))
    dens = float(rng.uniform(0.05, 0.3)) if size == "small" else float(rng.uniform(0.02, 0.06))
    A = sp.random(n, m, density=dens, format="csr", random_state=rng, data_rvs=np.ones)
    d = sp.random(n, m, density=min(1.0, dens * 2), format="csr", random_state=rng)
    d.data = 100 + 4000 * d.data
    d.sort_indices()
    w = rng.integers(1, 50, n).astype(float) if rng.random() < 0.6 else rng.lognormal(2, 1, n)
    return A, d, w, rng.integers(0, 3, m)


def cases(n_cases: int = 300) -> list[tuple[str, dict[str, Any]]]:
    out: list[tuple[str, dict[str, Any]]] = []
    for s in range(n_cases):
        rng = np.random.default_rng(1000 + s)
        size = "small" if s % 3 else "medium"
        A, d, w, grp = _instance(rng, size)
        n, m = A.shape
        solver = SOLVERS[s % 3]
        p = int(rng.integers(1, max(2, m // (3 if size == "small" else 6))))
        fixed = np.sort(rng.choice(m, size=int(rng.integers(0, 3)), replace=False))
        kind = s % 7
        common: dict[str, Any] = {"solver": solver, "time_limit": 60, "seed": s % 5}
        if rng.random() < 0.4:
            common["fixed"] = fixed
            if p > m - len(fixed):
                p = max(m - len(fixed) - 1, 0)
        extra: dict[str, Any] = {}
        if rng.random() < 0.3:
            extra = {"groups": grp, "min_per_group": [0, 1, 0], "group_caps": [max(p, 1), max(p, 1), 2]}
        bonus = rng.integers(0, 30, m).astype(float) if rng.random() < 0.3 else None
        if kind in (0, 1):
            kw = dict(coverage=A, weights=w, p=p, site_bonus=bonus, **common, **extra)
            if kind == 1 and size == "small" and not extra and rng.random() < 0.5:
                kw["capacity"] = rng.integers(20, 200, m).astype(float)
            out.append(("max_coverage", kw))
        elif kind == 2:
            out.append(("max_attendance", dict(cost=d, weights=w, p=p, site_bonus=bonus,
                                               decay=("linear", "power", "exponential")[s % 3],
                                               cutoff=3000.0, **common, **extra)))
        elif kind == 3:
            out.append(("p_median", dict(cost=d, weights=w, p=max(p, 1), unreachable_cost=1e4, **common, **extra)))
        elif kind == 4:
            out.append(("set_cover", dict(coverage=A, weights=w, target=float(rng.choice([0.7, 0.9, 1.0])),
                                          **common)))
        elif kind == 5:
            fx = common.pop("fixed", None)
            k = int(rng.integers(1, max(2, m // 2)))
            if fx is not None and k > m - len(fx):
                k = m - len(fx)
            out.append(("close_least_loss", dict(coverage_existing=A, weights=w, k=k, fixed=fx, **common)))
        else:
            common.pop("fixed", None)
            out.append(("minimal_keep_set", dict(coverage_existing=A, weights=w,
                                                 target=float(rng.choice([0.8, 1.0])), **common)))
    return out


def call(name: str, kw: dict[str, Any]) -> dict[str, Any]:
    fn = getattr(O, name)
    kw = dict(kw)
    if name == "close_least_loss" and "keep" in inspect.signature(fn).parameters:
        kw["keep"] = kw.pop("fixed")
    try:
        sol = fn(**kw)
    except ValueError as exc:
        return {"error": str(exc)}
    rec = {"objective": sol.objective, "bound": sol.bound, "gap": sol.gap, "status": sol.status}
    if name == "close_least_loss":
        rec["closed"] = sol.closed.tolist() if hasattr(sol, "closed") else sol.selected.tolist()
        rec["kept"] = sol.kept.tolist() if hasattr(sol, "kept") else sol.extra["keep"].tolist()
    elif name == "minimal_keep_set":
        rec["kept"] = sol.kept.tolist() if hasattr(sol, "kept") else sol.selected.tolist()
        rec["closed"] = sol.closed.tolist() if hasattr(sol, "closed") else sol.extra["close"].tolist()
    else:
        rec["selected"] = sol.selected.tolist()
    return rec


def same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    for k in a:
        x, y = a[k], b[k]
        if isinstance(x, float):
            if not (x == y or (np.isnan(x) and np.isnan(y))):
                return False
        elif x != y:
            return False
    return True


def main(argv: list[str]) -> int:
    mode, path = argv[1], argv[2]
    results = []
    for i, (name, kw) in enumerate(cases()):
        t = time.perf_counter()
        results.append((name, call(name, kw)))
        if "-v" in argv:
            print(i, name, kw["solver"], f"{time.perf_counter() - t:.2f}s", file=sys.stderr, flush=True)
    if mode == "record":
        with open(path, "wb") as f:
            pickle.dump(results, f)
        print(f"recorded {len(results)} cases to {path}")
        return 0
    with open(path, "rb") as f:
        base = pickle.load(f)
    diff = [i for i, ((_, a), (_, b)) in enumerate(zip(base, results)) if not same(a, b)]
    print(f"{len(results) - len(diff)} / {len(results)} identical")
    for i in diff[:20]:
        print(i, base[i][0], base[i][1], "->", results[i][1])
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
