"""Reception calendars: which days each county (or town) holds its reception days (接待群众日).

County and town people's congresses fix the dates each quarter, either as explicit dates or
by a rule such as "the 15th of the second month of each quarter, moved to the next working
day" (:class:`DayRule`). A :class:`ReceptionCalendar` holds these per county, optionally
per town (a town's own entries replace its county's for the stations in that town), and a
default rule for counties that gave none. Working days come from
:class:`~geoplan.operations.workdays.WorkdayCalendar` (China's official calendar, or the
announced fallback for a year it does not know).

Calendar CSV (one entry per row; exactly one of ``date`` / ``rule``)::

    county_code,town_code,date,rule,start,end
    320902,,,quarter:2:15:next,09:00,11:30
    320903,320903003,2027-03-10,,14:30,17:00

Examples
--------
>>> import datetime as dt
>>> from geoplan.operations.workdays import WorkdayCalendar
>>> DayRule.parse("quarter:2:15:next").dates(2026, WorkdayCalendar())
[datetime.date(2026, 2, 24), datetime.date(2026, 5, 15), datetime.date(2026, 8, 17), datetime.date(2026, 11, 16)]
"""
from __future__ import annotations

import calendar as _pycal
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from geoplan.exceptions import InputError
from geoplan.operations.tables import (
    RowProblem,
    TableError,
    check_rows,
    date_field,
    read_csv_records,
    str_field,
    time_field,
)
from geoplan.operations.workdays import WorkdayCalendar

__all__ = ["DayRule", "CalendarEntry", "ReceptionCalendar", "read_calendar", "calendar_from_records",
           "DEFAULT_START", "DEFAULT_END", "CALENDAR_COLUMNS"]

DEFAULT_START = dt.time(9, 0)
DEFAULT_END = dt.time(11, 30)
CALENDAR_COLUMNS: tuple[str, ...] = ("county_code", "town_code", "date", "rule", "start", "end")
Shift = Literal["next", "previous", "none"]


