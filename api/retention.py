"""Retention: delete old finished scenarios (and their plans), never a plan saved by name.

A scenario counts as *saved by name* when its submitter gave it a name (anything other than
``Scenario``'s default name): such plans are kept whatever their age. Everything else that
is finished — done, failed or cancelled — and older than the retention period is deleted
with its plan. Queued and running scenarios are never touched. Used at start-up (setting
``GEOPLAN_RETENTION_DAYS``) and by ``geoplan db prune``.
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session, sessionmaker

from api.models import FINAL_STATUSES, AuditRow, PlanRow, ScenarioRow, utcnow
from geoplan.scenario import Scenario

#: The name a scenario has when nobody named it.
DEFAULT_NAME: str = Scenario().name


def prune(sessions: sessionmaker[Session], older_than_days: float, *, dry_run: bool = False) -> int:
    """Delete finished scenarios older than ``older_than_days`` except plans saved by name.

    Returns how many scenarios were (or, with ``dry_run``, would be) deleted. The deletion
    and an audit entry recording it commit together.

    Examples
    --------
    >>> prune(sessions, 90)  # doctest: +SKIP
    3
    """
    cutoff = utcnow() - timedelta(days=older_than_days)
    doomed = (select(ScenarioRow.id)
              .where(ScenarioRow.status.in_(FINAL_STATUSES), ScenarioRow.updated_at < cutoff)
              .where(or_(ScenarioRow.status != "done", ScenarioRow.name == DEFAULT_NAME)))
    with sessions.begin() as s:
        ids = list(s.scalars(doomed))
        if dry_run or not ids:
            return len(ids)
        for start in range(0, len(ids), 500):  # bounded IN lists
            chunk = ids[start:start + 500]
            s.execute(delete(PlanRow).where(PlanRow.scenario_id.in_(chunk)))
            s.execute(delete(ScenarioRow).where(ScenarioRow.id.in_(chunk)))
        s.add(AuditRow(actor="retention", role="system", action="scenario.prune", target_type="scenario",
                       target_id="*", county_code=None,
                       detail={"deleted": len(ids), "older_than_days": older_than_days}))
        return len(ids)


def vacuum(sessions: sessionmaker[Session]) -> None:
    """Give the space of deleted rows back to the file system (SQLite ``VACUUM``; PostgreSQL autovacuums)."""
    engine = sessions.kw["bind"]
    if engine.url.get_backend_name() == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM")


def prune_database(older_than_days: float | None = None, *, dry_run: bool = False) -> tuple[int, float | None]:
    """What ``geoplan db prune`` runs: prune the configured database (``GEOPLAN_*`` settings).

    ``older_than_days`` defaults to ``GEOPLAN_RETENTION_DAYS``. Returns ``(scenarios deleted,
    days used)``; ``(0, None)`` when no retention period is set.
    """
    from api.db import make_engine, make_sessionmaker, migrate
    from api.settings import Settings

    settings = Settings()
    days = settings.retention_days if older_than_days is None else older_than_days
    if days is None:
        return 0, None
    engine = make_engine(settings.db_url, pool_size=1)
    try:
        migrate(engine)
        sessions = make_sessionmaker(engine)
        n = prune(sessions, days, dry_run=dry_run)
        if n and not dry_run:
            vacuum(sessions)
        return n, days
    finally:
        engine.dispose()
