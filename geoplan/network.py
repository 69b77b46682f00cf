"""Statistics of the current station network (before any optimisation).

:func:`network_summary` counts active stations per tier and county and the people
within :data:`geoplan.settings.HEADLINE_RADIUS_M` (2 km) of one — the table that
``geoplan data info`` and ``geoplan demo`` print.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoplan.access import nearest_distance
from geoplan.datasets import TIERS, Dataset
from geoplan.settings import HEADLINE_RADIUS_M


@dataclass(frozen=True)
class NetworkSummary:
    """Stations by tier and county, and how many people live within reach.

    Attributes
    ----------
    by_county : pandas.DataFrame
        One row per county: ``code``, ``name``, a count column per tier, ``total``,
        ``population``, ``people_within`` and ``share_within``; the last row is the city.
    radius_m : float
        The radius used for ``people_within``.
    population, people_within, share_within : float
        City totals.
    """

    by_county: pd.DataFrame
    radius_m: float
    population: float
    people_within: float
    share_within: float


def nearest_station_distance(dataset: Dataset) -> np.ndarray:
    """Straight-line distance (m) from every demand point to its nearest active station (inf if none)."""
    active = (dataset.stations["status"] == "active").to_numpy()
    dist, _ = nearest_distance(dataset.xy("demand"), dataset.xy("stations")[active])
    return dist


def network_summary(dataset: Dataset, radius_m: float = HEADLINE_RADIUS_M) -> NetworkSummary:
    """Summarise the active station network of ``dataset``.

    Parameters
    ----------
    dataset : Dataset
        The planning data.
    radius_m : float
        A person counts as within reach if an active station is this close (straight line).
    """
    st = dataset.active_stations()
    towns = dataset.towns[["code", "county_code"]].rename(columns={"code": "town_code"})
    st = st.merge(towns, on="town_code", how="left")
    counts = pd.crosstab(st["county_code"], st["tier"]).reindex(columns=list(TIERS), fill_value=0)
    within = nearest_station_distance(dataset) <= radius_m
    dem = dataset.demand.merge(towns, on="town_code", how="left")
    dem = dem.assign(within=np.where(within, dem["population"], 0.0))
    pop = dem.groupby("county_code")[["population", "within"]].sum()
    table = (
        dataset.counties[["code", "name"]]
        .set_index("code")
        .join(counts)
        .join(pop)
        .fillna(0)
        .rename(columns={"within": "people_within"})
    )
    for t in TIERS:
        table[t] = table[t].astype(int)
    table["total"] = table[list(TIERS)].sum(axis=1)
    city = table[list(TIERS) + ["total", "population", "people_within"]].sum()
    table.loc["city"] = {"name": "City total", **city.to_dict()}
    # A county without people (none in the data) has share 0, not NaN.
    table["share_within"] = (table["people_within"] / table["population"]).where(table["population"] > 0, 0.0)
    table = table.reset_index().rename(columns={"index": "code"})
    table = table[["code", "name", *TIERS, "total", "population", "people_within", "share_within"]]
    total_pop = float(city["population"])
    inside = float(city["people_within"])
    return NetworkSummary(
        by_county=table,
        radius_m=float(radius_m),
        population=total_pop,
        people_within=inside,
        share_within=inside / total_pop if total_pop else 0.0,
    )
