"""The operations commands on the bundled dataset for 2027, as a planner runs them."""
from __future__ import annotations

import subprocess

import icalendar
import pandas as pd
import pyogrio
import pytest
from typer.testing import CliRunner

from geoplan.cli import app
from geoplan.datasets import Dataset
from geoplan.settings import BUNDLED_DATASET

EX = BUNDLED_DATASET.parent / "examples"
runner = CliRunner()


@pytest.fixture(scope="module")
def reception_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("reception")
    res = runner.invoke(app, ["reception", "plan", "--year", "2027", "--county", "320971",
                              "--holidays", str(EX / "holidays-2027.csv"), "--calendar", str(EX / "calendar.csv"),
                              "--unavailable", str(EX / "unavailable.csv"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    return out, res.output


def test_reception_plan_for_2027_says_the_calendar_fallback_and_writes_everything(reception_out):
    out, output = reception_out
    assert "2027: not in chinese-calendar" in output and "6 user-supplied" in output
    notes = pd.read_csv(out / "reception" / "notes.csv")["note"]
    assert notes.str.contains("2027: not in chinese-calendar").any()
    rota = pd.read_csv(out / "reception" / "rota.csv", dtype=str)
    days = pd.read_csv(out / "reception" / "days.csv", dtype=str)
    # 320971 holds its days on the 5th of each quarter's 3rd month (calendar.csv), next working day
    assert sorted(set(days["date"])) == ["2027-03-05", "2027-06-07", "2027-09-06", "2027-12-06"]
    unmet = pd.read_csv(out / "reception" / "unmet.csv", dtype=str)
    short = set(unmet.loc[unmet["rule"] == "station_min_deputies", "where"])
    for d in days.itertuples():
        assert int(d.deputies) >= 2 or f"{d.station_id} {d.date}" in short
    assert not rota.duplicated(["deputy_id", "date"]).any()
    assert len(pyogrio.read_dataframe(out / "reception.gpkg", layer="reception_rota")) == len(rota)
    # iCalendar: one file per deputy on duty, per station, per county; re-read with the right events
    dep = rota["deputy_id"].iloc[0]
    cal = icalendar.Calendar.from_ical((out / "reception" / "ics" / "deputies" / f"{dep}.ics").read_bytes())
    assert sorted(str(e.decoded("dtstart").date()) for e in cal.walk("VEVENT")) == \
        sorted(rota.loc[rota["deputy_id"] == dep, "date"])
    county = icalendar.Calendar.from_ical((out / "reception" / "ics" / "counties" / "320971.ics").read_bytes())
    assert len(county.walk("VEVENT")) == len(days)
    pdf = out / "reception" / "schedules" / "schedule_320971.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "2027年定时定点接待群众日安排表" in text and "2027年3月5日" in text


def test_posters_for_one_county(tmp_path):
    res = runner.invoke(app, ["posters", "--county", "320971", "--after", "2027-01-01", "--out", str(tmp_path)],
                        env={"GEOPLAN_PORTAL_URL_TEMPLATE": "https://portal.example/d/{deputy_id}"})
    assert res.exit_code == 0, res.output
    pdf = tmp_path / "posters" / "posters_320971.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    ds = Dataset.load(BUNDLED_DATASET)
    towns = set(ds.towns.loc[ds.towns["county_code"] == "320971", "code"])
    n = int((ds.stations["town_code"].isin(towns) & (ds.stations["status"] == "active")).sum())
    assert n > 0 and text.count("近期接待群众日") == n  # one poster per active station of the county
    assert "2027年2月15日" in text  # the default rule: 15 Feb 2027 is a Monday


def test_topics_plan_on_the_bundled_example(tmp_path):
    res = runner.invoke(app, ["topics", "plan", "--holidays", str(EX / "holidays-2027.csv"), "--ics", "stations",
                              "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "bundled example topics" in res.output and "2027: not in chinese-calendar" in res.output
    st = pd.read_csv(tmp_path / "topics" / "stations.csv", dtype=str)
    topics = pd.read_csv(EX / "topics.csv", dtype=str)
    assert set(st["topic_id"]) == set(topics["id"])
    unmet = pd.read_csv(tmp_path / "topics" / "unmet.csv", dtype=str)
    missed = set(unmet.loc[unmet["rule"] == "topic_station_visited", "where"])
    assert all(v == "1" or f"{t} {s}" in missed for t, s, v in zip(st["topic_id"], st["station_id"], st["visited"]))
    assert {p.name for p in (tmp_path / "topics" / "briefs").iterdir()} == {f"brief_{t}.pdf" for t in topics["id"]}
    assert (tmp_path / "topics" / "ics" / "stations").is_dir()


def test_bad_input_is_one_red_line_per_problem(tmp_path):
    bad = tmp_path / "u.csv"
    bad.write_text("deputy_id,date\nD00001,2027-02-31\nNOBODY,2027-03-01\n", encoding="utf-8")
    res = runner.invoke(app, ["reception", "plan", "--year", "2027", "--county", "320971", "--unavailable", str(bad),
                              "--ics", "none", "--out", str(tmp_path)])
    assert res.exit_code == 2
    assert "u.csv line 2, field date" in res.output and "u.csv line 3, field deputy_id: unknown deputy" in res.output
    assert "Traceback" not in res.output
    res = runner.invoke(app, ["posters", "--county", "320971", "--out", str(tmp_path)],
                        env={"GEOPLAN_STATION_URL_TEMPLATE": "https://p.example/{id}"})
    assert res.exit_code == 2 and "placeholder {station_id}" in res.output
