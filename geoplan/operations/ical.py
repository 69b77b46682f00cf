"""iCalendar files (RFC 5545) of the reception rota and the topic visits, for phone calendars.

Times are local to Asia/Shanghai, with the VTIMEZONE component included (built by
``icalendar`` from the tz database, limited to the years used), so a calendar app imports the
events at the right hour. UIDs are stable (same rota, same UIDs), so re-importing updates
events instead of duplicating them.

Examples
--------
>>> import datetime as dt
>>> ev = Event("x@geoplan", dt.date(2027, 2, 15), dt.time(9), dt.time(11, 30), "接待群众日", "某站")
>>> cal = icalendar.Calendar.from_ical(calendar_bytes([ev], "test", stamp=dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)))
>>> [e.decoded("dtstart").hour for e in cal.walk("VEVENT")]
[9]
"""
from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import icalendar
import pandas as pd

from geoplan.operations._helpers import TIER_ZH, TZ

__all__ = ["Event", "calendar_bytes", "rota_events", "day_events", "visit_events", "write_calendars"]

PRODID = "-//geoplan//reception and topic visits//ZH"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class Event:
    """One event: a stable uid, the day and local hours (Asia/Shanghai), what and where."""

    uid: str
    date: dt.date
    start: dt.time
    end: dt.time
    summary: str
    location: str
    description: str = ""
    categories: tuple[str, ...] = ()


@functools.lru_cache(maxsize=64)
def _vtimezone(first: int, last: int) -> icalendar.Timezone:
    return icalendar.Timezone.from_tzinfo(TZ, first_date=dt.date(first, 1, 1), last_date=dt.date(last + 1, 1, 1))


def _event_ical(e: Event, stamp: dt.datetime) -> bytes:
    ve = icalendar.Event()
    ve.add("uid", e.uid)
    ve.add("dtstamp", stamp)
    ve.add("dtstart", dt.datetime.combine(e.date, e.start, tzinfo=TZ))
    ve.add("dtend", dt.datetime.combine(e.date, e.end, tzinfo=TZ))
    ve.add("summary", e.summary)
    ve.add("location", e.location)
    if e.description:
        ve.add("description", e.description)
    if e.categories:
        ve.add("categories", list(e.categories))
    return bytes(ve.to_ical())


def calendar_bytes(events: Iterable[Event], name: str, *, stamp: dt.datetime | None = None,
                   _cache: dict[str, bytes] | None = None) -> bytes:
    """An iCalendar document of ``events`` (sorted by date, hour and uid).

    Parameters
    ----------
    stamp
        DTSTAMP of every event, UTC (default: now). Pass a fixed value for byte-identical files.

    Notes
    -----
    Every component is serialised by ``icalendar``; the calendar is their concatenation inside
    one VCALENDAR, so an event shared by many files (``_cache``, keyed by uid) is serialised once.
    """
    evs = sorted(events, key=lambda e: (e.date, e.start, e.uid))
    stamp = (stamp or dt.datetime.now(dt.timezone.utc)).astimezone(dt.timezone.utc).replace(microsecond=0)
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Asia/Shanghai")
    years = [e.date.year for e in evs] or [stamp.year]
    head = bytes(cal.to_ical())
    end = b"END:VCALENDAR\r\n"
    assert head.endswith(end)
    parts = [head[: -len(end)], _vtimezone_ical(min(years), max(years))]
    for e in evs:
        if _cache is not None:
            if e.uid not in _cache:
                _cache[e.uid] = _event_ical(e, stamp)
            parts.append(_cache[e.uid])
        else:
            parts.append(_event_ical(e, stamp))
    parts.append(end)
    return b"".join(parts)


@functools.lru_cache(maxsize=64)
def _vtimezone_ical(first: int, last: int) -> bytes:
    return bytes(_vtimezone(first, last).to_ical())


def _where(r: pd.Series) -> str:
    return f"{r['county_name']}{r['town_name']} {r['station_name']}"


