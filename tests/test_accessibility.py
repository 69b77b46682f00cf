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
