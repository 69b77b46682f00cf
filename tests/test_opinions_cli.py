"""`geoplan opinions …` and `geoplan standards …` as an office runs them (CliRunner, real files)."""
from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pandas as pd
from typer.testing import CliRunner

from geoplan.cli import app
from geoplan.operations.opinion_corpus import generate_corpus

runner = CliRunner()


def run(*args: object):
    return runner.invoke(app, [str(a) for a in args])


def test_help_has_examples() -> None:
    for group, cmds in (("opinions", ("import", "route", "report", "train", "feedback")),
                        ("standards", ("import", "report"))):
        assert all(c in run(group, "--help").output for c in cmds)
        for c in cmds:
            assert "Example" in run(group, c, "--help").output


def test_import_route_and_train_on_an_office_history(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("received_on,station_id,channel,text\n2026-13-02,XX,foo,\n", encoding="utf-8")
    good = tmp_path / "good.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["received_on", "station_id", "channel", "text", "contact", "category", "level"])
    ws.append(["2026-11-02", "L0404", "接待日", "村口那段路坑洼不平，下雨天积水", "13800000000", "道路交通", "town"])
    ws.append(["2026-11-03", "L0404", "扫码（门户）", "小区楼道灯不亮，物业不管", None, None, None])
    wb.save(good)
    store = tmp_path / "store.csv"
    res = run("opinions", "import", good, bad, "--into", store)
    assert res.exit_code == 2 and not store.exists()
    assert "bad.csv row 2, field received_on" in res.output and "field channel" in res.output
    res = run("opinions", "import", good, "--into", store)
    assert res.exit_code == 0, res.output
    assert "13800000000" not in store.read_text(encoding="utf-8") and "not written" in res.output
    routed = tmp_path / "routed.csv"
    res = run("opinions", "route", store, "--on", "2026-11-05", "--out", routed, "--write-rules", tmp_path / "rules.csv")
    assert res.exit_code == 0, res.output
    df = pd.read_csv(routed, dtype=str, keep_default_na=False).set_index("id")
    first, second = df.loc["OP-20261102-0001"], df.loc["OP-20261103-0001"]
    assert first["status"] == "assigned" and first["deadline"] == "2026-12-03" and first["track"] == "office"
    # not confirmed: a suggestion, no routing
    assert second["status"] == "received" and second["deadline"] == "" and second["suggested_category"] == "housing"
    # the office edits its rules: a shorter town deadline
    rules = pd.read_csv(tmp_path / "rules.csv", keep_default_na=False)
    rules.loc[(rules["level"] == "town") & (rules["category"] == "*"), "deadline_workdays"] = 5
    rules.to_csv(tmp_path / "rules.csv", index=False)
    res = run("opinions", "route", store, "--on", "2026-11-05", "--rules", tmp_path / "rules.csv", "--out", routed)
    assert pd.read_csv(routed, dtype=str).set_index("id").loc["OP-20261102-0001", "deadline"] == "2026-11-12"
    (tmp_path / "rules.json").write_text(json.dumps([{"level": "town", "track": "fax"}]), encoding="utf-8")
    res = run("opinions", "route", store, "--rules", tmp_path / "rules.json", "--out", routed)
    assert res.exit_code == 2 and "rules.json row 2, field track" in res.output
    history = tmp_path / "history.csv"
    generate_corpus(n_per_category=40, seed=5).to_csv(history, index=False)
    res = run("opinions", "train", history, "--out", tmp_path / "m.joblib")
    assert res.exit_code == 0, res.output
    assert "category accuracy 0." in res.output and (tmp_path / "m.joblib").exists()
    res = run("opinions", "route", store, "--on", "2026-11-05", "--model", tmp_path / "m.joblib", "--out", routed)
    assert res.exit_code == 0, res.output


def test_report_of_the_bundled_year(tmp_path: Path) -> None:
    res = run("opinions", "report", "--quarter", "2026Q3", "--county", "320902", "--no-pdf", "-o", tmp_path)
    assert res.exit_code == 0, res.output
    md = (tmp_path / "opinions_2026Q3_320902.md").read_text(encoding="utf-8")
    assert md.startswith("# 亭湖区民情民意季度报告（2026Q3）") and "## 逾期未办结事项" in md
    hot = json.loads((tmp_path / "opinions_2026Q3_320902_hotspots.geojson").read_text(encoding="utf-8"))
    assert hot["features"] and all(f["properties"]["county_code"] == "320902" for f in hot["features"])
    assert run("opinions", "report", "--quarter", "2026Q9", "-o", tmp_path).exit_code == 2


def test_standards_import_and_report(tmp_path: Path) -> None:
    ck = tmp_path / "ck.csv"
    ck.write_text("station_id,item,ok,checked_on,evidence\nL0404,有场所,是,2026-03-01,照片\nL0404,garden,是,2026-03-01,\n",
                  encoding="utf-8")
    res = run("standards", "import", ck, "--into", tmp_path / "out.csv")
    assert res.exit_code == 2 and "ck.csv row 3, field item" in res.output
    ck.write_text("station_id,item,ok,checked_on,evidence\nL0404,有场所,是,2026-03-01,照片\n", encoding="utf-8")
    assert run("standards", "import", ck, "--into", tmp_path / "out.csv").exit_code == 0
    res = run("standards", "report", "--county", "320902", "-o", tmp_path)
    assert res.exit_code == 0, res.output
    league = pd.read_csv(tmp_path / "standards_320902_league.csv")
    assert (league["county_code"] == 320902).all() and league["rank"].iloc[0] == 1
    gaps = json.loads((tmp_path / "standards_320902_gaps.geojson").read_text(encoding="utf-8"))
    assert set(f["properties"]["id"] for f in gaps["features"]) <= set(league["station_id"])
    rule = tmp_path / "rule.json"
    rule.write_text(json.dumps({"meets_score": 101}), encoding="utf-8")
    assert run("standards", "report", "--rule", rule, "-o", tmp_path).exit_code == 2


def test_feedback_goes_into_a_scenario_file(tmp_path: Path) -> None:
    from geoplan.planning import Scenario

    s = tmp_path / "s.json"
    s.write_text(json.dumps({"name": "民情", "budget": 40}), encoding="utf-8")
    res = run("opinions", "feedback", "--into", s, "--weight", "3")
    assert res.exit_code == 0, res.output
    sc = Scenario.model_validate_json(s.read_text(encoding="utf-8"))
    assert sc.name == "民情" and sc.budget == 40 and sc.opinion_weight == 3
    assert len(sc.unresolved_opinions) > 50 and len(sc.station_performance) > 500
    assert run("opinions", "feedback", "--into", s, "--weight", "-1").exit_code == 2
