"""Benchmark the reception rota (geoplan.operations.reception) on the bundled Yancheng dataset.

A full year for the whole city (1,017 stations, 11,608 deputies, every county's reception
days) against two peers in the same run:

* ``networkx simplex`` — the same min-cost flow (convex per-deputy arcs, deputy-day capacity,
  station-day demands with slack) solved by ``networkx.network_simplex`` on integer costs;
* ``greedy`` — station-days in date order each take the linked free deputies with the fewest
  duties so far, nearest first (no optimisation), then a pass gives every deputy still without
  a duty one at a linked station.

Instance families: quarterly days with ``min_deputies`` 2 and 3, monthly days (12 a year),
and 10 % of deputy-days unavailable at random (seeds 0, 1, 2). Reported per method: seconds,
station-day shortfall (deputy units), deputies below ``min_per_year``, groups whose spread
exceeds 1, max spread, mean km. The time of ``plan_reception`` includes building the model
and every output table; the group assignment (``geoplan.assign``, the same for every
method) is timed once, separately.

Run: ``.venv/bin/python benchmarks/bench_reception.py [--no-networkx] [--seeds 0,1,2]``.
"""
from __future__ import annotations

import argparse
import platform
import time

import networkx as nx
import numpy as np
import pandas as pd

from geoplan.assign import assign
from geoplan.datasets import Dataset
from geoplan.operations._helpers import deputy_station_pairs, distances_m, network
from geoplan.operations.calendars import DayRule, ReceptionCalendar
from geoplan.operations.reception import ReceptionRules, plan_reception, reception_days
from geoplan.settings import BUNDLED_DATASET

YEAR = 2026  # on the official calendar


def candidates(ds: Dataset, a, cal: ReceptionCalendar, unavailable: pd.DataFrame | None) -> pd.DataFrame:
    """(deputy, station, date, km) arcs, the same the rota uses."""
    net = network(ds, a)
    d, s = deputy_station_pairs(net)
    days, _ = reception_days(ds, a, [YEAR], cal)
    pairs = pd.DataFrame({"d": d, "s": s, "km": distances_m(net, d, s) / 1000.0,
                          "deputy_id": net.deputies["id"].to_numpy()[d],
                          "group_id": net.deputies["group_id"].to_numpy()[d],
                          "station_id": net.stations["id"].to_numpy()[s]})
    arcs = pairs.merge(days[["station_id", "date"]], on="station_id")
    if unavailable is not None:
        arcs = arcs.merge(unavailable.assign(_u=1), on=["deputy_id", "date"], how="left")
        arcs = arcs[arcs["_u"].isna()].drop(columns="_u")
    return arcs.reset_index(drop=True), days, net


def measure(duties: pd.DataFrame, days: pd.DataFrame, net, min_dep: int) -> dict[str, float]:
    per_sd = duties.groupby(["station_id", "date"]).size()
    need = days.set_index(["station_id", "date"]).index
    have = per_sd.reindex(need).fillna(0).to_numpy()
    n = duties["deputy_id"].value_counts().reindex(net.deputies["id"]).fillna(0)
    spread = n.groupby(net.deputies["group_id"].to_numpy()).agg(lambda v: v.max() - v.min())
    return {"short": float(np.maximum(min_dep - have, 0).sum()), "below_min": float((n < 1).sum()),
            "unfair_groups": float((spread > 1).sum()), "max_spread": float(spread.max()),
            "mean_km": float(duties["km"].mean()) if len(duties) else 0.0,
            "twice_a_day": float(duties.duplicated(["deputy_id", "date"]).sum())}


def greedy(arcs: pd.DataFrame, days: pd.DataFrame, min_dep: int) -> pd.DataFrame:
    count: dict[str, int] = {}
    busy: set[tuple[str, object]] = set()
    chosen = []
    by_sd = {k: g.sort_values("km") for k, g in arcs.groupby(["station_id", "date"])}
    for key in sorted(by_sd, key=lambda k: (k[1], k[0])):
        g = by_sd[key]
        order = sorted(g.itertuples(index=False), key=lambda r: (count.get(r.deputy_id, 0), r.km))
        took = 0
        for r in order:
            if took == min_dep:
                break
            if (r.deputy_id, r.date) in busy:
                continue
            busy.add((r.deputy_id, r.date))
            count[r.deputy_id] = count.get(r.deputy_id, 0) + 1
            chosen.append(r)
            took += 1
    for r in arcs.sort_values("km").itertuples(index=False):  # everyone at least once
        if count.get(r.deputy_id, 0) == 0 and (r.deputy_id, r.date) not in busy:
            busy.add((r.deputy_id, r.date))
            count[r.deputy_id] = 1
            chosen.append(r)
    return pd.DataFrame(chosen, columns=arcs.columns)


