"""Builder of the bundled Yancheng dataset (``data/yancheng.gpkg``).

Real inputs (read only from ``data/raw/``, see ``data/README.md``): the county
boundaries (Amap, GCJ-02, converted here to WGS84) and the names and codes of
the 10 county-level units, 154 town-level units and 2,494 villages and
communities. Everything else is synthesized, deterministically from one seed:

* town polygons partitioning each county (a density-weighted centroidal Voronoi
  tessellation: urban streets small and clustered at the county seat);
  盐城经济技术开发区 (320971) is carved out of 亭湖区 as the union of its two towns;
* one demand point per village with populations summing to 6.71 million;
* foot-traffic venues (markets, banks, clinics, workshops, enterprises, service
  windows, busy streets) with daily footfall;
* the station network *before* the review (homes, 102 village-level homes,
  600 liaison stations of which 261 duplicate others' reach, 150 contact points);
* about 11,500 pseudonymous deputies at five levels in about 1,100 groups, and
  the special committees of the city's standing committee.

``python -m geoplan.sources.yancheng`` (or ``geoplan data build``) rebuilds the file.
"""
from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry.base import BaseGeometry
from numpy.typing import ArrayLike, NDArray
from scipy.spatial import cKDTree

from geoplan import crs as _crs
from geoplan.datasets import SECTORS, Dataset
from geoplan.exceptions import InputError
from geoplan.settings import BUNDLED_DATASET, DEFAULT_SEED, STORAGE_CRS

#: Where the real inputs live (copied from the shared sources, with their licences).
RAW_DIR: Path = Path(__file__).resolve().parent.parent.parent / "data" / "raw"

#: Resident population at the 7th census (2020), rounded as in the city's report.
POPULATION: int = 6_710_000

#: The county-level unit without a boundary of its own, and the district it lies in.
DEV_ZONE: str = "320971"
DEV_ZONE_HOST: str = "320902"

#: Approximate county seats (WGS84 lon, lat), hand-placed from public maps; they only
#: steer where urban streets cluster. 320971's seat is the centre of its street.
SEATS: dict[str, tuple[float, float]] = {
    "320902": (120.165, 33.355),  # 亭湖区 (city centre)
    "320903": (120.120, 33.320),  # 盐都区
    "320904": (120.470, 33.200),  # 大丰区
    "320921": (119.575, 34.200),  # 响水县
    "320922": (119.825, 33.990),  # 滨海县
    "320923": (119.800, 33.760),  # 阜宁县
    "320924": (120.255, 33.775),  # 射阳县
    "320925": (119.800, 33.470),  # 建湖县
    "320981": (120.320, 32.855),  # 东台市
}
CITY_CENTRE: tuple[float, float] = SEATS["320902"]

#: Seat towns of counties that have no street (街道): the urban core is this town.
SEAT_TOWNS: dict[str, str] = {"320921": "320921100", "320924": "320924100", "320981": "320981122"}

#: Special committees of the city congress (and its standing committee's budget office) with their fields.
COMMITTEES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("法制委员会", ("law", "government")),
    ("监察和司法委员会", ("law", "social")),
    ("财政经济委员会", ("finance", "commerce", "manufacturing", "energy")),
    ("预算工作委员会", ("finance", "government")),
    ("教育科学文化卫生委员会", ("education", "health")),
    ("城乡建设环境与资源保护委员会", ("environment", "energy")),
    ("农业与农村委员会", ("agriculture", "fisheries")),
    ("社会建设委员会", ("social", "health")),
    ("民族宗教侨务外事委员会", ("social", "commerce")),
    ("代表人事选举委员会", ("government", "social")),
)

# Sector mix (weights over SECTORS) of deputies by town kind, and the shift for higher levels.
_SECTOR_MIX: dict[str, tuple[float, ...]] = {
    #          agr  fish manu ener comm fina educ heal envi law  soci gov
    "street": (0.03, 0.01, 0.12, 0.04, 0.16, 0.07, 0.12, 0.11, 0.05, 0.07, 0.10, 0.12),
    "town": (0.30, 0.05, 0.14, 0.03, 0.10, 0.03, 0.08, 0.07, 0.03, 0.02, 0.05, 0.10),
    "township": (0.34, 0.05, 0.10, 0.03, 0.09, 0.03, 0.08, 0.07, 0.03, 0.02, 0.06, 0.10),
    "farm": (0.45, 0.12, 0.08, 0.03, 0.06, 0.02, 0.05, 0.05, 0.04, 0.01, 0.03, 0.06),
    "park": (0.05, 0.03, 0.35, 0.15, 0.12, 0.06, 0.04, 0.03, 0.05, 0.03, 0.03, 0.06),
}
_HIGH_LEVEL_MIX: tuple[float, ...] = (0.08, 0.02, 0.16, 0.06, 0.10, 0.08, 0.10, 0.10, 0.05, 0.07, 0.06, 0.12)

# Number of deputies per level above the township congresses (city-wide totals).
_UPPER_DEPUTIES: dict[str, int] = {"national": 15, "provincial": 70, "city": 520, "county": 2900}

# Daily footfall ranges per venue category (visitors or workers per day).
_FOOTFALL: dict[str, tuple[float, float]] = {
    "market": (1500, 8000),
    "bank": (150, 800),
    "clinic": (40, 200),
    "workshop": (20, 150),
    "enterprise": (200, 3000),
    "service": (100, 600),
    "street": (2000, 15000),
}

