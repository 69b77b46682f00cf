"""Working days: official calendar, adjusted workdays, the announced fallback and bad CSV rows."""
from __future__ import annotations

import datetime as dt
import doctest

import pytest

from geoplan.exceptions import InputError
from geoplan.operations import workdays
from geoplan.operations.workdays import WorkdayCalendar, read_day_overrides, year_source


def test_doctests() -> None:
    assert doctest.testmod(workdays).failed == 0


def test_official_adjusted_workday_and_holiday() -> None:
    cal = WorkdayCalendar()
    assert not cal.is_workday(dt.date(2026, 10, 1))
    assert cal.is_workday(dt.date(2026, 10, 10))      # a Saturday made a workday (调休)
    assert cal.add_workdays(dt.date(2026, 9, 30), 2) == dt.date(2026, 10, 9)
    assert cal.workdays_between(dt.date(2026, 9, 30), dt.date(2026, 10, 9)) == 2
    assert cal.notes([2026]) == []


def test_unknown_year_falls_back_and_says_so(tmp_path) -> None:
    assert year_source(2099) == "fallback"
    bare = WorkdayCalendar()
    assert bare.is_workday(dt.date(2099, 1, 1))       # a Thursday: no holiday list, so a workday...
    assert "NOT excluded" in bare.notes([2099])[0]    # ...and the calendar says so
    f = tmp_path / "days.csv"
    f.write_text("date,kind\n2099-01-01,holiday\n2099-01-03,workday\n", encoding="utf-8")
    cal = read_day_overrides(f)
    assert not cal.is_workday(dt.date(2099, 1, 1))
    assert cal.is_workday(dt.date(2099, 1, 3))        # a Saturday
    assert "2 user-supplied" in cal.notes([2099])[0]


def test_bad_rows_named(tmp_path) -> None:
    f = tmp_path / "days.csv"
    f.write_text("date,kind\n2099-13-01,holiday\n2099-01-02,party\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_day_overrides(f)
    msg = str(e.value)
    assert "line 2, field date" in msg and "line 3, field kind" in msg
