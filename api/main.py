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
from pydantic import BaseModel
from starlette.middleware.trustedhost import TrustedHostMiddleware

from api import docs, ogc, problems
from api.cache import Offload
from api.catalog import Catalog
from api.db import make_engine, make_sessionmaker, migrate
from api.deps import AppContext
from api.http import BodyGuard, SecurityHeaders
from api.jobs import JobRunner, recover
from api.limits import RateLimiter
from api.retention import prune
from api.routes import (  # operations: rotas, topic visits, posters
    assignments,
    layers,
    meta,
    posters,
    reception,
    review,
    scenarios,
    stations,
    topics,
    workspace,
)
from api.routes import opinions as opinion_routes
from api.routes import standards as standard_routes
from api.schemas import REQUEST_MODELS, FeatureCollection
from api.settings import Settings, TokenInfo
from api.workers import Planner, WorkerPool, make_compute
from geoplan.datasets import Dataset
from geoplan.scenario import plan

log = logging.getLogger("api")


# long: the one place that wires settings, state, middleware and every router, in order
def create_app(settings: Settings | None = None, *, planner: Planner = plan) -> FastAPI:
    """Build the service: migrate the database, load the dataset, start the solve pool.

    Parameters
    ----------
    settings : Settings, optional
        Defaults to ``Settings()`` read from ``GEOPLAN_*`` / ``DATABASE_URL`` environment variables.
    planner : callable, optional
        ``planner(dataset, scenario, progress=...) -> Plan``; :func:`geoplan.scenario.plan` by
        default (tests pass a slow or failing one). An injected planner runs in the server's
        threads; the default one in worker processes unless ``settings.compute`` is ``"thread"``.
    """
    settings = settings or Settings()
    # a connection per request thread in flight plus one per solve worker
    engine = make_engine(settings.db_url, pool_size=settings.solve_concurrency + 8)
    migrate(engine)
    sessions = make_sessionmaker(engine)
    n = recover(sessions)
    if n:
        log.warning("%d scenario(s) interrupted by a previous stop were marked failed", n)
    if settings.retention_days is not None:
        pruned = prune(sessions, settings.retention_days)
        if pruned:
            log.info("retention: deleted %d finished scenario(s) older than %g days", pruned, settings.retention_days)
    if not settings.tokens:
        log.warning("no GEOPLAN_TOKENS configured: every request except /health and /version will get 401 "
                    "(see api/README.md; `geoplan serve` prints a one-off token instead)")
    dataset = Dataset.load(settings.dataset_path)
    jobs = JobRunner(sessions, settings.solve_concurrency, settings.solve_time_limit,
                     max_per_user=settings.max_jobs_per_user, max_queue=settings.max_queue)
    # solves and the expensive reads each get their own workers: a long solve never delays a map
    solver = make_compute(settings.compute, settings.dataset_path, settings.solve_concurrency,
                          None if planner is plan else planner)
    renderer = make_compute(settings.compute, settings.dataset_path, settings.read_workers, name="read")
    ctx = AppContext(settings=settings, engine=engine, sessions=sessions, catalog=Catalog(dataset, settings.cache_entries),
                     jobs=jobs, solver=solver, renderer=renderer,
                     reads=Offload(settings.read_workers, settings.cache_entries),
                     limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
                     health_engine=make_engine(settings.db_url, pool_size=1))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        ctx.close()

    app = FastAPI(
        title="geoplan API",
        version=meta._version(),
        description=(
            "The deputy portal's access to geoplan: public layers as GeoJSON, what-if scenarios solved into plans, "
            "deputy assignments, the network review and station edits with an audit trail. Authenticate with "
            "`Authorization: Bearer <token>` or `X-API-Key`. Errors are RFC 9457 problem details."),
        lifespan=lifespan,
        docs_url=None,  # /docs is served offline by api.docs; no /redoc (it would load from a CDN)
        redoc_url=None,
    )
    app.state.ctx = ctx
    app.router.redirect_slashes = False  # its redirect would echo the Host header into Location
    problems.install(app)
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes, max_depth=settings.max_json_depth,
                       timeout=settings.body_timeout)
    app.add_middleware(SecurityHeaders)
    if settings.trusted_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.trusted_hosts)
    for module in (meta, layers, scenarios, assignments, review, stations):
        app.include_router(module.router)
    app.include_router(ogc.router)  # OGC API – Features under /ogc
    app.include_router(opinion_routes.router)  # people's opinions (intake, routing, reports)
    app.include_router(standard_routes.router)  # station standards (eight haves, five-good)
    docs.install(app)  # /docs: Swagger UI vendored under api/static, nothing from a CDN
    workspace.install(app)  # the planner's workspace at / (page, assets, cookie sessions)
    for module in (reception, topics, posters):  # operations (geoplan.operations)
        app.include_router(module.router)
    # Make the problem schema a named component so every `responses=` reference resolves.
    _openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = _openapi()
            comps = schema.setdefault("components", {}).setdefault("schemas", {})
            models: list[type[BaseModel]] = [problems.ProblemDetail, problems.FieldError, FeatureCollection,
                                             *REQUEST_MODELS]
            for model in models:
                js = model.model_json_schema(ref_template="#/components/schemas/{model}")
                comps.update({k: v for k, v in js.pop("$defs", {}).items() if k not in comps})
                comps.setdefault(model.__name__, js)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app


def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the service with uvicorn (what ``geoplan serve`` calls), with the read timeouts and
    connection limits of :func:`api.server.uvicorn_options`.

    Without ``GEOPLAN_TOKENS`` a one-off city-planner token is generated and printed,
    so the bundled dataset can be explored with no set-up. A malformed configuration stops
    it with the problem named (tokens masked), not a traceback.
    """
    import uvicorn
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from api.server import uvicorn_options

    try:
        settings = Settings()
    except (ValidationError, SettingsError) as exc:
        print(f"geoplan serve: invalid configuration: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if not settings.tokens:
        token = secrets.token_urlsafe(24)
        settings = settings.model_copy(update={"tokens": {token: TokenInfo(role="city_planner", name="local")}})
        print(f"No GEOPLAN_TOKENS set; this session's city-planner token is:\n  {token}\n"
              f"Use it as 'Authorization: Bearer {token}'. Docs: http://{host}:{port}/docs", file=sys.stderr)
    print(f"Planner's workspace: http://{host}:{port}/ (sign in with a planner's token)", file=sys.stderr)
    # hand the GIL to the event loop more often than every 5 ms, so requests are not held up by the
    # solve and read threads' Python work (this process only serves the API)
    sys.setswitchinterval(0.001)
    app = create_app(settings)
    for pool in (app.state.ctx.solver, app.state.ctx.renderer):
        if isinstance(pool, WorkerPool):
            pool.start(1)  # load the dataset in one worker of each now, not on the first request
    uvicorn.run(app, host=host, port=port, **uvicorn_options(settings))


def __getattr__(name: str) -> Any:
    # `uvicorn api.main:app` — build the default app on first access, not at import.
    if name == "app":
        globals()["app"] = application = create_app()
        return application
    raise AttributeError(name)
