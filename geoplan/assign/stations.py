"""Rule 1, groups ↔ stations: every active station linked to a deputy group, every group to
1..``max_stations_per_group`` stations; short links, industry stations to sector-rich groups.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from geoplan.assign._flow import bipartite_flow, knn_pairs
from geoplan.assign._inputs import Inputs
from geoplan.assign.result import Shortfall
from geoplan.assign.rules import Rules

__all__ = ["group_stations"]

def group_stations(inp: Inputs, rules: Rules) -> tuple[pd.DataFrame, list[Shortfall]]:
    """Rule 1: link every active station to a deputy group and every group to its stations.

    Candidate links are the ``rules.k_nearest`` stations/groups within ``rules.max_link_distance_m``
    (plus sector-rich groups for industry stations); a min-cost flow picks 1..``max_stations_per_group``
    short links per group, discounted when the group's deputies share the station's sector.

    Parameters
    ----------
    inp
        The prepared deputies, groups and stations.
    rules
        The assignment rules.

    Returns
    -------
    tuple[pandas.DataFrame, list[Shortfall]]
        One row per (group, station) link with its distance, and the rules left short (stations without a group, groups
        without a station, deputies who cannot enter a station).
    """
    n_g, n_s = len(inp.groups), len(inp.stations)
    k, r = rules.k_nearest, float(rules.max_link_distance_m)
    pairs = [knn_pairs(inp.gxy, inp.sxy, k, r)]  # k nearest stations of each group
    s_q, g_t = knn_pairs(inp.sxy, inp.gxy, k, r)  # k nearest groups of each station
    pairs.append((g_t, s_q))
    rich_missing: list[int] = []
    for sec in np.unique(inp.s_sector[inp.s_sector >= 0]):
        stations = np.flatnonzero(inp.s_sector == sec)
        rich = np.flatnonzero(inp.share[:, sec] >= rules.sector_match_share)
        s_q, g_t = knn_pairs(inp.sxy[stations], inp.gxy[rich], k, r)
        pairs.append((rich[g_t], stations[s_q]))
        rich_missing.extend(np.setdiff1d(stations, stations[s_q]).tolist())
    g_arr = np.concatenate([p[0] for p in pairs]) if pairs else np.empty(0, np.int64)
    s_arr = np.concatenate([p[1] for p in pairs]) if pairs else np.empty(0, np.int64)
    key = np.unique(g_arr * max(n_s, 1) + s_arr)
    g_arr, s_arr = key // max(n_s, 1), key % max(n_s, 1)
    dist = np.hypot(*(inp.gxy[g_arr] - inp.sxy[s_arr]).T)
    sec = inp.s_sector[s_arr]
    sshare = np.where(sec >= 0, inp.share[g_arr, np.maximum(sec, 0)], 0.0)
    cost = np.rint(dist * (1.0 - rules.sector_discount * sshare)).astype(np.int64)

    # A group can only staff as many stations as its deputies can convene: a 1-deputy
    # group linked to 3 stations would leave 2 of them without a convener.
    dep_per_group = np.bincount(inp.d_group, minlength=n_g)
    staffable = dep_per_group * rules.max_convened_per_deputy // max(rules.conveners_per_station[0], 1)
    hi_g = np.clip(staffable, 1, rules.max_stations_per_group)
    right_hi = None if rules.max_groups_per_station is None else np.full(n_s, rules.max_groups_per_station)
    res = bipartite_flow(np.ones(n_g, np.int64), hi_g, np.ones(n_s, np.int64), right_hi, g_arr, s_arr, cost)
    used = res.arc_flow > 0
    st, gr = inp.stations, inp.groups
    gi, si = g_arr[used], s_arr[used]
    table = pd.DataFrame(
        {
            "group_id": gr["id"].to_numpy()[gi],
            "station_id": st["id"].to_numpy()[si],
            "distance_m": np.round(dist[used], 1),
            "sector": st["sector"].to_numpy()[si],
            "sector_share": np.round(sshare[used], 4),
            "sector_match": (sec[used] >= 0) & (sshare[used] >= rules.sector_match_share),
            "group_town_code": gr["town_code"].to_numpy()[gi],
            "station_town_code": st["town_code"].to_numpy()[si],
        }
    )
    table["sector"] = table["sector"].astype(object).where(table["sector"].notna(), None)

    unmet: list[Shortfall] = []
    cap = int(hi_g.sum())
    if n_s > cap:
        unmet.append(Shortfall(
            "group_capacity", "all", float(n_s - cap),
            f"{n_s} stations need a group but {n_g} groups can take only {cap} "
            f"(at most {rules.max_stations_per_group} each, and no more than their deputies can convene)",
        ))
    has_arc = np.zeros(n_s, bool)
    has_arc[s_arr] = True
    for j in np.flatnonzero(res.right_short > 0).tolist():
        why = (f"no deputy group's home town within {r:,.0f} m" if not has_arc[j]
               else "every group within reach already has its maximum of stations")
        unmet.append(Shortfall("station_has_group", str(st["id"].iat[j]), 1.0, why))
    g_has_arc = np.zeros(n_g, bool)
    g_has_arc[g_arr] = True
    for i in np.flatnonzero(res.left_short > 0).tolist():
        why = (f"no station within {r:,.0f} m of home town {gr['town_code'].iat[i]}" if not g_has_arc[i]
               else "every station within reach is full")
        unmet.append(Shortfall("group_has_station", str(gr["id"].iat[i]), 1.0, why))
        if dep_per_group[i]:
            unmet.append(Shortfall("deputy_enters_station", str(gr["id"].iat[i]), float(dep_per_group[i]),
                                   f"{dep_per_group[i]} deputies of a group with no station"))
    for j in sorted(set(rich_missing)):
        unmet.append(Shortfall(
            "industry_station_sector", str(st["id"].iat[j]), 1.0,
            f"no group rich in {st['sector'].iat[j]} (share >= {rules.sector_match_share:g}) within {r:,.0f} m",
        ))
    table = table.sort_values(["group_id", "distance_m", "station_id"], kind="stable").reset_index(drop=True)
    return table, unmet
