"""The bundled Yancheng dataset: the committed file equals a fresh rebuild, matches the census, is plausible."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from scipy.spatial import cKDTree

from geoplan.datasets import SECTORS, SITE_CATEGORIES, Dataset, validate
from geoplan.settings import BUNDLED_DATASET
from geoplan.sources import yancheng
from geoplan.sources.city import Build, build_city, county_population

CENSUS = yancheng.RAW_DIR / "census2020" / "counties_2020.csv"


@pytest.fixture(scope="module")
def build() -> Build:
    return build_city(yancheng.RAW_DIR, yancheng.CITY, name="yancheng")


@pytest.fixture(scope="module")
def built(build: Build) -> Dataset:
    return build.dataset


@pytest.fixture(scope="module")
def committed() -> Dataset:
    return Dataset.load(BUNDLED_DATASET)


@pytest.fixture(scope="module")
def census() -> pd.DataFrame:
    """The census rows as published (read here independently of the builder)."""
    return pd.read_csv(CENSUS, dtype={"区划代码": str}).set_index("区划代码")


def test_committed_file_matches_rebuild(built: Dataset, committed: Dataset) -> None:
    assert yancheng.counts(committed) == yancheng.counts(built)
    for name, df in built.layers().items():
        got = committed.layers()[name]
        assert set(got.columns) == set(df.columns), name
        got = got[list(df.columns)]
        if isinstance(df, gpd.GeoDataFrame):
            assert np.allclose(shapely.get_coordinates(got.geometry.values),
                               shapely.get_coordinates(df.geometry.values), atol=1e-9), name
        assert got.drop(columns="geometry", errors="ignore").equals(df.drop(columns="geometry", errors="ignore")), name


def test_committed_file_is_small_and_valid(committed: Dataset) -> None:
    assert BUNDLED_DATASET.stat().st_size < 15e6
    assert validate(committed.layers()) == []


def test_rebuild_is_deterministic(build: Build, tmp_path: Path) -> None:
    again = build_city(yancheng.RAW_DIR, yancheng.CITY, name="yancheng")
    for name, df in build.dataset.layers().items():
        assert df.equals(again.dataset.layers()[name]), name
    # Byte for byte, too: the GeoPackage carries a fixed timestamp instead of the time of writing.
    first, second = build.save(tmp_path / "a.gpkg"), again.save(tmp_path / "b.gpkg")
    assert first.read_bytes() == second.read_bytes()


def test_each_county_matches_the_census_to_the_person(built: Dataset, census: pd.DataFrame) -> None:
    people = county_population(built)
    for code, n in people.items():
        assert int(n) == int(census.loc[code, "人口数_合计"]), code
    assert int(built.demand["population"].sum()) == 6_709_629 == int(census.loc["320900", "人口数_合计"])
    counties = built.counties.set_index("code")
    assert (counties["population"] == people).all()
    urban = built.demand["ur_code"].str.startswith("1")
    county = built.demand["town_code"].map(built.towns.set_index("code")["county_code"])
    urban_people = built.demand["population"][urban].groupby(county[urban]).sum()
    for code in counties.index:  # the census urban/rural split, by NBS class
        assert int(urban_people[code]) == int(census.loc[code, "城镇人口"]), code
        assert counties.loc[code, "share_65plus"] == pytest.approx(census.loc[code, "人口比重_65岁及以上"] / 100)


def test_counts_and_totals(built: Dataset) -> None:
    c = yancheng.counts(built)
    assert (c["counties"], c["towns"], c["demand"], c["committees"]) == (10, 154, 2494, 10)
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


def test_town_cells_contain_their_real_centre(build: Build) -> None:
    towns = build.dataset.towns.set_index("code")
    t = build.matched.towns.set_index("code")
    real = t[np.isfinite(t["lon"])]
    assert len(real) >= 112  # the 2016 table has a point for 112 of today's 154 towns (more match by name)
    used = towns.loc[real.index, "centre_source"] == "nbs2016"
    dropped = sum(line.startswith("towns:") for line in build.report)
    assert int((~used).sum()) <= dropped
    pts = shapely.points(real.loc[used[used].index, ["lon", "lat"]].to_numpy())
    assert shapely.contains(towns.geometry.loc[used[used].index].values, pts).all()


def _local_density(ds: Dataset) -> pd.Series:
    """People per km² of each demand point's Voronoi cell among all points, clipped to its town."""
    m = ds.to_metric()
    demand, towns = m["demand"], m["towns"].set_index("code")
    xy = shapely.get_coordinates(demand.geometry.values)
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(xy), ordered=True))
    area = shapely.area(shapely.intersection(cells, towns.geometry.loc[demand["town_code"]].values)) / 1e6
    return pd.Series(demand["population"].to_numpy() / area, index=demand["ur_code"].to_numpy())


def test_urban_classes_are_denser_than_villages(built: Dataset) -> None:
    density = _local_density(built)
    dense = density[density.index.isin(["111", "121"])]
    village = density[density.index == "220"]
    assert dense.median() > 3 * village.median()
    # Urban units also sit nearer their town's centre than villages do.
    m = built.to_metric()
    towns = m["towns"].set_index("code")
    d = shapely.distance(m["demand"].geometry.values,
                         shapely.centroid(towns.geometry.loc[m["demand"]["town_code"]].values))
    cls = m["demand"]["ur_code"].to_numpy()
    assert np.median(d[np.isin(cls, ["111", "121"])]) < np.median(d[cls == "220"])


def test_every_village_has_a_class_and_its_source(build: Build) -> None:
    demand = build.dataset.demand
    assert demand["ur_code"].isin(["111", "112", "121", "122", "123", "210", "220"]).all()
    src = demand["ur_source"].value_counts()
    assert src["code"] == 2229  # as the shared README says: 2,229 of 2,494 match by code
    assert src.sum() == 2494 and set(src.index) <= {"code", "name_in_town", "name_in_county", "rule"}


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


def test_deputies_sectors_follow_the_census_industry_mix(built: Dataset, census: pd.DataFrame) -> None:
    dep = built.deputies
    county = dep["home_town_code"].map(built.towns.set_index("code")["county_code"])
    farming = dep["sector"].isin(["agriculture", "fisheries"]).groupby(county).mean()
    rows = census.loc[farming.index]
    census_farming = rows["农林牧渔业"] / rows["各种行业人口总计"]
    # The most agricultural counties in the census have the most farming deputies.
    assert np.corrcoef(farming.to_numpy(), census_farming.to_numpy())[0, 1] > 0.8


def test_deputies_groups_committees(built: Dataset) -> None:
    dep, groups = built.deputies, built.groups
    gtown = dep["group_id"].map(groups.set_index("id")["town_code"])
    assert (gtown == dep["home_town_code"]).mean() > 0.9  # deputies live mostly in their group's town
    assert set(dep["group_id"]) == set(groups["id"])  # no empty group
    assert set(groups["sector"]) <= set(SECTORS)
    kind = built.towns.set_index("code")["kind"]
    town_level = dep[dep["level"] == "town"]
    assert set(kind.loc[gtown[town_level.index]]) <= {"town", "township"}
    covered = {s for row in built.committees["sectors"] for s in row.split(",")}
    assert covered == set(SECTORS)
