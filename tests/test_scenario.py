"""Tests of geoplan.scenario: Scenario, review, plan, Plan save/load, compare."""
from __future__ import annotations

import json
import math

import networkx as nx
import numpy as np
import pandas as pd
import pyogrio
import pytest
from helpers import make_tiny_layers
from pydantic import ValidationError

from geoplan.datasets import Dataset
from geoplan.exceptions import InputError
from geoplan.scenario import Comparison, Plan, Scenario, compare, plan, review


def _tables_equal(a: Plan, b: Plan) -> None:
    pd.testing.assert_frame_equal(a.stations, b.stations)
    pd.testing.assert_frame_equal(a.towns, b.towns)
    pd.testing.assert_frame_equal(a.counties, b.counties)
    strip = lambda m: {k: v for k, v in m.items() if k not in ("seconds", "plan_seconds")}  # noqa: E731
    assert strip(a.metrics) == strip(b.metrics)


@pytest.fixture
def village_dataset() -> Dataset:
    """The tiny dataset with station ST04 turned into a village-level home."""
    layers = make_tiny_layers()
    st = layers["stations"].copy()
    st.loc[st["id"] == "ST04", "tier"] = "home"
    layers["stations"] = st
    return Dataset.from_layers(layers, name="tiny-village")


# -- Scenario ---------------------------------------------------------------
def test_scenario_json_round_trip() -> None:
    s = Scenario(name="what if", budget=7, radius_m={"home": 2500, "station": 1800, "point": 1000},
                 category_weights={"market": 2.0, "street": 0.0}, force_open=("ST01",), exclude_towns=("T2",),
                 footfall_weight=0.5, solver="greedy", seed=3)
    text = s.model_dump_json()
    back = Scenario.model_validate_json(text)
    assert back == s
    assert json.loads(text)["budget"] == 7


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"budget": -1}, "budget"),
        ({"radius_m": {"home": 1000, "station": 1000}}, "radius_m"),
        ({"radius_m": {"home": 1000, "station": 1000, "point": -5}}, "radius_m"),
        ({"category_weights": {"casino": 1.0}}, "category_weights"),
        ({"category_weights": {"market": -1.0}}, "category_weights"),
        ({"distance": "flying"}, "distance"),
        ({"time_limit": 0}, "time_limit"),
        ({"solver": "magic"}, "solver"),
        ({"unknown_field": 1}, "unknown_field"),
    ],
)
def test_invalid_scenario_names_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValidationError) as err:
        Scenario(**kwargs)
    assert field in str(err.value)


def test_force_open_and_closed_must_be_disjoint() -> None:
    with pytest.raises(ValidationError, match="force_open and force_closed"):
        Scenario(force_open=("ST01",), force_closed=("ST01",))


def test_scenario_is_frozen() -> None:
    with pytest.raises(ValidationError):
        Scenario().budget = 3  # type: ignore[misc]


# -- plan ---------------------------------------------------------------------
def test_plan_basic_shape_and_budget(tiny_dataset: Dataset) -> None:
    calls: list[tuple[float, str]] = []
    p = plan(tiny_dataset, Scenario(budget=4), progress=lambda f, m: calls.append((f, m)))
    assert len(p.opened) == 4 == p.metrics["n_open"]
    assert len(p.kept) + len(p.closed) == 11  # the active stations
    assert set(p.stations["decision"]) <= {"keep", "close", "open"}
    assert p.stations.crs.to_epsg() == 4326 and p.towns.crs.to_epsg() == 4326
    assert p.opened["site_id"].notna().all() and p.opened["site_id"].is_unique
    assert p.metrics["people_after"] <= p.metrics["population"]
    assert p.metrics["gap"] >= 0 and p.metrics["bound"] >= p.metrics["objective"] - 1e-6
    # towns and counties add up to the city
    assert p.towns["covered_after"].sum() == pytest.approx(p.metrics["people_after"])
    assert p.counties["covered_before"].sum() == pytest.approx(p.metrics["people_before"])
    assert p.towns["stations_after"].sum() == len(p.kept) + len(p.opened)
    fr = [f for f, _ in calls]
    assert fr[0] == 0.0 and fr[-1] == 1.0 and fr == sorted(fr)
    table = p.summary_table()
    assert list(table.columns) == ["metric", "value"] and len(table) > 5


def test_zero_budget_opens_nothing(tiny_dataset: Dataset) -> None:
    p = plan(tiny_dataset, Scenario(budget=0, allow_closures=False))
    assert len(p.opened) == 0
    assert p.metrics["people_after"] == p.metrics["people_before"]


