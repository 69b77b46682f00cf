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
