"""Max-coverage benchmark over instance *families* (issue 12): geoplan's
``auto`` against plain HiGHS and plain greedy, in the same run.

Usage::

    python benchmarks/bench_families.py [--sizes S,M] [--seeds 5] [--budget 1500] [--tune]

Families differ in what makes covering instances hard: clustered vs spread
demand, weights (uniform, lognormal, heavy-tailed Pareto), density (about 5
to 80 stored pairs per demand row, set through the radius), ``p`` relative to
the number of sites, and the bundled Yancheng geography with several venue
densities.  Seeds ``0..1`` are tuning seeds (``--tune``; not reported),
the report uses seeds ``100..100+k``.

Per instance and method the script runs with the size's two time limits
(``LIMITS``: 5 and 30 s, 10 and 60 s at 200k x 400k) and skips the longer one
when the shorter already proved optimality; it reports the time to a proof,
the certified gap at both limits (the longer run is skipped only after a
proof), the *minimum* time of an ``auto`` call
(``time_limit=0.001``: checks, reductions, greedy), the peak RSS of the
process and the load average.  ``--highs-cap`` caps plain HiGHS's time limit
(used at the biggest size).
Methods: ``auto`` = ``max_coverage(solver="auto")``; ``highs`` = the plain
z-form MIP of the unreduced model (HiGHS, one thread, warm start none);
``greedy`` = ``max_coverage(solver="greedy")`` (greedy + swap + Lagrangian
bound).  The whole run stops starting new instances after ``--budget``
seconds and says which it skipped.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from geoplan import access
from geoplan.optimize import max_coverage
from geoplan.optimize.greedy import Model
from geoplan.optimize.mip import solve_highs
from geoplan.optimize.solution import relative_gap

OPT = 1e-6


@dataclass(frozen=True)
class Family:
    name: str
    demand: str  # "clustered" | "spread" | "yancheng"
    weights: str  # "uniform" | "lognormal" | "pareto" | "population"
    pairs: float  # target stored pairs per demand row
    p_share: float  # p as a share of the number of sites
    venue_factor: float = 1.0  # Yancheng: venues per bundled venue (subsample < 1, jittered copies > 1)


SIZES = {"S": (2_500, 8_000), "M": (20_000, 40_000), "L": (50_000, 100_000), "XL": (200_000, 400_000)}
# the two time limits each method runs with, per size (the targets: 5 / 30 s up to
# 20k x 40k, 30 s at 50k x 100k, 60 s at 200k x 400k)
LIMITS = {"S": (5, 30), "M": (5, 30), "L": (5, 30), "XL": (10, 60)}
FAMILIES = {
    "S": [
        Family("clustered·uniform·8/row·p=2%", "clustered", "uniform", 8, 0.02),
        Family("spread·lognormal·30/row·p=2%", "spread", "lognormal", 30, 0.02),
        Family("spread·pareto·80/row·p=2%", "spread", "pareto", 80, 0.02),
        Family("clustered·lognormal·5/row·p=5%", "clustered", "lognormal", 5, 0.05),
        Family("clustered·pareto·20/row·p=0.5%", "clustered", "pareto", 20, 0.005),
        Family("yancheng·25% venues·r=3km·p=150", "yancheng", "population", 0, 0.0, 0.25),
        Family("yancheng·bundled venues·r=3km·p=100–200", "yancheng", "population", 0, 0.0, 1.0),
        Family("yancheng·2×venues·r=3km·p=150", "yancheng", "population", 0, 0.0, 2.0),
        Family("yancheng·4×venues·r=3km·p=150", "yancheng", "population", 0, 0.0, 4.0),
    ],
    "M": [  # p = 600 in every family (the 20k x 40k target)
        Family("clustered·uniform·8/row·p=1.5%", "clustered", "uniform", 8, 0.015),
        Family("spread·lognormal·30/row·p=1.5%", "spread", "lognormal", 30, 0.015),
        Family("spread·pareto·80/row·p=1.5%", "spread", "pareto", 80, 0.015),
        Family("clustered·lognormal·5/row·p=1.5%", "clustered", "lognormal", 5, 0.015),
        Family("clustered·pareto·20/row·p=1.5%", "clustered", "pareto", 20, 0.015),
    ],
    "L": [Family("spread·lognormal·80/row·p=1.5%", "spread", "lognormal", 80, 0.015)],
    "XL": [  # p = 5,000
        Family("clustered·uniform·8/row·p=1.25%", "clustered", "uniform", 8, 0.0125),
        Family("spread·lognormal·30/row·p=1.25%", "spread", "lognormal", 30, 0.0125),
    ],
}


def _points(rng: np.random.Generator, k: int, extent: float, clustered: bool, centers: np.ndarray) -> np.ndarray:
    if not clustered:
        return rng.random((k, 2)) * extent
    c = centers[rng.integers(0, len(centers), k)]
    return np.clip(c + rng.normal(0, extent / 80, (k, 2)), 0, extent)


def _weights(rng: np.random.Generator, kind: str, n: int) -> np.ndarray:
    if kind == "uniform":
        return rng.integers(50, 3000, n).astype(float)
    if kind == "lognormal":
        return np.round(rng.lognormal(6, 1.2, n))
    return np.round(100 * (rng.pareto(1.2, n) + 1))  # heavy tail: a few huge demand points


def _radius_for(d: np.ndarray, s: np.ndarray, target: float) -> float:
    """Radius giving about ``target`` stored pairs per demand row (two secant steps on a sample)."""
    rng = np.random.default_rng(0)
    sample = d[rng.choice(len(d), min(len(d), 2000), replace=False)]
    r = 1000.0
    for _ in range(3):
        got = access.coverage_matrix(sample, s, r).nnz / len(sample)
        r *= float(np.sqrt(target / max(got, 0.1)))
    return r


def _yancheng(fam: Family, seed: int) -> tuple[sp.csr_matrix, np.ndarray, int, str]:
    from geoplan import datasets

    ds = datasets.load(None)
    d = ds.xy("demand")
    w = ds.demand["population"].to_numpy(dtype=float)
    s0 = ds.xy("sites")
    rng = np.random.default_rng(seed)
    if fam.venue_factor < 1:
        s = s0[np.sort(rng.choice(len(s0), int(fam.venue_factor * len(s0)), replace=False))]
    else:  # a denser venue list (an Amap-style export): jittered copies within 300 m
        k = int(fam.venue_factor)
        s = np.vstack([s0] + [s0 + rng.normal(0, 300, s0.shape) for _ in range(k - 1)])
    # the bundled venues are one instance: there the seed draws p instead
    p = int(rng.integers(100, 201)) if fam.venue_factor == 1 else 150
    A = access.coverage_matrix(d, s, 3000.0)
    return A, w, p, f"{A.shape[0]:,}×{A.shape[1]:,}"


def instance(fam: Family, size: str, seed: int) -> tuple[sp.csr_matrix, np.ndarray, int, str]:
    if fam.demand == "yancheng":
        return _yancheng(fam, seed)
    n, m = SIZES[size]
    rng = np.random.default_rng(seed)
    extent = 250_000.0 * np.sqrt(n / 20_000)
    centers = rng.random((max(10, n // 35), 2)) * extent
    clustered = fam.demand == "clustered"
    d = _points(rng, n, extent, clustered, centers)
    s = _points(rng, m, extent, clustered, centers)
    A = access.coverage_matrix(d, s, _radius_for(d, s, fam.pairs))
    return A, _weights(rng, fam.weights, n), max(1, int(fam.p_share * m)), f"{n:,}×{m:,}"


@dataclass
class Run:
    seconds: float
    gap: float
    proven: bool
    objective: float


def run_auto(A: sp.csr_matrix, w: np.ndarray, p: int, tl: float, solver: str) -> Run:
    t = time.perf_counter()
    sol = max_coverage(A, p, weights=w, solver=solver, time_limit=tl)  # type: ignore[arg-type]
    return Run(time.perf_counter() - t, sol.gap, sol.status == "optimal", sol.objective)


def run_plain_highs(A: sp.csr_matrix, w: np.ndarray, p: int, tl: float) -> Run:
    t = time.perf_counter()
    keep = np.diff(A.indptr) > 0
    A2 = sp.csr_matrix(A[keep])
    w2 = w[keep]
    model = Model(B=sp.csr_matrix(A2.multiply(w2[:, None])), bonus=np.zeros(A.shape[1]), p=p, coverage=True,
                  w=w2, integral=True)
    z = np.zeros(model.m, bool)
    # HiGHS's own defaults (options={}), not the tuned options geoplan's phases use
    sel, obj, bound, st = solve_highs(model, z, z, None, max(tl - (time.perf_counter() - t), 0.05), 0, options={})
    took = time.perf_counter() - t
    if sel is None:
        return Run(took, float("inf"), False, float("nan"))
    val = float(w2[np.asarray(A2[:, sel].sum(axis=1)).ravel() > 0].sum())
    gap = relative_gap(val, max(float(np.floor(bound + 1e-6)), val), "max")
    return Run(took, gap, gap <= OPT, val)


def measure(A: sp.csr_matrix, w: np.ndarray, p: int, limits: tuple[int, int], highs_cap: float
            ) -> dict[str, dict[int, Run]]:
    out: dict[str, dict[int, Run]] = {}
    short, long_ = limits
    for method in ("auto", "highs", "greedy"):
        res: dict[int, Run] = {}
        for tl in limits:
            if tl == long_ and (res[short].proven or (method == "highs" and long_ >= highs_cap >= short)):
                res[long_] = res[short]  # proven in the short limit (or HiGHS capped to it): the same answer
                continue
            res[tl] = (run_plain_highs(A, w, p, min(tl, max(highs_cap, short))) if method == "highs"
                       else run_auto(A, w, p, tl, method))
        out[method] = res
    t = time.perf_counter()
    max_coverage(A, p, weights=w, time_limit=1e-3)
    out["minimum"] = {0: Run(time.perf_counter() - t, float("nan"), False, float("nan"))}
    return out


def _rss_gb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 ** 2  # kB on Linux


def _pct(x: float) -> str:
    if not np.isfinite(x):
        return "—"
    return "0" if x <= OPT else f"{100 * x:.3g} %"


def _proof(runs: list[Run]) -> str:
    t = [r.seconds for r in runs if r.proven]
    if not t:
        return f"not proven (0/{len(runs)})"
    extra = "" if len(t) == len(runs) else f" ({len(t)}/{len(runs)} proven)"
    return f"{np.median(t):.2f} / {max(t):.2f}{extra}"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="S,M")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--budget", type=float, default=1500.0)
    ap.add_argument("--tune", action="store_true", help="run the tuning seeds 0..1 instead of the report seeds")
    ap.add_argument("--only", default="", help="comma-separated name prefixes: run these families, in this order")
    ap.add_argument("--highs-cap", type=float, default=float("inf"), help="cap on plain HiGHS's time limit (s)")
    args = ap.parse_args(argv[1:])
    seeds = [0, 1] if args.tune else list(range(100, 100 + args.seeds))
    t_start = time.perf_counter()
    print("| size | family | seeds | stored pairs / row | method | time to proof, median / worst (s) "
          "| certified gap at the short limit, median / worst | at the long limit, median / worst "
          "| minimum call (s) |")
    print("|---|---|---|---|---|---|---|---|---|")
    skipped = []
    order = [s for s in args.only.split(",") if s]
    todo = [(size, fam) for size in args.sizes.split(",") for fam in FAMILIES[size]
            if not order or any(fam.name.startswith(o) for o in order)]
    if order:
        todo.sort(key=lambda sf: [i for i, o in enumerate(order) if sf[1].name.startswith(o)][0])
    for size, fam in todo:
        if True:
            per: dict[str, list[dict[int, Run]]] = {"auto": [], "highs": [], "greedy": [], "minimum": []}
            limits = LIMITS[size]
            dens, shape = [], ""
            for seed in seeds:
                if time.perf_counter() - t_start > args.budget:
                    skipped.append(f"{size} {fam.name} seed {seed}")
                    continue
                A, w, p, shape = instance(fam, size, seed)
                dens.append(A.nnz / A.shape[0])
                for k, v in measure(A, w, p, limits, args.highs_cap).items():
                    per[k].append(v)
                runs = {k: v[-1] for k, v in per.items()}
                detail = "; ".join(f"{k} " + ", ".join(f"{tl}s: {r.seconds:.1f} s {_pct(r.gap)}" for tl, r in v.items())
                                   for k, v in runs.items() if k != "minimum")
                print(f"<!-- {size} {fam.name} seed {seed} p={p} nnz={A.nnz} done at "
                      f"{time.perf_counter() - t_start:.0f} s; load {os.getloadavg()[0]:.1f}; "
                      f"peak RSS {_rss_gb():.2f} GB; {detail}; minimum {runs['minimum'][0].seconds:.1f} s -->",
                      flush=True)
            if not per["auto"]:
                continue
            mins = [r[0].seconds for r in per.pop("minimum")]
            for method, runs in per.items():
                g5 = [r[limits[0]].gap for r in runs]
                g30 = [r[limits[1]].gap for r in runs]
                mcol = f"{np.median(mins):.2f} / {max(mins):.2f}" if method == "auto" else ""
                print(f"| {shape} | {fam.name} | {len(runs)} | {np.median(dens):.0f} | {method} | "
                      f"{_proof([r[limits[1]] for r in runs])} | {_pct(float(np.median(g5)))} / {_pct(max(g5))} | "
                      f"{_pct(float(np.median(g30)))} / {_pct(max(g30))} | {mcol} |", flush=True)
    print(f"\nwhole run: {time.perf_counter() - t_start:.0f} s" + (f"; skipped (budget): {', '.join(skipped)}"
                                                                  if skipped else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
