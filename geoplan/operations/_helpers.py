"""What the reception, topic and poster modules share: the network as flat arrays, the unmet
rules, output writers. Package-private.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan.assign import Shortfall
from geoplan.datasets import Dataset, write_gpkg
from geoplan.exceptions import InputError
from geoplan.settings import STORAGE_CRS

TZ = ZoneInfo("Asia/Shanghai")

#: Chinese names of the station tiers (what users read on posters and schedules).
TIER_ZH: dict[str, str] = {"home": "代表之家", "station": "代表联络站", "point": "代表联系点"}


#: One rule that could not hold (which rule, where, by how much, why): the assignment's own record.
Unmet = Shortfall


def unmet_frame(unmet: tuple[Unmet, ...]) -> pd.DataFrame:
    return pd.DataFrame([asdict(u) for u in unmet], columns=["rule", "where", "amount", "detail"]).astype(
        {"rule": object, "where": object, "amount": float, "detail": object})


@dataclass(frozen=True, eq=False)
class Network:
    """Stations, deputies and their links as aligned arrays (metric CRS for distances).

    ``stations``: id, name, tier, town_code, town_name, county_code, county_name, geometry (WGS84).
    ``deputies``: the dataset's deputies, with ``d_group`` (row of ``groups``) and ``hxy`` (home town point).
    ``links``: group_id, station_id, g (group row), s (station row).
    """

    stations: gpd.GeoDataFrame
    sxy: np.ndarray
    deputies: pd.DataFrame
    d_group: np.ndarray
    hxy: np.ndarray
    groups: pd.DataFrame
    links: pd.DataFrame
    conveners: pd.DataFrame
    committee_groups: pd.DataFrame


def network(dataset: Dataset, assignment: Any) -> Network:
    """The assignment's stations and group → station links with the dataset's deputies and places."""
    if not isinstance(dataset, Dataset):
        raise InputError(f"operations: 'dataset' must be a geoplan.datasets.Dataset, got {type(dataset).__name__}")
    for attr in ("stations", "group_stations", "conveners", "committee_groups"):
        if not hasattr(assignment, attr):
            raise InputError(f"operations: 'assignment' must be a geoplan.assign.Assignment (no {attr!r})")
    st = assignment.stations.to_crs(STORAGE_CRS).reset_index(drop=True)
    towns = dataset.towns
    town_name = dict(zip(towns["code"], towns["name"]))
    town_county = dict(zip(towns["code"], towns["county_code"]))
    county_name = dict(zip(dataset.counties["code"], dataset.counties["name"]))
    st = st.assign(
        name=st["name"].where(st["name"].notna(), st["id"]) if "name" in st.columns else st["id"],
        town_name=st["town_code"].map(town_name),
        county_code=st["town_code"].map(town_county),
    )
    st["county_name"] = st["county_code"].map(county_name)
    keep = ["id", "name", "tier", "town_code", "town_name", "county_code", "county_name"]
    st = gpd.GeoDataFrame(st[keep], geometry=st.geometry.values, crs=STORAGE_CRS)
    metric = dataset.metric_crs
    sxy = shapely.get_coordinates(st.to_crs(metric).geometry.values).reshape(-1, 2)
    towns_m = towns.to_crs(metric)
    txy = pd.DataFrame(shapely.get_coordinates(shapely.point_on_surface(towns_m.geometry.values)),
                       index=towns_m["code"].to_numpy(), columns=["x", "y"])
    deputies = dataset.deputies.reset_index(drop=True)
    groups = dataset.groups.reset_index(drop=True)
    g_index = pd.Series(np.arange(len(groups)), index=groups["id"].to_numpy())
    d_group = g_index.reindex(deputies["group_id"]).to_numpy(dtype=np.int64)
    hxy = txy.reindex(deputies["home_town_code"]).to_numpy(dtype=float)
    s_index = pd.Series(np.arange(len(st)), index=st["id"].to_numpy())
    links = assignment.group_stations[["group_id", "station_id"]].copy()
    links["g"] = g_index.reindex(links["group_id"]).to_numpy()
    links["s"] = s_index.reindex(links["station_id"]).to_numpy()
    links = links.dropna(subset=["g", "s"]).astype({"g": np.int64, "s": np.int64}).reset_index(drop=True)
    return Network(stations=st, sxy=sxy, deputies=deputies, d_group=d_group, hxy=hxy, groups=groups, links=links,
                   conveners=assignment.conveners, committee_groups=assignment.committee_groups)


def deputy_station_pairs(net: Network, link_rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(deputy rows, station rows) of every deputy of a linked group × that link's station."""
    links = net.links if link_rows is None else net.links.iloc[link_rows]
    order = np.argsort(net.d_group, kind="stable")
    counts = np.bincount(net.d_group, minlength=len(net.groups))
    starts = np.concatenate([[0], np.cumsum(counts)])
    g = links["g"].to_numpy()
    s = links["s"].to_numpy()
    n = counts[g]
    rep_s = np.repeat(s, n)
    base = np.repeat(starts[g], n)
    offs = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)
    return order[base + offs], rep_s


