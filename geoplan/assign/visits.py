"""Rule 3, visiting deputies → towns: national deputies one by one, provincial and city
deputies by group; every town a visitor before any gets a second, under-served towns first
(a rectangular linear assignment).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from geoplan.assign._inputs import Inputs
from geoplan.assign.result import Shortfall
from geoplan.assign.rules import Rules
from geoplan.datasets import DEPUTY_LEVELS

__all__ = ["deputy_towns"]

def deputy_towns(inp: Inputs, rules: Rules) -> tuple[pd.DataFrame, pd.DataFrame, list[Shortfall]]:
    """Rule 3: send visiting deputies to towns, every town one visitor before any gets a second.

    National deputies visit one by one, provincial and city deputies as their group's team; a
    rectangular linear assignment spreads them over the towns, under-served towns first.

    Parameters
    ----------
    inp
        The prepared deputies, groups and towns.
    rules
        The assignment rules.

    Returns
    -------
    tuple[pandas.DataFrame, pandas.DataFrame, list[Shortfall]]
        One row per visiting deputy with the town, one row per town with its visitor counts,
        and the towns left with fewer visiting units than
        ``rules.min_visitors_per_town``.
    """
    deps, towns = inp.deputies, inp.towns
    level = deps["level"].to_numpy()
    indiv = np.flatnonzero(np.isin(level, rules.individual_visitor_levels))
    in_group = np.flatnonzero(np.isin(level, rules.group_visitor_levels))
    teams = np.unique(inp.d_group[in_group])
    # Units: each individual visitor, then each group's team (located at the group's home town).
    uxy = np.vstack([inp.dxy[indiv], inp.gxy[teams]]) if len(indiv) + len(teams) else np.empty((0, 2))
    n_u, n_t = len(uxy), len(towns)
    txy = towns[["x", "y"]].to_numpy()
    town_of_unit = np.empty(0, np.int64)
    if n_u and n_t:
        m_first = rules.min_visitors_per_town
        slots = max(m_first, math.ceil(n_u / n_t)) + 1
        dist = np.hypot(uxy[:, None, 0] - txy[None, :, 0], uxy[:, None, 1] - txy[None, :, 1])  # units × towns
        base = dist + rules.underserved_weight_m * (1.0 - towns["underserved"].to_numpy())[None, :]
        # Spread first: a slot beyond the first m_first of a town costs more than any first slot.
        first = 10.0 * (float(np.max(base)) + rules.visit_crowding_m * slots + 1.0)
        j = np.arange(slots)
        slot_cost = rules.visit_crowding_m * j + np.where(j >= m_first, first, 0.0)
        cost = (base[:, :, None] + slot_cost[None, None, :]).reshape(n_u, n_t * slots)
        rows, cols = linear_sum_assignment(cost)
        town_of_unit = np.empty(n_u, np.int64)
        town_of_unit[rows] = cols // slots
    unit_town_i = town_of_unit[: len(indiv)]
    team_town = pd.Series(town_of_unit[len(indiv):], index=teams, dtype=np.int64)
    grp_town = team_town.reindex(inp.d_group[in_group]).to_numpy(dtype=np.int64)
    who = np.concatenate([indiv, in_group])
    t_idx = np.concatenate([unit_town_i, grp_town]).astype(np.int64)
    table = pd.DataFrame(
        {
            "deputy_id": deps["id"].to_numpy()[who],
            "level": level[who],
            "group_id": deps["group_id"].to_numpy()[who],
            "unit": np.r_[np.full(len(indiv), "individual", dtype=object), np.full(len(in_group), "group", dtype=object)],
            "town_code": towns["code"].to_numpy()[t_idx] if len(t_idx) else np.empty(0, object),
            "distance_m": np.round(np.hypot(*(inp.dxy[who] - txy[t_idx]).T), 1) if len(t_idx) else np.empty(0),
            "contacts": np.full(len(who), rules.contacts_per_visitor, dtype=np.int64),
        }
    )
    table["level_rank"] = table["level"].map({lv: i for i, lv in enumerate(DEPUTY_LEVELS)})
    table = table.sort_values(["level_rank", "group_id", "deputy_id"], kind="stable").drop(columns="level_rank")
    table = table.reset_index(drop=True)
    units = np.bincount(town_of_unit, minlength=n_t) if n_u else np.zeros(n_t, np.int64)
    visitors = table["town_code"].value_counts().reindex(towns["code"]).fillna(0).to_numpy(dtype=np.int64)
    tv = pd.DataFrame(
        {"town_code": towns["code"].to_numpy(), "name": towns["name"].to_numpy(),
         "underserved": np.round(towns["underserved"].to_numpy(), 4), "visiting_units": units,
         "visiting_deputies": visitors}
    )
    unmet = [
        Shortfall("town_has_visitor", str(towns["code"].iat[t]), float(rules.min_visitors_per_town - units[t]),
                  f"only {n_u} visiting units (national deputies + provincial/city deputy groups) for {n_t} towns")
        for t in np.flatnonzero(units < rules.min_visitors_per_town).tolist()
    ]
    return table, tv, unmet
