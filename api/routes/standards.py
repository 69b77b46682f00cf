"""Station standards: the eight haves per station (edit or import), activity, league table, gaps layer.

Scores and ratings come from :mod:`geoplan.operations.standards` with the default
:class:`~geoplan.operations.standards.RatingRule`; opinions received and answered on time come
from the opinions stored by this service, reception days from ``PUT …/activity``.
"""
from __future__ import annotations

import base64
import binascii
import datetime as dt
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import Response

from api.deps import Ctx, Db, Planner, User, require_edit
from api.models import OpinionRow, StationActivityRow, StationCheckRow
from api.problems import ApiProblem, responses
from api.routes.common import GEOJSON, Code, audit, check_codes, json_response
from api.routes.opinions import FileUpload, frame, may_view, today
from geoplan.exceptions import InputError
from geoplan.operations._opinion_helpers import ImportRowsError
from geoplan.operations.opinions import flag_overdue
from geoplan.operations.standards import (ITEMS, RatingRule, activity_from_opinions, gaps_layer, league_table,
                                          read_checklist, score_stations)

router = APIRouter(tags=["standards"])
StationId = Annotated[str, Path(min_length=1, max_length=64, description="Station id")]
ItemName = Literal["venue", "sign", "rules", "plan", "records", "study", "equipment", "online"]
Year = Annotated[int | None, Query(ge=2000, le=2100, description="Year assessed; default this year")]


class CheckIn(BaseModel):
    """One item of the eight haves, as checked."""

    model_config = ConfigDict(extra="forbid")

    ok: bool
    checked_on: dt.date
    evidence: str = Field("", max_length=500)


class ActivityIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: int = Field(ge=2000, le=2100)
    reception_days: int = Field(ge=0, le=366)


def _station(ctx: Ctx, db: Db, station_id: str) -> str:
    """County of a current station; 404 if unknown."""
    st = ctx.view(db).layers["stations"].frame
    hit = st.loc[st["id"].astype(str) == station_id, "town_code"]
    if not len(hit):
        raise ApiProblem(404, f"unknown station id {station_id!r}", field="path.station_id", kind="unknown-id")
    return ctx.catalog.town_county.get(str(hit.iloc[0]), "")


def _scores(ctx: Ctx, db: Session, year: int, station_ids: list[str]) -> pd.DataFrame:
    checks = db.scalars(select(StationCheckRow).where(StationCheckRow.station_id.in_(station_ids))).all()
    ck = pd.DataFrame([{"station_id": c.station_id, "item": c.item, "ok": c.ok, "checked_on": c.checked_on,
                        "evidence": c.evidence} for c in checks], columns=["station_id", "item", "ok", "checked_on", "evidence"])
    acts = db.scalars(select(StationActivityRow).where(StationActivityRow.year == year)).all()
    rd = pd.DataFrame([{"station_id": a.station_id, "reception_days": a.reception_days} for a in acts],
                      columns=["station_id", "reception_days"])
    start, end = dt.date(year, 1, 1), dt.date(year, 12, 31)
    rows = list(db.scalars(select(OpinionRow).where(OpinionRow.received_on >= start, OpinionRow.received_on <= end)))
    as_of = min(end, today())
    ops = flag_overdue(frame(rows), as_of=as_of) if rows else pd.DataFrame(
        columns=["station_id", "answered_on_time", "overdue"])
    act = activity_from_opinions(ops, rd)
    return score_stations(ck, act, RatingRule(), as_of=as_of, station_ids=station_ids)


def _records(t: pd.DataFrame) -> list[dict[Any, Any]]:
    return t.astype(object).where(t.notna(), None).to_dict("records")


@router.get("/standards/stations/{station_id}", summary="A station's eight haves, activity, score and rating",
            responses=responses(401, 403, 404, 422))
def station_standards(station_id: StationId, ctx: Ctx, db: Db, user: Planner, year: Year = None) -> Response:
    county = _station(ctx, db, station_id)
    if not may_view(user, county):
        raise ApiProblem(403, f"{user.role} {user.name!r} may not read county {county}", kind="forbidden")
    y = year or today().year
    checks = {c.item: c for c in db.scalars(select(StationCheckRow).where(StationCheckRow.station_id == station_id))}
    items = [{"item": k, "name": v, "ok": checks[k].ok if k in checks else None,
              "checked_on": checks[k].checked_on if k in checks else None,
              "evidence": checks[k].evidence if k in checks else None} for k, v in ITEMS.items()]
    score = _records(_scores(ctx, db, y, [station_id]))[0]
    return json_response({"station_id": station_id, "county_code": county, "year": y, "items": items, "score": score})


@router.put("/standards/stations/{station_id}/items/{item}", summary="Record the check of one of the eight haves",
            responses=responses(400, 401, 403, 404, 413, 415, 422))
def put_check(station_id: StationId, item: ItemName, body: CheckIn, ctx: Ctx, db: Db, user: Planner) -> Response:
    county = _station(ctx, db, station_id)
    require_edit(user, county, "record station checks")
    if body.checked_on > today() + dt.timedelta(days=1):
        raise ApiProblem(422, "checked_on lies in the future", field="body.checked_on", kind="validation-error")
    row = db.get(StationCheckRow, (station_id, item))
    before = None if row is None else {"ok": row.ok, "checked_on": str(row.checked_on), "evidence": row.evidence}
    if row is None:
        row = StationCheckRow(station_id=station_id, item=item, ok=body.ok, checked_on=body.checked_on,
                              evidence=body.evidence, actor=user.name)
        db.add(row)
    else:
        row.ok, row.checked_on, row.evidence, row.actor = body.ok, body.checked_on, body.evidence, user.name
    audit(db, user, "standards.check", "station", station_id, county,
          {"item": item, "before": before, "ok": body.ok, "checked_on": str(body.checked_on), "evidence": body.evidence})
    db.commit()
    return json_response({"station_id": station_id, "item": item, "ok": row.ok, "checked_on": row.checked_on,
                          "evidence": row.evidence})


