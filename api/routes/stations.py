"""Station edits — propose, close, reopen — with an audit trail of who changed what and when."""
from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from api import crud
from api.deps import (
    Ctx,
    Db,
    NoStore,
    Planner,
    StationDep,
    StationRef,
    User,
    json_body,
    request_body,
    require_edit,
)
from api.models import StationEditRow
from api.problems import ApiProblem, responses
from api.routes.common import Limit, Offset, check_limit, page_links, utc
from api.schemas import (
    AuditPage,
    StationAction,
    StationEdit,
    StationOut,
    StationProposal,
)

router = APIRouter(tags=["stations"])


def _edit_out(e: StationEditRow) -> dict[str, Any]:
    return {"id": e.id, "station_id": e.station_id, "action": e.action, "county_code": e.county_code,
            "town_code": e.town_code, "data": e.data, "reason": e.reason, "actor": e.actor,
            "created_at": utc(e.created_at)}


def _history(db: Db, user: User, station: StationRef) -> list[dict[str, Any]]:
    """A station's edits; 403 for a county planner asking about another county (edits are audit data)."""
    if not user.sees_deputies_of(station.county_code):
        raise ApiProblem(403, f"{user.role} {user.name!r} may not read the edit history of county "
                              f"{station.county_code}'s stations", kind="forbidden")
    return [_edit_out(e) for e in crud.station_history(db, station.id)]


@router.get("/stations/{station_id}", response_model=StationOut,
            summary="A station, as it stands after edits, with its edit history", responses=responses(401, 403, 404, 422))
def get_station(user: Planner, station: StationDep, db: Db, _: NoStore) -> dict[str, Any]:
    """A station as it stands after edits, its county and its edit history."""
    return {"station": station.feature, "county_code": station.county_code, "history": _history(db, user, station)}


@router.post("/stations", status_code=201, response_model=StationEdit, summary="Propose a new station",
             openapi_extra=request_body(StationProposal), responses=responses(400, 401, 403, 413, 415, 422, 429))
def propose_station(user: Planner, body: Annotated[StationProposal, json_body(StationProposal)], ctx: Ctx,
                    db: Db) -> dict[str, Any]:
    """Propose a new station at a point; its town and county come from the point (422 outside every town)."""
    town = ctx.catalog.town_at(body.lon, body.lat)
    if town is None:
        raise ApiProblem(422, f"point ({body.lon}, {body.lat}) lies in no town of the dataset", field="body.lon",
                         kind="outside-region")
    county = ctx.catalog.town_county[town]
    require_edit(user, county, "propose stations", body.level)
    if body.site_id is not None:
        if body.site_id not in ctx.catalog.site_ids:
            raise ApiProblem(422, f"unknown venue id {body.site_id!r}", field="body.site_id", kind="unknown-id")
        site_county = ctx.catalog.site_county[body.site_id]
        if site_county != county:
            raise ApiProblem(422, f"venue {body.site_id} lies in county {site_county}, not in county {county} "
                                  "where the station is proposed", field="body.site_id", kind="outside-county")
    sid = f"NEW-{uuid.uuid4().hex[:10]}"
    data = body.model_dump(exclude={"reason"})
    edit = StationEditRow(station_id=sid, action="propose", county_code=county, town_code=town, data=data,
                          reason=body.reason, actor=user.name)
    db.add(edit)
    crud.add_audit(db, user, "station.propose", "station", sid, county, {"town_code": town, **data, "reason": body.reason})
    db.commit()
    return _edit_out(edit)


def _change(station: StationRef, body: StationAction, db: Db, user: User, action: str) -> dict[str, Any]:
    # every write names the station's level: county planners may not touch city-level stations,
    # neither existing ones nor proposals they would confirm
    require_edit(user, station.county_code, f"{action} stations", station.feature["properties"].get("level"))
    status = station.feature["properties"].get("status")
    if action == "close" and status == "closed":
        raise ApiProblem(409, f"station {station.id} is already closed", kind="conflict")
    if action == "reopen" and status == "active":
        raise ApiProblem(409, f"station {station.id} is already active", kind="conflict")
    edit = StationEditRow(station_id=station.id, action=action, county_code=station.county_code,
                          town_code=station.town_code, data={"previous_status": status}, reason=body.reason,
                          actor=user.name)
    db.add(edit)
    crud.add_audit(db, user, f"station.{action}", "station", station.id, station.county_code,
                   {"previous_status": status, "reason": body.reason})
    db.commit()
    return _edit_out(edit)


OptionalAction = Annotated[StationAction | None, json_body(StationAction, required=False)]


@router.post("/stations/{station_id}/close", response_model=StationEdit, summary="Close a station",
             openapi_extra=request_body(StationAction, required=False),
             responses=responses(400, 401, 403, 404, 409, 413, 415, 422, 429))
def close_station(user: Planner, station: StationDep, db: Db, body: OptionalAction) -> dict[str, Any]:
    """Close a station (with an optional reason); the edit is stored and audited."""
    return _change(station, body or StationAction(), db, user, "close")


@router.post("/stations/{station_id}/reopen", response_model=StationEdit,
             summary="Reopen a closed (or confirm a proposed) station",
             openapi_extra=request_body(StationAction, required=False),
             responses=responses(400, 401, 403, 404, 409, 413, 415, 422, 429))
def reopen_station(user: Planner, station: StationDep, db: Db, body: OptionalAction) -> dict[str, Any]:
    """Reopen a closed station, or confirm a proposed one; the edit is stored and audited."""
    return _change(station, body or StationAction(), db, user, "reopen")


@router.get("/stations/{station_id}/history", response_model=list[StationEdit], summary="Edits of one station",
            responses=responses(401, 403, 404, 422, 429))
def station_history(user: Planner, station: StationDep, db: Db, _: NoStore) -> list[dict[str, Any]]:
    """The edits of one station (a county planner: only its own county's stations)."""
    return _history(db, user, station)


@router.get("/audit", response_model=AuditPage, tags=["audit"], summary="The audit log: who changed what and when",
            description="City planners read the whole log; a county planner reads the entries of its own county.",
            responses=responses(401, 403, 422, 429))
def audit_log(user: Planner, request: Request, ctx: Ctx, db: Db, _: NoStore,
              target_id: Annotated[str | None, Query(max_length=64)] = None,
              actor: Annotated[str | None, Query(max_length=200)] = None,
              action: Annotated[str | None, Query(max_length=64)] = None,
              limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    """A page of the audit log, filtered by target, actor and action."""
    check_limit(limit, ctx.settings.max_page_size)
    rows, matched = crud.audit_entries(db, target_id=target_id, actor=actor, action=action, county=user.deputy_county,
                                       limit=limit, offset=offset)
    items = [{"id": r.id, "at": utc(r.at), "actor": r.actor, "role": r.role, "action": r.action,
              "target_type": r.target_type, "target_id": r.target_id, "county_code": r.county_code,
              "detail": r.detail} for r in rows]
    return {"items": items, "numberMatched": matched, "numberReturned": len(items),
            "links": page_links(request, offset, limit, matched)}
