"""Shared test helpers: small synthetic datasets built in code (no files needed).

Import them in a test module as ``from helpers import make_tiny_layers`` (``tests/`` is on
``sys.path`` under pytest's rootdir conftest); ``conftest.py`` holds the fixtures only.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from shapely.geometry import box

from geoplan.datasets import SECTORS, SITE_CATEGORIES

__all__ = ["make_tiny_layers"]


def make_tiny_layers(seed: int = 0) -> dict[str, pd.DataFrame]:
    """Two counties, four towns on a 0.2°×0.1° patch near Yancheng (WGS84)."""
    rng = np.random.default_rng(seed)
    x0, y0 = 120.0, 33.3
    counties = gpd.GeoDataFrame(
        {"code": ["C1", "C2"], "name": ["West", "East"]},
        geometry=[box(x0, y0, x0 + 0.1, y0 + 0.1), box(x0 + 0.1, y0, x0 + 0.2, y0 + 0.1)],
        crs="EPSG:4326",
    )
    towns = gpd.GeoDataFrame(
        {
            "code": ["T1", "T2", "T3", "T4"],
            "name": ["Alpha Street", "Beta Town", "Gamma Town", "Delta Farm"],
            "county_code": ["C1", "C1", "C2", "C2"],
            "kind": ["street", "town", "town", "farm"],
        },
        geometry=[
            box(x0, y0, x0 + 0.05, y0 + 0.1),
            box(x0 + 0.05, y0, x0 + 0.1, y0 + 0.1),
            box(x0 + 0.1, y0, x0 + 0.15, y0 + 0.1),
            box(x0 + 0.15, y0, x0 + 0.2, y0 + 0.1),
        ],
        crs="EPSG:4326",
    )

    def points_in_towns(n: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
        t = rng.integers(0, 4, n)
        xs = x0 + 0.05 * t + rng.uniform(0.002, 0.048, n)
        ys = y0 + rng.uniform(0.002, 0.098, n)
        return xs, ys, [towns.code[i] for i in t]

    xs, ys, tc = points_in_towns(40)
    demand = gpd.GeoDataFrame(
        {"id": [f"D{i:03d}" for i in range(40)], "name": [f"Village {i}" for i in range(40)],
         "town_code": tc, "population": rng.integers(200, 3000, 40).astype(float)},
        geometry=gpd.points_from_xy(xs, ys), crs="EPSG:4326",
    )
    xs, ys, tc = points_in_towns(60)
    sites = gpd.GeoDataFrame(
        {"id": [f"S{i:03d}" for i in range(60)], "name": [f"Venue {i}" for i in range(60)],
         "category": [SITE_CATEGORIES[i % len(SITE_CATEGORIES)] for i in range(60)],
         "footfall": rng.integers(50, 2000, 60).astype(float), "town_code": tc},
        geometry=gpd.points_from_xy(xs, ys), crs="EPSG:4326",
    )
    xs, ys, tc = points_in_towns(12)
    stations = gpd.GeoDataFrame(
        {"id": [f"ST{i:02d}" for i in range(12)], "name": [f"Station {i}" for i in range(12)],
         "tier": ["home"] * 4 + ["station"] * 5 + ["point"] * 3,
         "level": ["town"] * 4 + ["village"] * 2 + ["town"] * 6,
         "town_code": ["T1", "T2", "T3", "T4"] + tc[4:],
         "sector": [None] * 9 + ["agriculture", "health", None],
         "status": ["active"] * 11 + ["closed"],
         "site_id": [None] * 12},
        geometry=gpd.points_from_xy(xs, ys), crs="EPSG:4326",
    )
    groups = pd.DataFrame(
        {"id": [f"G{i:02d}" for i in range(10)], "name": [f"Group {i}" for i in range(10)],
         "county_code": ["C1"] * 5 + ["C2"] * 5,
         "town_code": ["T1", "T1", "T2", "T2", "T2", "T3", "T3", "T4", "T4", "T4"],
         "sector": [SECTORS[i % len(SECTORS)] for i in range(10)]}
    )
    levels = ["national"] * 2 + ["provincial"] * 6 + ["city"] * 12 + ["county"] * 30 + ["town"] * 50
    gid = rng.integers(0, 10, 100)
    deputies = pd.DataFrame(
        {"id": [f"P{i:04d}" for i in range(100)], "level": levels,
         "group_id": [f"G{g:02d}" for g in gid],
         "sector": [SECTORS[int(s)] for s in rng.integers(0, len(SECTORS), 100)],
         "home_town_code": [groups.town_code[g] for g in gid]}
    )
    committees = pd.DataFrame(
        {"id": ["K1", "K2", "K3"], "name": ["Agriculture and Rural", "Education, Science, Health", "Finance and Economy"],
         "sectors": ["agriculture,fisheries", "education,health", "finance,commerce"]}
    )
    return {"counties": counties, "towns": towns, "demand": demand, "sites": sites,
            "stations": stations, "deputies": deputies, "groups": groups, "committees": committees}
