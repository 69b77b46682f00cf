"""The "1 + 5 + N" rule: the special committees' topics carried to their groups' stations.

Each special committee is linked to 5 deputy groups (the assignment's ``committee_groups``).
Before the standing committee deliberates a topic, deputies of those groups study it at the
stations their groups are linked to and hear the people there. For every topic this module
plans the visits:

* ``topic_station_visited`` — every station linked to the committee's groups is visited
  once in the ``weeks_before`` weeks before the deliberation date, on a working day;
* ``topic_team_size`` — by ``team_size`` deputies of those groups (at least one, or no visit);
  deputies whose sector is among the topic's sectors go first (others cost ``nonmatch_km``);
* no clash — not on a reception day of the station, not on a day a deputy has reception
  duty (the rota) or cannot attend, no deputy on two visits a day, no station with two
  topics a day, a deputy at most ``max_visits_per_topic`` visits per topic.

It is one small MIP over all topics (HiGHS): binary "station s is visited for topic T on day
t" and "deputy d goes", with slack for what cannot be done, reported as unmet (rule, where,
by how much) with the best partial plan.

Topics CSV::

    id,committee_id,title,sectors,deliberation_date,weeks_before
    T01,K03,优化营商环境条例（草案）,"commerce,finance",2027-04-20,4
"""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp
from pydantic import BaseModel, ConfigDict, Field

from geoplan.datasets import SECTORS, Dataset
from geoplan.exceptions import InputError
from geoplan.operations._helpers import (
    Network,
    Unmet,
    deputy_station_pairs,
    distances_m,
    fmt_number,
    network,
    records,
    save_tables,
    unmet_frame,
    write_csvs,
)
from geoplan.operations.tables import check_rows, choice_field, date_field, int_field, read_csv_records, str_field
from geoplan.operations.workdays import WorkdayCalendar
from geoplan.optimize.mip import run_highs
from geoplan.settings import STORAGE_CRS

__all__ = ["TOPIC_COLUMNS", "TopicRules", "VisitPlan", "topics_from_records", "read_topics", "plan_topics",
           "RULES_CHECKED", "unmet_from_records"]

TOPIC_COLUMNS: tuple[str, ...] = ("id", "committee_id", "title", "sectors", "deliberation_date", "weeks_before")
RULES_CHECKED: dict[str, str] = {
    "topic_committee_groups": "the topic's committee is linked to deputy groups with stations",
    "topic_station_visited": "every station linked to the committee's groups is visited once per topic",
    "topic_team_size": "each visit has team_size deputies of the committee's groups",
}


