"""Opinions as a library: corpus, suggester, routing table, import, life cycle, overdue, the
synthetic year, quarterly reports (with a PDF that embeds its CJK font) and the planning weights."""
from __future__ import annotations

import datetime as dt
import doctest
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from geoplan.datasets import Dataset
from geoplan.exceptions import InputError
from geoplan.operations import (
    _opinion_helpers,
    classifier,
    opinion_corpus,
    opinion_reports,
    opinion_synth,
    opinions,
    planning_weights,
    routing,
)
from geoplan.operations._opinion_helpers import ImportRowsError, add_workdays, quarter_bounds
from geoplan.operations.classifier import evaluate, load_suggester, train
from geoplan.operations.opinion_corpus import CORPUS_PATH, generate_corpus, load_corpus
from geoplan.operations.opinion_reports import quarterly_report, status_on
from geoplan.operations.opinion_synth import load_year, synthesize_year
from geoplan.operations.opinions import (
    check_transition,
    export_opinions,
    flag_overdue,
    next_level,
    read_opinions,
    read_store,
    unresolved_by_town,
)
from geoplan.operations.planning_weights import opinion_weights, station_performance
from geoplan.operations.routing import DEFAULT_RULES, read_rules, route, rules_frame
from geoplan.operations.workdays import WorkdayCalendar
from geoplan.settings import BUNDLED_DATASET


@pytest.fixture(scope="module")
def yancheng() -> Dataset:
    return Dataset.load(BUNDLED_DATASET)


@pytest.mark.parametrize("module", [_opinion_helpers, classifier, opinion_corpus, opinion_reports, opinion_synth,
                                    opinions, routing, planning_weights])
def test_doctests(module: object) -> None:
    assert doctest.testmod(module).failed == 0  # type: ignore[arg-type]


# -- corpus and suggester ----------------------------------------------------------------------------
def test_bundled_corpus_is_the_seeded_generator_output() -> None:
    committed = load_corpus()
    assert len(committed) >= 1500 and committed["category"].nunique() == 10 and committed["level"].nunique() == 4
    assert not committed["text"].duplicated().any()
    pd.testing.assert_frame_equal(committed, generate_corpus())
    assert CORPUS_PATH.read_text(encoding="utf-8").startswith("text,category,level\n")


def test_suggester_scores_well_held_out_and_round_trips(tmp_path: Path) -> None:
    corpus = generate_corpus(n_per_category=60, seed=7)
    ev = evaluate(corpus, seed=0)
    assert ev.category_accuracy > 0.85 and ev.level_accuracy > 0.7
    assert int(ev.category_confusion.to_numpy().sum()) == ev.n_test == 150
    model = train(corpus)
    texts = ["医保异地结算政策落实难，建议从制度上完善。", "村后的河沟水发黑发臭，希望镇上协调。"]
    got = model.suggest(texts)
    assert got["suggested_category"].tolist() == ["medical", "environment"]
    assert got["suggested_level"].tolist()[0] == "policy"
    again = load_suggester(model.save(tmp_path / "m.joblib")).suggest(texts)
    pd.testing.assert_frame_equal(got, again)
    pd.testing.assert_frame_equal(got, train(corpus).suggest(texts))  # deterministic
    with pytest.raises(InputError, match="category"):
        train(corpus.assign(category="weather"))
    (tmp_path / "junk.joblib").write_bytes(b"nope")
    with pytest.raises(InputError, match="junk.joblib"):
        load_suggester(tmp_path / "junk.joblib")


# -- working days and routing --------------------------------------------------------------------
def test_vectorised_workdays_match_the_calendar_also_in_a_fallback_year() -> None:
    cal = WorkdayCalendar()
    rng = np.random.default_rng(0)
    days = np.datetime64("2026-01-01") + rng.integers(0, 700, 200).astype("timedelta64[D]")
    n = rng.integers(0, 40, 200)
    got = add_workdays(cal, days, n)
    want = [cal.add_workdays(d.astype(object), int(k)) for d, k in zip(days, n)]
    assert [g.astype(object) for g in got] == want


