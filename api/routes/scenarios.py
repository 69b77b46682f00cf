"""Scenarios: submit, poll, list, cancel, delete; their plan as GeoJSON and summary, map and export."""
from __future__ import annotations

import json
import uuid
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, Response

from api.catalog import county_subset
from api.deps import AppContext, Ctx, CurrentUser, Db, Planner, require_edit
from api.models import FINAL_STATUSES, PlanRow, ScenarioRow
from api.planner import geoplan_function, load_plan
from api.problems import ApiProblem, responses
from api.routes.common import GEOJSON, GEOJSON_200, Limit, Offset, audit, check_limit, json_response, page_links
from api.schemas import FeatureCollection, PlanSummary, ScenarioPage, ScenarioStatus, ScenarioStatusName, ScenarioSubmit
from geoplan.datasets import Dataset
from geoplan.exceptions import InputError

router = APIRouter(prefix="/scenarios", tags=["scenarios"])
ScenarioId = Annotated[str, Path(min_length=1, max_length=64, description="Scenario id")]
GPKG = "application/geopackage+sqlite3"


def dataset_for(ctx: AppContext, db: Session, county_code: str | None) -> Dataset:
    """The current dataset (station edits applied), cut to one county when given."""
    view = ctx.view(db)
    if county_code is None:
        return view.dataset
    with view.lock:
        key = ("county", county_code)
        if key not in view.cache:
            view.cache[key] = county_subset(view.dataset, county_code)
        return view.cache[key]


def _check_ids(ds: Dataset, sc: Any) -> None:
    """Every id the scenario names must exist in the dataset it runs on (422 naming the field)."""
    stations = set(ds.stations["id"].astype(str))
    known = {"force_open": stations, "force_closed": stations,
             "exclude_towns": set(ds.towns["code"].astype(str)), "exclude_sites": set(ds.sites["id"].astype(str))}
    what = {"force_open": "station", "force_closed": "station", "exclude_towns": "town", "exclude_sites": "venue"}
    errors = []
    for fld, ids in known.items():
        for i, v in enumerate(getattr(sc, fld)):
            if v not in ids:
                errors.append({"field": f"body.scenario.{fld}.{i}", "type": "unknown-id",
                               "message": f"unknown {what[fld]} id {v!r} in dataset {ds.name}"})
    if errors:
        raise ApiProblem(422, errors[0]["message"] + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""),
                         kind="unknown-id", errors=errors)


def status_out(request: Request, row: ScenarioRow) -> dict[str, Any]:
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
            "created_at": row.created_at, "updated_at": row.updated_at,
            "scenario": json.loads(row.scenario_json), "links": links}


def get_row(db: Session, scenario_id: str, lock: bool = False) -> ScenarioRow:
    """The scenario's row, 404 if unknown; ``lock`` holds it (``FOR UPDATE``) until commit, so a
    cancel or delete and the solve worker publishing its result never interleave."""
    row = db.get(ScenarioRow, scenario_id, with_for_update=lock)
    if row is None:
        raise ApiProblem(404, f"unknown scenario id {scenario_id!r}", field="path.scenario_id", kind="unknown-id")
    return row


def get_plan_row(db: Session, scenario_id: str) -> tuple[ScenarioRow, PlanRow]:
    row = get_row(db, scenario_id)
    plan = db.get(PlanRow, scenario_id) if row.status == "done" else None
    if plan is None:
        raise ApiProblem(409, f"scenario {scenario_id} has no plan: its status is {row.status!r}"
                              + (f" ({row.error})" if row.error else ""), kind="no-plan")
    return row, plan


@router.post("", status_code=201, response_model=ScenarioStatus, summary="Submit a scenario",
             responses={202: {"model": ScenarioStatus, "description": "Accepted: runs as a job; poll its status"},
                        **responses(400, 401, 403, 413, 415, 422)})
def submit_scenario(body: ScenarioSubmit, request: Request, ctx: Ctx, db: Db, user: Planner,
                    mode: Literal["auto", "async"] = Query(
                        "auto", description="auto: budgets up to the sync limit answer in the request; async: always a job")
                    ) -> Response:
    county = body.county_code
    if county is not None and county not in ctx.catalog.county_codes:
        raise ApiProblem(422, f"unknown county code {county!r}", field="body.county_code", kind="unknown-id")
    require_edit(user, county, "run scenarios")
    ds = dataset_for(ctx, db, county)
    sc = body.scenario
    _check_ids(ds, sc)
    if sc.time_limit > ctx.settings.solve_time_limit:
        sc = sc.model_copy(update={"time_limit": float(ctx.settings.solve_time_limit)})
    row = ScenarioRow(id=uuid.uuid4().hex, name=sc.name, county_code=county, owner=user.name, status="queued",
                      progress=0.0, message="queued", cancel_requested=False, scenario_json=sc.model_dump_json())
    db.add(row)
    audit(db, user, "scenario.submit", "scenario", row.id, county, {"name": sc.name, "budget": sc.budget})
    db.commit()
    future = ctx.jobs.submit(row.id, ds, sc)
    if mode == "auto" and sc.budget <= ctx.settings.sync_budget_limit:
        try:
            future.result(timeout=ctx.settings.solve_time_limit + 30)
        except InputError as exc:  # the planner rejected the scenario
            raise ApiProblem(422, f"scenario rejected: {exc}", field="body.scenario", kind="invalid-scenario") from exc
        except (FutureTimeout, Exception):  # recorded on the row by the job runner
            pass
        db.refresh(row)
    final = row.status in FINAL_STATUSES
    location = str(request.url_for("get_scenario", scenario_id=row.id))
    return json_response(status_out(request, row), status=201 if final else 202, headers={"Location": location})


