"""The station network *before* the review (all ``active``), sized by a :class:`Profile`.

Homes: one for the city and one per county-level unit (in the urban town nearest the seat: a street,
or the town whose cell holds the seat), one per town-level unit at its centre, and village-level
homes in rural villages (probability ∝ population). Liaison stations: spread over villages at least
2 km from every earlier station, plus ``n_duplicate_liaison`` placed 300–900 m from a town home or
spread station of the same town (duplicated reach). Contact points at venues ≥ 1 km from them all.
"""
from __future__ import annotations

from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from geoplan.datasets import SECTORS
from geoplan.sources.city._helpers import draw, sample_points, short_name
from geoplan.sources.city.people import sector_probs
from geoplan.sources.city.profile import Profile
from geoplan.sources.city.venues import numbered


def _sectors(county: NDArray[np.object_], kind: NDArray[np.object_], mix: pd.DataFrame, share: float,
             rng: np.random.Generator) -> NDArray[np.object_]:
    """An industry theme for about ``share`` of the rows (the county's census mix), None for the rest."""
    n = len(county)
    themed = rng.random(n) < share
    pick = draw(sector_probs(county, kind, mix, 0.0), rng) if n else np.zeros(0, dtype=int)
    out = np.full(n, None, dtype=object)
    out[themed] = np.asarray(SECTORS, dtype=object)[pick[themed]]
    return out


def _spread(dxy: NDArray[np.float64], taken: NDArray[np.float64], n: int, rng: np.random.Generator) -> NDArray[np.int_]:
    """Up to ``n`` demand points ≥ 2 km from ``taken`` and from each other (relaxed to 1.5, 1 km if short)."""
    chosen: list[int] = []
    for min_gap in (2000.0, 1500.0, 1000.0):
        tree = cKDTree(taken)
        for i in rng.permutation(len(dxy)):
            if len(chosen) >= n:
                break
            if i in chosen or tree.query(dxy[i])[0] < min_gap:
                continue
            if chosen and np.min(np.hypot(*(dxy[chosen] - dxy[i]).T)) < min_gap:
                continue
            chosen.append(int(i))
        if len(chosen) >= n:
            break
    return np.sort(np.asarray(chosen, dtype=int))


