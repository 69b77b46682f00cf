"""Tests of geoplan.datasets: round trip, validation rules, atomic save, metric view."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import pytest
import shapely
from helpers import make_tiny_layers
from shapely.geometry import Polygon

from geoplan import datasets
from geoplan.datasets import LAYERS, Dataset, validate
from geoplan.exceptions import DatasetError, InputError, Problem


def _problems(layers: dict) -> list[str]:
    return [str(p) for p in validate(layers)]


# -- round trip -------------------------------------------------------------
def test_save_load_round_trip(tmp_path: Path, tiny_dataset: Dataset) -> None:
    path = tiny_dataset.save(tmp_path / "tiny.gpkg")
    assert sorted(str(n) for n, _ in pyogrio.list_layers(path)) == sorted(LAYERS)
    assert len(pyogrio.list_layers(path)) == 8
    back = Dataset.load(path)
    assert back.name == "tiny"
    for name in LAYERS:
        a, b = getattr(tiny_dataset, name), getattr(back, name)
        assert list(b.columns) == list(a.columns), name
        assert len(a) == len(b), name
        if isinstance(a, gpd.GeoDataFrame):
            assert b.crs.equals("EPSG:4326")
            assert shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=1e-12).all(), name
        cols = [c for c in a.columns if c != getattr(a, "_geometry_column_name", None)]
        pd.testing.assert_frame_equal(
            pd.DataFrame(a[cols]).astype(object).where(pd.DataFrame(a[cols]).notna(), None),
            pd.DataFrame(b[cols]).astype(object).where(pd.DataFrame(b[cols]).notna(), None),
            check_dtype=False, obj=name,
        )
    assert back.summary() == tiny_dataset.summary()


def test_from_layers_reprojects_and_normalises(tiny_layers: dict) -> None:
    layers = dict(tiny_layers)
    layers["demand"] = tiny_layers["demand"].to_crs("EPSG:32651")
    layers["demand"]["population"] = layers["demand"]["population"].astype(int)
    ds = Dataset.from_layers(layers)
    assert ds.demand.crs.equals("EPSG:4326")
    np.testing.assert_allclose(shapely.get_coordinates(ds.demand.geometry.values),
                               shapely.get_coordinates(tiny_layers["demand"].geometry.values), atol=1e-9)
    assert ds.demand["population"].dtype == float
    with pytest.raises(InputError, match="unknown layer name"):
        Dataset.from_layers({**tiny_layers, "venues": tiny_layers["sites"]})


def test_replace_is_immutable_and_validated(tiny_dataset: Dataset) -> None:
    sites = tiny_dataset.sites.iloc[:10]
    ds = tiny_dataset.replace(sites=sites)
    assert len(ds.sites) == 10 and len(tiny_dataset.sites) == 60
    bad = tiny_dataset.sites.copy()
    bad.loc[0, "category"] = "pub"
    with pytest.raises(DatasetError, match=r"sites\[S000\]: column 'category' value 'pub'"):
        tiny_dataset.replace(sites=bad)


def test_valid_fixture_has_no_problems(tiny_layers: dict) -> None:
    assert validate(tiny_layers) == []


# -- validation rules: one clear message each -------------------------------------
def test_bad_geometry(tiny_layers: dict) -> None:
    bowtie = Polygon([(120.0, 33.3), (120.05, 33.4), (120.05, 33.3), (120.0, 33.4)])
    tiny_layers["towns"].loc[1, "geometry"] = bowtie
    tiny_layers["demand"].loc[2, "geometry"] = None
    tiny_layers["sites"].loc[3, "geometry"] = shapely.LineString([(120.01, 33.31), (120.02, 33.32)])
    probs = _problems(tiny_layers)
    assert any(p.startswith("towns[T2]: geometry is invalid (Self-intersection") for p in probs)
    assert "demand[D002]: geometry is missing or empty" in probs
    assert "sites[S003]: geometry type LineString is not Point" in probs


def test_unknown_town_code(tiny_layers: dict) -> None:
    tiny_layers["sites"].loc[4, "town_code"] = "T99"
    tiny_layers["deputies"].loc[0, "home_town_code"] = "TX"
    probs = _problems(tiny_layers)
    assert probs == [
        "sites[S004]: column 'town_code' refers to unknown towns code 'T99'",
        "deputies[P0000]: column 'home_town_code' refers to unknown towns code 'TX'",
    ]


def test_duplicate_id(tiny_layers: dict) -> None:
    tiny_layers["demand"].loc[5, "id"] = "D001"
    groups = tiny_layers["groups"]
    tiny_layers["groups"] = pd.concat([groups, groups.iloc[[0]]], ignore_index=True)
    probs = _problems(tiny_layers)
    assert "demand[D001]: duplicate id in column 'id'" in probs
    assert "groups[G00]: duplicate id in column 'id'" in probs
    assert len(probs) == 2


def test_missing_column_and_layer(tiny_layers: dict) -> None:
    tiny_layers["sites"] = tiny_layers["sites"].drop(columns="footfall")
    tiny_layers["committees"] = None
    probs = _problems(tiny_layers)
    assert "sites[-]: required column 'footfall' is missing" in probs
    assert "committees[-]: layer is missing" in probs
    # optional columns may be absent
    tiny_layers = make_tiny_layers()
    tiny_layers["demand"] = tiny_layers["demand"].drop(columns="name")
    assert validate(tiny_layers) == []


def test_bad_allowed_value(tiny_layers: dict) -> None:
    tiny_layers["stations"].loc[0, "tier"] = "palace"
    tiny_layers["committees"].loc[1, "sectors"] = "education,astrology"
    tiny_layers["towns"].loc[0, "kind"] = None
    probs = _problems(tiny_layers)
    assert "stations[ST00]: column 'tier' value 'palace' is not one of home, station, point" in probs
    assert any(p.startswith("committees[K2]: column 'sectors' value 'education,astrology' is not one of") for p in probs)
    assert "towns[T1]: column 'kind' is empty" in probs


def test_negative_population_and_non_numbers(tiny_layers: dict) -> None:
    tiny_layers["demand"].loc[6, "population"] = -10.0
    tiny_layers["sites"]["footfall"] = tiny_layers["sites"]["footfall"].astype(object)
    tiny_layers["sites"].loc[7, "footfall"] = "lots"
    probs = _problems(tiny_layers)
    assert "demand[D006]: column 'population' must be >= 0, got -10" in probs
    assert "sites[S007]: column 'footfall' must be a finite number, got 'lots'" in probs


def test_outside_region(tiny_layers: dict) -> None:
    tiny_layers["stations"].loc[2, "geometry"] = shapely.Point(121.5, 33.35)  # ~120 km east
    tiny_layers["demand"].loc[0, "geometry"] = shapely.Point(120.21, 33.35)  # ~900 m outside: tolerated
    probs = _problems(tiny_layers)
    assert probs == ["stations[ST02]: geometry lies outside the region (the union of counties)"]


def test_missing_crs(tiny_layers: dict) -> None:
    tiny_layers["sites"] = tiny_layers["sites"].set_crs(None, allow_override=True)
    probs = _problems(tiny_layers)
    assert "sites[-]: CRS is missing (set it, e.g. EPSG:4326)" in probs


def test_dataset_error_lists_every_problem(tiny_layers: dict) -> None:
    tiny_layers["demand"].loc[[1, 2, 3], "population"] = -1.0
    tiny_layers["sites"].loc[[0, 1, 2], "category"] = "pub"
    tiny_layers["groups"].loc[0, "county_code"] = "C9"
    with pytest.raises(DatasetError) as err:
        Dataset.from_layers(tiny_layers)
    e = err.value
    assert isinstance(e, InputError) and isinstance(e, ValueError)
    assert len(e.problems) == 7
    assert all(isinstance(p, Problem) for p in e.problems)
    assert {p.layer for p in e.problems} == {"demand", "sites", "groups"}
    assert str(e).startswith("7 problem(s) in dataset: demand[D001]: column 'population' must be >= 0")
    assert "(and 2 more)" in str(e)


def test_load_errors(tmp_path: Path, tiny_dataset: Dataset) -> None:
    with pytest.raises(InputError, match="file not found"):
        Dataset.load(tmp_path / "none.gpkg")
    junk = tmp_path / "junk.gpkg"
    junk.write_text("not a geopackage")
    with pytest.raises(InputError, match="cannot open"):
        Dataset.load(junk)
    # a saved file edited by hand is checked on load
    path = tiny_dataset.save(tmp_path / "t.gpkg")
    towns = pyogrio.read_dataframe(path, layer="towns")
    towns.loc[0, "kind"] = "metropolis"
    pyogrio.write_dataframe(towns, path, layer="towns")
    with pytest.raises(DatasetError, match=r"towns\[T1\]: column 'kind' value 'metropolis'"):
        Dataset.load(path)
    assert Dataset.load(path, check=False).towns.loc[0, "kind"] == "metropolis"


# -- atomic save ---------------------------------------------------------------
def test_failed_save_keeps_previous_file(tmp_path: Path, tiny_dataset: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tiny_dataset.save(tmp_path / "plan.gpkg")
    before = path.read_bytes()
    smaller = tiny_dataset.replace(sites=tiny_dataset.sites.iloc[:5])
    real = pyogrio.write_dataframe
    calls = {"n": 0}

    def flaky(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(datasets.pyogrio, "write_dataframe", flaky)
    with pytest.raises(OSError, match="disk full"):
        smaller.save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert len(Dataset.load(path).sites) == 60
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plan.gpkg"]  # no partial file left behind
    # and a later save works and replaces the file
    smaller.save(path)
    assert len(Dataset.load(path).sites) == 5


# -- metric view -----------------------------------------------------------------
def test_to_metric_gives_metres(tiny_dataset: Dataset) -> None:
    assert tiny_dataset.metric_crs == "EPSG:32651"
    m = tiny_dataset.to_metric()
    assert pyproj.CRS(m["demand"].crs).axis_info[0].unit_name == "metre"
    assert isinstance(m["deputies"], pd.DataFrame) and not isinstance(m["deputies"], gpd.GeoDataFrame)
    xy = tiny_dataset.xy("demand")
    assert xy.shape == (40, 2)
    geod = pyproj.Geod(ellps="WGS84")
    ll = shapely.get_coordinates(tiny_dataset.demand.geometry.values)
    n = len(ll) - 1
    _, _, d = geod.inv(np.full(n, ll[0, 0]), np.full(n, ll[0, 1]), ll[1:, 0], ll[1:, 1])
    np.testing.assert_allclose(np.hypot(*(xy[1:] - xy[0]).T), d, rtol=1e-3)
    # county area ≈ 0.1° × 0.1° at 33.35° N ≈ 9.3 km × 11.1 km
    assert m["counties"].area.iloc[0] == pytest.approx(9.3e3 * 11.1e3, rel=0.02)
    assert tiny_dataset.to_metric()["demand"] is m["demand"]  # computed once


def test_summary_and_active_stations(tiny_dataset: Dataset) -> None:
    s = tiny_dataset.summary()
    assert s["towns"] == 4 and s["deputies"] == 100
    assert s["stations_active"] == 11 and s["stations_closed"] == 1
    assert len(tiny_dataset.active_stations()) == 11


def test_write_gpkg_keeps_other_layers_and_is_atomic(tmp_path: Path, tiny_dataset: Dataset,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tiny_dataset.save(tmp_path / "out.gpkg")
    extra = pd.DataFrame({"key": ["a"], "value": ["1"]})
    datasets.write_gpkg(path, {"extra": extra, "counties": tiny_dataset.counties.iloc[:1]}, keep_other_layers=True)
    names = {str(n) for n, _ in pyogrio.list_layers(path)}
    assert set(LAYERS) | {"extra"} <= names
    assert len(pyogrio.read_dataframe(path, layer="counties")) == 1  # replaced, not appended
    before = path.read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(datasets.pyogrio, "write_dataframe", broken)
    with pytest.raises(OSError, match="disk full"):
        datasets.write_gpkg(path, {"extra": extra}, keep_other_layers=True)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.gpkg"]


# -- derived datasets: one county, station edits --------------------------------------
def test_subset_keeps_one_county_and_valid_references(tiny_dataset: Dataset) -> None:
    sub = tiny_dataset.subset("C1")
    assert sub.name == "tiny-C1" and list(sub.counties["code"]) == ["C1"]
    towns = set(sub.towns["code"])
    assert towns == set(tiny_dataset.towns.loc[tiny_dataset.towns["county_code"] == "C1", "code"])
    for layer in ("demand", "sites", "stations"):
        frame = getattr(sub, layer)
        assert len(frame) and set(frame["town_code"]) <= towns, layer
    assert set(sub.groups["county_code"]) == {"C1"}
    assert set(sub.deputies["group_id"]) <= set(sub.groups["id"])
    assert len(sub.committees) == len(tiny_dataset.committees)
    assert datasets._check_references(sub.layers()) == []  # every reference stays inside the subset
    with pytest.raises(InputError, match="county_code: unknown county code 'C9'"):
        tiny_dataset.subset("C9")


def test_subset_drops_venue_references_across_the_county_line(tiny_layers: dict) -> None:
    layers = dict(tiny_layers)
    st = layers["stations"].copy()
    other = layers["sites"].loc[layers["sites"]["town_code"].isin(["T3", "T4"]), "id"].iloc[0]
    st.loc[st["town_code"] == "T1", "site_id"] = other  # a C1 station hosted by a C2 venue
    layers["stations"] = st
    sub = Dataset.from_layers(layers).subset("C1")
    assert sub.stations["site_id"].isna().all()
    assert datasets._check_references(sub.layers()) == []


def test_with_station_edits_applies_proposals_closures_and_reopenings(tiny_dataset: Dataset) -> None:
    from geoplan.datasets import StationEdit

    before = tiny_dataset.stations
    first = str(before["id"].iloc[0])
    edits = [StationEdit(first, "close"),
             StationEdit("NEW-1", "propose", "T4", {"name": "Market", "tier": "point", "level": "town",
                                                    "sector": "commerce", "lon": 120.17, "lat": 33.35}),
             StationEdit("NEW-2", "propose", "T1", {"name": "Other", "tier": "point", "level": "town",
                                                    "lon": 120.05, "lat": 33.35}),
             StationEdit("NEW-2", "reopen")]
    after = tiny_dataset.with_station_edits(edits)
    assert after.name == tiny_dataset.name and len(after.stations) == len(before) + 2
    status = dict(zip(after.stations["id"], after.stations["status"]))
    assert status[first] == "closed" and status["NEW-1"] == "proposed" and status["NEW-2"] == "active"
    new = after.stations.set_index("id").loc["NEW-1"]
    assert new["town_code"] == "T4" and new["sector"] == "commerce" and new.geometry.x == pytest.approx(120.17)
    assert list(after.stations.columns) == list(before.columns) and after.stations.crs.equals(before.crs)
    assert len(tiny_dataset.stations) == len(before)  # the original is unchanged
    again = after.with_station_edits([StationEdit(first, "reopen")])
    assert dict(zip(again.stations["id"], again.stations["status"]))[first] == "active"
    assert tiny_dataset.with_station_edits([]).stations.equals(before)
