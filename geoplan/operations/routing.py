"""Route confirmed opinions by level, as the city does it, with the office's own rule table.

* **town / county** — what the town or the county can solve is *assigned* to that office with a
  deadline counted in working days on China's official calendar;
* **city** — city-level matters go into the *quarterly batch* that the city standing committee
  hands out and tracks until answered (deadline counted from the quarter's end);
* **policy** — matters of system or policy go into the *quarterly report* to the municipal party
  committee.

The rules are a table (CSV or JSON) the office can change: one row per level (``category = *``)
plus optional rows for one category at one level (e.g. a shorter deadline for safety hazards).
The most specific row wins. Units are templates over ``{town_name}``, ``{town_code}``,
``{county_name}`` and ``{county_code}``.

Only *confirmed* opinions are routed: a row whose ``level``/``category`` a person has not set is
refused, whatever the classifier suggested.

Examples
--------
>>> import datetime as dt, pandas as pd
>>> ops = pd.DataFrame({"id": ["O1"], "town_code": ["T1"], "category": ["transport"], "level": ["town"],
...                     "received_on": [dt.date(2026, 9, 28)]})
>>> towns = pd.DataFrame({"code": ["T1"], "name": ["新河镇"], "county_code": ["C1"]})
>>> counties = pd.DataFrame({"code": ["C1"], "name": ["某县"]})
>>> r = route(ops, DEFAULT_RULES, towns, counties)
>>> r.frame.loc[0, ["track", "assigned_unit", "deadline"]].tolist()
['office', '新河镇人民政府（办事处）', datetime.date(2026, 10, 30)]
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from string import Formatter
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from geoplan.exceptions import InputError
from geoplan.operations._opinion_helpers import (
    CATEGORIES,
    LEVELS,
    ImportRowsError,
    RowProblem,
    add_workdays,
    quarter_bounds,
    quarter_of,
    read_table,
    require_columns,
)
from geoplan.operations.workdays import WorkdayCalendar

__all__ = ["DEFAULT_RULES", "Routed", "RoutingRule", "RoutingRules", "Track", "read_rules", "route", "rules_frame"]

Track = Literal["office", "city_batch", "policy_report"]
TRACKS: dict[str, str] = {"office": "交办承办单位", "city_batch": "市级季度交办批次", "policy_report": "向市委季度报告"}
_FIELDS = frozenset(("town_name", "town_code", "county_name", "county_code"))


class RoutingRule(BaseModel):
    """One row of the routing table."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    level: Literal["town", "county", "city", "policy"]
    category: str = Field("*", description="a category, or * for every category of the level")
    track: Track
    unit: str = Field(min_length=1, max_length=200, description="the handling unit; may use {town_name} …")
    deadline_workdays: int = Field(ge=1, le=250)
    deadline_from: Literal["routed", "quarter_end"] = "routed"

    @field_validator("category")
    @classmethod
    def _category(cls, v: str) -> str:
        if v != "*" and v not in CATEGORIES:
            raise ValueError(f"must be * or one of {list(CATEGORIES)}")
        return v

    @field_validator("unit")
    @classmethod
    def _unit(cls, v: str) -> str:
        try:
            names = {f for _, f, _, _ in Formatter().parse(v) if f is not None}
        except ValueError:
            raise ValueError("unbalanced { } in the unit template") from None
        if names - _FIELDS:
            raise ValueError(f"unknown placeholder(s) {sorted(names - _FIELDS)}; use {sorted(_FIELDS)}")
        return v

    @model_validator(mode="after")
    def _track_fits(self) -> "RoutingRule":
        if self.track == "office" and self.deadline_from != "routed":
            raise ValueError("an office deadline counts from the day it is routed (deadline_from = routed)")
        if self.track != "office" and self.deadline_from != "quarter_end":
            raise ValueError(f"track {self.track} is quarterly: deadline_from must be quarter_end")
        return self