def test_routing_by_level_with_deadlines_batches_and_calendar_notes(yancheng: Dataset) -> None:
    town = yancheng.towns.iloc[0]
    ops = pd.DataFrame({"id": list("abcde"), "town_code": [town["code"]] * 5,
                        "category": ["transport", "public_safety", "housing", "education", "medical"],
                        "level": ["town", "town", "county", "city", "policy"],
                        "received_on": [dt.date(2026, 9, 28)] * 4 + [dt.date(2026, 11, 20)]})
    r = route(ops, DEFAULT_RULES, yancheng.towns, yancheng.counties)
    f = r.frame.set_index("id")
    cal = WorkdayCalendar()
    assert f.loc["a", "deadline"] == cal.add_workdays(dt.date(2026, 9, 28), 20)
    assert f.loc["b", "deadline"] == cal.add_workdays(dt.date(2026, 9, 28), 5)     # safety: the category row wins
    assert f.loc["c", "assigned_unit_code"] == town["county_code"] and f.loc["c", "track"] == "office"
    assert f.loc["d", "track"] == "city_batch" and f.loc["d", "batch"] == "2026Q3"
    assert f.loc["d", "deadline"] == cal.add_workdays(dt.date(2026, 9, 30), 60)
    assert f.loc["e", "track"] == "policy_report" and f.loc["e", "batch"] == "2026Q4"
    # the Q4 report is due in January 2027, a year chinese-calendar does not know: the notes say so
    assert f.loc["e", "deadline"].year == 2027 and any(n.startswith("2027") for n in r.notes)
    with pytest.raises(InputError, match="confirmed by a person"):
        route(ops.assign(level=[None, "town", "town", "town", "town"]), DEFAULT_RULES, yancheng.towns,
              yancheng.counties)


def test_rule_table_round_trips_and_bad_rows_are_named(tmp_path: Path) -> None:
    p = tmp_path / "rules.csv"
    rules_frame(DEFAULT_RULES).to_csv(p, index=False)
    assert read_rules(p) == DEFAULT_RULES
    j = tmp_path / "rules.json"
    j.write_text(json.dumps([r.model_dump() for r in DEFAULT_RULES.rules]), encoding="utf-8")
    assert read_rules(j) == DEFAULT_RULES
    bad = rules_frame(DEFAULT_RULES).astype(str)
    bad.loc[0, "deadline_workdays"] = "0"
    bad.loc[1, "track"] = "fax"
    bad.loc[2, "unit"] = "{mayor}"
    bad.to_csv(p, index=False)
    with pytest.raises(ImportRowsError) as exc:
        read_rules(p)
    assert {(x.row, x.field) for x in exc.value.problems} >= {(2, "deadline_workdays"), (3, "track"), (4, "unit")}
    rules_frame(DEFAULT_RULES).iloc[1:].to_csv(p, index=False)
    with pytest.raises(InputError, match="default row"):
        read_rules(p)


# -- records -------------------------------------------------------------------------------------
def test_import_is_all_or_nothing_and_never_echoes_a_contact(yancheng: Dataset) -> None:
    st = yancheng.stations.iloc[200]
    csv = ("received_on,station_id,channel,text,contact,category\n"
           f"2026-05-06,{st['id']},接待日,村口路灯坏了,secret-13800,道路交通\n"
           f"2026-05-06,{st['id']},接待日,村口路灯坏了,{'x' * 300},weather\n").encode()
    with pytest.raises(ImportRowsError) as exc:
        read_opinions(csv, yancheng.towns, yancheng.stations, name="may.csv")
    assert [(p.row, p.field) for p in exc.value.problems] == [(3, "contact"), (3, "category")]
    assert "xxxx" not in str(exc.value) and "secret" not in str(exc.value)
    df = read_opinions(csv.rsplit(b"\n", 2)[0] + b"\n", yancheng.towns, yancheng.stations, name="may.csv")
    assert df.loc[0, "town_code"] == st["town_code"] and df.loc[0, "category"] == "transport"
    # only the category was given: confirmation needs category and level both
    assert df.loc[0, "confirmed_by"] is None and df.loc[0, "contact"] == "secret-13800"


