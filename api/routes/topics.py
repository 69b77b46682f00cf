"""Committee topics ("1 + 5 + N") and their station visit plans (geoplan.operations.topics).

Topics are the city standing committee's: city planners import them and plan the visits;
every planner reads them, a county planner only the visits in their county.
"""
from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session
from starlette.responses import Response

from api import crud
from api.deps import Ctx, Db, NoStore, Planner, User, json_body, request_body, require_edit
from api.models import TopicPlanRow, TopicRow
from api.operations import compute_off_thread, days_frame, network_inputs, table_problem, workdays_from
from api.problems import ApiProblem, responses
from api.routes.common import href, json_response
from geoplan.exceptions import InputError

router = APIRouter(tags=["topics"])
PlanId = Annotated[str, Path(min_length=1, max_length=64, description="Visit plan id")]
TopicId = Annotated[str, Path(min_length=1, max_length=64, description="Topic id")]
PDF = "application/pdf"


class TopicsImport(BaseModel):
    """Topic rows with the topics CSV's fields: id, committee_id, title, sectors, deliberation_date,
    weeks_before. All rows are checked; one bad row (or an id already stored) rejects them all.
    """

    model_config = ConfigDict(extra="forbid")

    topics: list[dict[str, Any]] = Field(min_length=1, max_length=500)


class VisitPlanRequest(BaseModel):
    """Plan the visits of stored topics (all when ``topic_ids`` is empty).

    Visits avoid the reception days and duties of the newest stored city-wide rota of each
    year involved (or, without one, of a rota planned on the default calendar for the purpose).
    """

    model_config = ConfigDict(extra="forbid")

    topic_ids: list[str] = Field(default_factory=list, max_length=500)
    team_size: int = Field(2, ge=1, le=20)
    holidays: list[dict[str, Any]] = Field(default_factory=list, max_length=2000)


def _topic_out(r: TopicRow) -> dict[str, Any]:
    return {"id": r.id, "committee_id": r.committee_id, "title": r.title, "sectors": r.sectors.split(","),
            "deliberation_date": r.deliberation_date.isoformat(), "weeks_before": r.weeks_before, "owner": r.owner,
            "created_at": r.created_at}


@router.post("/topics", status_code=201, summary="Import committee topics (all or nothing)",
             openapi_extra=request_body(TopicsImport), responses=responses(400, 401, 403, 409, 413, 415, 422, 429))
def import_topics(body: Annotated[TopicsImport, json_body(TopicsImport)], ctx: Ctx, db: Db, user: Planner) -> Response:
    """Import the special committees' topics: every row is stored, or none (409 if an id is taken); city-wide, so city planners only."""
    from geoplan.operations.tables import TableError
    from geoplan.operations.topics import topics_from_records

    require_edit(user, None, "import committee topics")
    committees = ctx.view(db).dataset.committees["id"].astype(str)
    try:
        table = topics_from_records(body.topics, committees=committees)
    except TableError as exc:
        raise table_problem(exc, "topics") from None
    taken = crud.topic_ids_taken(db, list(table["id"]))
    if taken:
        errors = [{"field": f"body.topics[{i}].id", "message": f"topic id {t!r} is already stored", "type": "conflict"}
                  for i, t in enumerate(table["id"]) if t in taken]
        raise ApiProblem(409, f"{len(errors)} topic id(s) already stored; nothing imported", kind="conflict",
                         errors=errors)
    rows = [TopicRow(id=t["id"], committee_id=t["committee_id"], title=t["title"], sectors=",".join(t["sectors"]),
                     deliberation_date=t["deliberation_date"], weeks_before=int(t["weeks_before"]), owner=user.name)
            for t in table.to_dict("records")]
    db.add_all(rows)
    crud.add_audit(db, user, "topics.import", "topics", ",".join(table["id"])[:64], None, {"count": len(rows)})
    db.commit()
    return json_response({"items": [_topic_out(r) for r in rows]}, status=201)


@router.get("/topics", summary="Stored committee topics", responses=responses(401, 403))
def list_topics(db: Db, user: Planner) -> Response:
    """The stored committee topics."""
    rows = crud.topics(db)
    return json_response({"items": [_topic_out(r) for r in rows]})


def _busy(ctx: Any, db: Session, years: list[int], ds: Any, a: Any, wd: Any
          ) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    from geoplan.operations.reception import plan_reception

    days, duties, used = [], [], []
    for y in years:
        row = crud.city_rota(db, y)
        if row is not None:
            d, u = days_frame(row.days), days_frame(row.duties)
            used.append(f"{y}: reception days and duties of stored rota {row.id}")
        else:
            r = compute_off_thread(ctx, ("operations.default-rota", ctx.view(db).version, y, repr(wd)),
                                   lambda: plan_reception(ds, a, y, workdays=wd))
            d, u = r.days, pd.DataFrame(r.rota)
            used.append(f"{y}: no stored city-wide rota; reception days of the default calendar")
        days.append(d[["station_id", "date"]])
        if len(u):
            duties.append(u[["deputy_id", "date"]])
    return (pd.concat(days, ignore_index=True),
            pd.concat(duties, ignore_index=True) if duties else pd.DataFrame(columns=["deputy_id", "date"]), used)


@router.post("/topics/plans", status_code=201, summary="Plan and store the station visits of topics",
             openapi_extra=request_body(VisitPlanRequest), responses=responses(400, 401, 403, 404, 413, 415, 422, 429))
