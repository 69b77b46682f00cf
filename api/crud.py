"""The API's queries: one function per read or write of the tables in :mod:`api.models`.

Routes and dependencies call these instead of building SQL themselves, so a query lives
in one place and a new router reuses it. Every function takes the request's session and
leaves committing to the caller (a change and its audit row commit together).
"""
from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.models import AuditRow, PlanRow, ScenarioRow, StationEditRow


def page(db: Session, query: Select[Any], order: Sequence[Any], limit: int, offset: int) -> tuple[list[Any], int]:
    """``(rows of one page, number of rows matched)`` of ``query``."""
    matched = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(db.scalars(query.order_by(*order).offset(offset).limit(limit)))
    return rows, int(matched)


# -- scenarios ------------------------------------------------------------------
def scenario(db: Session, scenario_id: str, *, lock: bool = False) -> ScenarioRow | None:
    """The scenario's row or None; ``lock`` holds it (``FOR UPDATE``) until commit."""
    return db.get(ScenarioRow, scenario_id, with_for_update=lock)


def plan_of(db: Session, row: ScenarioRow) -> PlanRow | None:
    """The stored plan of a finished scenario (None unless its status is ``done``)."""
    return db.get(PlanRow, row.id) if row.status == "done" else None


def plan_gpkg(db: Session, scenario_id: str) -> bytes | None:
    """Only the stored GeoPackage of a plan (the other plan columns are not fetched)."""
    return db.scalar(select(PlanRow.gpkg).where(PlanRow.scenario_id == scenario_id))


def scenarios(db: Session, *, status: str | None, county: str | None, limit: int,
              offset: int) -> tuple[list[ScenarioRow], int]:
    """A page of scenarios, newest first, filtered by status and county."""
    q = select(ScenarioRow)
    if status is not None:
        q = q.where(ScenarioRow.status == status)
    if county is not None:
        q = q.where(ScenarioRow.county_code == county)
    return page(db, q, (ScenarioRow.created_at.desc(), ScenarioRow.id), limit, offset)


# -- station edits and audit ------------------------------------------------------
def edit_version(db: Session) -> int:
    """The id of the latest station edit (0 before any): the version of the edited dataset."""
    return int(db.scalar(select(func.coalesce(func.max(StationEditRow.id), 0))) or 0)


def station_edits(db: Session) -> list[StationEditRow]:
    """Every station edit in the order it was made."""
    return list(db.scalars(select(StationEditRow).order_by(StationEditRow.id)))


def station_history(db: Session, station_id: str) -> list[StationEditRow]:
    """The edits of one station, oldest first."""
    return list(db.scalars(select(StationEditRow).where(StationEditRow.station_id == station_id)
                           .order_by(StationEditRow.id)))


def add_audit(db: Session, user: Any, action: str, target_type: str, target_id: str, county_code: str | None,
              detail: dict[str, Any] | None = None) -> None:
    """Add an audit-log row to the session (committed with the change it records)."""
    db.add(AuditRow(actor=user.name, role=user.role, action=action, target_type=target_type, target_id=target_id,
                    county_code=county_code, detail=detail or {}))


def audit_entries(db: Session, *, target_id: str | None, actor: str | None, action: str | None,
                  county: str | None = None, limit: int, offset: int) -> tuple[list[AuditRow], int]:
    """A page of the audit log, newest first, filtered by target, actor, action and county."""
    q = select(AuditRow)
    for col, val in ((AuditRow.target_id, target_id), (AuditRow.actor, actor), (AuditRow.action, action),
                     (AuditRow.county_code, county)):
        if val is not None:
            q = q.where(col == val)
    return page(db, q, (AuditRow.id.desc(),), limit, offset)


# -- stored plans (the /ogc collections) ---------------------------------------------
def stored_plans(db: Session, scenario_id: str | None = None) -> list[tuple[str, str, str | None, Any]]:
    """``(scenario id, name, county code, plan created_at)`` of finished scenarios with a plan,
    newest first (only ``scenario_id``'s when given); never loads the plans' bytes.
    """
    q = (select(ScenarioRow.id, ScenarioRow.name, ScenarioRow.county_code, PlanRow.created_at)
         .join(PlanRow, PlanRow.scenario_id == ScenarioRow.id).where(ScenarioRow.status == "done"))
    if scenario_id is not None:
        q = q.where(ScenarioRow.id == scenario_id)
    return [(str(i), str(n), c, t) for i, n, c, t in db.execute(q.order_by(PlanRow.created_at.desc(), ScenarioRow.id))]


def plan_stations_geojson(db: Session, scenario_id: str) -> dict[str, Any] | None:
    """The stored stations FeatureCollection of a plan (only that column)."""
    return db.scalar(select(PlanRow.stations_geojson).where(PlanRow.scenario_id == scenario_id))


# -- operations: reception rotas, committee topics, topic visit plans ------------------
def reception_rotas(db: Session, *, year: int | None, county: str | None, city_wide: bool,
                    limit: int = 500) -> list[Any]:
    """Stored rotas, newest first: every rota with ``city_wide``, else those of ``county``."""
    from api.models import ReceptionRotaRow as R

    q = select(R)
    if year is not None:
        q = q.where(R.year == year)
    if not city_wide:
        q = q.where(R.county_code == county)
    return list(db.scalars(q.order_by(R.created_at.desc(), R.id).limit(limit)))


def rotas_covering(db: Session, county: str, *, year: int | None, limit: int = 20) -> list[Any]:
    """The newest rotas that cover a county (its own or the whole city's)."""
    from sqlalchemy import or_

    from api.models import ReceptionRotaRow as R

    q = select(R).where(or_(R.county_code == county, R.county_code.is_(None)))
    if year is not None:
        q = q.where(R.year == year)
    return list(db.scalars(q.order_by(R.created_at.desc(), R.id.desc()).limit(limit)))


def city_rota(db: Session, year: int) -> Any:
    """The newest city-wide rota of ``year`` or None."""
    from api.models import ReceptionRotaRow as R

    q = select(R).where(R.year == year, R.county_code.is_(None)).order_by(R.created_at.desc(), R.id.desc())
    return db.scalars(q.limit(1)).first()


def topics(db: Session, ids: Sequence[str] | None = None) -> list[Any]:
    """Stored topics by deliberation date (only ``ids`` when given)."""
    from api.models import TopicRow as T

    q = select(T).order_by(T.deliberation_date, T.id)
    if ids:
        q = q.where(T.id.in_(list(ids)))
    return list(db.scalars(q))


def topic_ids_taken(db: Session, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` are already stored topics."""
    from api.models import TopicRow as T

    return set(db.scalars(select(T.id).where(T.id.in_(list(ids)))))


def reception_rota(db: Session, rota_id: str) -> Any:
    """A stored rota or None."""
    from api.models import ReceptionRotaRow

    return db.get(ReceptionRotaRow, rota_id)


def topic_plan(db: Session, plan_id: str) -> Any:
    """A stored visit plan or None."""
    from api.models import TopicPlanRow

    return db.get(TopicPlanRow, plan_id)
