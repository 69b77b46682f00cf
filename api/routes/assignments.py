"""Deputy assignments for a plan (geoplan.assign); deputy ids are removed for roles that may not see them."""
from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter
from starlette.responses import Response

from api.deps import Ctx, CurrentUser, Db, User
from api.planner import geoplan_function, jsonable, load_plan, records
from api.problems import responses
from api.routes.common import json_response
from api.routes.scenarios import ScenarioId, dataset_for, get_plan_row
from api.schemas import AssignmentOut

if TYPE_CHECKING:
    from geoplan.assign import Assignment

router = APIRouter(tags=["assignments"])
#: Tables listing deputies one per row: dropped whole for roles without access to deputies.
PER_DEPUTY_TABLES = {"deputy_towns", "deputies"}
_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")


def assignment_json(a: Assignment) -> dict[str, Any]:
    """An ``Assignment`` as JSON: every table as records, the shortfalls as text, the metrics."""
    tables = {n: records(df) for n, df in a.tables().items() if n not in ("metrics", "unmet")}
    return {"tables": tables, "unmet": [str(u) for u in a.unmet], "metrics": jsonable(dict(a.metrics))}


def redact(data: dict[str, Any], deputy_ids: frozenset[str]) -> dict[str, Any]:
    """Remove deputy identifiers: per-deputy tables, columns holding deputy ids, ids inside messages."""

    def holds_ids(v: Any) -> bool:
        if isinstance(v, str):
            return v in deputy_ids or any(p.strip() in deputy_ids for p in v.split(","))
        if isinstance(v, list):
            return any(holds_ids(x) for x in v)
        return False

    tables = {}
    for name, rows in data["tables"].items():
        if name in PER_DEPUTY_TABLES:
            continue
        cols = {c for r in rows for c, v in r.items() if "deputy" in c.lower() or holds_ids(v)}
        tables[name] = [{c: v for c, v in r.items() if c not in cols} for r in rows]
    unmet = [_TOKEN.sub(lambda m: "[deputy]" if m.group(0) in deputy_ids else m.group(0), u) for u in data["unmet"]]
    metrics = {k: v for k, v in data["metrics"].items() if not holds_ids(v)}
    return {"tables": tables, "unmet": unmet, "metrics": metrics}


def sees_deputies(user: User) -> bool:
    return user.is_planner


@router.get("/scenarios/{scenario_id}/assignments", response_model=AssignmentOut,
            summary="Deputy groups, conveners, committees and deputies assigned for a plan",
            description="Computed with geoplan.assign on first request and stored with the plan. "
                        "For the service role, deputy identifiers are removed (`redacted: true`).",
            responses=responses(401, 404, 409, 422, 503))
def get_assignments(scenario_id: ScenarioId, ctx: Ctx, db: Db, user: CurrentUser) -> Response:
    row, plan_row = get_plan_row(db, scenario_id)
    data = plan_row.assignment
    if data is None:
        assign = geoplan_function("assign", "assign")
        data = assignment_json(assign(dataset_for(ctx, db, row.county_code), plan=load_plan(plan_row.gpkg)))
        plan_row.assignment = data
        db.commit()
    redacted = not sees_deputies(user)
    if redacted:
        data = redact(data, ctx.catalog.deputy_ids)
    return json_response({"scenario_id": scenario_id, "redacted": redacted, **data})
