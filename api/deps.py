"""Request dependencies: the app context, a DB session, the current user, role checks and
path parameters resolved to rows (a scenario id becomes its row once, here).

A router gets authentication and roles by declaring these as parameters (see api/README.md).
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Annotated, Any, Iterator

from fastapi import Depends, Path, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api import crud
from api.catalog import Catalog, View
from api.jobs import JobRunner
from api.models import PlanRow, ScenarioRow
from api.problems import ApiProblem
from api.settings import Settings


@dataclass
class AppContext:
    """Everything one app instance owns (kept on ``app.state.ctx``; no module globals)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    catalog: Catalog
    jobs: JobRunner
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def view(self, session: Session) -> View:
        """The dataset with all stored station edits applied."""
        def load() -> list[Any]:
            with self.sessions() as s:
                return crud.station_edits(s)

        return self.catalog.view(crud.edit_version(session), load)


@dataclass(frozen=True)
class User:
    """The holder of a token."""

    name: str
    role: str
    county_code: str | None = None

    @property
    def is_planner(self) -> bool:
        """True for city and county planners (the roles that may propose edits)."""
        return self.role in ("city_planner", "county_planner")

    def may_edit(self, county_code: str | None) -> bool:
        """City planners edit anything; county planners only their own county (not city-wide items)."""
        if self.role == "city_planner":
            return True
        return self.role == "county_planner" and county_code is not None and county_code == self.county_code


def get_ctx(request: Request) -> AppContext:
    """FastAPI dependency: the application's :class:`AppContext`."""
    return request.app.state.ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]


def get_db(ctx: Ctx) -> Iterator[Session]:
    """FastAPI dependency: a database session for the request, closed afterwards."""
    with ctx.sessions() as session:
        yield session


Db = Annotated[Session, Depends(get_db)]

_bearer = HTTPBearer(auto_error=False, description="Token from GEOPLAN_TOKENS")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same tokens, as an API key header")


def current_user(ctx: Ctx, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
                 api_key: Annotated[str | None, Depends(_api_key)]) -> User:
    """The user behind the bearer token or ``X-API-Key``; 401 without a known token."""
    token = creds.credentials if creds is not None else api_key
    if not token:
        raise ApiProblem(401, "authentication required: send 'Authorization: Bearer <token>' or 'X-API-Key: <token>'",
                         kind="unauthenticated", headers={"WWW-Authenticate": "Bearer"})
    found: Any = None
    for known, info in ctx.settings.tokens.items():
        # compare every token so the time taken does not reveal which one nearly matched
        if secrets.compare_digest(known.encode(), token.encode()):
            found = info
    if found is None:
        raise ApiProblem(401, "unknown token", kind="unauthenticated", headers={"WWW-Authenticate": "Bearer"})
    return User(found.name, found.role, found.county_code)


CurrentUser = Annotated[User, Depends(current_user)]


def planner(user: CurrentUser) -> User:
    """Only city and county planners (the portal's service account may not)."""
    if not user.is_planner:
        raise ApiProblem(403, f"role {user.role!r} may not do this; a planner role is required", kind="forbidden")
    return user


Planner = Annotated[User, Depends(planner)]


def require_edit(user: User, county_code: str | None, what: str) -> None:
    """403 unless ``user`` may change things in ``county_code`` (None = city-wide)."""
    if not user.may_edit(county_code):
        where = f"county {county_code}" if county_code else "the whole city"
        raise ApiProblem(403, f"{user.role} {user.name!r} may not {what} for {where}", kind="forbidden")


# -- path parameters resolved to rows ------------------------------------------------
ScenarioId = Annotated[str, Path(min_length=1, max_length=64, description="Scenario id")]
StationId = Annotated[str, Path(min_length=1, max_length=64, description="Station id")]


def _unknown_scenario(scenario_id: str) -> ApiProblem:
    return ApiProblem(404, f"unknown scenario id {scenario_id!r}", field="path.scenario_id", kind="unknown-id")


def scenario_row(scenario_id: ScenarioId, db: Db) -> ScenarioRow:
    """The scenario named in the path; 404 if unknown."""
    row = crud.scenario(db, scenario_id)
    if row is None:
        raise _unknown_scenario(scenario_id)
    return row


def locked_scenario_row(scenario_id: ScenarioId, db: Db) -> ScenarioRow:
    """The scenario named in the path, held (``FOR UPDATE``) until commit, so a cancel or
    delete and the solve worker publishing its result never interleave; 404 if unknown."""
    row = crud.scenario(db, scenario_id, lock=True)
    if row is None:
        raise _unknown_scenario(scenario_id)
    return row


ScenarioDep = Annotated[ScenarioRow, Depends(scenario_row)]
LockedScenario = Annotated[ScenarioRow, Depends(locked_scenario_row)]


def plan_row(row: ScenarioDep, db: Db) -> PlanRow:
    """The stored plan of the scenario in the path; 409 while it has none."""
    plan = crud.plan_of(db, row)
    if plan is None:
        raise ApiProblem(409, f"scenario {row.id} has no plan: its status is {row.status!r}"
                              + (f" ({row.error})" if row.error else ""), kind="no-plan")
    return plan


PlanDep = Annotated[PlanRow, Depends(plan_row)]


@dataclass(frozen=True)
class StationRef:
    """A current station (edits applied): its GeoJSON feature, town and county."""

    id: str
    feature: dict[str, Any]
    town_code: str
    county_code: str


def station_ref(station_id: StationId, ctx: Ctx, db: Db) -> StationRef:
    """The station named in the path, as it stands after edits; 404 if unknown."""
    index = ctx.view(db).layers["stations"]
    hit = (index.frame["id"].astype(str) == station_id).to_numpy().nonzero()[0]
    if not len(hit):
        raise ApiProblem(404, f"unknown station id {station_id!r}", field="path.station_id", kind="unknown-id")
    i = int(hit[0])
    town = str(index.frame["town_code"].iloc[i])
    return StationRef(station_id, index.features[i], town, ctx.catalog.town_county.get(town, ""))


StationDep = Annotated[StationRef, Depends(station_ref)]
