"""SQLAlchemy 2 ORM: scenarios, their plans, station edits and the audit log."""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

FINAL_STATUSES = ("done", "failed", "cancelled")


def utcnow() -> datetime:
    """The current time as a timezone-aware UTC datetime."""
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of the API's tables (its metadata drives the Alembic migrations)."""


class ScenarioRow(Base):
    """One submitted scenario and the state of its solve."""

    __tablename__ = "scenarios"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    county_code: Mapped[str | None] = mapped_column(String(32), index=True)
    owner: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), index=True, default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(String(500), default="")
    error: Mapped[str | None] = mapped_column(Text)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    scenario_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    plan: Mapped["PlanRow | None"] = relationship(back_populates="scenario", cascade="all, delete-orphan",
                                                  passive_deletes=True, uselist=False)


class PlanRow(Base):
    """The result of a finished scenario: the GeoPackage from ``Plan.save`` plus JSON views of it."""

    __tablename__ = "plans"

    scenario_id: Mapped[str] = mapped_column(ForeignKey("scenarios.id", ondelete="CASCADE"), primary_key=True)
    # deferred: each is loaded when read, so a request needing one (or none: the map, once cached)
    # does not fetch and decode megabytes of the others
    gpkg: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    summary: Mapped[dict] = mapped_column(JSON, deferred=True)
    stations_geojson: Mapped[dict] = mapped_column(JSON, deferred=True)
    assignment: Mapped[dict | None] = mapped_column(JSON, deferred=True)  # filled on first request
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    scenario: Mapped[ScenarioRow] = relationship(back_populates="plan")


class StationEditRow(Base):
    """A planner's change to the station network: propose a new station, close or reopen one."""

    __tablename__ = "station_edits"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(16))  # propose | close | reopen
    county_code: Mapped[str] = mapped_column(String(32))
    town_code: Mapped[str] = mapped_column(String(32))
    data: Mapped[dict] = mapped_column(JSON)  # the new station's attributes for 'propose'
    reason: Mapped[str] = mapped_column(String(1000), default="")
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditRow(Base):
    """Who changed what and when (append-only)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(64), index=True)
    county_code: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[dict] = mapped_column(JSON)


# -- people's opinions and station standards (geoplan.operations.opinions / standards) -----------
class OpinionRow(Base):
    """One opinion (民情民意): what the portal or a planner submitted, its suggestion, confirmation and routing.

    ``contact`` is protected: never returned to the service account, exported or logged.
    """

    __tablename__ = "opinions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_on: Mapped[date] = mapped_column(Date, index=True)
    station_id: Mapped[str | None] = mapped_column(String(64), index=True)
    town_code: Mapped[str] = mapped_column(String(32), index=True)
    county_code: Mapped[str] = mapped_column(String(32), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(200))
    submitted_by: Mapped[str] = mapped_column(String(200), index=True)
    submitter_role: Mapped[str] = mapped_column(String(32))
    suggested_category: Mapped[str | None] = mapped_column(String(32))
    category_confidence: Mapped[float | None] = mapped_column(Float)
    suggested_level: Mapped[str | None] = mapped_column(String(16))
    level_confidence: Mapped[float | None] = mapped_column(Float)
    category: Mapped[str | None] = mapped_column(String(32))
    level: Mapped[str | None] = mapped_column(String(16))
    confirmed_by: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), index=True, default="received")
    track: Mapped[str | None] = mapped_column(String(16))
    assigned_unit: Mapped[str | None] = mapped_column(String(200))
    assigned_unit_code: Mapped[str | None] = mapped_column(String(32))
    batch: Mapped[str | None] = mapped_column(String(8), index=True)
    routed_on: Mapped[date | None] = mapped_column(Date)
    deadline: Mapped[date | None] = mapped_column(Date, index=True)
    answer: Mapped[str | None] = mapped_column(Text)
    answered_on: Mapped[date | None] = mapped_column(Date)
    closed_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class RoutingRulesRow(Base):
    """A version of the routing table (the latest row is in force)."""

    __tablename__ = "opinion_routing_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rules: Mapped[list] = mapped_column(JSON)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StationCheckRow(Base):
    """One of the eight haves of one station: in place or not, when checked, the evidence."""

    __tablename__ = "station_checks"

    station_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    item: Mapped[str] = mapped_column(String(16), primary_key=True)
    ok: Mapped[bool] = mapped_column(Boolean)
    checked_on: Mapped[date | None] = mapped_column(Date)
    evidence: Mapped[str] = mapped_column(String(500), default="")
    actor: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class StationActivityRow(Base):
    """Reception days a station held in a year (for the five-good rating)."""

    __tablename__ = "station_activity"

    station_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    reception_days: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
# --- operations (geoplan.operations): reception rotas, committee topics and their visit plans ---
class ReceptionRotaRow(Base):
    """A stored reception rota: its parameters, measures and every station-day and duty."""

    __tablename__ = "reception_rotas"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    county_code: Mapped[str | None] = mapped_column(String(32), index=True)  # None: the whole city
    owner: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict] = mapped_column(JSON)
    summary: Mapped[dict] = mapped_column(JSON)  # metrics, notes, unmet
    days: Mapped[list] = mapped_column(JSON)  # one record per station and reception day
    duties: Mapped[list] = mapped_column(JSON)  # one record per deputy on duty
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class TopicRow(Base):
    """A special committee's topic ("1 + 5 + N") before its deliberation by the standing committee."""

    __tablename__ = "topics"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    committee_id: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(300))
    sectors: Mapped[str] = mapped_column(String(500))  # comma-separated sector names
    deliberation_date: Mapped[date] = mapped_column(Date)
    weeks_before: Mapped[int] = mapped_column(Integer, default=4)
    owner: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TopicPlanRow(Base):
    """A stored visit plan of some topics: parameters, measures, visits and per-station status."""

    __tablename__ = "topic_plans"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(200))
    params: Mapped[dict] = mapped_column(JSON)
    summary: Mapped[dict] = mapped_column(JSON)  # metrics, notes, unmet, topics
    visits: Mapped[list] = mapped_column(JSON)
    stations: Mapped[list] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
