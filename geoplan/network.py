"""The current station network (before any optimisation): who is within reach of it.

"Within reach" has one definition across the package: a person is within reach
if an active station lies within the service radius of its tier, straight line
(:data:`geoplan.settings.DEFAULT_RADIUS_M` unless given, the radii a default
:class:`~geoplan.planning.Scenario` uses). :func:`network_summary` counts active
stations per tier and county and the people within reach — the table that
``geoplan data info`` and ``geoplan demo`` print; :func:`geoplan.maps.network_map`
shades towns by the same :func:`within_reach`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from geoplan.access import coverage_matrix, nearest_distance
from geoplan.datasets import TIERS, Dataset
from geoplan.settings import DEFAULT_RADIUS_M

__all__ = ["NetworkSummary", "network_summary", "nearest_station_distance", "tier_radii", "reach_matrix",
           "within_reach", "active_mask"]

#: Radii per tier, or one radius (metres) for every tier.
Radii = Mapping[str, float] | float


@dataclass(frozen=True)
class NetworkSummary:
    """Stations by tier and county, and how many people live within reach.

    Attributes
    ----------
    by_county : pandas.DataFrame
        One row per county: ``code``, ``name``, a count column per tier, ``total``,
        ``population``, ``people_within`` and ``share_within``; the last row is the city.
    radius_m : dict of str to float
        The service radius per tier used for ``people_within``.
    population, people_within, share_within : float
        City totals.
    """

    by_county: pd.DataFrame
    radius_m: dict[str, float]
    population: float
    people_within: float
    share_within: float

    @property
    def radius_text(self) -> str:
        """The radii as text: ``home 3 km, station 2 km, point 1.5 km``."""
        return ", ".join(f"{t} {r / 1000:g} km" for t, r in self.radius_m.items())


def tier_radii(radius_m: Radii | None = None) -> dict[str, float]:
    """Radius per tier: ``radius_m`` (a mapping, or one number for every tier), default ``DEFAULT_RADIUS_M``."""
    if radius_m is None:
        return dict(DEFAULT_RADIUS_M)
    if isinstance(radius_m, Mapping):
        return {t: float(radius_m.get(t, DEFAULT_RADIUS_M[t])) for t in TIERS}
    return {t: float(radius_m) for t in TIERS}


def active_mask(dataset: Dataset) -> np.ndarray:
    """Bool per row of ``dataset.stations``: the station is active (:meth:`Dataset.active_stations`)."""
    return dataset.stations.index.isin(dataset.active_stations().index)


def reach_matrix(dataset: Dataset, radius_m: Radii | None = None) -> sp.csc_matrix:
    """Demand × station (every station, dataset order) coverage at the radius of each station's tier."""
    radii = tier_radii(radius_m)
    radius = dataset.stations["tier"].map(lambda t: radii.get(t, DEFAULT_RADIUS_M["point"])).to_numpy(dtype=float)
    return coverage_matrix(dataset.xy("demand"), dataset.xy("stations"), radius).tocsc()


def within_reach(dataset: Dataset, radius_m: Radii | None = None) -> np.ndarray:
    """Bool per demand point: an active station is within the radius of its tier.

    Examples
    --------
    >>> import geoplan
    >>> ds = geoplan.load()
    >>> share = ds.demand["population"][within_reach(ds)].sum() / ds.demand["population"].sum()
    >>> bool(0 < share < 1)
    True
    """
    cov = reach_matrix(dataset, radius_m)[:, np.flatnonzero(active_mask(dataset))]
    return np.asarray(cov.sum(axis=1)).ravel() > 0


def nearest_station_distance(dataset: Dataset) -> np.ndarray:
    """Straight-line distance (m) from every demand point to its nearest active station (inf if none)."""
    dist, _ = nearest_distance(dataset.xy("demand"), dataset.xy("stations")[active_mask(dataset)])
    return dist


def network_summary(dataset: Dataset, radius_m: Radii | None = None) -> NetworkSummary:
    """Summarise the active station network of ``dataset``.

    Parameters
    ----------
    dataset : Dataset
        The planning data.
    radius_m : mapping of tier to metres, or float, optional
        Service radius per tier (one number: the same for every tier); default
        :data:`geoplan.settings.DEFAULT_RADIUS_M`. A person counts as within reach
        if an active station is within the radius of its tier (straight line).

    Examples
    --------
    >>> import geoplan
    >>> s = network_summary(geoplan.load())
    >>> s.radius_text
    'home 3 km, station 2 km, point 1.5 km'
    """
    radii = tier_radii(radius_m)
    st = dataset.active_stations()
    towns = dataset.towns[["code", "county_code"]].rename(columns={"code": "town_code"})
    st = st.merge(towns, on="town_code", how="left")
    counts = pd.crosstab(st["county_code"], st["tier"]).reindex(columns=list(TIERS), fill_value=0)
    within = within_reach(dataset, radii)
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
        radius_m=radii,
        population=total_pop,
        people_within=inside,
        share_within=inside / total_pop if total_pop else 0.0,
    )
