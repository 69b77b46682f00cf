"""Scenarios: submit, poll, list, cancel, delete; their plan as GeoJSON and summary, map and export."""
from __future__ import annotations

import json
import uuid
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from starlette.responses import HTMLResponse, Response

from api import crud
from api.deps import Ctx, CurrentUser, Db, LockedScenario, PlanDep, Planner, ScenarioDep, require_edit
from api.models import FINAL_STATUSES, ScenarioRow
from api.planner import geoplan_function, load_plan
from api.problems import ApiProblem, input_problem, responses
from api.routes.common import GEOJSON, GEOJSON_200, Limit, Offset, check_limit, json_response, page_links, utc
from api.schemas import PlanSummary, ScenarioPage, ScenarioStatus, ScenarioStatusName, ScenarioSubmit
from geoplan.exceptions import InputError

router = APIRouter(prefix="/scenarios", tags=["scenarios"])
GPKG = "application/geopackage+sqlite3"


def status_out(request: Request, row: ScenarioRow) -> dict[str, Any]:
    """A scenario row as :class:`ScenarioStatus` JSON, with links to its plan once it is done."""
    base = str(request.url_for("get_scenario", scenario_id=row.id))
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


@router.post("", status_code=201, response_model=ScenarioStatus, summary="Submit a scenario",
             responses={202: {"model": ScenarioStatus, "description": "Accepted: runs as a job; poll its status"},
                        **responses(400, 401, 403, 413, 415, 422)})
def submit_scenario(body: ScenarioSubmit, request: Request, response: Response, ctx: Ctx, db: Db, user: Planner,
                    mode: Literal["auto", "async"] = Query(
                        "auto", description="auto: budgets up to the sync limit answer in the request; async: always a job")
                    ) -> dict[str, Any]:
    county = body.county_code
    sc = body.scenario
    view = ctx.view(db)
    try:
        ds = view.dataset_for(county)  # unknown county → InputError
        require_edit(user, county, "run scenarios")
        view.review_features(county, sc)  # the library checks every id the scenario names; kept for /review
    except InputError as exc:
        raise input_problem(exc) from exc
    if sc.time_limit > ctx.settings.solve_time_limit:
        sc = sc.model_copy(update={"time_limit": float(ctx.settings.solve_time_limit)})
    row = ScenarioRow(id=uuid.uuid4().hex, name=sc.name, county_code=county, owner=user.name, status="queued",
                      progress=0.0, message="queued", cancel_requested=False, scenario_json=sc.model_dump_json())
    db.add(row)
    crud.add_audit(db, user, "scenario.submit", "scenario", row.id, county, {"name": sc.name, "budget": sc.budget})
    db.commit()
    future = ctx.jobs.submit(row.id, ds, sc)
    if mode == "auto" and sc.budget <= ctx.settings.sync_budget_limit:
        try:
            future.result(timeout=ctx.settings.solve_time_limit + 30)
        except InputError as exc:  # the planner rejected the scenario (unknown ids, budget too small, ...)
            raise input_problem(exc) from exc
        except (FutureTimeout, Exception):  # recorded on the row by the job runner
            pass
        db.refresh(row)
    response.status_code = 201 if row.status in FINAL_STATUSES else 202
    response.headers["Location"] = str(request.url_for("get_scenario", scenario_id=row.id))
    return status_out(request, row)


@router.get("", response_model=ScenarioPage, summary="List scenarios", responses=responses(401, 422))
def list_scenarios(request: Request, ctx: Ctx, db: Db, user: CurrentUser,
                   status: ScenarioStatusName | None = None,
                   county: Annotated[str | None, Query(max_length=32)] = None,
                   limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    check_limit(limit, ctx.settings.max_page_size)
    rows, matched = crud.scenarios(db, status=status, county=county, limit=limit, offset=offset)
    return {"items": [status_out(request, r) for r in rows], "numberMatched": matched,
            "numberReturned": len(rows), "links": page_links(request, offset, limit, matched)}


@router.get("/{scenario_id}", response_model=ScenarioStatus, summary="Status and progress of a scenario",
            responses=responses(401, 404, 422))
def get_scenario(user: CurrentUser, row: ScenarioDep, request: Request) -> dict[str, Any]:
    return status_out(request, row)


@router.delete("/{scenario_id}", status_code=204, summary="Delete a scenario (cancels it if running)",
               response_class=Response, responses=responses(401, 403, 404, 422))
def delete_scenario(user: Planner, row: LockedScenario, ctx: Ctx, db: Db) -> Response:
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
    feats = plan.stations_geojson["features"]  # from Plan.to_geojson: each feature has its id
    if decision is not None:
        feats = [f for f in feats if f["properties"]["decision"] == decision]
    body = {"type": "FeatureCollection", "features": feats, "numberMatched": len(feats), "numberReturned": len(feats),
            "links": [{"href": str(request.url), "rel": "self", "type": GEOJSON}],
            "metrics": plan.summary.get("metrics", {})}
    return json_response(body, GEOJSON)


@router.get("/{scenario_id}/summary", response_model=PlanSummary, summary="The plan's metrics and per-county/town tables",
            responses=responses(401, 404, 409, 422))
def get_summary(user: CurrentUser, plan: PlanDep) -> dict[str, Any]:
    return {"scenario_id": plan.scenario_id, **plan.summary}


@router.get("/{scenario_id}/map", response_class=HTMLResponse, summary="The plan as an interactive map (HTML)",
            responses={200: {"content": {"text/html": {}}}, **responses(401, 404, 409, 422, 503)})
def get_map(user: CurrentUser, row: ScenarioDep, plan: PlanDep, ctx: Ctx, db: Db) -> HTMLResponse:
    plan_map = geoplan_function("maps", "plan_map")
    m = plan_map(ctx.view(db).dataset_for(row.county_code), load_plan(plan.gpkg))
    return HTMLResponse(m.get_root().render())


@router.get("/{scenario_id}/export", response_class=Response, summary="The plan as a GeoPackage",
            responses={200: {"content": {GPKG: {"schema": {"type": "string", "format": "binary"}}}},
                       **responses(401, 404, 409, 422)})
def export_plan(user: CurrentUser, plan: PlanDep) -> Response:
    return Response(plan.gpkg, media_type=GPKG,
                    headers={"Content-Disposition": f'attachment; filename="plan-{plan.scenario_id}.gpkg"'})
