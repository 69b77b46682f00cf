"""E2SFCA against the formula evaluated pair by pair, its conservation of supply, and capacity."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from geoplan.accessibility import GAUSSIAN_WEIGHTS, GAUSSIAN_ZONES, e2sfca, station_capacity
from geoplan.exceptions import InputError


def direct(dxy, pop, sxy, cap, r, zones, weights):
    d = np.hypot(dxy[:, None, 0] - sxy[None, :, 0], dxy[:, None, 1] - sxy[None, :, 1])
    W = np.zeros_like(d)
    lo = 0.0
    for edge, wt in zip(zones, weights):
        W[(d <= edge * r[None, :] + 1e-9) & (d > lo * r[None, :] + 1e-9 if lo > 0 else d >= 0) & (W == 0)] = wt
        lo = edge
    W[d > r[None, :] + 1e-9] = 0
    R = np.array([cap[j] / (pop * W[:, j]).sum() if (pop * W[:, j]).sum() > 0 else 0.0 for j in range(len(cap))])
    return (W * R[None, :]).sum(axis=1)


@pytest.mark.parametrize("seed", range(10))
@pytest.mark.parametrize("zw", [((1.0,), (1.0,)), (GAUSSIAN_ZONES, GAUSSIAN_WEIGHTS)])
def test_matches_the_formula_and_conserves_supply(seed: int, zw) -> None:  # noqa: ANN001
    rng = np.random.default_rng(seed)
    dxy, sxy = rng.uniform(0, 5000, (40, 2)), rng.uniform(0, 5000, (6, 2))
    pop, cap, r = rng.integers(0, 500, 40).astype(float), rng.integers(1, 20, 6).astype(float), rng.uniform(800, 2500, 6)
    acc = e2sfca(dxy, pop, sxy, cap, r, zones=zw[0], weights=zw[1])
    assert acc == pytest.approx(direct(dxy, pop, sxy, cap, r, *zw))
    d = np.hypot(dxy[:, None, 0] - sxy[None, :, 0], dxy[:, None, 1] - sxy[None, :, 1])
    served = ((d <= r[None, :]) * pop[:, None]).sum(axis=0) > 0
    assert (pop * acc).sum() == pytest.approx(cap[served].sum())  # every deputy is shared out once


def test_more_stations_never_lower_total_access_and_empty_catchments_give_nothing() -> None:
    dxy = np.array([[0.0, 0.0], [100.0, 0.0]])
    acc = e2sfca(dxy, [10, 10], [[10_000.0, 0.0]], [5], radius=1000)
    assert acc.tolist() == [0.0, 0.0]


def test_station_capacity_shares_a_towns_deputies() -> None:
    st = pd.DataFrame({"town_code": ["T1", "T1", "T2", "T3"]})
    gr = pd.DataFrame({"id": ["G1", "G2"], "town_code": ["T1", "T2"]})
    dep = pd.DataFrame({"group_id": ["G1"] * 4 + ["G2"] * 3})
    assert station_capacity(st, gr, dep).tolist() == [2.0, 2.0, 3.0, 0.0]
    with pytest.raises(InputError, match="deputies: missing column"):
        station_capacity(st, gr, pd.DataFrame({"x": [1]}))


@pytest.mark.parametrize("kw,match", [({"zones": (0.5, 0.9)}, "zones"), ({"weights": (1.0, 1.2, 0.1)}, "weights"),
                                      ({"capacity": [-1]}, "capacity"), ({"population": [1]}, "population")])
def test_bad_input_is_a_clear_error(kw: dict, match: str) -> None:
    args = {"demand_xy": [[0, 0], [1, 1]], "population": [1, 2], "supply_xy": [[0, 0]], "capacity": [3],
            "radius": 10, "zones": GAUSSIAN_ZONES, "weights": GAUSSIAN_WEIGHTS} | kw
    if "zones" in kw:
        args["weights"] = (1.0, 0.5)
    with pytest.raises(InputError, match=match):
        e2sfca(**args)


# -- the plan's access to deputies (geoplan.planning): a hand-made case computed by hand ----------------
def test_weighted_quantile_and_summary_by_hand() -> None:
    from geoplan.accessibility import access_summary, weighted_quantile

    # people 500 at 0, 2000 at 17, 1000 at 25: the median person (1,750th) is at 17, the 10th percentile at 0
    assert weighted_quantile([25.0, 17.0, 0.0], [1000, 2000, 500], 0.5) == 17.0
    assert weighted_quantile([25.0, 17.0, 0.0], [1000, 2000, 500], 0.1) == 0.0
    assert weighted_quantile([25.0, 17.0, 0.0], [1000, 2000, 500], 0.9) == 25.0
    assert np.isnan(weighted_quantile([1.0], [0.0], 0.5))
    s = access_summary([25.0, 17.0, 0.0, 0.0], [1000, 2000, 500, 0])
    assert (s.median, s.p10, s.zero, s.people_zero) == (17.0, 0.0, 1, 500.0)  # the empty village does not count
    with pytest.raises(InputError, match="q: must be in"):
        weighted_quantile([1.0], [1.0], 1.5)


def hand_dataset():
    """One station in T1 (6 deputies) with villages at 100 m (1,000 people) and 1,000 m (2,000 people),
    a village 20 km east in T2 (500 people, 4 deputies) and one venue 50 m from it."""
    import geopandas as gpd
    from shapely.geometry import box

    from geoplan.datasets import Dataset

    x0, y0 = 120.0, 33.3
    dlat = 1 / 111_000  # degrees per metre northward (the UTM scale error is far below the zones' margins)
    dlon = 1 / (111_320 * np.cos(np.radians(y0)))
    towns = gpd.GeoDataFrame({"code": ["T1", "T2"], "name": ["One", "Two"], "county_code": ["C1", "C1"],
                              "kind": ["town", "town"]},
                             geometry=[box(x0 - 0.05, y0 - 0.05, x0 + 0.1, y0 + 0.05),
                                       box(x0 + 0.1, y0 - 0.05, x0 + 0.35, y0 + 0.05)], crs="EPSG:4326")
    counties = gpd.GeoDataFrame({"code": ["C1"], "name": ["County"]},
                                geometry=[box(x0 - 0.05, y0 - 0.05, x0 + 0.35, y0 + 0.05)], crs="EPSG:4326")
    east = x0 + 20_000 * dlon
    demand = gpd.GeoDataFrame({"id": ["V1", "V2", "V3"], "name": ["Near", "Middle", "Far"],
                               "town_code": ["T1", "T1", "T2"], "population": [1000.0, 2000.0, 500.0]},
                              geometry=gpd.points_from_xy([x0, x0, east], [y0 + 100 * dlat, y0 + 1000 * dlat, y0]),
                              crs="EPSG:4326")
    sites = gpd.GeoDataFrame({"id": ["S1"], "name": ["Market"], "category": ["market"], "footfall": [100.0],
                              "town_code": ["T2"]}, geometry=gpd.points_from_xy([east], [y0 + 50 * dlat]),
                             crs="EPSG:4326")
    stations = gpd.GeoDataFrame({"id": ["ST1"], "name": ["Station"], "tier": ["station"], "level": ["town"],
                                 "town_code": ["T1"], "sector": [None], "status": ["active"], "site_id": [None]},
                                geometry=gpd.points_from_xy([x0], [y0]), crs="EPSG:4326")
    groups = pd.DataFrame({"id": ["G1", "G2"], "name": ["g1", "g2"], "county_code": ["C1", "C1"],
                           "town_code": ["T1", "T2"], "sector": [None, None]})
    gid = ["G1"] * 6 + ["G2"] * 4
    deputies = pd.DataFrame({"id": [f"P{i}" for i in range(10)], "level": ["town"] * 10, "group_id": gid,
                             "sector": ["agriculture"] * 10, "home_town_code": ["T1"] * 6 + ["T2"] * 4})
    committees = pd.DataFrame({"id": ["K1"], "name": ["Agriculture"], "sectors": ["agriculture"]})
    return Dataset.from_layers({"counties": counties, "towns": towns, "demand": demand, "sites": sites,
                                "stations": stations, "deputies": deputies, "groups": groups,
                                "committees": committees}, name="hand")


def test_plan_access_matches_a_hand_computation(tmp_path) -> None:
    from geoplan.planning import Plan, Scenario, plan

    p = plan(hand_dataset(), Scenario(budget=1, allow_closures=False))
    assert p.opened["site_id"].tolist() == ["S1"]
    # before: ST1 holds T1's 6 deputies over 1,000 people at weight 1 (zone 1) + 2,000 at 0.68 (zone 2)
    r1 = 6 / (1000 * 1.0 + 2000 * 0.68)
    v = p.villages.set_index("id")
    assert v.loc["V1", "access_before"] == pytest.approx(1e4 * r1)  # 25.42 deputies per 10,000 people
    assert v.loc["V2", "access_before"] == pytest.approx(1e4 * 0.68 * r1)  # 17.29
    assert v.loc["V3", "access_before"] == 0.0
    # after: the new point holds T2's 4 deputies over V3's 500 people (50 m: zone 1)
    assert v.loc["V3", "access_after"] == pytest.approx(1e4 * 4 / 500)  # 80
    assert v.loc[["V1", "V2"], "access_after"].tolist() == pytest.approx(v.loc[["V1", "V2"], "access_before"].tolist())
    m = p.metrics
    # people-weighted: 500 at 0, 2,000 at 17.29, 1,000 at 25.42 → the median person at 17.29, the 10th percentile at 0
    assert m.access_median_before == pytest.approx(1e4 * 0.68 * r1) and m.access_p10_before == 0.0
    assert m.access_median_after == pytest.approx(1e4 * 0.68 * r1) and m.access_p10_after == pytest.approx(1e4 * 0.68 * r1)
    assert (m.villages_without_access_before, m.villages_without_access_after) == (1.0, 0.0)
    t = p.towns.set_index("code")
    assert t.loc["T1", "access_after"] == pytest.approx(1e4 * (1000 * r1 + 2000 * 0.68 * r1) / 3000)
    assert t.loc["T2", "access_before"] == 0.0 and t.loc["T2", "access_after"] == pytest.approx(80.0)
    assert p.counties["access_after"].iloc[0] == pytest.approx((1000 * 1e4 * r1 + 2000 * 1e4 * 0.68 * r1 + 500 * 80) / 3500)

    back = Plan.load(p.save(tmp_path / "plan.gpkg"))
    pd.testing.assert_frame_equal(back.villages, p.villages)
    pd.testing.assert_frame_equal(back.towns, p.towns)
    assert back.metrics == p.metrics and back.metrics.access_median_after == m.access_median_after


def test_a_plan_saved_before_villages_still_loads(tmp_path) -> None:
    import json

    import pyogrio

    from geoplan.planning import PLAN_LAYERS, Plan, Scenario, plan

    p = plan(hand_dataset(), Scenario(budget=1))
    path = p.save(tmp_path / "new.gpkg")
    old = tmp_path / "old.gpkg"
    for layer in PLAN_LAYERS:  # the first format's layers only, metrics without the access figures
        df = pyogrio.read_dataframe(path, layer=layer, read_geometry=layer not in ("plan_meta", "plan_counties"))
        if layer == "plan_meta":
            metrics = {k: v for k, v in json.loads(df.set_index("key").loc["metrics", "value"]).items()
                       if not k.startswith(("access_", "villages_"))}
            df.loc[df["key"] == "metrics", "value"] = json.dumps(metrics)
        pyogrio.write_dataframe(df, old, layer=layer, driver="GPKG")
    back = Plan.load(old)
    assert back.villages is None and np.isnan(back.metrics.access_median_after)
    assert back.metrics.share_after == p.metrics.share_after
    # a plan without villages saves an empty layer, so no earlier plan's villages linger in the file
    from dataclasses import replace

    replace(p, villages=None).save(path)
    assert Plan.load(path).villages is None
