"""What the operations routers (reception, topics, posters) share: the network they plan on, calendars from
request rows, stored days back as frames, and row errors as problems. No planning here: it calls geoplan.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Callable, TypeVar

import pandas as pd
from sqlalchemy.orm import Session

from api import crud
from api.deps import AppContext
from api.problems import ApiProblem
from geoplan.datasets import Dataset

T = TypeVar("T")


def table_problem(exc: Any, table: str) -> ApiProblem:
    """A :class:`geoplan.operations.tables.TableError` as a 422 naming ``body.<table>[i].<field>`` per bad row."""
    errors = [{"field": f"body.{table}[{p.row - 1}].{p.field}", "message": f"row {p.row}: {p.rule}",
               "type": "invalid-row"} for p in exc.problems]
    return ApiProblem(422, f"{table}: {exc}", kind="invalid-rows", errors=errors)


def compute_off_thread(ctx: AppContext, key: Any, compute: Callable[[], T]) -> T:
    """``compute()`` on the service's bounded read pool (single flight per ``key``, memoised), waited for here.

    The rota, visit and poster computations are seconds at most on a county; the pool bounds how
    many run at once and lets identical concurrent requests share one computation.
    """
    return ctx.reads.future(key, compute).result()


def network_inputs(ctx: AppContext, db: Session) -> tuple[Dataset, Any]:
    """The current dataset (station edits applied) and its group assignment, computed once per version
    (in a worker process by default: the city-wide assignment is seconds of CPU).
    """
    view = ctx.view(db)
    return view.dataset, compute_off_thread(ctx, ("operations.assignment", view.version),
                                            lambda: ctx.renderer.assignment(view, None, b""))


def workdays_from(rows: list[dict[str, Any]]) -> Any:
    """A ``WorkdayCalendar`` from ``date, kind`` rows (422 naming the bad rows)."""
    from geoplan.operations.tables import TableError, check_rows, choice_field, date_field
    from geoplan.operations.workdays import WorkdayCalendar

    try:
        parsed = check_rows(rows, "api", {"date": date_field(), "kind": choice_field(("holiday", "workday"))})
    except TableError as exc:
        raise table_problem(exc, "holidays") from None
    return WorkdayCalendar(holidays=frozenset(r["date"] for r in parsed if r["kind"] == "holiday"),
                           workdays=frozenset(r["date"] for r in parsed if r["kind"] == "workday"))


def stored_days(db: Session, station_id: str, county: str, year: int | None) -> tuple[pd.DataFrame, str | None]:
    """The reception days of a station in the newest stored rota covering it, as typed rows, and the rota id."""
    for row in crud.rotas_covering(db, county, year=year):
        days = [d for d in row.days if d["station_id"] == station_id]
        if days:
            return days_frame(days), row.id
    return days_frame([]), None


def days_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Stored station-day records back to a frame with dates and times."""
    frame = pd.DataFrame(records)
    if len(frame):
        frame["date"] = frame["date"].map(dt.date.fromisoformat)
        for c in ("start", "end"):
            if c in frame.columns:
                frame[c] = frame[c].map(dt.time.fromisoformat)
    return frame
