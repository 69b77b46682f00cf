"""What opinions and standards feed back into planning: demand weights and station performance.

Two pure functions, called by the planning stage with plain inputs (no import back into it):

* :func:`opinion_weights` — a weight per demand row from its town's *unresolved* opinions per
  head, so that siting goes where demand is pressing: ``w = 1 + s · r_t / r̄`` where ``r_t`` is
  the town's unresolved opinions per person, ``r̄`` the population-weighted mean over all rows and
  ``s`` the scenario's ``opinion_weight``. ``s = 0`` gives 1 everywhere (the plain plan); a town
  with no unresolved opinion keeps weight 1, a town at twice the mean gets ``1 + 2s``.
* :func:`station_performance` — per station a performance in [0, 1] (the standards score),
  whether it "does not play its role" (作用发挥不充分), and the reason in words, for the review to
  prefer closing poor redundant stations and keeping good ones.

Examples
--------
>>> import numpy as np, pandas as pd
>>> w = opinion_weights(np.array(["A", "A", "B"]), np.array([100.0, 100.0, 200.0]),
...                     pd.Series({"A": 4, "B": 0}), strength=1.0)
>>> w.round(2).tolist()
[3.0, 3.0, 1.0]
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from geoplan.exceptions import InputError
from geoplan.operations.opinions import unresolved_by_town
from geoplan.operations.standards import ITEMS, RATINGS

__all__ = ["PerformanceRule", "opinion_weights", "scenario_feedback", "station_performance"]


def opinion_weights(town_codes: np.ndarray, population: np.ndarray, unresolved: pd.Series,
                    strength: float) -> np.ndarray:
    """Weight of each demand row from its town's unresolved opinions (see the module docstring).

    Parameters
    ----------
    town_codes
        Town code of each demand row.
    population
        People of each demand row.
    unresolved
        Unresolved opinions per town code (towns not listed have none), e.g.
        :func:`~geoplan.operations.opinions.unresolved_by_town`.
    strength
        ``opinion_weight`` (>= 0).
    """
    if not (strength >= 0 and np.isfinite(strength)):
        raise InputError(f"opinion_weight must be a finite number >= 0, got {strength}")
    codes = np.asarray(town_codes).astype(str)
    pop = np.asarray(population, dtype=float)
    if codes.shape != pop.shape:
        raise InputError("opinion weights: town_codes and population must have the same length")
    if strength == 0 or not len(codes):
        return np.ones(len(codes))
    town_pop = pd.Series(pop).groupby(codes).sum()
    counts = pd.Series(unresolved, dtype=float).reindex(town_pop.index).fillna(0.0)
    rate = np.divide(counts.to_numpy(), town_pop.to_numpy(), out=np.zeros(len(town_pop)),
                     where=town_pop.to_numpy() > 0)
    per_row = pd.Series(rate, index=town_pop.index).reindex(codes).to_numpy()
    mean = float(np.average(per_row, weights=pop)) if pop.sum() > 0 else 0.0
    if mean <= 0:
        return np.ones(len(codes))
    return 1.0 + strength * per_row / mean


class PerformanceRule(BaseModel):
    """When a station counts as "not playing its role" (any one condition suffices)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_reception_days: int = Field(4, ge=0, description="fewer reception days held in the year")
    min_opinions: int = Field(2, ge=0, description="fewer opinions received in the year")
    min_score: float = Field(50.0, ge=0, le=100, description="a standards score below this")


def station_performance(scores: pd.DataFrame, rule: PerformanceRule | None = None) -> pd.DataFrame:
    """Performance, the "poor" flag and a Chinese reason per station, from standards scores.

    ``scores`` is :func:`~geoplan.operations.standards.score_stations`' output. Returns
    ``station_id, performance, poor, reason``.

    Examples
    --------
    >>> s = pd.DataFrame({"station_id": ["S1"], "score": [30.0], "rating": ["needs_work"], "reception_days": [1],
    ...                   "opinions": [0], "on_time_share": [0.0], "items_in_place": [5], "gaps": ["有制度"]})
    >>> station_performance(s).loc[0, "reason"]
    '作用发挥不充分：全年接待日 1 天，收集意见 0 件，按期答复 0%，八有缺：有制度，评分 30'
    """
    rule = rule or PerformanceRule()
    s = scores.reset_index(drop=True)
    days = s["reception_days"].to_numpy()
    ops = s["opinions"].to_numpy()
    score = s["score"].to_numpy(dtype=float)
    poor = (days < rule.min_reception_days) | (ops < rule.min_opinions) | (score < rule.min_score)
    gaps = s["gaps"].fillna("").astype(str)
    facts = [f"全年接待日 {d} 天，收集意见 {o} 件，按期答复 {share:.0%}"
             + (f"，八有缺：{g}" if g else f"，八有齐全（{len(ITEMS)} 项）") + f"，评分 {sc:.0f}"
             for d, o, share, g, sc in zip(days, ops, s["on_time_share"], gaps, score)]
    reason = [("作用发挥不充分：" if p else f"作用发挥好（{RATINGS.get(r, r)}）：") + f
              for p, r, f in zip(poor, s["rating"], facts)]
    return pd.DataFrame({"station_id": s["station_id"].astype(str), "performance": np.round(score / 100.0, 3),
                         "poor": poor, "reason": reason})


def scenario_feedback(opinions: pd.DataFrame, scores: pd.DataFrame | None = None,
                      rule: PerformanceRule | None = None) -> dict[str, dict[str, object]]:
    """The plain scenario inputs from running the network: ``unresolved_opinions`` and ``station_performance``.

    Pass them to the planning scenario with a weight, e.g.
    ``Scenario(opinion_weight=2, **scenario_feedback(opinions, scores))``.

    Examples
    --------
    >>> ops = pd.DataFrame({"town_code": ["A", "A", "B"], "status": ["assigned", "closed", "in_progress"]})
    >>> scenario_feedback(ops)["unresolved_opinions"]
    {'A': 1.0, 'B': 1.0}
    """
    out: dict[str, dict[str, object]] = {
        "unresolved_opinions": {str(k): float(v) for k, v in unresolved_by_town(opinions).items()}}
    if scores is not None:
        perf = station_performance(scores, rule)
        out["station_performance"] = {
            sid: {"performance": float(p), "poor": bool(b), "reason": str(r)[:300]}
            for sid, p, b, r in zip(perf["station_id"], perf["performance"], perf["poor"], perf["reason"])}
    return out
