"""Station standards: checklist import, the configurable score and five-good rule, league table, gaps layer."""
from __future__ import annotations

import datetime as dt
import doctest

import pandas as pd
import pytest

from geoplan.datasets import Dataset
from geoplan.operations import standards
from geoplan.operations._opinion_helpers import ImportRowsError
from geoplan.operations.opinion_synth import load_year
from geoplan.operations.opinions import flag_overdue
from geoplan.operations.standards import (
    ITEMS,
    RatingRule,
    activity_from_opinions,
    gaps_layer,
    league_table,
    read_checklist,
    score_stations,
)
from geoplan.settings import BUNDLED_DATASET

AS_OF = dt.date(2026, 12, 31)


def test_doctests() -> None:
    assert doctest.testmod(standards).failed == 0


def _full(sid: str, day: dt.date = dt.date(2026, 6, 1), missing: tuple[str, ...] = ()) -> pd.DataFrame:
    return pd.DataFrame({"station_id": sid, "item": list(ITEMS), "ok": [i not in missing for i in ITEMS],
                         "checked_on": day, "evidence": "照片"})


def _act(**kw: int) -> pd.DataFrame:
    base = {"station_id": "S", "reception_days": 10, "opinions": 6, "answered_on_time": 6, "overdue": 0}
    return pd.DataFrame([base | kw])


def test_checklist_import_names_every_bad_row() -> None:
    csv = ("station_id,item,ok,checked_on,evidence\n"
           "S1,有场所,是,2026-03-01,照片\n"
           "S1,venue,yes,2026-03-01,\n"
           "S2,garden,yes,2026-03-01,\n"
           "S3,sign,maybe,2026-13-01,\n"
           "S4,online,yes,,\n").encode()
    with pytest.raises(ImportRowsError) as exc:
        read_checklist(csv, frozenset({"S1", "S2", "S3"}), name="ck.csv")
    got = {(p.row, p.field) for p in exc.value.problems}
    assert got == {(3, "item"), (4, "item"), (5, "ok"), (5, "checked_on"), (6, "station_id"), (6, "checked_on")}


def test_score_and_five_goods_follow_the_rule() -> None:
    rule = RatingRule()
    best = score_stations(_full("S"), _act(), rule, AS_OF).iloc[0]
    assert best["score"] == 100.0 and best["rating"] == "five_good" and best["gaps"] == ""
    # one missing item: venue no longer "good", so not five-good, but the score still meets
    one = score_stations(_full("S", missing=("online",)), _act(), rule, AS_OF).iloc[0]
    assert not one["venue_good"] and one["rating"] == "meets" and one["score"] == 92.5 and one["gaps"] == "有网络平台"
    # a stale check counts as missing, and the gap says so
    stale = score_stations(_full("S", day=dt.date(2025, 1, 2)), _act(), rule, AS_OF).iloc[0]
    assert stale["items_in_place"] == 0 and "（检查已过期）" in stale["gaps"]
    # no opinions and few reception days: the station is not used
    idle = score_stations(_full("S"), _act(reception_days=1, opinions=0, answered_on_time=0), rule, AS_OF).iloc[0]
    assert not idle["activity_good"] and not idle["role_good"] and idle["score"] == pytest.approx(62.5)
    # the rule is configurable: a stricter pass mark turns the same station into needs_work
    strict = score_stations(_full("S"), _act(reception_days=1, opinions=0, answered_on_time=0),
                            RatingRule(meets_score=70), AS_OF).iloc[0]
    assert strict["rating"] == "needs_work"
    with pytest.raises(ValueError):
        RatingRule(min_on_time_share=2)


def test_bundled_league_table_and_gaps_layer() -> None:
    ds = Dataset.load(BUNDLED_DATASET)
    year = load_year()
    act = activity_from_opinions(flag_overdue(year.opinions, as_of=AS_OF), year.reception_days)
    active = sorted(ds.active_stations()["id"].astype(str))
    scores = score_stations(year.checklist, act, RatingRule(), AS_OF, station_ids=active)
    assert len(scores) == len(active) and set(scores["rating"]) == {"five_good", "meets", "needs_work"}
    league = league_table(scores, ds.stations, ds.towns)
    for _, g in league.groupby("county_code"):
        assert g["rank"].tolist() == list(range(1, len(g) + 1)) and g["score"].is_monotonic_decreasing
    county = ds.counties["code"].iloc[0]
    mine = league_table(scores, ds.stations, ds.towns, county=county)
    assert set(mine["county_code"]) == {county} and len(mine) < len(league)
    gaps = gaps_layer(scores, ds.stations)
    assert 0 < len(gaps) < len(active) and (gaps["items_in_place"] < 8).all() and (gaps["gaps"] != "").all()
    assert gaps.crs == ds.stations.crs and gaps.geometry.notna().all()
