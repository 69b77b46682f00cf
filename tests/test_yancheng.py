"""The bundled Yancheng dataset: the committed file equals a fresh rebuild, and is plausible."""
from __future__ import annotations

import pytest
import shapely
from scipy.spatial import cKDTree

from geoplan.datasets import SECTORS, SITE_CATEGORIES, Dataset, validate
from geoplan.settings import BUNDLED_DATASET
from geoplan.sources import yancheng


@pytest.fixture(scope="module")
def built() -> Dataset:
    return yancheng.build()


@pytest.fixture(scope="module")
def committed() -> Dataset:
    return Dataset.load(BUNDLED_DATASET)


def test_committed_file_matches_rebuild(built: Dataset, committed: Dataset) -> None:
    assert yancheng.counts(committed) == yancheng.counts(built)


def test_committed_file_is_small_and_valid(committed: Dataset) -> None:
    assert BUNDLED_DATASET.stat().st_size < 15e6
    assert validate(committed.layers()) == []


def test_rebuild_is_deterministic(built: Dataset) -> None:
    again = yancheng.build()
    for name, df in built.layers().items():
        assert df.equals(again.layers()[name]), name


def test_counts_and_totals(built: Dataset) -> None:
    c = yancheng.counts(built)
    assert (c["counties"], c["towns"], c["demand"], c["committees"]) == (10, 154, 2494, 10)
    assert c["population"] == 6_710_000
    assert c["stations_home_village"] == 102
    assert c["stations_home_town"] == 154
    assert c["stations_home_city"] == 1 and c["stations_home_county"] == 10
    assert c["stations_station_town"] == 600 and c["stations_point_town"] == 150
    assert c["stations_active"] == c["stations"]
    assert 7000 <= c["sites"] <= 9000
    assert c["sites_clinic"] == 2494
    assert 11_500 <= c["deputies"] <= 12_000
    assert 1_100 <= c["groups"] <= 1_200
    assert {k.removeprefix("deputies_") for k in c if k.startswith("deputies_")} == {
        "national", "provincial", "city", "county", "town"}
    assert set(built.sites["category"]) == set(SITE_CATEGORIES)


def test_real_names_and_codes(built: Dataset) -> None:
    towns = built.towns.set_index("code")
    assert towns.loc["320902001", "name"] == "五星街道"
    assert set(towns.loc[towns["county_code"] == "320971"].index) == {"320971001", "320971100"}
    assert built.demand.set_index("id").loc["320902001001", "name"] == "东闸新村社区居委会"
    assert built.counties.set_index("code").loc["320971", "name"] == "盐城经济技术开发区"


def test_towns_partition_counties(built: Dataset) -> None:
    m = built.to_metric()
    counties, towns = m["counties"], m["towns"]
    assert shapely.is_valid(towns.geometry.values).all()
    assert not shapely.is_empty(towns.geometry.values).any()
    for code, county in zip(counties["code"], counties.geometry.values):
        parts = towns.geometry.values[towns["county_code"].to_numpy() == code]
        union = shapely.union_all(parts)
        assert abs(union.area - county.area) / county.area < 0.01, code
        assert abs(shapely.area(parts).sum() - county.area) / county.area < 0.01, code  # no overlaps
        assert shapely.difference(union, county.buffer(1.0)).area < 1e-4 * county.area, code
    # Counties do not overlap each other either.
    total = shapely.area(counties.geometry.values).sum()
    assert abs(shapely.union_all(counties.geometry.values).area - total) / total < 1e-3


def test_demand_inside_its_town_and_streets_denser(built: Dataset) -> None:
    m = built.to_metric()
    towns = m["towns"].set_index("code")
    demand = m["demand"]
    assert set(demand["town_code"]) == set(towns.index)  # every town has a demand point
    polys = towns.geometry.loc[demand["town_code"]].values
    assert shapely.contains(polys, demand.geometry.values).all()
    pop = demand.groupby("town_code")["population"].sum()
    density = pop / (towns.geometry.area / 1e6)
    kind = towns["kind"]
    assert density[kind == "street"].median() > 2 * density[kind == "town"].median()
    assert (demand["population"] > 0).all()


def test_station_network_before_review(built: Dataset) -> None:
    st = built.stations
    xy = built.xy("stations")
    dist, _ = cKDTree(xy).query(xy, k=2)
    liaison = (st["tier"] == "station").to_numpy()
    duplicated = int((liaison & (dist[:, 1] < 1000.0)).sum())
    # ~261 liaison stations sit near another station (their partners are partly liaison stations too).
    assert 261 <= duplicated <= 2 * 261
    points = st[st["tier"] == "point"]
    assert points["site_id"].notna().all()
    assert st.loc[st["tier"] != "point", "site_id"].isna().all()
    sites = built.sites.set_index("id")
    assert (sites.loc[points["site_id"], "town_code"].to_numpy() == points["town_code"].to_numpy()).all()
    assert 0.05 < st["sector"].notna().mean() < 0.2


def test_deputies_groups_committees(built: Dataset) -> None:
    dep, groups = built.deputies, built.groups
    gtown = dep["group_id"].map(groups.set_index("id")["town_code"])
    assert (gtown == dep["home_town_code"]).mean() > 0.9  # deputies live mostly in their group's town
    assert set(dep["group_id"]) == set(groups["id"])  # no empty group
    assert set(groups["sector"]) <= set(SECTORS)
    # Township-level deputies only where a township congress exists.
    kind = built.towns.set_index("code")["kind"]
    town_level = dep[dep["level"] == "town"]
    assert set(kind.loc[gtown[town_level.index]]) <= {"town", "township"}
    covered = {s for row in built.committees["sectors"] for s in row.split(",")}
    assert covered == set(SECTORS)
