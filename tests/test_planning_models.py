"""Issue 16 through Scenario, plan(), the reports and the CLI, on the tiny dataset."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from geoplan.cli import app
from geoplan.datasets import Dataset
from geoplan.exceptions import InputError
from geoplan.planning import RobustSpec, Scenario, fairness_report, plan, robust_report, site_certainty

BASE = {"budget": 3, "min_per_town": False}


def shares(p) -> np.ndarray:  # noqa: ANN001
    t = p.towns
    return t.loc[t["population"] > 0, "share_after"].to_numpy(float)


def test_town_floor_and_maxmin_through_plan(tiny_dataset: Dataset) -> None:
    plain = plan(tiny_dataset, Scenario(**BASE))
    floor = plan(tiny_dataset, Scenario(**BASE, min_town_share=0.7))
    assert shares(plain).min() < 0.7 and (shares(floor) >= 0.7 - 1e-9).all() and floor.metrics.status == "optimal"
    assert floor.metrics.objective <= plain.metrics.objective + 1e-9
    mm = plan(tiny_dataset, Scenario(**BASE, fair="maxmin"))
    assert shares(mm).min() >= shares(plain).min() - 1e-9 and shares(mm).min() >= shares(floor).min() - 1e-9
    rep = fairness_report(plain, mm)
    assert rep.price == pytest.approx(plain.metrics.objective - mm.metrics.objective)
    assert rep.price_low - 1e-9 <= rep.price <= rep.price_high + 1e-9
    assert rep.table.loc["fair plan", "min"] == pytest.approx(shares(mm).min())
    assert any("price of fairness" in line for line in rep.lines())


def test_an_impossible_floor_names_the_towns(tiny_dataset: Dataset) -> None:
    with pytest.raises(InputError, match=r"min_town_share: .*town\(s\) cannot reach 100%|needs at least"):
        plan(tiny_dataset, Scenario(**(BASE | {"budget": 1}), min_town_share=1.0))


def test_robust_plan_and_regret_table(tiny_dataset: Dataset) -> None:
    spec = RobustSpec(k=4, seed=1, objective="worst")
    p = plan(tiny_dataset, Scenario(**BASE, robust=spec))
    assert p.metrics.status == "optimal" and "max-min over scenarios" in p.metrics.solver
    table = robust_report(tiny_dataset, Scenario(**BASE, robust=spec))
    assert list(table.index) == ["today's maximal coverage", "worst-case", "expected", "min-max regret"]
    assert table.loc["worst-case", "worst coverage"] == pytest.approx(p.metrics.objective)
    assert table.loc["min-max regret", "max regret"] <= table["max regret"].min() + 1e-9
    own = RobustSpec(town_factors=({"T1": 1.5, "T3": 0.5},))
    assert plan(tiny_dataset, Scenario(**BASE, robust=own)).metrics.n_open == 3
    with pytest.raises(InputError, match="town_factors.0: unknown town code"):
        plan(tiny_dataset, Scenario(**BASE, robust=RobustSpec(town_factors=({"NOPE": 2.0},))))


def test_site_certainty_names_venues(tiny_dataset: Dataset) -> None:
    sites, force, info = site_certainty(tiny_dataset, Scenario(**BASE), n_plans=3, tolerance=0.05, exact_force=2)
    p = plan(tiny_dataset, Scenario(**BASE))
    assert set(sites["site_id"]) == set(p.opened["site_id"])
    assert set(sites["kind"]) <= {"firm", "swappable", "only-one"} and info["certified"]
    assert (force["force_low"] <= force["force_high"] + 1e-9).all() and force["exact"].sum() == 2
    assert not set(force["site_id"]) & set(sites["site_id"])


def test_scenario_takes_one_objective_and_round_trips() -> None:
    with pytest.raises(ValidationError, match="choose one"):
        Scenario(min_town_share=0.5, robust=RobustSpec())
    with pytest.raises(ValidationError, match="rural_decline"):
        RobustSpec(rural_decline=(0.5, 1.5))
    s = Scenario(robust=RobustSpec(k=3, town_factors=({"T1": 1.2},)))
    assert Scenario.model_validate_json(s.model_dump_json()) == s


def test_cli_prints_what_each_costs_and_gains(tmp_path: Path, tiny_dataset: Dataset) -> None:
    gpkg = tiny_dataset.save(tmp_path / "tiny.gpkg")
    sc = tmp_path / "sc.json"
    sc.write_text(json.dumps({k: v for k, v in BASE.items() if k != "budget"}))
    robust = tmp_path / "robust.json"
    robust.write_text(json.dumps({"k": 3, "objective": "regret"}))
    run = lambda *a: CliRunner().invoke(app, [str(x) for x in a])  # noqa: E731
    r = run("plan", "--dataset", gpkg, "-s", sc, "--budget", 3, "--min-town-share", 0.7, "--out", tmp_path / "f")
    assert r.exit_code == 0, r.output
    assert "price of fairness" in r.output and "fair plan" in r.output
    r = run("plan", "--dataset", gpkg, "-s", sc, "--budget", 3, "--fair", "maxmin", "--out", tmp_path / "m")
    assert r.exit_code == 0 and "price of fairness" in r.output, r.output
    r = run("plan", "--dataset", gpkg, "-s", sc, "--budget", 3, "--robust", robust, "--out", tmp_path / "r")
    assert r.exit_code == 0 and "Regret over 3 demand scenarios" in r.output, r.output
    assert len(pd.read_csv(tmp_path / "r" / "regret.csv")) == 4
    r = run("plan", "--dataset", gpkg, "-s", sc, "--budget", 3, "--alternatives", 3, "--out", tmp_path / "a")
    assert r.exit_code == 0 and "How sure each new point is" in r.output, r.output
    assert set(pd.read_csv(tmp_path / "a" / "site_certainty.csv")["kind"]) <= {"firm", "swappable", "only-one"}
    r = run("plan", "--dataset", gpkg, "--min-town-share", 0.5, "--fair", "maxmin", "--out", tmp_path / "x")
    assert r.exit_code == 2 and "choose one" in r.output
    r = run("plan", "--dataset", gpkg, "--robust", tmp_path / "missing.json", "--out", tmp_path / "x")
    assert r.exit_code == 2 and "robust: file not found" in r.output


# -- census scenarios through the planning layer ------------------------------------------------------
def test_census_generator_is_the_default_and_old_specs_keep_their_ranges() -> None:
    assert RobustSpec().generator == "census"
    assert RobustSpec.model_validate({"k": 4, "rural_decline": [0.1, 0.2]}).generator == "ranges"
    assert RobustSpec.model_validate({"generator": "census", "urban_growth": [0, 0.1]}).generator == "census"
    s = Scenario(robust=RobustSpec(k=3))
    assert Scenario.model_validate_json(s.model_dump_json()) == s
    with pytest.raises(ValidationError, match="pace"):
        RobustSpec(pace=(2.0, 1.0))


def test_census_scenarios_use_each_countys_rates(tiny_dataset: Dataset) -> None:
    from geoplan.optimize.robust import census_trend_rates
    from geoplan.planning import census_trend, planning_inputs
    from geoplan.planning.models import scenario_weights

    inp = planning_inputs(tiny_dataset)
    # the tiny dataset has no census columns nor classes: streets are urban, counted from the villages
    assert (inp.demand_urban == (tiny_dataset.demand["town_code"] == "T1").to_numpy()).all()
    t = census_trend(inp)
    urban = [inp.pop[inp.demand_urban & (inp.demand_county == c)].sum() for c in range(2)]
    rural = [inp.pop[~inp.demand_urban & (inp.demand_county == c)].sum() for c in range(2)]
    g, d = census_trend_rates(urban, rural)
    assert t["urban_2020"].tolist() == urban and t["urban_growth"].tolist() == pytest.approx(g.tolist())
    W = scenario_weights(inp, RobustSpec(k=6, seed=2, noise=0.0))
    assert W.shape == (6, len(inp.pop)) and (W[0] == inp.pop).all()
    rate = np.where(inp.demand_urban, g[inp.demand_county], -d[inp.demand_county])
    pace = np.log(W[1:] / inp.pop) / (5 * np.log1p(rate))  # one pace per scenario, the same everywhere
    assert np.allclose(pace, pace[:, :1]) and ((pace >= 0.5 - 1e-9) & (pace <= 1.5 + 1e-9)).all()
    # NBS classes win over the town kind where they are valid; the census columns over the villages
    demand = tiny_dataset.demand.assign(ur_code=["220", "111"] * 19 + ["bad", None])
    counties = tiny_dataset.counties.assign(urban_population=[1000.0, 2000.0], rural_population=[3000.0, 0.0])
    inp2 = planning_inputs(tiny_dataset.replace(demand=demand, counties=counties))
    assert (inp2.demand_urban[:38] == np.tile([False, True], 19)).all()
    assert (inp2.demand_urban[38:] == inp.demand_urban[38:]).all()  # fallback: the town's kind
    t2 = census_trend(inp2)
    assert t2["urban_2020"].tolist() == [1000.0, 2000.0] and t2["rural_decline"].iloc[1] == 0.0


def test_metrics_carry_the_price_of_fairness_the_regret_and_the_firm_sites(tiny_dataset: Dataset) -> None:
    plain = plan(tiny_dataset, Scenario(**BASE, solver="exact"))
    assert np.isnan(plain.metrics.fairness_price) and np.isnan(plain.metrics.robust_max_regret)
    assert np.isnan(plain.metrics.sites_firm)
    fair = plan(tiny_dataset, Scenario(**BASE, min_town_share=0.7))
    m = fair.metrics
    assert m.fairness_price == pytest.approx(plain.metrics.objective - m.objective)
    assert m.fairness_price_low - 1e-9 <= m.fairness_price <= m.fairness_price_high + 1e-9 and m.fairness_price > 0
    spec = RobustSpec(k=4, seed=1, objective="worst")
    rob = plan(tiny_dataset, Scenario(**BASE, robust=spec))
    table = robust_report(tiny_dataset, Scenario(**BASE, robust=spec))
    r = rob.metrics
    assert r.robust_scenarios == 4 and r.robust_worst_coverage == pytest.approx(r.objective)
    for metric, col in (("robust_max_regret", "max regret"), ("robust_mean_regret", "mean regret"),
                        ("robust_max_regret_bound", "max regret ≤"), ("robust_expected_coverage", "expected coverage")):
        assert getattr(r, metric) == pytest.approx(table.loc["worst-case", col]), metric
    sites, _, info = site_certainty(tiny_dataset, Scenario(**BASE), n_plans=3, tolerance=0.05, exact_force=0)
    alt = plan(tiny_dataset, Scenario(**BASE, alternatives=3, alternatives_tolerance=0.05)).metrics
    kinds = sites["kind"].value_counts()
    assert (alt.sites_firm, alt.sites_swappable, alt.sites_only_one) == (
        kinds.get("firm", 0), kinds.get("swappable", 0), kinds.get("only-one", 0))
    assert alt.alternatives_plans == info["plans"] and alt.sites_firm + alt.sites_swappable + alt.sites_only_one == 3
    # the API's JSON (NaN as null) reads back
    from geoplan.planning import PlanMetrics

    served = {k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in plain.metrics.to_dict().items()}
    assert PlanMetrics.from_dict(served) == plain.metrics


def test_cli_robust_census_and_the_access_line(tmp_path: Path, tiny_dataset: Dataset) -> None:
    from geoplan.planning import Plan

    gpkg = tiny_dataset.save(tmp_path / "tiny.gpkg")
    run = lambda *a: CliRunner().invoke(app, [str(x) for x in a])  # noqa: E731
    r = run("plan", "--dataset", gpkg, "--budget", 3, "--robust", "census", "--alternatives", 2, "--out", tmp_path / "c")
    assert r.exit_code == 0, r.output
    assert "Regret over 10 demand scenarios" in r.output and "代表可达性 access to deputies" in r.output
    saved = Plan.load(tmp_path / "c" / "plan.gpkg")
    assert saved.scenario.robust is not None and saved.scenario.robust.generator == "census"
    assert saved.metrics.robust_scenarios == 10 and saved.scenario.alternatives == 2
    assert saved.metrics.sites_firm + saved.metrics.sites_swappable + saved.metrics.sites_only_one == 3
    assert f"{saved.metrics.access_median_after:.2f}" in r.output
