"""People's opinions: intake (portal and planners), confirmation and routing, status, reports.

Roles: the portal's **service** account submits opinions and reads back the status of the ones
*it* submitted — never a contact, never anyone else's opinion (404, so it cannot probe ids).
**County planners** see and handle their county's opinions, **city planners** all. The
classifier only *suggests* (``suggested_*``); routing happens when a planner confirms the
category and level (``POST /opinions/{id}/confirm``). Every change is in the audit log, and no
audit entry, list, export or error carries a contact.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.responses import Response

from api import crud, crud_opinions
from api.crud_opinions import frame
from api.deps import Ctx, CurrentUser, Db, Planner, User, require_edit
from api.models import OpinionRow
from api.opinion_deps import (
    QUARTER_PATTERN,
    Day,
    FileUpload,
    OpinionDep,
    SuggesterDep,
    import_rejected,
    require_view,
    today,
)
from api.problems import ApiProblem, responses
from api.routes.common import GEOJSON, Code, Limit, Offset, check_codes, check_limit, json_response, page_links
from geoplan.exceptions import InputError
from geoplan.operations import opinions as ops
from geoplan.operations.opinion_reports import quarterly_report
from geoplan.operations.routing import RoutingRule, RoutingRules, route, rules_frame
from geoplan.operations.workdays import WorkdayCalendar

router = APIRouter(tags=["opinions"])
Quarter = Annotated[str, Path(pattern=QUARTER_PATTERN, description="Quarter, e.g. 2026Q3")]
CategoryName = Literal["transport", "environment", "medical", "education", "elderly", "agriculture",
                       "social_security", "public_safety", "housing", "employment"]
LevelName = Literal["town", "county", "city", "policy"]
StatusName = Literal["received", "assigned", "in_progress", "answered", "closed", "escalated"]
ChannelName = Literal["station_visit", "qr_portal", "reception_day", "hotline", "deputy"]


# -- request and response models ----------------------------------------------------------------
class OpinionSubmit(BaseModel):
    """An opinion as the portal or a planner submits it (give the station, or the town)."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000, description="What the person said (Chinese)")
    channel: ChannelName = "qr_portal"
    station_id: str | None = Field(None, min_length=1, max_length=64)
    town_code: str | None = Field(None, min_length=1, max_length=32)
    received_on: Day | None = Field(None, description="Default: today (Asia/Shanghai)")
    contact: str | None = Field(None, max_length=200, description="Optional; protected, never shown back")

    @model_validator(mode="after")
    def _where(self) -> "OpinionSubmit":
        if self.station_id is None and self.town_code is None:
            raise ValueError("give station_id or town_code")
        return self


class OpinionStatusOut(BaseModel):
    """What the service account may see of an opinion it submitted."""

    id: str
    received_on: dt.date
    status: StatusName
    deadline: dt.date | None = None
    answer: str | None = None
    answered_on: dt.date | None = None
    closed_on: dt.date | None = None


class OpinionOut(OpinionStatusOut):
    """An opinion as planners see it: suggestions and confirmed values side by side; no contact."""

    station_id: str | None
    town_code: str
    county_code: str
    channel: ChannelName
    text: str
    submitted_by: str
    suggested_category: CategoryName | None
    category_confidence: float | None
    suggested_level: LevelName | None
    level_confidence: float | None
    category: CategoryName | None
    level: LevelName | None
    confirmed_by: str | None
    track: str | None
    assigned_unit: str | None
    batch: str | None
    routed_on: dt.date | None
    overdue: bool
    has_contact: bool
    contact: str | None = Field(None, description="Only with ?include_contact=true, for a planner of the county")


class OpinionPage(BaseModel):
    """A page of opinions with the OGC-style counts (matched in all, returned here) and links."""

    items: list[OpinionOut]
    numberMatched: int
    numberReturned: int
    links: list[dict[str, Any]]


class Confirm(BaseModel):
    """A person's confirmation of category and level (copy the suggestion to accept it)."""

    model_config = ConfigDict(extra="forbid")

    category: CategoryName
    level: LevelName
    on: Day | None = Field(None, description="Day of routing; default today")
    note: str = Field("", max_length=1000)


