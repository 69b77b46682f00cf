"""Coordinate reference systems.

* :func:`metric_crs` chooses one metric CRS (UTM zone) for a region, so every
  distance is computed once, in metres, in the same frame.
* GCJ-02 (Amap/Gaode, Tencent) and BD-09 (Baidu) are the obfuscated datums of
  Chinese web maps. :func:`convert` moves arrays between them and WGS84;
  :func:`convert_geometry` and :func:`to_wgs84` do the same for shapely
  geometries and GeoDataFrames. The inverse transforms iterate the forward one
  until the round trip is below a millimetre (far below the ~0.5 m that matters
  on a map).
"""
from __future__ import annotations

from typing import Callable, Literal

import geopandas as gpd
import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

from geoplan.exceptions import InputError

Coords = Literal["wgs84", "gcj02", "bd09"]
COORD_SYSTEMS: tuple[str, ...] = ("wgs84", "gcj02", "bd09")

# Krasovsky 1940 ellipsoid, as used by the GCJ-02 algorithm.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0


def metric_crs(bounds: tuple[float, float, float, float]) -> str:
    """Return the UTM zone CRS (as ``"EPSG:326NN"`` / ``"EPSG:327NN"``) for WGS84 bounds.

    Parameters
    ----------
    bounds : tuple of float
        ``(minx, miny, maxx, maxy)`` in degrees (lon/lat).

    Returns
    -------
    str
        An EPSG code of a metric CRS centred on the region.
    """
    minx, miny, maxx, maxy = bounds
    if not np.all(np.isfinite(bounds)):
        raise InputError(f"bounds: must be finite, got {bounds!r}")
    lon = (minx + maxx) / 2.0
    lat = (miny + maxy) / 2.0
    zone = int(np.floor((lon + 180.0) / 6.0)) % 60 + 1
    return f"EPSG:{32600 + zone if lat >= 0 else 32700 + zone}"


