"""p-median benchmark over graph *families* (issue 12, item 4): geoplan's
``auto`` against plain HiGHS and greedy, in the same run.

Usage::

    python benchmarks/bench_pmedian.py [--sizes 100,200,500,1000] [--seeds 5] [--tune]
                                       [--time-limit 10] [--families road,grid,rgg]
                                       [--weights uniform,lognormal] [--methods auto,greedy,highs]
                                       [--highs-seeds K] [--highs-max-n N] [--budget 3000] [--quick]

Families (all connected, undirected, edge lengths Euclidean in metres on a
square whose side grows with ``sqrt(n)``; cost = all-pairs shortest paths by
``scipy.sparse.csgraph``, every node is a demand point and a candidate site):

* ``road``: jittered points, Delaunay triangulation, then about 35 % of the
  edges removed (longest-first with random tie-breaking, never a bridge of
  the remaining graph), which leaves a planar graph of mean degree 3.7-3.9,
  like a street network;
* ``grid``: a lattice (rows × columns, row-major, first ``n`` nodes) with
  node positions jittered by 15 % of the spacing, 4-neighbour edges;
* ``rgg``: random geometric graph, uniform points, radius for mean degree
  8 away from the border (6.3-7.5 measured), components joined by their
  closest pair of nodes.

Weights: ``uniform`` (every node weight 1) or ``lognormal`` (heavy-tailed,
``round(exp(N(4, 1.2)))``, at least 1).  ``p`` in ``{5, 10, n/10, n/3}``,
deduplicated.  Seeds ``0..1`` are tuning seeds (``--tune``), the report uses
``100..100+k``.

Methods, each with the same ``--time-limit`` (default 10 s):
``auto`` = ``p_median(solver="auto")``; ``greedy`` =
``p_median(solver="greedy")`` (greedy + swap + Lagrangian bound);
``highs`` = the textbook MIP (``x_ij`` assignment + ``y_j``,
``x_ij <= y_j``, ``Σ_j x_ij = 1``, ``Σ_j y_j = p``) built with highspy, one
thread, no warm start, its build time counted.  Times are wall-clock and
include nothing but the solver call (the distance matrix is built once per
instance).  The run stops starting new instances after ``--budget`` seconds
and lists what it skipped.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components, shortest_path
from scipy.spatial import Delaunay, cKDTree

from geoplan.optimize import p_median

OPT = 1e-6
FAMILIES = ("road", "grid", "rgg")
WEIGHTS = ("uniform", "lognormal")


# --- graphs -----------------------------------------------------------------------

def _join_components(xy: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Add the shortest edge between each component and the rest until connected."""
    n = len(xy)
    while True:
        G = sp.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
        k, lab = connected_components(G, directed=False)
        if k == 1:
            return edges
        a = np.flatnonzero(lab == lab[0])
        b = np.flatnonzero(lab != lab[0])
        d, j = cKDTree(xy[b]).query(xy[a])
        i = int(np.argmin(d))
        edges = np.vstack([edges, [[a[i], b[j[i]]]]])


def _road(rng: np.random.Generator, n: int, side: float) -> tuple[np.ndarray, np.ndarray]:
    k = int(np.ceil(np.sqrt(n)))
    g = np.stack(np.meshgrid(np.arange(k), np.arange(k)), -1).reshape(-1, 2)[:n].astype(float)
    xy = (g + rng.uniform(-0.45, 0.45, g.shape)) * (side / k)
    tri = Delaunay(xy).simplices
    e = np.vstack([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [0, 2]]])
    e = np.unique(np.sort(e, axis=1), axis=0)
    length = np.linalg.norm(xy[e[:, 0]] - xy[e[:, 1]], axis=1)
    # drop long edges first (random order among similar lengths) while the graph stays connected
    order = np.argsort(-(length * rng.uniform(0.7, 1.3, len(e))), kind="stable")
    keep = np.ones(len(e), bool)
    target = int(0.35 * len(e))
    dropped = 0
    for idx in order:
        if dropped >= target:
            break
        keep[idx] = False
        ee = e[keep]
        G = sp.coo_matrix((np.ones(len(ee)), (ee[:, 0], ee[:, 1])), shape=(n, n))
        if connected_components(G, directed=False)[0] > 1:
            keep[idx] = True
        else:
            dropped += 1
    return xy, e[keep]


