"""Benchmark geoplan.assign on the bundled Yancheng dataset.

Times :func:`geoplan.assign.assign` (all groups, deputies and active stations; the
issue's target is under 10 s on a 2-core machine) and compares the group ↔ station
links with a naive greedy baseline: each station takes its nearest group that still
has room, then each group left without a station takes its nearest station
(ignoring the cap). Prints Markdown tables.

Run: ``.venv/bin/python benchmarks/bench_assign.py [--repeat 3] [--plan]``.
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geoplan.assign import Rules, assign
from geoplan.datasets import Dataset
from geoplan.settings import BUNDLED_DATASET


def greedy_links(ds: Dataset, rules: Rules) -> pd.DataFrame:
    """Nearest-first greedy: stations in id order take the nearest group with room."""
    metric = ds.to_metric()
    towns = metric["towns"]
    txy = shapely.get_coordinates(shapely.point_on_surface(towns.geometry.values))
    tidx = pd.Series(np.arange(len(towns)), index=towns["code"])
    gxy = txy[tidx.reindex(ds.groups["town_code"]).to_numpy()]
    st = metric["stations"]
    st = st[st["status"] == "active"].reset_index(drop=True)
    sxy = shapely.get_coordinates(st.geometry.values)
    # Same caps as assign(): max_stations_per_group, and no more than the group's deputies can convene.
    n_dep = ds.deputies["group_id"].value_counts().reindex(ds.groups["id"]).fillna(0).to_numpy(int)
    cap = np.clip(n_dep * rules.max_convened_per_deputy // max(rules.conveners_per_station[0], 1),
                  1, rules.max_stations_per_group)
    load = np.zeros(len(gxy), int)
    rows: list[tuple[int, int]] = []
    _, order = cKDTree(gxy).query(sxy, k=min(len(gxy), 200))
    for s in range(len(sxy)):
        for g in order[s]:
            if load[g] < cap[g]:
                load[g] += 1
                rows.append((g, s))
                break
    lonely = np.flatnonzero(load == 0)
    _, near = cKDTree(sxy).query(gxy[lonely], k=1)
    rows += list(zip(lonely.tolist(), np.atleast_1d(near).tolist()))
    g, s = np.array(rows).T
    d = np.hypot(*(gxy[g] - sxy[s]).T)
    return pd.DataFrame({"g": g, "s": s, "distance_m": d})


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--plan", action="store_true", help="also assign on the default scenario's plan")
    args = ap.parse_args()
    ds = Dataset.load(BUNDLED_DATASET)
    rules = Rules()
    times, a = [], None
    for _ in range(args.repeat):
        t = time.perf_counter()
        a = assign(ds, rules=rules)
        times.append(time.perf_counter() - t)
    assert a is not None
    t = time.perf_counter()
    base = greedy_links(ds, rules)
    t_base = time.perf_counter() - t
    m = a.metrics

    print(f"Bundled dataset: {len(ds.groups):,} groups, {len(ds.deputies):,} deputies, "
          f"{int(m['stations']):,} active stations, {len(ds.towns)} towns, {len(ds.committees)} committees; "
          f"{platform.processor() or platform.machine()}, Python {platform.python_version()}\n")
    total = a.group_stations["distance_m"].sum() / 1000
    print("| method | seconds (median) | links | total link km | mean distance m | p95 distance m | "
          "industry stations sector-matched |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    print(f"| `geoplan.assign.assign` (all four rules) | {statistics.median(times):.2f} | {int(m['links']):,} | "
          f"{total:,.0f} | {m['mean_distance_m']:,.0f} | {m['p95_distance_m']:,.0f} | "
          f"{m['industry_sector_match_share']:.1%} |")
    print(f"| greedy nearest (links only) | {t_base:.2f} | {len(base):,} | {base['distance_m'].sum() / 1000:,.0f} | "
          f"{base['distance_m'].mean():,.0f} | {np.percentile(base['distance_m'], 95):,.0f} | n/a |")
    print("\n| metric | value |\n|---|---:|")
    for k, v in m.items():
        print(f"| {k} | {v:,.4g} |")
    print(f"\nUnmet rules: {len(a.unmet)}")
    if args.plan:
        from geoplan.scenario import plan

        p = plan(ds)
        t = time.perf_counter()
        b = assign(ds, plan=p)
        print(f"\nOn the default plan ({int(b.metrics['stations']):,} kept + opened stations): "
              f"{time.perf_counter() - t:.2f} s, mean {b.metrics['mean_distance_m']:,.0f} m, "
              f"p95 {b.metrics['p95_distance_m']:,.0f} m, unmet {len(b.unmet)}")


if __name__ == "__main__":
    main()
