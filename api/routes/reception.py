"""Reception rotas (geoplan.operations.reception): planners create and read their county's rota;
every role reads a station's public reception calendar (deputy ids only for planners)."""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.deps import AppContext, Ctx, CurrentUser, Db, Planner, User, require_edit
from api.models import ReceptionRotaRow
from api.problems import ApiProblem, responses
from api.routes.common import audit, json_response
from geoplan.datasets import Dataset
from geoplan.exceptions import InputError

router = APIRouter(tags=["reception"])
RotaId = Annotated[str, Path(min_length=1, max_length=64, description="Rota id")]
StationId = Annotated[str, Path(min_length=1, max_length=64, description="Station id")]
ICS = "text/calendar"


class RotaRules(BaseModel):
    """Rules of the rota (see geoplan.operations.reception.ReceptionRules)."""

    model_config = ConfigDict(extra="forbid")

    min_deputies: int = Field(2, ge=1, le=100)
    max_deputies: int | None = Field(None, ge=1, le=1000)
    min_per_year: int = Field(1, ge=0, le=366)


class RotaRequest(BaseModel):
    """Plan and store a reception rota.

    ``calendar`` rows have the calendar CSV's fields (county_code, town_code, date, rule, start,
    end); counties without rows use the 15th of each quarter's second month, next working day.
    ``holidays`` rows (date, kind: holiday|workday) fill in years chinese-calendar does not know.
    ``unavailable`` rows (deputy_id, date) are days a deputy cannot attend. Each list is checked
    row by row; one bad row rejects the request, naming the row and field.
    """

    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=2000, le=2100)
    county_code: str | None = Field(None, max_length=32, description="None: the whole city (city planners only)")
    calendar: list[dict[str, Any]] = Field(default_factory=list, max_length=2000)
    holidays: list[dict[str, Any]] = Field(default_factory=list, max_length=2000)
    unavailable: list[dict[str, Any]] = Field(default_factory=list, max_length=20000)
    rules: RotaRules = Field(default_factory=RotaRules)


def table_problem(exc: Any, table: str) -> ApiProblem:
    """A :class:`geoplan.operations.tables.TableError` as a 422 naming ``body.<table>[i].<field>``."""
    errors = [{"field": f"body.{table}[{p.row - 1}].{p.field}", "message": f"row {p.row}: {p.rule}",
               "type": "invalid-row"} for p in exc.problems]
    return ApiProblem(422, f"{table}: {exc}", kind="invalid-rows", errors=errors)


def network_inputs(ctx: AppContext, db: Session) -> tuple[Dataset, Any]:
    """The current dataset (station edits applied) and its group assignment, computed once per version."""
    from geoplan.assign import assign

    view = ctx.view(db)
    with view.lock:
        if "operations.assignment" not in view.cache:
            view.cache["operations.assignment"] = assign(view.dataset)
        return view.dataset, view.cache["operations.assignment"]


def workdays_from(rows: list[dict[str, Any]]) -> Any:
    """A WorkdayCalendar from ``date, kind`` rows (422 naming the bad rows)."""
    from geoplan.operations.tables import TableError, check_rows, choice_field, date_field
    from geoplan.operations.workdays import WorkdayCalendar

    try:
        parsed = check_rows(rows, "api", {"date": date_field(), "kind": choice_field(("holiday", "workday"))})
    except TableError as exc:
        raise table_problem(exc, "holidays") from None
    return WorkdayCalendar(holidays=frozenset(r["date"] for r in parsed if r["kind"] == "holiday"),
                           workdays=frozenset(r["date"] for r in parsed if r["kind"] == "workday"))


def _summary(row: ReceptionRotaRow, request: Request) -> dict[str, Any]:
    base = str(request.url_for("get_rota", rota_id=row.id))
    return {"id": row.id, "year": row.year, "county_code": row.county_code, "owner": row.owner,
            "created_at": row.created_at, "params": row.params, **row.summary,
            "links": [{"href": base, "rel": "self", "type": "application/json"}]}


def _may_read(user: User, row: ReceptionRotaRow) -> bool:
    return user.role == "city_planner" or (row.county_code is not None and row.county_code == user.county_code)


@router.post("/reception/rotas", status_code=201, summary="Plan and store a reception rota",
             responses=responses(400, 401, 403, 413, 415, 422))
def create_rota(body: RotaRequest, request: Request, ctx: Ctx, db: Db, user: Planner) -> Response:
    from geoplan.operations.calendars import DayRule, calendar_from_records
    from geoplan.operations.reception import ReceptionRules, plan_reception, unavailable_from_records
    from geoplan.operations.tables import TableError

    if user.role == "county_planner" and body.county_code is None:
        body = body.model_copy(update={"county_code": user.county_code})
    require_edit(user, body.county_code, "plan reception rotas")
    if body.county_code is not None and body.county_code not in ctx.catalog.county_codes:
        raise ApiProblem(422, f"unknown county code {body.county_code!r}", field="body.county_code", kind="unknown-id")
    try:
        cal = calendar_from_records(body.calendar, default_rule=DayRule())
    except TableError as exc:
        raise table_problem(exc, "calendar") from None
    try:
        un = unavailable_from_records(body.unavailable, deputy_ids=ctx.catalog.deputy_ids)
    except TableError as exc:
        raise table_problem(exc, "unavailable") from None
    wd = workdays_from(body.holidays)
    ds, a = network_inputs(ctx, db)
    try:
        rota = plan_reception(ds, a, body.year, cal, unavailable=un, workdays=wd,
                              rules=ReceptionRules(**body.rules.model_dump()), county=body.county_code)
    except TableError as exc:
        raise table_problem(exc, "calendar") from None
    except InputError as exc:
        raise ApiProblem(422, str(exc), kind="invalid-input") from None
    d = rota.to_dict()
    row = ReceptionRotaRow(id=uuid.uuid4().hex[:16], year=body.year, county_code=body.county_code, owner=user.name,
                           params=body.model_dump(mode="json", include={"year", "county_code", "rules"}),
                           summary={"metrics": d["metrics"], "notes": d["notes"], "unmet": d["unmet"]},
                           days=d["days"], duties=d["rota"])
    db.add(row)
    audit(db, user, "reception.plan", "reception_rota", row.id, body.county_code,
          {"year": body.year, "unmet": len(rota.unmet), "calendar_rows": len(body.calendar),
           "unavailable_rows": len(body.unavailable)})
    db.commit()
    return json_response(_summary(row, request), status=201)


