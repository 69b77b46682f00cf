"""Town polygons: a centroidal Voronoi partition of each county seeded at the real town centres.

Per county with a boundary (its hosted development zones' towns included):

* towns with a real centre point (the 2016 table, converted to WGS84) are **fixed seeds** there — so
  each such town's cell contains its real centre. A point outside the county, or within 100 m of
  another town's, is dropped (reported) and the town is treated as one without a centre;
* the other towns get **free seeds** of a density-weighted centroidal Voronoi tessellation (Lloyd
  iterations over a 500 m grid, fixed seeds held still): the density is uniform plus a bump at the
  county seat holding about the streets' share of the mass;
* free seeds go to towns by kind: streets nearest the seat, then inland parks;
  farms and coastal parks (名 with 港/海/盐场) farthest from the seat; other towns at random. The towns of
  a hosted zone are kept together: each takes the free seed nearest the zone's first town.

A unit without a boundary (a development zone) is the union of its towns' cells, cut out of its host.
The county seat is the county's point in the 2016 table (Amap's centre of the county, usually its
government), snapped into the county; without one, the mean of its street centres or a point inside.
"""
from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree
from shapely.geometry.base import BaseGeometry

from geoplan.exceptions import InputError
from geoplan.sources.city._helpers import polygonal, sample_points, town_kind

_MIN_SEED_GAP_M = 100.0


@dataclass(frozen=True)
class Layout:
    """Counties and towns in the metric CRS; ``towns`` has cx, cy (town centre) and centre_source."""

    counties: gpd.GeoDataFrame
    towns: gpd.GeoDataFrame
    seats: dict[str, tuple[float, float]]  # county code → seat (metric)
    report: tuple[str, ...]


def _cvt(
    area: BaseGeometry, seat: NDArray[np.float64], fixed: NDArray[np.float64], n_free: int, urban_share: float,
    rng: np.random.Generator, spacing: float = 500.0, iters: int = 30,
) -> NDArray[np.float64]:
    """Free seeds of a density-weighted centroidal Voronoi tessellation of ``area`` around ``fixed`` seeds."""
    if n_free == 0:
        return np.zeros((0, 2))
    minx, miny, maxx, maxy = area.bounds
    step = min(spacing, max(maxx - minx, maxy - miny) / 40.0)
    mx, my = np.meshgrid(np.arange(minx + step / 2, maxx, step), np.arange(miny + step / 2, maxy, step))
    gx, gy = mx.ravel(), my.ravel()
    inside = shapely.contains_xy(area, gx, gy)
    pts = np.column_stack([gx[inside], gy[inside]])
    if len(pts) < n_free + len(fixed):  # a tiny county: sample inside it instead of on the grid
        pts = sample_points(np.full(4 * (n_free + len(fixed)), area, dtype=object), np.zeros(1), np.zeros(1),
                            None, rng)
    d2 = ((pts - seat) ** 2).sum(axis=1)
    n = n_free + len(fixed)
    sigma = 2500.0 + 900.0 * np.sqrt(max(urban_share * n, 1.0))
    bump = np.exp(-d2 / (2 * sigma**2))
    share = min(max(urban_share, 0.02), 0.9)
    density = 1.0 + bump * (share / (1 - share)) * len(pts) / bump.sum()
    free = pts[rng.choice(len(pts), size=n_free, replace=False, p=density / density.sum())]
    for _ in range(iters):
        seeds = np.vstack([fixed, free])
        _, lab = cKDTree(seeds).query(pts)
        mass = np.bincount(lab, weights=density, minlength=n)[len(fixed):]
        sx = np.bincount(lab, weights=density * pts[:, 0], minlength=n)[len(fixed):]
        sy = np.bincount(lab, weights=density * pts[:, 1], minlength=n)[len(fixed):]
        keep = mass > 0  # an empty cell keeps its seed
        free[keep] = np.column_stack([sx[keep] / mass[keep], sy[keep] / mass[keep]])
    # Lloyd can pull a free seed onto a fixed one; nudge it so the Voronoi diagram stays defined.
    tree = cKDTree(fixed) if len(fixed) else None
    if tree is not None:
        d, _ = tree.query(free)
        close = d < 1.0
        free[close] += rng.normal(0.0, 50.0, (int(close.sum()), 2))
    return free


def _cells(area: BaseGeometry, seeds: NDArray[np.float64]) -> NDArray[np.object_]:
    """Voronoi cells of ``seeds`` clipped to ``area``, in seed order, polygonal and valid."""
    if len(seeds) == 1:
        return np.asarray([area], dtype=object)
    vor = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=shapely.buffer(area, 10_000.0), ordered=True)
    return polygonal(shapely.intersection(np.asarray(shapely.get_parts(vor)), area))