def test_force_open_and_force_closed(tiny_dataset: Dataset) -> None:
    base = plan(tiny_dataset, Scenario(budget=2))
    redundant = base.closed["id"].iloc[0]
    keeper = base.kept["id"].iloc[0]
    p = plan(tiny_dataset, Scenario(budget=2, force_open=(redundant,), force_closed=(keeper,)))
    dec = p.stations.set_index("id")["decision"]
    assert dec[redundant] == "keep" and dec[keeper] == "close"
    assert "force_closed" in p.stations.set_index("id").loc[keeper, "reason"]


def test_unknown_ids_raise_input_error(tiny_dataset: Dataset) -> None:
    with pytest.raises(InputError, match="force_open.*NOPE"):
        plan(tiny_dataset, Scenario(force_open=("NOPE",)))
    with pytest.raises(InputError, match="exclude_towns"):
        plan(tiny_dataset, Scenario(exclude_towns=("T9",)))


def test_exclusions(tiny_dataset: Dataset) -> None:
    base = plan(tiny_dataset, Scenario(budget=5, min_per_town=False))
    banned_sites = tuple(base.opened["site_id"].iloc[:2])
    p = plan(tiny_dataset, Scenario(budget=5, min_per_town=False, exclude_towns=("T2",), exclude_sites=banned_sites,
                                    category_weights={"street": 0.0}))
    assert not set(p.opened["site_id"]) & set(banned_sites)
    assert (p.opened["town_code"] != "T2").all()
    assert (p.opened["category"] != "street").all()


def test_min_per_town_gives_every_town_a_station(tiny_dataset: Dataset) -> None:
    t4 = tuple(tiny_dataset.active_stations().query("town_code == 'T4'")["id"])
    s = Scenario(budget=1, force_closed=t4, allow_closures=False, radius_m={"home": 8000, "station": 8000, "point": 500})
    p = plan(tiny_dataset, s)
    assert (p.towns["stations_after"] >= 1).all()
    assert p.opened["town_code"].tolist() == ["T4"]
    assert p.metrics["towns_without_station"] == 0
    # without the rule the single point goes where it covers most, and T4 stays empty
    q = plan(tiny_dataset, s.model_copy(update={"min_per_town": False}))
    assert q.opened["town_code"].tolist() != ["T4"]
    assert q.metrics["towns_without_station"] == 1


def test_min_per_town_infeasible_budget_raises(tiny_dataset: Dataset) -> None:
    closed = tuple(tiny_dataset.active_stations().query("town_code in ['T3', 'T4']")["id"])
    with pytest.raises(InputError, match=r"min_per_town needs a new point in 2 town\(s\).*budget is 1"):
        plan(tiny_dataset, Scenario(budget=1, force_closed=closed))


def test_excluded_town_does_not_make_min_per_town_infeasible(tiny_dataset: Dataset) -> None:
    t4 = tuple(tiny_dataset.active_stations().query("town_code == 'T4'")["id"])
    p = plan(tiny_dataset, Scenario(budget=0, force_closed=t4, exclude_towns=("T4",)))
    assert p.metrics["towns_without_station"] == 1


def test_coverage_never_drops_without_closures(tiny_dataset: Dataset) -> None:
    for budget in (0, 1, 3, 8):
        p = plan(tiny_dataset, Scenario(budget=budget, allow_closures=False))
        assert p.metrics["people_after"] >= p.metrics["people_before"]
        assert len(p.closed) == 0
        assert (p.towns["covered_after"] >= p.towns["covered_before"] - 1e-9).all()


def test_reasons_for_every_open_and_close(village_dataset: Dataset) -> None:
    p = plan(village_dataset, Scenario(budget=4))
    changed = p.stations[p.stations["decision"].isin(["open", "close"])]
    assert len(changed) > 4
    assert changed["reason"].str.len().gt(10).all()
    assert p.opened["reason"].str.contains(r"reaches [\d,]+ people no other station reaches; nearest existing "
                                           r"station [\d.]+ km; footfall [\d,]+/day").all()
    assert p.closed["reason"].str.contains("people").all()


def test_village_homes_closed_by_guideline(village_dataset: Dataset) -> None:
    p = plan(village_dataset, Scenario(budget=3))
    row = p.stations.set_index("id").loc["ST04"]
    assert row["decision"] == "close"
    assert row["reason"].startswith("village-level home abolished by guideline;")
    q = plan(village_dataset, Scenario(budget=3, close_village_homes=False))
    assert q.stations.set_index("id").loc["ST04", "decision"] == "keep"


