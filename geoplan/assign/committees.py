"""Rule 4, "1 + 5 + N": each special committee linked to ``committee_groups`` deputy groups
matched by sector to its field, no group serving two committees unless too few exist.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from geoplan.assign._flow import bipartite_flow
from geoplan.assign._inputs import Inputs, sector_index
from geoplan.assign.result import Shortfall
from geoplan.assign.rules import Rules
from geoplan.datasets import SECTORS

__all__ = ["committee_groups"]

def committee_groups(inp: Inputs, links: pd.DataFrame, committees: pd.DataFrame,
                      rules: Rules) -> tuple[pd.DataFrame, list[Shortfall]]:
    """Rule 4, "1 + 5 + N": link each special committee to ``rules.committee_groups`` deputy groups.

    Groups are matched by sector to the committee's field (share of the group's deputies in the
    field, the group's own sector, its linked industry stations in the field) as a min-cost flow;
    no group serves two committees unless there are too few groups.

    Parameters
    ----------
    inp
        The prepared deputies, groups and stations (coordinates and sector codes).
    links
        The group ↔ station links of rule 1 (``group_id``, ``station_id``, ``sector``).
    committees
        The special committees (``id`` and a comma-separated ``sectors`` field).
    rules
        The assignment rules.

    Returns
    -------
    tuple[pandas.DataFrame, list[Shortfall]]
        One row per (committee, group) link with the sector match, and the rules left short (too few groups, groups outside
        the committee's field, groups serving two committees).
    """
    n_c, n_g, need = len(committees), len(inp.groups), rules.committee_groups
    field_idx = [sector_index(pd.Series([s.strip() for s in str(v).split(",") if s.strip()]))
                 for v in committees["sectors"]]
    fmask = np.zeros((n_c, len(SECTORS)), bool)
    for c, idx in enumerate(field_idx):
        fmask[c, idx[idx >= 0]] = True
    field_share = inp.frac @ fmask.T.astype(float)  # groups × committees
    own = np.zeros((n_g, n_c), bool)
    has = inp.g_sector >= 0
    own[has] = fmask[:, inp.g_sector[has]].T
    # "N": the group's linked industry stations in the committee's field.
    g_of = pd.Series(np.arange(n_g), index=inp.groups["id"])
    lg = g_of.reindex(links["group_id"]).to_numpy()
    ls = sector_index(links["sector"])
    field_st = np.zeros((n_g, n_c), np.int64)
    ok = ls >= 0
    # numpy's stubs do not accept a slice inside the index tuple of ufunc.at
    np.add.at(field_st, (lg[ok], slice(None)), fmask[:, ls[ok]].T.astype(np.int64))  # type: ignore[arg-type]
    score = field_share + own + 0.5 * (field_st > 0)
    cost = np.rint((2.5 - score) * 100_000).astype(np.int64)  # ≤ 250,000
    reuse = max(1, math.ceil(n_c * need / max(n_g, 1)))
    arc_c, arc_g = np.repeat(np.arange(n_c), n_g), np.tile(np.arange(n_g), n_c)
    res = bipartite_flow(
        np.full(n_c, need), np.full(n_c, need), np.zeros(n_g, np.int64), np.full(n_g, reuse),
        arc_c, arc_g, cost.T.reshape(-1), right_extra_cost=1_000_000,
    )
    used = res.arc_flow > 0
    ci, gi = arc_c[used], arc_g[used]
    matched = (field_share[gi, ci] > 0) | own[gi, ci]
    table = pd.DataFrame(
        {"committee_id": committees["id"].to_numpy()[ci], "group_id": inp.groups["id"].to_numpy()[gi],
         "sector_share": np.round(field_share[gi, ci], 4), "sector_match": matched,
         "group_sector": inp.groups["sector"].to_numpy()[gi], "field_stations": field_st[gi, ci]}
    )
    table["cost"] = cost[gi, ci]
    table = table.sort_values(["committee_id", "cost", "group_id"], kind="stable").drop(columns="cost")
    table = table.reset_index(drop=True).astype({"group_sector": object})
    unmet: list[Shortfall] = []
    got = np.bincount(ci, minlength=n_c)
    bad = np.bincount(ci[~matched], minlength=n_c)
    for c in range(n_c):
        cid, sectors = str(committees["id"].iat[c]), str(committees["sectors"].iat[c])
        if got[c] < need:
            unmet.append(Shortfall("committee_groups", cid, float(need - got[c]),
                                   f"only {n_g} deputy groups exist"))
        if bad[c]:
            unmet.append(Shortfall("committee_field", cid, float(bad[c]),
                                   f"{bad[c]} of its {got[c]} groups have no deputy in its field ({sectors})"))
    uses = np.bincount(gi, minlength=n_g)
    extra = int(np.sum(np.maximum(uses - 1, 0)))
    if extra:
        unmet.append(Shortfall("committee_distinct_groups", "all", float(extra),
                               f"{n_c} committees × {need} groups = {n_c * need} links but only {n_g} groups"))
    return table, unmet
