"""Tests of geoplan.assign: known optima on hand-made cases, rules on the fixtures, shortfalls."""
from __future__ import annotations

import itertools
from types import SimpleNamespace

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from helpers import make_tiny_layers

from geoplan.assign import Assignment, Rules, Shortfall, assign
from geoplan.assign._flow import bipartite_flow
from geoplan.datasets import Dataset
from geoplan.exceptions import InputError
from geoplan.settings import BUNDLED_DATASET

# Town centres of the tiny fixture (boxes 0.05° wide along x, all at y 33.3–33.4).
CX = {"T1": 120.025, "T2": 120.075, "T3": 120.125, "T4": 120.175}
CY = 33.35


def build(groups, stations, deputies, committees=None) -> Dataset:
    """A dataset on the tiny fixture's towns with hand-placed groups, stations and deputies.

    groups: (id, town, sector); stations: (id, town, dx degrees, sector);
    deputies: (id, level, group, sector, home town).
    """
    layers = make_tiny_layers()
    layers["groups"] = pd.DataFrame(
        {"id": [g[0] for g in groups], "name": [g[0] for g in groups],
         "county_code": ["C1" if g[1] in ("T1", "T2") else "C2" for g in groups],
         "town_code": [g[1] for g in groups], "sector": [g[2] for g in groups]}
    )
    layers["stations"] = gpd.GeoDataFrame(
        {"id": [s[0] for s in stations], "name": [s[0] for s in stations], "tier": "station", "level": "town",
         "town_code": [s[1] for s in stations], "sector": [s[3] for s in stations], "status": "active",
         "site_id": None},
        geometry=gpd.points_from_xy([CX[s[1]] + s[2] for s in stations], [CY] * len(stations)), crs="EPSG:4326",
    )
    layers["deputies"] = pd.DataFrame(
        {"id": [d[0] for d in deputies], "level": [d[1] for d in deputies], "group_id": [d[2] for d in deputies],
         "sector": [d[3] for d in deputies], "home_town_code": [d[4] for d in deputies]}
    )
    if committees is not None:
        layers["committees"] = pd.DataFrame(committees, columns=["id", "name", "sectors"])
    return Dataset.from_layers(layers, name="hand")


def deputies_for(groups, n=3, level="town", sector="social"):
    return [(f"{g[0]}-{i}", level, g[0], sector, g[1]) for g in groups for i in range(n)]


def links(a: Assignment) -> set[tuple[str, str]]:
    return set(zip(a.group_stations["group_id"], a.group_stations["station_id"]))


def rules_of(a: Assignment) -> set[str]:
    return {s.rule for s in a.unmet}


# Hand-made cases have no committees' groups or visitors to spare: check the station rules only.
STATION_RULES = {"station_has_group", "group_capacity", "group_has_station", "deputy_enters_station",
                 "industry_station_sector", "station_conveners"}


# --------------------------------------------------------------------------- the flow core
def brute_force(lo_l, hi_l, lo_r, hi_r, arcs, cost, fill_left):
    best = None
    for mask in itertools.product((0, 1), repeat=len(arcs)):
        deg_l = np.zeros(len(lo_l), int)
        deg_r = np.zeros(len(lo_r), int)
        for m, (i, j) in zip(mask, arcs):
            deg_l[i] += m
            deg_r[j] += m
        if np.any(deg_l > hi_l) or np.any(deg_r > hi_r):
            continue
        short = int(np.maximum(lo_l - deg_l, 0).sum() + np.maximum(lo_r - deg_r, 0).sum())
        filled = -int(deg_l.sum()) if fill_left else 0
        key = (short, filled, int(np.dot(mask, cost)))
        best = key if best is None or key < best else best
    return best


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("fill_left", [False, True])
def test_flow_matches_brute_force(seed, fill_left):
    rng = np.random.default_rng(seed)
    n_l, n_r = rng.integers(1, 4), rng.integers(1, 4)
    arcs = [(i, j) for i in range(n_l) for j in range(n_r) if rng.random() < 0.7]
    cost = rng.integers(0, 50, len(arcs))
    lo_l, lo_r = rng.integers(0, 2, n_l), rng.integers(0, 2, n_r)
    hi_l, hi_r = lo_l + rng.integers(0, 2, n_l), lo_r + rng.integers(0, 3, n_r)
    hi_l, hi_r = np.maximum(hi_l, 1), np.maximum(hi_r, 1)
    a_l = np.array([a[0] for a in arcs], dtype=np.int64)
    a_r = np.array([a[1] for a in arcs], dtype=np.int64)
    res = bipartite_flow(lo_l, hi_l, lo_r, hi_r, a_l, a_r, cost, fill_left=fill_left)
    deg_l = np.bincount(a_l[res.arc_flow > 0], minlength=n_l)
    deg_r = np.bincount(a_r[res.arc_flow > 0], minlength=n_r)
    assert np.all(deg_l <= hi_l) and np.all(deg_r <= hi_r)
    short = int(res.left_short.sum() + res.right_short.sum())
    assert short == int(np.maximum(lo_l - deg_l, 0).sum() + np.maximum(lo_r - deg_r, 0).sum())
    got = (short, -int(deg_l.sum()) if fill_left else 0, int(np.dot(res.arc_flow, cost)))
    assert got == brute_force(lo_l, hi_l, lo_r, hi_r, arcs, cost, fill_left)