@router.get("/reception/rotas", summary="Stored rotas the planner may read (newest first)",
            responses=responses(401, 403, 422))
def list_rotas(request: Request, db: Db, user: Planner,
               year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> Response:
    q = select(ReceptionRotaRow).order_by(ReceptionRotaRow.created_at.desc(), ReceptionRotaRow.id)
    if year is not None:
        q = q.where(ReceptionRotaRow.year == year)
    if user.role != "city_planner":
        q = q.where(ReceptionRotaRow.county_code == user.county_code)
    rows = db.scalars(q.limit(500)).all()
    return json_response({"items": [_summary(r, request) for r in rows]})


def _rota(db: Session, user: User, rota_id: str) -> ReceptionRotaRow:
    row = db.get(ReceptionRotaRow, rota_id)
    if row is None:
        raise ApiProblem(404, f"unknown rota id {rota_id!r}", field="path.rota_id", kind="unknown-id")
    if not _may_read(user, row):
        raise ApiProblem(403, f"{user.role} {user.name!r} may not read the rota of "
                              f"{'county ' + row.county_code if row.county_code else 'the whole city'}", kind="forbidden")
    return row


@router.get("/reception/rotas/{rota_id}", summary="A stored rota: its days, duties, unmet rules and measures",
            responses=responses(401, 403, 404, 422))
def get_rota(rota_id: RotaId, request: Request, db: Db, user: Planner) -> Response:
    row = _rota(db, user, rota_id)
    return json_response({**_summary(row, request), "days": row.days, "duties": row.duties})


def latest_days(db: Session, station_id: str, county: str, year: int | None) -> tuple[list[dict[str, Any]], str | None]:
    """The days of ``station_id`` in the newest stored rota covering it (its county's or the city's)."""
    q = select(ReceptionRotaRow).where(or_(ReceptionRotaRow.county_code == county,
                                           ReceptionRotaRow.county_code.is_(None)))
    if year is not None:
        q = q.where(ReceptionRotaRow.year == year)
    for row in db.scalars(q.order_by(ReceptionRotaRow.created_at.desc(), ReceptionRotaRow.id.desc()).limit(20)):
        days = [d for d in row.days if d["station_id"] == station_id]
        if days:
            return days, row.id
    return [], None


def station_county(ctx: AppContext, db: Session, station_id: str) -> tuple[str, str]:
    """(town code, county code) of a current station; 404 if unknown."""
    frame = ctx.view(db).layers["stations"].frame
    hit = (frame["id"].astype(str) == station_id).to_numpy().nonzero()[0]
    if not len(hit):
        raise ApiProblem(404, f"unknown station id {station_id!r}", field="path.station_id", kind="unknown-id")
    town = str(frame["town_code"].iloc[int(hit[0])])
    return town, ctx.catalog.town_county.get(town, "")


@router.get("/stations/{station_id}/reception", summary="A station's public reception calendar",
            description="Date, hours and station of every reception day in the newest stored rota covering the "
                        "station; the deputies' pseudonymous ids only for planner roles. `format=ics` gives an "
                        "iCalendar file (Asia/Shanghai).",
            responses={200: {"content": {"application/json": {}, ICS: {}}}, **responses(401, 404, 422)})
def station_reception(station_id: StationId, ctx: Ctx, db: Db, user: CurrentUser,
                      year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                      format: Literal["json", "ics"] = "json") -> Response:
    _, county = station_county(ctx, db, station_id)
    days, rota_id = latest_days(db, station_id, county, year)
    show = user.is_planner
    items = [{"date": d["date"], "start": d["start"], "end": d["end"], "station_id": d["station_id"],
              "station_name": d["station_name"], "deputies_on_duty": d["deputies"],
              **({"deputy_ids": [x for x in str(d["deputy_ids"] or "").split(",") if x]} if show else {})}
             for d in days]
    if format == "ics":
        import pandas as pd

        from geoplan.operations.ical import calendar_bytes, day_events

        frame = pd.DataFrame(days)
        if len(frame):
            frame["date"] = frame["date"].map(dt.date.fromisoformat)
            for c in ("start", "end"):
                frame[c] = frame[c].map(dt.time.fromisoformat)
        events = day_events(frame, include_deputies=show).get(station_id, []) if len(frame) else []
        body = calendar_bytes(events, f"接待群众日 · {station_id}")
        return Response(body, media_type=ICS, headers={"Content-Disposition": f'attachment; filename="{station_id}.ics"'})
    return json_response({"station_id": station_id, "county_code": county, "rota_id": rota_id,
                          "deputy_ids_shown": show, "days": items})
