"""Demand: one point per village or community, placed and sized by its NBS urban-rural class.

* **Population.** Each county's census total is filled exactly: its urban population (城镇人口) over
  its units of an urban class (1xx), its rural population (乡村人口) over those of a rural class (2xx);
  if a county has no unit of one kind, both parts go to the other. Within each part, a unit's share
  is a class median (:data:`CLASS_MEDIAN`) times a lognormal factor, rounded by largest remainder.
* **Place.** A unit whose 2016 row has a point (converted to WGS84) inside its town sits there.
  Otherwise: main-urban (111), town-centre (121) and township-centre (210) units are normal around
  the town centre (σ = 0.35 / 0.2 / 0.2 × the town's radius), fringe and special units (112, 122,
  123) wider (σ = 0.6 / 0.5 / 0.6), and villages (220) uniform over the town.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan.exceptions import InputError
from geoplan.sources.city._helpers import apportion, is_community, sample_points

#: Typical size (people) of a village-level unit by class; only relative sizes within a part matter.
CLASS_MEDIAN: dict[str, float] = {
    "111": 9000.0, "112": 5000.0, "121": 5500.0, "122": 3200.0, "123": 1500.0, "210": 3500.0, "220": 2300.0,
}
#: Spread around the town centre, as a share of the town's radius (None: uniform over the town).
CLASS_SPREAD: dict[str, float | None] = {
    "111": 0.35, "112": 0.6, "121": 0.2, "122": 0.5, "123": 0.6, "210": 0.2, "220": None,
}


def build_demand(
    towns: gpd.GeoDataFrame, villages: pd.DataFrame, matched: pd.DataFrame, targets: pd.DataFrame,
    rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """Demand points with populations that sum to each county's census target.

    Parameters
    ----------
    towns : GeoDataFrame
        Town cells (metric CRS) with code, county_code, cx, cy.
    villages : DataFrame
        code, name, town_code.
    matched : DataFrame
        Per village (same order): ur_code, ur_source, lon, lat (WGS84 2016 point or NaN).
    targets : DataFrame
        :attr:`geoplan.sources.city.census.Targets.counties`.
    rng : numpy.random.Generator

    Returns
    -------
    GeoDataFrame
        id, name, town_code, population, ur_code, ur_source and a helper column ``community``.
    """
    tix = pd.Index(towns["code"]).get_indexer(villages["town_code"])
    if (tix < 0).any():
        bad = villages.loc[tix < 0, "code"].iloc[0]
        raise InputError(f"villages: row {bad}: town_code is not a known town")
    ur = matched["ur_code"].to_numpy(dtype=object)
    polys = towns.geometry.values[tix]
    cx, cy = towns["cx"].to_numpy()[tix], towns["cy"].to_numpy()[tix]
    radius = np.sqrt(shapely.area(polys) / np.pi)
    spread = np.array([CLASS_SPREAD[c] if CLASS_SPREAD[c] is not None else np.nan for c in ur], dtype=float)
    clustered = np.isfinite(spread)
    xy = np.empty((len(villages), 2))
    xy[clustered] = sample_points(polys[clustered], cx[clustered], cy[clustered],
                                  spread[clustered] * radius[clustered], rng)
    xy[~clustered] = sample_points(polys[~clustered], cx, cy, None, rng)
    # Real 2016 points, where they fall inside today's town.
    real = gpd.GeoSeries(shapely.points(matched[["lon", "lat"]].to_numpy()), crs="EPSG:4326")
    known = np.isfinite(matched["lon"].to_numpy(dtype=float))
    rxy = np.full((len(villages), 2), np.nan)
    if known.any():
        rxy[known] = shapely.get_coordinates(real[known].to_crs(towns.crs).values)
    use = known & shapely.contains_xy(polys, rxy[:, 0], rxy[:, 1])
    xy[use] = rxy[use]
    weight = np.array([CLASS_MEDIAN[c] for c in ur]) * rng.lognormal(0.0, 0.45, len(villages))
    population = fill_population(towns["county_code"].to_numpy()[tix], ur, weight, targets)
    return gpd.GeoDataFrame(
        {
            "id": villages["code"].to_numpy(),
            "name": villages["name"].to_numpy(),
            "town_code": villages["town_code"].to_numpy(),
            "population": population.astype(float),
            "ur_code": ur,
            "ur_source": matched["ur_source"].to_numpy(dtype=object),
            "placed": np.where(use, "nbs2016", "synthetic"),
            "community": is_community(villages["code"], villages["name"]),
        },
        geometry=shapely.points(xy),
        crs=towns.crs,
    )


def fill_population(county: np.ndarray, ur: np.ndarray, weight: np.ndarray, targets: pd.DataFrame) -> np.ndarray:
    """Integer populations: each pool's urban and rural census parts shared out by weight.

    Parameters
    ----------
    county : ndarray of str
        County code of each village.
    ur : ndarray of str
        NBS urban-rural class of each village (1xx urban, 2xx rural).
    weight : ndarray of float
        Relative size of each village.
    targets : DataFrame
        urban, rural and pool per county code (:attr:`geoplan.sources.city.census.Targets.counties`).

    Examples
    --------
    >>> t = pd.DataFrame({"urban": [30], "rural": [20], "pool": ["A"]}, index=["A"])
    >>> fill_population(np.array(["A", "A"]), np.array(["111", "220"]), np.ones(2), t).tolist()
    [30, 20]
    """
    pool = pd.Series(county).map(targets["pool"]).to_numpy()
    urban = np.array([c.startswith("1") for c in ur])
    out = np.zeros(len(county), dtype=np.int64)
    for p in sorted(set(pool)):
        members = targets.index[targets["pool"] == p]
        u, r = int(targets.loc[members, "urban"].sum()), int(targets.loc[members, "rural"].sum())
        here = pool == p
        parts = [(here & urban, u), (here & ~urban, r)]
        if not parts[0][0].any() or not parts[1][0].any():  # one kind missing: the whole total to the other
            parts = [(here, u + r)]
        for mask, total in parts:
            out[mask] = apportion(total, weight[mask])
    return out
