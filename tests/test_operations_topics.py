"""'1 + 5 + N' topic visits: every linked station once, no clash, sector first, briefs that print."""
from __future__ import annotations

import datetime as dt
import re
import subprocess

import icalendar
import pandas as pd
import pytest

from geoplan.assign import assign
from geoplan.exceptions import InputError
from geoplan.operations.ical import visit_events, write_calendars
from geoplan.operations.reception import plan_reception
from geoplan.operations.schedules import station_schedule_pdf, topic_brief_pdf
from geoplan.operations.tables import TableError
from geoplan.operations.topics import TopicRules, plan_topics, read_topics, topics_from_records
from geoplan.operations.workdays import WorkdayCalendar
from geoplan.settings import BUNDLED_DATASET

TOPICS = [
    {"id": "A1", "committee_id": "K1", "title": "高标准农田管护条例（草案）", "sectors": "agriculture,fisheries",
     "deliberation_date": "2026-06-18", "weeks_before": "4"},
    {"id": "A2", "committee_id": "K2", "title": "基层医疗卫生服务报告", "sectors": "health,education",
     "deliberation_date": "2026-06-18", "weeks_before": "3"},
    {"id": "A3", "committee_id": "K3", "title": "优化营商环境条例", "sectors": ["finance", "commerce"],
     "deliberation_date": "2026-05-28"},
]


@pytest.fixture
def setup(tiny_dataset):
    a = assign(tiny_dataset)
    rota = plan_reception(tiny_dataset, a, 2026)
    topics = topics_from_records(TOPICS, committees=tiny_dataset.committees["id"])
    return tiny_dataset, a, rota, topics


def test_every_linked_station_visited_once_without_clashes(setup):
    ds, a, rota, topics = setup
    vp = plan_topics(ds, a, topics, reception_days=rota.days, duties=rota.rota, rules=TopicRules())
    assert vp.metrics["solver_optimal"] == 1
    cg, gs = a.committee_groups, a.group_stations
    for t in topics.itertuples():
        linked = set(gs.loc[gs["group_id"].isin(cg.loc[cg["committee_id"] == t.committee_id, "group_id"]), "station_id"])
        st = vp.stations[vp.stations["topic_id"] == t.id]
        assert set(st["station_id"]) == linked and st["station_id"].is_unique
        v = vp.visits[vp.visits["topic_id"] == t.id]
        # once per station, inside the window, on working days
        assert (v.groupby("station_id")["date"].nunique() == 1).all()
        lo = t.deliberation_date - dt.timedelta(weeks=int(t.weeks_before))
        assert all(lo <= d < t.deliberation_date and WorkdayCalendar().is_workday(d) for d in v["date"])
        # deputies of the committee's groups, at stations of their own group
        groups = set(cg.loc[cg["committee_id"] == t.committee_id, "group_id"])
        assert set(v["group_id"]) <= groups
        assert set(zip(v["group_id"], v["station_id"])) <= set(zip(gs["group_id"], gs["station_id"]))
    visited = vp.stations["visited"].sum()
    missed = [u for u in vp.unmet if u.rule == "topic_station_visited"]
    assert visited + len(missed) == len(vp.stations)
    v = vp.visits
    # no clash: with reception days, reception duties, or each other
    assert v.merge(rota.days[["station_id", "date"]], on=["station_id", "date"]).empty
    assert v.merge(rota.rota[["deputy_id", "date"]], on=["deputy_id", "date"]).empty
    assert not v.duplicated(["deputy_id", "date"]).any()
    assert (v.groupby(["station_id", "date"])["topic_id"].nunique() == 1).all()
    # team size met or named
    teams = v.groupby(["topic_id", "station_id"]).size()
    short = {u.where.rsplit(" ", 1)[0]: u.amount for u in vp.unmet if u.rule == "topic_team_size"}
    for (tid, sid), n in teams.items():
        assert n == 2 or short[f"{tid} {sid}"] == 2 - n


def test_sector_matching_deputies_go_first(setup):
    ds, a, rota, topics = setup
    vp = plan_topics(ds, a, topics, reception_days=rota.days, duties=rota.rota)
    dep = ds.deputies.set_index("id")
    v = vp.visits.merge(topics[["id", "sectors"]], left_on="topic_id", right_on="id")
    for r in v.itertuples():
        assert r.sector_match == (dep.at[r.deputy_id, "sector"] in r.sectors)
    # wherever a non-matching deputy goes, no matching deputy of the station's committee groups was free
    cg, gs = a.committee_groups, a.group_stations
    for r in v[~v["sector_match"]].itertuples():
        groups = set(gs.loc[gs["station_id"] == r.station_id, "group_id"]) & \
            set(cg.loc[cg["committee_id"] == r.committee_id, "group_id"])
        pool = dep[dep["group_id"].isin(groups) & dep["sector"].isin(r.sectors)].index
        busy = set(v.loc[(v["date"] == r.date) | (v["topic_id"] == r.topic_id), "deputy_id"]) | \
            set(rota.rota.loc[rota.rota["date"] == r.date, "deputy_id"])
        assert set(pool) <= busy


