"""Scenarios: submit, poll, list, cancel, delete; their plan as GeoJSON and summary, map and export."""
from __future__ import annotations

import asyncio
import json
from concurrent.futures import Future
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, Response

from api import crud
from api.deps import (
    AppContext,
    Ctx,
    CurrentUser,
    Db,
    LockedScenario,
    PlanDep,
    Planner,
    ScenarioDep,
    User,
    json_body,
    request_body,
    require_edit,
)
from api.jobs import QueueFull, QuotaExceeded
from api.limits import retry_after
from api.models import FINAL_STATUSES, ScenarioRow
from api.problems import ApiProblem, input_problem, responses
from api.routes.common import (
    GEOJSON,
    GEOJSON_200,
    Limit,
    Offset,
    check_limit,
    href,
    json_response,
    page_links,
    self_href,
    utc,
)
from api.schemas import (
    PlanSummary,
    ScenarioPage,
    ScenarioStatus,
    ScenarioStatusName,
    ScenarioSubmit,
)
from geoplan.exceptions import InputError

router = APIRouter(prefix="/scenarios", tags=["scenarios"])
GPKG = "application/geopackage+sqlite3"
#: OpenAPI links from a submitted scenario to its reads (used by schemathesis' stateful tests).
SCENARIO_LINKS = {
    f"{method}{tail.replace('/', '_') or '_status'}": {
        "operationRef": f"#/paths/~1scenarios~1{{scenario_id}}{tail.replace('/', '~1')}/{method}",
        "parameters": {"scenario_id": "$response.body#/id"}}
    for method, tail in (("get", ""), ("get", "/plan"), ("get", "/summary"), ("get", "/assignments"),
                         ("get", "/review"), ("get", "/map"), ("post", "/cancel"), ("delete", ""))
}


def status_out(request: Request, row: ScenarioRow) -> dict[str, Any]:
    """A scenario row as :class:`ScenarioStatus` JSON, with links to its plan once it is done."""
    base = href(request, f"/scenarios/{row.id}")
    links = [{"href": base, "rel": "self", "type": "application/json"}]
    if row.status == "done":
        links += [{"href": f"{base}/plan", "rel": "plan", "type": GEOJSON},
                  {"href": f"{base}/summary", "rel": "summary", "type": "application/json"},
                  {"href": f"{base}/map", "rel": "map", "type": "text/html"},
                  {"href": f"{base}/export", "rel": "export", "type": GPKG},
                  {"href": f"{base}/assignments", "rel": "assignments", "type": "application/json"}]
    return {"id": row.id, "name": row.name, "county_code": row.county_code, "owner": row.owner, "status": row.status,
            "progress": float(row.progress), "message": row.message, "error": row.error,
            "created_at": utc(row.created_at), "updated_at": utc(row.updated_at),
            "scenario": json.loads(row.scenario_json), "links": links}


def _admit(ctx: AppContext, user: User, body: ScenarioSubmit) -> tuple[ScenarioRow, Future]:
    """Check, store and queue a scenario (on a request thread); nothing is stored unless it passes.

    Order: the county exists and the user may plan for it (403), the user's quota and the queue
    (429 / 503), then the library's checks of the scenario against the dataset (422) — the
    review it computes is kept for ``/scenarios/{id}/review``.
    """
    county, sc = body.county_code, body.scenario
    with ctx.sessions() as db:
        view = ctx.view(db)
        try:
            view.dataset_for(county)  # unknown county → InputError
        except InputError as exc:
            raise input_problem(exc) from exc
        require_edit(user, county, "run scenarios")
        try:
            sid = ctx.jobs.reserve(user.name)
        except QuotaExceeded as exc:
            raise ApiProblem(429, str(exc), kind="quota-exceeded", headers={"Retry-After": retry_after(exc.retry_after)})
        except QueueFull as exc:
            raise ApiProblem(503, str(exc), kind="queue-full", headers={"Retry-After": retry_after(exc.retry_after)})
        try:
            try:
                # the library checks every id the scenario names (in a read worker: no GIL held here)
                view.review_features(county, sc, ctx.renderer)
            except InputError as exc:
                raise input_problem(exc) from exc
            if sc.time_limit > ctx.settings.solve_time_limit:
                sc = sc.model_copy(update={"time_limit": float(ctx.settings.solve_time_limit)})
            row = ScenarioRow(id=sid, name=sc.name, county_code=county, owner=user.name, status="queued",
                              progress=0.0, message="queued", cancel_requested=False, scenario_json=sc.model_dump_json())
            db.add(row)
            crud.add_audit(db, user, "scenario.submit", "scenario", row.id, county, {"name": sc.name, "budget": sc.budget})
            db.commit()
        except BaseException:
            ctx.jobs.release(sid)
            raise
        def work(progress: Any, check: Any) -> Any:  # runs on the job pool, the solve in a worker process
            return ctx.solver.plan(view, county, sc, progress, check)

        return row, ctx.jobs.submit(row.id, work)


