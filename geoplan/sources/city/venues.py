"""Foot-traffic venues (markets, banks, clinics, workshops, enterprises, service windows, busy streets).

All synthetic, in realistic numbers per town (``data/README.md`` gives the rules and ranges).
"""
from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from geoplan.sources.city._helpers import sample_points, short_name

# Daily footfall ranges per venue category (visitors or workers per day).
FOOTFALL: dict[str, tuple[float, float]] = {
    "market": (1500, 8000),
    "bank": (150, 800),
    "clinic": (40, 200),
    "workshop": (20, 150),
    "enterprise": (200, 3000),
    "service": (100, 600),
    "street": (2000, 15000),
}


@dataclass(frozen=True)
class _Venues:
    town: NDArray[np.int_]
    xy: NDArray[np.float64]
    category: str
    name: NDArray[np.object_]


def numbered(base: NDArray[np.object_], suffix: str, town: NDArray[np.int_]) -> NDArray[np.object_]:
    """Names '<base><suffix>', numbered within a town when there are several."""
    k = pd.Series(town).groupby(town).cumcount().to_numpy() + 1
    n = pd.Series(town).map(pd.Series(town).value_counts()).to_numpy()
    return np.asarray([f"{b}{suffix}" if m == 1 else f"{b}{suffix}{i}" for b, m, i in zip(base, n, k)], dtype=object)


def bank_prefix(county_names: pd.Series, city_name: str) -> NDArray[np.object_]:
    """Everyday name of a county for a bank's name: '东台市' → '东台'; a zone (开发区…) takes the city's.

    Examples
    --------
    >>> list(bank_prefix(pd.Series(["东台市", "亭湖区", "盐城经济技术开发区"]), "盐城市"))
    ['东台', '亭湖', '盐城']
    """
    city = city_name.removesuffix("市")
    s = county_names.astype(str)
    short = s.str.replace(r"(区|县|市)$", "", regex=True)
    return np.where(s.str.contains("开发区|园区|新区|高新区"), city, short).astype(object)


def build_sites(
    towns: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, county_names: pd.Series, city_name: str,
    rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """Venues with daily footfall, in realistic numbers per town (metric CRS in and out)."""
    kind = towns["kind"].to_numpy()
    tname = towns["name"].to_numpy().astype(object)
    cx, cy = towns["cx"].to_numpy(), towns["cy"].to_numpy()
    polys = towns.geometry.values
    radius = np.sqrt(shapely.area(polys) / np.pi)
    dix = pd.Index(towns["code"]).get_indexer(demand["town_code"])
    pop = np.bincount(dix, weights=demand["population"].to_numpy(), minlength=len(towns))
    county_short = pd.Series(bank_prefix(county_names, city_name), index=county_names.index)
    prefix = towns["county_code"].map(county_short).to_numpy()
    street, rural = kind == "street", np.isin(kind, ("town", "township"))
    dxy = shapely.get_coordinates(demand.geometry.values)
    comm = demand["community"].to_numpy()
    vname = short_name(demand["name"])
    venues: list[_Venues] = []

    def around(t: NDArray[np.int_], x: NDArray[np.float64], y: NDArray[np.float64],
               sigma: NDArray[np.float64]) -> NDArray[np.float64]:
        return sample_points(polys[t], x, y, sigma, rng)

    def at_towns(counts: NDArray[np.int_], spread: NDArray[np.float64]) -> tuple[NDArray[np.int_], NDArray[np.float64]]:
        t = np.repeat(np.arange(len(towns)), counts)
        return t, around(t, cx[t], cy[t], spread[t] * radius[t])

    # Farmers' markets: one or more per town, more in streets and big towns.
    extra = rng.integers(0, 2, len(towns))
    n = np.where(street, 2 + 2 * extra + (pop > 80000), np.where(rural, 1 + (pop > 40000) + extra, 1))
    t, xy = at_towns(n, np.where(street, 0.5, 0.3))
    venues.append(_Venues(t, xy, "market", numbered(tname[t], "农贸市场", t)))
    # Rural commercial bank branches.
    n = np.where(street, 3 + pop // 12000, np.where(rural, 2 + pop // 15000, 1 + rng.integers(0, 2, len(towns))))
    t, xy = at_towns(n.astype(int), np.where(street, 0.5, 0.35))
    venues.append(_Venues(t, xy, "bank", numbered(prefix[t] + "农商银行" + tname[t], "支行", t)))
    # A clinic per village, next to it.
    t = dix
    xy = around(t, dxy[:, 0], dxy[:, 1], np.full(len(t), 150.0))
    venues.append(_Venues(t, xy, "clinic", np.where(comm, vname + "卫生服务站", vname + "卫生室").astype(object)))
    # Field workshops and cooperatives around the villages of rural towns.
    v = np.repeat(np.flatnonzero(~comm & ~street[dix]), rng.poisson(1.1, int((~comm & ~street[dix]).sum())))
    t = dix[v]
    xy = around(t, dxy[v, 0], dxy[v, 1], np.full(v.size, 600.0))
    venues.append(_Venues(t, xy, "workshop", numbered(vname[v], "田间工坊", v)))
    # Leading enterprises, concentrated in parks.
    lam = np.select([kind == "park", rural, street], [14.0, 3.0, 2.0], 2.0)
    t, xy = at_towns(rng.poisson(lam), np.full(len(towns), 0.5))
    venues.append(_Venues(t, xy, "enterprise", numbered(tname[t], "龙头企业", t)))
    # Public service windows: one per town, one per community.
    t = np.arange(len(towns))
    xy = around(t, cx, cy, np.full(len(t), 60.0))
    venues.append(_Venues(t, xy, "service", (tname + "便民服务中心").astype(object)))
    v = np.flatnonzero(comm)
    t = dix[v]
    xy = around(t, dxy[v, 0], dxy[v, 1], np.full(v.size, 100.0))
    venues.append(_Venues(t, xy, "service", (vname[v] + "党群服务中心").astype(object)))
    # Busy streets and alleys: many in urban streets, a few in town centres.
    n = np.where(street, np.round(pop / 3200.0), np.where(rural, 2 + pop // 30000, 0)).astype(int)
    t, xy = at_towns(n, np.where(street, 0.45, 0.15))
    venues.append(_Venues(t, xy, "street", numbered(tname[t], "商业街", t)))

    town = np.concatenate([v.town for v in venues])
    category = np.concatenate([np.full(v.town.size, v.category, dtype=object) for v in venues])
    lo = np.array([FOOTFALL[c][0] for c in category])
    hi = np.array([FOOTFALL[c][1] for c in category])
    footfall = np.exp(rng.uniform(np.log(lo), np.log(hi)))
    # Urban venues draw more people (capped at the category's maximum).
    footfall = np.minimum(footfall * np.where(street[town], 1.3, 1.0), hi)
    return gpd.GeoDataFrame(
        {
            "id": [f"S{i + 1:06d}" for i in range(town.size)],
            "name": np.concatenate([v.name for v in venues]),
            "category": category,
            "footfall": np.round(footfall),
            "town_code": towns["code"].to_numpy()[town],
        },
        geometry=shapely.points(np.concatenate([v.xy for v in venues])),
        crs=towns.crs,
    )
