"""Station standards: the eight haves per station (edit or import), activity, league table, gaps layer.

Scores and ratings come from :mod:`geoplan.operations.standards` with the default
:class:`~geoplan.operations.standards.RatingRule`; opinions received and answered on time come
from the opinions stored by this service, reception days from ``PUT …/activity``.
"""
from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.responses import Response

from api import crud, crud_opinions
from api.crud_opinions import frame
from api.deps import Ctx, Db, Planner, StationDep, User, require_edit
from api.opinion_deps import Day, FileUpload, import_rejected, require_view, today
from api.problems import ApiProblem, responses
from api.routes.common import GEOJSON, Code, check_codes, json_response
from geoplan.operations.opinions import flag_overdue
from geoplan.operations.planning_weights import scenario_feedback
from geoplan.operations.standards import (
    ITEMS,
    RatingRule,
    activity_from_opinions,
    gaps_layer,
    league_table,
    read_checklist,
    score_stations,
)

router = APIRouter(tags=["standards"])
ItemName = Literal["venue", "sign", "rules", "plan", "records", "study", "equipment", "online"]
Year = Annotated[int | None, Query(ge=2000, le=2100, description="Year assessed; default this year")]


class CheckIn(BaseModel):
    """One item of the eight haves, as checked."""

    model_config = ConfigDict(extra="forbid")

    ok: bool
    checked_on: Day
    evidence: str = Field("", max_length=500)


class ActivityIn(BaseModel):
    """The number of reception days a station held in a year."""

    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=2000, le=2100)
    reception_days: int = Field(ge=0, le=366)


def _scores(db: Session, year: int, station_ids: list[str]) -> pd.DataFrame:
    """Scores of stations for a year from the stored checks, reception days and opinions."""
    ck = crud_opinions.checks(db, station_ids)
    rd = crud_opinions.reception_days(db, year)
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    rows = crud_opinions.opinions_of(db, None, start, end)
    as_of = min(end, today())
    ops = flag_overdue(frame(rows), as_of=as_of) if rows else pd.DataFrame(
        columns=["station_id", "answered_on_time", "overdue"])
    act = activity_from_opinions(ops, rd)
    return score_stations(ck, act, RatingRule(), as_of=as_of, station_ids=station_ids)


def _records(t: pd.DataFrame) -> list[dict[Any, Any]]:
    return t.astype(object).where(t.notna(), None).to_dict("records")


@router.get("/standards/stations/{station_id}", summary="A station's eight haves, activity, score and rating",
            responses=responses(401, 403, 404, 422))
def station_standards(user: Planner, station: StationDep, db: Db, year: Year = None) -> Response:
    """A station's check of the eight haves, its activity, score and five-good rating for a year."""
    station_id, county = station.id, station.county_code
    require_view(user, county, "the standards")
    y = year or today().year
    checks = {c.item: c for c in (crud_opinions.check(db, station_id, k) for k in ITEMS) if c is not None}
    items = [{"item": k, "name": v, "ok": checks[k].ok if k in checks else None,
              "checked_on": checks[k].checked_on if k in checks else None,
              "evidence": checks[k].evidence if k in checks else None} for k, v in ITEMS.items()]
    score = _records(_scores(db, y, [station_id]))[0]
    return json_response({"station_id": station_id, "county_code": county, "year": y, "items": items, "score": score})


@router.put("/standards/stations/{station_id}/items/{item}", summary="Record the check of one of the eight haves",
            responses=responses(400, 401, 403, 404, 413, 415, 422))
def put_check(user: Planner, station: StationDep, item: ItemName, body: CheckIn, db: Db) -> Response:
    """Record the check of one of the eight haves for a station (not dated in the future); audited."""
    station_id, county = station.id, station.county_code
    require_edit(user, county, "record station checks")
    if body.checked_on > today() + dt.timedelta(days=1):
        raise ApiProblem(422, "checked_on lies in the future", field="body.checked_on", kind="validation-error")
    old = crud_opinions.check(db, station_id, item)
    before = None if old is None else {"ok": old.ok, "checked_on": str(old.checked_on), "evidence": old.evidence}
    row = crud_opinions.put_check(db, station_id, item, body.ok, body.checked_on, body.evidence, user.name)
    crud.add_audit(db, user, "standards.check", "station", station_id, county,
          {"item": item, "before": before, "ok": body.ok, "checked_on": str(body.checked_on), "evidence": body.evidence})
    db.commit()
    return json_response({"station_id": station_id, "item": item, "ok": row.ok, "checked_on": row.checked_on,
                          "evidence": row.evidence})


