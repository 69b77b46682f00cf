"""A synthesized, reproducible year of opinions and checklist states for a dataset — synthetic.

Nothing here is observed. From the dataset (towns, populations, stations) and one seed:

* **opinions** — a Poisson number per town, proportional to population, with a few *pressure*
  towns (``hotspot_share`` of the towns) receiving ``hotspot_factor`` times as many and answering
  fewer in time. Texts come from the corpus generator with a different seed than the bundled
  training corpus (so the classifier is not tested on its own training texts), levels and
  categories are the generator's labels, taken as confirmed. Each opinion is confirmed 0–3
  working days after receipt, routed with :data:`~geoplan.operations.routing.DEFAULT_RULES`,
  some town-level ones escalated to the county, and answered (or not yet) by the year's end;
* **checklist** — the eight haves for every active station, in place with a probability by tier,
  checked on a date in the year (a few checks from the previous year, now stale);
* **reception days** held by each active station in the year (Poisson by tier; a share of
  stations that "do not play their role" hold few).

``python -m geoplan.operations.opinion_synth`` writes ``data/opinions/opinions_2026.csv``,
``data/standards/checklist_2026.csv`` and ``data/standards/reception_days_2026.csv``.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from geoplan.datasets import Dataset
from geoplan.operations._opinion_helpers import add_workdays
from geoplan.operations.opinion_corpus import generate_corpus
from geoplan.operations.opinions import COLUMNS, read_store
from geoplan.operations.routing import DEFAULT_RULES, route
from geoplan.operations.standards import CHECK_COLUMNS, ITEMS
from geoplan.operations.workdays import WorkdayCalendar

__all__ = ["DATA_DIR", "SyntheticYear", "load_year", "synthesize_year", "write_year"]

DATA_DIR = Path(__file__).resolve().parents[2] / "data"
DEFAULT_SEED = 20261231
_EVIDENCE = {"venue": "现场照片", "sign": "统一标识牌照片", "rules": "制度上墙照片", "plan": "年度工作计划文本",
             "records": "接待登记台账", "study": "学习资料目录", "equipment": "设备清单", "online": "平台账号截图"}


@dataclass(frozen=True)
class SyntheticYear:
    """The three synthesized tables."""

    opinions: pd.DataFrame
    checklist: pd.DataFrame
    reception_days: pd.DataFrame


def synthesize_year(dataset: Dataset, year: int = 2026, seed: int = DEFAULT_SEED, per_10k: float = 4.5,
                    hotspot_share: float = 0.1, hotspot_factor: float = 4.0,
                    calendar: WorkdayCalendar | None = None) -> SyntheticYear:
    """Synthesize a year of opinions, checklist states and reception days (see the module docstring).

    Examples
    --------
    >>> from geoplan.settings import BUNDLED_DATASET
    >>> y = synthesize_year(Dataset.load(BUNDLED_DATASET), per_10k=0.5)
    >>> bool(y.opinions["status"].isin(["answered", "closed"]).mean() > 0.5)
    True
    """
    calendar = calendar or WorkdayCalendar()
    rng = np.random.default_rng(seed)
    towns, demand, stations = dataset.towns, dataset.demand, dataset.stations
    counties = dataset.counties
    tcode = towns["code"].astype(str).to_numpy()
    pop = demand.groupby(demand["town_code"].astype(str))["population"].sum().reindex(tcode).fillna(0).to_numpy()
    hot = rng.random(len(tcode)) < hotspot_share
    lam = pop / 10_000 * per_10k * np.where(hot, hotspot_factor, 1.0)
    n_town = rng.poisson(lam)
    town_of = np.repeat(tcode, n_town)
    hot_of = np.repeat(hot, n_town)
    n = len(town_of)
    # received through the year; a little less in the Spring Festival weeks
    start = np.datetime64(f"{year}-01-01")
    days = (np.datetime64(f"{year + 1}-01-01") - start).astype(int)
    w = np.ones(days)
    w[30:50] = 0.4
    received = start + np.sort(rng.choice(days, size=n, p=w / w.sum())).astype("timedelta64[D]")
    rng.shuffle(town_of)  # dates were sorted; towns must not follow the sort order
    hot_of = np.isin(town_of, tcode[hot])
    pool = generate_corpus(n_per_category=max(60, n // 10 + 40), seed=seed)
    pick = rng.choice(len(pool), size=n, replace=len(pool) < n)
    text, category, level = (pool[c].to_numpy()[pick] for c in ("text", "category", "level"))
    # stations of the town; hotline/deputy opinions have none
    active = stations[stations["status"].astype(str) == "active"]
    by_town = active.groupby(active["town_code"].astype(str))["id"].apply(lambda s: np.sort(s.astype(str).to_numpy()))
    channels = np.array(["station_visit", "qr_portal", "reception_day", "hotline", "deputy"])
    channel = channels[rng.choice(5, size=n, p=[0.3, 0.25, 0.25, 0.1, 0.1])]
    u = rng.random(n)
    station = np.array([None if ch in ("hotline", "deputy") or t not in by_town.index
                        else by_town[t][int(x * len(by_town[t]))] for ch, t, x in zip(channel, town_of, u)],
                       dtype=object)
    routed = add_workdays(calendar, received, rng.integers(0, 4, size=n))
    # 6 % of town-level matters are escalated to the county 3–10 working days after routing
    esc = (level == "town") & (rng.random(n) < 0.06)
    esc_on = add_workdays(calendar, routed, rng.integers(3, 11, size=n))
    level = np.where(esc, "county", level)
    routed = np.where(esc, esc_on, routed)
    year_end = np.datetime64(f"{year}-12-31")
    ops = pd.DataFrame({"id": [f"OP{year}-{i + 1:05d}" for i in range(n)], "received_on": received,
                        "town_code": town_of, "category": category, "level": level, "routed_on": routed})
    r = route(ops, DEFAULT_RULES, towns, counties, calendar).frame
    deadline = r["deadline"].to_numpy(dtype="datetime64[D]")
    limit = np.array([DEFAULT_RULES.rule_for(lv, c).deadline_workdays for lv, c in zip(level, category)])
    # answered after a share of the allowed working days; late more often in pressure towns
    late = rng.random(n) < np.where(hot_of, 0.4, 0.1)
    frac = np.where(late, rng.uniform(1.05, 2.0, n), rng.uniform(0.2, 0.98, n))
    quarterly = r["track"].to_numpy() != "office"
    base = np.where(quarterly, deadline - limit.astype("timedelta64[D]") * 7 // 5, routed)  # ~ the quarter's end
    answered = add_workdays(calendar, base.astype("datetime64[D]"), np.maximum(1, (frac * limit).astype(int)))
    never = rng.random(n) < np.where(hot_of, 0.25, 0.03)  # stuck: not answered within the year
    answered_ok = (answered <= year_end) & ~never
    closed = add_workdays(calendar, answered, rng.integers(1, 12, size=n))
    closed_ok = answered_ok & (closed <= year_end) & (rng.random(n) < 0.85)
    in_prog = rng.random(n) < 0.7
    esc_open = esc & (esc_on > year_end - np.timedelta64(10, "D")) & ~answered_ok
    status = np.where(closed_ok, "closed", np.where(answered_ok, "answered",
                      np.where(esc_open, "escalated", np.where(in_prog, "in_progress", "assigned"))))

    def dates(a: np.ndarray, ok: np.ndarray) -> list[dt.date | None]:
        return [d.astype(object) if k else None for d, k in zip(a.astype("datetime64[D]"), ok)]

    out = pd.DataFrame({c: pd.Series([None] * n, dtype=object) for c in COLUMNS})
    out["id"] = r["id"]
    out["received_on"] = dates(received, np.ones(n, bool))
    out["station_id"] = station
    out["town_code"] = town_of
    out["county_code"] = r["county_code"]
    out["channel"] = channel
    out["text"] = text
    out["submitted_by"] = np.where(channel == "qr_portal", "portal", "synthetic")
    out["category"] = category
    out["level"] = level
    out["confirmed_by"] = "synthetic"
    out["status"] = status
    for c in ("track", "assigned_unit", "assigned_unit_code", "batch"):
        out[c] = r[c]
    out["routed_on"] = dates(routed, np.ones(n, bool))
    out["deadline"] = dates(deadline, np.ones(n, bool))
    out["answered_on"] = dates(answered, answered_ok)
    out["answer"] = np.where(answered_ok, ("已答复：" + out["assigned_unit"].astype(str) + "已研究办理并反馈。").to_numpy(),
                             np.array(None, dtype=object))
    out["closed_on"] = dates(closed, closed_ok)
    out.loc[status == "escalated", ["track", "assigned_unit", "assigned_unit_code", "batch", "deadline"]] = None
    out.loc[status == "escalated", "level"] = "town"  # waiting for a person to confirm the county level

    # checklist and reception days of every active station
    sid = np.sort(active["id"].astype(str).to_numpy())
    tier = active.set_index(active["id"].astype(str)).loc[sid, "tier"].astype(str).to_numpy()
    p_ok = np.select([tier == "home", tier == "station"], [0.98, 0.94], 0.88)
    weak = rng.random(len(sid)) < 0.15  # stations that "do not play their role"
    p_ok = np.where(weak, p_ok - 0.3, p_ok)
    items = np.array(list(ITEMS))
    ok = rng.random((len(sid), len(items))) < p_ok[:, None]
    day = start + rng.integers(0, days - 31, size=ok.shape).astype("timedelta64[D]")
    stale = rng.random(ok.shape) < 0.04
    day = np.where(stale, day - np.timedelta64(500, "D"), day)
    checklist = pd.DataFrame({
        "station_id": np.repeat(sid, len(items)), "item": np.tile(items, len(sid)), "ok": ok.ravel(),
        "checked_on": [d.astype(object) for d in day.ravel()],
        "evidence": np.where(ok.ravel(), [_EVIDENCE[i] for i in np.tile(items, len(sid))], "未见"),
    })[list(CHECK_COLUMNS)]
    mean_days = np.select([tier == "home", tier == "station"], [12.0, 9.0], 6.0)
    held = rng.poisson(np.where(weak, 1.5, mean_days))
    reception = pd.DataFrame({"station_id": sid, "reception_days": held})
    return SyntheticYear(opinions=out, checklist=checklist, reception_days=reception)


def write_year(year_data: SyntheticYear, data_dir: str | Path = DATA_DIR, year: int = 2026) -> list[Path]:
    """Write the three tables as UTF-8 CSV under ``data_dir`` (opinions/ and standards/)."""
    d = Path(data_dir)
    paths = [d / "opinions" / f"opinions_{year}.csv", d / "standards" / f"checklist_{year}.csv",
             d / "standards" / f"reception_days_{year}.csv"]
    for frame, path in zip((year_data.opinions, year_data.checklist, year_data.reception_days), paths):
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")
    return paths


def load_year(data_dir: str | Path = DATA_DIR, year: int = 2026) -> SyntheticYear:
    """Read the bundled year back (dates as ``datetime.date``, ``ok`` as bool)."""
    d = Path(data_dir)
    ops = read_store(d / "opinions" / f"opinions_{year}.csv")
    ck = pd.read_csv(d / "standards" / f"checklist_{year}.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    ck["ok"] = ck["ok"] == "True"
    ck["checked_on"] = [dt.date.fromisoformat(v) for v in ck["checked_on"]]
    rd = pd.read_csv(d / "standards" / f"reception_days_{year}.csv", dtype={"station_id": str, "reception_days": int})
    return SyntheticYear(opinions=ops, checklist=ck, reception_days=rd)


if __name__ == "__main__":  # python -m geoplan.operations.opinion_synth
    from geoplan.settings import BUNDLED_DATASET

    for p in write_year(synthesize_year(Dataset.load(BUNDLED_DATASET))):
        print(f"wrote {p}")
