"""Benchmark geoplan.optimize against plain HiGHS, plain greedy and PySAL spopt.

Usage::

    python benchmarks/bench_optimize.py [--quick] [--only NAME] [--province]
        [--pm-sizes 200,500,1000] [--pm-ps 5,10,20,50] [--no-spopt]

Prints a Markdown table (instance, method, time, objective, bound, gap,
time / spopt).  Synthetic clustered instances, seeded.
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import scipy.sparse as sp

from geoplan import access
from geoplan.optimize import max_coverage, p_median
from geoplan.optimize.greedy import Model, evaluate, greedy
from geoplan.optimize.mip import solve_highs

PLAIN_HIGHS_CAP = 60.0


def clustered(rng, n, extent, n_clusters, spread):
    centers = rng.random((n_clusters, 2)) * extent
    k = rng.integers(0, n_clusters, n)
    return centers[k] + rng.normal(0, spread, (n, 2))


def mclp_instance(name, n, m, p, radius, extent, n_clusters, spread, seed=1):
    rng = np.random.default_rng(seed)
    d = clustered(rng, n, extent, n_clusters, spread)
    s = clustered(rng, m, extent, n_clusters, spread)
    w = rng.integers(50, 3000, n).astype(float)
    return dict(name=name, d=d, s=s, w=w, p=p, radius=radius)


def instances(quick: bool, province: bool):
    out = [
        mclp_instance("yancheng 2.5k×8k p=150 r=3km", 2_500, 8_000, 150, 3_000, 130_000, 120, 4_000),
        mclp_instance("20k×40k p=600 r=2km", 20_000, 40_000, 600, 2_000, 250_000, 600, 3_000, seed=2),
        mclp_instance("clustered 50k×2k p=40 r=5km", 50_000, 2_000, 40, 5_000, 100_000, 25, 2_500, seed=3),
    ]
    if province:
        out.append(mclp_instance("province 200k×400k p=5000 r=2km", 200_000, 400_000, 5_000, 2_000,
                                 800_000, 6_000, 3_000, seed=4))
    if quick:
        out = out[:1]
    return out


def fmt(x):
    return "—" if x is None or (isinstance(x, float) and not np.isfinite(x)) else f"{x:,.6g}"


def run_spopt_mclp(inst, cov, time_limit):
    import pulp
    from spopt.locate import MCLP
    n, m = cov.shape
    if n * m > 3e7:
        return None, "dense cost matrix too large"
    t = time.perf_counter()
    dense = np.where(cov.toarray() > 0, 0.0, 2.0 * inst["radius"])  # spopt covers if cost <= radius
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mod = MCLP.from_cost_matrix(dense, inst["w"], inst["radius"], p_facilities=inst["p"])
        mod.solve(pulp.HiGHS(msg=False, timeLimit=time_limit, threads=1), results=False)
    obj = float(pulp.value(mod.problem.objective))
    return (time.perf_counter() - t, obj), ""


def plain_model(cov, w, p):
    B = sp.csr_matrix(cov.multiply(w[:, None]))
    return Model(B=B, bonus=np.zeros(cov.shape[1]), p=p, coverage=True, w=w, integral=True)


def bench_mclp(inst, rows, time_limit):
    big = inst["d"].shape[0] >= 100_000  # province: geoplan rows only, time limit 55 s
    t = time.perf_counter()
    cov = access.coverage_matrix(inst["d"], inst["s"], inst["radius"])
    t_cov = time.perf_counter() - t
    name = f"{inst['name']} (nnz {cov.nnz:,}, coverage matrix {t_cov:.2f}s)"
    res = {}
    if big:
        sol = max_coverage(cov, inst["p"], weights=inst["w"], solver="greedy", time_limit=55)
        res["geoplan greedy, time_limit=55"] = (sol.seconds + t_cov, sol.objective, sol.bound, sol.gap,
                                                f"{sol.solver}, {sol.status}, reduced "
                                                f"{sol.n_demand_reduced}×{sol.n_sites_reduced}")
    sol = max_coverage(cov, inst["p"], weights=inst["w"], time_limit=55 if big else time_limit)
    res["geoplan auto"] = (sol.seconds + t_cov, sol.objective, sol.bound, sol.gap,
                           f"{sol.solver}, {sol.status}, reduced {sol.n_demand_reduced}×{sol.n_sites_reduced}")
    sol = max_coverage(cov, inst["p"], weights=inst["w"], time_limit=5)
    res["geoplan auto, time_limit=5"] = (sol.seconds + t_cov, sol.objective, sol.bound, sol.gap,
                                         f"{sol.solver}, {sol.status}")
    sol = max_coverage(cov, inst["p"], weights=inst["w"], solver="greedy", time_limit=5)
    res["geoplan greedy (5s)"] = (sol.seconds + t_cov, sol.objective, sol.bound, sol.gap,
                                  f"{sol.solver}, {sol.status}")
    if big:
        import resource
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        res["geoplan greedy (5s)"] = res["geoplan greedy (5s)"][:4] + (
            res["geoplan greedy (5s)"][4] + f"; process peak RSS {rss:,.0f} MB",)
        for meth, (tt, obj, bd, gap, note) in res.items():
            rows.append((name, meth, fmt(tt), fmt(obj), fmt(bd), "—" if gap is None else f"{gap:.3%}", "—", note))
        return
    t = time.perf_counter()
    pm = plain_model(cov, inst["w"], inst["p"])
    g = greedy(pm)
    res["plain greedy"] = (time.perf_counter() - t + t_cov, evaluate(pm, g), None, None, "")
    if cov.nnz <= 3e7:
        t = time.perf_counter()
        z = np.zeros(cov.shape[1], bool)
        sel, obj, bd, st = solve_highs(pm, z, z, None, PLAIN_HIGHS_CAP, options={})  # HiGHS defaults
        res["plain HiGHS"] = (time.perf_counter() - t + t_cov, obj, bd,
                              (bd - obj) / bd if bd else None, f"{st}, capped {PLAIN_HIGHS_CAP:.0f}s")
    sp_res, why = run_spopt_mclp(inst, cov, PLAIN_HIGHS_CAP * 2)
    if sp_res is None:
        res["spopt MCLP"] = (None, None, None, None, f"skipped: {why}")
        base = None
    else:
        res["spopt MCLP"] = (sp_res[0] + t_cov, sp_res[1], None, None, "pulp+HiGHS, 1 thread")
        base = sp_res[0] + t_cov
    for meth, (tt, obj, bd, gap, note) in res.items():
        ratio = fmt(tt / base) if (base and tt) else "—"
        rows.append((name, meth, fmt(tt), fmt(obj), fmt(bd), "—" if gap is None else f"{gap:.3%}", ratio, note))


def pmedian_graph(n_nodes, seed=5):
    """Random geometric road graph on 50 km × 50 km (mean degree ≈ 8), all-pairs
    shortest-path distances, integer weights 1..99."""
    import networkx as nx
    from scipy.sparse.csgraph import shortest_path
    rng = np.random.default_rng(seed)
    pos = {i: tuple(rng.random(2) * 50_000) for i in range(n_nodes)}
    g = nx.random_geometric_graph(n_nodes, radius=2500 * np.sqrt(1000 / n_nodes), pos=pos, dim=2, seed=seed)
    comps = list(nx.connected_components(g))
    for a, b in zip(comps[:-1], comps[1:]):  # connect components
        g.add_edge(min(a), min(b))
    xy = np.array([pos[i] for i in range(n_nodes)])
    for u, v in g.edges:
        g.edges[u, v]["length"] = float(np.linalg.norm(xy[u] - xy[v]))
    for i in g.nodes:
        g.nodes[i]["x"], g.nodes[i]["y"] = xy[i]
    net = access.network_from_edges(g)
    D = shortest_path(net.graph, directed=False)
    w = rng.integers(1, 100, n_nodes).astype(float)
    return D, w


SPOPT_PMEDIAN = {(200, 5), (200, 10), (200, 20), (200, 50), (500, 10)}  # CPU budget: the rest is skipped


def bench_pmedian(rows, time_limit, sizes=(200, 500, 1000), ps=(5, 10, 20, 50), spopt=True):
    for n_nodes in sizes:
        D, w = pmedian_graph(n_nodes)
        for p in ps:
            name = f"p-median graph {n_nodes} nodes p={p}"
            heur = p_median(D, p, weights=w, solver="greedy", time_limit=time_limit)
            exact = p_median(D, p, weights=w, solver="auto", time_limit=time_limit)
            err = (heur.objective - exact.objective) / exact.objective
            proven = exact.status == "optimal"
            rows.append((name, "geoplan greedy", fmt(heur.seconds), fmt(heur.objective), fmt(heur.bound),
                         f"{heur.gap:.3%}", "—",
                         f"error vs {'proven optimum' if proven else 'best known'} {err:.3%}"))
            rows.append((name, "geoplan auto (exact)", fmt(exact.seconds), fmt(exact.objective), fmt(exact.bound),
                         f"{exact.gap:.3%}", "—", f"{exact.solver}, {exact.status}"))
            if (n_nodes, p) not in SPOPT_PMEDIAN or not spopt:
                rows.append((name, "spopt PMedian", "—", "—", "—", "—", "—", "not run (CPU budget)"))
                continue
            try:
                import pulp
                from spopt.locate import PMedian
                t = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    mod = PMedian.from_cost_matrix(D, w, p_facilities=p)
                    mod.solve(pulp.HiGHS(msg=False, timeLimit=PLAIN_HIGHS_CAP * 2, threads=1), results=False)
                tt = time.perf_counter() - t
                val = pulp.value(mod.problem.objective)
                note = "pulp+HiGHS, 120 s cap" + (" — hit the cap" if tt >= PLAIN_HIGHS_CAP * 2 else "")
                rows.append((name, "spopt PMedian", fmt(tt), fmt(float(val)) if val is not None else "—", "—", "—",
                             fmt(exact.seconds / tt), note))
            except Exception as exc:  # pragma: no cover
                rows.append((name, "spopt PMedian", "—", "—", "—", "—", "—", f"failed: {exc}"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="only the Yancheng-scale instance")
    ap.add_argument("--only", default=None, help="run instances whose name contains this")
    ap.add_argument("--province", action="store_true", help="also the 200k×400k instance")
    ap.add_argument("--time-limit", type=float, default=60.0)
    ap.add_argument("--pm-sizes", default="200,500,1000", help="p-median graph sizes")
    ap.add_argument("--pm-ps", default="5,10,20,50", help="p-median numbers of sites")
    ap.add_argument("--no-spopt", action="store_true", help="skip the spopt p-median runs")
    a = ap.parse_args()
    rows: list[tuple] = []
    for inst in instances(a.quick, a.province):
        if (a.only and a.only not in inst["name"]) or a.only == "p-median":
            continue
        bench_mclp(inst, rows, a.time_limit)
    if not a.quick and (not a.only or a.only in "p-median"):
        bench_pmedian(rows, a.time_limit, tuple(int(x) for x in a.pm_sizes.split(",")),
                      tuple(int(x) for x in a.pm_ps.split(",")), spopt=not a.no_spopt)
    print("| instance | method | time (s) | objective | bound | gap | time / spopt | notes |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")


if __name__ == "__main__":
    main()
