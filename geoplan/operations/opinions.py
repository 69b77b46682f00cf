"""People's opinions (民情民意): the record, its import, its life cycle and overdue flags.

A record is one row of a frame with :data:`COLUMNS`. The submitter's ``contact`` is optional and
protected: :func:`redact` drops it, :func:`export_opinions` never writes it, and no error message
echoes it. The classifier's answer is kept in ``suggested_*`` columns; ``category`` and ``level``
are what a person confirmed (``confirmed_by``) and the only ones routing reads.

Life cycle (:data:`TRANSITIONS`)::

    received → assigned → in_progress → answered → closed
                  │            │            └→ in_progress (the answer did not satisfy)
                  └────────────┴→ escalated → assigned (re-routed one level up)

Examples
--------
>>> import datetime as dt
>>> check_transition("assigned", "in_progress")
>>> next_level("town")
'county'
>>> ops = pd.DataFrame({"status": ["assigned", "answered"], "deadline": [dt.date(2026, 3, 2)] * 2,
...                     "received_on": [dt.date(2026, 2, 2)] * 2, "answered_on": [None, dt.date(2026, 3, 5)]})
>>> flag_overdue(ops, as_of=dt.date(2026, 3, 10))[["overdue", "answered_on_time"]].values.tolist()
[[True, None], [False, False]]
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from geoplan.exceptions import InputError
from geoplan.operations._opinion_helpers import (
    CATEGORIES,
    CHANNELS,
    LEVELS,
    OPEN_STATUSES,
    STATUSES,
    ImportRowsError,
    RowProblem,
    parse_date,
    read_table,
    require_columns,
    vocab_value,
)
from geoplan.operations.workdays import WorkdayCalendar

__all__ = ["COLUMNS", "EXPORT_COLUMNS", "PROTECTED", "TRANSITIONS", "ImportRowsError", "RowProblem",
           "check_transition", "export_opinions",
           "flag_overdue", "next_level", "read_opinions", "read_store", "redact", "unresolved_by_town"]

#: Every column of an opinion record, in order.
COLUMNS: tuple[str, ...] = (
    "id", "received_on", "station_id", "town_code", "county_code", "channel", "text", "contact", "submitted_by",
    "suggested_category", "category_confidence", "suggested_level", "level_confidence",
    "category", "level", "confirmed_by", "status", "track", "assigned_unit", "assigned_unit_code", "batch",
    "routed_on", "deadline", "answer", "answered_on", "closed_on",
)
#: Columns never shown to the service account, exported or logged.
PROTECTED: frozenset[str] = frozenset(("contact",))
EXPORT_COLUMNS: tuple[str, ...] = tuple(c for c in COLUMNS if c not in PROTECTED)
_DATES = ("received_on", "routed_on", "deadline", "answered_on", "closed_on")

TRANSITIONS: dict[str, frozenset[str]] = {
    "received": frozenset(("assigned",)),
    "assigned": frozenset(("in_progress", "answered", "escalated")),
    "in_progress": frozenset(("answered", "escalated")),
    "answered": frozenset(("closed", "in_progress")),
    "escalated": frozenset(("assigned",)),
    "closed": frozenset(),
}


def check_transition(current: str, new: str) -> None:
    """:class:`InputError` unless ``current → new`` is a step of the life cycle."""
    if current not in TRANSITIONS:
        raise InputError(f"opinion status {current!r} is not one of {list(STATUSES)}")
    if new not in TRANSITIONS[current]:
        allowed = sorted(TRANSITIONS[current]) or ["(none: closed is final)"]
        raise InputError(f"opinion status cannot go from {current} to {new}; allowed: {allowed}")


def next_level(level: str) -> str:
    """The level above ``level`` (escalation); :class:`InputError` at the top."""
    order = list(LEVELS)
    if level not in order:
        raise InputError(f"level {level!r} is not one of {order}")
    if level == order[-1]:
        raise InputError("a policy-level opinion cannot be escalated further")
    return order[order.index(level) + 1]


def redact(opinions: pd.DataFrame) -> pd.DataFrame:
    """The frame without the protected columns (what anyone but the handling planner may see)."""
    return opinions.drop(columns=[c for c in PROTECTED if c in opinions.columns])


def export_opinions(opinions: pd.DataFrame, path: str | Path) -> Path:
    """Write the opinions as UTF-8 CSV in :data:`EXPORT_COLUMNS` order — never the contact."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = redact(opinions)
    cols = [c for c in EXPORT_COLUMNS if c in out.columns] + [c for c in out.columns if c not in COLUMNS]
    out[cols].to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return path