def _grid(rng: np.random.Generator, n: int, side: float) -> tuple[np.ndarray, np.ndarray]:
    cols = int(np.ceil(np.sqrt(n)))
    idx = np.arange(n)
    r, c = idx // cols, idx % cols
    xy = (np.stack([c, r], 1) + rng.uniform(-0.15, 0.15, (n, 2))) * (side / cols)
    right = idx[(c + 1 < cols) & (idx + 1 < n)]
    down = idx[idx + cols < n]
    e = np.vstack([np.stack([right, right + 1], 1), np.stack([down, down + cols], 1)])
    return xy, e


def _rgg(rng: np.random.Generator, n: int, side: float) -> tuple[np.ndarray, np.ndarray]:
    xy = rng.random((n, 2)) * side
    radius = side * np.sqrt(8 / (np.pi * n))  # mean degree ≈ 8
    e = np.array(sorted(cKDTree(xy).query_pairs(radius)), dtype=np.int64).reshape(-1, 2)
    return xy, _join_components(xy, e)


def instance(family: str, weights: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(D, w)``: all-pairs shortest-path distances (metres) and node weights."""
    # one stream per (family, weights, n, seed), so instances do not depend on the run's order
    rng = np.random.default_rng([seed, n, FAMILIES.index(family), WEIGHTS.index(weights)])
    side = 1_000.0 * np.sqrt(n)  # 1 km² per node: a 10 km square at 100 nodes, 31.6 km at 1,000
    xy, e = {"road": _road, "grid": _grid, "rgg": _rgg}[family](rng, n, side)
    length = np.linalg.norm(xy[e[:, 0]] - xy[e[:, 1]], axis=1)
    G = sp.csr_matrix((length, (e[:, 0], e[:, 1])), shape=(n, n))
    D = shortest_path(G, method="D", directed=False)
    if weights == "uniform":
        w = np.ones(n)
    else:
        w = np.maximum(np.round(rng.lognormal(4.0, 1.2, n)), 1.0)
    return D, w


def ps_for(n: int) -> list[int]:
    return sorted({5, 10, n // 10, n // 3})


# --- methods ----------------------------------------------------------------------

@dataclass
class Run:
    seconds: float
    objective: float
    bound: float
    proven: bool

    @property
    def gap(self) -> float:
        if not (np.isfinite(self.objective) and np.isfinite(self.bound)):
            return float("inf")
        return max(0.0, (self.objective - self.bound) / max(abs(self.objective), 1e-12))


def run_geoplan(D: np.ndarray, w: np.ndarray, p: int, tl: float, solver: str) -> Run:
    t = time.perf_counter()
    sol = p_median(D, p, weights=w, solver=solver, time_limit=tl)  # type: ignore[arg-type]
    return Run(time.perf_counter() - t, sol.objective, sol.bound, sol.status == "optimal")


def _silent_highs():  # type: ignore[no-untyped-def]
    """A ``highspy.Highs`` whose one-time copyright banner (printed to fd 1
    before any option can be set) does not end up in the markdown output."""
    import highspy

    sys.stdout.flush()
    saved, devnull = os.dup(1), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        return highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
        os.close(devnull)


def run_plain_highs(D: np.ndarray, w: np.ndarray, p: int, tl: float) -> Run:
    """The textbook p-median MIP (strong form, ``x_ij <= y_j``), HiGHS, one thread."""
    import highspy

    t = time.perf_counter()
    n = len(w)
    h = _silent_highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("threads", 1)
    h.setOptionValue("random_seed", 0)
    h.setOptionValue("mip_rel_gap", 1e-7)
    # columns: x_ij (i*n + j), then y_j
    nx = n * n
    lp = highspy.HighsLp()
    lp.num_col_ = nx + n
    lp.col_cost_ = np.concatenate([(w[:, None] * D).ravel(), np.zeros(n)])
    lp.col_lower_ = np.zeros(nx + n)
    lp.col_upper_ = np.ones(nx + n)
    ij = np.arange(nx)
    # rows: Σ_j x_ij = 1 (n), x_ij - y_j <= 0 (n²), Σ y_j = p (1)
    rows = np.concatenate([ij // n, n + ij, n + ij, np.full(n, n + nx)])
    cols = np.concatenate([ij, ij, nx + ij % n, nx + np.arange(n)])
    vals = np.concatenate([np.ones(nx), np.ones(nx), -np.ones(nx), np.ones(n)])
    A = sp.csr_matrix((vals, (rows, cols)), shape=(n + nx + 1, nx + n))
    lp.num_row_ = A.shape[0]
    lp.row_lower_ = np.concatenate([np.ones(n), np.full(nx, -np.inf), [p]])
    lp.row_upper_ = np.concatenate([np.ones(n), np.zeros(nx), [p]])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
    lp.a_matrix_.start_ = A.indptr.astype(np.int32)
    lp.a_matrix_.index_ = A.indices.astype(np.int32)
    lp.a_matrix_.value_ = A.data
    lp.a_matrix_.num_col_ = nx + n
    lp.a_matrix_.num_row_ = A.shape[0]
    lp.integrality_ = [highspy.HighsVarType.kContinuous] * nx + [highspy.HighsVarType.kInteger] * n
    h.passModel(lp)
    h.setOptionValue("time_limit", float(max(tl - (time.perf_counter() - t), 0.05)))
    h.run()
    took = time.perf_counter() - t
    st = h.getModelStatus()
    info = h.getInfo()
    sol = h.getSolution()
    if not sol.value_valid:
        return Run(took, float("nan"), float("-inf"), False)
    y = np.asarray(sol.col_value)[nx:] > 0.5
    obj = float((w * D[:, y].min(axis=1)).sum())  # re-priced from the costs, not HiGHS's objective
    bound = float(info.mip_dual_bound) if st in (highspy.HighsModelStatus.kOptimal,
                                                 highspy.HighsModelStatus.kTimeLimit) else float("-inf")
    bound = min(bound, obj)
    return Run(took, obj, bound, st == highspy.HighsModelStatus.kOptimal
               or (obj - bound) <= OPT * max(obj, 1e-12))


# --- table ------------------------------------------------------------------------

def _pct(x: float) -> str:
    if not np.isfinite(x):
        return "—"
    return "0" if x <= OPT else f"{100 * x:.3g} %"


def _times(runs: list[Run], limit: float) -> str:
    t = sorted(r.seconds for r in runs if r.proven)
    if not t:
        return f"— (0/{len(runs)})"
    within = sum(1 for r in runs if r.proven and r.seconds <= limit)
    return f"{np.median(t):.2f} / {max(t):.2f} ({within}/{len(runs)})"


def _gaps(runs: list[Run]) -> str:
    g = [r.gap for r in runs]
    return f"{_pct(float(np.median(g)))} / {_pct(max(g))}"


def _greedy_err(greedy: list[Run], best: list[float], proven: list[bool]) -> str:
    err = [max(0.0, (g.objective - b) / b) if b > 0 else 0.0 for g, b in zip(greedy, best)]
    tag = "" if all(proven) else f" (vs best known on {sum(not p for p in proven)})"
    return f"{_pct(float(np.median(err)))} / {_pct(max(err))}{tag}"


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,200,500,1000")
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--tune", action="store_true", help="tuning seeds 0..1 instead of the report seeds")
    ap.add_argument("--time-limit", type=float, default=10.0)
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--weights", default=",".join(WEIGHTS))
    ap.add_argument("--ps", default="", help="comma-separated p values (default: 5, 10, n/10, n/3)")
    ap.add_argument("--methods", default="auto,greedy,highs")
    ap.add_argument("--highs-max-n", type=int, default=1000, help="run plain HiGHS only up to this many nodes")
    ap.add_argument("--highs-seeds", type=int, default=0, help="run plain HiGHS on the first k seeds only (0: all)")
    ap.add_argument("--budget", type=float, default=3000.0, help="stop starting instances after this (s)")
    ap.add_argument("--quick", action="store_true", help="size 100, 2 seeds, time limit 5 s")
    a = ap.parse_args(argv[1:])
    if a.quick:
        a.sizes, a.seeds, a.time_limit = "100", 2, 5.0
    seeds = [0, 1] if a.tune else list(range(100, 100 + a.seeds))
    methods = [m for m in a.methods.split(",") if m]
    tl = a.time_limit
    t_start = time.perf_counter()
    load = os.getloadavg()
    print(f"<!-- load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; seeds {seeds}; "
          f"time limit {tl:g} s -->")
    lines = []
    skipped = []
    for n in (int(s) for s in a.sizes.split(",")):
        ps = [int(x) for x in a.ps.split(",")] if a.ps else ps_for(n)
        for fam in a.families.split(","):
            for wk in a.weights.split(","):
                per: dict[str, dict[int, list[Run]]] = {m: {p: [] for p in ps} for m in methods}
                best: dict[int, list[float]] = {p: [] for p in ps}
                proven: dict[int, list[bool]] = {p: [] for p in ps}
                for si, seed in enumerate(seeds):
                    if time.perf_counter() - t_start > a.budget:
                        skipped.append(f"{fam}/{wk}/{n} seed {seed}")
                        continue
                    D, w = instance(fam, wk, n, seed)
                    for p in ps:
                        got = {}
                        for m in methods:
                            if m == "highs":
                                if n > a.highs_max_n or (a.highs_seeds and si >= a.highs_seeds):
                                    continue
                                got[m] = run_plain_highs(D, w, p, tl)
                            else:
                                got[m] = run_geoplan(D, w, p, tl, m)
                            per[m][p].append(got[m])
                        b = min(r.objective for r in got.values() if np.isfinite(r.objective))
                        best[p].append(b)
                        proven[p].append(any(r.proven and r.objective <= b * (1 + OPT) for r in got.values()))
                        lb = max(r.bound for r in got.values())
                        if lb > b * (1 + 1e-7) + 1e-6:  # a bound above a feasible value: a bug somewhere
                            print(f"<!-- INVALID BOUND {fam}/{wk}/{n} seed {seed} p={p}: {lb} > {b} -->")
                        print(f"<!-- {fam}/{wk}/n={n}/p={p} seed {seed}: "
                              + ", ".join(f"{m} {r.seconds:.2f}s gap {_pct(r.gap)}" for m, r in got.items())
                              + f"; at {time.perf_counter() - t_start:.0f} s -->", flush=True)
                for p in ps:
                    if not per[methods[0]][p]:
                        continue
                    k = len(per[methods[0]][p])
                    cells = []
                    for m in ("auto", "highs"):
                        runs = per.get(m, {}).get(p, [])
                        note = f" [{len(runs)} seeds]" if runs and len(runs) < k else ""
                        cells += [_times(runs, tl) + note, _gaps(runs)] if runs else ["not run", "not run"]
                    g = per.get("greedy", {}).get(p, [])
                    cells += [_gaps(g), _greedy_err(g, best[p], proven[p])] if g else ["not run", "not run"]
                    cells.append(f"{np.median([r.seconds for r in g]):.2f}" if g else "—")
                    lines.append(f"| {fam} | {wk} | {n} | {p} | {k} | " + " | ".join(cells) + " |")
    print()
    print(f"| family | weights | nodes | p | seeds | auto: time to proof, median / worst (proven ≤ {tl:g} s) "
          f"| auto: gap at limit, median / worst | plain HiGHS: time to proof | plain HiGHS: gap at limit "
          f"| greedy: certified gap | greedy: error vs optimum, median / worst | greedy: median time (s) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    print("\n".join(lines))
    load = os.getloadavg()
    print(f"\nwhole run: {time.perf_counter() - t_start:.0f} s; load average at end "
          f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
          + (f"; skipped (budget): {', '.join(skipped)}" if skipped else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