def networkx_flow(arcs: pd.DataFrame, days: pd.DataFrame, min_dep: int, fair_km: float = 100.0) -> pd.DataFrame:
    """The rota's flow with integer costs (metres) on networkx.network_simplex."""
    g = nx.MultiDiGraph()
    scale = 1000  # km → m
    k_max = arcs.groupby("deputy_id")["date"].nunique()
    reward = int(10 * (fair_km * k_max.max() + arcs["km"].max() + 100) * scale)
    big = 100 * reward
    sds = list(days[["station_id", "date"]].itertuples(index=False, name=None))
    g.add_node("S", demand=-min_dep * len(sds))
    g.add_node("T", demand=0)
    for sd in sds:
        g.add_node(("sd", *sd), demand=min_dep)
        g.add_edge("S", ("sd", *sd), capacity=min_dep, weight=big)  # slack
        g.add_edge(("sd", *sd), "T", weight=0)  # extra deputies flow on to T
    g.add_edge("T", "S", weight=0)  # circulation of the optional units
    for dep, k in k_max.items():
        for j in range(1, int(k) + 1):
            g.add_edge("S", ("d", dep), capacity=1, weight=int((-reward if j == 1 else 0) + fair_km * scale * (j - 1)))
    for r in arcs.drop_duplicates(["deputy_id", "date"]).itertuples(index=False):
        g.add_edge(("d", r.deputy_id), ("dd", r.deputy_id, r.date), capacity=1, weight=0)
    for r in arcs.itertuples(index=False):
        g.add_edge(("dd", r.deputy_id, r.date), ("sd", r.station_id, r.date), capacity=1, weight=int(r.km * scale))
    _, flow = nx.network_simplex(g)
    rows = [r for r in arcs.itertuples(index=False)
            if any(v > 0 for v in flow[("dd", r.deputy_id, r.date)].get(("sd", r.station_id, r.date), {}).values())]
    return pd.DataFrame(rows, columns=arcs.columns)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--no-networkx", action="store_true")
    ap.add_argument("--seeds", default="0,1,2")
    args = ap.parse_args()
    ds = Dataset.load(BUNDLED_DATASET)
    t = time.perf_counter()
    a = assign(ds)
    t_assign = time.perf_counter() - t
    print(f"machine: {platform.machine()} {platform.python_version()}; geoplan.assign {t_assign:.2f} s (once)")
    quarterly, monthly = ReceptionCalendar(), ReceptionCalendar(default_rule=DayRule(every="month", day=15))
    families = [("quarterly, min 2", quarterly, 2, None), ("quarterly, min 3", quarterly, 3, None),
                ("monthly, min 2", monthly, 2, None)]
    for seed in [int(s) for s in args.seeds.split(",") if s]:
        families.append((f"quarterly, min 2, 10% unavailable, seed {seed}", quarterly, 2, seed))
    print("| instance | method | seconds | short (deputy units) | deputies below min | groups spread > 1 | "
          "max spread | mean km | twice a day |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, cal, min_dep, seed in families:
        un = None
        if seed is not None:
            arcs0, days0, _ = candidates(ds, a, cal, None)
            dd = arcs0[["deputy_id", "date"]].drop_duplicates()
            un = dd.sample(frac=0.10, random_state=seed).reset_index(drop=True)
        arcs, days, net = candidates(ds, a, cal, un)
        t = time.perf_counter()
        rota = plan_reception(ds, a, YEAR, cal, unavailable=un, rules=ReceptionRules(min_deputies=min_dep))
        secs = time.perf_counter() - t
        mine = pd.DataFrame(rota.rota).assign(km=rota.rota["distance_m"] / 1000.0)
        runs = [("geoplan (HiGHS LP)", secs, mine)]
        if not args.no_networkx and seed in (None, 0) and "monthly" not in name:
            t = time.perf_counter()
            runs.append(("networkx simplex", 0.0, networkx_flow(arcs, days, min_dep)))
            runs[-1] = (runs[-1][0], time.perf_counter() - t, runs[-1][2])
        t = time.perf_counter()
        g = greedy(arcs, days, min_dep)
        runs.append(("greedy", time.perf_counter() - t, g))
        for method, s, duties in runs:
            m = measure(duties, days, net, min_dep)
            print(f"| {name} ({len(days):,} station-days, {len(arcs):,} arcs) | {method} | {s:.2f} | {m['short']:,.0f} | "
                  f"{m['below_min']:,.0f} | {m['unfair_groups']:,.0f} | {m['max_spread']:.0f} | {m['mean_km']:.2f} | "
                  f"{m['twice_a_day']:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
