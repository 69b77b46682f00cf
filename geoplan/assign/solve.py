"""The entry point :func:`assign`: the four rules in order, the shortfalls sorted, the metrics."""
from __future__ import annotations

import time
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan.assign import committees, conveners, stations, visits
from geoplan.assign._inputs import Inputs, prepare
from geoplan.assign.result import Assignment, Shortfall
from geoplan.assign.rules import RULES_CHECKED, Rules
from geoplan.datasets import Dataset
from geoplan.settings import STORAGE_CRS

__all__ = ["assign"]


def assign(dataset: Dataset, plan: Any = None, rules: Rules | None = None, **overrides: Any) -> Assignment:
    """Assign deputy groups, conveners, visiting deputies and committees.

    Parameters
    ----------
    dataset : Dataset
        Towns, stations, deputies, groups and committees.
    plan : geoplan.planning.Plan, optional
        If given, its stations with decision ``keep`` or ``open`` are assigned (instead
        of the dataset's active stations) and its per-town ``share_after`` measures
        which towns are under-served.
    rules : Rules, optional
        The rules (defaults: :class:`Rules`()); keyword ``overrides`` replace fields,
        e.g. ``assign(ds, max_stations_per_group=2)``.

    Returns
    -------
    Assignment
        Tables, unmet rules (never an exception for infeasible rules) and metrics:
        ``mean_distance_m``, ``p95_distance_m`` (group home town → station),
        ``industry_sector_match_share``, ``stations_per_group_min/mean/max``,
        ``towns_without_visitor``, ``deputies_without_station`` and more.

    Raises
    ------
    InputError
        Unknown or invalid rule, or a malformed plan.
    """
    t0 = time.perf_counter()
    rules = Rules.with_overrides(rules, **overrides)
    inp = prepare(dataset, plan)
    links, unmet = stations.group_stations(inp, rules)
    convener_table, u2 = conveners.conveners(inp, links, rules)
    deputy_towns, town_visitors, u3 = visits.deputy_towns(inp, rules)
    committee_groups, u4 = committees.committee_groups(inp, links, dataset.committees.reset_index(drop=True), rules)
    unmet = unmet + u2 + u3 + u4
    order = {r: i for i, r in enumerate(RULES_CHECKED)}
    unmet.sort(key=lambda s: (order.get(s.rule, 99), s.where))
    metrics = _metrics(inp, links, convener_table, town_visitors, committee_groups, unmet, rules)
    metrics["seconds"] = round(time.perf_counter() - t0, 3)
    st_wgs = inp.stations.to_crs(STORAGE_CRS)
    keep = [c for c in ("id", "name", "tier", "level", "town_code", "sector") if c in st_wgs.columns]
    group_points = gpd.GeoDataFrame(
        inp.groups[["id", "town_code"]].copy(), geometry=shapely.points(inp.gxy), crs=dataset.metric_crs
    ).to_crs(STORAGE_CRS)
    return Assignment(
        group_stations=links, conveners=convener_table, deputy_towns=deputy_towns, committee_groups=committee_groups,
        town_visitors=town_visitors, unmet=tuple(unmet), metrics=metrics,
        stations=st_wgs[keep + [st_wgs.geometry.name]].reset_index(drop=True), group_points=group_points, rules=rules,
    )


def _metrics(inp: Inputs, links: pd.DataFrame, conveners: pd.DataFrame, town_visitors: pd.DataFrame,
             committee_groups: pd.DataFrame, unmet: list[Shortfall], rules: Rules) -> dict[str, float]:
    n_g, n_s, n_d = len(inp.groups), len(inp.stations), len(inp.deputies)
    d = links["distance_m"].to_numpy(dtype=float)
    per_group = links["group_id"].value_counts().reindex(inp.groups["id"]).fillna(0).to_numpy()
    per_station = links["station_id"].value_counts().reindex(inp.stations["id"]).fillna(0).to_numpy()
    industry = inp.stations["id"][inp.s_sector >= 0]
    matched = set(links.loc[links["sector_match"], "station_id"])
    groups_linked = set(links["group_id"])
    dep_without = int((~inp.deputies["group_id"].isin(groups_linked)).sum())
    conv = conveners[conveners["role"] == "convener"]
    n_conv = conv["station_id"].value_counts().reindex(inp.stations["id"]).fillna(0).to_numpy()
    lo, hi = rules.conveners_per_station

    def stat(a: np.ndarray, f: Any) -> float:
        return float(f(a)) if len(a) else 0.0

    return {
        "groups": float(n_g),
        "stations": float(n_s),
        "industry_stations": float(len(industry)),
        "deputies": float(n_d),
        "links": float(len(links)),
        "mean_distance_m": round(stat(d, np.mean), 1),
        "p95_distance_m": round(stat(d, lambda a: np.percentile(a, 95)), 1),
        "max_distance_m": round(stat(d, np.max), 1),
        "industry_sector_match_share": round(
            float(industry.isin(matched).mean()) if len(industry) else 1.0, 4),
        "stations_per_group_min": stat(per_group, np.min),
        "stations_per_group_mean": round(stat(per_group, np.mean), 3),
        "stations_per_group_max": stat(per_group, np.max),
        "groups_per_station_min": stat(per_station, np.min),
        "groups_per_station_mean": round(stat(per_station, np.mean), 3),
        "groups_per_station_max": stat(per_station, np.max),
        "stations_without_group": float(np.sum(per_station == 0)),
        "groups_without_station": float(np.sum(per_group == 0)),
        "deputies_without_station": float(dep_without),
        "conveners": float(len(conv)),
        "stations_with_max_conveners": float(np.sum(n_conv >= hi)),
        "stations_below_min_conveners": float(np.sum(n_conv < lo)),
        "visiting_units": float(town_visitors["visiting_units"].sum()),
        "visiting_deputies": float(town_visitors["visiting_deputies"].sum()),
        "towns_without_visitor": float(np.sum(town_visitors["visiting_units"] == 0)),
        "committee_links": float(len(committee_groups)),
        "committee_sector_match_share": round(
            float(committee_groups["sector_match"].mean()) if len(committee_groups) else 1.0, 4),
        "unmet": float(len(unmet)),
    }