_N_LIAISON = 600
_N_DUPLICATE_LIAISON = 261
_N_VILLAGE_HOMES = 102
_N_CONTACT_POINTS = 150
_SECTOR_SHARE = 0.12  # share of liaison stations and contact points themed by an industry


@dataclass(frozen=True)
class Raw:
    """The real inputs: boundaries (WGS84) and the administrative tables."""

    boundaries: gpd.GeoDataFrame  # code, name; 9 county-level units with a boundary
    areas: pd.DataFrame  # code, name (10 county-level units)
    streets: pd.DataFrame  # code, name, county_code (154 town-level units)
    villages: pd.DataFrame  # code, name, town_code (2,494 villages/communities)


# --------------------------------------------------------------------------- input
def read_raw(raw_dir: str | Path = RAW_DIR) -> Raw:
    """Read the real inputs from ``raw_dir``, converting boundaries from GCJ-02 to WGS84.

    Raises
    ------
    InputError
        If a file is missing or a table lacks a column.
    """
    raw_dir = Path(raw_dir)

    def _csv(name: str, cols: tuple[str, ...]) -> pd.DataFrame:
        path = raw_dir / name
        if not path.exists():
            raise InputError(f"raw: file not found: {path}")
        df = pd.read_csv(path, dtype=str)
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise InputError(f"raw: {name} lacks column(s) {', '.join(missing)}")
        return df

    areas = _csv("areas.csv", ("code", "name"))[["code", "name"]]
    streets = _csv("streets.csv", ("code", "name", "areaCode")).rename(columns={"areaCode": "county_code"})
    villages = _csv("villages.csv", ("code", "name", "streetCode")).rename(columns={"streetCode": "town_code"})
    codes = [c for c in areas["code"] if c != DEV_ZONE]
    geoms = []
    for code in codes:
        path = raw_dir / "boundaries" / f"{code}.geojson"
        if not path.exists():
            raise InputError(f"raw: boundary file not found: {path}")
        geoms.append(shapely.from_geojson(path.read_text(encoding="utf-8")))
    wgs = shapely.make_valid(_crs.convert_geometry(np.asarray(geoms, dtype=object), "gcj02", "wgs84"))
    names = areas.set_index("code").loc[codes, "name"].to_numpy()
    boundaries = gpd.GeoDataFrame({"code": codes, "name": names}, geometry=wgs, crs=STORAGE_CRS)
    return Raw(
        boundaries=boundaries,
        areas=areas.reset_index(drop=True),
        streets=streets[["code", "name", "county_code"]].sort_values("code").reset_index(drop=True),
        villages=villages[["code", "name", "town_code"]].sort_values("code").reset_index(drop=True),
    )


# --------------------------------------------------------------------------- helpers
def town_kind(names: pd.Series) -> NDArray[np.object_]:
    """Kind of a town-level unit from its name: 街道→street, 镇→town, 乡→township, 农场→farm, else park."""
    s = names.astype(str)
    out = np.full(len(s), "park", dtype=object)
    out[s.str.endswith("乡").to_numpy()] = "township"
    out[s.str.endswith("镇").to_numpy()] = "town"
    out[s.str.contains("农场").to_numpy()] = "farm"
    out[s.str.endswith("街道").to_numpy()] = "street"
    return out


def is_community(villages: pd.DataFrame) -> NDArray[np.bool_]:
    """Urban communities (居委会/社区/生活区) versus villages (村委会).

    Statistical codes 001–199 are residents' committees; names settle the rest.
    """
    serial = villages["code"].str[-3:].astype(int).to_numpy()
    name = villages["name"].astype(str)
    urban_name = name.str.contains("社区|居委会|居民委员会|生活区", regex=True).to_numpy()
    return (serial < 200) | urban_name


def short_name(names: pd.Series) -> NDArray[np.object_]:
    """Everyday name of a village/community: '东闸新村社区居委会' → '东闸新村社区', 'X村委会' → 'X村'."""
    s = names.astype(str)
    s = s.str.replace(r"社区居委会$|社区居民委员会$", "社区", regex=True)
    s = s.str.replace(r"居委会$|居民委员会$", "社区", regex=True)
    s = s.str.replace(r"村委会$|村民委员会$", "村", regex=True)
    return s.to_numpy(dtype=object)


def apportion(total: int, weights: ArrayLike) -> NDArray[np.int64]:
    """Integers proportional to ``weights`` summing exactly to ``total`` (largest remainder, stable ties).

    Parameters
    ----------
    total : int
        The sum to share out.
    weights : array_like of float
        Non-negative weights, one per share.

    Returns
    -------
    ndarray of int64
        One integer per weight, summing to ``total``.
    """
    w = np.asarray(weights, dtype=float)
    quota = total * w / w.sum()
    base = np.floor(quota).astype(np.int64)
    rest = total - int(base.sum())
    order = np.argsort(-(quota - base), kind="stable")
    base[order[:rest]] += 1
    return base