@router.put("/standards/stations/{station_id}/activity", summary="Reception days a station held in a year",
            responses=responses(400, 401, 403, 404, 413, 415, 422))
def put_activity(user: Planner, station: StationDep, body: ActivityIn, db: Db) -> Response:
    """Record the reception days a station held in a year; audited."""
    station_id, county = station.id, station.county_code
    require_edit(user, county, "record station activity")
    before = crud_opinions.put_reception_days(db, station_id, body.year, body.reception_days, user.name)
    crud.add_audit(db, user, "standards.activity", "station", station_id, county,
          {"year": body.year, "before": before, "reception_days": body.reception_days})
    db.commit()
    return json_response({"station_id": station_id, "year": body.year, "reception_days": body.reception_days})


@router.post("/standards/import", status_code=201, summary="Import a checklist from CSV/Excel (all or nothing)",
             responses=responses(400, 401, 403, 413, 415, 422))
def import_checklist(body: FileUpload, ctx: Ctx, db: Db, user: Planner) -> Response:
    """Import station checks from a CSV/Excel checklist: every row is stored, or none."""
    data = body.data()
    st = ctx.view(db).layers["stations"].frame
    with import_rejected():
        ck = read_checklist(data, frozenset(st["id"].astype(str)), name=body.filename)
    town = dict(zip(st["id"].astype(str), st["town_code"].astype(str)))
    outside = [i + 2 for i, s in enumerate(ck["station_id"])
               if not user.may_edit(ctx.catalog.town_county.get(town[s]))]
    if outside:
        raise ApiProblem(403, f"{user.role} {user.name!r} may not record checks of another county (rows {outside[:10]})",
                         kind="forbidden")
    for rec in ck.to_dict("records"):
        crud_opinions.put_check(db, str(rec["station_id"]), str(rec["item"]), bool(rec["ok"]), rec["checked_on"],
                                str(rec["evidence"]), user.name)
    crud.add_audit(db, user, "standards.import", "station", body.filename[:64], user.county_code,
          {"rows": len(ck), "stations": int(ck["station_id"].nunique())})
    db.commit()
    return json_response({"imported": len(ck), "stations": int(ck["station_id"].nunique())}, status=201)


def _scope(ctx: Ctx, db: Db, user: User, county: str | None) -> list[str]:
    check_codes(ctx.catalog, county, None)
    require_view(user, county, "the standards")
    st = ctx.view(db).layers["stations"].frame
    st = st[st["status"].astype(str) == "active"]
    ids = st["id"].astype(str)
    if county is not None:
        ids = ids[st["town_code"].astype(str).map(ctx.catalog.town_county) == county]
    return sorted(ids)


@router.get("/standards/league", summary="League table of stations per county (score, five-good rating)",
            responses=responses(401, 403, 422))
def league(ctx: Ctx, db: Db, user: Planner, county: Code = None, year: Year = None) -> Response:
    """The league table of the stations in scope: score and five-good rating, per county."""
    ids = _scope(ctx, db, user, county)
    view = ctx.view(db).dataset
    table = league_table(_scores(db, year or today().year, ids), view.stations, view.towns, county=county)
    return json_response({"year": year or today().year, "county_code": county, "items": _records(table)})


@router.get("/standards/gaps", summary="Map layer: active stations missing any of the eight haves (GeoJSON)",
            responses={**responses(401, 403, 422), 200: {"content": {GEOJSON: {}}}})
def gaps(ctx: Ctx, db: Db, user: Planner, county: Code = None, year: Year = None) -> Response:
    """A GeoJSON map layer of the active stations missing any of the eight haves."""
    ids = _scope(ctx, db, user, county)
    view = ctx.view(db).dataset
    layer = gaps_layer(_scores(db, year or today().year, ids), view.stations)
    return Response(layer.to_crs("EPSG:4326").to_json(na="null", drop_id=True), media_type=GEOJSON)


@router.get("/standards/planning-feedback",
            summary="Scenario inputs from running the network: unresolved opinions per town, station performance",
            responses=responses(401, 403, 422))
def planning_feedback(ctx: Ctx, db: Db, user: Planner, county: Code = None, year: Year = None) -> Response:
    """Paste the answer into a scenario (with ``opinion_weight`` > 0 for the opinions to weigh)."""
    ids = _scope(ctx, db, user, county)
    y = year or today().year
    opinions = frame(crud_opinions.opinions_of(db, county))
    fb = scenario_feedback(opinions, _scores(db, y, ids))
    return json_response({"year": y, "county_code": county, **fb})
