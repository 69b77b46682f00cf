"""Import a user's own tables into a dataset layer.

Accepted inputs:

* **CSV** with longitude / latitude columns. Name them with ``lon=`` / ``lat=``
  or let them be found among the usual names (``lon``, ``lng``, ``long``,
  ``longitude``, ``x``, ``经度`` and ``lat``, ``latitude``, ``y``, ``纬度``,
  any case). A ``wkt`` (or ``geometry``) column of WKT text is used for
  polygons. CSVs without coordinates feed the attribute-only layers
  (deputies, groups, committees). Text is read as UTF-8 (with or without BOM)
  and falls back to GB18030 (a superset of GBK/GB2312, what Excel on a Chinese
  Windows writes).
* **GeoJSON, GeoPackage, Shapefile** (anything GDAL reads through pyogrio).

Every value stays text until the schema says otherwise, so codes like
``"0320"`` keep their leading zeros. Coordinates from Chinese web maps are
converted with ``coords="gcj02"`` (Amap/Gaode, Tencent) or ``"bd09"`` (Baidu).

Errors are :class:`~geoplan.exceptions.DatasetError` (an ``InputError``) listing
every bad row as ``layer[row]: rule`` — the row is the CSV line number (the
header is line 1) and the id when the table has one.
"""
from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyproj
import shapely

from geoplan import crs as _crs
from geoplan.datasets import LAYERS, SCHEMA, Dataset
from geoplan.exceptions import DatasetError, InputError, Problem

__all__ = ["LAT_NAMES", "LON_NAMES", "import_layer", "read_table"]

#: Column names recognised as longitude / latitude (compared case-insensitively).
LON_NAMES: tuple[str, ...] = ("lon", "lng", "long", "longitude", "x", "经度")
LAT_NAMES: tuple[str, ...] = ("lat", "latitude", "y", "纬度")
_WKT_NAMES: tuple[str, ...] = ("wkt", "geometry", "geom")
_CSV_SUFFIXES = (".csv", ".txt", ".tsv")
_FALLBACK_ENCODINGS = ("utf-8-sig", "gb18030")


def _check_field_counts(path: Path, encoding: str, sep: str, label: str) -> None:
    """Every row must have as many fields as the header.

    pandas silently treats one extra field on every row as an index column (shifting all
    values one column left), so ragged rows are caught here, with their line numbers.
    """
    problems: list[Problem] = []
    with path.open(encoding=encoding, newline="") as fh:
        reader = csv.reader(fh, delimiter=sep)
        header = next(reader, [])
        for row in reader:
            if row and len(row) != len(header):
                problems.append(Problem(label, f"line {reader.line_num}",
                                        f"has {len(row)} fields but the header has {len(header)}; "
                                        f"quote values that contain {sep!r}"))
    if problems:
        raise DatasetError(problems)


def _read_csv(path: Path, encoding: str | None, label: str) -> pd.DataFrame:
    encodings = (encoding,) if encoding else _FALLBACK_ENCODINGS
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    last: Exception | None = None
    for enc in encodings:
        try:
            df = pd.read_csv(path, dtype=str, encoding=enc, sep=sep, skipinitialspace=True, keep_default_na=False,
                             na_values=[""])
        except UnicodeDecodeError as exc:
            last = exc
            continue
        except LookupError as exc:
            raise InputError(f"{label}: unknown encoding {enc!r}") from exc
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            _check_field_counts(path, enc, sep, label)  # names the ragged lines, if that is the cause
            raise InputError(f"{label}: cannot parse {path.name} as CSV ({exc})") from exc
        _check_field_counts(path, enc, sep, label)
        df.columns = [str(c).strip() for c in df.columns]
        # Strip stray spaces Excel users leave around values.
        for c in df.columns:
            # pandas-stubs' Series.replace overloads reject a str → float mapping
            df[c] = df[c].str.strip().replace("", np.nan)  # type: ignore[call-overload]
        return df
    raise InputError(
        f"{label}: cannot decode {path.name} as {' or '.join(encodings)}; pass encoding= ({last})"
    )


