"""Reception calendars and the rota: rules held, shortfalls named and minimal, files that re-read."""
from __future__ import annotations

import datetime as dt

import icalendar
import networkx as nx
import pandas as pd
import pyogrio
import pytest

from geoplan.assign import assign
from geoplan.datasets import Dataset
from geoplan.exceptions import InputError
from geoplan.operations.calendars import CalendarEntry, DayRule, ReceptionCalendar, calendar_from_records, read_calendar
from geoplan.operations.ical import rota_events, write_calendars
from geoplan.operations.reception import ReceptionRules, plan_reception, read_unavailable, reception_days
from geoplan.operations.tables import TableError
from geoplan.operations.workdays import WorkdayCalendar, read_day_overrides

STAMP = dt.datetime(2026, 12, 1, tzinfo=dt.timezone.utc)


@pytest.fixture
def tiny_assignment(tiny_dataset: Dataset):
    return assign(tiny_dataset)


def check_rota(rota, rules: ReceptionRules, unavailable: pd.DataFrame | None = None) -> None:
    r = rota.rota
    # no deputy twice on one day
    assert not r.duplicated(["deputy_id", "date"]).any()
    # every station-day either has min_deputies or is named as short by exactly the gap
    short = {u.where: u.amount for u in rota.unmet if u.rule == "station_min_deputies"}
    for d in rota.days.itertuples():
        gap = rules.min_deputies - d.deputies
        assert short.get(f"{d.station_id} {d.date}", 0) == max(gap, 0)
    # every deputy at least min_per_year or named
    below = {u.where for u in rota.unmet if u.rule == "deputy_min_per_year"}
    assert set(rota.load.loc[rota.load["duties"] < rota.load["required"], "deputy_id"]) == below
    if unavailable is not None:
        bad = r.merge(unavailable, on=["deputy_id", "date"])
        assert bad.empty


# --------------------------------------------------------------------------- calendars
def test_day_rule_moves_to_next_working_day_on_the_official_calendar():
    # 2026-02-15 is a Sunday inside the Spring Festival break (15–23 Feb): next working day 24 Feb
    dates = DayRule.parse("quarter:2:15:next").dates(2026, WorkdayCalendar())
    assert dates == [dt.date(2026, 2, 24), dt.date(2026, 5, 15), dt.date(2026, 8, 17), dt.date(2026, 11, 16)]
    assert DayRule.parse("quarter:2:15:none").dates(2026, WorkdayCalendar())[0] == dt.date(2026, 2, 15)
    # Saturday 28 Feb 2026 is an adjusted working day (调休), so "previous" stays on it
    assert DayRule.parse("month:31:previous").dates(2026, WorkdayCalendar())[1] == dt.date(2026, 2, 28)
    assert DayRule.parse("month:31:previous").dates(2026, WorkdayCalendar())[4] == dt.date(2026, 5, 29)
    with pytest.raises(InputError, match="quarter:MONTH"):
        DayRule.parse("quarterly 2 15")


def test_fallback_year_says_so_and_uses_the_supplied_holidays(tmp_path):
    p = tmp_path / "h.csv"
    p.write_text("date,kind\n2027-02-15,holiday\n2027-02-16,holiday\n", encoding="utf-8")
    wd = read_day_overrides(p)
    cal = ReceptionCalendar()
    towns = pd.DataFrame({"code": ["T1"], "county_code": ["C1"]})
    days, notes = cal.days(2027, ["C1"], towns, wd)
    assert list(days["date"]) == [dt.date(2027, 2, 17), dt.date(2027, 5, 17), dt.date(2027, 8, 16),
                                  dt.date(2027, 11, 15)]
    assert any("2027: not in chinese-calendar" in n and "2 user-supplied" in n for n in notes)
    _, notes = cal.days(2027, ["C1"], towns, WorkdayCalendar())
    assert any("public holidays are NOT excluded" in n for n in notes)