class DayRule(BaseModel):
    """A recurring reception date: day ``day`` of month ``month`` of each quarter (or of every month).

    A day past the month's end means its last day; ``shift`` moves a non-working day to the
    next (or previous) working day, or keeps it (``none``).

    Text form (CSV, API): ``quarter:MONTH:DAY[:SHIFT]`` or ``month:DAY[:SHIFT]``, shift default ``next``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    every: Literal["quarter", "month"] = "quarter"
    month: int = Field(2, ge=1, le=3, description="month of the quarter (1-3); ignored for every=month")
    day: int = Field(15, ge=1, le=31)
    shift: Shift = "next"

    @classmethod
    def parse(cls, text: str) -> "DayRule":
        """Parse the text form; :class:`InputError` naming the rule otherwise."""
        parts = [p.strip().lower() for p in text.split(":")]
        try:
            if parts[0] == "quarter" and len(parts) in (3, 4):
                return cls(every="quarter", month=int(parts[1]), day=int(parts[2]),
                           shift=parts[3] if len(parts) == 4 else "next")
            if parts[0] == "month" and len(parts) in (2, 3):
                return cls(every="month", day=int(parts[1]), shift=parts[2] if len(parts) == 3 else "next")
        except (ValueError, TypeError):
            pass
        raise InputError(f"rule {text!r}: expected quarter:MONTH(1-3):DAY(1-31)[:next|previous|none] "
                         "or month:DAY[:next|previous|none]")

    def text(self) -> str:
        """The text form (inverse of :meth:`parse`)."""
        head = f"quarter:{self.month}:{self.day}" if self.every == "quarter" else f"month:{self.day}"
        return f"{head}:{self.shift}"

    def dates(self, year: int, workdays: WorkdayCalendar) -> list[dt.date]:
        """The dates of ``year``, in order (a shift never leaves the month's neighbourhood)."""
        months = [3 * q + self.month for q in range(4)] if self.every == "quarter" else list(range(1, 13))
        out = []
        for m in months:
            d = dt.date(year, m, min(self.day, _pycal.monthrange(year, m)[1]))
            if self.shift == "next":
                d = workdays.next_workday(d)
            elif self.shift == "previous":
                for _ in range(60):
                    if workdays.is_workday(d):
                        break
                    d -= dt.timedelta(days=1)
            out.append(d)
        return out


class CalendarEntry(BaseModel):
    """One calendar row: an explicit date or a rule, for a county or one of its towns, with the hours."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    county_code: str = Field(min_length=1, max_length=32)
    town_code: str | None = Field(None, max_length=32)
    date: dt.date | None = None
    rule: DayRule | None = None
    start: dt.time = DEFAULT_START
    end: dt.time = DEFAULT_END


@dataclass(frozen=True)
class ReceptionCalendar:
    """The reception days of every county (and town) of a dataset.

    Parameters
    ----------
    entries
        Explicit dates and rules. A town with entries of its own uses only those; every other
        town uses its county's; a county with none uses ``default_rule`` (if not None).
    default_rule
        Rule for counties without entries (default: the 15th of each quarter's second month,
        moved to the next working day).
    default_start, default_end
        Hours of days from the default rule.
    """

    entries: tuple[CalendarEntry, ...] = ()
    default_rule: DayRule | None = field(default_factory=DayRule)
    default_start: dt.time = DEFAULT_START
    default_end: dt.time = DEFAULT_END

    def days(self, year: int, counties: Iterable[str], towns: pd.DataFrame,
             workdays: WorkdayCalendar) -> tuple[pd.DataFrame, list[str]]:
        """Reception days of ``year`` per town, and notes.

        Parameters
        ----------
        counties
            County codes of the dataset.
        towns
            ``code`` and ``county_code`` of every town.

        Returns
        -------
        (DataFrame, list of str)
            One row per town and day: ``town_code, county_code, date, start, end, source``
            (``county``, ``town`` or ``default``) and ``rule`` (its text, or empty for an
            explicit date); the notes name explicit dates that are not working days and the
            fallback years of ``workdays``.
        """
        known = set(counties)
        town_county = dict(zip(towns["code"].astype(str), towns["county_code"].astype(str)))
        problems = []
        for i, e in enumerate(self.entries, start=1):
            if e.county_code not in known:
                problems.append(RowProblem("calendar", i, "county_code", f"unknown county {e.county_code!r}"))
            elif e.town_code is not None and town_county.get(e.town_code) != e.county_code:
                problems.append(RowProblem("calendar", i, "town_code",
                                           f"{e.town_code!r} is not a town of county {e.county_code}"))
        if problems:
            raise TableError(problems)
        notes: list[str] = []

        def expand(entries: list[CalendarEntry], source: str) -> list[tuple[dt.date, dt.time, dt.time, str, str]]:
            rows = []
            for e in entries:
                if e.date is not None:
                    if e.date.year != year:
                        continue
                    if not workdays.is_workday(e.date):
                        notes.append(f"{e.date}: explicit reception date of {e.town_code or e.county_code} "
                                     "is not a working day (kept as given)")
                    rows.append((e.date, e.start, e.end, source, ""))
                elif e.rule is not None:
                    rows.extend((d, e.start, e.end, source, e.rule.text()) for d in e.rule.dates(year, workdays))
            return rows

        per_county: dict[str, list[tuple[dt.date, dt.time, dt.time, str, str]]] = {}
        for c in sorted(known):
            own = [e for e in self.entries if e.county_code == c and e.town_code is None]
            if own:
                per_county[c] = expand(own, "county")
            elif self.default_rule is not None:
                per_county[c] = [(d, self.default_start, self.default_end, "default", self.default_rule.text())
                                 for d in self.default_rule.dates(year, workdays)]
            else:
                per_county[c] = []
        town_rows = {t: expand([e for e in self.entries if e.town_code == t], "town")
                     for t in sorted({e.town_code for e in self.entries if e.town_code is not None})}
        out = []
        for t, c in town_county.items():
            for day, s, end, src, rule in town_rows.get(t, per_county.get(c, [])):
                out.append((t, c, day, s, end, src, rule))
        df = pd.DataFrame(out, columns=["town_code", "county_code", "date", "start", "end", "source", "rule"])
        # one reception per town and day: the earliest hours win when two entries give the same date
        df = df.sort_values(["town_code", "date", "start"], kind="stable").drop_duplicates(["town_code", "date"])
        bad = df["end"] <= df["start"]
        if bad.any():
            r = df[bad].iloc[0]
            raise InputError(f"calendar: reception on {r['date']} for town {r['town_code']} ends "
                             f"({r['end']}) before it starts ({r['start']})")
        notes.extend(workdays.notes([year]))
        return df.reset_index(drop=True), list(dict.fromkeys(notes))


def _row_rules(_n: int, row: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    if (row["date"] is None) == (row["rule"] is None):
        out.append(("date", "give exactly one of date and rule"))
    if row["end"] <= row["start"]:
        out.append(("end", f"{row['end']:%H:%M} is not after start {row['start']:%H:%M}"))
    return out


def _rule_field(v: str) -> Any:
    if not v:
        return None
    try:
        return DayRule.parse(v)
    except InputError as exc:
        raise ValueError(str(exc)) from None


_FIELDS = {
    "county_code": str_field(max_len=32), "town_code": str_field(required=False, max_len=32),
    "date": date_field(required=False), "rule": _rule_field,
    "start": time_field(DEFAULT_START), "end": time_field(DEFAULT_END),
}


def calendar_from_records(records: Iterable[dict[str, Any]], source: str = "api",
                          numbers: list[int] | None = None, *, default_rule: DayRule | None = None,
                          ) -> ReceptionCalendar:
    """A calendar from rows with the CSV's fields (all rows checked; nothing half-read).

    Counties without rows use ``default_rule`` (None: no reception days for them).
    """
    rows = check_rows(records, source, _FIELDS, numbers=numbers, row_rules=_row_rules)
    return ReceptionCalendar(entries=tuple(CalendarEntry(**r) for r in rows), default_rule=default_rule)


def read_calendar(path: str | Path, *, default_rule: DayRule | None = None) -> ReceptionCalendar:
    """Read a calendar CSV (columns :data:`CALENDAR_COLUMNS`; ``town_code``, ``start``, ``end`` optional).

    Raises
    ------
    TableError
        Every bad row, with the file, line, field and rule.
    """
    records, numbers, name = read_csv_records(path, ("county_code",), "reception calendar")
    return calendar_from_records(records, name, numbers, default_rule=default_rule)
