"""Dataset → metric arrays and coverage matrices: the inputs of review and siting.

:func:`planning_inputs` turns a :class:`~geoplan.datasets.Dataset` and a
:class:`~geoplan.planning.Scenario` into plain numpy arrays in the dataset's
metric CRS (demand points and their population, the active stations and their
radii, the candidate venues and their category weights, town indices), the
role ``spopt``'s ``from_geodataframe`` plays. :func:`coverage_matrices` builds
the sparse demand × station and demand × venue coverage matrices from them, by
straight line or over a road network (:func:`road_network` adapts a networkx
graph, in metres or in lon/lat). Pass the matrices to :mod:`geoplan.optimize`
to run a model of your own on exactly the data :func:`~geoplan.planning.plan`
uses.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
import shapely

from geoplan import access
from geoplan.datasets import Dataset
from geoplan.exceptions import InputError
from geoplan.operations.planning_weights import opinion_weights  # feedback from running the network: a pure function
from geoplan.planning.scenario import Scenario
from geoplan.settings import STORAGE_CRS

__all__ = ["PlanningInputs", "CoverFunction", "planning_inputs", "road_network", "coverage_function",
           "coverage_matrices"]

#: ``cover(demand_xy, site_xy, radius) -> demand × site csc matrix`` (1.0 where within reach).
CoverFunction = Callable[[np.ndarray, np.ndarray, np.ndarray], sp.csc_matrix]


@dataclass(frozen=True, eq=False)
class PlanningInputs:
    """A dataset as metric arrays, for one scenario.

    Attributes
    ----------
    demand_xy, pop, demand_town : numpy.ndarray
        Demand points (metric x, y), their population and town index (-1: none).
    towns, counties : pandas.DataFrame
        code, name (and county_code, kind) in dataset order; indices refer to these rows.
        ``counties`` also has ``urban_population`` and ``rural_population`` when the dataset's
        counties layer has them (the census), NaN otherwise.
    stations : geopandas.GeoDataFrame
        The active stations, metric CRS, index 0..k-1.
    station_xy, station_town, station_radius : numpy.ndarray
        Their coordinates, town index and service radius (the scenario's radius of their tier).
    sites : geopandas.GeoDataFrame
        Candidate venues (metric CRS): not hosting a station, not excluded by the
        scenario, category weight above 0.
    site_xy, site_town, site_weight : numpy.ndarray
        Their coordinates, town index and category weight.
    metric_crs : str
    demand_weight : numpy.ndarray
        Weight of each demand point's people in the siting objective: 1, or more where the town's
        unresolved opinions press (``scenario.opinion_weight``; see
        :func:`geoplan.operations.planning_weights.opinion_weights`).
    demand_urban, demand_county : numpy.ndarray
        Whether each demand point is urban — its NBS urban-rural class (``ur_code``) is 1xx, or,
        for a demand layer without classes, its town is a street (街道) — and its county index
        (-1: none).
    """

    demand_xy: np.ndarray
    pop: np.ndarray
    demand_town: np.ndarray
    towns: pd.DataFrame
    counties: pd.DataFrame
    stations: gpd.GeoDataFrame
    station_xy: np.ndarray
    station_town: np.ndarray
    station_radius: np.ndarray
    sites: gpd.GeoDataFrame
    site_xy: np.ndarray
    site_town: np.ndarray
    site_weight: np.ndarray
    metric_crs: str
    demand_weight: np.ndarray
    demand_urban: np.ndarray
    demand_county: np.ndarray


def _check_ids(field: str, values: tuple[str, ...], known: pd.Series, what: str) -> None:
    unknown = sorted(set(values) - set(known.astype(str)))
    if unknown:
        raise InputError(f"scenario.{field}: unknown {what} {', '.join(map(repr, unknown[:5]))}"
                         + (f" (and {len(unknown) - 5} more)" if len(unknown) > 5 else ""))


def planning_inputs(dataset: Dataset, scenario: Scenario | None = None) -> PlanningInputs:
    """The dataset as metric arrays for ``scenario`` (default ``Scenario()``).

    Raises
    ------
    InputError
        A ``force_open`` / ``force_closed`` / ``exclude_*`` id the dataset does not
        have, or a ``force_open`` station that is not active.

    Examples
    --------
    >>> import geoplan
    >>> from geoplan.planning import Scenario, planning_inputs
    >>> inp = planning_inputs(geoplan.load(), Scenario(category_weights={"street": 0}))
    >>> len(inp.station_xy) == len(inp.stations), bool((inp.site_weight > 0).all())
    (True, True)
    """
    scenario = scenario or Scenario()
    m = dataset.to_metric()
    towns = pd.DataFrame(m["towns"][["code", "name", "county_code", "kind"]]).reset_index(drop=True)
    town_idx = pd.Index(towns["code"].astype(str))
    # Spatial layers: annotated as GeoDataFrames (to_metric() also returns the attribute tables).
    demand: gpd.GeoDataFrame = m["demand"].reset_index(drop=True)
    all_st: gpd.GeoDataFrame = m["stations"]
    _check_ids("force_open", scenario.force_open, all_st["id"], "station id(s)")
    _check_ids("force_closed", scenario.force_closed, all_st["id"], "station id(s)")
    _check_ids("exclude_towns", scenario.exclude_towns, towns["code"], "town code(s)")
    _check_ids("exclude_sites", scenario.exclude_sites, m["sites"]["id"], "venue id(s)")
    _check_ids("require_sites", scenario.require_sites, m["sites"]["id"], "venue id(s)")
    _check_ids("unresolved_opinions", tuple(scenario.unresolved_opinions), towns["code"], "town code(s)")
    _check_ids("station_performance", tuple(scenario.station_performance), all_st["id"], "station id(s)")
    active_ids = set(dataset.active_stations()["id"].astype(str))
    inactive = sorted(set(scenario.force_open) - active_ids)
    if inactive:
        raise InputError(f"scenario.force_open: station(s) {', '.join(inactive)} are not active in the dataset")
    st = all_st[all_st["id"].astype(str).isin(active_ids)].reset_index(drop=True)
    radius = st["tier"].map(scenario.radius_m).to_numpy(dtype=float)

    sites: gpd.GeoDataFrame = m["sites"].reset_index(drop=True)
    cw = sites["category"].map(lambda c: scenario.category_weights.get(c, 1.0)).to_numpy(dtype=float)
    hosted = set(st["site_id"].dropna().astype(str))
    ids = sites["id"].astype(str)
    in_excluded_town = sites["town_code"].astype(str).isin(set(scenario.exclude_towns)).to_numpy()
    required = ids.isin(set(scenario.require_sites)).to_numpy()
    clash = sorted(set(scenario.require_sites) & hosted) + sorted(ids[required & in_excluded_town])
    if clash:
        raise InputError(f"scenario.require_sites: venue(s) {', '.join(map(repr, clash[:5]))} already host a station "
                         "or lie in a town of exclude_towns")
    keep = (
        ((cw > 0) | required)  # a required venue stays a candidate whatever its category weight
        & ~ids.isin(set(scenario.exclude_sites) | hosted).to_numpy()
        & ~in_excluded_town
    )
    sites = sites[keep].reset_index(drop=True)
    demand_town = town_idx.get_indexer(demand["town_code"].astype(str))
    counties = pd.DataFrame(m["counties"]).reset_index(drop=True)
    county_of_town = pd.Index(counties["code"].astype(str)).get_indexer(pd.Index(towns["county_code"].astype(str)))
    for col in ("urban_population", "rural_population"):
        counties[col] = pd.to_numeric(counties[col], errors="coerce") if col in counties.columns else np.nan
    return PlanningInputs(
        demand_xy=dataset.xy("demand"),
        pop=demand["population"].to_numpy(dtype=float),
        demand_town=demand_town,
        towns=towns,
        counties=counties[["code", "name", "urban_population", "rural_population"]],
        stations=st,
        station_xy=shapely.get_coordinates(st.geometry.values).reshape(-1, 2),
        station_town=town_idx.get_indexer(st["town_code"].astype(str)),
        station_radius=radius,
        sites=sites,
        site_xy=shapely.get_coordinates(sites.geometry.values).reshape(-1, 2),
        site_town=town_idx.get_indexer(sites["town_code"].astype(str)),
        site_weight=cw[keep],
        metric_crs=dataset.metric_crs,
        demand_weight=opinion_weights(demand["town_code"].astype(str).to_numpy(),
                                      demand["population"].to_numpy(dtype=float),
                                      pd.Series(scenario.unresolved_opinions, dtype=float), scenario.opinion_weight),
        demand_urban=_urban(demand, towns, demand_town),
        demand_county=np.where(demand_town >= 0, county_of_town[np.maximum(demand_town, 0)], -1),
    )


def _urban(demand: pd.DataFrame, towns: pd.DataFrame, demand_town: np.ndarray) -> np.ndarray:
    """Urban demand points: NBS class 1xx (城镇, the census' urban), else a street's (街道) points."""
    by_kind = np.where(demand_town >= 0, towns["kind"].astype(str).to_numpy()[np.maximum(demand_town, 0)] == "street",
                       False)
    if "ur_code" not in demand.columns:
        return by_kind
    code = demand["ur_code"].astype("string").str.strip()
    known = code.str.fullmatch(r"[12]\d\d").fillna(False).to_numpy(dtype=bool)
    # a point without a valid class falls back to its town's kind, so no point is silently rural
    return np.where(known, code.str.startswith("1").fillna(False).to_numpy(dtype=bool), by_kind)


def road_network(network: Any, metric_crs: str) -> access.RoadNetwork:
    """A :class:`~geoplan.access.RoadNetwork` from a RoadNetwork or a networkx graph.

    Node coordinates are read as metres in the dataset's metric CRS, unless every
    node lies within lon/lat bounds, in which case they are WGS84 and projected.
    """
    net = network if isinstance(network, access.RoadNetwork) else access.network_from_edges(network)
    xy = net.node_xy
    if len(xy) and (np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 90).all():
        # lon/lat (a UTM easting is never below 160 km): project, keeping edge lengths
        from pyproj import Transformer

        x, y = Transformer.from_crs(STORAGE_CRS, metric_crs, always_xy=True).transform(xy[:, 0], xy[:, 1])
        net = access.RoadNetwork(graph=net.graph, node_xy=np.column_stack([x, y]), directed=net.directed)
    return net


def coverage_function(scenario: Scenario, network: Any, metric_crs: str) -> CoverFunction:
    """Return ``cover(demand_xy, xy, radius) -> csc`` for the scenario's distance mode.

    Raises
    ------
    InputError
        ``scenario.distance`` is ``"road"`` and no ``network`` is given.
    """
    if scenario.distance == "road":
        if network is None:
            raise InputError("network: scenario.distance is 'road' but no road network was given "
                             "(pass network=RoadNetwork or a networkx graph with x/y nodes and length edges)")
        net = road_network(network, metric_crs)

        def cover(d: np.ndarray, s: np.ndarray, r: np.ndarray) -> sp.csc_matrix:
            if scenario.speed_kmh is not None:  # radii are minutes
                a = access.network_coverage_matrix(net, d, s, minutes=r, speed_kmh=scenario.speed_kmh)
            else:
                a = access.network_coverage_matrix(net, d, s, radius=r)
            return sp.csc_matrix(a, dtype=np.float64)
    else:
        def cover(d: np.ndarray, s: np.ndarray, r: np.ndarray) -> sp.csc_matrix:
            return sp.csc_matrix(access.coverage_matrix(d, s, r), dtype=np.float64)
    return cover


def coverage_matrices(inputs: PlanningInputs, scenario: Scenario,
                      network: Any = None) -> tuple[sp.csc_matrix, sp.csc_matrix]:
    """Demand × active-station and demand × candidate-venue coverage (csc, 1.0 = within reach).

    Stations reach as far as the radius of their tier, venues as far as the
    ``point`` radius, by the scenario's distance mode (``network`` for ``road``).

    Examples
    --------
    >>> import geoplan
    >>> from geoplan.planning import Scenario, coverage_matrices, planning_inputs
    >>> ds, sc = geoplan.load(), Scenario()
    >>> inp = planning_inputs(ds, sc)
    >>> A, C = coverage_matrices(inp, sc)
    >>> A.shape == (len(inp.pop), len(inp.stations)) and C.shape[1] == len(inp.sites)
    True
    """
    cover = coverage_function(scenario, network, inputs.metric_crs)
    return (cover(inputs.demand_xy, inputs.station_xy, inputs.station_radius),
            cover(inputs.demand_xy, inputs.site_xy, np.full(len(inputs.sites), scenario.radius_m["point"])))