def sample_points(
    polys: NDArray[np.object_],
    cx: NDArray[np.float64],
    cy: NDArray[np.float64],
    sigma: NDArray[np.float64] | None,
    rng: np.random.Generator,
    tries: int = 60,
) -> NDArray[np.float64]:
    """One random point inside each polygon (metric coordinates), vectorised rejection sampling.

    With ``sigma`` the points are normal around ``(cx, cy)`` (the spread shrinks on
    each failed try); without, uniform in the polygon. Points still outside after
    ``tries`` fall back to the polygon's representative point.
    """
    n = len(polys)
    out = np.full((n, 2), np.nan)
    pending = np.arange(n)
    if sigma is None:
        bounds = shapely.bounds(polys)
    else:
        sig = np.asarray(sigma, dtype=float).copy()
    for _ in range(tries):
        if pending.size == 0:
            break
        if sigma is None:
            b = bounds[pending]
            x = rng.uniform(b[:, 0], b[:, 2])
            y = rng.uniform(b[:, 1], b[:, 3])
        else:
            x = cx[pending] + rng.normal(0.0, 1.0, pending.size) * sig[pending]
            y = cy[pending] + rng.normal(0.0, 1.0, pending.size) * sig[pending]
            sig[pending] *= 0.9
        ok = shapely.contains_xy(polys[pending], x, y)
        out[pending[ok]] = np.column_stack([x[ok], y[ok]])
        pending = pending[~ok]
    if pending.size:
        out[pending] = shapely.get_coordinates(shapely.point_on_surface(polys[pending]))
    return out


# --------------------------------------------------------------------------- towns
def _cvt(
    area: BaseGeometry, seat: NDArray[np.float64], n: int, urban_share: float, rng: np.random.Generator,
    spacing: float = 500.0, iters: int = 30,
) -> NDArray[np.float64]:
    """Seeds of a density-weighted centroidal Voronoi tessellation of ``area``.

    The density is uniform plus a Gaussian bump at the seat holding ``urban_share``
    of the mass, so about that share of the seeds (and small cells) end up there.
    """
    minx, miny, maxx, maxy = area.bounds
    mx, my = np.meshgrid(np.arange(minx + spacing / 2, maxx, spacing), np.arange(miny + spacing / 2, maxy, spacing))
    gx, gy = mx.ravel(), my.ravel()
    inside = shapely.contains_xy(area, gx, gy)
    pts = np.column_stack([gx[inside], gy[inside]])
    d2 = ((pts - seat) ** 2).sum(axis=1)
    sigma = 2500.0 + 900.0 * np.sqrt(max(urban_share * n, 1.0))
    bump = np.exp(-d2 / (2 * sigma**2))
    share = min(max(urban_share, 0.02), 0.9)
    density = 1.0 + bump * (share / (1 - share)) * len(pts) / bump.sum()
    seeds = pts[rng.choice(len(pts), size=n, replace=False, p=density / density.sum())]
    for _ in range(iters):
        _, lab = cKDTree(seeds).query(pts)
        mass = np.bincount(lab, weights=density, minlength=n)
        sx = np.bincount(lab, weights=density * pts[:, 0], minlength=n)
        sy = np.bincount(lab, weights=density * pts[:, 1], minlength=n)
        keep = mass > 0  # an empty cell keeps its seed
        seeds[keep] = np.column_stack([sx[keep] / mass[keep], sy[keep] / mass[keep]])
    return seeds


def _cells(area: shapely.Geometry, seeds: NDArray[np.float64]) -> NDArray[np.object_]:
    """Voronoi cells of ``seeds`` clipped to ``area``, in seed order, polygonal and valid."""
    vor = shapely.voronoi_polygons(
        shapely.multipoints(seeds), extend_to=shapely.buffer(area, 10_000.0), ordered=True
    )
    cells = shapely.intersection(np.asarray(shapely.get_parts(vor)), area)
    cells = shapely.make_valid(cells)
    # Keep only the polygonal parts (clipping can leave stray lines or points).
    out = []
    for c in cells:
        parts = [p for p in shapely.get_parts(c) if p.geom_type in ("Polygon", "MultiPolygon")]
        merged = shapely.union_all(parts) if len(parts) != 1 else parts[0]
        out.append(merged.geoms[0] if isinstance(merged, shapely.MultiPolygon) and len(merged.geoms) == 1 else merged)
    return np.asarray(out, dtype=object)


