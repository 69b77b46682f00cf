"""China's working days: the official calendar with its adjusted workdays (调休).

Reception dates ("the 15th, moved to the next working day") and opinion
deadlines ("15 working days") are counted on the State Council's holiday
calendar, taken from the maintained `chinese-calendar` package. For a year the
package does not know yet (its data ends with the last published schedule), the
calendar falls back to Monday–Friday minus the holidays and plus the adjusted
workdays the user supplies — and says so in :attr:`WorkdayCalendar.notes`
instead of guessing silently.

Examples
--------
>>> import datetime as dt
>>> cal = WorkdayCalendar()
>>> cal.is_workday(dt.date(2026, 10, 1))        # National Day
False
>>> cal.next_workday(dt.date(2026, 10, 1))
datetime.date(2026, 10, 8)
>>> cal.add_workdays(dt.date(2026, 9, 30), 1)
datetime.date(2026, 10, 8)
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import chinese_calendar
import pandas as pd

from geoplan.exceptions import InputError

__all__ = ["DayKind", "WorkdayCalendar", "read_day_overrides", "year_source"]

#: What a user-supplied row says about a date.
DayKind = Literal["holiday", "workday"]
_KINDS: frozenset[str] = frozenset(("holiday", "workday"))


def year_source(year: int) -> Literal["official", "fallback"]:
    """``"official"`` when `chinese-calendar` has the State Council schedule for `year`.

    Examples
    --------
    >>> year_source(2026)
    'official'
    """
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return "fallback"
    return "official"


@dataclass(frozen=True)
class WorkdayCalendar:
    """Working days on China's official calendar, with a documented fallback.

    Parameters
    ----------
    holidays
        Extra days off (used for years the official calendar does not cover, and
        also honoured in covered years, e.g. a local holiday).
    workdays
        Adjusted working days on weekends (调休) for years the official calendar
        does not cover; ignored where the official calendar knows the day.
    """

    holidays: frozenset[dt.date] = field(default_factory=frozenset)
    workdays: frozenset[dt.date] = field(default_factory=frozenset)

    def is_workday(self, day: dt.date) -> bool:
        """Whether `day` is a working day."""
        if day in self.holidays:
            return False
        if year_source(day.year) == "official":
            return bool(chinese_calendar.is_workday(day))
        return day in self.workdays or day.weekday() < 5

    def next_workday(self, day: dt.date) -> dt.date:
        """`day` itself when it is a working day, else the next working day."""
        for _ in range(60):  # the longest Chinese break is 8–9 days; 60 guards a bad holiday list
            if self.is_workday(day):
                return day
            day += dt.timedelta(days=1)
        raise InputError(f"workday calendar: no working day within 60 days after {day} (holiday list too long?)")

    def add_workdays(self, day: dt.date, n: int) -> dt.date:
        """The date `n` working days after `day` (``n >= 0``; ``0`` gives :meth:`next_workday`)."""
        if n < 0:
            raise InputError(f"add_workdays: n must be >= 0, got {n}")
        d = self.next_workday(day) if n == 0 else day
        for _ in range(n):
            d = self.next_workday(d + dt.timedelta(days=1))
        return d

    def workdays_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in ``(start, end]`` (0 when ``end <= start``)."""
        days = pd.date_range(start + dt.timedelta(days=1), end, freq="D")
        return int(sum(self.is_workday(d.date()) for d in days))

    def notes(self, years: Iterable[int]) -> list[str]:
        """One line per year that is not on the official calendar, saying what is used instead."""
        out = []
        for y in sorted(set(years)):
            if year_source(y) == "fallback":
                own = sum(1 for d in self.holidays | self.workdays if d.year == y)
                out.append(
                    f"{y}: not in chinese-calendar {getattr(chinese_calendar, '__version__', '')}".rstrip()
                    + f"; using Monday–Friday with {own} user-supplied holiday/workday date(s)"
                    + ("" if own else " (none supplied: public holidays are NOT excluded)")
                )
        return out


def read_day_overrides(path: str | Path) -> WorkdayCalendar:
    """Read a CSV of ``date,kind`` rows (kind ``holiday`` or ``workday``) into a calendar.

    Every bad row is reported with its line number, field and rule; nothing is half-read.
    """
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path.name}: cannot read the holiday list ({exc})") from None
    missing = {"date", "kind"} - set(df.columns)
    if missing:
        raise InputError(f"{path.name}: missing column(s) {sorted(missing)} (need date,kind)")
    problems: list[str] = []
    holidays: set[dt.date] = set()
    workdays: set[dt.date] = set()
    for i, (d, k) in enumerate(zip(df["date"], df["kind"]), start=2):  # line 1 is the header
        try:
            day = dt.date.fromisoformat(d.strip())
        except ValueError:
            problems.append(f"{path.name} line {i}, field date: {d!r} is not a date YYYY-MM-DD")
            continue
        kind = k.strip().lower()
        if kind not in _KINDS:
            problems.append(f"{path.name} line {i}, field kind: {k!r} must be holiday or workday")
            continue
        (holidays if kind == "holiday" else workdays).add(day)
    if problems:
        raise InputError("; ".join(problems))
    return WorkdayCalendar(holidays=frozenset(holidays), workdays=frozenset(workdays))
