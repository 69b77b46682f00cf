"""`geoplan data build` for another city: Lianyungang (3207) from its raw inputs, then `geoplan plan` on it."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from geoplan.cli import app
from geoplan.datasets import Dataset, validate
from geoplan.exceptions import InputError
from geoplan.settings import RAW_DATA
from geoplan.sources.city import Build, Profile, build_city, county_population
from geoplan.sources.city.inputs import read_raw

RAW = RAW_DATA / "lianyungang"
runner = CliRunner()


@pytest.fixture(scope="module")
def gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("lyg") / "lianyungang.gpkg"
    res = runner.invoke(app, ["data", "build", "--raw", str(RAW), "--city", "3207", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "320771" in res.output  # the zone without a boundary or census row is reported
    return out


@pytest.fixture(scope="module")
def ds(gpkg: Path) -> Dataset:
    return Dataset.load(gpkg)


@pytest.fixture(scope="module")
def build() -> Build:
    return build_city(RAW, "3207")


def _census() -> pd.DataFrame:
    return pd.read_csv(RAW / "census2020" / "counties_2020.csv", dtype={"区划代码": str}).set_index("区划代码")


def test_counts_match_the_inputs(ds: Dataset) -> None:
    areas = pd.read_csv(RAW / "areas.csv", dtype=str)
    streets = pd.read_csv(RAW / "streets.csv", dtype=str)
    villages = pd.read_csv(RAW / "villages.csv", dtype=str)
    assert sorted(ds.counties["code"]) == sorted(areas["code"])
    assert sorted(ds.towns["code"]) == sorted(streets["code"]) and len(ds.towns) == 109
    assert sorted(ds.demand["id"]) == sorted(villages["code"]) and len(ds.demand) == 1782
    assert validate(ds.layers()) == []


def test_census_totals_per_county(ds: Dataset) -> None:
    census = _census()
    people = county_population(ds)
    for code in ("320703", "320706", "320707", "320722", "320723", "320724"):
        assert int(people[code]) == int(census.loc[code, "人口数_合计"]), code
    # 320771 has no census row: it takes the city row's excess over the six county rows.
    assert int(people["320771"]) == 4_599_360 - 4_335_880 == 263_480
    assert int(ds.demand["population"].sum()) == int(census.loc["320700", "人口数_合计"])
    zone = ds.counties.set_index("code").loc["320771"]
    assert zone["population_source"] == "residual"
    assert zone["urban_population"] + zone["rural_population"] == 263_480


def _original(code: str, crs: str) -> shapely.Geometry:
    """A county's real boundary (converted from GCJ-02 by the reader), in ``crs``."""
    b = read_raw(RAW, "3207").boundaries.set_index("code")
    return b.to_crs(crs).geometry.loc[code]


def test_zone_without_boundary_is_carved_from_its_host(ds: Dataset) -> None:
    m = ds.to_metric()
    counties = m["counties"].set_index("code")
    zone, host = counties.geometry.loc["320771"], counties.geometry.loc["320703"]
    assert zone.area > 1e6
    assert shapely.intersection(zone, counties.geometry.drop("320771").union_all()).area < 1e-3 * zone.area
    original = _original("320703", m["counties"].crs)  # the most urban county hosts it (census: 98 % urban)
    assert abs(shapely.union_all([zone, host]).area - original.area) < 1e-3 * original.area
    assert shapely.difference(zone, original.buffer(1.0)).area < 1e-6 * zone.area


def test_new_towns_and_villages_are_matched_by_name(build: Build, ds: Dataset) -> None:
    towns = build.matched.towns.set_index("code")
    # 山左口乡 (2016) is 山左口镇 today, under a new code: matched by name within 东海县.
    assert towns.loc["320722115", "match"] == "name_in_county"
    assert towns.loc["320722115", "code2016"] == "320722204000"
    src = ds.demand["ur_source"].value_counts()
    assert src["code"] == 1517 and src["name_in_town"] > 50 and src.sum() == 1782


def test_town_cells_contain_their_real_centre(build: Build) -> None:
    b = build
    t = b.matched.towns.set_index("code")
    real = t[np.isfinite(t["lon"].to_numpy(dtype=float))]
    towns = b.dataset.towns.set_index("code").loc[real.index]
    used = (towns["centre_source"] == "nbs2016").to_numpy()
    assert used.sum() >= len(real) - sum(line.startswith("towns:") for line in b.report) >= 75
    pts = shapely.points(real.loc[used, ["lon", "lat"]].to_numpy())
    assert shapely.contains(towns.geometry.values[used], pts).all()


