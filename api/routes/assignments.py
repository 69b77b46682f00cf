"""Deputy assignments for a plan (geoplan.assign); deputy ids are removed for roles that may not see them."""
from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter

from api.deps import Ctx, CurrentUser, Db, PlanDep, ScenarioDep, User
from api.planner import geoplan_function, jsonable, load_plan
from api.problems import responses
from api.schemas import AssignmentOut

router = APIRouter(tags=["assignments"])
#: Tables listing deputies one per row: dropped whole for roles without access to deputies.
PER_DEPUTY_TABLES = {"deputy_towns", "deputies"}
#: Keys of ``Assignment.to_dict`` that are not tables.
_NOT_TABLES = ("rules", "metrics", "unmet")
_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")


def assignment_json(a: Any) -> dict[str, Any]:
    """``Assignment.to_dict`` as the API shows it: the tables under ``tables``, then rules, unmet, metrics."""
    d = jsonable(a.to_dict())  # NaN/inf → null
    return {"tables": {k: v for k, v in d.items() if k not in _NOT_TABLES},
            "rules": d["rules"], "unmet": d["unmet"], "metrics": d["metrics"]}


def redact(data: dict[str, Any], deputy_ids: frozenset[str]) -> dict[str, Any]:
    """Remove deputy identifiers: per-deputy tables, columns holding deputy ids, ids inside messages."""

    def holds_ids(v: Any) -> bool:
        if isinstance(v, str):
            return v in deputy_ids or any(p.strip() in deputy_ids for p in v.split(","))
        if isinstance(v, list):
            return any(holds_ids(x) for x in v)
        return False

    def scrub(v: Any) -> Any:
        if isinstance(v, str):
            return _TOKEN.sub(lambda m: "[deputy]" if m.group(0) in deputy_ids else m.group(0), v)
        return v

    tables = {}
    for name, rows in data["tables"].items():
        if name in PER_DEPUTY_TABLES:
            continue
        cols = {c for r in rows for c, v in r.items() if "deputy" in c.lower() or holds_ids(v)}
        tables[name] = [{c: v for c, v in r.items() if c not in cols} for r in rows]
    unmet = [{k: scrub(v) for k, v in u.items()} for u in data["unmet"]]
    metrics = {k: v for k, v in data["metrics"].items() if not holds_ids(v)}
    return {"tables": tables, "rules": data.get("rules", {}), "unmet": unmet, "metrics": metrics}


def sees_deputies(user: User) -> bool:
    return user.is_planner


@router.get("/scenarios/{scenario_id}/assignments", response_model=AssignmentOut,
            summary="Deputy groups, conveners, committees and deputies assigned for a plan",
            description="Computed with geoplan.assign on first request and stored with the plan. "
                        "For the service role, deputy identifiers are removed (`redacted: true`).",
            responses=responses(401, 404, 409, 422, 503))
def get_assignments(user: CurrentUser, row: ScenarioDep, plan: PlanDep, ctx: Ctx, db: Db) -> dict[str, Any]:
    data = plan.assignment
    if data is None or "rules" not in data:  # none yet, or stored by a version before Assignment.to_dict
        assign = geoplan_function("assign", "assign")
        data = assignment_json(assign(ctx.view(db).dataset_for(row.county_code), plan=load_plan(plan.gpkg)))
        plan.assignment = data
        db.commit()
    redacted = not sees_deputies(user)
    if redacted:
        data = redact(data, ctx.catalog.deputy_ids)
    return {"scenario_id": row.id, "redacted": redacted, **data}