def rota_events(rota: Any, *, per: str, include_deputies: bool = True) -> dict[str, list[Event]]:
    """Events of a :class:`~geoplan.operations.reception.Rota` grouped by deputy (``per="deputy"``),
    station or county.

    Deputy calendars get one event per duty (with the colleagues on duty); station and county
    calendars get one event per station and reception day (also a day nobody could be sent to),
    listing the deputies on duty only when ``include_deputies``.
    """
    out: dict[str, list[Event]] = {}
    if per == "deputy":
        duties = rota.rota
        mates = {k: sorted(v) for k, v in duties.groupby(["station_id", "date"])["deputy_id"]}
        for r in duties.itertuples(index=False):
            others = [d for d in mates[(r.station_id, r.date)] if d != r.deputy_id]
            desc = (f"定时定点接待群众日。站点 {r.station_id}（{TIER_ZH.get(r.tier, r.tier)}）。"
                    + (f"同班代表：{'、'.join(others)}。" if others else ""))
            out.setdefault(str(r.deputy_id), []).append(Event(
                f"reception-{r.date:%Y%m%d}-{r.station_id}-{r.deputy_id}@geoplan", r.date, r.start, r.end,
                f"接待群众日 · {r.station_name}", f"{r.county_name}{r.town_name} {r.station_name}", desc,
                ("接待群众日",)))
        return out
    if per not in ("station", "county"):
        raise ValueError(f"per must be deputy, station or county, got {per!r}")
    return day_events(rota.days, per=per, include_deputies=include_deputies)


def day_events(days: pd.DataFrame, *, per: str = "station", include_deputies: bool = True
               ) -> dict[str, list[Event]]:
    """One event per station and reception day (a rota's ``days`` rows), grouped by station or county."""
    key = "station_id" if per == "station" else "county_code"
    out: dict[str, list[Event]] = {}
    r: Any
    for r in days.itertuples(index=False):
        ids = [d for d in str(r.deputy_ids or "").split(",") if d]
        desc = f"定时定点接待群众日。值班代表 {len(ids)} 名" + (f"：{'、'.join(ids)}。" if include_deputies and ids else "。")
        out.setdefault(str(getattr(r, key)), []).append(Event(
            f"reception-{r.date:%Y%m%d}-{r.station_id}@geoplan", r.date, r.start, r.end,
            f"接待群众日 · {r.station_name}", f"{r.county_name}{r.town_name} {r.station_name}", desc, ("接待群众日",)))
    return out


def visit_events(visits: pd.DataFrame, *, per: str, include_deputies: bool = True) -> dict[str, list[Event]]:
    """Events of topic visits ("1 + 5 + N") grouped by deputy, station or county."""
    out: dict[str, list[Event]] = {}
    key = {"deputy": "deputy_id", "station": "station_id", "county": "county_code"}[per]
    day: Any
    for (tid, sid, day), g in visits.groupby(["topic_id", "station_id", "date"], sort=True):
        r = g.iloc[0]
        team = sorted(g["deputy_id"])
        desc = (f"“1+5+N”专题调研：{r['title']}（{r['committee_name']}，审议日期 {r['deliberation_date']}）。"
                + (f"调研代表：{'、'.join(team)}。" if include_deputies else f"调研代表 {len(team)} 名。"))
        for k in (sorted(set(g[key])) if per == "deputy" else [r[key]]):
            uid = f"topic-{tid}-{sid}-{day:%Y%m%d}" + (f"-{k}" if per == "deputy" else "") + "@geoplan"
            out.setdefault(str(k), []).append(Event(uid, day, r["start"], r["end"], f"专题调研 · {r['title']}",
                                                    _where(r), desc, ("专题调研",)))
    return out


def write_calendars(groups: dict[str, dict[str, list[Event]]], out_dir: str | Path, prefix: str, *,
                    names: dict[str, dict[str, str]] | None = None, stamp: dt.datetime | None = None
                    ) -> dict[str, int]:
    """Write ``<out_dir>/<kind>/<key>.ics`` for every kind (deputy, station, county) and key.

    Returns the number of files written per kind.
    """
    stamp = stamp or dt.datetime.now(dt.timezone.utc)
    counts = {}
    cache: dict[str, bytes] = {}
    for kind, by_key in groups.items():
        folder = Path(out_dir) / {"deputy": "deputies", "county": "counties"}.get(kind, f"{kind}s")
        folder.mkdir(parents=True, exist_ok=True)
        for k, evs in by_key.items():
            title = (names or {}).get(kind, {}).get(k, k)
            (folder / f"{_SAFE.sub('_', k)}.ics").write_bytes(calendar_bytes(evs, f"{prefix} · {title}", stamp=stamp,
                                                                                    _cache=cache))
        counts[kind] = len(by_key)
    return counts