def _check_renames(columns: Mapping[str, str], available: list[str], label: str) -> None:
    missing = [c for c in columns if c not in available]
    if missing:
        raise InputError(f"{label}: columns= names {', '.join(map(repr, missing))} not in the file; "
                         f"columns are {', '.join(available)}")


def _find(columns: list[str], given: str | None, names: tuple[str, ...], what: str, label: str) -> str | None:
    if given is not None:
        if given not in columns:
            raise InputError(f"{label}: {what} column {given!r} not found; columns are {', '.join(columns)}")
        return given
    lower = {c.lower(): c for c in columns}
    for n in names:
        if n in lower:
            return lower[n]
    return None


def _row_labels(df: pd.DataFrame, id_column: str | None) -> np.ndarray:
    """``line N`` per CSV row (the header is line 1), with the row's id when it has one."""
    base = [f"line {i + 2}" for i in range(len(df))]
    if id_column and id_column in df.columns:
        ids = df[id_column].astype("string").to_numpy(dtype=object)
        return np.array([f"{b} id {v}" if isinstance(v, str) else b for b, v in zip(base, ids)], dtype=object)
    return np.array(base, dtype=object)


def _points_from_columns(
    df: pd.DataFrame, lon: str, lat: str, labels: np.ndarray, label: str, geographic: bool
) -> np.ndarray:
    problems: list[Problem] = []
    arrays = {}
    for col, limit in ((lon, 180.0), (lat, 90.0)):
        raw = df[col]
        num = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        missing = raw.isna().to_numpy()
        for rid in labels[missing]:
            problems.append(Problem(label, rid, f"column '{col}' is empty (a coordinate is required)"))
        bad = ~missing & ~np.isfinite(num)
        for rid, v in zip(labels[bad], raw.to_numpy()[bad]):
            problems.append(Problem(label, rid, f"column '{col}' must be a number, got {v!r}"))
        if geographic:
            out = np.isfinite(num) & (np.abs(num) > limit)
            for rid, v in zip(labels[out], num[out]):
                problems.append(Problem(label, rid, f"column '{col}' must be within ±{limit:g} degrees, got {v:g}"))
        arrays[col] = num
    if problems:
        x, y = arrays[lon], arrays[lat]
        ok = np.isfinite(x) & np.isfinite(y)
        if geographic and ok.any() and np.all(np.abs(x[ok]) <= 90) and np.any(np.abs(y[ok]) > 90):
            problems.append(Problem(label, "-", f"columns '{lon}'/'{lat}' look swapped (latitude beyond ±90)"))
        raise DatasetError(problems)
    return cast("np.ndarray", shapely.points(arrays[lon], arrays[lat]))  # arrays in, array out


def _geometry_from_wkt(df: pd.DataFrame, col: str, labels: np.ndarray, label: str) -> np.ndarray:
    text = df[col].to_numpy(dtype=object)
    geoms = shapely.from_wkt(text, on_invalid="ignore")
    bad = shapely.is_missing(geoms)
    if bad.any():
        raise DatasetError([
            Problem(label, rid, f"column '{col}' is not valid WKT, got {str(v)[:40]!r}")
            for rid, v in zip(labels[bad], text[bad])
        ])
    return geoms


