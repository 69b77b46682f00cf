"""Census targets per county-level unit: population (urban/rural), share aged 65+, industry mix.

Rules for the cases the county rows leave open (``report`` says which applied):

* A unit **with a census row** gets that row, to the person.
* Units **without a row** (a development zone such as 320771) share the **residual**: the city row
  minus the sum of the county rows, for the total and for the urban part (clipped to the total; the
  rural part is the rest). They share it in proportion to their number of villages and communities,
  and take the city row's share aged 65+ and industry mix.
* If there is no residual (no city row, or the county rows already reach it), a unit without a row is
  taken as **counted in its host's row**: its villages are filled from the host's total together with
  the host's own (``source = "host"``).
* A residual with no unit to take it, or a city row below the county sum, is reported; the county
  rows win.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoplan.datasets import SECTORS
from geoplan.sources.city._helpers import apportion
from geoplan.sources.city.inputs import (
    CENSUS_65PLUS,
    CENSUS_INDUSTRIES,
    CENSUS_TOTAL,
    CENSUS_URBAN,
)

#: How the census industries map onto the dataset's sectors. The census does not separate fisheries
#: from farming nor law from public administration: those two splits are modelling assumptions.
_INDUSTRY_SECTORS: dict[str, tuple[tuple[str, float], ...]] = {
    "农林牧渔业": (("agriculture", 0.85), ("fisheries", 0.15)),
    "采矿业": (("manufacturing", 1.0),),
    "制造业": (("manufacturing", 1.0),),
    "电力热力燃气及水生产和供应业": (("energy", 1.0),),
    "建筑业": (("manufacturing", 1.0),),
    "批发和零售业": (("commerce", 1.0),),
    "交通运输仓储和邮政业": (("commerce", 1.0),),
    "住宿和餐饮业": (("commerce", 1.0),),
    "信息传输软件和信息技术服务业": (("commerce", 1.0),),
    "金融业": (("finance", 1.0),),
    "房地产业": (("commerce", 1.0),),
    "租赁和商务服务业": (("commerce", 1.0),),
    "科学研究和技术服务业": (("education", 1.0),),
    "水利环境和公共设施管理业": (("environment", 1.0),),
    "居民服务修理和其服务业": (("social", 1.0),),
    "教育": (("education", 1.0),),
    "卫生和社会工作": (("health", 1.0),),
    "文化体育和娱乐业": (("education", 1.0),),
    "公共管理社会保障和社会组织": (("government", 0.7), ("law", 0.3)),
}
_MIX = np.zeros((len(CENSUS_INDUSTRIES), len(SECTORS)))
for _i, _industry in enumerate(CENSUS_INDUSTRIES):
    for _sector, _w in _INDUSTRY_SECTORS[_industry]:
        _MIX[_i, SECTORS.index(_sector)] = _w


@dataclass(frozen=True)
class Targets:
    """Per county-level unit (indexed by code): what the census fixes.

    ``counties`` columns: population, urban, rural (ints), share_65plus (0–1), source
    (census | residual | host), pool (the code whose total the unit's villages are filled from).
    ``sectors``: one row per code, one column per sector, rows summing to 1 (the employed by industry).
    """

    counties: pd.DataFrame
    sectors: pd.DataFrame
    report: tuple[str, ...]


def _value(df: pd.DataFrame, code: str, column: str) -> float:
    """One number of a frame indexed by code."""
    return float(df[column].to_numpy(dtype=float)[df.index.get_loc(code)])


def industry_mix(census: pd.DataFrame) -> pd.DataFrame:
    """Share of the employed per sector (rows sum to 1), from the census industry columns.

    Examples
    --------
    >>> row = pd.DataFrame({c: [1.0] for c in CENSUS_INDUSTRIES}, index=["320900"])
    >>> round(float(industry_mix(row).loc["320900"].sum()), 6)
    1.0
    """
    counts = census[list(CENSUS_INDUSTRIES)].fillna(0.0).to_numpy(dtype=float) @ _MIX
    total = counts.sum(axis=1, keepdims=True)
    even = np.full_like(counts, 1.0 / len(SECTORS))
    shares = np.where(total > 0, counts / np.where(total > 0, total, 1.0), even)
    return pd.DataFrame(shares, index=census.index, columns=list(SECTORS))


def county_targets(
    areas: pd.DataFrame, census: pd.DataFrame, city: str, n_villages: pd.Series, hosts: dict[str, str]
) -> Targets:
    """The census targets of every county-level unit of ``areas`` (rules in the module docstring).

    Parameters
    ----------
    areas : DataFrame
        The county-level units (code, name).
    census : DataFrame
        Census rows indexed by code (:func:`geoplan.sources.city.inputs.read_raw`).
    city : str
        The six-digit city code (its census row, if any, gives the city total).
    n_villages : Series
        Villages and communities per county code (weights for sharing a residual).
    hosts : dict
        The host county of each unit without a boundary.
    """
    codes = list(areas["code"])
    with_row = [c for c in codes if c in census.index]
    without = [c for c in codes if c not in census.index]
    report: list[str] = []
    rows = census.loc[with_row]
    out = pd.DataFrame(index=pd.Index(codes, name="code"))
    out["population"] = 0
    out["urban"] = 0
    out["rural"] = 0
    out["share_65plus"] = np.nan
    out["source"] = "census"
    out["pool"] = codes
    out.loc[with_row, "population"] = rows[CENSUS_TOTAL].round().astype(int).to_numpy()
    out.loc[with_row, "urban"] = rows[CENSUS_URBAN].round().astype(int).to_numpy()
    out.loc[with_row, "rural"] = out.loc[with_row, "population"] - out.loc[with_row, "urban"]
    out.loc[with_row, "share_65plus"] = rows[CENSUS_65PLUS].to_numpy(dtype=float) / 100.0
    mix = industry_mix(census)
    sectors = pd.DataFrame(index=out.index, columns=list(SECTORS), dtype=float)
    sectors.loc[with_row] = mix.loc[with_row].to_numpy()
    has_city = city in census.index
    residual = residual_urban = 0
    if has_city:
        residual = round(_value(census, city, CENSUS_TOTAL)) - int(out["population"].sum())
        residual_urban = round(_value(census, city, CENSUS_URBAN)) - int(out["urban"].sum())
        if residual < 0:
            report.append(f"census: the city row is {-residual:,} below the sum of the county rows; "
                          "the county rows are used")
    if without and residual > 0:
        weights = n_villages.reindex(without).fillna(0).to_numpy(dtype=float)
        total = apportion(residual, weights)
        urban = apportion(min(max(residual_urban, 0), residual), weights)
        out.loc[without, "population"] = total
        out.loc[without, "urban"] = np.minimum(urban, total)
        out.loc[without, "rural"] = total - out.loc[without, "urban"].to_numpy()
        out.loc[without, "share_65plus"] = _value(census, city, CENSUS_65PLUS) / 100.0
        sectors.loc[without] = mix.loc[city].to_numpy()
        out.loc[without, "source"] = "residual"
        report.append(f"census: no row for {', '.join(without)}; they share the city's residual of "
                      f"{residual:,} people (city row minus the county rows)")
    elif without:
        for code in without:
            host = hosts.get(code)
            if host is None or host not in with_row:
                report.append(f"census: {code} has no row and no host with a row; it gets no population")
                out.loc[code, "source"] = "none"
                sectors.loc[code] = mix.loc[city].to_numpy() if has_city else 1.0 / len(SECTORS)
                out.loc[code, "share_65plus"] = _value(census, city, CENSUS_65PLUS) / 100.0 if has_city else 0.0
                continue
            out.loc[code, "source"] = "host"
            out.loc[code, "pool"] = host
            out.loc[code, "share_65plus"] = _value(out, host, "share_65plus")
            sectors.loc[code] = sectors.loc[host].to_numpy()
            report.append(f"census: {code} has no row and the city row has no residual; it is taken as "
                          f"counted in its host {host}")
    elif residual > 0:
        report.append(f"census: the city row exceeds the county rows by {residual:,} and every unit has a row; "
                      "the county rows are used")
    unknown = [c for c in census.index if c != city and c not in codes]
    if unknown:
        report.append(f"census: rows {', '.join(unknown)} match no county-level unit in areas.csv; ignored")
    return Targets(counties=out, sectors=sectors.astype(float), report=tuple(report))
