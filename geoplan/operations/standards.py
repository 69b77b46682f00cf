"""Station standards: the "eight haves" (八有) checklist and the "five-good" (五好) rating.

Per station and item the checklist holds ``ok`` (the item is in place), the date it was checked
and an evidence note. A check older than :attr:`RatingRule.max_check_age_days` counts as not
checked. The score (0–100) and the rating follow a documented, configurable :class:`RatingRule`
that also uses the station's activity in the year — reception days held, opinions received,
share answered on time:

* **eight haves** — ``points_per_item`` for each item in place and checked (default 8 × 7.5 = 60);
* **reception days** — up to ``reception_points`` (20) in proportion to days held / target;
* **answered on time** — up to ``on_time_points`` (20) in proportion to the on-time share (a
  station that received no opinion gets no points here: it is not being used).

The five "goods", each a yes/no:

=================  ==========================================================================
阵地建设好 venue    venue, sign, office equipment and online platform all in place
制度机制好 rules    rules, work plan, records and study material all in place
活动开展好 activity reception days held >= ``reception_days_target``
作用发挥好 role     opinions received >= ``min_opinions`` and on-time share >= ``min_on_time_share``
群众评价好 people   no opinion of the station overdue at the year's end and at least one answered
=================  ==========================================================================

Rating: ``five_good`` (五好站点) when all five goods hold; ``meets`` (达标) when the score is at least
``meets_score``; otherwise ``needs_work`` (待整改).

Examples
--------
>>> import datetime as dt
>>> ck = pd.DataFrame({"station_id": ["S1"] * 8, "item": list(ITEMS), "ok": [True] * 8,
...                    "checked_on": [dt.date(2026, 6, 1)] * 8, "evidence": ["照片"] * 8})
>>> act = pd.DataFrame({"station_id": ["S1"], "reception_days": [12], "opinions": [9], "answered_on_time": [9],
...                     "overdue": [0]})
>>> s = score_stations(ck, act, RatingRule(), as_of=dt.date(2026, 12, 31))
>>> float(s.loc[0, "score"]), s.loc[0, "rating"]
(100.0, 'five_good')
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from geoplan.exceptions import InputError
from geoplan.operations._opinion_helpers import ImportRowsError, RowProblem, parse_date, read_table, require_columns

__all__ = ["GOODS", "ITEMS", "RATINGS", "RatingRule", "activity_from_opinions", "gaps_layer", "league_table",
           "read_checklist", "score_stations"]

#: The eight haves, in order, with their Chinese names.
ITEMS: dict[str, str] = {"venue": "有场所", "sign": "有标识", "rules": "有制度", "plan": "有计划",
                         "records": "有台账", "study": "有学习资料", "equipment": "有办公设备", "online": "有网络平台"}
GOODS: dict[str, str] = {"venue_good": "阵地建设好", "rules_good": "制度机制好", "activity_good": "活动开展好",
                         "role_good": "作用发挥好", "people_good": "群众评价好"}
RATINGS: dict[str, str] = {"five_good": "五好站点", "meets": "达标", "needs_work": "待整改"}
_VENUE_ITEMS = ("venue", "sign", "equipment", "online")
_RULE_ITEMS = ("rules", "plan", "records", "study")
CHECK_COLUMNS = ("station_id", "item", "ok", "checked_on", "evidence")
_TRUE = {"1", "true", "yes", "y", "是", "有", "√", "ok"}
_FALSE = {"0", "false", "no", "n", "否", "无", "×", ""}


class RatingRule(BaseModel):
    """The configurable scoring and rating rule (see the module docstring)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    points_per_item: float = Field(7.5, ge=0, le=100)
    reception_points: float = Field(20.0, ge=0, le=100)
    on_time_points: float = Field(20.0, ge=0, le=100)
    reception_days_target: int = Field(8, ge=1, le=366, description="reception days a year for full points")
    min_opinions: int = Field(3, ge=0)
    min_on_time_share: float = Field(0.8, ge=0, le=1)
    meets_score: float = Field(60.0, ge=0, le=100)
    max_check_age_days: int = Field(400, ge=1, description="older checks count as not checked")

    @property
    def max_score(self) -> float:
        """The highest possible score (100 with the defaults)."""
        return 8 * self.points_per_item + self.reception_points + self.on_time_points


def _bool(text: str) -> bool | None:
    t = text.strip().lower()
    return True if t in _TRUE else False if t in _FALSE else None