def _read_vector(path: Path, layer: str | None, label: str, encoding: str | None) -> gpd.GeoDataFrame:
    """Read ``layer`` of a vector file; default the only layer, else the one named ``label``."""
    try:
        available = [str(n) for n, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio.errors.DataSourceError and friends
        raise InputError(f"{label}: cannot open {path.name} ({exc})") from exc
    if layer is None:
        if len(available) == 1:
            layer = available[0]
        elif label in available:
            layer = label
        else:
            raise InputError(f"{label}: {path.name} has layers {', '.join(available)}; choose one with layer=")
    elif layer not in available:
        raise InputError(f"{label}: layer {layer!r} not in {path.name}; it has {', '.join(available)}")
    try:
        kw = {"encoding": encoding} if encoding else {}
        return pyogrio.read_dataframe(path, layer=layer, **kw)
    except Exception as exc:
        raise InputError(f"{label}: cannot read layer {layer!r} of {path.name} ({exc})") from exc


def read_table(
    path: str | Path,
    layer: str | None = None,
    lon: str | None = None,
    lat: str | None = None,
    coords: _crs.Coords = "wgs84",
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    *,
    crs: str | None = None,
    spatial: bool | None = None,
    label: str | None = None,
    id_column: str | None = "id",
) -> gpd.GeoDataFrame | pd.DataFrame:
    """Read a CSV, GeoJSON, GeoPackage or Shapefile into a WGS84 frame.

    Parameters
    ----------
    path : path
        The file. ``.csv`` / ``.txt`` / ``.tsv`` are read as delimited text,
        everything else through pyogrio.
    layer : str, optional
        Layer inside a multi-layer file (GeoPackage). Default: the only layer,
        else the layer named ``label``.
    lon, lat : str, optional
        CSV coordinate column names; default: found among :data:`LON_NAMES`
        / :data:`LAT_NAMES`.
    coords : {"wgs84", "gcj02", "bd09"}
        The datum of the coordinates; GCJ-02 / BD-09 are converted to WGS84.
    columns : mapping, optional
        Renames ``{user column: schema column}``, applied after reading.
    encoding : str, optional
        Text encoding; default UTF-8, falling back to GB18030 for CSV.
    crs : str, optional
        CRS of CSV coordinates (default ``EPSG:4326``) or of a vector file
        that has none.
    spatial : bool, optional
        ``True``: a geometry is required; ``False``: return a plain DataFrame
        (any geometry dropped); ``None``: a GeoDataFrame if the file has
        coordinates, else a DataFrame.
    label : str, optional
        Name used in error messages (the target layer); default the file name.
    id_column : str, optional
        Column whose value is quoted next to the line number in errors.

    Returns
    -------
    GeoDataFrame or DataFrame
        In EPSG:4326 when spatial; CSV values as text (``None`` for blanks).

    Raises
    ------
    InputError
        Unreadable file, unknown column, no coordinates where required.
    DatasetError
        Bad coordinate values, one problem per row (``problems`` lists all).
    """
    path = Path(path)
    label = label or path.name
    if coords not in _crs.COORD_SYSTEMS:
        raise InputError(f"coords: {coords!r} is not one of {', '.join(_crs.COORD_SYSTEMS)}")
    if not path.is_file():
        raise InputError(f"{label}: file not found: {path}")
    is_csv = path.suffix.lower() in _CSV_SUFFIXES

    if is_csv:
        df = _read_csv(path, encoding, label)
        cols = list(df.columns)
        renames = dict(columns or {})
        _check_renames(renames, cols, label)
        xcol = _find(cols, lon, LON_NAMES, "longitude", label)
        ycol = _find(cols, lat, LAT_NAMES, "latitude", label)
        wkt = next((c for c in cols if c.lower() in _WKT_NAMES), None) if xcol is None and ycol is None else None
        if (xcol is None) != (ycol is None):
            found, need = (xcol, "latitude") if xcol else (ycol, "longitude")
            raise InputError(f"{label}: found coordinate column {found!r} but no {need} column; "
                             f"name it with {'lat' if need == 'latitude' else 'lon'}=")
        has_geom = xcol is not None or wkt is not None
        if spatial and not has_geom:
            raise InputError(
                f"{label}: no coordinate columns in {path.name}; name them with lon=/lat= "
                f"(looked for {'/'.join(LON_NAMES)} and {'/'.join(LAT_NAMES)}, or a WKT column); "
                f"columns are {', '.join(cols)}"
            )
        if renames:
            df = df.rename(columns=renames)
        if not has_geom or spatial is False:
            return pd.DataFrame(df.drop(columns=[c for c in (xcol, ycol, wkt) if c], errors="ignore"))
        src_crs = crs or "EPSG:4326"
        try:
            geographic = bool(pyproj.CRS.from_user_input(src_crs).is_geographic)
        except pyproj.exceptions.CRSError as exc:
            raise InputError(f"crs: {src_crs!r} is not a known CRS ({exc})") from exc
        labels = _row_labels(df, id_column)
        if xcol is not None:
            assert ycol is not None  # checked above: both coordinate columns or neither
            x_name, y_name = renames.get(xcol, xcol), renames.get(ycol, ycol)
            geoms = _points_from_columns(df, x_name, y_name, labels, label, geographic)
            df = df.drop(columns=[x_name, y_name])
        else:
            assert wkt is not None  # has_geom
            w_name = renames.get(wkt, wkt)
            geoms = _geometry_from_wkt(df, w_name, labels, label)
            df = df.drop(columns=[w_name])
        gdf = gpd.GeoDataFrame(df, geometry=geoms, crs=src_crs)
    else:
        gdf = _read_vector(path, layer, label, encoding)
        if columns:
            _check_renames(columns, [str(c) for c in gdf.columns], label)
            gdf = gdf.rename(columns=dict(columns))
        if spatial is False:
            return pd.DataFrame(gdf.drop(columns=gdf.geometry.name)) if isinstance(gdf, gpd.GeoDataFrame) else gdf
        if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf.columns:
            if spatial:
                raise InputError(f"{label}: {path.name} has no geometry")
            return pd.DataFrame(gdf)
        if gdf.crs is None:
            if crs is None:
                raise InputError(f"{label}: {path.name} has no CRS; pass crs= (e.g. crs='EPSG:4326' for lon/lat)")
            gdf = gdf.set_crs(crs)
    try:
        out = _crs.to_wgs84(gdf, coords)
    except InputError as exc:
        raise InputError(f"{label}: {exc}") from exc
    return out


def import_layer(
    dataset: Dataset,
    layer_name: str,
    path: str | Path,
    *,
    layer: str | None = None,
    lon: str | None = None,
    lat: str | None = None,
    coords: _crs.Coords = "wgs84",
    columns: Mapping[str, str] | None = None,
    encoding: str | None = None,
    crs: str | None = None,
    mode: Literal["replace", "append"] = "replace",
) -> Dataset:
    """Read a table into one layer of ``dataset`` and return the new, validated dataset.

    Parameters
    ----------
    dataset : Dataset
        The dataset to change (unchanged itself: datasets are immutable).
    layer_name : str
        Target layer, one of :data:`geoplan.datasets.LAYERS`.
    path, layer, lon, lat, coords, columns, encoding, crs
        As in :func:`read_table`.
    mode : {"replace", "append"}
        Replace the layer's rows, or append to them (ids must stay unique).

    Returns
    -------
    Dataset
        A new dataset, validated as a whole (references from and to the new
        layer included).

    Raises
    ------
    InputError
        Unreadable input or bad arguments.
    DatasetError
        Any schema rule broken, each problem naming layer, row and rule.
    """
    if layer_name not in LAYERS:
        raise InputError(f"layer_name: {layer_name!r} is not one of {', '.join(LAYERS)}")
    if mode not in ("replace", "append"):
        raise InputError(f"mode: {mode!r} is not 'replace' or 'append'")
    schema = SCHEMA[layer_name]
    spatial = schema.geometry is not None
    df = read_table(path, layer=layer, lon=lon, lat=lat, coords=coords, columns=columns, encoding=encoding,
                    crs=crs, spatial=spatial, label=layer_name, id_column=schema.id_column)
    if spatial and not isinstance(df, gpd.GeoDataFrame):  # pragma: no cover - read_table guarantees it
        raise InputError(f"{layer_name}: needs a geometry")
    if mode == "append":
        old = getattr(dataset, layer_name)
        frame = pd.concat([old, df], ignore_index=True)
        df = gpd.GeoDataFrame(frame, geometry=old.geometry.name, crs=old.crs) if spatial else pd.DataFrame(frame)
    return dataset.replace(**{layer_name: df})
