"""The network map: the current stations, towns shaded by coverage, people and venues."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import folium
import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan import html_assets, network
from geoplan.datasets import TIERS, Dataset
from geoplan.i18n import translator
from geoplan.maps._helpers import (
    LAYER,
    add_counties,
    add_demand,
    add_reach,
    add_stations,
    add_towns,
    add_venues,
    base_map,
    county_names,
    fmt_int,
    fmt_pct,
    legend_element,
    legend_extras,
    share_colormap,
    town_names,
)
from geoplan.settings import DEFAULT_RADIUS_M


# --------------------------------------------------------------------------- network map
@dataclass(frozen=True)
class _NetworkStats:
    stations: gpd.GeoDataFrame  # dataset stations + reach_people, unique_people
    towns: gpd.GeoDataFrame  # towns + population, covered, share, n_active


def _network_stats(dataset: Dataset, radius_m: Mapping[str, float]) -> _NetworkStats:
    """People within reach of the active network (:func:`geoplan.network.within_reach`: radius per tier)."""
    st = dataset.stations
    active = network.active_mask(dataset)
    pop = dataset.demand["population"].to_numpy(dtype=float)
    cov = network.reach_matrix(dataset, radius_m)
    cov_active = cov[:, np.flatnonzero(active)]
    n_reach = np.asarray(cov_active.sum(axis=1)).ravel()
    covered = n_reach > 0
    reach = np.asarray(cov.T @ pop).ravel()
    only = pop * (n_reach == 1)
    unique = np.where(active, np.asarray(cov.T @ only).ravel(), 0.0)
    stations = st.assign(reach_people=reach, unique_people=unique)
    tc = dataset.demand["town_code"].astype(str)
    per_town = pd.DataFrame({"town_code": tc, "population": pop, "covered": pop * covered}).groupby("town_code").sum()
    n_active = st[active].groupby("town_code").size()
    towns = dataset.towns.copy()
    code = towns["code"].astype(str)
    towns["population"] = code.map(per_town["population"]).fillna(0.0).to_numpy()
    towns["covered"] = code.map(per_town["covered"]).fillna(0.0).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        towns["share"] = np.where(towns["population"] > 0, towns["covered"] / towns["population"], np.nan)
    towns["n_active"] = code.map(n_active).fillna(0).astype(int).to_numpy()
    return _NetworkStats(stations, towns)


def network_map(dataset: Dataset, radius_m: Mapping[str, float] | None = None, lang: str = "en") -> folium.Map:
    """The current network: towns shaded by coverage, stations by tier, people, venues.

    Parameters
    ----------
    dataset : Dataset
        The city's layers.
    radius_m : mapping of tier → metres, optional
        Service radius per tier (default :data:`geoplan.settings.DEFAULT_RADIUS_M`),
        used for the town shading, the station popups and the reach circles.
    lang : {"en", "zh"}, default "en"
        Language of the layer names, legend, popups and reasons (:mod:`geoplan.i18n`).

    Returns
    -------
    folium.Map
        Layers: counties, towns (share of people within reach of an active
        station), people, one layer per station tier, closed and proposed
        stations, reach circles (off), venues by category (clustered, off); a
        legend (``#geoplan-legend``) and a layer control.
    """
    tr = translator(lang)
    radius_m = dict(DEFAULT_RADIUS_M if radius_m is None else radius_m)
    stats = _network_stats(dataset, radius_m)
    m = base_map(dataset, tr("{dataset}: deputy station network", dataset=dataset.name))
    towns = stats.towns.merge(county_names(dataset), on="county_code", how="left")
    add_towns(
        m, dataset, towns, "share", share_colormap(), tr(LAYER["towns"]),
        {"name": "text", "county": "text", "population": "int", "covered": "int", "share": "pct", "n_active": "int"},
        [tr("Town"), tr("County"), tr("People"), tr("Within reach"), tr("Share within reach"), tr("Active stations")],
    )
    add_counties(m, dataset, tr)
    add_demand(m, dataset, tr)
    st = stats.stations.merge(town_names(dataset), on="town_code", how="left")
    st["state"] = st["status"].map({"closed": "close", "proposed": "proposed"}).fillna("")
    fields = {
        "name": ("text", tr("Name")), "id": ("text", tr("Id")), "tier": ("text", tr("Tier")),
        "level": ("text", tr("Level")), "town": ("text", tr("Town")), "sector": ("text", tr("Sector")),
        "status": ("text", tr("Status")), "reach_people": ("int", tr("People within reach")),
        "unique_people": ("int", tr("Reached by no other station")),
    }
    active = st[st["id"].isin(dataset.active_stations()["id"])]
    for tier in TIERS:
        add_stations(m, active[active["tier"] == tier], tr(LAYER[tier]), "state", fields, tr)
    add_stations(m, st[st["status"] == "proposed"], tr(LAYER["proposed"]), "state", fields, tr)
    add_stations(m, st[st["status"] == "closed"], tr(LAYER["closed"]), "state", fields, tr, show=False)
    add_reach(m, active, radius_m, tr)
    add_venues(m, dataset, tr)
    pop = float(towns["population"].sum())
    people = float(towns["covered"].sum())
    metrics = [
        (tr("Active stations"), f"{len(active):,}"),
        (tr("People"), fmt_int(pop)),
        (tr("Within reach"), f"{fmt_int(people)} ({fmt_pct(people / pop if pop else np.nan)})"),
    ]
    legend_element(
        tr("{dataset}: station network", dataset=dataset.name),
        metrics,
        [("proposed", tr("Proposed")), ("close", tr("Closed (off)"))],
        (tr("Town: share of people within reach"), share_colormap(), ["0%", "50%", "100%"]),
        legend_extras(tr), tr,
    ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return html_assets.trim(m)


# --------------------------------------------------------------------------- plan map