# --------------------------------------------------------------------------- groups ↔ stations
def test_three_groups_three_stations_on_a_line():
    groups = [("GA", "T1", None), ("GB", "T2", None), ("GC", "T3", None)]
    stations = [("S3", "T3", 0.004, None), ("S1", "T1", -0.004, None), ("S2", "T2", 0.0, None)]
    a = assign(build(groups, stations, deputies_for(groups)))
    assert links(a) == {("GA", "S1"), ("GB", "S2"), ("GC", "S3")}
    assert not rules_of(a) & STATION_RULES
    assert a.metrics["stations_per_group_max"] == 1
    assert a.metrics["deputies_without_station"] == 0
    # The middle station sits on the town centre; the others ~370 m off it.
    d = a.group_stations.set_index("group_id")["distance_m"]
    assert d["GB"] < 50 and 300 < d["GA"] < 450


def test_extra_group_takes_nearest_station_and_extra_station_the_cheapest_group():
    groups = [("GA", "T1", None), ("GB", "T1", None), ("GC", "T4", None)]
    stations = [("S1", "T1", 0.0, None), ("S4", "T4", 0.0, None), ("S4b", "T4", 0.01, None)]
    a = assign(build(groups, stations, deputies_for(groups)))
    assert links(a) == {("GA", "S1"), ("GB", "S1"), ("GC", "S4"), ("GC", "S4b")}
    assert not rules_of(a) & STATION_RULES


def test_sector_discount_sends_industry_station_to_sector_group():
    groups = [("GX", "T2", "social"), ("GF", "T3", "fisheries"), ("GF2", "T3", "social")]
    # The fishery station sits in T2, nearer GX (~1.9 km) than GF (~2.8 km).
    stations = [("SF", "T2", 0.02, "fisheries"), ("S2", "T2", 0.0, None), ("S3", "T3", 0.0, None)]
    ds = build(groups, stations, deputies_for(groups))
    a = assign(ds)
    assert ("GF", "SF") in links(a)
    assert a.metrics["industry_sector_match_share"] == 1.0
    row = a.group_stations.set_index("station_id").loc["SF"]
    assert bool(row["sector_match"]) and row["sector_share"] == 1.0
    plain = assign(ds, sector_discount=0.0)
    assert ("GX", "SF") in links(plain)
    assert plain.metrics["industry_sector_match_share"] == 0.0


def test_too_many_stations_gives_capacity_shortfall_not_exception():
    groups = [("GA", "T1", None)]
    stations = [("S1", "T1", 0.0, None), ("S2", "T1", 0.005, None), ("S3", "T1", 0.02, None)]
    a = assign(build(groups, stations, deputies_for(groups)), max_stations_per_group=2)
    assert links(a) == {("GA", "S1"), ("GA", "S2")}  # the two nearest
    by_rule = {s.rule: s for s in a.unmet}
    assert by_rule["group_capacity"].amount == 1 and by_rule["group_capacity"].where == "all"
    assert by_rule["station_has_group"].where == "S3"
    assert by_rule["station_conveners"].where == "S3"
    assert a.metrics["stations_without_group"] == 1


def test_station_out_of_reach_and_group_without_station():
    groups = [("GA", "T1", None), ("GD", "T4", None)]
    stations = [("S1", "T1", 0.0, None)]
    a = assign(build(groups, stations, deputies_for(groups, n=4)), max_link_distance_m=5_000)
    assert links(a) == {("GA", "S1")}
    found = {(s.rule, s.where): s for s in a.unmet}
    assert "no station within" in found[("group_has_station", "GD")].detail
    assert found[("deputy_enters_station", "GD")].amount == 4
    assert a.metrics["deputies_without_station"] == 4