def create_visit_plan(body: Annotated[VisitPlanRequest, json_body(VisitPlanRequest)], request: Request, ctx: Ctx,
                      db: Db, user: Planner, _: NoStore) -> Response:
    """Plan the station visits that carry the topics to their committees' groups (city-wide), and store the plan."""
    from geoplan.operations.topics import TopicRules, plan_topics

    require_edit(user, None, "plan topic visits")
    rows = crud.topics(db, body.topic_ids)
    missing = sorted(set(body.topic_ids) - {r.id for r in rows})
    if missing:
        raise ApiProblem(404, f"unknown topic id(s) {', '.join(missing)}", field="body.topic_ids", kind="unknown-id")
    if not rows:
        raise ApiProblem(422, "no topics stored: import some with POST /topics first", field="body.topic_ids")
    topics = pd.DataFrame([{"id": r.id, "committee_id": r.committee_id, "title": r.title,
                            "sectors": tuple(r.sectors.split(",")), "deliberation_date": r.deliberation_date,
                            "weeks_before": r.weeks_before} for r in rows])
    wd = workdays_from(body.holidays)
    ds, a = network_inputs(ctx, db)
    years = sorted({d.year for d in topics["deliberation_date"]} |
                   {(d - dt.timedelta(weeks=int(w))).year for d, w in zip(topics["deliberation_date"],
                                                                            topics["weeks_before"])})
    days, duties, used = _busy(ctx, db, years, ds, a, wd)
    key = ("operations.visits", ctx.view(db).version, body.model_dump_json(), topics.to_json(default_handler=str),
           len(days), len(duties))
    try:
        vp = compute_off_thread(ctx, key, lambda: plan_topics(ds, a, topics, reception_days=days, duties=duties,
                                                               workdays=wd, rules=TopicRules(team_size=body.team_size)))
    except InputError as exc:
        raise ApiProblem(422, str(exc), kind="invalid-input") from None
    d = vp.to_dict()
    row = TopicPlanRow(id=uuid.uuid4().hex[:16], owner=user.name, params=body.model_dump(mode="json"),
                       summary={"metrics": d["metrics"], "notes": d["notes"] + used, "unmet": d["unmet"],
                                "topics": d["topics"]}, visits=d["visits"], stations=d["stations"])
    db.add(row)
    crud.add_audit(db, user, "topics.plan", "topic_plan", row.id, None, {"topics": list(topics["id"]), "unmet": len(vp.unmet)})
    db.commit()
    return json_response(_plan_out(row, request, user), status=201)


def _plan_out(row: TopicPlanRow, request: Request, user: User) -> dict[str, Any]:
    visits, stations = row.visits, row.stations
    if user.role != "city_planner":  # a county planner sees its county's visits
        visits = [v for v in visits if v["county_code"] == user.county_code]
        stations = [s for s in stations if s["county_code"] == user.county_code]
    base = href(request, f"/topics/plans/{row.id}")
    return {"id": row.id, "owner": row.owner, "created_at": row.created_at, "params": row.params, **row.summary,
            "visits": visits, "stations": stations,
            "links": [{"href": base, "rel": "self", "type": "application/json"}] +
                     [{"href": f"{base}/briefs/{t['id']}.pdf", "rel": "brief", "type": PDF} for t in row.summary["topics"]]}


def _plan(db: Session, plan_id: str) -> TopicPlanRow:
    row = crud.topic_plan(db, plan_id)
    if row is None:
        raise ApiProblem(404, f"unknown visit plan id {plan_id!r}", field="path.plan_id", kind="unknown-id")
    return row


@router.get("/topics/plans/{plan_id}", summary="A stored visit plan (a county planner sees its county's visits)",
            responses=responses(401, 403, 404, 422))
def get_visit_plan(plan_id: PlanId, request: Request, db: Db, user: Planner, _: NoStore) -> Response:
    """A stored visit plan: topics, visits, unmet rules and measures (a county planner sees its county's visits)."""
    return json_response(_plan_out(_plan(db, plan_id), request, user))


@router.get("/topics/plans/{plan_id}/briefs/{topic_id}.pdf", summary="One topic's one-page brief (PDF, Chinese)",
            responses={200: {"content": {PDF: {}}}, **responses(401, 403, 404, 422)})
def get_brief(plan_id: PlanId, topic_id: TopicId, db: Db, user: Planner, _: NoStore) -> Response:
    """One topic's one-page brief of a stored plan, as a Chinese PDF."""
    import geopandas as gpd

    from geoplan.operations.schedules import topic_brief_pdf
    from geoplan.operations.topics import VisitPlan

    require_edit(user, None, "print topic briefs")
    row = _plan(db, plan_id)
    topics = pd.DataFrame(row.summary["topics"])
    if topic_id not in set(topics["id"]):
        raise ApiProblem(404, f"topic {topic_id!r} is not in visit plan {plan_id}", field="path.topic_id",
                         kind="unknown-id")
    topics["sectors"] = topics["sectors"].map(lambda s: tuple(str(s).split(",")))
    topics["deliberation_date"] = topics["deliberation_date"].map(dt.date.fromisoformat)
    visits = pd.DataFrame(row.visits, columns=["topic_id", "station_id", "deputy_id", "sector_match", "county_name",
                                               "town_name", "committee_name", "date"])
    stations = pd.DataFrame(row.stations, columns=["topic_id", "station_id", "station_name", "county_code",
                                                   "visited", "date", "deputies", "short"])
    stations["date"] = stations["date"].map(lambda v: dt.date.fromisoformat(v) if v else None)
    stations["visited"] = stations["visited"].astype(bool)
    from geoplan.operations.topics import unmet_from_records

    vp = VisitPlan(topics=topics, visits=gpd.GeoDataFrame(visits), stations=stations,
                   unmet=unmet_from_records(row.summary["unmet"]), metrics={}, notes=tuple(row.summary["notes"]))
    return Response(topic_brief_pdf(vp, topic_id), media_type=PDF,
                    headers={"Content-Disposition": f'inline; filename="brief_{topic_id}.pdf"'})
