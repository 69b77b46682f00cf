"""The "look back" review of the existing network.

Per active station: the people it reaches, the people only it reaches, what
closing it would cost, and the keep/close decision with a reason in numbers.
Closures run in a fixed order — stations the scenario forces closed, then
village-level deputy homes (abolished by the guideline), then redundant
stations greedily, least loss first, the loss recomputed after each closure.
With ``scenario.station_performance`` (how each station works, from the
reception days, opinions and standards of :mod:`geoplan.operations`), redundant
stations that do not play their role (作用发挥不充分) close first and redundant
ones that work well are kept; their reasons say so.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import scipy.sparse as sp

from geoplan.datasets import Dataset
from geoplan.planning._helpers import people
from geoplan.planning.inputs import CoverFunction, PlanningInputs, coverage_function, planning_inputs
from geoplan.planning.scenario import Scenario
from geoplan.settings import STORAGE_CRS

__all__ = ["NetworkReview", "review", "review_network"]


@dataclass(frozen=True, eq=False)
class NetworkReview:
    """What :func:`review_network` returns.

    Attributes
    ----------
    table : pandas.DataFrame
        Per active station (order of ``inputs.stations``): id, reach_people,
        unique_people, loss_if_closed, redundant, decision (keep|close), reason.
    open_ : numpy.ndarray
        Bool per active station: still open after the review.
    cover : scipy.sparse.csc_matrix
        Demand × active stations coverage.
    """

    table: pd.DataFrame
    open_: np.ndarray
    cover: sp.csc_matrix


class _Closer:
    """The review's running state: which stations are open, how often each demand point is covered."""

    def __init__(self, inp: PlanningInputs, A: sp.csc_matrix, n_covering: np.ndarray) -> None:
        k, n_towns = len(inp.stations), len(inp.towns)
        self.A, self.pop, self.station_town = A, inp.pop, inp.station_town
        self.cnt = n_covering  # open stations reaching each demand point
        self.open_ = np.ones(k, dtype=bool)
        self.loss = np.full(k, np.nan)
        self.others = np.zeros(k, dtype=np.int64)
        self.reason = np.array([""] * k, dtype=object)
        self.town_open = np.bincount(inp.station_town, minlength=n_towns)

    def unique(self) -> np.ndarray:
        """People each station reaches that no other open station reaches."""
        return self.A.T @ (self.pop * (self.cnt == 1))

    def close(self, j: int) -> float:
        """Close station ``j``; return the people who lose coverage."""
        col = self.A[:, [j]]
        dense = col.toarray().ravel()
        lost = float(self.pop[(self.cnt == 1) & (dense > 0)].sum())
        # open stations other than j sharing at least one demand point with it
        shared = (self.A.T @ col).toarray().ravel() > 0
        shared[j] = False
        self.others[j] = int((shared & self.open_).sum())
        self.cnt = self.cnt - dense
        self.open_[j] = False
        self.town_open[self.station_town[j]] -= 1
        self.loss[j] = lost
        return lost


def _close_village_homes(s: _Closer, inp: PlanningInputs, scenario: Scenario, village_home: np.ndarray,
                         forced_open: np.ndarray) -> None:
    town_has_site = np.bincount(inp.site_town[inp.site_town >= 0], minlength=len(inp.towns)) > 0
    town_names = inp.towns["name"].astype(str).to_numpy()
    for j in np.flatnonzero(village_home & s.open_ & ~forced_open).tolist():
        t = inp.station_town[j]
        if scenario.min_per_town and s.town_open[t] == 1 and not town_has_site[t]:
            s.reason[j] = (f"village-level home kept: last station in {town_names[t]} "
                           "and no venue there to host a replacement")
            continue
        lost = s.close(int(j))
        s.reason[j] = f"village-level home abolished by guideline; {people(lost)} people lose coverage"


