"""Tests of geoplan.crs: metric CRS choice and GCJ-02 / BD-09 conversions."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

from geoplan import crs as gcrs
from geoplan.exceptions import InputError

GEOD = pyproj.Geod(ellps="WGS84")
YANCHENG = (120.16, 33.35)


def _metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    _, _, d = GEOD.inv(lon1, lat1, lon2, lat2)
    return np.asarray(d)


def _china_points(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(73.5, 135.0, n), rng.uniform(18.0, 53.5, n)


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_round_trip_below_half_metre(system: str) -> None:
    lon, lat = _china_points(5000)
    x, y = gcrs.convert(lon, lat, "wgs84", system)
    back_lon, back_lat = gcrs.convert(x, y, system, "wgs84")
    err = _metres(lon, lat, back_lon, back_lat)
    assert err.max() < 0.5
    assert err.max() < 1e-3  # the iterative inverse is in fact millimetre-exact
    # ... and the other way round
    x2, y2 = gcrs.convert(*gcrs.convert(lon, lat, system, "wgs84"), "wgs84", system)
    assert _metres(lon, lat, x2, y2).max() < 1e-3


@settings(max_examples=200, deadline=None)
@given(st.floats(73.7, 134.9), st.floats(18.2, 53.4), st.sampled_from(["wgs84", "gcj02", "bd09"]),
       st.sampled_from(["wgs84", "gcj02", "bd09"]))
def test_round_trip_any_pair(lon: float, lat: float, src: str, dst: str) -> None:
    x, y = gcrs.convert(lon, lat, src, dst)
    bx, by = gcrs.convert(x, y, dst, src)
    assert _metres(lon, lat, bx, by) < 0.5


def test_known_reference_values() -> None:
    # Published pairs (eviltransform's Shanghai test; coordtransform's README).
    x, y = gcrs.wgs84_to_gcj02(121.5272106, 31.1774276)
    assert (float(x), float(y)) == pytest.approx((121.531541859215, 31.17530398364597), abs=1e-8)
    x, y = gcrs.wgs84_to_gcj02(116.404, 39.915)
    assert (float(x), float(y)) == pytest.approx((116.41024449916938, 39.91640428150164), abs=1e-8)
    x, y = gcrs.gcj02_to_bd09(116.404, 39.915)
    assert (float(x), float(y)) == pytest.approx((116.41036949371029, 39.92133699351021), abs=1e-8)
    # coordtransform's bd09togcj02 is a one-step approximation (~2 cm off); ours is exact.
    x, y = gcrs.bd09_to_gcj02(116.404, 39.915)
    assert (float(x), float(y)) == pytest.approx((116.39762729119315, 39.90865673957631), abs=1e-5)


def test_gcj02_offset_at_yancheng() -> None:
    lon, lat = YANCHENG
    x, y = gcrs.convert(lon, lat, "wgs84", "gcj02")
    # GCJ-02 pushes Yancheng a few hundred metres east and a little south.
    assert x > lon and y < lat
    d = float(_metres(lon, lat, x, y))
    assert 300 < d < 700
    bx, by = gcrs.convert(lon, lat, "wgs84", "bd09")
    assert bx > x and by > y  # BD-09 adds a further north-east shift
    assert 800 < float(_metres(lon, lat, bx, by)) < 1500


def test_outside_china_unchanged() -> None:
    lon = np.array([-0.1276, 139.69, 2.35, 100.5, 72.0])
    lat = np.array([51.5072, 35.69, 48.86, 13.75, 30.0])
    lon[3], lat[3] = 100.5, 0.5  # south of the GCJ box
    x, y = gcrs.convert(lon, lat, "wgs84", "gcj02")
    np.testing.assert_array_equal(x, lon)
    np.testing.assert_array_equal(y, lat)
    bx, by = gcrs.convert(lon, lat, "gcj02", "wgs84")
    np.testing.assert_allclose(bx, lon, atol=1e-12)
    np.testing.assert_allclose(by, lat, atol=1e-12)


def test_convert_same_system_and_shapes() -> None:
    x, y = gcrs.convert([120.0, 121.0], [33.0, 34.0], "gcj02", "gcj02")
    np.testing.assert_array_equal(x, [120.0, 121.0])
    x, y = gcrs.convert(120.0, 33.0, "wgs84", "gcj02")
    assert np.ndim(x) == 0
    with pytest.raises(InputError, match="src='gcj'"):
        gcrs.convert(1, 2, "gcj", "wgs84")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="dst='utm'"):
        gcrs.convert(1, 2, "wgs84", "utm")  # type: ignore[arg-type]


def test_metric_crs() -> None:
    assert gcrs.metric_crs((119.5, 32.8, 120.9, 34.5)) == "EPSG:32651"  # Yancheng
    assert gcrs.metric_crs((116.2, 39.7, 116.6, 40.1)) == "EPSG:32650"  # Beijing
    assert gcrs.metric_crs((-47.0, -24.0, -46.0, -23.0)) == "EPSG:32723"  # São Paulo, south
    assert gcrs.metric_crs((179.0, 10.0, 179.9, 11.0)) == "EPSG:32660"
    assert pyproj.CRS(gcrs.metric_crs((119.5, 32.8, 120.9, 34.5))).axis_info[0].unit_name == "metre"
    with pytest.raises(InputError, match="bounds"):
        gcrs.metric_crs((np.nan, 0, 1, 1))


def test_convert_geometry_polygons() -> None:
    lon, lat = YANCHENG
    poly = Polygon([(lon, lat), (lon + 0.01, lat), (lon + 0.01, lat + 0.01), (lon, lat + 0.01)],
                   holes=[[(lon + 0.004, lat + 0.004), (lon + 0.006, lat + 0.004), (lon + 0.006, lat + 0.006)]])
    geoms = np.array([poly, shapely.Point(lon, lat), None], dtype=object)
    out = gcrs.convert_geometry(geoms, "wgs84", "gcj02")
    assert out[0].geom_type == "Polygon" and len(out[0].interiors) == 1
    ex = shapely.get_coordinates(out[0].exterior)
    x, y = gcrs.convert(*shapely.get_coordinates(poly.exterior).T, "wgs84", "gcj02")
    np.testing.assert_allclose(ex, np.column_stack([x, y]))
    assert out[2] is None
    back = gcrs.convert_geometry(out, "gcj02", "wgs84")
    assert shapely.equals_exact(back[0], poly, tolerance=1e-8)
    # GCJ-02 is not a pure shift: its sine terms stretch space locally by up to
    # ~0.5 %, so the area changes a little but the shape is kept
    a0 = abs(GEOD.geometry_area_perimeter(poly)[0])
    a1 = abs(GEOD.geometry_area_perimeter(out[0])[0])
    assert a1 == pytest.approx(a0, rel=1e-2)


def test_to_wgs84() -> None:
    lon, lat = YANCHENG
    gx, gy = gcrs.convert(lon, lat, "wgs84", "gcj02")
    gdf = gpd.GeoDataFrame({"id": ["a"]}, geometry=[shapely.Point(gx, gy)], crs="EPSG:4326")
    out = gcrs.to_wgs84(gdf, "gcj02")
    assert out.geometry.iloc[0].x == pytest.approx(lon, abs=1e-8)
    assert gdf.geometry.iloc[0].x == pytest.approx(float(gx))  # input untouched
    # no CRS: taken as lon/lat
    out = gcrs.to_wgs84(gdf.set_crs(None, allow_override=True), "wgs84")
    assert out.crs.equals("EPSG:4326")
    # projected WGS84 data is reprojected
    utm = gpd.GeoDataFrame(geometry=[box(230000, 3690000, 231000, 3691000)], crs="EPSG:32651")
    out = gcrs.to_wgs84(utm)
    assert out.crs.equals("EPSG:4326") and 120 < out.geometry.iloc[0].centroid.x < 121


def test_to_wgs84_errors() -> None:
    gdf = gpd.GeoDataFrame(geometry=[shapely.Point(230000, 3690000)], crs="EPSG:32651")
    with pytest.raises(InputError, match="gcj02 data must be in lon/lat"):
        gcrs.to_wgs84(gdf, "gcj02")
    with pytest.raises(InputError, match="coords: 'mars'"):
        gcrs.to_wgs84(gdf, "mars")  # type: ignore[arg-type]