def build_stations(
    counties: gpd.GeoDataFrame, towns: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, sites: gpd.GeoDataFrame,
    seats: dict[str, tuple[float, float]], city_seat: tuple[float, float], city_name: str, profile: Profile,
    mix: pd.DataFrame, rng: np.random.Generator,
) -> gpd.GeoDataFrame:
    """The station network before the review (metric CRS in and out; rules in the module docstring)."""
    kind = towns["kind"].to_numpy()
    tname = towns["name"].to_numpy().astype(object)
    tcode = towns["code"].to_numpy()
    county_of = towns["county_code"].to_numpy()
    polys = towns.geometry.values
    dix = pd.Index(tcode).get_indexer(demand["town_code"])
    dxy = shapely.get_coordinates(demand.geometry.values)
    vname = short_name(demand["name"])
    comm = demand["community"].to_numpy()
    pop = demand["population"].to_numpy()
    parts: list[dict[str, Any]] = []  # one record of heterogeneous columns per station kind

    # City and county homes in the urban town nearest each seat.
    centres = towns[["cx", "cy"]].to_numpy()
    seat_xy = np.asarray([city_seat] + [seats[c] for c in counties["code"]], dtype=float)
    holds_seat = np.zeros(len(towns), dtype=bool)
    holds_seat[[int(np.argmax(shapely.contains_xy(polys, *xy))) for xy in seat_xy
                if shapely.contains_xy(polys, *xy).any()]] = True
    urban = (kind == "street") | holds_seat
    seat_county = [None] + list(counties["code"])
    seat_town = np.empty(len(seat_xy), dtype=int)
    for i, (code, xy0) in enumerate(zip(seat_county, seat_xy)):
        mine = np.ones(len(towns), dtype=bool) if code is None else county_of == code
        cand = np.flatnonzero(mine & urban)
        if cand.size == 0:
            cand = np.flatnonzero(mine)
        seat_town[i] = cand[np.argmin(((centres[cand] - xy0) ** 2).sum(axis=1))]
    xy = sample_points(polys[seat_town], centres[seat_town, 0], centres[seat_town, 1],
                       np.full(len(seat_town), 300.0), rng)
    names = [f"{city_name}人大代表之家"] + [f"{n}人大代表之家" for n in counties["name"]]
    parts.append({"xy": xy, "town": seat_town, "tier": "home", "level": ["city"] + ["county"] * len(counties),
                  "name": names, "prefix": "H"})
    # A home per town-level unit at its centre.
    t = np.arange(len(towns))
    xy = sample_points(polys, centres[:, 0], centres[:, 1], np.full(len(t), 40.0), rng)
    parts.append({"xy": xy, "town": t, "tier": "home", "level": "town", "name": tname + "人大代表之家",
                  "prefix": "H"})
    # Village-level homes in rural villages, more likely in bigger ones.
    cand = np.flatnonzero(~comm & (pop > 0))
    n_v = min(profile.n_village_homes, cand.size)
    v = np.sort(rng.choice(cand, size=n_v, replace=False, p=pop[cand] / pop[cand].sum()))
    xy = sample_points(polys[dix[v]], dxy[v, 0], dxy[v, 1], np.full(v.size, 80.0), rng)
    parts.append({"xy": xy, "town": dix[v], "tier": "home", "level": "village", "name": vname[v] + "人大代表之家",
                  "prefix": "V"})
    # Liaison stations spread over villages at least 2 km from every earlier station.
    n_dup = min(profile.n_duplicate_liaison, profile.n_liaison)
    v = _spread(dxy, np.vstack([p["xy"] for p in parts]), profile.n_liaison - n_dup, rng)
    xy = sample_points(polys[dix[v]], dxy[v, 0], dxy[v, 1], np.full(v.size, 80.0), rng)
    parts.append({"xy": xy, "town": dix[v], "tier": "station", "level": "town", "name": vname[v] + "代表联络站",
                  "prefix": "L"})
    # Liaison stations duplicating the reach of another: 300–900 m from a town home or spread station.
    anchors = np.vstack([parts[1]["xy"], xy])
    anchor_town = np.concatenate([parts[1]["town"], dix[v]])
    a = rng.choice(len(anchors), size=min(n_dup, len(anchors)), replace=False)
    ang = rng.uniform(0, 2 * np.pi, a.size)
    dist = rng.uniform(300.0, 900.0, a.size)
    target = anchors[a] + np.column_stack([np.cos(ang), np.sin(ang)]) * dist[:, None]
    t = anchor_town[a]
    inside = shapely.contains_xy(polys[t], target[:, 0], target[:, 1])
    for _ in range(8):  # targets that leave the town are pulled back halfway to the anchor
        target[~inside] = (target[~inside] + anchors[a][~inside]) / 2
        inside = shapely.contains_xy(polys[t], target[:, 0], target[:, 1])
    target[~inside] = sample_points(polys[t][~inside], anchors[a][~inside, 0], anchors[a][~inside, 1],
                                    np.full(int((~inside).sum()), 300.0), rng)
    order = np.lexsort((a, t))
    parts.append({"xy": target[order], "town": t[order], "tier": "station", "level": "town",
                  "name": numbered(tname[t[order]], "代表联络站", t[order]), "prefix": "L"})
    # Contact points hosted by venues where people gather, >= 1 km from the stations above,
    # so that the duplicated reach in the network is that of the liaison stations placed for it.
    cat = sites["category"].to_numpy()
    weight = pd.Series(cat).map({"market": 4, "bank": 3, "clinic": 1, "workshop": 1, "enterprise": 3,
                                 "service": 2, "street": 2}).to_numpy(dtype=float)
    site_xy = shapely.get_coordinates(sites.geometry.values)
    gap, _ = cKDTree(np.vstack([p["xy"] for p in parts])).query(site_xy)
    weight[gap < 1000.0] = 0.0
    n_c = min(profile.n_contact_points, int((weight > 0).sum()))
    s = np.sort(rng.choice(len(sites), size=n_c, replace=False, p=weight / weight.sum()))
    parts.append({"xy": site_xy[s], "town": pd.Index(tcode).get_indexer(sites["town_code"].to_numpy()[s]),
                  "tier": "point", "level": "town", "name": sites["name"].to_numpy()[s] + "代表联系点",
                  "prefix": "C", "site_id": sites["id"].to_numpy()[s]})

    frames = []
    counters: dict[str, int] = {}
    for p in parts:
        n = len(p["xy"])
        start = counters.get(p["prefix"], 0)
        counters[p["prefix"]] = start + n
        town = np.asarray(p["town"], dtype=int)
        share = profile.sector_share if p["tier"] != "home" else 0.0
        frames.append(pd.DataFrame({
            "id": [f"{p['prefix']}{start + i + 1:04d}" for i in range(n)],
            "name": np.asarray(p["name"], dtype=object),
            "tier": p["tier"],
            "level": p["level"],
            "town_code": tcode[town],
            "sector": _sectors(county_of[town], kind[town], mix, share, rng),
            "status": "active",
            "site_id": p.get("site_id", np.full(n, None, dtype=object)),
            "x": np.asarray(p["xy"])[:, 0],
            "y": np.asarray(p["xy"])[:, 1],
        }))
    df = pd.concat(frames, ignore_index=True)
    return gpd.GeoDataFrame(df.drop(columns=["x", "y"]), geometry=shapely.points(df[["x", "y"]].to_numpy()),
                            crs=towns.crs)