def read_checklist(source: str | Path | bytes, station_ids: frozenset[str] | None = None,
                   name: str | None = None) -> pd.DataFrame:
    r"""Read a checklist (``station_id, item, ok, checked_on, evidence``) from CSV/Excel, all or nothing.

    ``item`` is a key of :data:`ITEMS` or its Chinese name; ``ok`` is yes/no (是/否, 1/0, true/false).
    A station may list some items only; the same (station, item) twice is an error.

    Examples
    --------
    >>> csv = "station_id,item,ok,checked_on,evidence\nS1,有场所,是,2026-03-01,现场照片\n".encode()
    >>> r = read_checklist(csv, name="c.csv"); r.loc[0, "item"], bool(r.loc[0, "ok"])
    ('venue', True)
    """
    df, name = read_table(source, name) if not isinstance(source, bytes) else read_table(source, name or "upload.csv")
    require_columns(df, name, ("station_id", "item", "ok", "checked_on"))
    problems: list[RowProblem] = []
    rows: list[dict[str, object]] = []
    seen: set[tuple[str, str]] = set()
    for i, rec in enumerate(df.to_dict("records"), start=2):
        sid = rec["station_id"]
        if not sid:
            problems.append(RowProblem(name, i, "station_id", "is empty"))
        elif station_ids is not None and sid not in station_ids:
            problems.append(RowProblem(name, i, "station_id", f"unknown station {sid!r}"))
        item = rec["item"] if rec["item"] in ITEMS else next((k for k, v in ITEMS.items() if v == rec["item"]), None)
        if item is None:
            problems.append(RowProblem(name, i, "item", f"{rec['item']!r} is not one of {list(ITEMS)}"))
        ok = _bool(rec["ok"])
        if ok is None:
            problems.append(RowProblem(name, i, "ok", f"{rec['ok']!r} is not yes/no (是/否, 1/0, true/false)"))
        day = parse_date(rec["checked_on"]) if rec["checked_on"] else None
        if rec["checked_on"] and day is None:
            problems.append(RowProblem(name, i, "checked_on", f"{rec['checked_on']!r} is not a date YYYY-MM-DD"))
        if ok and day is None:
            problems.append(RowProblem(name, i, "checked_on", "an item in place needs the date it was checked"))
        evidence = rec.get("evidence", "")
        if len(evidence) > 500:
            problems.append(RowProblem(name, i, "evidence", "longer than 500 characters"))
        if item is not None and (sid, item) in seen:
            problems.append(RowProblem(name, i, "item", f"{sid}/{item} is listed twice"))
        seen.add((sid, str(item)))
        rows.append({"station_id": sid, "item": item, "ok": ok, "checked_on": day, "evidence": evidence})
    if problems:
        raise ImportRowsError(problems)
    return pd.DataFrame(rows, columns=list(CHECK_COLUMNS))