@router.put("/standards/stations/{station_id}/activity", summary="Reception days a station held in a year",
            responses=responses(400, 401, 403, 404, 413, 415, 422))
def put_activity(station_id: StationId, body: ActivityIn, ctx: Ctx, db: Db, user: Planner) -> Response:
    county = _station(ctx, db, station_id)
    require_edit(user, county, "record station activity")
    row = db.get(StationActivityRow, (station_id, body.year))
    before = None if row is None else row.reception_days
    if row is None:
        db.add(StationActivityRow(station_id=station_id, year=body.year, reception_days=body.reception_days,
                                  actor=user.name))
    else:
        row.reception_days, row.actor = body.reception_days, user.name
    audit(db, user, "standards.activity", "station", station_id, county,
          {"year": body.year, "before": before, "reception_days": body.reception_days})
    db.commit()
    return json_response({"station_id": station_id, "year": body.year, "reception_days": body.reception_days})


@router.post("/standards/import", status_code=201, summary="Import a checklist from CSV/Excel (all or nothing)",
             responses=responses(400, 401, 403, 413, 415, 422))
def import_checklist(body: FileUpload, ctx: Ctx, db: Db, user: Planner) -> Response:
    try:
        data = base64.b64decode(body.content_base64, validate=True)
    except (binascii.Error, ValueError):
        raise ApiProblem(422, "content_base64 is not valid base64", field="body.content_base64",
                         kind="validation-error") from None
    st = ctx.view(db).layers["stations"].frame
    try:
        ck = read_checklist(data, frozenset(st["id"].astype(str)), name=body.filename)
    except ImportRowsError as exc:
        raise ApiProblem(422, str(exc), kind="import-rejected",
                         errors=[{"field": f"{p.file} row {p.row}.{p.field}", "message": p.rule, "type": "invalid-row"}
                                 for p in exc.problems]) from None
    except InputError as exc:
        raise ApiProblem(422, str(exc), field="body.content_base64", kind="import-rejected") from None
    town = dict(zip(st["id"].astype(str), st["town_code"].astype(str)))
    outside = [i + 2 for i, s in enumerate(ck["station_id"])
               if not user.may_edit(ctx.catalog.town_county.get(town[s]))]
    if outside:
        raise ApiProblem(403, f"{user.role} {user.name!r} may not record checks of another county (rows {outside[:10]})",
                         kind="forbidden")
    for rec in ck.to_dict("records"):
        row = db.get(StationCheckRow, (rec["station_id"], rec["item"]))
        if row is None:
            db.add(StationCheckRow(station_id=rec["station_id"], item=rec["item"], ok=bool(rec["ok"]),
                                   checked_on=rec["checked_on"], evidence=rec["evidence"], actor=user.name))
        else:
            row.ok, row.checked_on, row.evidence, row.actor = bool(rec["ok"]), rec["checked_on"], rec["evidence"], user.name
    audit(db, user, "standards.import", "station", body.filename[:64], user.county_code,
          {"rows": len(ck), "stations": int(ck["station_id"].nunique())})
    db.commit()
    return json_response({"imported": len(ck), "stations": int(ck["station_id"].nunique())}, status=201)


def _scope(ctx: Ctx, db: Db, user: User, county: str | None) -> list[str]:
    check_codes(ctx.catalog, county, None)
    if not may_view(user, county):
        raise ApiProblem(403, f"{user.role} {user.name!r} may not read "
                              f"{'county ' + county if county else 'the whole city'}", kind="forbidden")
    st = ctx.view(db).layers["stations"].frame
    st = st[st["status"].astype(str) == "active"]
    ids = st["id"].astype(str)
    if county is not None:
        ids = ids[st["town_code"].astype(str).map(ctx.catalog.town_county) == county]
    return sorted(ids)


@router.get("/standards/league", summary="League table of stations per county (score, five-good rating)",
            responses=responses(401, 403, 422))
def league(ctx: Ctx, db: Db, user: Planner, county: Code = None, year: Year = None) -> Response:
    ids = _scope(ctx, db, user, county)
    view = ctx.view(db).dataset
    table = league_table(_scores(ctx, db, year or today().year, ids), view.stations, view.towns, county=county)
    return json_response({"year": year or today().year, "county_code": county, "items": _records(table)})


@router.get("/standards/gaps", summary="Map layer: active stations missing any of the eight haves (GeoJSON)",
            responses={**responses(401, 403, 422), 200: {"content": {GEOJSON: {}}}})
def gaps(ctx: Ctx, db: Db, user: Planner, county: Code = None, year: Year = None) -> Response:
    ids = _scope(ctx, db, user, county)
    view = ctx.view(db).dataset
    layer = gaps_layer(_scores(ctx, db, year or today().year, ids), view.stations)
    return Response(layer.to_crs("EPSG:4326").to_json(na="null", drop_id=True), media_type=GEOJSON)