def test_town_entries_replace_the_county_and_explicit_dates_are_kept(tiny_dataset, tiny_assignment):
    cal = ReceptionCalendar(entries=(
        CalendarEntry(county_code="C1", rule=DayRule(month=1, day=10)),
        CalendarEntry(county_code="C1", town_code="T2", date=dt.date(2026, 3, 7), start=dt.time(14, 30),
                      end=dt.time(17)),  # a Saturday: kept, with a note
    ))
    days, notes = reception_days(tiny_dataset, tiny_assignment, [2026], cal)
    t2 = days[days["town_code"] == "T2"]
    assert set(t2["date"]) == {dt.date(2026, 3, 7)} and set(t2["start"]) == {dt.time(14, 30)}
    t1 = days[days["town_code"] == "T1"]
    assert len(set(t1["date"])) == 4 and set(t1["source"]) == {"county"}
    c2 = days[days["county_code"] == "C2"]
    assert set(c2["source"]) == {"default"}
    assert any("2026-03-07" in n and "not a working day" in n for n in notes)


def test_calendar_csv_errors_name_file_line_field_and_nothing_is_read(tmp_path):
    p = tmp_path / "cal.csv"
    p.write_text("county_code,town_code,date,rule,start,end\n"
                 "C1,,2027-02-30,,,\n"
                 "C1,,,quarter:4:15,,\n"
                 "C1,,2027-03-01,quarter:2:15,,\n"
                 ",,2027-03-01,,10:00,09:00\n"
                 "C2,,,month:15,,\n", encoding="utf-8")
    with pytest.raises(TableError) as e:
        read_calendar(p)
    msgs = [str(x) for x in e.value.problems]
    assert "cal.csv line 2, field date: '2027-02-30' is not a date YYYY-MM-DD" in msgs
    assert any(m.startswith("cal.csv line 3, field rule:") for m in msgs)
    assert any(m.startswith("cal.csv line 4, field date: give exactly one") for m in msgs)
    assert any(m.startswith("cal.csv line 5, field county_code: is required") for m in msgs)
    assert not any("line 6" in m for m in msgs)
    # unknown county / a town of another county, from API records
    cal = calendar_from_records([{"county_code": "C9", "rule": "month:1"},
                                 {"county_code": "C1", "town_code": "T3", "rule": "month:1"}])
    with pytest.raises(TableError, match="unknown county 'C9'.*T3.*not a town of county C1"):
        cal.days(2026, ["C1", "C2"], pd.DataFrame({"code": ["T1", "T3"], "county_code": ["C1", "C2"]}),
                 WorkdayCalendar())


# --------------------------------------------------------------------------- the rota
def test_rota_meets_every_rule_on_the_tiny_dataset(tiny_dataset, tiny_assignment):
    rules = ReceptionRules()
    rota = plan_reception(tiny_dataset, tiny_assignment, 2026, rules=rules)
    check_rota(rota, rules)
    assert rota.unmet == ()
    assert rota.metrics["station_days_short"] == 0 and rota.metrics["deputies_below_min"] == 0
    assert rota.metrics["max_group_spread"] <= 1 and rota.metrics["lp_integral"] == 1
    # every active station (11 of 12; ST11 is closed) × 4 quarterly days
    assert len(rota.days) == 44 and "ST11" not in set(rota.days["station_id"])
    # deputies serve only stations their group is linked to
    links = set(zip(tiny_assignment.group_stations["group_id"], tiny_assignment.group_stations["station_id"]))
    assert set(zip(rota.rota["group_id"], rota.rota["station_id"])) <= links
    assert set(rota.load["deputy_id"]) == set(tiny_dataset.deputies["id"])


