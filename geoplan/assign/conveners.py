"""Rule 2, conveners: each station gets ``conveners_per_station`` deputies of its linked
groups (plus a liaison-officer slot); no deputy convenes more than ``max_convened_per_deputy``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from geoplan.assign._flow import bipartite_flow
from geoplan.assign._inputs import Inputs
from geoplan.assign.result import Shortfall
from geoplan.assign.rules import Rules

__all__ = ["conveners"]

def conveners(inp: Inputs, links: pd.DataFrame, rules: Rules) -> tuple[pd.DataFrame, list[Shortfall]]:
    """Rule 2: choose the convener deputies of every station from the groups linked to it.

    Each station gets ``rules.conveners_per_station`` deputies (nearest first, preferring the
    convener levels and the station's sector) plus a liaison-officer slot; no deputy convenes
    more than ``rules.max_convened_per_deputy`` stations.

    Parameters
    ----------
    inp
        The prepared deputies, groups and stations.
    links
        The group ↔ station links of rule 1.
    rules
        The assignment rules.

    Returns
    -------
    tuple[pandas.DataFrame, list[Shortfall]]
        One row per (station, slot) with role, deputy, group, level and distance, and the stations
        left with fewer conveners than required.
    """
    st, deps = inp.stations, inp.deputies
    n_s, n_d = len(st), len(deps)
    lo, hi = rules.conveners_per_station
    s_of = pd.Series(np.arange(n_s), index=st["id"])
    g_of = pd.Series(np.arange(len(inp.groups)), index=inp.groups["id"])
    link_s = s_of.reindex(links["station_id"]).to_numpy()
    link_g = g_of.reindex(links["group_id"]).to_numpy()
    # (station, deputy) arcs: every deputy of every group linked to the station.
    order = np.argsort(inp.d_group, kind="stable")
    starts = np.searchsorted(inp.d_group[order], np.arange(len(inp.groups) + 1))
    sizes = starts[link_g + 1] - starts[link_g]
    arc_s = np.repeat(link_s, sizes)
    offs = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    arc_d = order[np.repeat(starts[link_g], sizes) + offs]
    dist = np.hypot(*(inp.dxy[arc_d] - inp.sxy[arc_s]).T) if len(arc_d) else np.empty(0)
    other_level = ~deps["level"].isin(rules.convener_levels).to_numpy()[arc_d]
    match = (inp.s_sector[arc_s] >= 0) & (inp.d_sector[arc_d] == inp.s_sector[arc_s])
    cost = (dist + rules.convener_level_penalty_m * other_level) * np.where(match, 1.0 - rules.sector_discount, 1.0)
    res = bipartite_flow(
        np.full(n_s, lo), np.full(n_s, hi), np.zeros(n_d, np.int64), np.full(n_d, rules.max_convened_per_deputy),
        arc_s, arc_d, np.rint(cost).astype(np.int64), fill_left=True,
    )
    used = res.arc_flow > 0
    chosen = pd.DataFrame(
        {"s": arc_s[used], "cost": cost[used], "deputy_id": deps["id"].to_numpy()[arc_d[used]],
         "group_id": deps["group_id"].to_numpy()[arc_d[used]], "level": deps["level"].to_numpy()[arc_d[used]],
         "distance_m": np.round(dist[used], 1)}
    ).sort_values(["s", "cost", "deputy_id"], kind="stable")
    chosen["slot"] = chosen.groupby("s").cumcount() + 1
    chosen["role"] = "convener"
    n_conv = np.bincount(chosen["s"].to_numpy(dtype=np.int64), minlength=n_s)
    liaison = pd.DataFrame(
        {"s": np.arange(n_s), "cost": 0.0, "deputy_id": None, "group_id": None, "level": None,
         "distance_m": np.nan, "slot": n_conv + 1, "role": "liaison_officer"}
    )
    table = pd.concat([chosen, liaison], ignore_index=True).sort_values(["s", "slot"], kind="stable")
    table.insert(0, "station_id", st["id"].to_numpy()[table["s"].to_numpy(dtype=np.int64)])
    table = table[["station_id", "slot", "role", "deputy_id", "group_id", "level", "distance_m"]].reset_index(drop=True)
    table = table.astype({"deputy_id": object, "group_id": object, "level": object, "slot": np.int64})
    linked = np.bincount(link_s, minlength=n_s) if len(link_s) else np.zeros(n_s, np.int64)
    unmet = [
        Shortfall("station_conveners", str(st["id"].iat[j]), float(res.left_short[j]),
                  "station has no linked group" if linked[j] == 0 else
                  f"its linked groups have only {n_conv[j]} deputies free to convene")
        for j in np.flatnonzero(res.left_short > 0)
    ]
    return table, unmet
