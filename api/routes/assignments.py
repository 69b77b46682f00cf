"""Deputy assignments for a plan (geoplan.assign), with deputy ids shown only to whom may see them.

City planners see every deputy; a county planner sees the deputies of its own county (other
counties' deputy ids are blanked and their per-deputy rows dropped); the service role sees no
deputy ids at all (per-deputy tables and columns holding ids are removed).
"""
from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from api import crud
from api.deps import Ctx, CurrentUser, Db, NoStore, PlanDep, ScenarioDep, User
from api.models import PlanRow
from api.planner import assignment_json
from api.problems import ApiProblem, responses
from api.schemas import AssignmentOut

router = APIRouter(tags=["assignments"])
#: Tables listing deputies one per row.
PER_DEPUTY_TABLES = {"deputy_towns", "deputies"}
_TOKEN = re.compile(r"[A-Za-z0-9_\-]+")


def _holds(v: Any, ids: frozenset[str]) -> bool:
    if isinstance(v, str):
        return v in ids or any(p.strip() in ids for p in v.split(","))
    if isinstance(v, list):
        return any(_holds(x, ids) for x in v)
    return False


def _scrub(v: Any, ids: frozenset[str]) -> Any:
    if isinstance(v, str):
        return _TOKEN.sub(lambda m: "[deputy]" if m.group(0) in ids else m.group(0), v)
    return v


def redact(data: dict[str, Any], hidden: frozenset[str], *, whole: bool) -> dict[str, Any]:
    """Remove the deputy ids in ``hidden`` from an assignment.

    ``whole`` (the service role): per-deputy tables and every column holding a deputy id are
    dropped. Otherwise (a county planner): per-deputy rows of hidden deputies are dropped and
    hidden ids blanked (null) where they appear, so the planner's own deputies stay visible.
    Ids inside the shortfall messages become ``[deputy]``.
    """
    tables = {}
    for name, rows in data["tables"].items():
        if whole:
            if name in PER_DEPUTY_TABLES:
                continue
            cols = {c for r in rows for c, v in r.items() if "deputy" in c.lower() or _holds(v, hidden)}
            tables[name] = [{c: v for c, v in r.items() if c not in cols} for r in rows]
        else:
            if name in PER_DEPUTY_TABLES:
                rows = [r for r in rows if not _holds(r.get("deputy_id"), hidden)]
            tables[name] = [{c: (None if _holds(v, hidden) else v) for c, v in r.items()} for r in rows]
    unmet = [{k: _scrub(v, hidden) for k, v in u.items()} for u in data["unmet"]]
    metrics = {k: v for k, v in data["metrics"].items() if not _holds(v, hidden)}
    return {"tables": tables, "rules": data.get("rules", {}), "unmet": unmet, "metrics": metrics}


def hidden_deputies(user: User, ctx: Any) -> frozenset[str]:
    """The deputy ids ``user`` may not see (see the module docstring)."""
    if user.role == "city_planner":
        return frozenset()
    if user.role == "county_planner":
        return ctx.catalog.deputies_outside(user.county_code)
    return ctx.catalog.deputy_ids


@router.get("/scenarios/{scenario_id}/assignments", response_model=AssignmentOut,
            summary="Deputy groups, conveners, committees and deputies assigned for a plan",
            description="Computed with geoplan.assign once per plan (on the read pool; concurrent first requests "
                        "share one computation) and stored with the plan. Deputy ids a role may not see are "
                        "removed (`redacted: true`): all of them for the service role, other counties' for a "
                        "county planner.",
            responses=responses(401, 404, 409, 422, 429, 503))
async def get_assignments(user: CurrentUser, row: ScenarioDep, plan: PlanDep, ctx: Ctx, db: Db,
                          _: NoStore) -> dict[str, Any]:
    """The deputy assignment of a plan: groups ↔ stations, conveners, committees and visiting deputies.

    Computed from the plan's stations on first request when none is stored yet.
    """
    data: dict[str, Any] | None = await run_in_threadpool(lambda: plan.assignment)  # deferred column
    if data is None or "rules" not in data:  # none yet, or stored by a version before Assignment.to_dict
        view = await run_in_threadpool(ctx.view, db)
        sid, county = row.id, row.county_code

        def compute() -> dict[str, Any]:
            with ctx.sessions() as s:
                gpkg = crud.plan_gpkg(s, sid)
            if gpkg is None:
                raise ApiProblem(404, f"unknown scenario id {sid!r}", field="path.scenario_id", kind="unknown-id")
            out = assignment_json(ctx.renderer.assignment(view, county, gpkg))  # computed in a worker by default
            with ctx.sessions() as s:
                stored = s.get(PlanRow, sid)
                if stored is not None:
                    stored.assignment = out
                    s.commit()
            return out

        # once per plan however many ask at once (single flight), then stored with the plan
        data = await ctx.reads.get(("assignment", sid), compute)
    assert data is not None
    hidden = hidden_deputies(user, ctx)
    if hidden:
        data = redact(data, hidden, whole=user.role == "service")
    return {"scenario_id": row.id, "redacted": bool(hidden), **data}
