"""Request dependencies: the app context, a DB session, the current user, role checks and
path parameters resolved to rows (a scenario id becomes its row once, here).

A router gets authentication and roles by declaring these as parameters (see api/README.md).
"""
from __future__ import annotations

import secrets
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Annotated, Any, Iterator, TypeVar

from fastapi import Depends, Path, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api import crud
from api.cache import Offload
from api.catalog import Catalog, View
from api.jobs import JobRunner
from api.limits import RateLimiter, retry_after
from api.models import PlanRow, ScenarioRow
from api.problems import ApiProblem, validation_problem
from api.settings import Settings
from api.workers import Compute

M = TypeVar("M", bound=BaseModel)


@dataclass
class AppContext:
    """Everything one app instance owns (kept on ``app.state.ctx``; no module globals)."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    catalog: Catalog
    jobs: JobRunner
    solver: Compute  # solves (worker processes by default)
    renderer: Compute  # map pages, assignments and reviews (worker processes of their own by default)
    reads: Offload  # expensive reads (maps, assignments): a bounded pool, single flight, memoised
    limiter: RateLimiter
    health_engine: Engine  # /health's own small pool: it never waits behind busy request threads
    health_pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="geoplan-health"))
    started_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    def close(self) -> None:
        """Stop what the app runs (the end of its lifespan): solves, reads, worker processes, DB pools."""
        self.jobs.shutdown()
        self.reads.shutdown()
        self.solver.shutdown()
        self.renderer.shutdown()
        self.engine.dispose()
        self.health_engine.dispose()  # (its idle threads stay: a restarted lifespan reuses them)

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

    def may_edit(self, county_code: str | None, level: str | None = None) -> bool:
        """City planners edit anything; county planners only their own county, never city-wide
        items (no county, or a station of ``level`` city).
        """
        if self.role == "city_planner":
            return True
        return (self.role == "county_planner" and county_code is not None and county_code == self.county_code
                and level != "city")

    def sees_deputies_of(self, county_code: str | None) -> bool:
        """Whether deputy-level data (deputy records, deputy ids, audit entries) of ``county_code``
        (None: city-wide) is shown: city planners see all, county planners their county, the service none.
        """
        if self.role == "city_planner":
            return True
        return self.role == "county_planner" and county_code is not None and county_code == self.county_code

    @property
    def deputy_county(self) -> str | None:
        """The one county whose deputy-level data a county planner sees (None for other roles)."""
        return self.county_code if self.role == "county_planner" else None


async def get_ctx(request: Request) -> AppContext:
    """FastAPI dependency: the application's :class:`AppContext` (async: needs no thread)."""
    return request.app.state.ctx


Ctx = Annotated[AppContext, Depends(get_ctx)]


def get_db(ctx: Ctx) -> Iterator[Session]:
    """FastAPI dependency: a database session for the request, closed afterwards."""
    with ctx.sessions() as session:
        yield session


Db = Annotated[Session, Depends(get_db)]

_bearer = HTTPBearer(auto_error=False, description="Token from GEOPLAN_TOKENS")
_api_key = APIKeyHeader(name="X-API-Key", auto_error=False, description="The same tokens, as an API key header")


def _limit(ctx: AppContext, key: str, cost: float = 1.0) -> None:
    wait = ctx.limiter.take(key, cost)
    if wait > 0:
        raise ApiProblem(429, f"too many requests; the limit is {ctx.settings.rate_limit_per_minute} per minute "
                              f"(burst {ctx.settings.rate_limit_burst}); retry in {retry_after(wait)} s",
                         kind="rate-limited", headers={"Retry-After": retry_after(wait)})


def current_user(request: Request, ctx: Ctx,
                 creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
                 api_key: Annotated[str | None, Depends(_api_key)]) -> User:
    """The user behind the bearer token or ``X-API-Key``; 401 without a known token; 429 past
    the caller's rate limit (per user, or per client address for requests without a valid token).
    """
    token = creds.credentials if creds is not None else api_key
    found: Any = None
    for known, info in ctx.settings.tokens.items():
        # compare every token so the time taken does not reveal which one nearly matched
        if token and secrets.compare_digest(known.encode(), token.encode()):
            found = info
    if found is None:
        _limit(ctx, f"client:{request.client.host if request.client else '?'}")
        if not token:
            raise ApiProblem(401, "authentication required: send 'Authorization: Bearer <token>' or "
                                  "'X-API-Key: <token>'", kind="unauthenticated", headers={"WWW-Authenticate": "Bearer"})
        raise ApiProblem(401, "unknown token", kind="unauthenticated", headers={"WWW-Authenticate": "Bearer"})
    _limit(ctx, f"user:{found.name}")
    return User(found.name, found.role, found.county_code)


CurrentUser = Annotated[User, Depends(current_user)]


def planner(user: CurrentUser) -> User:
    """Only city and county planners (the portal's service account may not)."""
    if not user.is_planner:
        raise ApiProblem(403, f"role {user.role!r} may not do this; a planner role is required", kind="forbidden")
    return user


Planner = Annotated[User, Depends(planner)]


def require_edit(user: User, county_code: str | None, what: str, level: str | None = None) -> None:
    """403 unless ``user`` may change things in ``county_code`` (None = city-wide) at ``level``."""
    if not user.may_edit(county_code, level):
        where = f"county {county_code}" if county_code else "the whole city"
        if level == "city" and county_code:
            where = f"city-level stations (in county {county_code})"
        raise ApiProblem(403, f"{user.role} {user.name!r} may not {what} for {where}", kind="forbidden")


def no_store(request: Request) -> None:
    """Mark the answer as deputy data: :class:`api.http.SecurityHeaders` adds ``Cache-Control: no-store``."""
    request.state.no_store = True


#: Declare ``_: NoStore`` on a route whose answer carries deputy data.
NoStore = Annotated[None, Depends(no_store)]


def json_body(model: type[M], *, required: bool = True) -> Any:
    """A dependency parsing the request body as ``model`` in pydantic's strict JSON mode.

    Strict: ``true`` is no integer and ``"120.1"`` no number. Use with
    ``openapi_extra=request_body(model)`` so the OpenAPI document shows the body. An empty body
    gives None when not ``required``.
    """
    from api.schemas import REQUEST_MODELS

    if model not in REQUEST_MODELS:
        REQUEST_MODELS.append(model)

    async def parse(request: Request) -> M | None:
        raw = await request.body()
        if not raw.strip():
            if not required:
                return None
            raise ApiProblem(422, "a JSON request body is required", field="body", kind="validation-error")
        try:
            return model.model_validate_json(raw, strict=True)
        except ValidationError as exc:
            raise validation_problem(exc, ("body",)) from exc

    return Depends(parse)


def request_body(model: type[BaseModel], *, required: bool = True) -> dict[str, Any]:
    """``openapi_extra`` documenting a :func:`json_body` request body."""
    ref = {"$ref": f"#/components/schemas/{model.__name__}"}
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": ref}}}}


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
    delete and the solve worker publishing its result never interleave; 404 if unknown.
    """
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
