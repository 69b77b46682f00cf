"""Deputies, deputy groups and committees; the sector mix that deputies and stations are drawn from.

A deputy's sector is drawn from her county's **census industry mix** (the employed by industry,
:func:`geoplan.sources.city.census.industry_mix`) blended with a fixed mix of how congresses
over-represent cadres and the professions (:data:`REPRESENTATION_MIX`): 25 % of it for township
deputies, 50 % for the upper levels. In streets, farming and fishing weigh a quarter as much.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from numpy.typing import NDArray

from geoplan.datasets import SECTORS
from geoplan.sources.city._helpers import apportion, draw

#: Congress seats lean to government, industry and the professions (weights over SECTORS).
REPRESENTATION_MIX: tuple[float, ...] = (0.08, 0.02, 0.16, 0.06, 0.10, 0.08, 0.10, 0.10, 0.05, 0.07, 0.06, 0.12)

#: Special committees of a city congress (and its standing committee's budget office) with their fields.
COMMITTEES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("法制委员会", ("law", "government")),
    ("监察和司法委员会", ("law", "social")),
    ("财政经济委员会", ("finance", "commerce", "manufacturing", "energy")),
    ("预算工作委员会", ("finance", "government")),
    ("教育科学文化卫生委员会", ("education", "health")),
    ("城乡建设环境与资源保护委员会", ("environment", "energy")),
    ("农业与农村委员会", ("agriculture", "fisheries")),
    ("社会建设委员会", ("social", "health")),
    ("民族宗教侨务外事委员会", ("social", "commerce")),
    ("代表人事选举委员会", ("government", "social")),
)

_FARMING = np.isin(np.asarray(SECTORS), ("agriculture", "fisheries"))


def sector_probs(county: NDArray[np.object_], kind: NDArray[np.object_], mix: pd.DataFrame,
                 representation: float) -> NDArray[np.float64]:
    """Rows of sector probabilities: the county's census mix blended with :data:`REPRESENTATION_MIX`."""
    base = mix.reindex(pd.Index(county)).to_numpy(dtype=float)
    probs = (1 - representation) * base + representation * np.asarray(REPRESENTATION_MIX)
    probs[np.ix_(kind == "street", _FARMING)] *= 0.25
    return probs / probs.sum(axis=1, keepdims=True)


def build_deputies(
    towns: gpd.GeoDataFrame, demand: gpd.GeoDataFrame, mix: pd.DataFrame, upper: dict[str, int],
    rng: np.random.Generator,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Pseudonymous deputies at five levels in groups of about ten.

    Township congresses (towns and townships only; streets, farms and parks have none) have
    40–130 seats by population (40 + population / 950); the upper levels (``upper``, city-wide
    totals) are apportioned to towns by population. Each town's deputies are split, by sector, into
    groups of about ten; about 5 % of deputies live in another town of the same county.

    Returns
    -------
    deputies, groups : DataFrame
    """
    kind = towns["kind"].to_numpy()
    tcode = towns["code"].to_numpy()
    county = towns["county_code"].to_numpy()
    dix = pd.Index(tcode).get_indexer(demand["town_code"])
    pop = np.bincount(dix, weights=demand["population"].to_numpy(), minlength=len(towns))
    congress = np.isin(kind, ("town", "township"))
    seats = {"town": np.where(congress, np.clip(np.round(40 + pop / 950.0), 40, 130), 0).astype(int)}
    for lv, total in upper.items():
        seats[lv] = apportion(total, pop)
    levels = [lv for lv in ("national", "provincial", "city", "county", "town") if lv in seats]
    town = np.concatenate([np.repeat(np.arange(len(towns)), seats[lv]) for lv in levels])
    level = np.concatenate([np.full(seats[lv].sum(), lv, dtype=object) for lv in levels])
    n = town.size
    high = level != "town"
    probs = np.where(high[:, None], sector_probs(county[town], kind[town], mix, 0.5),
                     sector_probs(county[town], kind[town], mix, 0.25))
    sector_ix = draw(probs, rng)
    # Groups: within a town, deputies sorted by sector are cut into chunks of ~10.
    order = np.lexsort((rng.random(n), sector_ix, town))
    town, level, sector_ix = town[order], level[order], sector_ix[order]
    per_town = np.bincount(town, minlength=len(towns))
    n_groups = np.maximum(1, np.round(per_town / 10.4)).astype(int)
    n_groups[per_town == 0] = 0
    rank = np.arange(n) - np.repeat(np.cumsum(per_town) - per_town, per_town)
    local = (rank * n_groups[town]) // np.maximum(per_town[town], 1)  # balanced chunks
    gid = (np.cumsum(n_groups) - n_groups)[town] + local
    # A few deputies live in another town of their county (they still meet with their group).
    home = town.copy()
    for i in np.flatnonzero(rng.random(n) < 0.05):
        same = np.flatnonzero(county == county[town[i]])
        if same.size > 1:
            home[i] = rng.choice(same[same != town[i]])
    deputies = pd.DataFrame({
        "id": [f"D{i + 1:05d}" for i in range(n)],
        "level": level,
        "group_id": [f"G{g + 1:04d}" for g in gid],
        "sector": np.asarray(SECTORS, dtype=object)[sector_ix],
        "home_town_code": tcode[home],
    })
    g_town = np.repeat(np.arange(len(towns)), n_groups)
    counts = np.zeros((g_town.size, len(SECTORS)), dtype=int)
    np.add.at(counts, (gid, sector_ix), 1)
    k = np.concatenate([np.arange(m) + 1 for m in n_groups])
    tname = towns["name"].to_numpy()
    groups = pd.DataFrame({
        "id": [f"G{g + 1:04d}" for g in range(g_town.size)],
        "name": [f"{tname[t]}代表小组{j}" if n_groups[t] > 1 else f"{tname[t]}代表小组" for t, j in zip(g_town, k)],
        "county_code": county[g_town],
        "town_code": tcode[g_town],
        "sector": np.asarray(SECTORS, dtype=object)[counts.argmax(axis=1)],  # dominant sector, ties → first
    })
    return deputies, groups


def build_committees() -> pd.DataFrame:
    """The special committees of the city congress with the sectors they cover."""
    return pd.DataFrame({
        "id": [f"K{i + 1:02d}" for i in range(len(COMMITTEES))],
        "name": [n for n, _ in COMMITTEES],
        "sectors": [",".join(s) for _, s in COMMITTEES],
    })
