"""Request dependencies: the app context, a DB session, the current user and role checks."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Annotated, Any, Iterator

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from api.catalog import Catalog, View
from api.jobs import JobRunner
from api.models import StationEditRow
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
        version = session.scalar(select(func.coalesce(func.max(StationEditRow.id), 0))) or 0

        def load() -> list[StationEditRow]:
            with self.sessions() as s:
                return list(s.scalars(select(StationEditRow).order_by(StationEditRow.id)))

        return self.catalog.view(int(version), load)


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