class StatusChange(BaseModel):
    """Move an opinion along its life cycle."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["in_progress", "answered", "closed", "escalated"]
    answer: str | None = Field(None, min_length=1, max_length=4000, description="Required for answered")
    reason: str = Field("", max_length=1000, description="Required for escalated: why the level cannot solve it")
    on: Day | None = Field(None, description="Day of the change; default today")


class RulesBody(BaseModel):
    """A new routing table: the rules that send a confirmed opinion to its handling unit and deadline."""

    model_config = ConfigDict(extra="forbid")

    rules: list[RoutingRule] = Field(min_length=1, max_length=200)


# -- helpers ---------------------------------------------------------------------------------------
def _status_out(r: OpinionRow) -> dict[str, Any]:
    return {"id": r.id, "received_on": r.received_on, "status": r.status, "deadline": r.deadline, "answer": r.answer,
            "answered_on": r.answered_on, "closed_on": r.closed_on}


def _out(r: OpinionRow, on: dt.date, contact: bool = False) -> dict[str, Any]:
    d = _status_out(r) | {c: getattr(r, c) for c in (
        "station_id", "town_code", "county_code", "channel", "text", "submitted_by", "suggested_category",
        "category_confidence", "suggested_level", "level_confidence", "category", "level", "confirmed_by", "track",
        "assigned_unit", "batch", "routed_on")}
    d["overdue"] = bool(r.status in ops.TRANSITIONS and r.status in ("assigned", "in_progress", "escalated", "received")
                        and r.deadline is not None and r.deadline < on)
    d["has_contact"] = bool(r.contact)
    if contact:
        d["contact"] = r.contact
    return d


def _place(ctx: Ctx, db: Db, station_id: str | None, town_code: str | None) -> tuple[str, str]:
    """(town, county) of a submission; 422 naming the field when unknown or inconsistent."""
    if station_id is not None:
        st = ctx.view(db).layers["stations"].frame
        hit = st.loc[st["id"].astype(str) == station_id, "town_code"]
        if not len(hit):
            raise ApiProblem(422, f"unknown station id {station_id!r}", field="body.station_id", kind="unknown-id")
        town = str(hit.iloc[0])
        if town_code is not None and town_code != town:
            raise ApiProblem(422, f"station {station_id} is in town {town}, not {town_code}", field="body.town_code",
                             kind="validation-error")
        town_code = town
    assert town_code is not None
    county = ctx.catalog.town_county.get(town_code)
    if county is None:
        raise ApiProblem(422, f"unknown town code {town_code!r}", field="body.town_code", kind="unknown-id")
    return town_code, county


def _route_row(ctx: Ctx, db: Session, row: OpinionRow, on: dt.date) -> tuple[str, ...]:
    """Route a confirmed row with the rules in force; returns the calendar notes."""
    ds = ctx.catalog.base
    one = pd.DataFrame([{"id": row.id, "town_code": row.town_code, "category": row.category, "level": row.level,
                         "received_on": row.received_on, "routed_on": on}])
    try:
        routed = route(one, crud_opinions.routing_rules(db), ds.towns, ds.counties, WorkdayCalendar())
    except InputError as exc:
        raise ApiProblem(422, str(exc), kind="validation-error") from exc
    r = routed.frame.iloc[0]
    row.track, row.assigned_unit, row.assigned_unit_code = str(r["track"]), str(r["assigned_unit"]), str(r["assigned_unit_code"])
    row.batch = str(r["batch"]) or None
    row.deadline, row.routed_on, row.status = r["deadline"], on, "assigned"
    return routed.notes


# -- intake ----------------------------------------------------------------------------------------
@router.post("/opinions", status_code=201, summary="Submit an opinion (portal or planner)",
             responses=responses(400, 401, 403, 413, 415, 422))
def submit_opinion(body: OpinionSubmit, ctx: Ctx, db: Db, user: CurrentUser, suggester: SuggesterDep) -> Response:
    """Store a new opinion as ``received``, with the classifier's suggested category and level.

    The portal gets back only the opinion's id and status; a planner may submit only in its county.
    """
    town, county = _place(ctx, db, body.station_id, body.town_code)
    if user.is_planner:
        require_edit(user, county, "submit opinions")
    day = body.received_on or today()
    if day > today() + dt.timedelta(days=1):
        raise ApiProblem(422, "received_on lies in the future", field="body.received_on", kind="validation-error")
    sug = suggester.suggest([body.text]).iloc[0]
    row = OpinionRow(id=crud_opinions.new_opinion_id(day), received_on=day, station_id=body.station_id, town_code=town,
                     county_code=county, channel=body.channel, text=body.text, contact=body.contact or None,
                     submitted_by=user.name, submitter_role=user.role, status="received",
                     suggested_category=str(sug["suggested_category"]), category_confidence=float(sug["category_confidence"]),
                     suggested_level=str(sug["suggested_level"]), level_confidence=float(sug["level_confidence"]))
    db.add(row)
    crud.add_audit(db, user, "opinion.submit", "opinion", row.id, county,
          {"town_code": town, "channel": body.channel, "suggested_category": row.suggested_category,
           "suggested_level": row.suggested_level, "has_contact": bool(body.contact)})
    db.commit()
    body_out = _status_out(row) if user.role == "service" else _out(row, today())
    return json_response(body_out, status=201)


@router.post("/opinions/import", status_code=201, summary="Import opinions from CSV/Excel (all or nothing)",
             responses=responses(400, 401, 403, 413, 415, 422))
def import_opinions(body: FileUpload, ctx: Ctx, db: Db, user: Planner) -> Response:
    """Import opinions from a CSV/Excel file: every row is stored, or none (422 naming the bad rows).

    County planners may import only their own county's opinions.
    """
    data = body.data()
    ds = ctx.catalog.base
    existing = crud_opinions.opinion_ids(db)
    with import_rejected():
        df = ops.read_opinions(data, ds.towns, ctx.view(db).layers["stations"].frame, name=body.filename,
                               submitted_by=user.name, existing_ids=existing)
    outside = [i + 2 for i, c in enumerate(df["county_code"]) if not user.may_edit(str(c))]
    if outside:
        raise ApiProblem(403, f"{user.role} {user.name!r} may not import opinions of another county (rows {outside[:10]})",
                         kind="forbidden")
    for rec in df.to_dict("records"):
        row = OpinionRow(**{k: (None if (isinstance(v, float) and v != v) else v) for k, v in rec.items()
                            if k in OpinionRow.__table__.columns.keys()},
                         submitter_role=user.role)
        row.status = row.status or "received"
        db.add(row)
    crud.add_audit(db, user, "opinion.import", "opinion", body.filename[:64], user.county_code,
          {"rows": len(df), "file": body.filename})
    try:
        db.commit()
    except IntegrityError:  # another import took one of these ids meanwhile: nothing was stored
        db.rollback()
        raise ApiProblem(409, "an opinion id in the file was stored by another request meanwhile; nothing was "
                              "imported — send the file again", kind="conflict") from None
    return json_response({"imported": len(df), "ids": df["id"].tolist()}, status=201)


# -- routing rules ----------------------------------------------------------------------------------
@router.get("/opinions/routing-rules", summary="The routing table in force", tags=["opinions"],
            responses=responses(401, 403))
def get_rules(db: Db, user: Planner) -> Response:
    """The routing rules in force, one record per rule."""
    return json_response({"rules": rules_frame(crud_opinions.routing_rules(db)).to_dict("records")})


@router.put("/opinions/routing-rules", summary="Replace the routing table (city planners)",
            responses=responses(400, 401, 403, 413, 415, 422))
def put_rules(body: RulesBody, db: Db, user: Planner) -> Response:
    """Replace the whole routing table (city planners only); the change is audited."""
    require_edit(user, None, "change the routing rules")
    try:
        rules = RoutingRules(rules=tuple(body.rules))
    except ValueError as exc:
        raise ApiProblem(422, str(exc).split("\n")[-1].strip(), field="body.rules", kind="validation-error") from None
    rows = crud_opinions.add_routing_rules(db, rules, user.name)
    crud.add_audit(db, user, "opinion.rules", "routing_rules", "current", None, {"rules": rows})
    db.commit()
    return json_response({"rules": rows})


# -- reports ---------------------------------------------------------------------------------------
def _report(ctx: Ctx, db: Session, user: User, quarter: str, county: str | None, as_of: dt.date | None) -> Any:
    check_codes(ctx.catalog, county, None)
    require_view(user, county, "the opinion report")
    table = frame(crud_opinions.opinions_of(db, county))
    try:
        return quarterly_report(table, ctx.catalog.base, quarter, county=county, as_of=as_of or today())
    except InputError as exc:
        raise ApiProblem(422, str(exc), kind="validation-error") from None


@router.get("/opinions/reports/{quarter}", summary="Quarterly report of a county or the city (JSON, Markdown, HTML, PDF)",
            responses={**responses(401, 403, 422), 200: {"content": {"application/json": {}, "text/markdown": {},
                                                                     "text/html": {}, "application/pdf": {}}}})
def report(quarter: Quarter, ctx: Ctx, db: Db, user: Planner, county: Code = None,
           as_of: Annotated[Day | None, Query(description="Day the data stands at; default today")] = None,
           format: Annotated[Literal["json", "markdown", "html", "pdf"], Query()] = "json") -> Response:
    """The quarterly opinion report of a county or the city, as JSON, Markdown, HTML or PDF."""
    rep = _report(ctx, db, user, quarter, county, as_of)
    if format == "markdown":
        return Response(rep.to_markdown(), media_type="text/markdown; charset=utf-8")
    if format == "html":
        return Response(rep.to_html(), media_type="text/html; charset=utf-8")
    if format == "pdf":
        import tempfile
        from pathlib import Path as FilePath

        with tempfile.TemporaryDirectory() as d:
            data = rep.to_pdf(FilePath(d) / "report.pdf").read_bytes()
        return Response(data, media_type="application/pdf",
                        headers={"Content-Disposition": f"attachment; filename=opinions_{quarter}_{county or 'city'}.pdf"})

    def records(t: pd.DataFrame) -> list[dict[Any, Any]]:
        return t.astype(object).where(t.notna(), None).to_dict("records")

    return json_response({
        "quarter": rep.quarter, "county_code": rep.scope, "scope_name": rep.scope_name, "report_date": rep.report_date,
        "received": rep.received, "by_category": records(rep.by_category), "by_level": records(rep.by_level),
        "by_status": records(rep.by_status), "overdue": records(rep.overdue),
        "median_days_to_answer": None if rep.median_days_to_answer != rep.median_days_to_answer else rep.median_days_to_answer,
        "city_batch": records(rep.city_batch), "policy_draft": rep.policy_draft, "calendar_notes": list(rep.notes)})


@router.get("/opinions/hotspots/{quarter}", summary="Hotspots by town: a map layer (GeoJSON)",
            responses={**responses(401, 403, 422), 200: {"content": {GEOJSON: {}}}})
def hotspots(quarter: Quarter, ctx: Ctx, db: Db, user: Planner, county: Code = None,
             as_of: Annotated[Day | None, Query()] = None) -> Response:
    """The hotspots of a quarter as a GeoJSON map layer: per town, opinions received, unresolved and overdue."""
    rep = _report(ctx, db, user, quarter, county, as_of)
    return Response(rep.hotspots.to_crs("EPSG:4326").to_json(na="null", drop_id=True), media_type=GEOJSON)


# -- reading ---------------------------------------------------------------------------------------
@router.get("/opinions", response_model=OpinionPage, summary="Opinions (planners: their county; portal: its own)",
            responses=responses(401, 403, 422))
def list_opinions(request: Request, ctx: Ctx, db: Db, user: CurrentUser, county: Code = None, town: Code = None,
                  status: Annotated[StatusName | None, Query()] = None,
                  level: Annotated[LevelName | None, Query()] = None,
                  category: Annotated[CategoryName | None, Query()] = None,
                  batch: Annotated[str | None, Query(pattern=QUARTER_PATTERN)] = None,
                  overdue: Annotated[bool | None, Query(description="Only open opinions past their deadline")] = None,
                  limit: Limit = 100, offset: Offset = 0) -> Response:
    """A page of opinions filtered by area, status, level, category, batch or overdue (planners: their county; portal: its own)."""
    check_limit(limit, ctx.settings.max_page_size)
    check_codes(ctx.catalog, county, town)
    if user.role == "county_planner" and county is not None and county != user.county_code:
        raise ApiProblem(403, f"county planner {user.name!r} sees county {user.county_code} only", kind="forbidden")
    now = today()
    rows, matched = crud_opinions.opinions_page(
        db, submitted_by=user.name if user.role == "service" else None,
        county=user.county_code if user.role == "county_planner" else county,
        filters={"town_code": town, "status": status, "level": level, "category": category, "batch": batch},
        overdue_on=now if overdue else None, limit=limit, offset=offset)
    items = [_status_out(r) if user.role == "service" else _out(r, now) for r in rows]
    return json_response({"items": items, "numberMatched": matched, "numberReturned": len(items),
                          "links": page_links(request, offset, limit, matched)})


@router.get("/opinions/{opinion_id}", response_model=OpinionOut | OpinionStatusOut,
            summary="One opinion (the portal sees only the status of its own)", responses=responses(401, 404, 422))
def get_opinion(row: OpinionDep, db: Db, user: CurrentUser,
                include_contact: Annotated[bool, Query(description="Planners of the county only; audited")] = False) -> Response:
    """One opinion; the portal sees only the status of its own, the contact only on request (audited)."""
    if user.role == "service":
        return json_response(_status_out(row))
    show = include_contact and user.may_edit(row.county_code)
    if include_contact and not show:
        raise ApiProblem(403, f"{user.role} {user.name!r} may not see contacts of county {row.county_code}",
                         kind="forbidden")
    if show:
        crud.add_audit(db, user, "opinion.contact_viewed", "opinion", row.id, row.county_code, {})
        db.commit()
    return json_response(_out(row, today(), contact=show))


@router.get("/opinions/{opinion_id}/history", summary="Every change of one opinion (audit trail)",
            responses=responses(401, 403, 404, 422))
def opinion_history(user: Planner, row: OpinionDep, db: Db) -> Response:
    """The audit trail of one opinion: every change with time, actor, role, action and detail."""
    rows = crud_opinions.opinion_history(db, row.id)
    return json_response([{"at": r.at, "actor": r.actor, "role": r.role, "action": r.action, "detail": r.detail}
                          for r in rows])


# -- handling --------------------------------------------------------------------------------------
@router.post("/opinions/{opinion_id}/confirm", summary="Confirm category and level; routes the opinion",
             responses=responses(400, 401, 403, 404, 409, 413, 415, 422))
def confirm_opinion(user: Planner, row: OpinionDep, body: Confirm, ctx: Ctx, db: Db) -> Response:
    """Confirm an opinion's category and level, which routes it to a unit with a deadline.

    Only received or escalated opinions are confirmed (409 otherwise); an escalated one must go up a level.
    """
    require_edit(user, row.county_code, "confirm opinions")
    if row.status not in ("received", "escalated"):
        raise ApiProblem(409, f"opinion {row.id} is {row.status}; only received or escalated opinions are confirmed",
                         kind="conflict")
    if row.status == "escalated" and row.level is not None:
        order = list(ops.LEVELS)
        if order.index(body.level) <= order.index(row.level):
            raise ApiProblem(422, f"an escalated opinion goes above level {row.level}", field="body.level",
                             kind="validation-error")
    on = body.on or today()
    if on < row.received_on:
        raise ApiProblem(422, "the day of routing is before the day received", field="body.on", kind="validation-error")
    before = {"status": row.status, "category": row.category, "level": row.level}
    row.category, row.level, row.confirmed_by = body.category, body.level, user.name
    notes = _route_row(ctx, db, row, on)
    crud.add_audit(db, user, "opinion.confirm", "opinion", row.id, row.county_code,
          {"before": before, "category": body.category, "level": body.level,
           "suggested": {"category": row.suggested_category, "level": row.suggested_level},
           "track": row.track, "unit": row.assigned_unit, "deadline": str(row.deadline), "note": body.note})
    db.commit()
    return json_response(_out(row, today()) | {"calendar_notes": list(notes)})


@router.post("/opinions/{opinion_id}/status", summary="Move an opinion along its life cycle",
             responses=responses(400, 401, 403, 404, 409, 413, 415, 422))
def change_status(user: Planner, row: OpinionDep, body: StatusChange, db: Db) -> Response:
    """Move an opinion along its life cycle (answer, close, reopen, escalate …); bad transitions are a 409."""
    require_edit(user, row.county_code, "handle opinions")
    try:
        ops.check_transition(row.status, body.status)
    except InputError as exc:
        raise ApiProblem(409, str(exc), kind="conflict") from None
    on = body.on or today()
    if on < row.received_on:
        raise ApiProblem(422, "the day of the change is before the day received", field="body.on",
                         kind="validation-error")
    before = row.status
    detail: dict[str, Any] = {"from": before, "to": body.status, "on": str(on)}
    if body.status == "answered":
        if not body.answer:
            raise ApiProblem(422, "an answer is required", field="body.answer", kind="validation-error")
        row.answer, row.answered_on = body.answer, on
        detail["on_time"] = row.deadline is None or on <= row.deadline
    elif body.status == "closed":
        row.closed_on = on
    elif body.status == "in_progress" and before == "answered":
        row.answered_on = None  # the answer did not satisfy: open again
        detail["reopened"] = True
    elif body.status == "escalated":
        if not body.reason.strip():
            raise ApiProblem(422, "say why the level cannot solve it", field="body.reason", kind="validation-error")
        try:
            detail["proposed_level"] = ops.next_level(row.level or "town")
        except InputError as exc:
            raise ApiProblem(409, str(exc), kind="conflict") from None
        detail["reason"] = body.reason
        detail["previous_unit"] = row.assigned_unit
        row.track = row.assigned_unit = row.assigned_unit_code = row.batch = None
        row.deadline = None
    row.status = body.status
    crud.add_audit(db, user, f"opinion.{body.status}", "opinion", row.id, row.county_code, detail)
    db.commit()
    return json_response(_out(row, today()))