def _max_fill(rota, assignment, ds, rules) -> int:
    """Most station-day slots (capped at min_deputies) any rota can fill: a max flow."""
    g = nx.DiGraph()
    members = ds.deputies.groupby("group_id")["id"].apply(list)
    for d in rota.days.itertuples():
        sd = ("sd", d.station_id, d.date)
        g.add_edge(sd, "t", capacity=rules.min_deputies)
        for grp in assignment.group_stations.loc[assignment.group_stations["station_id"] == d.station_id, "group_id"]:
            for dep in members.get(grp, []):
                g.add_edge(("dd", dep, d.date), sd, capacity=1)
                g.add_edge("s", ("dd", dep, d.date), capacity=1)
    return int(nx.maximum_flow_value(g, "s", "t")) if g.number_of_nodes() else 0


def test_infeasible_rules_give_the_least_shortfall_and_a_partial_rota(tiny_dataset, tiny_assignment):
    rules = ReceptionRules(min_deputies=6)
    rota = plan_reception(tiny_dataset, tiny_assignment, 2026, rules=rules)
    check_rota(rota, rules)
    short = sum(u.amount for u in rota.unmet if u.rule == "station_min_deputies")
    assert short > 0
    # the shortfall is the least possible: the max-flow bound of one-duty-a-day
    assert short == 6 * len(rota.days) - _max_fill(rota, tiny_assignment, tiny_dataset, rules)
    assert len(rota.rota) > 0  # best partial rota
    first = next(u for u in rota.unmet if u.rule == "station_min_deputies")
    assert "6 needed" in first.detail
    assert "all rules met" not in rota.report() and "station_min_deputies" in rota.report()


def test_fair_inside_each_group_and_at_least_once_a_year(tiny_dataset, tiny_assignment):
    # 4 a day at a station served by one group of 6-14 deputies: more duties than deputies,
    # spread so that counts differ by at most one
    ds, a = tiny_dataset, tiny_assignment
    g = a.group_stations.groupby("group_id").size()
    per_station = a.group_stations.groupby("station_id").size()
    solo = [x for x in g.index if g[x] == 1 and per_station[a.group_stations.set_index("group_id").at[x, "station_id"]] == 1][0]
    rota = plan_reception(ds, a, 2026, rules=ReceptionRules(min_deputies=4))
    load = rota.load[rota.load["group_id"] == solo]["duties"]
    assert load.max() - load.min() <= 1 and load.min() >= 1 and load.sum() >= 16
    spread = rota.load.groupby("group_id")["duties"].agg(lambda v: v.max() - v.min())
    assert rota.metrics["max_group_spread"] == spread.max()
    assert rota.metrics["groups_unfair"] == (spread > 1).sum()


def test_unavailable_dates_are_respected_and_csv_errors_are_named(tmp_path, tiny_dataset, tiny_assignment):
    first = plan_reception(tiny_dataset, tiny_assignment, 2026)
    busy = first.rota[["deputy_id", "date"]].head(15)
    p = tmp_path / "unavailable.csv"
    busy.to_csv(p, index=False)
    un = read_unavailable(p, deputy_ids=tiny_dataset.deputies["id"])
    rota = plan_reception(tiny_dataset, tiny_assignment, 2026, unavailable=un)
    check_rota(rota, ReceptionRules(), un)
    assert rota.metrics["arcs_removed_unavailable"] >= 15
    bad = tmp_path / "bad.csv"
    bad.write_text("deputy_id,date\nP0001,2026-13-01\nNOPE,2026-05-15\nP0002,2026-05-15\n", encoding="utf-8")
    with pytest.raises(TableError) as e:
        read_unavailable(bad, deputy_ids=tiny_dataset.deputies["id"])
    assert [str(x) for x in e.value.problems] == [
        "bad.csv line 2, field date: '2026-13-01' is not a date YYYY-MM-DD",
        "bad.csv line 3, field deputy_id: unknown deputy 'NOPE'"]
    with pytest.raises(InputError, match="missing column"):
        (tmp_path / "x.csv").write_text("id,day\n", encoding="utf-8")
        read_unavailable(tmp_path / "x.csv")


