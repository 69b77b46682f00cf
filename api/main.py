"""The app factory, problem-details handlers, body-size/content-type guard, and ``serve``.

``create_app(settings)`` builds a self-contained app: its own engine (migrated to the
latest Alembic revision), dataset, job runner and caches on ``app.state.ctx``.
``app`` (``uvicorn api.main:app``) is created on first access with settings from the
environment; it prints no token, so it needs ``GEOPLAN_TOKENS``. ``serve`` (what
``geoplan serve`` runs) adds a one-off city-planner token when none is configured.
"""
from __future__ import annotations

import logging
import secrets
import sys
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import problems
from api.catalog import Catalog
from api.db import make_engine, make_sessionmaker, migrate
from api.deps import AppContext
from api.jobs import JobRunner, Planner, recover
from api.routes import assignments, layers, meta, review, scenarios, stations
from api.routes import posters, reception, topics  # operations: rotas, topic visits, posters
from api.schemas import FeatureCollection
from api.settings import Settings, TokenInfo
from geoplan.datasets import Dataset
from geoplan.scenario import plan

log = logging.getLogger("api")
_BODY_METHODS = {"POST", "PUT", "PATCH"}


class BodyGuard:
    """Pure-ASGI middleware: bodies above ``max_bytes`` → 413; non-JSON bodies → 415 (problem+json).

    The size is checked against ``Content-Length`` first and then while streaming, so a
    chunked upload cannot slip past the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                await problems.problem_response(400, "invalid Content-Length header", instance=scope.get("path"))(scope, receive, send)
                return
            if int(length) > self.max_bytes:
                await self._too_big(scope, receive, send)
                return
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        has_body = (length is not None and int(length) > 0) or "transfer-encoding" in headers
        if has_body and not (ctype == "application/json" or ctype.endswith("+json")):
            await problems.problem_response(
                415, f"content type {ctype or '(none)'!r} is not supported; send application/json",
                kind="unsupported-media-type", errors=[{"field": "header.content-type", "message": "must be application/json",
                                                        "type": "unsupported-media-type"}],
                instance=scope.get("path"))(scope, receive, send)
            return
        received = 0
        exceeded = False

        async def limited() -> Message:
            nonlocal received, exceeded
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    return {"type": "http.disconnect"}
            return msg

        started = False

        async def tracked_send(msg: Message) -> None:
            nonlocal started
            if msg["type"] == "http.response.start":
                started = True
            await send(msg)

        try:
            await self.app(scope, limited, tracked_send)
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._too_big(scope, receive, send)

    async def _too_big(self, scope: Scope, receive: Receive, send: Send) -> None:
        await problems.problem_response(413, f"request body exceeds the limit of {self.max_bytes} bytes",
                                        kind="payload-too-large", instance=scope.get("path"))(scope, receive, send)


def create_app(settings: Settings | None = None, *, planner: Planner = plan) -> FastAPI:
    """Build the service: migrate the database, load the dataset, start the solve pool.

    Parameters
    ----------
    settings : Settings, optional
        Defaults to ``Settings()`` read from ``GEOPLAN_*`` / ``DATABASE_URL`` environment variables.
    planner : callable, optional
        ``planner(dataset, scenario, progress=...) -> Plan``; :func:`geoplan.scenario.plan` by
        default (tests pass a slow or failing one).
    """
    settings = settings or Settings()
    # a connection per request thread in flight plus one per solve worker
    engine = make_engine(settings.db_url, pool_size=settings.solve_concurrency + 8)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    n = recover(sessions)
    if n:
        log.warning("%d scenario(s) interrupted by a previous stop were marked failed", n)
    if not settings.tokens:
        log.warning("no GEOPLAN_TOKENS configured: every request except /health and /version will get 401 "
                    "(see api/README.md; `geoplan serve` prints a one-off token instead)")
    dataset = Dataset.load(settings.dataset_path)
    jobs = JobRunner(sessions, planner, settings.solve_concurrency, settings.solve_time_limit)
    ctx = AppContext(settings=settings, engine=engine, sessions=sessions, catalog=Catalog(dataset), jobs=jobs)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.shutdown()
        engine.dispose()

    app = FastAPI(
        title="geoplan API",
        version=meta._version(),
        description=(
            "The deputy portal's access to geoplan: public layers as GeoJSON, what-if scenarios solved into plans, "
            "deputy assignments, the network review and station edits with an audit trail. Authenticate with "
            "`Authorization: Bearer <token>` or `X-API-Key`. Errors are RFC 9457 problem details."),
        lifespan=lifespan,
    )
    app.state.ctx = ctx
    problems.install(app)
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes)
    for module in (meta, layers, scenarios, assignments, review, stations):
        app.include_router(module.router)
    for module in (reception, topics, posters):  # operations (geoplan.operations)
        app.include_router(module.router)
    # Make the problem schema a named component so every `responses=` reference resolves.
    _openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = _openapi()
            comps = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (problems.ProblemDetail, problems.FieldError, FeatureCollection):
                js = model.model_json_schema(ref_template="#/components/schemas/{model}")
                comps.update({k: v for k, v in js.pop("$defs", {}).items() if k not in comps})
                comps.setdefault(model.__name__, js)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the service with uvicorn (what ``geoplan serve`` calls).

    Without ``GEOPLAN_TOKENS`` a one-off city-planner token is generated and printed,
    so the bundled dataset can be explored with no set-up.
    """
    import uvicorn

    settings = Settings()
    if not settings.tokens:
        token = secrets.token_urlsafe(24)
        settings = settings.model_copy(update={"tokens": {token: TokenInfo(role="city_planner", name="local")}})
        print(f"No GEOPLAN_TOKENS set; this session's city-planner token is:\n  {token}\n"
              f"Use it as 'Authorization: Bearer {token}'. Docs: http://{host}:{port}/docs", file=sys.stderr)
    uvicorn.run(create_app(settings), host=host, port=port)


def __getattr__(name: str) -> Any:
    # `uvicorn api.main:app` — build the default app on first access, not at import.
    if name == "app":
        globals()["app"] = application = create_app()
        return application
    raise AttributeError(name)