def _assign_free(
    free: NDArray[np.float64], seat: NDArray[np.float64], towns: pd.DataFrame, kinds: NDArray[np.object_],
    rng: np.random.Generator,
) -> NDArray[np.int_]:
    """Which free seed each town without a centre gets (rules in the module docstring)."""
    n = len(free)
    by_distance = list(np.argsort(((free - seat) ** 2).sum(axis=1), kind="stable"))
    names = towns["name"].astype(str)
    first = kinds == "street"
    coastal = ~first & ((kinds == "farm") | ((kinds == "park") & names.str.contains("港|海|盐场").to_numpy()))
    parks = ~first & ~coastal & (kinds == "park")
    slot = np.empty(n, dtype=int)
    for group in (first, parks):
        members = rng.permutation(np.flatnonzero(group))
        slot[members] = by_distance[: members.size]
        del by_distance[: members.size]
    rest = np.asarray(by_distance, dtype=int)
    members = rng.permutation(np.flatnonzero(coastal))
    far = rest[np.argsort(-((free[rest] - seat) ** 2).sum(axis=1), kind="stable")][: members.size]
    slot[members] = far
    rest = rest[~np.isin(rest, far)]
    slot[np.flatnonzero(~first & ~parks & ~coastal)] = rng.permutation(rest)
    # Keep each hosted zone's towns together around its first (street-first) town.
    zone = towns["zone"].to_numpy()
    for z in sorted(set(zone[zone != ""])):
        members = np.flatnonzero(zone == z)
        members = members[np.argsort(kinds[members] != "street", kind="stable")]
        anchor = free[slot[members[0]]]
        others = [i for i in range(n) if zone[i] != z]
        for m in members[1:]:
            cand = [i for i in others if zone[i] == ""]
            if not cand:
                break
            near = min(cand, key=lambda i: ((free[slot[i]] - anchor) ** 2).sum())
            if ((free[slot[near]] - anchor) ** 2).sum() < ((free[slot[m]] - anchor) ** 2).sum():
                slot[[m, near]] = slot[[near, m]]
            others.remove(near)
    return slot


