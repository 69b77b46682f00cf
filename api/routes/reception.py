"""Reception rotas (geoplan.operations.reception): planners create and read their county's rota;
every role reads a station's public reception calendar (deputy ids only for planners).
"""
from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.responses import Response

from api import crud
from api.deps import Ctx, CurrentUser, Db, NoStore, Planner, StationDep, User, json_body, request_body, require_edit
from api.models import ReceptionRotaRow
from api.operations import compute_off_thread, network_inputs, stored_days, table_problem, workdays_from
from api.problems import ApiProblem, responses
from api.routes.common import href, json_response
from geoplan.exceptions import InputError

router = APIRouter(tags=["reception"])
RotaId = Annotated[str, Path(min_length=1, max_length=64, description="Rota id")]
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


def _summary(row: ReceptionRotaRow, request: Request) -> dict[str, Any]:
    base = href(request, f"/reception/rotas/{row.id}")
    return {"id": row.id, "year": row.year, "county_code": row.county_code, "owner": row.owner,
            "created_at": row.created_at, "params": row.params, **row.summary,
            "links": [{"href": base, "rel": "self", "type": "application/json"}]}


def _may_read(user: User, row: ReceptionRotaRow) -> bool:
    return user.role == "city_planner" or (row.county_code is not None and row.county_code == user.county_code)


@router.post("/reception/rotas", status_code=201, summary="Plan and store a reception rota",
             openapi_extra=request_body(RotaRequest), responses=responses(400, 401, 403, 413, 415, 422, 429))
def create_rota(body: Annotated[RotaRequest, json_body(RotaRequest)], request: Request, ctx: Ctx, db: Db,
                user: Planner, _: NoStore) -> Response:
    """Plan a year's reception rota (the deputies on duty on the stations' reception days) and store it.

    County planners plan their own county; bad calendar or unavailability rows are a 422 naming the row.
    """
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
        rota = compute_off_thread(ctx, ("operations.rota", ctx.view(db).version, body.model_dump_json()),
                                  lambda: plan_reception(ds, a, body.year, cal, unavailable=un, workdays=wd,
                                                         rules=ReceptionRules(**body.rules.model_dump()),
                                                         county=body.county_code))
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
    crud.add_audit(db, user, "reception.plan", "reception_rota", row.id, body.county_code,
          {"year": body.year, "unmet": len(rota.unmet), "calendar_rows": len(body.calendar),
           "unavailable_rows": len(body.unavailable)})
    db.commit()
    return json_response(_summary(row, request), status=201)


@router.get("/reception/rotas", summary="Stored rotas the planner may read (newest first)",
            responses=responses(401, 403, 422, 429))
def list_rotas(request: Request, db: Db, user: Planner, _: NoStore,
               year: Annotated[int | None, Query(ge=2000, le=2100)] = None) -> Response:
    """The stored rotas the planner may read, newest first, optionally of one year."""
    rows = crud.reception_rotas(db, year=year, county=user.county_code, city_wide=user.role == "city_planner")
    return json_response({"items": [_summary(r, request) for r in rows]})


def _rota(db: Session, user: User, rota_id: str) -> ReceptionRotaRow:
    row = crud.reception_rota(db, rota_id)
    if row is None:
        raise ApiProblem(404, f"unknown rota id {rota_id!r}", field="path.rota_id", kind="unknown-id")
    if not _may_read(user, row):
        raise ApiProblem(403, f"{user.role} {user.name!r} may not read the rota of "
                              f"{'county ' + row.county_code if row.county_code else 'the whole city'}", kind="forbidden")
    return row


@router.get("/reception/rotas/{rota_id}", summary="A stored rota: its days, duties, unmet rules and measures",
            responses=responses(401, 403, 404, 422))
def get_rota(rota_id: RotaId, request: Request, db: Db, user: Planner, _: NoStore) -> Response:
    """A stored rota in full: its summary, reception days and duties."""
    row = _rota(db, user, rota_id)
    return json_response({**_summary(row, request), "days": row.days, "duties": row.duties})


@router.get("/stations/{station_id}/reception", summary="A station's public reception calendar",
            description="Date, hours and station of every reception day in the newest stored rota covering the "
                        "station; the deputies' pseudonymous ids only for roles that see that county's deputies (city planners, "
                        "its county planner). `format=ics` gives an "
                        "iCalendar file (Asia/Shanghai).",
            responses={200: {"content": {"application/json": {}, ICS: {}}}, **responses(401, 404, 422)})
def station_reception(station: StationDep, db: Db, user: CurrentUser, _: NoStore,
                      year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
                      format: Literal["json", "ics"] = "json") -> Response:
    """One station's reception days of a year and the deputies on duty, as JSON or an iCalendar file.

    The deputies' ids are shown only to a caller who may see that county's deputies.
    """
    from geoplan.operations.ical import calendar_bytes, day_events

    frame, rota_id = stored_days(db, station.id, station.county_code, year)
    show = user.sees_deputies_of(station.county_code)
    items = [{"date": d["date"].isoformat(), "start": f"{d['start']:%H:%M}", "end": f"{d['end']:%H:%M}",
              "station_id": d["station_id"], "station_name": d["station_name"], "deputies_on_duty": int(d["deputies"]),
              **({"deputy_ids": [x for x in str(d["deputy_ids"] or "").split(",") if x]} if show else {})}
             for d in frame.to_dict("records")]
    if format == "ics":
        events = day_events(frame, include_deputies=show).get(station.id, []) if len(frame) else []
        body = calendar_bytes(events, f"接待群众日 · {station.id}")
        return Response(body, media_type=ICS, headers={"Content-Disposition": f'attachment; filename="{station.id}.ics"'})
    return json_response({"station_id": station.id, "county_code": station.county_code, "rota_id": rota_id,
                          "deputy_ids_shown": show, "days": items})