def _performance(inp: PlanningInputs, scenario: Scenario) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(poor, good, reason) per active station from ``scenario.station_performance`` (no note: neither)."""
    notes = scenario.station_performance
    ids = inp.stations["id"].astype(str).tolist()
    poor = np.array([i in notes and notes[i].poor for i in ids], dtype=bool)
    good = np.array([i in notes and not notes[i].poor for i in ids], dtype=bool)
    why = np.array([notes[i].reason if i in notes else "" for i in ids], dtype=object)
    return poor, good, why


def _close_redundant(s: _Closer, inp: PlanningInputs, scenario: Scenario, reach: np.ndarray,
                     eligible: np.ndarray, poor: np.ndarray, why: np.ndarray) -> None:
    """Close eligible stations greedily — poorly working ones first, then least loss — loss recomputed after each."""
    # stable tie-break: smaller reach, then seed-permuted order (deterministic)
    tiebreak = np.random.default_rng(scenario.seed).permutation(len(inp.stations))
    while True:
        cur = s.unique()
        ok = eligible & s.open_ & (cur <= scenario.max_closure_loss + 1e-9)
        if scenario.min_per_town:
            ok &= s.town_open[inp.station_town] > 1
        if not ok.any():
            break
        cand = np.flatnonzero(ok)
        j = int(cand[np.lexsort((tiebreak[cand], reach[cand], cur[cand], ~poor[cand]))[0]])
        lost = s.close(j)
        others = f"{s.others[j]} other station{'s' if s.others[j] != 1 else ''}"
        if reach[j] <= 0:
            # "all 0 people ... within reach of 0 other stations" read as nonsense in reports
            s.reason[j] = f"redundant: reaches nobody within its {inp.station_radius[j]:,.0f} m radius"
        elif lost <= 0:
            s.reason[j] = f"redundant: all {people(reach[j])} people it reaches are within reach of {others}"
        else:
            s.reason[j] = (f"redundant: {people(reach[j] - lost)} of the {people(reach[j])} people it reaches are "
                           f"within reach of {others}; {people(lost)} people lose coverage")
        if why[j]:
            s.reason[j] += f"; {why[j]}"


def _kept_reasons(s: _Closer, inp: PlanningInputs, scenario: Scenario, reach: np.ndarray, tier: np.ndarray,
                  forced_open: np.ndarray, kept_good: np.ndarray, why: np.ndarray) -> None:
    """Record what closing each kept station would cost now, and why it is kept."""
    town_names = inp.towns["name"].astype(str).to_numpy()
    final_unique = s.unique()
    for j in np.flatnonzero(s.open_).tolist():
        s.loss[j] = final_unique[j]
        if s.reason[j]:
            continue
        t = inp.station_town[j]
        if forced_open[j]:
            s.reason[j] = f"kept by scenario (force_open); reaches {people(reach[j])} people"
        elif kept_good[j] and final_unique[j] <= scenario.max_closure_loss + 1e-9 and s.town_open[t] > 1:
            s.reason[j] = f"redundant but kept, it works well: {why[j]}; reaches {people(reach[j])} people"
        elif final_unique[j] > 0:
            s.reason[j] = f"reaches {people(final_unique[j])} people no other station reaches"
        elif scenario.min_per_town and s.town_open[t] == 1:
            s.reason[j] = f"last station in {town_names[t]}; reaches {people(reach[j])} people"
        elif not scenario.allow_closures:
            s.reason[j] = f"closures not allowed; reaches {people(reach[j])} people"
        elif tier[j] not in scenario.closable_tiers:
            s.reason[j] = f"{tier[j]} tier is not reviewed for closure; reaches {people(reach[j])} people"
        else:
            s.reason[j] = f"reaches {people(reach[j])} people"


def review_network(inp: PlanningInputs, scenario: Scenario, cover_fn: CoverFunction) -> NetworkReview:
    """Review the active stations of ``inp``: decide keep/close with reasons (see the module docstring)."""
    from geoplan.optimize import closure_impact  # lazy: keeps `import geoplan.planning` light for the API

    st = inp.stations
    A = cover_fn(inp.demand_xy, inp.station_xy, inp.station_radius)
    impact = closure_impact(A.tocsr(), weights=inp.pop)
    reach = A.T @ inp.pop
    unique0 = np.asarray(impact.unique_weight, dtype=float)
    ids = st["id"].astype(str).to_numpy()
    tier = st["tier"].astype(str).to_numpy()
    village_home = (tier == "home") & (st["level"].astype(str).to_numpy() == "village")
    forced_open = np.isin(ids, scenario.force_open)
    s = _Closer(inp, A, np.asarray(impact.n_covering, dtype=float))
    poor, good, why = _performance(inp, scenario)

    for j in np.flatnonzero(np.isin(ids, scenario.force_closed)).tolist():  # 1. forced closures: always
        lost = s.close(int(j))
        s.reason[j] = f"closed by scenario (force_closed); {people(lost)} people lose coverage"
    if scenario.allow_closures:
        if scenario.close_village_homes:  # 2. village-level homes, abolished by the guideline
            _close_village_homes(s, inp, scenario, village_home, forced_open)
        # 3. redundant stations
        eligible = np.isin(tier, scenario.closable_tiers) & ~forced_open & ~village_home
        _close_redundant(s, inp, scenario, reach, eligible & ~good, poor, why)  # well-working stations stay
    kept_good = good & np.isin(tier, scenario.closable_tiers) & scenario.allow_closures
    _kept_reasons(s, inp, scenario, reach, tier, forced_open, kept_good, why)
    table = pd.DataFrame({
        "id": ids,
        "reach_people": reach.astype(float),
        "unique_people": unique0.astype(float),
        "loss_if_closed": s.loss.astype(float),
        "redundant": unique0 <= scenario.max_closure_loss + 1e-9,
        "decision": np.where(s.open_, "keep", "close"),
        "reason": s.reason.astype(str),
    })
    return NetworkReview(table=table, open_=s.open_, cover=A)


def review(dataset: Dataset, scenario: Scenario | None = None, network: Any = None) -> gpd.GeoDataFrame:
    """The "look back" review of the existing active stations.

    Parameters
    ----------
    dataset : Dataset
    scenario : Scenario, optional
        Radii, closure rules (``allow_closures``, ``close_village_homes``,
        ``max_closure_loss``, ``closable_tiers``, ``force_open``,
        ``force_closed``, ``min_per_town``). Default ``Scenario()``.
    network : RoadNetwork or networkx graph, optional
        Required when ``scenario.distance == "road"``.

    Returns
    -------
    geopandas.GeoDataFrame
        WGS84; one row per active station: id, name, tier, level, town_code,
        reach_people (people within its radius), unique_people (people no other
        active station reaches), loss_if_closed (for a closed station the people
        its closure uncovered, closures being taken one at a time; for a kept
        one what closing it now would uncover), redundant (its reach is
        duplicated within ``max_closure_loss``), decision (keep|close), reason.

    Examples
    --------
    >>> import geoplan
    >>> from geoplan.planning import Scenario, review
    >>> rv = review(geoplan.load(), Scenario(allow_closures=False))
    >>> set(rv["decision"])
    {'keep'}
    """
    scenario = scenario or Scenario()
    inp = planning_inputs(dataset, scenario)
    rv = review_network(inp, scenario, coverage_function(scenario, network, inp.metric_crs))
    base = inp.stations[["id", "name", "tier", "level", "town_code", "geometry"]].reset_index(drop=True)
    out = gpd.GeoDataFrame(
        pd.concat([base.drop(columns="geometry"), rv.table.drop(columns="id")], axis=1),
        geometry=base.geometry.values, crs=inp.metric_crs,
    ).to_crs(STORAGE_CRS)
    return out