def layout(
    boundaries: gpd.GeoDataFrame, areas: pd.DataFrame, streets: pd.DataFrame, centres: NDArray[np.float64],
    seats: dict[str, tuple[float, float]], hosts: dict[str, str], rng: np.random.Generator,
) -> Layout:
    """Partition each county into its towns; carve units without a boundary out of their hosts.

    Parameters
    ----------
    boundaries : GeoDataFrame
        County boundaries in a metric CRS (code, name).
    areas : DataFrame
        Every county-level unit (code, name).
    streets : DataFrame
        Town-level units (code, name, county_code).
    centres : ndarray, shape (n_towns, 2)
        Real town centres (metric), NaN where unknown.
    seats : dict
        County seats (metric) from the 2016 table, for the counties that have one.
    hosts : dict
        The host county (with a boundary) of each unit without one.
    rng : numpy.random.Generator

    Returns
    -------
    Layout
    """
    metric = boundaries.crs
    kinds = town_kind(streets["name"])
    county = streets["county_code"].to_numpy()
    layout_county = pd.Series(county).replace(hosts).to_numpy()
    report: list[str] = []
    n = len(streets)
    town_geom = np.empty(n, dtype=object)
    centre = np.full((n, 2), np.nan)
    source = np.full(n, "synthetic", dtype=object)
    county_geom: dict[str, BaseGeometry] = {}
    seat_of: dict[str, tuple[float, float]] = {}
    for code, area in zip(boundaries["code"], boundaries.geometry.values):
        idx = np.flatnonzero(layout_county == code)
        if idx.size == 0:
            raise InputError(f"raw: streets.csv: county {code} has a boundary but no town-level unit")
        known = np.isfinite(centres[idx, 0])
        inside = np.zeros(idx.size, dtype=bool)
        inside[known] = shapely.contains_xy(area, centres[idx[known], 0], centres[idx[known], 1])
        if (known & ~inside).any():
            report.append(f"towns: {int((known & ~inside).sum())} centre point(s) in {code} lie outside the county; "
                          "dropped")
        for j in np.flatnonzero(inside):  # two towns at (almost) one point: keep the first
            others = np.flatnonzero(inside)[np.flatnonzero(inside) < j]
            if others.size and np.hypot(*(centres[idx[others]] - centres[idx[j]]).T).min() < _MIN_SEED_GAP_M:
                inside[j] = False
                report.append(f"towns: centre of {streets['code'].iloc[idx[j]]} is within {_MIN_SEED_GAP_M:.0f} m "
                              "of another town's; dropped")
        seat_xy = _seat(area, seats.get(code), centres[idx[inside & (kinds[idx] == 'street')]])
        seat_of[code] = (float(seat_xy[0]), float(seat_xy[1]))
        fixed = centres[idx[inside]]
        n_free = int((~inside).sum())
        n_urban = max(int((kinds[idx] == "street").sum()), 1)
        free = _cvt(area, seat_xy, fixed, n_free, 0.9 * n_urban / idx.size, rng)
        seeds = np.vstack([fixed, free])
        cells = _cells(area, seeds)
        members = pd.DataFrame({
            "name": streets["name"].to_numpy()[idx][~inside],
            "zone": np.where(county[idx] != code, county[idx], "")[~inside],
        })
        slot = np.empty(idx.size, dtype=int)
        slot[inside] = np.arange(len(fixed))
        slot[~inside] = len(fixed) + _assign_free(free, seat_xy, members, kinds[idx][~inside], rng)
        town_geom[idx] = cells[slot]
        centre[idx] = seeds[slot]
        source[idx[inside]] = "nbs2016"
        county_geom[code] = area
    # Free centres outside their (non-convex) cell move to a point on the cell's surface.
    outside = ~shapely.contains_xy(town_geom, centre[:, 0], centre[:, 1])
    centre[outside] = shapely.get_coordinates(shapely.point_on_surface(town_geom[outside]))
    for zone, host in sorted(hosts.items()):
        cut = shapely.union_all(town_geom[county == zone])
        rest = shapely.make_valid(shapely.difference(county_geom[host], cut))
        # Drop the hairline slivers the difference leaves along the shared border.
        county_geom[host] = shapely.union_all(
            [g for g in shapely.get_parts(rest) if g.geom_type == "Polygon" and g.area > 1e4])
        county_geom[zone] = cut
        first = np.flatnonzero(county == zone)[0]
        seat_of[zone] = (float(centre[first, 0]), float(centre[first, 1]))
    counties = gpd.GeoDataFrame({"code": areas["code"].to_numpy(), "name": areas["name"].to_numpy()},
                                geometry=[county_geom[c] for c in areas["code"]], crs=metric)
    towns = gpd.GeoDataFrame(
        {"code": streets["code"].to_numpy(), "name": streets["name"].to_numpy(), "county_code": county,
         "kind": kinds, "centre_source": source, "cx": centre[:, 0], "cy": centre[:, 1]},
        geometry=list(town_geom), crs=metric)
    return Layout(counties=counties, towns=towns, seats=seat_of, report=tuple(report))


def _seat(area: BaseGeometry, seat: tuple[float, float] | None, street_centres: NDArray[np.float64]) -> NDArray[np.float64]:
    """The county seat (metric), snapped into ``area``."""
    if seat is not None:
        xy = np.asarray(seat, dtype=float)
    elif len(street_centres):
        xy = street_centres.mean(axis=0)
    else:
        xy = np.asarray(shapely.get_coordinates(shapely.point_on_surface(area))[0])
    if not shapely.contains_xy(area, *xy):  # snap a seat that falls just outside
        xy = shapely.get_coordinates(shapely.shortest_line(area, shapely.Point(xy)))[0]
        xy = xy + (np.asarray(shapely.get_coordinates(shapely.point_on_surface(area))[0]) - xy) * 1e-3
    return xy


def host_of(zones: list[str], boundaries: pd.DataFrame, urban_share: pd.Series,
            given: dict[str, str] | None = None) -> dict[str, str]:
    """The host county of each unit without a boundary.

    ``given`` wins; otherwise the most urban unit with a boundary (highest census urban share,
    ties to the lowest code) — development zones adjoin the city's main urban district.

    Examples
    --------
    >>> host_of(["320971"], pd.DataFrame({"code": ["320902", "320903"]}),
    ...         pd.Series({"320902": 0.88, "320903": 0.69}))
    {'320971': '320902'}
    """
    given = dict(given or {})
    with_boundary = list(boundaries["code"])
    share = urban_share.reindex(with_boundary).fillna(0.0)
    best = str(share.sort_index().idxmax()) if len(share) else ""
    out = {}
    for z in zones:
        host = given.get(z, best)
        if host not in with_boundary:
            raise InputError(f"--host: {z}={host}: {host} has no boundary in this city")
        out[z] = host
    return out
