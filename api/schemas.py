"""Pydantic request and response models (they make up the OpenAPI document)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from geoplan.datasets import SECTORS, STATION_LEVELS, TIERS
from geoplan.scenario import Scenario

ScenarioStatusName = Literal["queued", "running", "done", "failed", "cancelled"]
#: Request bodies, parsed strictly by :func:`api.deps.json_body`; listed so the OpenAPI document has their schemas.
REQUEST_MODELS: list[type[BaseModel]] = []


class Link(BaseModel):
    """A web link: target, relation and media type."""

    href: str
    rel: str
    type: str | None = None


# -- meta ---------------------------------------------------------------------
class Health(BaseModel):
    """The answer of ``/health``: service and database up, the dataset loaded, the scenarios solving."""

    status: Literal["ok"]
    database: Literal["ok"]
    dataset: str
    solving: int = Field(description="Scenarios queued or running in this process")


class Version(BaseModel):
    """The versions of the API, geoplan and Python, and the name of the loaded dataset."""

    api: str
    geoplan: str
    dataset: str
    python: str


# -- layers -------------------------------------------------------------------
class Geometry(BaseModel):
    """A GeoJSON geometry (any type; coordinates as GeoJSON nests them)."""

    model_config = ConfigDict(extra="allow")
    type: str
    coordinates: Any


class Feature(BaseModel):
    """A GeoJSON feature with a string id."""

    type: Literal["Feature"]
    id: str
    geometry: Geometry | None
    properties: dict[str, Any]


class FeatureCollection(BaseModel):
    """RFC 7946 FeatureCollection, paginated like OGC API Features."""

    type: Literal["FeatureCollection"]
    features: list[Feature]
    numberMatched: int
    numberReturned: int
    links: list[Link] = Field(default_factory=list)
    timeStamp: datetime | None = None


class LayerInfo(BaseModel):
    """A public layer: name, title, number of features, the filters it accepts and its links."""

    name: str
    title: str
    count: int
    filters: list[str]
    links: list[Link]


class TablePage(BaseModel):
    """A page of plain records (non-spatial layers)."""

    items: list[dict[str, Any]]
    numberMatched: int
    numberReturned: int
    links: list[Link] = Field(default_factory=list)


# -- scenarios ----------------------------------------------------------------
class ScenarioSubmit(BaseModel):
    """A scenario (``geoplan.scenario.Scenario`` JSON) and the county it is planned for."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"county_code": None, "scenario": {"name": "forty new points", "budget": 40}}]})

    county_code: str | None = Field(None, max_length=32,
                                    description="Plan only this county (required for county planners); null = whole city")
    scenario: Scenario


class ScenarioStatus(BaseModel):
    """A submitted scenario and its solve: status, progress, message or error, times and links."""

    id: str
    name: str
    county_code: str | None
    owner: str
    status: ScenarioStatusName
    progress: float = Field(ge=0, le=1)
    message: str
    error: str | None
    created_at: datetime
    updated_at: datetime
    scenario: dict[str, Any]
    links: list[Link]


class ScenarioPage(BaseModel):
    """A page of submitted scenarios with the counts (matched in all, returned here) and links."""

    items: list[ScenarioStatus]
    numberMatched: int
    numberReturned: int
    links: list[Link] = Field(default_factory=list)


class PlanSummary(BaseModel):
    """A solved plan's summary: its scenario, the dataset, the metrics and the per-county and per-town tables."""

    scenario_id: str
    scenario: dict[str, Any]
    dataset: str
    metrics: dict[str, Any]
    counties: list[dict[str, Any]]
    towns: list[dict[str, Any]]


class AssignmentOut(BaseModel):
    """The deputy assignment of a plan: its tables, the rules used, the unmet rules and the metrics."""

    scenario_id: str
    redacted: bool = Field(description="True when deputy identifiers were removed for this caller's role")
    tables: dict[str, list[dict[str, Any]]]
    rules: dict[str, Any] = Field(description="The assignment rules used (geoplan.assign.Rules)")
    unmet: list[dict[str, Any]] = Field(description="Rules that could not hold: rule, where, amount, detail")
    metrics: dict[str, Any]


# -- stations -----------------------------------------------------------------
class StationProposal(BaseModel):
    """A new station proposed at a point; its town is the one containing the point."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)
    tier: Literal[TIERS] = "point"  # type: ignore[valid-type]
    level: Literal[STATION_LEVELS] = "town"  # type: ignore[valid-type]
    sector: Literal[SECTORS] | None = None  # type: ignore[valid-type]
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    site_id: str | None = Field(None, max_length=64, description="Venue hosting the station, if any")
    reason: str = Field("", max_length=1000)


class StationAction(BaseModel):
    """The body of a close or reopen request: the reason, kept in the audit trail."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field("", max_length=1000, description="Why (kept in the audit trail)")


class StationEdit(BaseModel):
    """One edit of a station (propose, close, reopen): who, when, why and the data it set."""

    id: int
    station_id: str
    action: Literal["propose", "close", "reopen"]
    county_code: str
    town_code: str
    data: dict[str, Any]
    reason: str
    actor: str
    created_at: datetime


class StationOut(BaseModel):
    """A station as it stands after edits, its county and its edit history."""

    station: Feature
    county_code: str
    history: list[StationEdit]


class AuditEntry(BaseModel):
    """One entry of the audit log: when, who with which role, what action on which target, and its detail."""

    id: int
    at: datetime
    actor: str
    role: str
    action: str
    target_type: str
    target_id: str
    county_code: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    """A page of the audit log with the counts (matched in all, returned here) and links."""

    items: list[AuditEntry]
    numberMatched: int
    numberReturned: int
    links: list[Link] = Field(default_factory=list)