def read_store(path: str | Path) -> pd.DataFrame:
    """Read an opinion table written by :func:`export_opinions` (dates as ``datetime.date``, blanks None)."""
    path = Path(path)
    try:
        df = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError(f"{path.name}: cannot read the opinion table ({type(exc).__name__})") from None
    missing = [c for c in ("id", "received_on", "town_code", "text", "status") if c not in df.columns]
    if missing:
        raise InputError(f"{path.name}: missing column(s) {missing}; write it with `geoplan opinions import`")
    df = df.reindex(columns=[c for c in COLUMNS if c in df.columns or c not in PROTECTED]).replace({"": None})
    for c in _DATES:
        vals = [parse_date(v) if v else None for v in df[c].fillna("")]
        bad = [i + 2 for i, (v, d) in enumerate(zip(df[c], vals)) if v and d is None]
        if bad:
            raise InputError(f"{path.name} rows {bad[:5]}, field {c}: not a date YYYY-MM-DD")
        df[c] = pd.Series(vals, index=df.index, dtype=object)
    for c in ("category_confidence", "level_confidence"):
        df[c] = pd.to_numeric(df[c], errors="coerce")
    return df


def flag_overdue(opinions: pd.DataFrame, as_of: dt.date, calendar: WorkdayCalendar | None = None) -> pd.DataFrame:
    """Add ``overdue`` (open past its deadline on `as_of`), ``answered_on_time`` and ``days_to_answer``.

    ``answered_on_time`` is None while unanswered; ``days_to_answer`` is calendar days from receipt
    to answer (NaN while unanswered); ``workdays_overdue`` counts working days past the deadline
    when a calendar is given.
    """
    df = opinions.copy()
    deadline = pd.to_datetime(df["deadline"])
    answered = pd.to_datetime(df["answered_on"]) if "answered_on" in df else pd.Series(pd.NaT, index=df.index)
    received = pd.to_datetime(df["received_on"])
    today = pd.Timestamp(as_of)
    is_open = df["status"].isin(list(OPEN_STATUSES)).to_numpy()
    df["overdue"] = is_open & deadline.notna().to_numpy() & (deadline < today).to_numpy()
    ok = ((answered <= deadline).to_numpy() | deadline.isna().to_numpy()).astype(object)
    on_time = np.where(answered.isna().to_numpy(), np.array(None, dtype=object), ok)
    df["answered_on_time"] = pd.Series(on_time, index=df.index, dtype="object")
    df["days_to_answer"] = (answered - received).dt.days.astype(float)
    if calendar is not None:
        df["workdays_overdue"] = [calendar.workdays_between(d.date(), as_of) if o else 0
                                  for d, o in zip(deadline, df["overdue"])]
    return df


def unresolved_by_town(opinions: pd.DataFrame) -> pd.Series:
    """Count of opinions still open (received, assigned, in progress, escalated) per ``town_code``."""
    open_ = opinions[opinions["status"].isin(list(OPEN_STATUSES))]
    return open_.groupby(open_["town_code"].astype(str)).size().rename("unresolved")