def test_small_group_is_not_given_more_stations_than_it_can_convene():
    groups = [("GA", "T1", None), ("GB", "T1", None)]
    stations = [("S1", "T1", 0.0, None), ("S2", "T1", 0.001, None), ("S3", "T1", 0.002, None)]
    deps = [("GA-0", "town", "GA", "social", "T1")] + deputies_for([("GB", "T1")], n=5)
    a = assign(build(groups, stations, deps))
    per = a.group_stations["group_id"].value_counts()
    assert per["GA"] == 1 and per["GB"] == 2
    assert not rules_of(a) & STATION_RULES


# --------------------------------------------------------------------------- conveners
def test_conveners_prefer_local_county_and_town_deputies():
    groups = [("GA", "T1", None)]
    stations = [("S1", "T1", 0.0, "health")]
    deps = [("N1", "national", "GA", "health", "T1"), ("C1", "county", "GA", "social", "T1"),
            ("T1x", "town", "GA", "health", "T1"), ("T2x", "town", "GA", "social", "T2")]
    a = assign(build(groups, stations, deps))
    conv = a.conveners
    assert list(conv["role"]) == ["convener", "convener", "liaison_officer"]
    assert list(conv["deputy_id"][:2]) == ["T1x", "C1"]  # sector match first, then same town, county level
    lo = conv.iloc[2]
    assert lo["deputy_id"] is None and lo["slot"] == 3


def test_convener_shortfall_when_linked_groups_have_no_free_deputy():
    groups = [("GA", "T1", None)]
    stations = [("S1", "T1", 0.0, None)]
    deps = [("D1", "town", "GA", "social", "T1")]
    a = assign(build(groups, stations, deps), conveners_per_station=(2, 2))
    s = [x for x in a.unmet if x.rule == "station_conveners"]
    assert s == [Shortfall("station_conveners", "S1", 1.0, s[0].detail)]
    assert (a.conveners["role"] == "convener").sum() == 1


def test_no_deputy_convenes_more_than_allowed(tiny_dataset):
    for limit in (1, 2):
        a = assign(tiny_dataset, max_convened_per_deputy=limit)
        conv = a.conveners[a.conveners["role"] == "convener"]
        assert conv["deputy_id"].value_counts().max() <= limit
        assert not conv.duplicated(["station_id", "deputy_id"]).any()


# --------------------------------------------------------------------------- visiting deputies
def test_national_deputies_spread_over_towns_underserved_first():
    groups = [("GA", "T1", None)]
    stations = [("S1", "T1", 0.0, None), ("S1b", "T1", 0.01, None), ("S2", "T2", 0.0, None)]
    deps = [(f"N{i}", "national", "GA", "social", "T1") for i in range(4)] + deputies_for(groups)
    a = assign(build(groups, stations, deps))
    assert sorted(a.deputy_towns["town_code"]) == ["T1", "T2", "T3", "T4"]  # one per town
    assert set(a.deputy_towns["contacts"]) == {5}
    two = assign(build(groups, stations, deps[2:]))
    # T3 and T4 have no station at all: they are served first.
    assert sorted(two.deputy_towns["town_code"]) == ["T3", "T4"]
    assert two.metrics["towns_without_visitor"] == 2
    assert {s.where for s in two.unmet if s.rule == "town_has_visitor"} == {"T1", "T2"}


def test_provincial_and_city_deputies_visit_by_group():
    groups = [("GA", "T1", None), ("GB", "T4", None)]
    stations = [("S1", "T1", 0.0, None), ("S4", "T4", 0.0, None)]
    deps = [("P1", "provincial", "GA", "law", "T1"), ("C1", "city", "GA", "law", "T2"),
            ("C2", "city", "GB", "law", "T4"), ("X1", "town", "GB", "law", "T4")]
    a = assign(build(groups, stations, deps))
    dt = a.deputy_towns.set_index("deputy_id")
    assert set(dt.index) == {"P1", "C1", "C2"}
    assert dt.loc["P1", "town_code"] == dt.loc["C1", "town_code"]
    assert set(dt["unit"]) == {"group"}


