"""Comparing two plans: metrics, station decisions and town shares."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoplan.planning._helpers import km, people
from geoplan.planning.result import Plan

__all__ = ["Comparison", "compare"]

# Numeric metrics compared, in table order.
_COMPARED = ("population", "people_before", "people_after", "share_before", "share_after", "n_keep", "n_close",
             "n_open", "mean_distance_before_m", "mean_distance_after_m", "towns_without_station",
             "objective", "bound", "gap")


@dataclass(frozen=True, eq=False)
class Comparison:
    """Differences between two plans (``b`` minus ``a``).

    Attributes
    ----------
    metrics : pandas.DataFrame
        metric, a, b, difference (numeric metrics).
    stations : pandas.DataFrame
        Stations whose decision differs: id, name, decision_a, decision_b
        (``absent`` when a plan does not list the station).
    towns : pandas.DataFrame
        code, name, share_a, share_b, diff (share of people within reach after each plan).
    """

    name_a: str
    name_b: str
    metrics: pd.DataFrame
    stations: pd.DataFrame
    towns: pd.DataFrame

    def summary(self) -> str:
        """A few lines of text describing the differences."""
        m = self.metrics.set_index("metric")
        # Float columns indexed by metric name (label lookups on the frame type as any scalar).
        ma, mb = m["a"].astype(float), m["b"].astype(float)
        lines = [f"{self.name_b} vs {self.name_a}:"]
        pa, pb = ma["people_after"], mb["people_after"]
        lines.append(f"  people within reach: {people(pa)} → {people(pb)} ({'+' if pb >= pa else '-'}{people(abs(pb - pa))}; "
                     f"share {ma['share_after']:.1%} → {mb['share_after']:.1%})")
        for key, label in (("n_open", "new points"), ("n_close", "closures"), ("n_keep", "kept stations")):
            lines.append(f"  {label}: {int(ma[key]):,} → {int(mb[key]):,}")
        da, db = ma["mean_distance_after_m"], mb["mean_distance_after_m"]
        lines.append(f"  mean distance to nearest station: {km(da)} → {km(db)}")
        lines.append(f"  stations with a different decision: {len(self.stations):,}")
        moved = self.towns[self.towns["diff"].abs() > 1e-9]
        lines.append(f"  towns whose share changed: {len(moved):,}")
        for _, r in moved.reindex(moved["diff"].abs().sort_values(ascending=False).index).head(5).iterrows():
            lines.append(f"    {r['name']} ({r['code']}): {r['share_a']:.1%} → {r['share_b']:.1%}")
        return "\n".join(lines)


def compare(a: Plan, b: Plan) -> Comparison:
    """Compare two plans: metrics, station decisions and town shares (``b`` − ``a``).

    Parameters
    ----------
    a, b : Plan
        The baseline and the alternative plan.

    Returns
    -------
    Comparison
        Metric differences, stations whose decision differs and per-town shares.

    Examples
    --------
    >>> import geoplan
    >>> from geoplan.planning import Scenario, compare, plan
    >>> ds = geoplan.load()
    >>> c = compare(plan(ds, Scenario(budget=10)), plan(ds, Scenario(budget=20)))
    >>> c.metrics.set_index("metric").loc["n_open", "difference"]
    np.float64(10.0)
    """
    keys = list(_COMPARED)
    va = np.array([float(getattr(a.metrics, k)) for k in keys])
    vb = np.array([float(getattr(b.metrics, k)) for k in keys])
    metrics = pd.DataFrame({"metric": keys, "a": va, "b": vb, "difference": vb - va})
    sa = pd.DataFrame(a.stations[["id", "name", "decision"]])
    sb = pd.DataFrame(b.stations[["id", "name", "decision"]])
    st = sa.merge(sb, on="id", how="outer", suffixes=("_a", "_b"), sort=True)
    st["name"] = st["name_a"].where(st["name_a"].notna(), st["name_b"])
    st["decision_a"] = st["decision_a"].astype(object).where(st["decision_a"].notna(), "absent")
    st["decision_b"] = st["decision_b"].astype(object).where(st["decision_b"].notna(), "absent")
    st = st.loc[st["decision_a"] != st["decision_b"], ["id", "name", "decision_a", "decision_b"]].reset_index(drop=True)
    ta = pd.DataFrame(a.towns[["code", "name", "share_after"]])
    tb = pd.DataFrame(b.towns[["code", "share_after"]])
    tw = ta.merge(tb, on="code", how="outer", suffixes=("_a", "_b"), sort=True)
    towns = pd.DataFrame({"code": tw["code"], "name": tw["name"], "share_a": tw["share_after_a"],
                          "share_b": tw["share_after_b"]})
    towns["diff"] = towns["share_b"] - towns["share_a"]
    return Comparison(name_a=a.scenario.name, name_b=b.scenario.name, metrics=metrics, stations=st, towns=towns)
