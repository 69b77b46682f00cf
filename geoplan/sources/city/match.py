"""Matching today's towns and villages to the NBS 2016 table: centre points and urban-rural classes.

Division codes change: towns merge, split, are renamed (乡→镇, 镇→街道) or created, and villages
move with them. The rules, in order, each applied only to units the earlier ones left:

Towns
    1. **code**: the 2016 row with the same code, if the names agree (one core, see
       :func:`core_name`, is a subsequence of the other, brackets counting as a second name:
       ``伍佑街道（城南新区）`` and ``开发区（钟庄街道）`` are ``伍佑街道`` and ``钟庄街道``);
    2. **name in county**: the only 2016 town of the same county with the same core name
       (``山左口乡`` → ``山左口镇``, ``东坎镇`` → ``东坎街道``);
    3. otherwise unmatched: the town has no real centre point.

Villages
    1. **code**: the 2016 row with the same 12-digit code;
    2. **name in town**: the only 2016 village of the matched 2016 town with the same core name;
    3. **name in county**: the only 2016 village of the same county with that core name;
    4. otherwise **rule**: the most common class among the matched units of the same kind
       (community or village, :func:`~geoplan.sources.city._helpers.is_community`) in its town;
       if there is none, 111 for a community in a street, 121 for a community elsewhere, 220 for
       a village.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from geoplan.sources.city._helpers import is_community, town_kind

MatchSource = Literal["code", "name_in_town", "name_in_county", "rule"]

_TOWN_SUFFIX = r"(街道办事处|办事处|街道|管委会|管理委员会|镇|乡)$"
_VILLAGE_SUFFIX = r"(社区居民委员会|社区居委会|社区居委员|居民委员会|居委会|村民委员会|村委会|委员会|社区|村)$"


def core_name(names: pd.Series, kind: Literal["town", "village"]) -> pd.Series:
    """Name without its administrative suffix and bracketed note: ``'东坎镇'`` → ``'东坎'``.

    Examples
    --------
    >>> core_name(pd.Series(["伍佑街道（城南新区）", "山左口乡"]), "town").tolist()
    ['伍佑', '山左口']
    >>> core_name(pd.Series(["东盛居委会", "东盛社区居民委员会", "王村村委会"]), "village").tolist()
    ['东盛', '东盛', '王村']
    """
    s = names.astype(str).str.replace(r"[（(][^）)]*[）)]", "", regex=True).str.strip()
    return s.str.replace(_TOWN_SUFFIX if kind == "town" else _VILLAGE_SUFFIX, "", regex=True)


@dataclass(frozen=True)
class Matched:
    """Today's units with what the 2016 table says about them (WGS84 points, NaN where unknown)."""

    towns: pd.DataFrame  # code, match (code | name_in_county | ""), code2016, lon, lat
    villages: pd.DataFrame  # code, ur_code, ur_source (MatchSource), lon, lat

    def summary(self) -> dict[str, int]:
        """How many units each rule matched (``towns_code``, ``villages_rule``, …)."""
        out = {f"towns_{k or 'unmatched'}": int(n) for k, n in self.towns["match"].value_counts().items()}
        out["towns_with_centre"] = int(np.isfinite(self.towns["lon"].to_numpy(dtype=float)).sum())
        out |= {f"villages_{k}": int(n) for k, n in self.villages["ur_source"].value_counts().items()}
        return out


def _unique_lookup(keys: pd.DataFrame, table: pd.DataFrame, on: list[str]) -> pd.Series:
    """For each row of ``keys`` the ``code`` of the only ``table`` row with equal ``on`` columns, else NaN."""
    counts = table.groupby(on)["code"].agg(["count", "first"])
    unique = counts[counts["count"] == 1]["first"]
    idx = pd.MultiIndex.from_frame(keys[on]) if len(on) > 1 else pd.Index(keys[on[0]])
    return pd.Series(unique.reindex(idx).to_numpy(), index=keys.index)


def _subsequence(short: str, long: str) -> bool:
    it = iter(long)
    return all(ch in it for ch in short)