@router.get("", response_model=ScenarioPage, summary="List scenarios", responses=responses(401, 422))
def list_scenarios(request: Request, ctx: Ctx, db: Db, user: CurrentUser,
                   status: ScenarioStatusName | None = None,
                   county: Annotated[str | None, Query(max_length=32)] = None,
                   limit: Limit = 100, offset: Offset = 0) -> Response:
    check_limit(limit, ctx.settings.max_page_size)
    q = select(ScenarioRow)
    if status is not None:
        q = q.where(ScenarioRow.status == status)
    if county is not None:
        q = q.where(ScenarioRow.county_code == county)
    matched = db.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = db.scalars(q.order_by(ScenarioRow.created_at.desc(), ScenarioRow.id).offset(offset).limit(limit)).all()
    return json_response({"items": [status_out(request, r) for r in rows], "numberMatched": matched,
                          "numberReturned": len(rows), "links": page_links(request, offset, limit, matched)})


@router.get("/{scenario_id}", response_model=ScenarioStatus, summary="Status and progress of a scenario",
            responses=responses(401, 404, 422))
def get_scenario(scenario_id: ScenarioId, request: Request, db: Db, user: CurrentUser) -> Response:
    return json_response(status_out(request, get_row(db, scenario_id)))


@router.delete("/{scenario_id}", status_code=204, summary="Delete a scenario (cancels it if running)",
               response_class=Response, responses=responses(401, 403, 404, 422))
def delete_scenario(scenario_id: ScenarioId, ctx: Ctx, db: Db, user: Planner) -> Response:
    row = get_row(db, scenario_id, lock=True)
    require_edit(user, row.county_code, "delete scenarios")
    ctx.jobs.cancel(row.id)
    audit(db, user, "scenario.delete", "scenario", row.id, row.county_code, {"name": row.name, "status": row.status})
    db.delete(row)
    db.commit()
    return Response(status_code=204)


@router.post("/{scenario_id}/cancel", status_code=202, response_model=ScenarioStatus, summary="Cancel a queued or running scenario",
             responses=responses(401, 403, 404, 409, 422))
def cancel_scenario(scenario_id: ScenarioId, request: Request, ctx: Ctx, db: Db, user: Planner) -> Response:
    row = get_row(db, scenario_id, lock=True)
    require_edit(user, row.county_code, "cancel scenarios")
    if row.status in FINAL_STATUSES:
        raise ApiProblem(409, f"scenario {scenario_id} is already {row.status}", kind="not-cancellable")
    row.cancel_requested = True
    if row.status == "queued":
        row.status, row.message = "cancelled", "cancelled before it started"
    else:
        row.message = "cancelling"
    audit(db, user, "scenario.cancel", "scenario", row.id, row.county_code, {})
    db.commit()
    ctx.jobs.cancel(row.id)
    return json_response(status_out(request, row), status=202)


@router.get("/{scenario_id}/plan", response_model=FeatureCollection, summary="The plan's stations as GeoJSON",
            response_description="RFC 7946 FeatureCollection of every station with its decision; `metrics` as a foreign member",
            responses={**GEOJSON_200, **responses(401, 404, 409, 422)})
def get_plan(scenario_id: ScenarioId, request: Request, db: Db, user: CurrentUser,
             decision: Literal["keep", "close", "open"] | None = None) -> Response:
    _, plan = get_plan_row(db, scenario_id)
    feats = plan.stations_geojson["features"]  # from Plan.to_geojson: each feature has its id
    if decision is not None:
        feats = [f for f in feats if f["properties"]["decision"] == decision]
    body = {"type": "FeatureCollection", "features": feats, "numberMatched": len(feats), "numberReturned": len(feats),
            "links": [{"href": str(request.url), "rel": "self", "type": GEOJSON}],
            "metrics": plan.summary.get("metrics", {})}
    return json_response(body, GEOJSON)


@router.get("/{scenario_id}/summary", response_model=PlanSummary, summary="The plan's metrics and per-county/town tables",
            responses=responses(401, 404, 409, 422))
def get_summary(scenario_id: ScenarioId, db: Db, user: CurrentUser) -> Response:
    _, plan = get_plan_row(db, scenario_id)
    return json_response({"scenario_id": scenario_id, **plan.summary})


@router.get("/{scenario_id}/map", response_class=HTMLResponse, summary="The plan as an interactive map (HTML)",
            responses={200: {"content": {"text/html": {}}}, **responses(401, 404, 409, 422, 503)})
def get_map(scenario_id: ScenarioId, ctx: Ctx, db: Db, user: CurrentUser) -> HTMLResponse:
    row, plan_row = get_plan_row(db, scenario_id)
    plan_map = geoplan_function("maps", "plan_map")
    m = plan_map(dataset_for(ctx, db, row.county_code), load_plan(plan_row.gpkg))
    return HTMLResponse(m.get_root().render())


@router.get("/{scenario_id}/export", response_class=Response, summary="The plan as a GeoPackage",
            responses={200: {"content": {GPKG: {"schema": {"type": "string", "format": "binary"}}}},
                       **responses(401, 404, 409, 422)})
def export_plan(scenario_id: ScenarioId, db: Db, user: CurrentUser) -> Response:
    row, plan = get_plan_row(db, scenario_id)
    return Response(plan.gpkg, media_type=GPKG,
                    headers={"Content-Disposition": f'attachment; filename="plan-{row.id}.gpkg"'})