def test_exports_never_carry_the_contact(tmp_path: Path, yancheng: Dataset) -> None:
    csv = f"received_on,town_code,channel,text,contact\n2026-05-06,{yancheng.towns['code'].iloc[0]},hotline,x,secret-1\n"
    df = read_opinions(csv.encode(), yancheng.towns, name="a.csv")
    p = export_opinions(df, tmp_path / "out.csv")
    assert "secret-1" not in p.read_text(encoding="utf-8") and "contact" not in p.read_text(encoding="utf-8")
    back = read_store(p)
    assert back.loc[0, "received_on"] == dt.date(2026, 5, 6) and "contact" not in back.columns


def test_life_cycle_and_overdue_flags() -> None:
    check_transition("received", "assigned")
    check_transition("answered", "in_progress")
    for a, b in [("received", "closed"), ("closed", "in_progress"), ("assigned", "received")]:
        with pytest.raises(InputError, match=f"from {a} to {b}"):
            check_transition(a, b)
    assert [next_level(x) for x in ("town", "county", "city")] == ["county", "city", "policy"]
    with pytest.raises(InputError):
        next_level("policy")
    df = pd.DataFrame({"status": ["in_progress", "answered", "closed", "assigned"],
                       "received_on": [dt.date(2026, 3, 2)] * 4,
                       "deadline": [dt.date(2026, 3, 30)] * 3 + [None],
                       "answered_on": [None, dt.date(2026, 3, 20), dt.date(2026, 4, 2), None]})
    f = flag_overdue(df, as_of=dt.date(2026, 4, 3), calendar=WorkdayCalendar())
    assert f["overdue"].tolist() == [True, False, False, False]
    assert f["answered_on_time"].tolist() == [None, True, False, None]
    assert f["workdays_overdue"].tolist()[0] == 4  # 31 Mar – 3 Apr and f["days_to_answer"].tolist()[1] == 18


# -- the bundled year and its reports -----------------------------------------------------------------
def test_bundled_year_is_reproducible(yancheng: Dataset) -> None:
    fresh = synthesize_year(yancheng)
    year = load_year()
    assert len(year.opinions) == len(fresh.opinions) > 2000
    cols = ["id", "received_on", "town_code", "category", "level", "status", "deadline", "answered_on"]
    pd.testing.assert_frame_equal(year.opinions[cols].astype(str), fresh.opinions[cols].astype(str))
    pd.testing.assert_frame_equal(year.checklist.astype(str), fresh.checklist.astype(str))
    assert year.reception_days["reception_days"].tolist() == fresh.reception_days["reception_days"].tolist()
    assert set(year.opinions["status"]) >= {"assigned", "in_progress", "answered", "closed"}
    assert set(year.opinions["track"].dropna()) == {"office", "city_batch", "policy_report"}


def test_status_on_a_day_rewinds_answers() -> None:
    df = pd.DataFrame({"status": ["closed", "closed"], "received_on": [dt.date(2026, 1, 5), dt.date(2026, 5, 5)],
                       "answered_on": [dt.date(2026, 3, 1)] * 2, "closed_on": [dt.date(2026, 4, 1)] * 2})
    assert status_on(df, dt.date(2026, 2, 1)).tolist() == ["in_progress", None]
    assert status_on(df, dt.date(2026, 3, 15)).tolist() == ["answered", None]