def _names_agree(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Whether two names are the same unit: one core is a subsequence of the other.

    ``江苏省弶港农场`` agrees with ``江苏省农垦弶港农场``; a name in brackets counts too
    (``钟庄街道`` agrees with ``开发区（钟庄街道）``).
    """
    def variants(s: pd.Series) -> list[list[str]]:
        text = s.fillna("").astype(str)
        inner = text.str.extract(r"[（(]([^）)]*)[）)]", expand=False).fillna("")
        cores = core_name(text, "town"), core_name(inner, "town")
        return [[v for v in pair if v] for pair in zip(*cores)]

    out = []
    for xs, ys in zip(variants(a), variants(b)):
        out.append(any(_subsequence(x, y) or _subsequence(y, x) for x in xs for y in ys))
    return np.array(out, dtype=bool)


def match_towns(streets: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Today's towns → 2016 town rows (rules 1–2 of the module docstring)."""
    t16 = table[table["level"] == "town"].copy()
    t16["core"] = core_name(t16["name"], "town")
    t16["county"] = t16["code"].str[:6]
    by_code = t16.set_index("code")
    cur = streets[["code", "name", "county_code"]].copy()
    cur["core"] = core_name(cur["name"], "town")
    code12 = cur["code"] + "000"
    same = by_code.reindex(code12)
    ok = same["name"].notna().to_numpy() & _names_agree(cur["name"], same["name"].reset_index(drop=True))
    code2016 = code12.where(pd.Series(ok, index=cur.index))
    match = pd.Series(["code" if o else "" for o in ok], index=cur.index)
    free = t16[~t16["code"].isin(code2016.dropna())]
    rest = ~ok
    keys = cur.loc[rest, ["county_code", "core"]].rename(columns={"county_code": "county"})
    found = _unique_lookup(keys, free, ["county", "core"])
    hit = found.notna()
    code2016[found.index[hit]] = found[hit].to_numpy()
    match[found.index[hit]] = "name_in_county"
    pts = by_code.reindex(code2016.fillna(""))
    return pd.DataFrame({
        "code": cur["code"].to_numpy(), "match": match.to_numpy(), "code2016": code2016.to_numpy(),
        "lon": pts["lon"].to_numpy(dtype=float), "lat": pts["lat"].to_numpy(dtype=float),
    })


def match_villages(villages: pd.DataFrame, streets: pd.DataFrame, towns: pd.DataFrame,
                   table: pd.DataFrame) -> pd.DataFrame:
    """Today's villages → 2016 village rows and urban-rural classes (rules 1–4 of the module docstring)."""
    v16 = table[table["level"] == "village"].copy()
    v16["core"] = core_name(v16["name"], "village")
    v16["county"] = v16["code"].str[:6]
    by_code = v16.set_index("code")
    cur = villages[["code", "name", "town_code"]].copy()
    cur["core"] = core_name(cur["name"], "village")
    cur["county"] = cur["code"].str[:6]
    cur["parent"] = cur["town_code"].map(towns.set_index("code")["code2016"])
    matched = cur["code"].where(cur["code"].isin(by_code.index))
    source = pd.Series(["code" if m else "rule" for m in matched.notna()], index=cur.index)
    for label, on in (("name_in_town", ["parent", "core"]), ("name_in_county", ["county", "core"])):
        rest = matched.isna() & cur[on[0]].notna()
        found = _unique_lookup(cur.loc[rest], v16, on)
        hit = found.notna()
        matched[found.index[hit]] = found[hit].to_numpy()
        source[found.index[hit]] = label
    row = by_code.reindex(matched.fillna(""))
    ur = pd.Series(row["ur_code"].to_numpy(), index=cur.index, dtype=object)
    ur[~ur.isin(("111", "112", "121", "122", "123", "210", "220"))] = None
    source[ur.isna()] = "rule"
    # Rule 4: the town's most common class among matched units of the same kind, else by town kind.
    comm = is_community(cur["code"], cur["name"])
    frame = pd.DataFrame({"town": cur["town_code"], "comm": comm, "ur": ur})
    common = frame.dropna().groupby(["town", "comm"])["ur"].agg(lambda s: str(s.value_counts().sort_index().idxmax()))
    need = ur.isna().to_numpy()
    keys = pd.MultiIndex.from_arrays([cur["town_code"][need], comm[need]])
    fill = pd.Series(common.reindex(keys).to_numpy(), index=cur.index[need], dtype=object)
    street = pd.Series(town_kind(streets["name"]) == "street", index=streets["code"])
    in_street = cur["town_code"].map(street).to_numpy()[need]
    default = np.where(comm[need], np.where(in_street, "111", "121"), "220")
    ur[need] = fill.fillna(pd.Series(default, index=fill.index)).to_numpy()
    lon = np.where(source != "rule", row["lon"].to_numpy(dtype=float), np.nan)
    lat = np.where(source != "rule", row["lat"].to_numpy(dtype=float), np.nan)
    return pd.DataFrame({"code": cur["code"].to_numpy(), "ur_code": ur.to_numpy(), "ur_source": source.to_numpy(),
                         "lon": lon, "lat": lat})


def match(streets: pd.DataFrame, villages: pd.DataFrame, table: pd.DataFrame) -> Matched:
    """Match today's towns and villages to the 2016 table (see the module docstring for the rules).

    Parameters
    ----------
    streets : DataFrame
        Today's town-level units: code, name, county_code.
    villages : DataFrame
        Today's villages and communities: code, name, town_code.
    table : DataFrame
        The 2016 table as read by :func:`geoplan.sources.city.inputs.read_raw`.

    Returns
    -------
    Matched
    """
    towns = match_towns(streets, table)
    return Matched(towns=towns, villages=match_villages(villages, streets, towns, table))