def test_impossible_window_is_a_named_shortfall(setup):
    ds, a, rota, topics = setup
    # deliberation right after a four-day Dragon Boat/weekend break: one-week window, every
    # station's reception day on its only working day… make every day a reception day instead
    days = pd.DataFrame([(s, d) for s in rota.days["station_id"].unique()
                         for d in pd.date_range("2026-04-01", "2026-07-01").date], columns=["station_id", "date"])
    vp = plan_topics(ds, a, topics.iloc[:1], reception_days=days)
    assert vp.metrics["stations_visited"] == 0 and len(vp.visits) == 0
    assert all(u.rule == "topic_station_visited" and "no working day" in u.detail for u in vp.unmet)
    assert len(vp.unmet) == len(vp.stations)


def test_topics_table_validation_row_by_row(tmp_path, tiny_dataset):
    p = tmp_path / "topics.csv"
    p.write_text("id,committee_id,title,sectors,deliberation_date,weeks_before\n"
                 "T1,K1,好议题,agriculture,2026-06-01,4\n"
                 "T1,K1,重复,agriculture,2026-06-01,4\n"
                 "T3,K9,未知委员会,agriculture,2026-06-01,4\n"
                 "T4,K1,,space,2026-06-31,20\n", encoding="utf-8")
    with pytest.raises(TableError) as e:
        read_topics(p, committees=tiny_dataset.committees["id"])
    msgs = [str(x) for x in e.value.problems]
    assert "topics.csv line 3, field id: duplicate topic id 'T1'" in msgs
    assert any(m.startswith("topics.csv line 4, field committee_id: unknown committee 'K9'") for m in msgs)
    for f in ("title", "sectors", "deliberation_date", "weeks_before"):
        assert any(m.startswith(f"topics.csv line 5, field {f}:") for m in msgs), f
    assert not any("line 2" in m for m in msgs)
    with pytest.raises(TableError, match="api row 1, field colour: unknown field"):
        topics_from_records([{**TOPICS[0], "colour": "red"}])
    with pytest.raises(InputError, match="unknown committee"):
        plan_topics(tiny_dataset, assign(tiny_dataset), topics_from_records([{**TOPICS[0], "committee_id": "K7"}]))


def test_bundled_example_topics_read():
    t = read_topics(BUNDLED_DATASET.parent / "examples" / "topics.csv")
    assert len(t) >= 5 and t["id"].is_unique and all(len(s) >= 1 for s in t["sectors"])


def test_calendars_and_one_page_briefs(tmp_path, setup):
    ds, a, rota, topics = setup
    vp = plan_topics(ds, a, topics, reception_days=rota.days, duties=rota.rota)
    groups = {k: visit_events(vp.visits, per=k) for k in ("deputy", "station", "county")}
    write_calendars(groups, tmp_path / "ics", "专题调研", stamp=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc))
    dep = vp.visits["deputy_id"].iloc[0]
    cal = icalendar.Calendar.from_ical((tmp_path / "ics" / "deputies" / f"{dep}.ics").read_bytes())
    evs = cal.walk("VEVENT")
    mine = vp.visits[vp.visits["deputy_id"] == dep]
    assert len(evs) == len(mine)
    assert {e.decoded("dtstart").date() for e in evs} == set(mine["date"])
    assert all(e.decoded("dtstart").hour == 14 and str(e.decoded("dtstart").tzinfo) == "Asia/Shanghai" for e in evs)
    for tid in topics["id"]:
        pdf = tmp_path / f"brief_{tid}.pdf"
        topic_brief_pdf(vp, tid, pdf)
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
        assert re.search(r"^Pages:\s+1$", info, re.M), info
        text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
        assert topics.set_index("id").at[tid, "title"] in text
        fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout.splitlines()[2:]
        assert fonts and all(r.split()[-5] == "yes" for r in fonts)
    sched = tmp_path / "schedule.pdf"
    station_schedule_pdf(rota, sched, county="C1")
    text = subprocess.run(["pdftotext", str(sched), "-"], capture_output=True, text=True, check=True).stdout
    assert "接待群众日安排表" in text and rota.rota[rota.rota["county_code"] == "C1"]["deputy_id"].iloc[0] in text
    with pytest.raises(InputError, match="unknown topic"):
        topic_brief_pdf(vp, "ZZ")
