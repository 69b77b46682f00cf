"""Assembly: raw inputs of one city → a validated planning :class:`~geoplan.datasets.Dataset`."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely

from geoplan import crs as _crs
from geoplan.datasets import Dataset
from geoplan.settings import DEFAULT_SEED, STORAGE_CRS
from geoplan.sources.city._helpers import polygonal
from geoplan.sources.city.census import county_targets
from geoplan.sources.city.demand import build_demand
from geoplan.sources.city.inputs import CENSUS_TOTAL, CENSUS_URBAN, RawCity, read_raw
from geoplan.sources.city.match import Matched, match
from geoplan.sources.city.people import build_committees, build_deputies
from geoplan.sources.city.profile import Profile
from geoplan.sources.city.stations import build_stations
from geoplan.sources.city.towns import host_of, layout
from geoplan.sources.city.venues import build_sites

#: The timestamp written into a built GeoPackage (the census's reference moment), so that the same
#: inputs and seed give the same bytes.
BUILD_TIMESTAMP: str = "2020-11-01T00:00:00.000Z"


@dataclass(frozen=True)
class Build:
    """A built dataset and what the build had to decide (matches, hosts, census rules)."""

    dataset: Dataset
    matched: Matched
    hosts: dict[str, str]
    report: tuple[str, ...]

    def summary(self) -> dict[str, int]:
        """Match counts (see :meth:`Matched.summary`)."""
        return self.matched.summary()

    def save(self, path: str | Path) -> Path:
        """Write the dataset like :meth:`Dataset.save`, byte for byte the same for the same build.

        GDAL stamps a GeoPackage with the time of writing; here it writes :data:`BUILD_TIMESTAMP`.
        """
        old = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": BUILD_TIMESTAMP})
        try:
            return self.dataset.save(path)
        finally:
            pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": old})


def _to_metric(lonlat: dict[str, tuple[float, float]], metric: str) -> dict[str, tuple[float, float]]:
    if not lonlat:
        return {}
    codes = list(lonlat)
    pts = gpd.GeoSeries(shapely.points([lonlat[c] for c in codes]), crs=STORAGE_CRS).to_crs(metric)
    return {c: (float(x), float(y)) for c, (x, y) in zip(codes, shapely.get_coordinates(pts.values))}


def build_city(
    raw_dir: str | Path, city: str, seed: int = DEFAULT_SEED, *, hosts: dict[str, str] | None = None,
    profile: Profile | None = None, name: str | None = None,
) -> Build:
    """Build the planning dataset of one prefecture-level city from its raw inputs.

    Parameters
    ----------
    raw_dir : path
        Folder laid out like ``data/raw/lianyungang/`` (:mod:`geoplan.sources.city.inputs`).
    city : str
        The city's code, ``"3207"`` or ``"320700"``.
    seed : int
        Seed of the one random generator used for everything synthesized.
    hosts : dict, optional
        Host county of a unit without a boundary (``{"320771": "320706"}``); default: the most
        urban county (:func:`~geoplan.sources.city.towns.host_of`).
    profile : Profile, optional
        Network and congress sizes; default :meth:`Profile.scaled` to the city.
    name : str, optional
        Dataset name (default: the city code).

    Returns
    -------
    Build
        The validated dataset (WGS84) and the build's report.

    Examples
    --------
    >>> b = build_city("data/raw/lianyungang", "3207")  # doctest: +SKIP
    >>> int(b.dataset.demand["population"].sum())  # doctest: +SKIP
    4599360
    """
    rng = np.random.default_rng(seed)
    raw: RawCity = read_raw(raw_dir, city)
    matched = match(raw.streets, raw.villages, raw.table2016)
    urban_share = (raw.census[CENSUS_URBAN] / raw.census[CENSUS_TOTAL].where(raw.census[CENSUS_TOTAL] > 0)).fillna(0)
    zones = [c for c in raw.areas["code"] if c not in set(raw.boundaries["code"])]
    host = host_of(zones, raw.boundaries, urban_share, hosts)
    n_villages = raw.villages.groupby(raw.villages["code"].str[:6]).size()
    targets = county_targets(raw.areas, raw.census, raw.code, n_villages, host)
    metric = _crs.metric_crs(tuple(raw.boundaries.total_bounds))
    t16 = raw.table2016.set_index("code")
    county_pts = {c: (float(t16.loc[c + "000000", "lon"]), float(t16.loc[c + "000000", "lat"]))
                  for c in raw.boundaries["code"]
                  if c + "000000" in t16.index and np.isfinite(t16.loc[c + "000000", "lon"])}
    seats = _to_metric(county_pts, metric)
    centres = np.full((len(raw.streets), 2), np.nan)
    known = np.isfinite(matched.towns["lon"].to_numpy(dtype=float))
    if known.any():
        pts = gpd.GeoSeries(shapely.points(matched.towns.loc[known, ["lon", "lat"]].to_numpy()), crs=STORAGE_CRS)
        centres[known] = shapely.get_coordinates(pts.to_crs(metric).values)
    lay = layout(raw.boundaries.to_crs(metric), raw.areas, raw.streets, centres, seats, host, rng)
    towns = lay.towns
    demand = build_demand(towns, raw.villages, matched.villages, targets.counties, rng)
    county_names = raw.areas.set_index("code")["name"]
    sites = build_sites(towns, demand, county_names, raw.name, rng)
    population = int(demand["population"].sum())
    profile = profile or Profile.scaled(len(raw.villages), population)
    if raw.seat is not None:
        city_seat = _to_metric({"city": raw.seat}, metric)["city"]
    else:  # the seat of the most urban county
        city_seat = lay.seats[str(urban_share.reindex(list(raw.boundaries["code"])).fillna(0).idxmax())]
    stations = build_stations(lay.counties, towns, demand, sites, lay.seats, city_seat, raw.name, profile,
                              targets.sectors, rng)
    deputies, groups = build_deputies(towns, demand, targets.sectors, profile.upper_deputies, rng)
    counties = lay.counties.copy()
    tc = targets.counties.reindex(counties["code"])
    counties["population"] = tc["population"].to_numpy(dtype=float)
    counties["urban_population"] = tc["urban"].to_numpy(dtype=float)
    counties["rural_population"] = tc["rural"].to_numpy(dtype=float)
    counties["share_65plus"] = tc["share_65plus"].to_numpy(dtype=float)
    counties["population_source"] = tc["source"].to_numpy()
    counties, towns_out = counties.to_crs(STORAGE_CRS), towns.drop(columns=["cx", "cy"]).to_crs(STORAGE_CRS)
    for gdf in (counties, towns_out):
        gdf.geometry = gpd.GeoSeries(polygonal(gdf.geometry.values), index=gdf.index, crs=STORAGE_CRS)
    layers = {
        "counties": counties,
        "towns": towns_out,
        "demand": demand.drop(columns=["community"]).to_crs(STORAGE_CRS),
        "sites": sites.to_crs(STORAGE_CRS),
        "stations": stations.to_crs(STORAGE_CRS),
        "deputies": deputies,
        "groups": groups,
        "committees": build_committees(),
    }
    report = (*targets.report, *lay.report,
              *(f"hosts: {z} has no boundary; its towns are laid out inside {h}" for z, h in sorted(host.items())))
    ds = Dataset.from_layers(layers, name=name or raw.code)
    return Build(dataset=ds, matched=matched, hosts=host, report=tuple(report))


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


def county_population(ds: Dataset) -> pd.Series:
    """People per county-level unit (demand summed through the towns), by county code."""
    county = ds.demand["town_code"].map(ds.towns.set_index("code")["county_code"])
    return ds.demand.groupby(county)["population"].sum().reindex(ds.counties["code"]).fillna(0.0)
