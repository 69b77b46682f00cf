"""Package-private inputs of :mod:`geoplan.assign`: the dataset (and a plan's stations)
as metric arrays — towns and how under-served they are, stations, groups, deputies
and their sector shares.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan.datasets import SECTORS, Dataset
from geoplan.exceptions import InputError
from geoplan.vocabulary import DECISIONS, KEPT_DECISIONS

__all__ = ["Inputs", "prepare", "sector_index"]


@dataclass(frozen=True, eq=False)
class Inputs:
    towns: pd.DataFrame  # code, name, population, x, y, underserved
    stations: gpd.GeoDataFrame  # metric; id, name, tier, town_code, sector
    sxy: np.ndarray
    s_sector: np.ndarray  # sector index or -1
    groups: pd.DataFrame
    gxy: np.ndarray
    g_sector: np.ndarray
    deputies: pd.DataFrame
    d_group: np.ndarray
    dxy: np.ndarray
    d_sector: np.ndarray
    share: np.ndarray  # groups × sectors: effective sector share
    frac: np.ndarray  # groups × sectors: share of deputies


def sector_index(values: pd.Series) -> np.ndarray:
    lookup = {s: i for i, s in enumerate(SECTORS)}
    return np.array([lookup.get(v, -1) if isinstance(v, str) else -1 for v in values], dtype=np.int64)


def plan_stations(plan: Any, metric: str) -> gpd.GeoDataFrame:
    st = getattr(plan, "stations", None)
    if not isinstance(st, gpd.GeoDataFrame):
        raise InputError("plan: expected an object with a 'stations' GeoDataFrame (a geoplan.planning.Plan)")
    missing = [c for c in ("id", "town_code", "decision") if c not in st.columns]
    if missing:
        raise InputError(f"plan.stations: required column(s) {', '.join(missing)} missing")
    if st.crs is None:
        raise InputError("plan.stations: CRS is missing")
    bad = ~st["decision"].isin(DECISIONS)
    if bad.any():
        row = st.loc[bad.idxmax()]
        raise InputError(
            f"plan.stations[{row['id']}]: column 'decision' value {row['decision']!r} is not one of {', '.join(DECISIONS)}"
        )
    kept = st[st["decision"].isin(KEPT_DECISIONS)]
    return kept.to_crs(metric)


def underserved(towns: pd.DataFrame, pop: np.ndarray, stations: pd.DataFrame, plan: Any) -> np.ndarray:
    """0 (best served) … 1 (worst served) per town: plan coverage share, else stations per 10k people."""
    ptowns = getattr(plan, "towns", None) if plan is not None else None
    if isinstance(ptowns, pd.DataFrame) and {"code", "share_after"} <= set(ptowns.columns):
        share = pd.to_numeric(ptowns.set_index("code")["share_after"], errors="coerce").reindex(towns["code"])
        u = 1.0 - share.to_numpy(dtype=float).clip(0.0, 1.0)
        return np.where(np.isfinite(u) & (pop > 0), u, 0.0)
    count = stations["town_code"].value_counts().reindex(towns["code"]).fillna(0).to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        density = np.where(pop > 0, count / (pop / 1e4), np.nan)
    top = np.nanmax(density) if np.isfinite(density).any() else 0.0
    u = 1.0 - density / top if top > 0 else np.ones(len(towns))
    return np.where(pop > 0, np.nan_to_num(u, nan=0.0), 0.0)


def prepare(dataset: Dataset, plan: Any) -> Inputs:
    if not isinstance(dataset, Dataset):
        raise InputError(f"assign: 'dataset' must be a geoplan.datasets.Dataset, got {type(dataset).__name__}")
    layers = dataset.to_metric()
    towns_m: gpd.GeoDataFrame = layers["towns"]
    pts = shapely.point_on_surface(towns_m.geometry.values)
    txy = shapely.get_coordinates(pts)
    pop = (
        dataset.demand.groupby("town_code")["population"].sum().reindex(towns_m["code"]).fillna(0.0).to_numpy(float)
    )
    st: gpd.GeoDataFrame
    if plan is None:
        st = layers["stations"]  # the metric layer, cut to Dataset.active_stations()
        st = st[st["id"].isin(dataset.active_stations()["id"])]
    else:
        st = plan_stations(plan, dataset.metric_crs)
        unknown = ~st["town_code"].isin(set(towns_m["code"]))
        if unknown.any():
            row = st.loc[unknown.idxmax()]
            raise InputError(f"plan.stations[{row['id']}]: town_code {row['town_code']!r} is not a town of the dataset")
    st = st.reset_index(drop=True)
    if "sector" not in st.columns:
        st = st.assign(sector=None)
    towns = pd.DataFrame(
        {"code": towns_m["code"].to_numpy(), "name": towns_m["name"].to_numpy(), "population": pop,
         "x": txy[:, 0], "y": txy[:, 1]}
    )
    towns["underserved"] = underserved(towns, pop, st, plan)
    tidx = pd.Series(np.arange(len(towns)), index=towns["code"])
    groups = dataset.groups.reset_index(drop=True)
    deputies = dataset.deputies.reset_index(drop=True)
    gxy = txy[tidx.reindex(groups["town_code"]).to_numpy()]
    d_group = pd.Series(np.arange(len(groups)), index=groups["id"]).reindex(deputies["group_id"]).to_numpy()
    dxy = txy[tidx.reindex(deputies["home_town_code"]).to_numpy()]
    d_sector = sector_index(deputies["sector"])
    counts = np.zeros((len(groups), len(SECTORS)))
    ok = d_sector >= 0
    np.add.at(counts, (d_group[ok], d_sector[ok]), 1.0)
    size = counts.sum(axis=1, keepdims=True)
    frac = np.divide(counts, size, out=np.zeros_like(counts), where=size > 0)
    g_sector = sector_index(groups["sector"])
    share = frac.copy()
    has = g_sector >= 0
    share[np.flatnonzero(has), g_sector[has]] = 1.0  # a group themed on a sector counts as fully in it
    return Inputs(
        towns=towns, stations=st, sxy=shapely.get_coordinates(st.geometry.values).reshape(-1, 2),
        s_sector=sector_index(st["sector"]), groups=groups, gxy=gxy, g_sector=g_sector, deputies=deputies,
        d_group=d_group, dxy=dxy, d_sector=d_sector, share=share, frac=frac,
    )
