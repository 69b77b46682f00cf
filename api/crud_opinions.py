"""The queries of the opinion and standards tables (like :mod:`api.crud`, for :mod:`api.models`' opinion block).

One function per read or write; callers commit. :func:`frame` turns opinion rows into the
library's opinion frame — always without the protected contact.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.crud import page
from api.models import AuditRow, OpinionRow, RoutingRulesRow, StationActivityRow, StationCheckRow
from geoplan.operations import opinions as ops
from geoplan.operations.routing import DEFAULT_RULES, RoutingRule, RoutingRules

#: Statuses that still wait for an answer (``overdue`` applies to them).
OPEN = ("received", "assigned", "in_progress", "escalated")


def frame(rows: list[OpinionRow]) -> pd.DataFrame:
    """Rows as the library's opinion frame (the contact column left out)."""
    cols = [c for c in ops.COLUMNS if c not in ops.PROTECTED]
    return pd.DataFrame([{c: getattr(r, c) for c in cols} for r in rows], columns=cols)


def opinion(db: Session, opinion_id: str) -> OpinionRow | None:
    """One opinion row or None."""
    return db.get(OpinionRow, opinion_id)


def opinion_ids(db: Session) -> frozenset[str]:
    """Every stored opinion id (imports must not reuse one)."""
    return frozenset(db.scalars(select(OpinionRow.id)))


def new_opinion_id(day: dt.date) -> str:
    """A fresh ``OP-YYYYMMDD-xxxxxxxxxx`` id (random, so concurrent submissions never collide)."""
    return f"OP-{day:%Y%m%d}-{uuid.uuid4().hex[:10]}"


def opinions_page(db: Session, *, submitted_by: str | None, county: str | None, filters: dict[str, Any],
                  overdue_on: dt.date | None, limit: int, offset: int) -> tuple[list[OpinionRow], int]:
    """A page of opinions, oldest first; ``submitted_by`` limits to what a service account submitted."""
    q = select(OpinionRow)
    if submitted_by is not None:
        q = q.where(OpinionRow.submitted_by == submitted_by, OpinionRow.submitter_role == "service")
    if county is not None:
        q = q.where(OpinionRow.county_code == county)
    for name, val in filters.items():
        if val is not None:
            q = q.where(getattr(OpinionRow, name) == val)
    if overdue_on is not None:
        q = q.where(OpinionRow.status.in_(OPEN), OpinionRow.deadline < overdue_on)
    return page(db, q, (OpinionRow.received_on, OpinionRow.id), limit, offset)


def opinions_of(db: Session, county: str | None, received_from: dt.date | None = None,
                received_to: dt.date | None = None) -> list[OpinionRow]:
    """All opinions of a county (or the city), optionally received within a date range."""
    q = select(OpinionRow)
    if county is not None:
        q = q.where(OpinionRow.county_code == county)
    if received_from is not None:
        q = q.where(OpinionRow.received_on >= received_from)
    if received_to is not None:
        q = q.where(OpinionRow.received_on <= received_to)
    return list(db.scalars(q.order_by(OpinionRow.id)))


def opinion_history(db: Session, opinion_id: str) -> list[AuditRow]:
    """The audit entries of one opinion, oldest first."""
    return list(db.scalars(select(AuditRow).where(AuditRow.target_type == "opinion", AuditRow.target_id == opinion_id)
                           .order_by(AuditRow.id)))


def routing_rules(db: Session) -> RoutingRules:
    """The routing table in force: the latest stored version, else the built-in default."""
    row = db.scalars(select(RoutingRulesRow).order_by(RoutingRulesRow.id.desc()).limit(1)).first()
    return RoutingRules(rules=tuple(RoutingRule.model_validate(r) for r in row.rules)) if row else DEFAULT_RULES


def add_routing_rules(db: Session, rules: RoutingRules, actor: str) -> list[dict[str, Any]]:
    """Store a new version of the table; returns its rows."""
    rows = [r.model_dump() for r in rules.rules]
    db.add(RoutingRulesRow(rules=rows, actor=actor))
    return rows


def checks(db: Session, station_ids: list[str] | None = None) -> pd.DataFrame:
    """The eight-haves checklist rows (of some stations) as the library's checklist frame."""
    q = select(StationCheckRow)
    if station_ids is not None:
        q = q.where(StationCheckRow.station_id.in_(station_ids))
    return pd.DataFrame([{"station_id": c.station_id, "item": c.item, "ok": c.ok, "checked_on": c.checked_on,
                          "evidence": c.evidence} for c in db.scalars(q)],
                        columns=["station_id", "item", "ok", "checked_on", "evidence"])


def check(db: Session, station_id: str, item: str) -> StationCheckRow | None:
    """One checklist row or None."""
    return db.get(StationCheckRow, (station_id, item))


def put_check(db: Session, station_id: str, item: str, ok: bool, checked_on: dt.date | None, evidence: str,
              actor: str) -> StationCheckRow:
    """Insert or update one checklist row."""
    row = check(db, station_id, item)
    if row is None:
        row = StationCheckRow(station_id=station_id, item=item, ok=ok, checked_on=checked_on, evidence=evidence,
                              actor=actor)
        db.add(row)
    else:
        row.ok, row.checked_on, row.evidence, row.actor = ok, checked_on, evidence, actor
    return row


def reception_days(db: Session, year: int) -> pd.DataFrame:
    """``station_id, reception_days`` recorded for a year."""
    acts = db.scalars(select(StationActivityRow).where(StationActivityRow.year == year))
    return pd.DataFrame([{"station_id": a.station_id, "reception_days": a.reception_days} for a in acts],
                        columns=["station_id", "reception_days"])


def put_reception_days(db: Session, station_id: str, year: int, days: int, actor: str) -> int | None:
    """Insert or update a station's reception days of a year; returns the previous value."""
    row = db.get(StationActivityRow, (station_id, year))
    if row is None:
        db.add(StationActivityRow(station_id=station_id, year=year, reception_days=days, actor=actor))
        return None
    before = row.reception_days
    row.reception_days, row.actor = days, actor
    return before