def _withdraw(ctx: AppContext, user: User, row: ScenarioRow, reason: str) -> None:
    """Remove a scenario the planner rejected in the request: a 422 leaves no row behind."""
    with ctx.sessions() as db:
        stored = crud.scenario(db, row.id, lock=True)
        if stored is not None:
            db.delete(stored)
        crud.add_audit(db, user, "scenario.reject", "scenario", row.id, row.county_code, {"reason": reason[:500]})
        db.commit()


def _reload(ctx: AppContext, sid: str) -> ScenarioRow | None:
    with ctx.sessions() as db:
        found: ScenarioRow | None = crud.scenario(db, sid)
        return found


@router.post("", status_code=201, response_model=ScenarioStatus, summary="Submit a scenario",
             openapi_extra=request_body(ScenarioSubmit),
             responses={202: {"model": ScenarioStatus, "description": "Accepted: runs as a job; poll its status",
                              "links": SCENARIO_LINKS},
                        201: {"description": "Solved in the request", "links": SCENARIO_LINKS},
                        **responses(400, 401, 403, 413, 415, 422, 429, 503)})
async def submit_scenario(request: Request, response: Response, ctx: Ctx, user: Planner,
                          body: Annotated[ScenarioSubmit, json_body(ScenarioSubmit)],
                          mode: Literal["auto", "async"] = Query(
                              "auto", description="auto: budgets up to the sync limit answer in the request; "
                                                  "async: always a job")) -> dict[str, Any]:
    """Submit a scenario: solved in the request when small (201), else queued (202) and polled."""
    row, future = await run_in_threadpool(_admit, ctx, user, body)
    if mode == "auto" and body.scenario.budget <= ctx.settings.sync_budget_limit:
        # wait on the event loop, not on a server thread; a timeout leaves the job running
        waiter = asyncio.wrap_future(future)
        done, _ = await asyncio.wait({waiter}, timeout=ctx.settings.solve_time_limit + 30)
        exc = waiter.exception() if done and not waiter.cancelled() else None
        if isinstance(exc, InputError):  # the planner refused the scenario (e.g. budget too small)
            await run_in_threadpool(_withdraw, ctx, user, row, str(exc))
            raise input_problem(exc)
        fresh = await run_in_threadpool(_reload, ctx, row.id)
        if fresh is not None:  # None: deleted meanwhile; answer with what was stored
            row = fresh
    response.status_code = 201 if row.status in FINAL_STATUSES else 202
    response.headers["Location"] = href(request, f"/scenarios/{row.id}")
    return status_out(request, row)