# --------------------------------------------------------------------------- committees
def test_committees_get_five_distinct_sector_matched_groups():
    sectors = ["agriculture"] * 5 + ["health"] * 5 + ["social"] * 2
    groups = [(f"G{i:02d}", ["T1", "T2", "T3", "T4"][i % 4], s) for i, s in enumerate(sectors)]
    stations = [(f"S{t}", t, 0.0, None) for t in CX]
    committees = [("KA", "Agriculture", "agriculture,fisheries"), ("KH", "Health", "health")]
    a = assign(build(groups, stations, deputies_for(groups), committees))
    cg = a.committee_groups
    assert cg.groupby("committee_id").size().to_dict() == {"KA": 5, "KH": 5}
    assert not cg["group_id"].duplicated().any()
    assert cg["sector_match"].all()
    assert set(cg.loc[cg.committee_id == "KA", "group_id"]) == {f"G{i:02d}" for i in range(5)}
    assert not rules_of(a) & {"committee_field", "committee_groups", "committee_distinct_groups"}


def test_committee_whose_field_nobody_covers_is_listed_not_raised():
    groups = [(f"G{i}", "T1", "social") for i in range(6)]
    stations = [("S1", "T1", 0.0, None)]
    a = assign(build(groups, stations, deputies_for(groups), [("KL", "Law", "law")]))
    assert len(a.committee_groups) == 5
    s = [x for x in a.unmet if x.rule == "committee_field"]
    assert s[0].where == "KL" and s[0].amount == 5


def test_too_few_groups_for_committees():
    groups = [(f"G{i}", "T1", "law") for i in range(3)]
    stations = [("S1", "T1", 0.0, None)]
    a = assign(build(groups, stations, deputies_for(groups), [("KL", "Law", "law"), ("KG", "Gov", "law")]))
    by = {(s.rule, s.where): s.amount for s in a.unmet}
    assert by[("committee_groups", "KL")] == 2 and by[("committee_groups", "KG")] == 2
    assert by[("committee_distinct_groups", "all")] == 3
    assert not a.committee_groups.duplicated(["committee_id", "group_id"]).any()


# --------------------------------------------------------------------------- fixtures and plan
def check_rules(a: Assignment, ds: Dataset, stations: pd.DataFrame) -> None:
    gs = a.group_stations
    assert set(stations["id"]) <= set(gs["station_id"])  # every station ≥ 1 group
    per_group = gs["group_id"].value_counts()
    assert set(per_group.index) == set(ds.groups["id"]) and per_group.max() <= a.rules.max_stations_per_group
    assert ds.deputies["group_id"].isin(set(gs["group_id"])).all()  # every deputy enters a station
    assert (gs["distance_m"] <= a.rules.max_link_distance_m).all()
    conv = a.conveners
    n_conv = conv[conv.role == "convener"].groupby("station_id").size().reindex(stations["id"]).fillna(0)
    assert n_conv.between(*a.rules.conveners_per_station).all()
    assert (conv[conv.role == "liaison_officer"].groupby("station_id").size() == 1).all()
    linked = set(zip(gs["station_id"], gs["group_id"]))
    cv = conv[conv.role == "convener"]
    assert all(p in linked for p in zip(cv["station_id"], cv["group_id"]))  # drawn from linked groups
    assert cv["deputy_id"].value_counts().max() <= a.rules.max_convened_per_deputy
    nat = ds.deputies[ds.deputies.level == "national"]
    assert set(nat["id"]) <= set(a.deputy_towns["deputy_id"])
    assert not a.deputy_towns["deputy_id"].duplicated().any()
    assert (a.committee_groups.groupby("committee_id").size() == a.rules.committee_groups).all()


def test_rules_hold_on_tiny_dataset(tiny_dataset):
    a = assign(tiny_dataset)
    check_rules(a, tiny_dataset, tiny_dataset.active_stations())
    assert "ST11" not in set(a.group_stations["station_id"])  # closed station
    assert rules_of(a) <= {"committee_distinct_groups", "committee_field"}  # 3×5 links, 10 groups
    assert a.metrics["towns_without_visitor"] == 0


def test_plan_stations_keep_and_open_are_assigned(tiny_dataset):
    st = tiny_dataset.stations.copy()
    st["decision"] = ["keep"] * 9 + ["close", "close", "open"]
    plan = SimpleNamespace(stations=st)
    a = assign(tiny_dataset, plan=plan)
    assert set(a.group_stations["station_id"]) == set(st.loc[st.decision != "close", "id"])
    bad = SimpleNamespace(stations=st.assign(decision="maybe"))
    with pytest.raises(InputError, match="decision"):
        assign(tiny_dataset, plan=bad)
    with pytest.raises(InputError, match="plan"):
        assign(tiny_dataset, plan=object())