def test_a_deputy_with_every_day_unavailable_is_named(tiny_dataset, tiny_assignment):
    days, _ = reception_days(tiny_dataset, tiny_assignment, [2026])
    dep = tiny_dataset.deputies["id"].iloc[0]
    un = pd.DataFrame({"deputy_id": dep, "date": sorted(set(days["date"]))})
    rota = plan_reception(tiny_dataset, tiny_assignment, 2026, unavailable=un)
    u = [x for x in rota.unmet if x.rule == "deputy_min_per_year"]
    assert [x.where for x in u] == [dep] and "0 reception day(s) left" in u[0].detail
    assert dep not in set(rota.rota["deputy_id"])


def test_county_scope_and_bad_arguments(tiny_dataset, tiny_assignment):
    rota = plan_reception(tiny_dataset, tiny_assignment, 2026, county="C1")
    assert set(rota.days["county_code"]) == {"C1"} and set(rota.rota["county_code"]) <= {"C1"}
    with pytest.raises(InputError, match="unknown county 'C9'"):
        plan_reception(tiny_dataset, tiny_assignment, 2026, county="C9")
    with pytest.raises(InputError, match="year"):
        plan_reception(tiny_dataset, tiny_assignment, "2026")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ReceptionRules(min_deputies=0)


def test_deterministic_and_outputs_reread(tmp_path, tiny_dataset, tiny_assignment):
    a = plan_reception(tiny_dataset, tiny_assignment, 2026)
    b = plan_reception(tiny_dataset, tiny_assignment, 2026)
    pd.testing.assert_frame_equal(pd.DataFrame(a.rota), pd.DataFrame(b.rota))
    gpkg = a.save(tmp_path / "r.gpkg")
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    assert {"reception_rota", "reception_days", "reception_unmet", "reception_metrics", "reception_notes"} <= layers
    back = pyogrio.read_dataframe(gpkg, layer="reception_rota")
    assert len(back) == len(a.rota) and back.crs.to_epsg() == 4326 and back["date"].iloc[0] == str(a.rota["date"].iloc[0])
    a.to_csv(tmp_path / "csv")
    csv = pd.read_csv(tmp_path / "csv" / "rota.csv", dtype=str)
    assert list(csv["deputy_id"]) == list(a.rota["deputy_id"])
    assert a.to_dict()["rota"][0]["start"] == "09:00"


def test_icalendar_files_reimport_with_the_right_events(tmp_path, tiny_dataset, tiny_assignment):
    rota = plan_reception(tiny_dataset, tiny_assignment, 2026)
    groups = {k: rota_events(rota, per=k) for k in ("deputy", "station", "county")}
    counts = write_calendars(groups, tmp_path, "接待群众日", stamp=STAMP)
    assert counts == {"deputy": rota.rota["deputy_id"].nunique(), "station": 11, "county": 2}
    dep = rota.rota["deputy_id"].iloc[0]
    cal = icalendar.Calendar.from_ical((tmp_path / "deputies" / f"{dep}.ics").read_bytes())
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Asia/Shanghai"]
    events = cal.walk("VEVENT")
    mine = rota.rota[rota.rota["deputy_id"] == dep]
    assert len(events) == len(mine)
    for ev, row in zip(events, mine.sort_values("date").itertuples()):
        start = ev.decoded("dtstart")
        assert str(start.tzinfo) == "Asia/Shanghai" and start.date() == row.date and (start.hour, start.minute) == (9, 0)
        assert ev.decoded("dtend").utcoffset() == dt.timedelta(hours=8)
        assert row.station_name in str(ev["summary"]) and str(ev["uid"]).endswith("@geoplan")
    st = icalendar.Calendar.from_ical((tmp_path / "stations" / "ST00.ics").read_bytes())
    assert len(st.walk("VEVENT")) == 4
    county = icalendar.Calendar.from_ical((tmp_path / "counties" / "C1.ics").read_bytes())
    assert len(county.walk("VEVENT")) == int((rota.days["county_code"] == "C1").sum())
    # the public view leaves the deputies out
    public = rota_events(rota, per="station", include_deputies=False)["ST00"]
    assert all("P0" not in e.description for e in public)