def distances_m(net: Network, d: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Straight-line metres from each deputy's home town to the station (NaN home → 0 km, flagged upstream)."""
    diff = net.hxy[d] - net.sxy[s]
    out = np.hypot(diff[:, 0], diff[:, 1])
    return np.where(np.isfinite(out), out, 0.0)


def for_ogr(df: pd.DataFrame) -> pd.DataFrame:
    """Dates/times as ISO text, bools as int, so every table writes to a GeoPackage layer."""
    df = df.copy()
    for c in df.columns:
        if c == getattr(df, "_geometry_column_name", None):
            continue
        col = df[c]
        if col.dtype == bool:
            df[c] = col.astype("int32")
        elif col.dtype == object and len(col) and isinstance(col.dropna().iloc[0] if col.notna().any() else None,
                                                              (dt.date, dt.time)):
            df[c] = col.map(lambda v: v.isoformat(timespec="minutes") if isinstance(v, dt.time)
                            else (v.isoformat() if v is not None else None))
        elif col.dtype == object and (len(col) == 0 or col.isna().all()):
            df[c] = col.astype("string").astype(object)
    return df


def save_tables(path: str | Path, frames: dict[str, pd.DataFrame]) -> Path:
    """Write frames as GeoPackage layers (atomic; other layers of an existing file are kept)."""
    out = {}
    for name, df in frames.items():
        clean = for_ogr(df)
        if not isinstance(clean, gpd.GeoDataFrame):
            clean = pd.DataFrame(clean)
        out[name] = clean
    return write_gpkg(path, out, keep_other_layers=True)


def write_csvs(directory: str | Path, frames: dict[str, pd.DataFrame]) -> list[Path]:
    """Write each frame (without geometry) as ``<directory>/<name>.csv`` (UTF-8)."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in frames.items():
        p = directory / f"{name}.csv"
        plain = pd.DataFrame(df).drop(columns=[c for c in df.columns if c == "geometry"], errors="ignore")
        for_ogr(plain).to_csv(p, index=False, encoding="utf-8", lineterminator="\n")
        paths.append(p)
    return paths


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows (dates/times ISO, NaN → None, no geometry)."""
    plain = for_ogr(pd.DataFrame(df).drop(columns=[c for c in df.columns if c == "geometry"], errors="ignore"))
    clean = plain.astype(object).where(plain.notna(), None)
    return [{str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
            for r in clean.to_dict("records")]


def fmt_number(v: float) -> str:
    return f"{int(v):,}" if float(v).is_integer() and abs(v) < 1e15 else f"{v:,.3f}"


#: Chinese names of the dataset's sectors.
SECTOR_ZH: dict[str, str] = {
    "agriculture": "农业", "fisheries": "渔业", "manufacturing": "制造业", "energy": "能源", "commerce": "商贸",
    "finance": "金融", "education": "教育", "health": "卫生健康", "environment": "生态环境", "law": "法治",
    "social": "社会事业", "government": "政务服务",
}