class RoutingRules(BaseModel):
    """The whole table: every level has a ``*`` row; no (level, category) twice."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rules: tuple[RoutingRule, ...]

    @model_validator(mode="after")
    def _complete(self) -> "RoutingRules":
        keys = [(r.level, r.category) for r in self.rules]
        dup = sorted({k for k in keys if keys.count(k) > 1})
        if dup:
            raise ValueError(f"(level, category) given more than once: {dup}")
        missing = [lv for lv in LEVELS if (lv, "*") not in keys]
        if missing:
            raise ValueError(f"no default row (category *) for level(s) {missing}")
        return self

    def rule_for(self, level: str, category: str) -> RoutingRule:
        """The most specific rule of (level, category)."""
        by: dict[tuple[str, str], RoutingRule] = {(r.level, r.category): r for r in self.rules}
        return by.get((level, category)) or by[(level, "*")]


DEFAULT_RULES = RoutingRules(rules=(
    RoutingRule(level="town", track="office", unit="{town_name}人民政府（办事处）", deadline_workdays=20),
    RoutingRule(level="town", category="public_safety", track="office", unit="{town_name}人民政府（办事处）",
                deadline_workdays=5),
    RoutingRule(level="county", track="office", unit="{county_name}人民政府", deadline_workdays=30),
    RoutingRule(level="city", track="city_batch", unit="市人大常委会交办（{county_name}代表提出）",
                deadline_workdays=60, deadline_from="quarter_end"),
    RoutingRule(level="policy", track="policy_report", unit="中共盐城市委（季度民情报告）", deadline_workdays=15,
                deadline_from="quarter_end"),
))

_RULE_COLUMNS = ("level", "category", "track", "unit", "deadline_workdays", "deadline_from")


def rules_frame(rules: RoutingRules) -> pd.DataFrame:
    """The table as a frame (what ``geoplan opinions route --write-rules`` writes)."""
    return pd.DataFrame([r.model_dump() for r in rules.rules], columns=list(_RULE_COLUMNS))


def _rules_from_rows(rows: list[dict[str, object]], name: str) -> RoutingRules:
    problems: list[RowProblem] = []
    parsed: list[RoutingRule] = []
    for i, row in enumerate(rows, start=2):
        clean = {k: v for k, v in row.items() if not (k == "category" and v in ("", None))}
        try:
            parsed.append(RoutingRule.model_validate(clean))
        except ValidationError as exc:
            for e in exc.errors():
                problems.append(RowProblem(name, i, ".".join(str(p) for p in e["loc"]) or "(row)", e["msg"]))
    if problems:
        raise ImportRowsError(problems)
    try:
        return RoutingRules(rules=tuple(parsed))
    except ValidationError as exc:
        raise InputError(f"{name}: {exc.errors()[0]['msg'].removeprefix('Value error, ')}") from None


def read_rules(source: str | Path) -> RoutingRules:
    """Read and validate a rule table: CSV (columns as :func:`rules_frame`) or JSON (a list of rows).

    Every bad row is named with its field and rule; the table as a whole must have a ``*`` row for
    each level.
    """
    path = Path(source)
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"{path.name}: not a readable JSON file ({type(exc).__name__})") from None
        rows = data.get("rules") if isinstance(data, dict) else data
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise InputError(f"{path.name}: expected a list of rule objects (or {{\"rules\": [...]}})")
        return _rules_from_rows(rows, path.name)
    df, name = read_table(path)
    require_columns(df, name, ("level", "track", "unit", "deadline_workdays"))
    return _rules_from_rows([{str(k): v for k, v in r.items()} for r in df.to_dict("records")], name)


@dataclass(frozen=True)
class Routed:
    """Routed opinions (the input plus track, unit, batch quarter, deadline) and calendar notes."""

    frame: pd.DataFrame
    notes: tuple[str, ...]


def route(opinions: pd.DataFrame, rules: RoutingRules, towns: pd.DataFrame, counties: pd.DataFrame,
          calendar: WorkdayCalendar | None = None) -> Routed:
    """Assign each confirmed opinion its track, handling unit, quarter and deadline.

    Parameters
    ----------
    opinions
        Rows with ``id, town_code, category, level`` (confirmed by a person) and ``received_on``;
        ``routed_on`` (the day a person confirmed, e.g. after an escalation) is used when present.
    rules
        The routing table.
    towns, counties
        ``code, name, county_code`` / ``code, name`` (the dataset's layers or plain frames).
    calendar
        Working days; defaults to China's official calendar. Its notes about years it does not
        know are returned in :attr:`Routed.notes`.
    """
    calendar = calendar or WorkdayCalendar()
    need = ("id", "town_code", "category", "level", "received_on")
    missing = [c for c in need if c not in opinions.columns]
    if missing:
        raise InputError(f"opinions: missing column(s) {missing} to route")
    df = opinions.copy().reset_index(drop=True)
    unconfirmed = df["level"].isna() | (df["level"].astype(str).isin(["", "None", "nan"])) | \
        df["category"].isna() | df["category"].astype(str).isin(["", "None", "nan"])
    if unconfirmed.any():
        ids = df.loc[unconfirmed, "id"].astype(str).tolist()
        raise InputError(f"opinions {ids[:5]}{' …' if len(ids) > 5 else ''}: level and category must be confirmed "
                         "by a person before routing (a suggestion is not enough)")
    bad = ~df["level"].isin(list(LEVELS)) | ~df["category"].isin(list(CATEGORIES))
    if bad.any():
        raise InputError(f"opinions {df.loc[bad, 'id'].astype(str).tolist()[:5]}: unknown level or category")
    town_name = dict(zip(towns["code"].astype(str), towns["name"].astype(str)))
    town_county = dict(zip(towns["code"].astype(str), towns["county_code"].astype(str)))
    county_name = dict(zip(counties["code"].astype(str), counties["name"].astype(str)))
    unknown = ~df["town_code"].astype(str).isin(list(town_name))
    if unknown.any():
        raise InputError(f"opinions {df.loc[unknown, 'id'].astype(str).tolist()[:5]}: town_code not in the dataset")

    routed_on = pd.to_datetime(df["routed_on"] if "routed_on" in df.columns else df["received_on"])
    routed_on = routed_on.fillna(pd.to_datetime(df["received_on"]))
    chosen = [rules.rule_for(lv, c) for lv, c in zip(df["level"], df["category"])]
    quarters = [quarter_of(d.date()) for d in routed_on]
    start = np.where([r.deadline_from == "quarter_end" for r in chosen],
                     np.array([np.datetime64(quarter_bounds(q)[1]) for q in quarters], dtype="datetime64[D]"),
                     routed_on.to_numpy(dtype="datetime64[D]"))
    deadline = add_workdays(calendar, start, np.array([r.deadline_workdays for r in chosen]))
    codes = df["town_code"].astype(str)
    fill = [{"town_name": town_name[t], "town_code": t, "county_code": town_county[t],
             "county_name": county_name.get(town_county[t], town_county[t])} for t in codes]
    df["county_code"] = [f["county_code"] for f in fill]
    df["track"] = [r.track for r in chosen]
    df["assigned_unit"] = [r.unit.format(**f) for r, f in zip(chosen, fill)]
    df["assigned_unit_code"] = [f["town_code"] if r.level == "town" else f["county_code"] if r.level == "county"
                                else r.track for r, f in zip(chosen, fill)]
    df["batch"] = [q if r.track != "office" else "" for r, q in zip(chosen, quarters)]
    df["deadline"] = [d.astype(object) for d in deadline]
    years = set(routed_on.dt.year.tolist()) | {d.year for d in df["deadline"]}
    return Routed(frame=df, notes=tuple(calendar.notes(years)))