def test_review_closures_are_exact_and_sequential(village_dataset: Dataset) -> None:
    s = Scenario(budget=0, max_closure_loss=3000, min_per_town=False, closable_tiers=("home", "station", "point"))
    p = plan(village_dataset, s)
    lost = p.closed["loss_if_closed"].sum()
    assert (p.closed["loss_if_closed"] > 0).sum() >= 2  # some closures do cost people
    # the sum of the one-at-a-time losses is exactly the coverage the closures remove
    assert p.metrics["people_before"] - p.metrics["people_after"] == pytest.approx(lost)
    assert p.metrics["people_lost_by_closures"] == pytest.approx(lost)
    assert (p.closed.query("level != 'village'")["loss_if_closed"] <= 3000).all()
    r = review(village_dataset, s)
    assert list(r["id"]) == list(village_dataset.active_stations()["id"])
    for col in ("reach_people", "unique_people", "loss_if_closed", "redundant", "decision", "reason"):
        assert col in r.columns
    assert (r["unique_people"] <= r["reach_people"]).all()
    assert r.crs.to_epsg() == 4326
    assert (r.set_index("id")["decision"] == p.stations.set_index("id").loc[r["id"], "decision"]).all()


def test_footfall_weight_prefers_busy_venues(tiny_dataset: Dataset) -> None:
    s = Scenario(budget=3, min_per_town=False, allow_closures=False)
    plain = plan(tiny_dataset, s)
    busy = plan(tiny_dataset, s.model_copy(update={"footfall_weight": 1000.0}))
    assert busy.opened["footfall"].sum() >= plain.opened["footfall"].sum()


def test_determinism(tiny_dataset: Dataset) -> None:
    s = Scenario(budget=5, footfall_weight=0.1)
    a = plan(tiny_dataset, s)
    b = plan(Dataset.from_layers(make_tiny_layers(), name="tiny"), s)
    _tables_equal(a, b)
    assert json.dumps(a.to_geojson()) == json.dumps(b.to_geojson())


def test_geojson_is_rfc7946(tiny_dataset: Dataset) -> None:
    gj = plan(tiny_dataset, Scenario(budget=2)).to_geojson()
    json.dumps(gj, allow_nan=False)  # JSON-safe: no NaN
    assert gj["type"] == "FeatureCollection"
    f = gj["features"][0]
    lon, lat = f["geometry"]["coordinates"]
    assert 119 < lon < 121 and 33 < lat < 34
    assert {"decision", "reason", "reach_people"} <= set(f["properties"])


# -- save / load ------------------------------------------------------------
def test_save_load_round_trip(tiny_dataset: Dataset, tmp_path) -> None:
    p = plan(tiny_dataset, Scenario(name="round trip", budget=3, footfall_weight=0.2))
    path = p.save(tmp_path / "plan.gpkg")
    layers = {n for n, _ in pyogrio.list_layers(path)}
    assert {"plan_stations", "plan_towns", "plan_counties", "plan_meta"} <= layers
    back = Plan.load(path)
    assert back.scenario == p.scenario and back.dataset_name == "tiny"
    _tables_equal(p, back)
    assert back.metrics == p.metrics
    # saving again replaces the layers
    q = plan(tiny_dataset, Scenario(name="second", budget=1))
    q.save(path)
    assert Plan.load(path).scenario.name == "second"
    assert len(Plan.load(path).opened) == 1


def test_save_into_dataset_gpkg(tiny_dataset: Dataset, tmp_path) -> None:
    path = tiny_dataset.save(tmp_path / "city.gpkg")
    p = plan(tiny_dataset, Scenario(budget=2))
    p.save(path)
    assert len(Dataset.load(path).stations) == 12  # the dataset layers survive
    _tables_equal(p, Plan.load(path))
    assert not list(tmp_path.glob("*.partial*"))


def test_load_errors(tmp_path, tiny_dataset: Dataset) -> None:
    with pytest.raises(InputError, match="not found"):
        Plan.load(tmp_path / "missing.gpkg")
    path = tiny_dataset.save(tmp_path / "city.gpkg")
    with pytest.raises(InputError, match="plan_stations"):
        Plan.load(path)