class TopicRules(BaseModel):
    """Parameters of the visit plan."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    team_size: int = Field(2, ge=1, le=20, description="deputies per station visit")
    max_visits_per_topic: int = Field(1, ge=1, le=10, description="visits one deputy makes for one topic")
    nonmatch_km: float = Field(30.0, ge=0, description="extra cost of a deputy whose sector is not the topic's")
    start: dt.time = dt.time(14, 30)
    end: dt.time = dt.time(17, 0)
    time_limit: float = Field(60.0, gt=0, le=3600)


# --------------------------------------------------------------------------- the topics table
def topics_from_records(rows: Iterable[dict[str, Any]], source: str = "api", *, committees: Iterable[str] | None = None,
                        numbers: list[int] | None = None) -> pd.DataFrame:
    """Check topic rows (all or nothing): unique ids, a known committee, known sectors, a date.

    A missing ``id`` becomes ``T<row number>``; ``weeks_before`` defaults to 4 (1–12).
    """
    known = set(committees) if committees is not None else None
    fields = {"id": str_field(required=False, max_len=64),
              "committee_id": str_field(max_len=64) if known is None else _committee_field(known),
              "title": str_field(max_len=300), "sectors": choice_field(SECTORS, multi=True),
              "deliberation_date": date_field(), "weeks_before": int_field(4, 1, 12)}
    seen: set[str] = set()

    def rules(n: int, r: dict[str, Any]) -> list[tuple[str, str]]:
        out = []
        r["id"] = r["id"] or f"T{n:02d}"
        if r["id"] in seen:
            out.append(("id", f"duplicate topic id {r['id']!r}"))
        seen.add(r["id"])
        return out

    parsed = check_rows(rows, source, fields, numbers=numbers, row_rules=rules)
    return pd.DataFrame.from_records(parsed, columns=list(TOPIC_COLUMNS))


def _committee_field(known: set[str]) -> Any:
    def check(v: str) -> str:
        if not v:
            raise ValueError("is required")
        if v not in known:
            raise ValueError(f"unknown committee {v!r}; expected one of {', '.join(sorted(known))}")
        return v

    return check


def read_topics(path: str | Path, *, committees: Iterable[str] | None = None) -> pd.DataFrame:
    """Read a topics CSV (columns :data:`TOPIC_COLUMNS`, ``id`` and ``weeks_before`` optional)."""
    rows, numbers, name = read_csv_records(path, ("committee_id", "title", "sectors", "deliberation_date"),
                                           "topics table")
    return topics_from_records(rows, name, committees=committees, numbers=numbers)


# --------------------------------------------------------------------------- result
@dataclass(frozen=True, eq=False)
class VisitPlan:
    """The visits of every topic, per-station status, unmet rules and measures.

    Attributes
    ----------
    visits : GeoDataFrame
        One row per deputy and visit: topic_id, committee_id, committee_name, title, deliberation_date,
        date, start, end, station_id, station_name, tier, town_code, town_name, county_code, county_name,
        deputy_id, group_id, deputy_sector, sector_match, distance_m; the station's point.
    stations : DataFrame
        One row per topic and linked station: visited, date, deputies, short.
    """

    topics: pd.DataFrame
    visits: gpd.GeoDataFrame
    stations: pd.DataFrame
    unmet: tuple[Unmet, ...]
    metrics: dict[str, float]
    notes: tuple[str, ...]
    rules: TopicRules = field(default_factory=TopicRules)

    def unmet_table(self) -> pd.DataFrame:
        """The unmet rules as a table (one row per rule, target and shortfall)."""
        return unmet_frame(self.unmet)

    def tables(self) -> dict[str, pd.DataFrame]:
        """The plan as named tables: topics, visits, stations, unmet, metrics and notes.

        These are the layers :meth:`save` writes and the files :meth:`to_csv` writes.
        """
        metrics = pd.DataFrame({"metric": list(self.metrics), "value": [float(v) for v in self.metrics.values()]})
        topics = self.topics.assign(sectors=self.topics["sectors"].map(lambda v: ",".join(v)))
        return {"topics": topics, "visits": self.visits, "stations": self.stations, "unmet": self.unmet_table(),
                "metrics": metrics, "notes": pd.DataFrame({"note": list(self.notes)}, dtype=object)}

    def save(self, path: str | Path) -> Path:
        """Write the tables as layers ``topic_*`` of a GeoPackage (other layers are kept)."""
        return save_tables(path, {f"topic_{k}": v for k, v in self.tables().items()})

    def to_csv(self, directory: str | Path) -> list[Path]:
        """Write each of :meth:`tables` (without geometry) as ``<directory>/<name>.csv``; the paths written."""
        return write_csvs(directory, self.tables())

    def to_dict(self) -> dict[str, Any]:
        """The plan as JSON-ready data: rules, metrics, notes and the tables as lists of records."""
        t = self.tables()
        return {"rules": self.rules.model_dump(mode="json"), "metrics": dict(self.metrics), "notes": list(self.notes),
                "topics": records(t["topics"]), "visits": records(self.visits), "stations": records(self.stations),
                "unmet": records(self.unmet_table())}

    def report(self) -> str:
        """A plain-text summary: notes, metrics and the first 20 unmet rules."""
        lines = [f"note: {n}" for n in self.notes]
        lines += [f"{k:<34} {fmt_number(v)}" for k, v in self.metrics.items()]
        if self.unmet:
            lines.append(f"unmet rules ({len(self.unmet)}):")
            for u in self.unmet[:20]:
                lines.append(f"  {u}")
            if len(self.unmet) > 20:
                lines.append(f"  … and {len(self.unmet) - 20} more (unmet.csv)")
        else:
            lines.append("all rules met")
        return "\n".join(lines)


# --------------------------------------------------------------------------- planning
def _window(topic: pd.Series, workdays: WorkdayCalendar) -> list[dt.date]:
    end = topic["deliberation_date"] - dt.timedelta(days=1)
    start = topic["deliberation_date"] - dt.timedelta(weeks=int(topic["weeks_before"]))
    days = pd.date_range(start, end, freq="D").date
    return [d for d in days if workdays.is_workday(d)]


def plan_topics(dataset: Dataset, assignment: Any, topics: pd.DataFrame, *, reception_days: pd.DataFrame | None = None,
                duties: pd.DataFrame | None = None, unavailable: pd.DataFrame | None = None,
                workdays: WorkdayCalendar | None = None, rules: TopicRules | None = None) -> VisitPlan:
    """Plan the station visits of every topic.

    Parameters
    ----------
    topics : DataFrame
        From :func:`read_topics` / :func:`topics_from_records`.
    reception_days : DataFrame, optional
        ``station_id, date`` of reception days (a rota's ``days``): no visit on those days.
    duties : DataFrame, optional
        ``deputy_id, date`` of reception duties (a rota's ``rota``): those deputies are busy then.
    unavailable : DataFrame, optional
        ``deputy_id, date`` a deputy cannot attend.

    Returns
    -------
    VisitPlan
    """
    t0 = time.perf_counter()
    rules = rules if rules is not None else TopicRules()
    workdays = workdays if workdays is not None else WorkdayCalendar()
    missing = [c for c in ("id", "committee_id", "title", "sectors", "deliberation_date", "weeks_before")
               if c not in topics.columns]
    if missing:
        raise InputError(f"topics: missing column(s) {', '.join(missing)} (use read_topics / topics_from_records)")
    net = network(dataset, assignment)
    committees = {str(k): str(v) for k, v in zip(dataset.committees["id"], dataset.committees["name"])}
    unknown = sorted(set(topics["committee_id"]) - set(committees))
    if unknown:
        raise InputError(f"topics: unknown committee(s) {', '.join(unknown)}")
    notes = workdays.notes(sorted({d.year for d in topics["deliberation_date"]} |
                                  {(d - dt.timedelta(weeks=12)).year for d in topics["deliberation_date"]}))
    st, dep = net.stations, net.deputies
    busy_station = set()
    if reception_days is not None and len(reception_days):
        busy_station = set(zip(reception_days["station_id"], reception_days["date"]))
    busy_deputy = set()
    for frame in (duties, unavailable):
        if frame is not None and len(frame):
            busy_deputy |= set(zip(frame["deputy_id"], frame["date"]))
    d_all, s_all = deputy_station_pairs(net)
    pairs = pd.DataFrame({"d": d_all, "s": s_all, "g": net.d_group[d_all]})
    cg = net.committee_groups
    g_row = pd.Series(np.arange(len(net.groups)), index=net.groups["id"].to_numpy())
    sector = dep["sector"].to_numpy()

    # candidate visits v = (topic, station, day) and deputy arcs x = (v, deputy)
    v_topic: list[int] = []
    v_s: list[int] = []
    v_day: list[dt.date] = []
    v_rank: list[int] = []
    x_v: list[int] = []
    x_d: list[int] = []
    x_cost: list[float] = []
    x_match: list[bool] = []
    t: Any
    station_rows: list[tuple[int, int, int]] = []  # (topic row, station row, n candidate days)
    unmet: list[Unmet] = []
    for ti, t in enumerate(topics.to_dict("records")):
        groups = g_row.reindex(cg.loc[cg["committee_id"] == t['committee_id'], "group_id"]).dropna().astype(int)
        sub = pairs[pairs["g"].isin(set(groups))]
        if sub.empty:
            unmet.append(Unmet("topic_committee_groups", str(t['id']), 1.0,
                               f"committee {t['committee_id']} has no linked groups with stations"))
            continue
        days = _window(pd.Series(t), workdays)
        for s in sorted(set(sub["s"])):
            sid = str(st["id"].iat[s])
            ok_days = [d for d in days if (sid, d) not in busy_station]
            station_rows.append((ti, s, len(ok_days)))
            team = sub[sub["s"] == s]["d"].to_numpy()
            match = np.isin(sector[team], list(t['sectors']))
            dist = distances_m(net, team, np.full(len(team), s))
            cost = dist / 1000.0 + np.where(match, 0.0, rules.nonmatch_km)
            for rank, day in enumerate(ok_days):
                vi = len(v_topic)
                v_topic.append(ti)
                v_s.append(s)
                v_day.append(day)
                v_rank.append(rank)
                for d, c, m in zip(team, cost, match):
                    if (dep["id"].iat[d], day) not in busy_deputy:
                        x_v.append(vi)
                        x_d.append(int(d))
                        x_cost.append(float(c))
                        x_match.append(bool(m))
    chosen_v, chosen_x, figures = _solve(np.array(v_topic, int), np.array(v_s, int), v_day, np.array(v_rank, float),
                                         np.array(x_v, int), np.array(x_d, int), np.array(x_cost, float),
                                         station_rows, rules)
    return _result(topics, committees, net, station_rows, np.array(v_topic, int), np.array(v_s, int), v_day,
                   chosen_v, np.array(x_v, int), np.array(x_d, int), np.array(x_match, bool), chosen_x,
                   unmet, figures, notes, rules, t0)


def _solve(v_topic: np.ndarray, v_s: np.ndarray, v_day: list[dt.date], v_rank: np.ndarray, x_v: np.ndarray,
           x_d: np.ndarray, x_cost: np.ndarray, station_rows: list[tuple[int, int, int]], rules: TopicRules
           ) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    n_v, n_x, n_ts = len(v_topic), len(x_v), len(station_rows)
    if n_v == 0:
        return np.zeros(0, bool), np.zeros(0, bool), {"objective": 0.0, "variables": 0.0, "constraints": 0.0,
                                                      "solve_seconds": 0.0, "solver_optimal": 1.0}
    ts_index = {(ti, s): k for k, (ti, s, _) in enumerate(station_rows)}
    v_ts = np.array([ts_index[(t, s)] for t, s in zip(v_topic, v_s)], dtype=np.int64)
    day_ord = np.array([d.toordinal() for d in v_day], dtype=np.int64)
    team = float(rules.team_size)
    big_miss = 10.0 * team * (float(x_cost.max(initial=0.0)) + 100.0) * 10
    big_short = big_miss / (10 * team)
    # columns: v (n_v) | x (n_x) | miss (n_ts) | short (n_v)
    c = np.concatenate([0.01 * v_rank, x_cost, np.full(n_ts, big_miss), np.full(n_v, big_short)])
    lo = np.zeros(len(c))
    hi = np.concatenate([np.ones(n_v + n_x + n_ts), np.full(n_v, team)])
    integer = np.concatenate([np.ones(n_v + n_x, bool), np.zeros(n_ts + n_v, bool)])
    rows, cols, vals, rlo, rhi = [], [], [], [], []
    r = 0

    def block(rr: np.ndarray, cc: np.ndarray, vv: np.ndarray | float) -> None:
        rows.append(rr)
        cols.append(cc)
        vals.append(np.broadcast_to(np.asarray(vv, float), rr.shape))

    # (1) each topic-station: sum_t v + miss = 1
    block(r + v_ts, np.arange(n_v), 1.0)
    block(r + np.arange(n_ts), n_v + n_x + np.arange(n_ts), 1.0)
    rlo.append(np.ones(n_ts)); rhi.append(np.ones(n_ts)); r += n_ts
    # (2) at least one deputy on a visit: sum_d x - v >= 0 ; (3) team: sum_d x + short - team v >= 0 ; sum x <= team v
    for kind in ("one", "team", "cap"):
        block(r + x_v, n_v + np.arange(n_x), 1.0)
        coef = {"one": -1.0, "team": -team, "cap": -team}[kind]
        block(r + np.arange(n_v), np.arange(n_v), coef)
        if kind == "team":
            block(r + np.arange(n_v), n_v + n_x + n_ts + np.arange(n_v), 1.0)
        if kind == "cap":
            rlo.append(np.full(n_v, -np.inf)); rhi.append(np.zeros(n_v))
        else:
            rlo.append(np.zeros(n_v)); rhi.append(np.full(n_v, np.inf))
        r += n_v
    # (4) a deputy on one visit a day; (5) a deputy at most max_visits_per_topic per topic; (6) a station one topic a day
    for keys, cap, on_x in (
        (x_d * 10_000_000 + day_ord[x_v], 1.0, True),
        (x_d * 10_000 + v_topic[x_v], float(rules.max_visits_per_topic), True),
        (v_s * 10_000_000 + day_ord, 1.0, False),
    ):
        u, inv, cnt = np.unique(keys, return_inverse=True, return_counts=True)
        need = cnt[inv] >= 2 if cap == 1.0 else cnt[inv] > cap
        if not need.any():
            continue
        rowmap = np.full(len(u), -1, dtype=np.int64)
        sel = np.unique(inv[need])
        rowmap[sel] = np.arange(len(sel))
        idx = np.flatnonzero(need)
        block(r + rowmap[inv[idx]], (n_v + idx) if on_x else idx, 1.0)
        rlo.append(np.full(len(sel), -np.inf)); rhi.append(np.full(len(sel), cap)); r += len(sel)
    A = sp.csr_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(r, len(c)))
    t0 = time.perf_counter()
    x, obj, bound, status = run_highs(c, lo, hi, A, np.concatenate(rlo), np.concatenate(rhi), integer, False,
                                      rules.time_limit)
    if x is None:
        raise InputError(f"topics: HiGHS found no visit plan ({status}); raise time_limit")
    figures = {"objective": round(float(obj), 3), "bound": round(float(bound), 3), "variables": float(len(c)),
               "constraints": float(r), "solve_seconds": round(time.perf_counter() - t0, 3),
               "solver_optimal": float(status == "optimal")}
    return x[:n_v] > 0.5, x[n_v:n_v + n_x] > 0.5, figures


def _result(topics: pd.DataFrame, committees: dict[str, str], net: Network, station_rows: list[tuple[int, int, int]],
            v_topic: np.ndarray, v_s: np.ndarray, v_day: list[dt.date], chosen_v: np.ndarray, x_v: np.ndarray,
            x_d: np.ndarray, x_match: np.ndarray, chosen_x: np.ndarray, unmet: list[Unmet],
            figures: dict[str, float], notes: list[str], rules: TopicRules, t0: float) -> VisitPlan:
    st, dep = net.stations, net.deputies
    xv, xd, xm = x_v[chosen_x], x_d[chosen_x], x_match[chosen_x]
    s_of = v_s[xv]
    t_of = v_topic[xv]
    T = topics.reset_index(drop=True)
    visits = pd.DataFrame({
        "topic_id": T["id"].to_numpy()[t_of], "committee_id": T["committee_id"].to_numpy()[t_of],
        "committee_name": T["committee_id"].map(committees).to_numpy()[t_of], "title": T["title"].to_numpy()[t_of],
        "deliberation_date": T["deliberation_date"].to_numpy()[t_of],
        "date": np.array(v_day, dtype=object)[xv] if len(xv) else np.array([], dtype=object),
        "start": rules.start, "end": rules.end,
        "station_id": st["id"].to_numpy()[s_of], "station_name": st["name"].to_numpy()[s_of],
        "tier": st["tier"].to_numpy()[s_of], "town_code": st["town_code"].to_numpy()[s_of],
        "town_name": st["town_name"].to_numpy()[s_of], "county_code": st["county_code"].to_numpy()[s_of],
        "county_name": st["county_name"].to_numpy()[s_of], "deputy_id": dep["id"].to_numpy()[xd],
        "group_id": dep["group_id"].to_numpy()[xd], "deputy_sector": dep["sector"].to_numpy()[xd],
        "sector_match": xm, "distance_m": np.round(distances_m(net, xd, s_of), 1), "_s": s_of,
    }).sort_values(["topic_id", "date", "station_id", "deputy_id"], kind="stable").reset_index(drop=True)
    geom = st.geometry.to_numpy()[visits.pop("_s").to_numpy().astype(int)]
    visits_gdf = gpd.GeoDataFrame(visits, geometry=list(geom), crs=STORAGE_CRS)

    team_n = np.bincount(xv, minlength=len(v_topic))
    rows: list[tuple[Any, ...]] = []
    for ti, s, n_days in station_rows:
        hit = np.flatnonzero(chosen_v & (v_topic == ti) & (v_s == s))
        tid, sid = str(T["id"].iat[ti]), str(st["id"].iat[s])
        if len(hit):
            k = int(hit[0])
            short = max(rules.team_size - int(team_n[k]), 0)
            rows.append((tid, sid, str(st["name"].iat[s]), str(st["county_code"].iat[s]), True, v_day[k],
                         int(team_n[k]), short))
            if short:
                unmet.append(Unmet("topic_team_size", f"{tid} {sid} {v_day[k]}", float(short),
                                   f"{int(team_n[k])} of {rules.team_size} deputies free that day"))
        else:
            rows.append((tid, sid, str(st["name"].iat[s]), str(st["county_code"].iat[s]), False, None, 0,
                         rules.team_size))
            why = ("no working day in the window outside the station's reception days" if n_days == 0 else
                   f"{n_days} candidate day(s), but the groups' deputies are busy (reception duty, other visits, "
                   "unavailability)")
            unmet.append(Unmet("topic_station_visited", f"{tid} {sid}", 1.0, why))
    stations = pd.DataFrame(rows, columns=["topic_id", "station_id", "station_name", "county_code", "visited", "date",
                                           "deputies", "short"])
    order = {r: i for i, r in enumerate(RULES_CHECKED)}
    unmet.sort(key=lambda u: (order[u.rule], u.where))
    n_ts = len(stations)
    metrics = {
        "topics": float(len(T)),
        "topic_stations": float(n_ts),
        "stations_visited": float(stations["visited"].sum()) if n_ts else 0.0,
        "visit_share": round(float(stations["visited"].mean()), 4) if n_ts else 1.0,
        "visits": float(int(chosen_v.sum())),
        "deputy_visits": float(len(visits)),
        "distinct_deputies": float(visits["deputy_id"].nunique()),
        "sector_match_share": round(float(visits["sector_match"].mean()), 4) if len(visits) else 1.0,
        "mean_distance_m": round(float(visits["distance_m"].mean()), 1) if len(visits) else 0.0,
        **figures,
        "unmet": float(len(unmet)),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return VisitPlan(topics=T, visits=visits_gdf, stations=stations, unmet=tuple(unmet), metrics=metrics,
                     notes=tuple(dict.fromkeys(notes)), rules=rules)


def unmet_from_records(rows: Iterable[dict[str, Any]]) -> tuple[Unmet, ...]:
    """Unmet rules back from their records (``VisitPlan.to_dict()["unmet"]``), e.g. from storage."""
    return tuple(Unmet(str(r["rule"]), str(r["where"]), float(r["amount"]), str(r["detail"])) for r in rows)