def build_towns(
    boundaries: gpd.GeoDataFrame, areas: pd.DataFrame, streets: pd.DataFrame, rng: np.random.Generator
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Partition each county into its towns; carve 320971 out of its host district.

    Parameters
    ----------
    boundaries : GeoDataFrame
        The 9 county boundaries in a metric CRS (code, name).
    areas : DataFrame
        The 10 county-level units (code, name).
    streets : DataFrame
        The town-level units (code, name, county_code).
    rng : numpy.random.Generator

    Returns
    -------
    counties, towns : GeoDataFrame
        In the metric CRS of ``boundaries``. ``towns`` has code, name, county_code,
        kind and helper columns cx, cy (the town centre).
    """
    metric = boundaries.crs
    kinds = town_kind(streets["name"])
    # Towns of the development zone are laid out together with their host district.
    layout_county = streets["county_code"].replace({DEV_ZONE: DEV_ZONE_HOST}).to_numpy()
    town_geom = np.empty(len(streets), dtype=object)
    centre = np.zeros((len(streets), 2))
    county_geom: dict[str, shapely.Geometry] = {}
    for code, area in zip(boundaries["code"], boundaries.geometry.values):
        seat = np.array(shapely.get_coordinates(
            gpd.GeoSeries(shapely.points([SEATS[code]]), crs=STORAGE_CRS).to_crs(metric).values
        )[0])
        if not shapely.contains_xy(area, *seat):  # snap a seat that falls just outside
            seat = shapely.get_coordinates(shapely.shortest_line(area, shapely.Point(seat)))[0]
        idx = np.flatnonzero(layout_county == code)
        n = idx.size
        is_street = kinds[idx] == "street"
        n_urban = max(int(is_street.sum()), 1)
        seeds = _cvt(area, seat, n, 0.9 * n_urban / n, rng)
        cells = _cells(area, seeds)
        slot = _assign_seeds(seeds, seat, streets.iloc[idx], kinds[idx], SEAT_TOWNS.get(code, ""), rng)
        if code == DEV_ZONE_HOST:
            slot = _place_dev_zone(slot, idx, streets, is_street, seeds)
        town_geom[idx] = cells[slot]
        centre[idx] = seeds[slot]
        county_geom[code] = area
    # Centres outside their (non-convex) cell move to a point on the cell's surface.
    outside = ~shapely.contains_xy(town_geom, centre[:, 0], centre[:, 1])
    centre[outside] = shapely.get_coordinates(shapely.point_on_surface(town_geom[outside]))
    zone = shapely.union_all(town_geom[streets["county_code"].to_numpy() == DEV_ZONE])
    host = shapely.make_valid(shapely.difference(county_geom[DEV_ZONE_HOST], zone))
    # Drop the hairline slivers the difference leaves along the shared border.
    host = shapely.union_all([g for g in shapely.get_parts(host) if g.geom_type == "Polygon" and g.area > 1e4])
    county_geom[DEV_ZONE_HOST] = host
    county_geom[DEV_ZONE] = zone
    counties = gpd.GeoDataFrame(
        {"code": areas["code"].to_numpy(), "name": areas["name"].to_numpy()},
        geometry=[county_geom[c] for c in areas["code"]],
        crs=metric,
    )
    towns = gpd.GeoDataFrame(
        {
            "code": streets["code"].to_numpy(),
            "name": streets["name"].to_numpy(),
            "county_code": streets["county_code"].to_numpy(),
            "kind": kinds,
            "cx": centre[:, 0],
            "cy": centre[:, 1],
        },
        geometry=list(town_geom),
        crs=metric,
    )
    return counties, towns


def _assign_seeds(
    seeds: NDArray[np.float64], seat: NDArray[np.float64], streets: pd.DataFrame, kinds: NDArray[np.object_],
    seat_town: str, rng: np.random.Generator,
) -> NDArray[np.int_]:
    """Which seed (cell) each town of a county gets.

    Streets (or the seat town) take the seeds nearest the seat, inland parks the
    next ones; farms and coastal parks (港, 海, 盐场) the easternmost (the coast is
    east); ordinary towns the rest at random.
    """
    n = len(seeds)
    by_distance = list(np.argsort(((seeds - seat) ** 2).sum(axis=1), kind="stable"))
    names = streets["name"].astype(str)
    first = (kinds == "street") | (streets["code"].to_numpy() == seat_town)
    coastal = ~first & ((kinds == "farm") | ((kinds == "park") & names.str.contains("港|海|盐场").to_numpy()))
    parks = ~first & ~coastal & (kinds == "park")
    slot = np.empty(n, dtype=int)
    for group in (first, parks):
        towns = rng.permutation(np.flatnonzero(group))
        slot[towns] = by_distance[: towns.size]
        del by_distance[: towns.size]
    rest = np.asarray(by_distance, dtype=int)
    towns = rng.permutation(np.flatnonzero(coastal))
    east = rest[np.argsort(-seeds[rest, 0], kind="stable")][: towns.size]
    slot[towns] = east
    rest = rest[~np.isin(rest, east)]
    towns = np.flatnonzero(~first & ~parks & ~coastal)
    slot[towns] = rng.permutation(rest)
    return slot


def _place_dev_zone(
    slot: NDArray[np.int_], idx: NDArray[np.int_], streets: pd.DataFrame, is_street: NDArray[np.bool_],
    seeds: NDArray[np.float64],
) -> NDArray[np.int_]:
    """Give 320971's street the easternmost urban seed and its town the rural seed nearest that street."""
    slot = slot.copy()
    in_zone = streets["county_code"].to_numpy()[idx] == DEV_ZONE
    zone_street = np.flatnonzero(in_zone & is_street)
    zone_town = np.flatnonzero(in_zone & ~is_street)
    if zone_street.size:
        urban = np.flatnonzero(is_street)
        east = urban[np.argmax(seeds[slot[urban], 0])]
        slot[[zone_street[0], east]] = slot[[east, zone_street[0]]]
        anchor = seeds[slot[zone_street[0]]]
        rural = np.flatnonzero(~is_street)
        for t in zone_town:
            near = rural[np.argmin(((seeds[slot[rural]] - anchor) ** 2).sum(axis=1))]
            slot[[t, near]] = slot[[near, t]]
            rural = rural[rural != t]
    return slot


# --------------------------------------------------------------------------- demand
def build_demand(towns: gpd.GeoDataFrame, villages: pd.DataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """One point per village inside its town, populations summing to :data:`POPULATION`.

    Communities cluster around the town centre, villages spread over the town;
    community sizes are larger in streets, so streets are the densest.
    """
    tix = pd.Index(towns["code"]).get_indexer(villages["town_code"])
    if (tix < 0).any():
        bad = villages.loc[tix < 0, "code"].iloc[0]
        raise InputError(f"villages: row {bad}: town_code is not a known town")
    comm = is_community(villages)
    kind = towns["kind"].to_numpy()[tix]
    polys = towns.geometry.values[tix]
    radius = np.sqrt(shapely.area(polys) / np.pi)
    sigma = np.where(kind == "street", 0.55, 0.3) * radius
    xy_c = sample_points(polys, towns["cx"].to_numpy()[tix], towns["cy"].to_numpy()[tix], sigma, rng)
    xy_v = sample_points(polys, towns["cx"].to_numpy()[tix], towns["cy"].to_numpy()[tix], None, rng)
    xy = np.where(comm[:, None], xy_c, xy_v)
    # Median size (people) of a community / village by the kind of town it lies in.
    median = np.where(
        comm,
        np.select([kind == "street", np.isin(kind, ("town", "township"))], [9000.0, 4500.0], 2500.0),
        np.select([kind == "street", np.isin(kind, ("town", "township"))], [3500.0, 2600.0], 1800.0),
    )
    weight = median * rng.lognormal(0.0, 0.45, len(villages))
    population = apportion(POPULATION, weight).astype(float)
    return gpd.GeoDataFrame(
        {
            "id": villages["code"].to_numpy(),
            "name": villages["name"].to_numpy(),
            "town_code": villages["town_code"].to_numpy(),
            "population": population,
            "community": comm,
        },
        geometry=shapely.points(xy),
        crs=towns.crs,
    )


# --------------------------------------------------------------------------- sites
@dataclass(frozen=True)
class _Venues:
    town: NDArray[np.int_]
    xy: NDArray[np.float64]
    category: str
    name: NDArray[np.object_]


def _around(
    towns: gpd.GeoDataFrame, town: NDArray[np.int_], cx: NDArray[np.float64], cy: NDArray[np.float64],
    sigma: NDArray[np.float64], rng: np.random.Generator,
) -> NDArray[np.float64]:
    return sample_points(towns.geometry.values[town], cx, cy, sigma, rng)


def _numbered(base: NDArray[np.object_], suffix: str, town: NDArray[np.int_]) -> NDArray[np.object_]:
    """Names '<base><suffix>', numbered within a town when there are several."""
    k = pd.Series(town).groupby(town).cumcount().to_numpy() + 1
    n = pd.Series(town).map(pd.Series(town).value_counts()).to_numpy()
    return np.asarray([f"{b}{suffix}" if m == 1 else f"{b}{suffix}{i}" for b, m, i in zip(base, n, k)], dtype=object)


def build_sites(towns: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Foot-traffic venues with daily footfall, in realistic numbers per town."""
    kind = towns["kind"].to_numpy()
    tname = towns["name"].to_numpy().astype(object)
    cx, cy = towns["cx"].to_numpy(), towns["cy"].to_numpy()
    radius = np.sqrt(shapely.area(towns.geometry.values) / np.pi)
    dix = pd.Index(towns["code"]).get_indexer(demand["town_code"])
    pop = np.bincount(dix, weights=demand["population"].to_numpy(), minlength=len(towns))
    county_short = towns["county_code"].map(_COUNTY_SHORT).to_numpy()
    street, rural = kind == "street", np.isin(kind, ("town", "township"))
    dxy = shapely.get_coordinates(demand.geometry.values)
    comm = demand["community"].to_numpy()
    vname = short_name(demand["name"])
    venues: list[_Venues] = []

    def at_towns(counts: NDArray[np.int_], spread: NDArray[np.float64]) -> tuple[NDArray[np.int_], NDArray[np.float64]]:
        t = np.repeat(np.arange(len(towns)), counts)
        return t, _around(towns, t, cx[t], cy[t], spread[t] * radius[t], rng)

    # Farmers' markets: one or more per town, more in streets and big towns.
    extra = rng.integers(0, 2, len(towns))
    n = np.where(street, 2 + 2 * extra + (pop > 80000), np.where(rural, 1 + (pop > 40000) + extra, 1))
    t, xy = at_towns(n, np.where(street, 0.5, 0.3))
    venues.append(_Venues(t, xy, "market", _numbered(tname[t], "农贸市场", t)))
    # Rural commercial bank branches.
    n = np.where(street, 3 + pop // 12000, np.where(rural, 2 + pop // 15000, 1 + rng.integers(0, 2, len(towns))))
    t, xy = at_towns(n.astype(int), np.where(street, 0.5, 0.35))
    venues.append(_Venues(t, xy, "bank", _numbered(county_short[t] + "农商银行" + tname[t], "支行", t)))
    # A clinic per village, next to it.
    t = dix
    xy = _around(towns, t, dxy[:, 0], dxy[:, 1], np.full(len(t), 150.0), rng)
    names = np.where(comm, vname + "卫生服务站", vname + "卫生室")
    venues.append(_Venues(t, xy, "clinic", names.astype(object)))
    # Field workshops and cooperatives around the villages of rural towns.
    v = np.flatnonzero(~comm & ~street[dix])
    k = rng.poisson(1.1, v.size)
    v = np.repeat(v, k)
    t = dix[v]
    xy = _around(towns, t, dxy[v, 0], dxy[v, 1], np.full(v.size, 600.0), rng)
    venues.append(_Venues(t, xy, "workshop", _numbered(vname[v], "田间工坊", v)))
    # Leading enterprises, concentrated in parks.
    lam = np.select([kind == "park", rural, street], [14.0, 3.0, 2.0], 2.0)
    t, xy = at_towns(rng.poisson(lam), np.full(len(towns), 0.5))
    venues.append(_Venues(t, xy, "enterprise", _numbered(tname[t], "龙头企业", t)))
    # Public service windows: one per town, one per community.
    t = np.arange(len(towns))
    xy = _around(towns, t, cx, cy, np.full(len(t), 60.0), rng)
    venues.append(_Venues(t, xy, "service", (tname + "便民服务中心").astype(object)))
    v = np.flatnonzero(comm)
    t = dix[v]
    xy = _around(towns, t, dxy[v, 0], dxy[v, 1], np.full(v.size, 100.0), rng)
    venues.append(_Venues(t, xy, "service", (vname[v] + "党群服务中心").astype(object)))
    # Busy streets and alleys: many in urban streets, a few in town centres.
    n = np.where(street, np.round(pop / 3200.0), np.where(rural, 2 + pop // 30000, 0)).astype(int)
    t, xy = at_towns(n, np.where(street, 0.45, 0.15))
    venues.append(_Venues(t, xy, "street", _numbered(tname[t], "商业街", t)))

    town = np.concatenate([v.town for v in venues])
    category = np.concatenate([np.full(v.town.size, v.category, dtype=object) for v in venues])
    lo = np.array([_FOOTFALL[c][0] for c in category])
    hi = np.array([_FOOTFALL[c][1] for c in category])
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


_COUNTY_SHORT: dict[str, str] = {
    "320902": "盐城", "320903": "盐都", "320904": "大丰", "320921": "响水", "320922": "滨海",
    "320923": "阜宁", "320924": "射阳", "320925": "建湖", "320971": "盐城", "320981": "东台",
}


# --------------------------------------------------------------------------- stations
def _sectors(n: int, kinds: NDArray[np.object_], share: float, rng: np.random.Generator) -> NDArray[np.object_]:
    """An industry theme for about ``share`` of the rows (by the town's kind), None for the rest."""
    themed = rng.random(n) < share
    probs = np.array([_SECTOR_MIX[k] for k in kinds])
    probs /= probs.sum(axis=1, keepdims=True)
    pick = (probs.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1).clip(0, len(SECTORS) - 1)
    # numpy's stubs take a None argument for "not given" and pick the one-argument overload
    return np.where(themed, np.asarray(SECTORS, dtype=object)[pick], None)  # type: ignore[return-value]


def build_stations(
    counties: gpd.GeoDataFrame, towns: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame,
    rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """The station network *before* the review (all active).

    Homes: one city home, one per county-level unit, one per town-level unit, and
    102 village-level homes. Liaison stations: spread over the villages, plus about
    261 placed 300–900 m from another station (duplicated reach). Contact points at venues.
    """
    kind = towns["kind"].to_numpy()
    tname = towns["name"].to_numpy().astype(object)
    tcode = towns["code"].to_numpy()
    dix = pd.Index(tcode).get_indexer(demand["town_code"])
    dxy = shapely.get_coordinates(demand.geometry.values)
    vname = short_name(demand["name"])
    comm = demand["community"].to_numpy()
    pop = demand["population"].to_numpy()
    metric = towns.crs
    parts: list[dict[str, Any]] = []  # one record of heterogeneous columns per station kind

    # City and county homes in the county's urban town (street or seat town) nearest its seat.
    county_of = towns["county_code"].to_numpy()
    urban = (kind == "street") | np.isin(tcode, list(SEAT_TOWNS.values()))
    centres = towns[["cx", "cy"]].to_numpy()
    seat_ll = [CITY_CENTRE] + [SEATS.get(c, SEATS[DEV_ZONE_HOST]) for c in counties["code"]]
    seat_county = [DEV_ZONE_HOST] + list(counties["code"])
    seat_pt = shapely.get_coordinates(gpd.GeoSeries(shapely.points(seat_ll), crs=STORAGE_CRS).to_crs(metric).values)
    seat_town = np.empty(len(seat_ll), dtype=int)
    for i, (code, xy0) in enumerate(zip(seat_county, seat_pt)):
        cand = np.flatnonzero((county_of == code) & urban)
        seat_town[i] = cand[np.argmin(((centres[cand] - xy0) ** 2).sum(axis=1))]
    seat_xy = sample_points(towns.geometry.values[seat_town], centres[seat_town, 0], centres[seat_town, 1],
                            np.full(len(seat_town), 300.0), rng)
    cname = dict(zip(counties["code"], counties["name"]))
    seat_names = ["盐城市人大代表之家"] + [f"{cname[c]}人大代表之家" for c in counties["code"]]
    parts.append(dict(xy=seat_xy, town=seat_town, tier="home", level=["city"] + ["county"] * len(counties),
                      name=seat_names, prefix="H"))
    # A home per town-level unit at its centre.
    t = np.arange(len(towns))
    xy = sample_points(towns.geometry.values, towns["cx"].to_numpy(), towns["cy"].to_numpy(), np.full(len(t), 40.0), rng)
    parts.append(dict(xy=xy, town=t, tier="home", level="town", name=tname + "人大代表之家", prefix="H"))
    # Village-level homes in rural villages, more likely in bigger ones.
    cand = np.flatnonzero(~comm)
    v = np.sort(rng.choice(cand, size=_N_VILLAGE_HOMES, replace=False, p=pop[cand] / pop[cand].sum()))
    xy = sample_points(towns.geometry.values[dix[v]], dxy[v, 0], dxy[v, 1], np.full(v.size, 80.0), rng)
    parts.append(dict(xy=xy, town=dix[v], tier="home", level="village", name=vname[v] + "人大代表之家", prefix="V"))
    # Liaison stations spread over villages at least 2 km from every earlier station.
    taken = np.vstack([p["xy"] for p in parts])
    n_spread = _N_LIAISON - _N_DUPLICATE_LIAISON
    chosen: list[int] = []
    for min_gap in (2000.0, 1500.0, 1000.0):  # relax only if the county runs out of room
        tree = cKDTree(taken)
        for i in rng.permutation(len(demand)):
            if len(chosen) >= n_spread:
                break
            if i in chosen or tree.query(dxy[i])[0] < min_gap:
                continue
            if chosen and np.min(np.hypot(*(dxy[chosen] - dxy[i]).T)) < min_gap:
                continue
            chosen.append(int(i))
        if len(chosen) >= n_spread:
            break
    v = np.sort(np.asarray(chosen))
    xy = sample_points(towns.geometry.values[dix[v]], dxy[v, 0], dxy[v, 1], np.full(v.size, 80.0), rng)
    parts.append(dict(xy=xy, town=dix[v], tier="station", level="town", name=vname[v] + "代表联络站", prefix="L"))
    # Liaison stations duplicating the reach of another: 300–900 m from a town home or spread station.
    anchors = np.vstack([parts[1]["xy"], xy])
    anchor_town = np.concatenate([parts[1]["town"], dix[v]])
    a = rng.choice(len(anchors), size=_N_DUPLICATE_LIAISON, replace=False)
    ang = rng.uniform(0, 2 * np.pi, a.size)
    dist = rng.uniform(300.0, 900.0, a.size)
    target = anchors[a] + np.column_stack([np.cos(ang), np.sin(ang)]) * dist[:, None]
    t = anchor_town[a]
    polys = towns.geometry.values[t]
    inside = shapely.contains_xy(polys, target[:, 0], target[:, 1])
    # Targets that leave the town are pulled back halfway to the anchor until inside.
    for _ in range(8):
        target[~inside] = (target[~inside] + anchors[a][~inside]) / 2
        inside = shapely.contains_xy(polys, target[:, 0], target[:, 1])
    target[~inside] = sample_points(polys[~inside], anchors[a][~inside, 0], anchors[a][~inside, 1],
                                    np.full((~inside).sum(), 300.0), rng)
    order = np.lexsort((a, t))
    parts.append(dict(xy=target[order], town=t[order], tier="station", level="town",
                      name=_numbered(tname[t[order]], "代表联络站", t[order]), prefix="L"))
    # Contact points hosted by venues where people gather, away (>= 1 km) from the stations above,
    # so that the duplicated reach in the network is that of the liaison stations placed for it.
    cat = sites["category"].to_numpy()
    weight = pd.Series(cat).map({"market": 4, "bank": 3, "clinic": 1, "workshop": 1, "enterprise": 3,
                                 "service": 2, "street": 2}).to_numpy(dtype=float)
    site_xy = shapely.get_coordinates(sites.geometry.values)
    gap, _ = cKDTree(np.vstack([p["xy"] for p in parts])).query(site_xy)
    weight[gap < 1000.0] = 0.0
    s = np.sort(rng.choice(len(sites), size=_N_CONTACT_POINTS, replace=False, p=weight / weight.sum()))
    sxy = shapely.get_coordinates(sites.geometry.values[s])
    parts.append(dict(xy=sxy, town=pd.Index(tcode).get_indexer(sites["town_code"].to_numpy()[s]), tier="point",
                      level="town", name=sites["name"].to_numpy()[s] + "代表联系点", prefix="C",
                      site_id=sites["id"].to_numpy()[s]))

    frames = []
    counters: dict[str, int] = {}
    for p in parts:
        n = len(p["xy"])
        start = counters.get(p["prefix"], 0)
        counters[p["prefix"]] = start + n
        town = np.asarray(p["town"])
        frames.append(pd.DataFrame({
            "id": [f"{p['prefix']}{start + i + 1:04d}" for i in range(n)],
            "name": np.asarray(p["name"], dtype=object),
            "tier": p["tier"],
            "level": p["level"],
            "town_code": tcode[town],
            "sector": _sectors(n, kind[town], _SECTOR_SHARE if p["tier"] != "home" else 0.0, rng),
            "status": "active",
            "site_id": p.get("site_id", np.full(n, None, dtype=object)),
            "x": np.asarray(p["xy"])[:, 0],
            "y": np.asarray(p["xy"])[:, 1],
        }))
    df = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(df.drop(columns=["x", "y"]), geometry=shapely.points(df[["x", "y"]].to_numpy()), crs=metric)


# --------------------------------------------------------------------------- people
def build_deputies(
    towns: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, rng: np.random.Generator
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """About 11,500 pseudonymous deputies at five levels in about 1,100 groups.

    Township congresses (towns and townships only; streets, farms and parks have
    none) have 40–130 seats by population; the upper levels are apportioned to
    towns by population. Each town's deputies are split, by sector, into groups of
    about ten; about 5 % of deputies live in another town of the same county.

    Returns
    -------
    deputies, groups : DataFrame
    """
    kind = towns["kind"].to_numpy()
    tcode = towns["code"].to_numpy()
    county = towns["county_code"].to_numpy()
    dix = pd.Index(tcode).get_indexer(demand["town_code"])
    pop = np.bincount(dix, weights=demand["population"].to_numpy(), minlength=len(towns))
    congress = np.isin(kind, ("town", "township"))
    seats = {"town": np.where(congress, np.clip(np.round(40 + pop / 950.0), 40, 130), 0).astype(int)}
    for lv, total in _UPPER_DEPUTIES.items():
        seats[lv] = apportion(total, pop)
    levels = ("national", "provincial", "city", "county", "town")
    town = np.concatenate([np.repeat(np.arange(len(towns)), seats[lv]) for lv in levels])
    level = np.concatenate([np.full(seats[lv].sum(), lv, dtype=object) for lv in levels])
    n = town.size
    probs = np.array([_SECTOR_MIX[k] for k in kind[town]])
    high = level != "town"
    probs[high] = 0.5 * probs[high] + 0.5 * np.asarray(_HIGH_LEVEL_MIX)
    probs /= probs.sum(axis=1, keepdims=True)
    sector_ix = (probs.cumsum(axis=1) < rng.random(n)[:, None]).sum(axis=1).clip(0, len(SECTORS) - 1)
    # Groups: within a town, deputies sorted by sector are cut into chunks of ~10.
    order = np.lexsort((rng.random(n), sector_ix, town))
    town, level, sector_ix = town[order], level[order], sector_ix[order]
    per_town = np.bincount(town, minlength=len(towns))
    n_groups = np.maximum(1, np.round(per_town / 10.4)).astype(int)
    n_groups[per_town == 0] = 0
    rank = np.arange(n) - np.repeat(np.cumsum(per_town) - per_town, per_town)
    local = (rank * n_groups[town]) // per_town[town]  # balanced chunks
    gstart = np.cumsum(n_groups) - n_groups
    gid = gstart[town] + local
    # A few deputies live in another town of their county (they still meet with their group).
    home = town.copy()
    moved = np.flatnonzero(rng.random(n) < 0.05)
    for i in moved:
        same = np.flatnonzero(county == county[town[i]])
        if same.size > 1:
            home[i] = rng.choice(same[same != town[i]])
    deputies = pd.DataFrame({
        "id": [f"D{i + 1:05d}" for i in range(n)],
        "level": level,
        "group_id": [f"G{g + 1:04d}" for g in gid],
        "sector": np.asarray(SECTORS, dtype=object)[sector_ix],
        "home_town_code": tcode[home],
    })
    g_town = np.repeat(np.arange(len(towns)), n_groups)
    counts = np.zeros((g_town.size, len(SECTORS)), dtype=int)
    np.add.at(counts, (gid, sector_ix), 1)
    k = np.concatenate([np.arange(m) + 1 for m in n_groups])
    tname = towns["name"].to_numpy()
    groups = pd.DataFrame({
        "id": [f"G{g + 1:04d}" for g in range(g_town.size)],
        "name": [f"{tname[t]}代表小组{j}" if n_groups[t] > 1 else f"{tname[t]}代表小组" for t, j in zip(g_town, k)],
        "county_code": county[g_town],
        "town_code": tcode[g_town],
        "sector": np.asarray(SECTORS, dtype=object)[counts.argmax(axis=1)],  # dominant sector, ties → first
    })
    return deputies, groups


def build_committees() -> pd.DataFrame:
    """The special committees of the city congress with the sectors they cover."""
    return pd.DataFrame({
        "id": [f"K{i + 1:02d}" for i in range(len(COMMITTEES))],
        "name": [n for n, _ in COMMITTEES],
        "sectors": [",".join(s) for _, s in COMMITTEES],
    })


# --------------------------------------------------------------------------- assembly
def build(raw_dir: str | Path = RAW_DIR, seed: int = DEFAULT_SEED) -> Dataset:
    """Build the Yancheng dataset from the real inputs in ``raw_dir`` and a seed.

    Parameters
    ----------
    raw_dir : path
        Folder with ``areas.csv``, ``streets.csv``, ``villages.csv`` and ``boundaries/``.
    seed : int
        Seed of the one random generator used for everything synthesized.

    Returns
    -------
    Dataset
        Validated, in WGS84.
    """
    rng = np.random.default_rng(seed)
    raw = read_raw(raw_dir)
    metric = _crs.metric_crs(tuple(raw.boundaries.total_bounds))
    counties, towns = build_towns(raw.boundaries.to_crs(metric), raw.areas, raw.streets, rng)
    demand = build_demand(towns, raw.villages, rng)
    sites = build_sites(towns, demand, rng)
    stations = build_stations(counties, towns, demand, sites, rng)
    deputies, groups = build_deputies(towns, demand, rng)
    layers = {
        "counties": counties.to_crs(STORAGE_CRS),
        "towns": towns.drop(columns=["cx", "cy"]).to_crs(STORAGE_CRS),
        "demand": demand.drop(columns=["community"]).to_crs(STORAGE_CRS),
        "sites": sites.to_crs(STORAGE_CRS),
        "stations": stations.to_crs(STORAGE_CRS),
        "deputies": deputies,
        "groups": groups,
        "committees": build_committees(),
    }
    return Dataset.from_layers(layers, name="yancheng")


def counts(ds: Dataset) -> dict[str, float | int]:
    """Counts and totals that identify a build (rows per layer, population, footfall, stations by tier/level)."""
    out: dict[str, float | int] = dict(ds.summary())
    st = ds.stations
    for (tier, level), n in st.groupby(["tier", "level"]).size().items():
        out[f"stations_{tier}_{level}"] = int(n)
    for cat, n in ds.sites["category"].value_counts().sort_index().items():
        out[f"sites_{cat}"] = int(n)
    for lv, n in ds.deputies["level"].value_counts().sort_index().items():
        out[f"deputies_{lv}"] = int(n)
    return out


def main(argv: list[str] | None = None) -> None:
    """Rebuild ``data/yancheng.gpkg`` (``python -m geoplan.sources.yancheng``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--raw", type=Path, default=RAW_DIR, help="folder of the real inputs")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--output", type=Path, default=BUNDLED_DATASET)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    ds = build(args.raw, args.seed)
    path = ds.save(args.output)
    seconds = time.perf_counter() - start
    for key, value in counts(ds).items():
        print(f"{key:>28}: {value:,.0f}" if isinstance(value, float) else f"{key:>28}: {value:,}")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) in {seconds:.1f} s")


if __name__ == "__main__":
    main()