# -- compare ------------------------------------------------------------------
def test_compare(tiny_dataset: Dataset) -> None:
    a = plan(tiny_dataset, Scenario(name="small", budget=1))
    b = plan(tiny_dataset, Scenario(name="large", budget=6))
    c = compare(a, b)
    assert isinstance(c, Comparison)
    m = c.metrics.set_index("metric")
    assert m.loc["n_open", "difference"] == 5
    assert m.loc["people_after", "difference"] == pytest.approx(b.metrics["people_after"] - a.metrics["people_after"])
    assert list(c.stations.columns) == ["id", "name", "decision_a", "decision_b"]
    assert (c.stations["decision_a"] != c.stations["decision_b"]).all()
    assert (c.stations["decision_a"] == "absent").sum() >= 5
    assert list(c.towns.columns) == ["code", "name", "share_a", "share_b", "diff"]
    assert len(c.towns) == 4
    text = c.summary()
    assert "large vs small" in text and "new points: 1 → 6" in text
    same = compare(a, a)
    assert same.stations.empty and (same.metrics["difference"] == 0).all()


# -- road distance ------------------------------------------------------------
def _grid_graph(step: float = 0.005) -> nx.Graph:
    """A lon/lat street grid over the tiny region, edge lengths in metres."""
    g = nx.Graph()
    xs = np.arange(120.0, 120.2 + 1e-9, step)
    ys = np.arange(33.3, 33.4 + 1e-9, step)
    mx, my = 111_320 * np.cos(np.radians(33.35)), 110_574
    for i, x in enumerate(xs):
        for j, y in enumerate(ys):
            g.add_node((i, j), x=float(x), y=float(y))
            if i:
                g.add_edge((i - 1, j), (i, j), length=step * mx)
            if j:
                g.add_edge((i, j - 1), (i, j), length=step * my)
    return g


def test_road_mode(tiny_dataset: Dataset) -> None:
    s = Scenario(budget=3, distance="road", allow_closures=False)
    with pytest.raises(InputError, match="network"):
        plan(tiny_dataset, s)
    road = plan(tiny_dataset, s, network=_grid_graph())
    straight = plan(tiny_dataset, s.model_copy(update={"distance": "straight"}))
    assert len(road.opened) == 3
    # a path over a grid is never shorter than the straight line
    assert road.metrics["people_before"] <= straight.metrics["people_before"]
    assert road.metrics["people_after"] >= road.metrics["people_before"]
    minutes = plan(tiny_dataset, s.model_copy(update={"speed_kmh": 12.0,
                   "radius_m": {"home": 15.0, "station": 10.0, "point": 7.5}}), network=_grid_graph())
    # 12 km/h: 1 minute = 200 m, so the radii equal 3000/2000/1500 m
    assert minutes.metrics["people_before"] == pytest.approx(road.metrics["people_before"])


def test_twin_stations_close_only_one() -> None:
    """Two co-located stations each look redundant alone; closing both would uncover people."""
    layers = make_tiny_layers()
    st, demand = layers["stations"], layers["demand"]
    # the demand point farthest from every station
    d = demand.to_crs(32651).geometry.values
    far = int(np.argmax([st.to_crs(32651).distance(g).min() for g in d]))
    twin = st.iloc[[5, 5]].copy()
    twin["id"] = ["TW1", "TW2"]
    twin["level"] = "town"
    twin["town_code"] = demand["town_code"].iloc[far]
    twin["geometry"] = [demand.geometry.iloc[far]] * 2
    layers["stations"] = pd.concat([st, twin], ignore_index=True)
    ds = Dataset.from_layers(layers, name="twins")
    r = review(ds, Scenario(budget=0)).set_index("id")
    assert r.loc["TW1", "unique_people"] == 0 and r.loc["TW2", "unique_people"] == 0
    assert bool(r.loc["TW1", "redundant"]) and bool(r.loc["TW2", "redundant"])
    assert sorted(r.loc[["TW1", "TW2"], "decision"]) == ["close", "keep"]
    kept = r.loc[["TW1", "TW2"]].query("decision == 'keep'")
    assert kept["loss_if_closed"].iloc[0] > 0


def test_station_reaching_nobody_gets_a_plain_reason(tiny_dataset: Dataset) -> None:
    sc = Scenario(budget=0, radius_m={"home": 1.0, "station": 1.0, "point": 1.0})
    closed = review(tiny_dataset, sc).query("decision == 'close'")
    assert len(closed) > 0
    assert closed["reason"].str.contains("reaches nobody within its 1 m radius").all()
    assert not closed["reason"].str.contains("all 0 people").any()


