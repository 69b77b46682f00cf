"""Station edits — propose, close, reopen — with an audit trail of who changed what and when."""
from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import func, select
from starlette.responses import Response

from api.deps import Ctx, Db, Planner, User, require_edit
from api.models import AuditRow, StationEditRow
from api.problems import ApiProblem, responses
from api.routes.common import Limit, Offset, audit, check_limit, json_response, page_links
from api.schemas import AuditPage, StationAction, StationEdit, StationOut, StationProposal

router = APIRouter(tags=["stations"])
StationId = Annotated[str, Path(min_length=1, max_length=64, description="Station id")]


def _edit_out(e: StationEditRow) -> dict:
    return {"id": e.id, "station_id": e.station_id, "action": e.action, "county_code": e.county_code,
            "town_code": e.town_code, "data": e.data, "reason": e.reason, "actor": e.actor, "created_at": e.created_at}


def _station(ctx: Ctx, db: Db, station_id: str) -> tuple[dict, str, str]:
    """(feature, town code, county code) of a current station; 404 if unknown."""
    index = ctx.view(db).layers["stations"]
    hit = (index.frame["id"].astype(str) == station_id).to_numpy().nonzero()[0]
    if not len(hit):
        raise ApiProblem(404, f"unknown station id {station_id!r}", field="path.station_id", kind="unknown-id")
    i = int(hit[0])
    town = str(index.frame["town_code"].iloc[i])
    return index.features[i], town, ctx.catalog.town_county.get(town, "")


def _history(db: Db, station_id: str) -> list[dict]:
    rows = db.scalars(select(StationEditRow).where(StationEditRow.station_id == station_id).order_by(StationEditRow.id))
    return [_edit_out(e) for e in rows]


@router.get("/stations/{station_id}", response_model=StationOut, summary="A station, as it stands after edits, with its edit history",
            responses=responses(401, 403, 404, 422))
def get_station(station_id: StationId, ctx: Ctx, db: Db, user: Planner) -> Response:
    feature, _, county = _station(ctx, db, station_id)
    return json_response({"station": feature, "county_code": county, "history": _history(db, station_id)})


@router.post("/stations", status_code=201, response_model=StationEdit, summary="Propose a new station",
             responses=responses(400, 401, 403, 413, 415, 422))
def propose_station(body: StationProposal, ctx: Ctx, db: Db, user: Planner) -> Response:
    town = ctx.catalog.town_at(body.lon, body.lat)
    if town is None:
        raise ApiProblem(422, f"point ({body.lon}, {body.lat}) lies in no town of the dataset", field="body.lon",
                         kind="outside-region")
    county = ctx.catalog.town_county[town]
    require_edit(user, county, "propose stations")
    if body.site_id is not None and body.site_id not in ctx.catalog.site_ids:
        raise ApiProblem(422, f"unknown venue id {body.site_id!r}", field="body.site_id", kind="unknown-id")
    sid = f"NEW-{uuid.uuid4().hex[:10]}"
    data = body.model_dump(exclude={"reason"})
    edit = StationEditRow(station_id=sid, action="propose", county_code=county, town_code=town, data=data,
                          reason=body.reason, actor=user.name)
    db.add(edit)
    audit(db, user, "station.propose", "station", sid, county, {"town_code": town, **data, "reason": body.reason})
    db.commit()
    return json_response(_edit_out(edit), status=201)


def _change(station_id: str, body: StationAction, ctx: Ctx, db: Db, user: User, action: str) -> Response:
    feature, town, county = _station(ctx, db, station_id)
    require_edit(user, county, f"{action} stations")
    status = feature["properties"].get("status")
    if action == "close" and status == "closed":
        raise ApiProblem(409, f"station {station_id} is already closed", kind="conflict")
    if action == "reopen" and status == "active":
        raise ApiProblem(409, f"station {station_id} is already active", kind="conflict")
    edit = StationEditRow(station_id=station_id, action=action, county_code=county, town_code=town,
                          data={"previous_status": status}, reason=body.reason, actor=user.name)
    db.add(edit)
    audit(db, user, f"station.{action}", "station", station_id, county,
          {"previous_status": status, "reason": body.reason})
    db.commit()
    return json_response(_edit_out(edit))


@router.post("/stations/{station_id}/close", response_model=StationEdit, summary="Close a station",
             responses=responses(400, 401, 403, 404, 409, 413, 415, 422))
def close_station(station_id: StationId, ctx: Ctx, db: Db, user: Planner, body: StationAction | None = None) -> Response:
    return _change(station_id, body or StationAction(), ctx, db, user, "close")


@router.post("/stations/{station_id}/reopen", response_model=StationEdit, summary="Reopen a closed (or confirm a proposed) station",
             responses=responses(400, 401, 403, 404, 409, 413, 415, 422))
def reopen_station(station_id: StationId, ctx: Ctx, db: Db, user: Planner, body: StationAction | None = None) -> Response:
    return _change(station_id, body or StationAction(), ctx, db, user, "reopen")


@router.get("/stations/{station_id}/history", response_model=list[StationEdit], summary="Edits of one station",
            responses=responses(401, 403, 404, 422))
def station_history(station_id: StationId, ctx: Ctx, db: Db, user: Planner) -> Response:
    _station(ctx, db, station_id)
    return json_response(_history(db, station_id))


@router.get("/audit", response_model=AuditPage, tags=["audit"], summary="The audit log: who changed what and when",
            responses=responses(401, 403, 422))
def audit_log(request: Request, ctx: Ctx, db: Db, user: Planner,
              target_id: Annotated[str | None, Query(max_length=64)] = None,
              actor: Annotated[str | None, Query(max_length=200)] = None,
              action: Annotated[str | None, Query(max_length=64)] = None,
              limit: Limit = 100, offset: Offset = 0) -> Response:
    check_limit(limit, ctx.settings.max_page_size)
    q = select(AuditRow)
    for col, val in ((AuditRow.target_id, target_id), (AuditRow.actor, actor), (AuditRow.action, action)):
        if val is not None:
            q = q.where(col == val)
    matched = db.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = db.scalars(q.order_by(AuditRow.id.desc()).offset(offset).limit(limit)).all()
    items = [{"id": r.id, "at": r.at, "actor": r.actor, "role": r.role, "action": r.action,
              "target_type": r.target_type, "target_id": r.target_id, "county_code": r.county_code,
              "detail": r.detail} for r in rows]
    return json_response({"items": items, "numberMatched": matched, "numberReturned": len(items),
                          "links": page_links(request, offset, limit, matched)})