def test_city_and_county_reports_of_the_bundled_year(tmp_path: Path, yancheng: Dataset) -> None:
    ops = load_year().opinions
    city = quarterly_report(ops, yancheng, "2026Q2")
    q0, q1 = quarter_bounds("2026Q2")
    inq = ops[(pd.to_datetime(ops["received_on"]) >= pd.Timestamp(q0)) & (pd.to_datetime(ops["received_on"]) <= pd.Timestamp(q1))]
    assert city.received == len(inq) == int(city.by_category["count"].sum()) == int(city.by_level["count"].sum())
    assert len(city.city_batch) == int(((ops["batch"] == "2026Q2") & (ops["track"] == "city_batch")).sum())
    assert len(city.hotspots) == len(yancheng.towns) and city.hotspots["unresolved_per_10k"].is_monotonic_decreasing
    assert city.median_days_to_answer > 0 and len(city.overdue) > 0 and "体制机制" in city.policy_draft
    county = yancheng.counties["code"].iloc[3]
    rep = quarterly_report(ops, yancheng, "2026Q2", county=county)
    assert rep.received == int((inq["county_code"] == county).sum()) and rep.received < city.received
    assert set(rep.hotspots["county_code"]) == {county}
    md = rep.to_markdown(charts_dir=tmp_path / "charts")
    assert "## 市级季度交办批次清单" in md and (tmp_path / "charts" / "hotspots.png").stat().st_size > 1000
    html = rep.to_html()
    assert html.count("data:image/png;base64,") == 4 and "<script" not in html and "https://" not in html
    pdf = rep.to_pdf(tmp_path / "r.pdf")
    assert pdf.read_bytes().startswith(b"%PDF")
    assert shutil.which("pdffonts"), "poppler-utils (pdffonts) is installed by .ci/run"
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = [ln.split() for ln in fonts.splitlines()[2:]]
    assert rows and all("WenQuanYi" in r[0] or "Noto" in r[0] for r in rows)
    assert all("yes" == r[-5] for r in rows)  # the emb column: every font embedded
    with pytest.raises(InputError, match="unknown county"):
        quarterly_report(ops, yancheng, "2026Q2", county="999999")


def test_a_font_installed_after_matplotlib_cached_its_list_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    """The missing-font error asks the user to install one; matplotlib's cached font list
    predates it, so the lookup must scan the system fonts again rather than repeat the error."""
    from matplotlib import font_manager as fm

    def stale(*args: object, **kwargs: object) -> str:
        raise ValueError("not in the cached list")

    monkeypatch.setattr(fm.fontManager, "findfont", stale)
    path = opinion_reports.cjk_font_path()
    assert Path(path).is_file() and ("wqy" in path.lower() or "noto" in path.lower())


# -- planning weights -------------------------------------------------------------------------------
def test_opinion_weights_follow_unresolved_opinions_per_head() -> None:
    codes = np.array(["A", "A", "B", "C"])
    pop = np.array([100.0, 300.0, 400.0, 200.0])
    unresolved = pd.Series({"A": 8, "B": 2})
    assert (opinion_weights(codes, pop, unresolved, 0.0) == 1).all()
    w = opinion_weights(codes, pop, unresolved, 1.0)
    # rates per head: A 0.02, B 0.005, C 0; population-weighted mean 0.01
    np.testing.assert_allclose(w, [3.0, 3.0, 1.5, 1.0])
    np.testing.assert_allclose(opinion_weights(codes, pop, unresolved, 2.0), [5.0, 5.0, 2.0, 1.0])
    assert (opinion_weights(codes, pop, pd.Series(dtype=float), 3.0) == 1).all()
    with pytest.raises(InputError, match="opinion_weight"):
        opinion_weights(codes, pop, unresolved, -1.0)


def test_unresolved_by_town_of_the_bundled_year_is_concentrated() -> None:
    u = unresolved_by_town(load_year().opinions)
    assert u.sum() > 300 and u.max() > 5 * u.median()


def test_station_performance_says_why() -> None:
    s = pd.DataFrame({"station_id": ["A", "B"], "score": [95.0, 35.0], "rating": ["five_good", "needs_work"],
                      "reception_days": [12, 1], "opinions": [9, 0], "on_time_share": [1.0, 0.0],
                      "items_in_place": [8, 5], "gaps": ["", "有制度、有台账、有网络平台"]})
    p = station_performance(s)
    assert p["poor"].tolist() == [False, True]
    assert p.loc[0, "reason"].startswith("作用发挥好（五好站点）") and "八有齐全" in p.loc[0, "reason"]
    assert p.loc[1, "reason"].startswith("作用发挥不充分") and "接待日 1 天" in p.loc[1, "reason"]
