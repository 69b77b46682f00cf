"""``/health`` and ``/version`` (no token needed)."""
from __future__ import annotations

import asyncio
import platform
from importlib import metadata
from typing import Any

from fastapi import APIRouter
from sqlalchemy import text

from api.deps import Ctx
from api.problems import ApiProblem, responses
from api.schemas import Health, Version

router = APIRouter(tags=["meta"])


def _version() -> str:
    try:
        return metadata.version("geoplan")
    except metadata.PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def _ping(engine: Any) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@router.get("/health", response_model=Health, summary="Liveness and database check", responses=responses(503))
async def health(ctx: Ctx) -> Health:
    """Liveness: the dataset and the jobs solving now, ``ok`` if the database answers (a server within 5 s), else 503."""
    try:
        if ctx.health_engine.url.get_backend_name() == "sqlite":
            _ping(ctx.health_engine)  # a local file: microseconds, and no thread hop under load
        else:  # a network round trip: on /health's own threads and pool, never behind busy request threads
            ping = asyncio.get_running_loop().run_in_executor(ctx.health_pool, _ping, ctx.health_engine)
            await asyncio.wait_for(ping, timeout=5)
    except Exception as exc:
        raise ApiProblem(503, f"database unreachable: {type(exc).__name__}", kind="unavailable") from exc
    return Health(status="ok", database="ok", dataset=ctx.catalog.base.name, solving=ctx.jobs.active())


@router.get("/version", response_model=Version, summary="Versions of the API, geoplan and the dataset")
def version(ctx: Ctx) -> Version:
    """The versions of the API, geoplan, Python and the name of the loaded dataset."""
    v = _version()
    return Version(api=v, geoplan=v, dataset=ctx.catalog.base.name, python=platform.python_version())
