"""Accessibility of deputies to the people: the (enhanced) two-step floating catchment area.

Step 1 gives each station ``j`` a supply-to-demand ratio over the people within its
catchment, weighted by distance zone; step 2 sums, for each village ``i``, the ratios of
the stations within reach, with the same weights (Luo & Qi 2009, E2SFCA)::

    R_j = S_j / Σ_{k: d_kj <= r_j} P_k W(d_kj)        A_i = Σ_{j: d_ij <= r_j} R_j W(d_ij)

With one zone of weight 1 this is the original 2SFCA (Luo & Wang 2003).  Supply ``S_j`` is
the station's capacity — e.g. its conveners and the deputies of the groups linked to it
(:func:`station_capacity`); ``A_i`` is then deputies per person within reach (×10,000 for
"deputies per 10,000 people").  Distances are straight-line metres in the dataset's metric
CRS (:func:`geoplan.access.cost_matrix`).

>>> import numpy as np
>>> from geoplan.accessibility import e2sfca
>>> acc = e2sfca([[0, 0], [1000, 0]], [100, 300], [[0, 0]], [8], radius=1500, zones=(1.0,), weights=(1.0,))
>>> acc.tolist()
[0.02, 0.02]
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from geoplan.access import cost_matrix
from geoplan.exceptions import InputError

__all__ = ["e2sfca", "station_capacity", "weighted_quantile", "AccessSummary", "access_summary", "PER_PEOPLE",
           "GAUSSIAN_ZONES", "GAUSSIAN_WEIGHTS"]

#: Zone edges as shares of the radius and their weights: Luo & Qi's three Gaussian zones.
GAUSSIAN_ZONES: tuple[float, ...] = (1 / 3, 2 / 3, 1.0)
GAUSSIAN_WEIGHTS: tuple[float, ...] = (1.0, 0.68, 0.22)
#: Plans report the index per this many people ("deputies per 10,000 people within reach").
PER_PEOPLE = 10_000


def _vector(x: Any, n: int, name: str) -> np.ndarray:
    arr = np.asarray(x, dtype=float)
    if arr.ndim == 0:
        arr = np.full(n, float(arr))
    if arr.shape != (n,):
        raise InputError(f"{name}: expected {n} values, got shape {arr.shape}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise InputError(f"{name}: every value must be a finite number >= 0 (row {int(np.flatnonzero(~np.isfinite(arr) | (arr < 0))[0])})")
    return arr


def e2sfca(demand_xy: Any, population: Any, supply_xy: Any, capacity: Any, radius: Any, *,
           zones: Sequence[float] = GAUSSIAN_ZONES, weights: Sequence[float] = GAUSSIAN_WEIGHTS) -> np.ndarray:
    """Enhanced two-step floating catchment accessibility per demand point.

    Parameters
    ----------
    demand_xy, supply_xy
        Metric coordinates (metres) of the villages and the stations.
    population
        People per demand point.
    capacity
        Supply per station (e.g. deputies), scalar or one per station.
    radius
        Catchment radius in metres, scalar or one per station.
    zones, weights
        Increasing zone edges as shares of the radius (the last must be 1) and the weight of
        each zone, non-increasing in [0, 1]; one zone of weight 1 is the original 2SFCA.

    Returns
    -------
    numpy.ndarray
        Supply per person within reach, per demand point (0 where no station reaches).
        A station whose catchment holds no people contributes nothing.
    """
    z = np.asarray(zones, float)
    wz = np.asarray(weights, float)
    if z.ndim != 1 or len(z) == 0 or z.shape != wz.shape:
        raise InputError("zones/weights: need the same number (>= 1) of zone edges and weights")
    if not (np.all(np.diff(z) > 0) and z[0] > 0 and abs(z[-1] - 1.0) < 1e-12):
        raise InputError(f"zones: edges must increase from above 0 to 1 (shares of the radius), got {z.tolist()}")
    if not (np.all((wz >= 0) & (wz <= 1)) and np.all(np.diff(wz) <= 0)):
        raise InputError(f"weights: must be in [0, 1] and non-increasing with distance, got {wz.tolist()}")
    D = cost_matrix(demand_xy, supply_xy, radius)
    n, m = D.shape
    pop = _vector(population, n, "population")
    cap = _vector(capacity, m, "capacity")
    r = _vector(radius, m, "radius")
    D = sp.csr_matrix(D)
    rows = np.repeat(np.arange(n), np.diff(D.indptr))
    share = D.data / np.where(r[D.indices] > 0, r[D.indices], 1.0)
    zone = np.minimum(np.searchsorted(z, share - 1e-12), len(z) - 1)  # d <= edge_k·r → zone k
    Wd = sp.csr_matrix((wz[zone], (rows, D.indices)), shape=(n, m))
    demand = np.asarray(Wd.T @ pop).ravel()  # Σ_k P_k W(d_kj)
    ratio = np.divide(cap, demand, out=np.zeros(m), where=demand > 0)
    return np.asarray(Wd @ ratio).ravel()


def station_capacity(stations: pd.DataFrame, groups: pd.DataFrame, deputies: pd.DataFrame) -> np.ndarray:
    """Deputies per station: each town's deputies (by their group's town), shared equally by
    the town's stations.

    Until a plan's assignment links groups to stations (:mod:`geoplan.assign`), this is the
    capacity a town can offer each of its stations; pass the assignment's counts instead
    when there is one.

    Examples
    --------
    >>> st = pd.DataFrame({"town_code": ["T1", "T1", "T2"]})
    >>> gr = pd.DataFrame({"id": ["G1", "G2"], "town_code": ["T1", "T2"]})
    >>> dep = pd.DataFrame({"group_id": ["G1"] * 4 + ["G2"] * 3})
    >>> station_capacity(st, gr, dep).tolist()
    [2.0, 2.0, 3.0]
    """
    for name, frame, cols in (("stations", stations, ["town_code"]), ("groups", groups, ["id", "town_code"]),
                              ("deputies", deputies, ["group_id"])):
        missing = [c for c in cols if c not in frame.columns]
        if missing:
            raise InputError(f"{name}: missing column(s) {', '.join(missing)}")
    town_of_group = dict(zip(groups["id"].astype(str), groups["town_code"].astype(str)))
    per_town = deputies["group_id"].astype(str).map(town_of_group).value_counts()
    towns = stations["town_code"].astype(str)
    n_st = towns.map(towns.value_counts())
    return (towns.map(per_town).fillna(0.0) / n_st).to_numpy(dtype=float)


def weighted_quantile(values: Any, weights: Any, q: float) -> float:
    """The ``q``-quantile of ``values`` with each counted ``weights`` times (no interpolation).

    The smallest value ``v`` such that the weight of values ``<= v`` is at least ``q`` of the
    total: with weights = people per village, "the 10th-percentile person's access".  NaN when
    the weights sum to 0.

    Examples
    --------
    >>> weighted_quantile([3.0, 1.0, 2.0], [1, 1, 2], 0.5)
    2.0
    >>> weighted_quantile([3.0, 1.0, 2.0], [1, 1, 2], 0.1)
    1.0
    """
    v = np.asarray(values, float).ravel()
    w = np.asarray(weights, float).ravel()
    if v.shape != w.shape:
        raise InputError(f"weights: expected {len(v)} values, got {len(w)}")
    if not 0 <= q <= 1:
        raise InputError(f"q: must be in [0, 1], got {q!r}")
    keep = w > 0
    v, w = v[keep], w[keep]
    if not len(v):
        return float("nan")
    order = np.argsort(v, kind="stable")
    cum = np.cumsum(w[order])
    # the tolerance keeps q·total == a cumulative sum (e.g. the median of two equal halves) on its value
    k = int(np.searchsorted(cum, q * cum[-1] * (1 - 1e-12), side="left"))
    return float(v[order][min(k, len(v) - 1)])


@dataclass(frozen=True)
class AccessSummary:
    """The spread of an accessibility index over the people of the demand points.

    ``median`` and ``p10`` are population-weighted (the median / 10th-percentile person's
    access); ``zero`` counts the demand points with people and no supply within reach, and
    ``people_zero`` their people.
    """

    median: float
    p10: float
    zero: int
    people_zero: float


def access_summary(access: Any, population: Any) -> AccessSummary:
    """Population-weighted median and 10th percentile of ``access``, and who has none.

    Examples
    --------
    >>> s = access_summary([0.0, 2.0, 4.0, 0.0], [100, 100, 200, 0])
    >>> s.median, s.p10, s.zero, s.people_zero
    (2.0, 0.0, 1, 100.0)
    """
    a = np.asarray(access, float).ravel()
    pop = _vector(population, len(a), "population")
    if not np.isfinite(a).all():
        raise InputError("access: every value must be a finite number")
    none = (pop > 0) & (a <= 0)
    return AccessSummary(median=weighted_quantile(a, pop, 0.5), p10=weighted_quantile(a, pop, 0.1),
                         zero=int(none.sum()), people_zero=float(pop[none].sum()))
