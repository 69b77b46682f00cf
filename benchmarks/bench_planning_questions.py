"""Issue 16 on the bundled Yancheng data: fairness between towns, diverse near-optimal plans,
robust siting over demand scenarios, backup coverage and E2SFCA — time, objective, bound, gap.

Every active station is kept (fixed, its tier's radius), every venue is a candidate (the
new-point radius), demand is people.  The peer in each row family is plain maximal coverage
(``geoplan.optimize.max_coverage``) on the same instance in the same run.  Robust rows use the
census rule (``RobustSpec``'s default generator: each county's census trend over 5 years, pace
U(0.5, 1.5), 5 % noise); the last line is a plan's access to deputies (E2SFCA) before / after.

    .venv/bin/python benchmarks/bench_planning_questions.py [--budgets 20,50,150] [--seeds 0,1,2] [--quick]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _yancheng import yancheng  # noqa: E402

from geoplan.optimize import max_coverage  # noqa: E402
from geoplan.optimize.alternatives import alternatives  # noqa: E402
from geoplan.optimize.backup import max_backup_coverage  # noqa: E402
from geoplan.optimize.fairness import max_coverage_town_floor, max_min_town_share, share_spread, town_shares  # noqa: E402
from geoplan.optimize.robust import census_scenarios, robust_siting  # noqa: E402

TODAY = "today's optimum"  # the plain plan, judged in every scenario


def row(*cells: object) -> None:
    print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)


def fmt(x: float) -> str:
    return f"{x:,.0f}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budgets", default="20,50,150")
    ap.add_argument("--seeds", default="0,1,2", help="seeds of the robust scenario sets")
    ap.add_argument("--time-limit", type=float, default=60)
    ap.add_argument("--quick", action="store_true", help="one budget, one seed")
    a = ap.parse_args()
    budgets = [20] if a.quick else [int(x) for x in a.budgets.split(",")]
    seeds = [0] if a.quick else [int(x) for x in a.seeds.split(",")]
    t = time.perf_counter()
    inst = yancheng()
    import geoplan
    from geoplan.planning import census_trend, planning_inputs

    ds = geoplan.load()
    inp = planning_inputs(ds)  # demand in dataset order, as the instance's
    trend = census_trend(inp)
    county = np.maximum(inp.demand_county, 0)
    rate = np.where(inp.demand_urban, trend["urban_growth"].to_numpy()[county], -trend["rural_decline"].to_numpy()[county])
    print(f"instance: {inst.A.shape[0]:,} demand points × {inst.A.shape[1]:,} sites ({inst.n_stations} fixed stations), "
          f"nnz {inst.A.nnz:,}, {len(inst.town_names)} towns; built in {time.perf_counter() - t:.2f} s\n")
    A, w, towns, fx, tl = inst.A, inst.pop, inst.towns, inst.fixed, a.time_limit
    row("model", "p", "time (s)", "objective", "bound", "gap", "notes")
    row(*["---"] * 7)
    for p in budgets:
        t = time.perf_counter()
        plain = max_coverage(A, p, weights=w, fixed=fx, time_limit=tl)
        sp_ = share_spread(town_shares(A, weights=w, towns=towns, selected=plain.selected, fixed=fx))
        row("max coverage (peer)", p, f"{time.perf_counter() - t:.2f}", fmt(plain.objective), fmt(plain.bound),
            f"{plain.gap:.2e}", f"town shares min {sp_.min:.1%} p10 {sp_.p10:.1%} Gini {sp_.gini:.3f}")
        for share in (0.6, 0.8):
            t = time.perf_counter()
            try:
                f = max_coverage_town_floor(A, p, weights=w, towns=towns, min_town_share=share, fixed=fx,
                                            time_limit=tl, town_names=inst.town_names)
            except ValueError as exc:
                row(f"town floor {share:.0%}", p, f"{time.perf_counter() - t:.2f}", "—", "—", "—",
                    str(exc).split(";")[0][:90])
                continue
            s = share_spread(f.extra["town_shares"])
            row(f"town floor {share:.0%}", p, f"{time.perf_counter() - t:.2f}", fmt(f.objective), fmt(f.bound),
                f"{f.gap:.2e}", f"price {fmt(plain.objective - f.objective)}; min {s.min:.1%} p10 {s.p10:.1%} "
                                f"Gini {s.gini:.3f}")
        t = time.perf_counter()
        mm = max_min_town_share(A, p, weights=w, towns=towns, fixed=fx, time_limit=tl)
        s = share_spread(mm.extra["town_shares"])
        row("max-min then total", p, f"{time.perf_counter() - t:.2f}", fmt(mm.objective), fmt(mm.bound),
            f"{mm.gap:.2e}", f"worst share {mm.extra['worst_share']:.2%} (bound {mm.extra['worst_share_bound']:.2%}); "
                             f"price {fmt(plain.objective - mm.objective)}; p10 {s.p10:.1%} Gini {s.gini:.3f}")
        t = time.perf_counter()
        alt = alternatives(A, p, weights=w, fixed=fx, tolerance=0.005, n_plans=5, exact_force=10, time_limit=tl)
        kinds = {k: int((alt.kind == k).sum()) for k in ("firm", "swappable", "only-one")}
        zero = int((alt.force_high <= 1e-9).sum())
        row("5 plans within 0.5 %", p, f"{time.perf_counter() - t:.2f}", fmt(alt.objectives.min()),
            fmt(alt.optimum.bound), f"{1 - alt.objectives.min() / alt.optimum.bound:.2%}",
            f"{len(alt.plans)} plans{' (exhausted)' if alt.exhausted else ''}; {kinds}; "
            f"{zero:,} candidates free to force (best swap), {len(alt.exact)} exact")
        for seed in seeds:
            W = census_scenarios(w, rate, 10, seed=seed)
            t = time.perf_counter()
            r = robust_siting(A, p, weights=W, fixed=fx, time_limit=tl, plans={TODAY: plain.selected})
            tab = r.regret_table()
            row(f"robust, 10 scenarios (seed {seed})", p, f"{time.perf_counter() - t:.2f}", fmt(r.worst.objective),
                fmt(r.worst.bound), f"{r.worst.gap:.2e}",
                f"max regret: worst-case {fmt(tab.loc['worst-case', 'max regret'])}, expected "
                f"{fmt(tab.loc['expected', 'max regret'])}, min-max {fmt(tab.loc['min-max regret', 'max regret'])}, "
                f"today's optimum {fmt(tab.loc[TODAY, 'max regret'])}")
        t = time.perf_counter()
        b = max_backup_coverage(A, p, weights=w, fixed=fx, coverage_tolerance=0.0, time_limit=tl)
        row("backup (lexicographic)", p, f"{time.perf_counter() - t:.2f}", fmt(b.objective), fmt(b.bound),
            f"{b.gap:.2e}", f"reached twice: {fmt(b.extra['backup_plain'])} in the plain plan → {fmt(b.objective)}")
        t = time.perf_counter()
        b1 = max_backup_coverage(A, p, weights=w, fixed=fx, coverage_tolerance=0.01, time_limit=tl)
        row("backup (≤ 1 % coverage)", p, f"{time.perf_counter() - t:.2f}", fmt(b1.objective), fmt(b1.bound),
            f"{b1.gap:.2e}", f"coverage {fmt(b1.extra['covered_new'])} of {fmt(b1.extra['coverage_plain'])}")
    # access to deputies (E2SFCA, as every plan measures it) before/after a plan of the largest budget
    from geoplan.planning import Scenario, plan

    t = time.perf_counter()
    pl = plan(ds, Scenario(budget=budgets[-1], allow_closures=False, time_limit=tl))
    m = pl.metrics
    print(f"\nplan(budget={budgets[-1]}, no closures): {time.perf_counter() - t:.2f} s in all; access to deputies "
          f"(E2SFCA, a town's deputies shared by its stations, tier radii, Gaussian zones), deputies per 10,000 "
          f"people: median {m.access_median_before:.2f} → {m.access_median_after:.2f}, p10 {m.access_p10_before:.2f} "
          f"→ {m.access_p10_after:.2f}, villages with none {m.villages_without_access_before:,.0f} → "
          f"{m.villages_without_access_after:,.0f}")


if __name__ == "__main__":
    main()