def test_geoplan_plan_runs_on_it(gpkg: Path, tmp_path: Path) -> None:
    res = runner.invoke(app, ["plan", "--dataset", str(gpkg), "--budget", "20", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "plan.gpkg").exists() and (tmp_path / "summary.csv").exists()


def test_profile_scales_with_the_city(ds: Dataset) -> None:
    p = Profile.scaled(1782, 4_599_360)
    st = ds.stations
    assert int((st["tier"] == "station").sum()) == p.n_liaison
    assert int(((st["tier"] == "home") & (st["level"] == "village")).sum()) == p.n_village_homes
    assert Profile.scaled(2494, 6_709_629) == Profile()


def test_bad_inputs_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="folder not found"):
        read_raw(tmp_path / "nope", "3207")
    with pytest.raises(InputError, match="prefecture-level code"):
        read_raw(RAW, "32")
    with pytest.raises(InputError, match="no row of city 3209"):
        read_raw(RAW, "3209")
    res = runner.invoke(app, ["data", "build", "--raw", str(RAW), "--city", "3207"])
    assert res.exit_code == 2 and "--out" in res.output
    res = runner.invoke(app, ["data", "build", "--raw", str(RAW), "--city", "3207", "--out", str(tmp_path / "x.gpkg"),
                              "--host", "320771=320900"])
    assert res.exit_code == 2 and "320900 has no boundary" in res.output


def test_host_override_moves_the_zone() -> None:
    b = build_city(RAW, "3207", hosts={"320771": "320706"})
    assert b.hosts == {"320771": "320706"}
    m = b.dataset.to_metric()["counties"].set_index("code")
    original = _original("320706", b.dataset.metric_crs)
    assert shapely.difference(m.geometry.loc["320771"], original.buffer(1.0)).area < 1e-6 * original.area
    assert abs(shapely.union_all([m.geometry.loc["320771"], m.geometry.loc["320706"]]).area - original.area) \
        < 1e-3 * original.area


def _rows(rows: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Census-like rows: code → (total, urban), 15 % aged 65+, everyone in farming."""
    from geoplan.sources.city.inputs import CENSUS_INDUSTRIES

    df = pd.DataFrame({"区县": list(rows), "人口数_合计": [t for t, _ in rows.values()],
                       "城镇人口": [u for _, u in rows.values()], "人口比重_65岁及以上": 15.0}, index=list(rows))
    df["乡村人口"] = df["人口数_合计"] - df["城镇人口"]
    for col in CENSUS_INDUSTRIES:
        df[col] = 1.0 if col == "农林牧渔业" else 0.0
    return df


def test_census_rules_for_units_without_a_row() -> None:
    from geoplan.sources.city.census import county_targets

    areas = pd.DataFrame({"code": ["990101", "990102", "990171"], "name": ["甲区", "乙县", "开发区"]})
    villages = pd.Series({"990101": 10, "990102": 10, "990171": 5})
    # The city row exceeds the county rows: the zone takes the residual, urban part included.
    t = county_targets(areas, _rows({"990100": (1000, 600), "990101": (500, 400), "990102": (300, 100)}),
                       "990100", villages, {"990171": "990101"})
    zone = t.counties.loc["990171"]
    assert (zone["population"], zone["urban"], zone["rural"], zone["source"]) == (200, 100, 100, "residual")
    assert t.sectors.loc["990171", "agriculture"] == pytest.approx(0.85)
    # No residual: the zone is counted in its host's row and filled from the host's pool.
    t = county_targets(areas, _rows({"990100": (800, 500), "990101": (500, 400), "990102": (300, 100)}),
                       "990100", villages, {"990171": "990101"})
    zone = t.counties.loc["990171"]
    assert (zone["population"], zone["source"], zone["pool"]) == (0, "host", "990101")
    assert any("counted in its host 990101" in line for line in t.report)
    # Every unit has a row but the city row is larger, or smaller: reported, the county rows win.
    two = areas.iloc[:2]
    t = county_targets(two, _rows({"990100": (900, 500), "990101": (500, 400), "990102": (300, 100)}),
                       "990100", villages, {})
    assert int(t.counties["population"].sum()) == 800 and "exceeds the county rows by 100" in t.report[0]
    t = county_targets(two, _rows({"990100": (700, 500), "990101": (500, 400), "990102": (300, 100)}),
                       "990100", villages, {})
    assert int(t.counties["population"].sum()) == 800 and "below the sum" in t.report[0]


def test_host_pool_fills_host_and_zone_from_the_host_total() -> None:
    from geoplan.sources.city.demand import fill_population

    targets = pd.DataFrame({"urban": [300, 0], "rural": [200, 0], "pool": ["A", "A"]}, index=["A", "Z"])
    county = np.array(["A", "A", "Z", "Z"], dtype=object)
    ur = np.array(["111", "220", "121", "220"], dtype=object)
    out = fill_population(county, ur, np.array([1.0, 1.0, 1.0, 1.0]), targets)
    assert out.sum() == 500 and out[[0, 2]].sum() == 300 and out[2] > 0 and out[3] > 0