def read_opinions(source: str | Path | bytes, towns: pd.DataFrame, stations: pd.DataFrame | None = None,
                  name: str | None = None, submitted_by: str = "import",
                  existing_ids: frozenset[str] = frozenset()) -> pd.DataFrame:
    r"""Read opinions from CSV or Excel, all or nothing.

    Columns: ``received_on, channel, text`` and ``station_id`` or ``town_code`` (the station's town is
    used when only the station is given); optional ``id, contact, category, level`` (given by the
    importing person, so they count as confirmed) and for a history ``status, answer, answered_on,
    closed_on``. Chinese labels are accepted for vocabularies (e.g. ``接待日``, ``道路交通``).

    Raises
    ------
    ImportRowsError
        Listing every bad row with file, row, field and rule (the contact is never echoed).

    Examples
    --------
    >>> towns = pd.DataFrame({"code": ["T1"], "county_code": ["C1"]})
    >>> csv = "received_on,town_code,channel,text\n2026-05-06,T1,接待日,村口路灯坏了\n".encode()
    >>> read_opinions(csv, towns, name="x.csv").loc[0, ["id", "channel", "status"]].tolist()
    ['OP-20260506-0001', 'reception_day', 'received']
    """
    df, name = read_table(source, name) if not isinstance(source, bytes) else read_table(source, name or "upload.csv")
    require_columns(df, name, ("received_on", "channel", "text"))
    if "station_id" not in df.columns and "town_code" not in df.columns:
        raise InputError(f"{name}: needs a station_id or a town_code column")
    town_county = dict(zip(towns["code"].astype(str), towns["county_code"].astype(str)))
    station_town = ({} if stations is None else
                    dict(zip(stations["id"].astype(str), stations["town_code"].astype(str))))
    problems: list[RowProblem] = []
    out: list[dict[str, object]] = []
    seen: set[str] = set(existing_ids)
    per_day: dict[str, int] = {}

    def bad(row: int, field: str, rule: str) -> None:
        problems.append(RowProblem(name, row, field, rule))

    for i, rec in enumerate(df.to_dict("records"), start=2):
        r: dict[str, object] = dict.fromkeys(COLUMNS)
        day = parse_date(rec["received_on"])
        if day is None:
            bad(i, "received_on", f"{rec['received_on']!r} is not a date YYYY-MM-DD")
        r["received_on"] = day
        ch = vocab_value(rec["channel"], CHANNELS)
        if ch is None:
            bad(i, "channel", f"{rec['channel']!r} is not one of {list(CHANNELS)}")
        r["channel"] = ch
        text = rec["text"]
        if not text:
            bad(i, "text", "is empty")
        elif len(text) > 2000:
            bad(i, "text", f"is {len(text)} characters; at most 2000")
        r["text"] = text
        sid, town = rec.get("station_id", ""), rec.get("town_code", "")
        if sid:
            if stations is not None and sid not in station_town:
                bad(i, "station_id", f"unknown station {sid!r}")
            elif stations is not None and town and station_town[sid] != town:
                bad(i, "town_code", f"station {sid} is in town {station_town[sid]}, not {town}")
            town = town or station_town.get(sid, "")
        if not town:
            bad(i, "town_code", "empty (give the town or a known station)")
        elif town not in town_county:
            bad(i, "town_code", f"unknown town {town!r}")
        r["station_id"], r["town_code"], r["county_code"] = sid or None, town, town_county.get(town)
        contact = rec.get("contact", "")
        if len(contact) > 200:
            bad(i, "contact", "longer than 200 characters")  # never echo the value
        r["contact"] = contact or None
        for field, vocab in (("category", CATEGORIES), ("level", LEVELS)):
            v = rec.get(field, "")
            key = vocab_value(v, vocab) if v else None
            if v and key is None:
                bad(i, field, f"{v!r} is not one of {list(vocab)}")
            r[field] = key
        status = vocab_value(rec.get("status", ""), STATUSES) if rec.get("status") else "received"
        if status is None:
            bad(i, "status", f"{rec['status']!r} is not one of {list(STATUSES)}")
        r["status"] = status
        if status not in (None, "received") and not (r["category"] and r["level"]):
            bad(i, "status", f"{status} needs the confirmed category and level")
        for field in ("answered_on", "closed_on"):
            v = rec.get(field, "")
            d = parse_date(v) if v else None
            if v and d is None:
                bad(i, field, f"{v!r} is not a date YYYY-MM-DD")
            if d is not None and day is not None and d < day:
                bad(i, field, "is before received_on")
            r[field] = d
        if status in ("answered", "closed") and r["answered_on"] is None:
            bad(i, "answered_on", f"status {status} needs answered_on")
        if status == "closed" and r["closed_on"] is None:
            bad(i, "closed_on", "status closed needs closed_on")
        r["answer"] = rec.get("answer") or None
        oid = rec.get("id", "")
        if not oid and day is not None:
            key = day.strftime("%Y%m%d")
            per_day[key] = per_day.get(key, 0) + 1
            oid = f"OP-{key}-{per_day[key]:04d}"
            while oid in seen:
                per_day[key] += 1
                oid = f"OP-{key}-{per_day[key]:04d}"
        if oid and oid in seen:
            bad(i, "id", f"{oid!r} is used twice")
        elif len(str(oid)) > 64:
            bad(i, "id", "longer than 64 characters")
        seen.add(str(oid))
        r["id"] = oid
        r["submitted_by"] = submitted_by
        r["confirmed_by"] = submitted_by if r["category"] and r["level"] else None
        out.append(r)
    if problems:
        raise ImportRowsError(problems)
    return pd.DataFrame(out, columns=list(COLUMNS))