def activity_from_opinions(opinions: pd.DataFrame, reception_days: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per-station activity: ``reception_days, opinions, answered_on_time, overdue``.

    ``opinions`` needs ``station_id`` and the flags of :func:`~geoplan.operations.opinions.flag_overdue`;
    ``reception_days`` is ``station_id, reception_days`` (e.g. from the reception rota's record of
    days held).
    """
    ops = opinions[opinions["station_id"].notna() & (opinions["station_id"].astype(str) != "")]
    g = ops.groupby(ops["station_id"].astype(str))
    act = pd.DataFrame({"opinions": g.size(),
                        "answered_on_time": g["answered_on_time"].apply(lambda s: int((s == True).sum())),  # noqa: E712
                        "overdue": g["overdue"].apply(lambda s: int(s.sum()))})
    act.index.name = "station_id"
    if reception_days is not None:
        rd = reception_days.set_index(reception_days["station_id"].astype(str))["reception_days"]
        act = act.join(rd.rename("reception_days"), how="outer")
    else:
        act["reception_days"] = 0
    return act.fillna(0).astype(int).reset_index()


def score_stations(checklist: pd.DataFrame, activity: pd.DataFrame, rule: RatingRule, as_of: dt.date,
                   station_ids: list[str] | None = None) -> pd.DataFrame:
    """Score and rate each station; one row per station with items, goods, score, rating and gaps.

    Parameters
    ----------
    checklist
        Rows of :data:`CHECK_COLUMNS` (missing items count as not in place).
    activity
        ``station_id, reception_days, opinions, answered_on_time, overdue`` (missing = 0).
    rule
        The scoring rule.
    as_of
        Day of the assessment: checks older than ``rule.max_check_age_days`` do not count.
    station_ids
        The stations to rate (default: every station in either table).
    """
    ck = checklist.copy()
    if not len(ck):  # no check recorded yet: every item missing
        ck = pd.DataFrame({"station_id": pd.Series(dtype=str), "item": pd.Series(dtype=str),
                           "ok": pd.Series(dtype=bool), "checked_on": pd.Series(dtype=object)})
    checked = pd.to_datetime(ck["checked_on"])
    fresh = checked.notna() & ((pd.Timestamp(as_of) - checked).dt.days <= rule.max_check_age_days) \
        & (checked <= pd.Timestamp(as_of))
    ck["have"] = ck["ok"].astype(bool) & fresh
    ck["stale"] = ck["ok"].astype(bool) & ~fresh
    ids = station_ids if station_ids is not None else sorted(set(ck["station_id"].astype(str))
                                                              | set(activity["station_id"].astype(str)))
    rows = pd.Index(ids).get_indexer(pd.Index(ck["station_id"].astype(str)))
    cols = pd.Index(list(ITEMS)).get_indexer(pd.Index(ck["item"].astype(str)))
    known = (rows >= 0) & (cols >= 0)

    def grid(flag: str) -> pd.DataFrame:
        m = np.zeros((len(ids), len(ITEMS)), dtype=bool)
        hit = known & ck[flag].to_numpy(dtype=bool)
        m[rows[hit], cols[hit]] = True
        return pd.DataFrame(m, index=pd.Index(ids, name="station_id"), columns=list(ITEMS))

    have, stale = grid("have"), grid("stale")
    act = activity.set_index(activity["station_id"].astype(str)).reindex(ids)
    act = act[["reception_days", "opinions", "answered_on_time", "overdue"]].fillna(0).astype(int)
    n_items = have.sum(axis=1).to_numpy()
    share = np.divide(act["answered_on_time"].to_numpy(), act["opinions"].to_numpy(),
                      out=np.zeros(len(ids)), where=act["opinions"].to_numpy() > 0)
    recv = np.minimum(act["reception_days"].to_numpy() / rule.reception_days_target, 1.0)
    score = n_items * rule.points_per_item + recv * rule.reception_points + share * rule.on_time_points
    score = np.round(100.0 * score / rule.max_score, 1) if rule.max_score > 0 else np.zeros(len(ids))
    out = pd.DataFrame({"station_id": ids})
    for item in ITEMS:
        out[item] = have[item].to_numpy()
    out["items_in_place"] = n_items
    out = out.join(act.reset_index(drop=True))
    out["on_time_share"] = np.round(share, 3)
    out["venue_good"] = have[list(_VENUE_ITEMS)].all(axis=1).to_numpy()
    out["rules_good"] = have[list(_RULE_ITEMS)].all(axis=1).to_numpy()
    out["activity_good"] = act["reception_days"].to_numpy() >= rule.reception_days_target
    out["role_good"] = (act["opinions"].to_numpy() >= rule.min_opinions) & (share >= rule.min_on_time_share)
    out["people_good"] = (act["overdue"].to_numpy() == 0) & (act["answered_on_time"].to_numpy() > 0)
    out["goods"] = out[list(GOODS)].sum(axis=1)
    out["score"] = score
    out["rating"] = np.where(out["goods"] == len(GOODS), "five_good",
                             np.where(out["score"] >= rule.meets_score, "meets", "needs_work"))
    miss = ~have.to_numpy()
    labels = np.array([ITEMS[k] for k in ITEMS])
    old = stale.to_numpy()
    out["gaps"] = ["、".join(f"{lab}（检查已过期）" if o else lab for lab, m, o in zip(labels, row, orow) if m)
                   for row, orow in zip(miss, old)]
    return out


def league_table(scores: pd.DataFrame, stations: pd.DataFrame, towns: pd.DataFrame,
                 county: str | None = None) -> pd.DataFrame:
    """Stations ranked by score within their county (ties broken by id), with names and ratings."""
    st = stations[["id", "name", "tier", "town_code"]].astype(str).rename(columns={"id": "station_id"})
    tw = towns[["code", "name", "county_code"]].astype(str).rename(
        columns={"code": "town_code", "name": "town_name"})
    t = scores.merge(st, on="station_id", how="left").merge(tw, on="town_code", how="left")
    if county is not None:
        if county not in set(tw["county_code"]):
            raise InputError(f"league table: unknown county code {county!r}")
        t = t[t["county_code"] == county]
    t = t.sort_values(["county_code", "score", "station_id"], ascending=[True, False, True], kind="mergesort")
    t["rank"] = t.groupby("county_code").cumcount() + 1
    t["rating_zh"] = t["rating"].map(RATINGS)
    cols = ["county_code", "rank", "station_id", "name", "tier", "town_name", "score", "rating", "rating_zh", "goods",
            "items_in_place", "reception_days", "opinions", "on_time_share", "gaps"]
    return t[cols].reset_index(drop=True)


def gaps_layer(scores: pd.DataFrame, stations: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Map layer: the active stations that miss at least one of the eight haves, with what they miss."""
    st = stations[stations["status"].astype(str) == "active"][["id", "name", "tier", "town_code", "geometry"]]
    g = st.merge(scores[["station_id", "items_in_place", "gaps", "score", "rating"]],
                 left_on="id", right_on="station_id", how="inner").drop(columns="station_id")
    g = g[g["items_in_place"] < len(ITEMS)]
    g["rating_zh"] = g["rating"].map(RATINGS)
    return gpd.GeoDataFrame(g.reset_index(drop=True), geometry="geometry", crs=stations.crs)