def _out_of_china(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.bool_]:
    # Outside this box GCJ-02 equals WGS84 by definition of the algorithm.
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _transform_lat(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (160.0 * np.sin(y / 12.0 * np.pi) + 320 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    return ret


def _transform_lon(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    ret += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    ret += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    ret += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    return ret


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """WGS84 → GCJ-02 (vectorised). Points outside China are returned unchanged.

    Parameters
    ----------
    lon, lat : array_like
        Longitudes and latitudes in degrees (WGS84), broadcastable together.

    Returns
    -------
    lon, lat : ndarray of float
        The converted coordinates (GCJ-02).
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlat = _transform_lat(lon - 105.0, lat - 35.0)
    dlon = _transform_lon(lon - 105.0, lat - 35.0)
    radlat = lat / 180.0 * np.pi
    magic = 1 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    out = _out_of_china(lon, lat)
    return np.where(out, lon, lon + dlon), np.where(out, lat, lat + dlat)


def _invert(forward: Callable[[ArrayLike, ArrayLike], tuple[NDArray[np.float64], NDArray[np.float64]]],
            lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    # Fixed-point iteration: x_{k+1} = x_k - (f(x_k) - target). The offsets vary
    # slowly, so a handful of steps reach 1e-9 degrees (~0.1 mm).
    tlon = np.asarray(lon, dtype=float)
    tlat = np.asarray(lat, dtype=float)
    x, y = tlon.copy(), tlat.copy()
    for _ in range(30):
        fx, fy = forward(x, y)
        ex, ey = fx - tlon, fy - tlat
        x, y = x - ex, y - ey
        if np.all(np.abs(ex) < 1e-10) and np.all(np.abs(ey) < 1e-10):
            break
    return x, y


def gcj02_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """GCJ-02 → WGS84 (vectorised, iterative exact inverse, error < 1 mm).

    Parameters
    ----------
    lon, lat : array_like
        Longitudes and latitudes in degrees (GCJ-02), broadcastable together.

    Returns
    -------
    lon, lat : ndarray of float
        The converted coordinates (WGS84).
    """
    return _invert(wgs84_to_gcj02, lon, lat)


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """GCJ-02 → BD-09 (vectorised).

    Parameters
    ----------
    lon, lat : array_like
        Longitudes and latitudes in degrees (GCJ-02), broadcastable together.

    Returns
    -------
    lon, lat : ndarray of float
        The converted coordinates (BD-09).
    """
    x = np.asarray(lon, dtype=float)
    y = np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """BD-09 → GCJ-02 (vectorised, iterative exact inverse).

    Parameters
    ----------
    lon, lat : array_like
        Longitudes and latitudes in degrees (BD-09), broadcastable together.

    Returns
    -------
    lon, lat : ndarray of float
        The converted coordinates (GCJ-02).
    """
    return _invert(gcj02_to_bd09, lon, lat)


def convert(
    lon: ArrayLike, lat: ArrayLike, src: Coords, dst: Coords = "wgs84"
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Convert lon/lat arrays between ``"wgs84"``, ``"gcj02"`` and ``"bd09"``.

    Parameters
    ----------
    lon, lat : array_like
        Longitudes and latitudes in degrees.
    src, dst : {"wgs84", "gcj02", "bd09"}
        Source and target coordinate systems.

    Returns
    -------
    tuple of ndarray
        Converted ``(lon, lat)``.
    """
    for name, value in (("src", src), ("dst", dst)):
        if value not in COORD_SYSTEMS:
            raise InputError(f"coords: {name}={value!r} is not one of {', '.join(COORD_SYSTEMS)}")
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    if src == dst:
        return lon.copy(), lat.copy()
    # Route everything through GCJ-02, the hub between the three systems.
    if src == "wgs84":
        lon, lat = wgs84_to_gcj02(lon, lat)
    elif src == "bd09":
        lon, lat = bd09_to_gcj02(lon, lat)
    if dst == "wgs84":
        return gcj02_to_wgs84(lon, lat)
    if dst == "bd09":
        return gcj02_to_bd09(lon, lat)
    return lon, lat


def convert_geometry(geoms: ArrayLike, src: Coords, dst: Coords = "wgs84") -> NDArray[np.object_]:
    """Convert an array of shapely geometries (lon/lat) between coordinate systems.

    Parameters
    ----------
    geoms : array_like of shapely geometries
        Geometries with lon/lat coordinates in ``src``.
    src, dst : {"wgs84", "gcj02", "bd09"}
        Source and target coordinate systems.

    Returns
    -------
    ndarray of object
        New geometries with coordinates in ``dst``.
    """

    def _fn(xy: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = convert(xy[:, 0], xy[:, 1], src, dst)
        return np.column_stack([x, y])

    return shapely.transform(np.asarray(geoms, dtype=object), _fn)


def to_wgs84(gdf: gpd.GeoDataFrame, coords: Coords = "wgs84") -> gpd.GeoDataFrame:
    """Return ``gdf`` in WGS84 (EPSG:4326), undoing a GCJ-02 or BD-09 offset.

    ``coords`` describes the data: GCJ-02 and BD-09 inputs must be stored as
    geographic lon/lat (their CRS, if any, is EPSG:4326 by convention).

    Parameters
    ----------
    gdf : geopandas.GeoDataFrame
        The data; a missing CRS is taken as EPSG:4326.
    coords : {"wgs84", "gcj02", "bd09"}
        The coordinate system the lon/lat values are in.

    Returns
    -------
    geopandas.GeoDataFrame
        A copy in EPSG:4326 with true WGS84 coordinates.

    Raises
    ------
    InputError
        If ``coords`` is not a known coordinate system.
    """
    if coords not in COORD_SYSTEMS:
        raise InputError(f"coords: {coords!r} is not one of {', '.join(COORD_SYSTEMS)}")
    out = gdf.copy()
    if out.crs is None:
        out = out.set_crs("EPSG:4326")
    elif not out.crs.equals("EPSG:4326"):
        if coords != "wgs84":
            raise InputError(f"coords: {coords} data must be in lon/lat degrees, got CRS {out.crs}")
        out = out.to_crs("EPSG:4326")
    if coords != "wgs84":
        out.geometry = gpd.GeoSeries(convert_geometry(out.geometry.values, coords, "wgs84"), index=out.index, crs="EPSG:4326")
    return out
