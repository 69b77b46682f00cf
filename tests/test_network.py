"""Tests for geoplan.network: the current-network summary."""
from __future__ import annotations

import numpy as np
import pyproj
import shapely

from geoplan.datasets import Dataset
from geoplan.network import nearest_station_distance, network_summary


def test_summary_counts_active_stations_by_tier(tiny_dataset: Dataset) -> None:
    s = network_summary(tiny_dataset)
    city = s.by_county.set_index("code").loc["city"]
    active = tiny_dataset.active_stations()
    assert city["total"] == len(active)
    for tier in ("home", "station", "point"):
        assert city[tier] == (active["tier"] == tier).sum()
    assert s.population == tiny_dataset.demand["population"].sum()


def test_share_within_matches_brute_force(tiny_dataset: Dataset) -> None:
    geod = pyproj.Geod(ellps="WGS84")
    d = tiny_dataset.demand
    st = tiny_dataset.active_stations()
    dx, dy = shapely.get_coordinates(d.geometry.values).T
    sx, sy = shapely.get_coordinates(st.geometry.values).T
    best = np.array([geod.inv(np.full(len(sx), x), np.full(len(sy), y), sx, sy)[2].min() for x, y in zip(dx, dy)])
    # UTM distances agree with geodesic ones to well under a percent at this scale.
    np.testing.assert_allclose(nearest_station_distance(tiny_dataset), best, rtol=2e-3)
    s = network_summary(tiny_dataset, radius_m=2500)
    expected = d["population"][best <= 2500].sum() / d["population"].sum()
    assert abs(s.share_within - expected) < 0.05  # only boundary cases may differ


def test_no_active_station_means_nobody_within(tiny_layers) -> None:
    tiny_layers["stations"]["status"] = "closed"
    ds = Dataset.from_layers(tiny_layers)
    s = network_summary(ds)
    assert s.people_within == 0 and s.share_within == 0


def test_one_definition_of_within_reach(tiny_dataset: Dataset) -> None:
    """`data info`, the network map and a plan's "before" agree: per-tier radii, active stations."""
    from geoplan import maps
    from geoplan.network import within_reach
    from geoplan.planning import Scenario, plan
    from geoplan.settings import DEFAULT_RADIUS_M

    s = network_summary(tiny_dataset)
    assert s.radius_m == DEFAULT_RADIUS_M and s.radius_text == "home 3 km, station 2 km, point 1.5 km"
    p = plan(tiny_dataset, Scenario(budget=0, min_per_town=False))
    assert s.people_within == p.metrics.people_before and s.share_within == p.metrics.share_before
    pop = tiny_dataset.demand["population"].to_numpy()
    assert pop[within_reach(tiny_dataset)].sum() == s.people_within
    html = maps.network_map(tiny_dataset).get_root().render()
    assert f"{s.people_within:,.0f} ({100 * s.share_within:.1f}%)" in html
    one = network_summary(tiny_dataset, radius_m=2500)
    assert one.radius_m == {"home": 2500.0, "station": 2500.0, "point": 2500.0}