def test_bad_rules_raise_input_error(tiny_dataset):
    with pytest.raises(InputError, match="unknown rule"):
        assign(tiny_dataset, max_stations=2)
    with pytest.raises(InputError, match="sector_discount"):
        Rules(sector_discount=1.5)
    with pytest.raises(InputError, match="conveners_per_station"):
        Rules(conveners_per_station=(3, 2))
    assert Rules(conveners_per_station=[1, 3]).conveners_per_station == (1, 3)


def test_deterministic(tiny_dataset):
    a, b = assign(tiny_dataset), assign(tiny_dataset)
    for name, df in a.tables().items():
        if name != "metrics":
            pd.testing.assert_frame_equal(df, b.tables()[name])


# --------------------------------------------------------------------------- output
def test_save_appends_layers_and_csv(tmp_path, tiny_dataset):
    a = assign(tiny_dataset)
    gpkg = tmp_path / "out.gpkg"
    tiny_dataset.save(gpkg)
    a.save(gpkg)
    a.save(gpkg)  # replacing its own layers is fine
    names = {str(n) for n, _ in pyogrio.list_layers(gpkg)}
    assert {"towns", "stations", "assign_group_stations", "assign_conveners", "assign_group_links"} <= names
    back = pyogrio.read_dataframe(gpkg, layer="assign_group_stations", read_geometry=False)
    assert len(back) == len(a.group_stations)
    lines = pyogrio.read_dataframe(gpkg, layer="assign_group_links")
    assert (lines.geom_type == "LineString").all() and lines.crs.to_epsg() == 4326
    paths = a.to_csv(tmp_path / "csv")
    assert {p.name for p in paths} >= {"group_stations.csv", "conveners.csv", "deputy_towns.csv",
                                        "committee_groups.csv", "unmet.csv", "metrics.csv"}
    assert len(pd.read_csv(tmp_path / "csv" / "conveners.csv")) == len(a.conveners)
    assert a.to_dict()["metrics"]["links"] == len(a.group_stations)


def test_empty_plan_saves_and_reports(tmp_path, tiny_dataset):
    st = tiny_dataset.stations.assign(decision="close")
    a = assign(tiny_dataset, plan=SimpleNamespace(stations=st))
    assert a.group_stations.empty and a.metrics["groups_without_station"] == 10
    a.save(tmp_path / "e.gpkg")
    assert "group_has_station" in a.report()


# --------------------------------------------------------------------------- bundled dataset
@pytest.mark.slow
def test_rules_hold_on_bundled_dataset():
    ds = Dataset.load(BUNDLED_DATASET)
    a = assign(ds)
    check_rules(a, ds, ds.active_stations())
    assert a.unmet == (), [str(s) for s in a.unmet[:5]]
    assert len(ds.groups) >= 1100 and len(ds.deputies) >= 11500
    assert a.metrics["towns_without_visitor"] == 0
    assert a.metrics["industry_sector_match_share"] >= 0.8
    assert (a.committee_groups.groupby("committee_id").size() == 5).all()
    assert not a.committee_groups["group_id"].duplicated().any()


def test_rules_are_a_frozen_pydantic_model():
    import pydantic

    r = Rules(max_stations_per_group=2, convener_levels="county, town", k_nearest=np.int64(7))
    assert isinstance(r, pydantic.BaseModel) and r.convener_levels == ("county", "town") and r.k_nearest == 7
    assert Rules.model_validate_json(r.model_dump_json()) == r
    with pytest.raises(pydantic.ValidationError):
        r.k_nearest = 3  # frozen, like Scenario
    with pytest.raises(InputError, match="'k_nearest' must be an integer >= 1, got 0"):
        Rules(k_nearest=0)
    with pytest.raises(InputError, match="'k_nearest' must be an integer >= 1, got True"):
        Rules(k_nearest=True)
    with pytest.raises(InputError, match="group_visitor_levels"):
        Rules(group_visitor_levels=("national",))
    with pytest.raises(InputError, match="'colour'"):
        Rules(colour="red")
    assert Rules.with_overrides(r, committee_groups=3) == r.model_copy(update={"committee_groups": 3})
