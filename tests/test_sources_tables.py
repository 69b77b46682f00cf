"""Tests of geoplan.sources.tables: CSV / GeoJSON / GeoPackage / Shapefile import."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from shapely.geometry import box

from geoplan import crs as gcrs
from geoplan.datasets import Dataset
from geoplan.exceptions import DatasetError, InputError
from geoplan.sources.tables import import_layer, read_table

SITES_CSV = """id,name,category,footfall,town_code,{lon},{lat}
N1,城东农贸市场,market,1200,T1,{x1},{y1}
N2,农商银行网点,bank,300,T3,{x2},{y2}
"""


def _sites_csv(tmp_path: Path, lon: str = "lon", lat: str = "lat", coords: str = "wgs84",
               encoding: str = "utf-8", name: str = "sites.csv") -> Path:
    pts = np.array([[120.02, 33.35], [120.12, 33.36]])
    x, y = gcrs.convert(pts[:, 0], pts[:, 1], "wgs84", coords)
    text = SITES_CSV.format(lon=lon, lat=lat, x1=f"{x[0]:.8f}", y1=f"{y[0]:.8f}", x2=f"{x[1]:.8f}", y2=f"{y[1]:.8f}")
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


@pytest.mark.parametrize("lon,lat", [("lon", "lat"), ("LNG", "Lat"), ("longitude", "latitude"), ("x", "y"), ("经度", "纬度")])
def test_csv_autodetects_coordinate_columns(tmp_path: Path, lon: str, lat: str) -> None:
    gdf = read_table(_sites_csv(tmp_path, lon, lat))
    assert isinstance(gdf, gpd.GeoDataFrame) and gdf.crs.equals("EPSG:4326")
    assert list(gdf["id"]) == ["N1", "N2"]
    assert gdf.geometry.iloc[0].x == pytest.approx(120.02)
    assert lon not in gdf.columns and lat not in gdf.columns
    assert gdf["name"].iloc[0] == "城东农贸市场"


def test_csv_named_columns_and_rename(tmp_path: Path) -> None:
    p = _sites_csv(tmp_path, "E", "N")
    text = p.read_text(encoding="utf-8").replace("category", "类别")
    p.write_text(text, encoding="utf-8")
    gdf = read_table(p, lon="E", lat="N", columns={"类别": "category"})
    assert list(gdf["category"]) == ["market", "bank"]
    with pytest.raises(InputError, match="no coordinate columns"):
        read_table(p, spatial=True)
    with pytest.raises(InputError, match="longitude column 'lon' not found"):
        read_table(p, lon="lon", lat="N")
    with pytest.raises(InputError, match="'nope' not in the file"):
        read_table(p, lon="E", lat="N", columns={"nope": "category"})


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_chinese_encodings(tmp_path: Path, encoding: str) -> None:
    gdf = read_table(_sites_csv(tmp_path, encoding=encoding))
    assert gdf["name"].tolist() == ["城东农贸市场", "农商银行网点"]
    assert "id" in gdf.columns  # no BOM glued to the first header


@pytest.mark.parametrize("coords", ["gcj02", "bd09"])
def test_csv_coords_conversion(tmp_path: Path, coords: str) -> None:
    gdf = read_table(_sites_csv(tmp_path, coords=coords), coords=coords)
    np.testing.assert_allclose(shapely.get_coordinates(gdf.geometry.values), [[120.02, 33.35], [120.12, 33.36]], atol=1e-7)
    raw = read_table(_sites_csv(tmp_path, coords=coords))  # not converted: hundreds of metres off
    assert abs(raw.geometry.iloc[0].x - 120.02) > 1e-3
    with pytest.raises(InputError, match="coords"):
        read_table(_sites_csv(tmp_path), coords="wgs72")  # type: ignore[arg-type]


def test_csv_bad_values_name_row_and_column(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("id,lon,lat\nA,120.1,33.3\nB,abc,33.3\nC,120.1,\nD,200,33.3\n", encoding="utf-8")
    with pytest.raises(DatasetError) as err:
        read_table(p, label="demand")
    probs = [str(x) for x in err.value.problems]
    assert "demand[line 3 id B]: column 'lon' must be a number, got 'abc'" in probs
    assert any(x.startswith("demand[line 4 id C]") and "'lat' is empty" in x for x in probs)
    assert any(x.startswith("demand[line 5 id D]") and "within ±180" in x for x in probs)
    assert len(probs) == 3


def test_csv_swapped_columns_hint(tmp_path: Path) -> None:
    p = tmp_path / "swap.csv"
    p.write_text("id,lon,lat\nA,33.3,120.1\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="look swapped"):
        read_table(p)


def test_csv_one_coordinate_column_only(tmp_path: Path) -> None:
    p = tmp_path / "half.csv"
    p.write_text("id,lon\nA,120\n", encoding="utf-8")
    with pytest.raises(InputError, match="no latitude column"):
        read_table(p)


def test_csv_wkt_polygons_and_projected_crs(tmp_path: Path) -> None:
    poly = box(230000, 3690000, 231000, 3691000)  # UTM 51N metres
    p = tmp_path / "towns.csv"
    p.write_text(f'code,name,wkt\nT9,新镇,"{poly.wkt}"\n', encoding="utf-8")
    gdf = read_table(p, crs="EPSG:32651")
    assert gdf.crs.equals("EPSG:4326")
    assert gdf.geometry.iloc[0].geom_type == "Polygon"
    assert 120 < gdf.geometry.iloc[0].centroid.x < 121
    p.write_text('code,wkt\nT9,"POLYGON ((1 2, oops"\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="not valid WKT"):
        read_table(p, label="towns")


def test_csv_attribute_only(tmp_path: Path) -> None:
    p = tmp_path / "groups.csv"
    p.write_text("id,name,county_code,town_code,sector\nG01,第一代表小组,C1,T1,agriculture\n", encoding="gbk")
    df = read_table(p)
    assert type(df) is pd.DataFrame and df.loc[0, "name"] == "第一代表小组"


def test_leading_zeros_are_kept(tmp_path: Path) -> None:
    p = tmp_path / "codes.csv"
    p.write_text("id,lon,lat\n0012,120.1,33.3\n", encoding="utf-8")
    assert read_table(p)["id"].iloc[0] == "0012"


# -- vector files -------------------------------------------------------------
def test_geojson_gpkg_shapefile(tmp_path: Path, tiny_dataset: Dataset) -> None:
    sites = tiny_dataset.sites.iloc[:5]
    for name, driver in (("s.geojson", "GeoJSON"), ("s.gpkg", "GPKG"), ("s.shp", "ESRI Shapefile")):
        p = tmp_path / name
        pyogrio.write_dataframe(sites, p, driver=driver, layer="sites" if driver == "GPKG" else None)
        got = read_table(p)
        assert got.crs.equals("EPSG:4326")
        assert list(got["id"]) == list(sites["id"])
        np.testing.assert_allclose(shapely.get_coordinates(got.geometry.values),
                                   shapely.get_coordinates(sites.geometry.values))
    # projected input is reprojected
    p = tmp_path / "utm.gpkg"
    pyogrio.write_dataframe(sites.to_crs(32651), p, layer="a")
    pyogrio.write_dataframe(sites.to_crs(32651), p, layer="b", append=False)
    with pytest.raises(InputError, match="has layers a, b; choose one"):
        read_table(p)
    got = read_table(p, layer="b")
    np.testing.assert_allclose(shapely.get_coordinates(got.geometry.values),
                               shapely.get_coordinates(sites.geometry.values), atol=1e-9)
    with pytest.raises(InputError, match="layer 'c' not in"):
        read_table(p, layer="c")
    with pytest.raises(InputError, match="gcj02 data must be in lon/lat"):
        read_table(p, layer="b", coords="gcj02")


def test_vector_rename_and_layer_named_like_label(tmp_path: Path, tiny_dataset: Dataset) -> None:
    p = tmp_path / "two.gpkg"
    pyogrio.write_dataframe(tiny_dataset.sites.rename(columns={"name": "名称"}), p, layer="sites")
    pyogrio.write_dataframe(tiny_dataset.towns, p, layer="towns")
    got = read_table(p, label="sites", columns={"名称": "name"})  # the layer named like the label
    assert list(got["name"]) == list(tiny_dataset.sites["name"])
    with pytest.raises(InputError, match=r"sites: columns= names 'nope' not in the file; columns are id, "):
        read_table(p, label="sites", columns={"nope": "name"})


def test_vector_file_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="file not found"):
        read_table(tmp_path / "missing.geojson")
    p = tmp_path / "junk.geojson"
    p.write_text("{not json", encoding="utf-8")
    with pytest.raises(InputError, match="cannot open"):
        read_table(p)


# -- import_layer ---------------------------------------------------------------
def test_import_sites_replace_and_append(tmp_path: Path, tiny_dataset: Dataset) -> None:
    p = _sites_csv(tmp_path, coords="gcj02")
    ds = import_layer(tiny_dataset, "sites", p, coords="gcj02", mode="append")
    assert len(ds.sites) == len(tiny_dataset.sites) + 2
    assert ds.sites["id"].iloc[-1] == "N2"
    assert ds.sites["footfall"].iloc[-1] == 300.0
    assert len(tiny_dataset.sites) == 60  # the input dataset is unchanged
    # replacing sites needs stations' site_id references to stay valid: the tiny stations have none
    ds2 = import_layer(tiny_dataset, "sites", p, coords="gcj02")
    assert list(ds2.sites["id"]) == ["N1", "N2"]
    assert ds2.sites.geometry.iloc[0].x == pytest.approx(120.02, abs=1e-7)
    with pytest.raises(DatasetError) as err:
        import_layer(ds, "sites", p, coords="gcj02", mode="append")  # N1, N2 again
    assert "sites[N1]: duplicate id in column 'id'" in [str(x) for x in err.value.problems]


def test_import_runs_dataset_validation(tmp_path: Path, tiny_dataset: Dataset) -> None:
    p = tmp_path / "demand.csv"
    p.write_text(
        "id,town_code,population,lng,lat\n"
        "V1,T1,100,120.01,33.31\n"
        "V2,T9,50,120.02,33.32\n"  # unknown town
        "V3,T2,-5,120.06,33.33\n"  # negative population
        "V4,T2,10,121.5,33.33\n",  # outside the region
        encoding="utf-8",
    )
    with pytest.raises(DatasetError) as err:
        import_layer(tiny_dataset, "demand", p)
    probs = [str(x) for x in err.value.problems]
    assert any(x.startswith("demand[V2]") and "unknown towns code 'T9'" in x for x in probs)
    assert any(x.startswith("demand[V3]") and "'population' must be >= 0" in x for x in probs)
    assert any(x.startswith("demand[V4]") and "outside the region" in x for x in probs)
    assert not any("V1" in x for x in probs)


def test_import_attribute_layers(tmp_path: Path, tiny_dataset: Dataset) -> None:
    p = tmp_path / "committees.csv"
    p.write_text('id,name,sectors\nK9,法制委员会,"law,social"\n', encoding="gb18030")
    ds = import_layer(tiny_dataset, "committees", p, mode="append")
    assert ds.committees["name"].iloc[-1] == "法制委员会"
    assert type(ds.committees) is pd.DataFrame
    # a CSV that happens to have x/y columns still loads as attributes
    p2 = tmp_path / "groups.csv"
    p2.write_text("id,name,county_code,town_code,sector,x,y\nG99,新小组,C2,T4,energy,1,2\n", encoding="utf-8")
    ds = import_layer(tiny_dataset, "groups", p2, mode="append")
    assert "x" not in ds.groups.columns and ds.groups["id"].iloc[-1] == "G99"
    p3 = tmp_path / "deputies.csv"
    p3.write_text("id,level,group_id,sector,home_town_code\nP9999,mayor,G01,law,T1\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"deputies\[P9999\]: column 'level' value 'mayor' is not one of"):
        import_layer(tiny_dataset, "deputies", p3, mode="append")


def test_import_spatial_layer_needs_coordinates(tmp_path: Path, tiny_dataset: Dataset) -> None:
    p = tmp_path / "sites.csv"
    p.write_text("id,name,category,footfall,town_code\nN1,a,market,1,T1\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"^sites: no coordinate columns"):
        import_layer(tiny_dataset, "sites", p)


def test_import_towns_from_geojson(tmp_path: Path, tiny_dataset: Dataset) -> None:
    towns = tiny_dataset.towns.copy()
    towns["name"] = ["城南街道", "北镇", "东镇", "农场"]
    p = tmp_path / "towns.geojson"
    pyogrio.write_dataframe(towns, p, driver="GeoJSON")
    ds = import_layer(tiny_dataset, "towns", p)
    assert ds.towns["name"].tolist() == ["城南街道", "北镇", "东镇", "农场"]


def test_import_argument_errors(tmp_path: Path, tiny_dataset: Dataset) -> None:
    p = _sites_csv(tmp_path)
    with pytest.raises(InputError, match="layer_name"):
        import_layer(tiny_dataset, "venues", p)
    with pytest.raises(InputError, match="mode"):
        import_layer(tiny_dataset, "sites", p, mode="merge")  # type: ignore[arg-type]


def test_csv_ragged_rows_are_named_not_shifted(tmp_path: Path) -> None:
    """An unquoted comma adds a field; pandas would shift every column. We name the lines instead."""
    path = tmp_path / "ragged.csv"
    path.write_text("id,name,lon,lat\nA,Market, east,120.1,33.3\nB,Bank,120.2,33.4\nC,Clinic, old, town,120.3,33.5\n",
                    encoding="utf-8")
    with pytest.raises(DatasetError) as err:
        read_table(path, layer="sites")
    rows = [p.row for p in err.value.problems]
    assert rows == ["line 2", "line 4"]
    assert "has 5 fields but the header has 4" in str(err.value.problems[0])
    # Every row one field too long is the case pandas silently turns into an index column.
    path.write_text("id,name,lon,lat\nA,Market, east,120.1,33.3\nB,Bank, west,120.2,33.4\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="line 2"):
        read_table(path, layer="sites")