@router.get("", response_model=ScenarioPage, summary="List scenarios", responses=responses(401, 422))
def list_scenarios(request: Request, ctx: Ctx, db: Db, user: CurrentUser,
                   status: ScenarioStatusName | None = None,
                   county: Annotated[str | None, Query(max_length=32)] = None,
                   limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    """The scenarios this user may see, newest first, one page at a time."""
    check_limit(limit, ctx.settings.max_page_size)
    rows, matched = crud.scenarios(db, status=status, county=county, limit=limit, offset=offset)
    return {"items": [status_out(request, r) for r in rows], "numberMatched": matched,
            "numberReturned": len(rows), "links": page_links(request, offset, limit, matched)}


@router.get("/{scenario_id}", response_model=ScenarioStatus, summary="Status and progress of a scenario",
            responses=responses(401, 404, 422))
def get_scenario(user: CurrentUser, row: ScenarioDep, request: Request) -> dict[str, Any]:
    """A scenario's status, progress and links."""
    return status_out(request, row)


@router.delete("/{scenario_id}", status_code=204, summary="Delete a scenario (cancels it if running)",
               response_class=Response, responses=responses(401, 403, 404, 422))
def delete_scenario(user: Planner, row: LockedScenario, ctx: Ctx, db: Db) -> Response:
    """Delete a scenario and its plan (a running solve is cancelled first)."""
    require_edit(user, row.county_code, "delete scenarios")
    ctx.jobs.cancel(row.id)
    crud.add_audit(db, user, "scenario.delete", "scenario", row.id, row.county_code,
                   {"name": row.name, "status": row.status})
    db.delete(row)
    db.commit()
    return Response(status_code=204)


@router.post("/{scenario_id}/cancel", status_code=202, response_model=ScenarioStatus,
             summary="Cancel a queued or running scenario", responses=responses(401, 403, 404, 409, 422))
def cancel_scenario(user: Planner, row: LockedScenario, request: Request, ctx: Ctx, db: Db) -> dict[str, Any]:
    """Cancel a queued or running scenario (409 once it has finished)."""
    require_edit(user, row.county_code, "cancel scenarios")
    if row.status in FINAL_STATUSES:
        raise ApiProblem(409, f"scenario {row.id} is already {row.status}", kind="not-cancellable")
    row.cancel_requested = True
    if row.status == "queued":
        row.status, row.message = "cancelled", "cancelled before it started"
    else:
        row.message = "cancelling"
    crud.add_audit(db, user, "scenario.cancel", "scenario", row.id, row.county_code, {})
    db.commit()
    ctx.jobs.cancel(row.id)
    return status_out(request, row)


@router.get("/{scenario_id}/plan", summary="The plan's stations as GeoJSON",
            response_description="RFC 7946 FeatureCollection of every station with its decision; `metrics` as a foreign member",
            responses={**GEOJSON_200, **responses(401, 404, 409, 422)})
def get_plan(user: CurrentUser, plan: PlanDep, request: Request,
             decision: Literal["keep", "close", "open"] | None = None) -> Response:
    """The plan's stations as GeoJSON, optionally only one decision."""
    feats = plan.stations_geojson["features"]  # from Plan.to_geojson: each feature has its id
    if decision is not None:
        feats = [f for f in feats if f["properties"]["decision"] == decision]
    body = {"type": "FeatureCollection", "features": feats, "numberMatched": len(feats), "numberReturned": len(feats),
            "links": [{"href": self_href(request), "rel": "self", "type": GEOJSON}],
            "metrics": plan.summary.get("metrics", {})}
    return json_response(body, GEOJSON)


@router.get("/{scenario_id}/summary", response_model=PlanSummary, summary="The plan's metrics and per-county/town tables",
            responses=responses(401, 404, 409, 422))
def get_summary(user: CurrentUser, plan: PlanDep) -> dict[str, Any]:
    """The plan's metrics and per-county and per-town tables."""
    return {"scenario_id": plan.scenario_id, **plan.summary}


@router.get("/{scenario_id}/map", response_class=HTMLResponse, summary="The plan as an interactive map (HTML)",
            responses={200: {"content": {"text/html": {}}}, **responses(401, 404, 409, 422, 503)})
async def get_map(user: CurrentUser, row: ScenarioDep, plan: PlanDep, ctx: Ctx, db: Db) -> HTMLResponse:
    """The plan as a self-contained interactive map (nothing loads from a CDN)."""
    view = await run_in_threadpool(ctx.view, db)
    sid, county = row.id, row.county_code

    def render() -> str:
        with ctx.sessions() as s:
            gpkg = crud.plan_gpkg(s, sid)
        if gpkg is None:
            raise ApiProblem(404, f"unknown scenario id {sid!r}", field="path.scenario_id", kind="unknown-id")
        return ctx.renderer.map_page(view, county, gpkg)  # in a worker process by default

    # rendered once per plan and station-edit version, on the read pool; kept in a bounded cache
    return HTMLResponse(await ctx.reads.get(("map", sid, view.version), render))


@router.get("/{scenario_id}/export", response_class=Response, summary="The plan as a GeoPackage",
            responses={200: {"content": {GPKG: {"schema": {"type": "string", "format": "binary"}}}},
                       **responses(401, 404, 409, 422)})
def export_plan(user: CurrentUser, plan: PlanDep) -> Response:
    """The plan as a GeoPackage download."""
    return Response(plan.gpkg, media_type=GPKG,
                    headers={"Content-Disposition": f'attachment; filename="plan-{plan.scenario_id}.gpkg"'})