def test_plan_with_no_station_at_all_round_trips(tiny_dataset: Dataset, tmp_path) -> None:
    from geoplan.assign import assign
    from geoplan.maps import plan_map

    ds = tiny_dataset.replace(stations=tiny_dataset.stations.assign(status="closed"))
    p = plan(ds, Scenario(budget=0, min_per_town=False))
    assert len(p.stations) == 0 and p.metrics["people_after"] == 0
    back = Plan.load(p.save(tmp_path / "empty.gpkg"))
    assert len(back.stations) == 0 and back.metrics["n_open"] == 0
    assert len(assign(ds, plan=back).group_stations) == 0
    assert "new-" not in plan_map(ds, back).get_root().render()  # renders, with no new point


# -- typed metrics and the public inputs adapter ------------------------------
def test_plan_metrics_are_typed_frozen_and_a_mapping(tiny_dataset, tmp_path):
    import dataclasses

    from geoplan.planning import PlanMetrics

    p = plan(tiny_dataset, Scenario(budget=3))
    m = p.metrics
    assert isinstance(m, PlanMetrics) and m.n_open == m["n_open"] == 3
    assert isinstance(m.n_keep, int) and isinstance(m.share_after, float) and isinstance(m.solver, str)
    with pytest.raises(dataclasses.FrozenInstanceError):
        m.n_open = 4  # type: ignore[misc]
    d = m.to_dict()
    assert list(d) == list(m) == [f.name for f in dataclasses.fields(PlanMetrics)]
    keys = list(d)
    assert keys[:3] == ["population", "people_before", "people_after"]
    # the first format's metrics, then the optional ones (NaN in older plans) in the order they were added
    assert keys[keys.index("seconds"):keys.index("seconds") + 3] == ["seconds", "plan_seconds", "town_share_min_before"]
    assert dict(m) == d and "gap" in m and "nope" not in m
    with pytest.raises(KeyError):
        m["nope"]
    assert PlanMetrics.from_dict(json.loads(json.dumps(d))) == m
    with pytest.raises(InputError, match="missing gap"):
        PlanMetrics.from_dict({k: v for k, v in d.items() if k != "gap"})
    with pytest.raises(InputError, match="n_open must be a number"):
        PlanMetrics.from_dict(d | {"n_open": "four"})
    # the saved plan_meta JSON is the mapping view, keys sorted
    p.save(tmp_path / "p.gpkg")
    meta = pyogrio.read_dataframe(tmp_path / "p.gpkg", layer="plan_meta", read_geometry=False)
    saved = meta.set_index("key").loc["metrics", "value"]
    assert saved == json.dumps(d, sort_keys=True)


def test_planning_inputs_match_what_plan_uses(tiny_dataset):
    from geoplan.planning import coverage_matrices, planning_inputs

    sc = Scenario(budget=2, category_weights={"street": 0.0}, exclude_towns=("T2",))
    inp = planning_inputs(tiny_dataset, sc)
    assert set(inp.stations["id"]) == set(tiny_dataset.active_stations()["id"])
    assert not (inp.sites["category"] == "street").any() and not (inp.sites["town_code"] == "T2").any()
    A, C = coverage_matrices(inp, sc)
    assert A.shape == (len(inp.pop), len(inp.stations)) and C.shape == (len(inp.pop), len(inp.sites))
    p = plan(tiny_dataset, sc)
    assert p.metrics.people_before == pytest.approx(inp.pop[np.asarray(A.sum(axis=1)).ravel() > 0].sum())
    assert p.metrics.n_candidates == len(inp.sites) and p.metrics.n_existing == len(inp.stations)


def test_metrics_report_the_town_share_spread(tiny_dataset: Dataset) -> None:
    """Town-share spread (min, p10, Gini) before and after, from the plan's own town table."""
    from geoplan.optimize.fairness import share_spread

    p = plan(tiny_dataset, Scenario(budget=3, solver="greedy"))
    m = p.metrics
    peopled = p.towns["population"].to_numpy() > 0
    after = share_spread(p.towns["share_after"].to_numpy()[peopled])
    assert m.town_share_min_after == after.min and m.town_gini_after == after.gini
    assert m.town_share_min_after >= m.town_share_min_before - 1e-12 or m.n_close > 0
    assert 0.0 <= m.town_gini_after <= 1.0
    d = m.to_dict()
    old = {k: v for k, v in d.items() if not k.startswith(("town_share_", "town_gini_"))}
    back = type(m).from_dict(old)  # a plan saved before these metrics existed still loads
    assert math.isnan(back.town_gini_after) and back.share_after == m.share_after
