"""Compatibility module: the planning stage now lives in :mod:`geoplan.planning`.

``from geoplan.scenario import Scenario, plan, review, compare`` keeps working
(README, notebooks, the API); new code imports from :mod:`geoplan.planning`.
"""
from __future__ import annotations

from geoplan.planning import (
    AREA_COLUMNS,
    CATEGORY_LABELS,
    PLAN_LAYERS,
    STATION_COLUMNS,
    Comparison,
    Plan,
    PlanMetrics,
    Progress,
    Scenario,
    Tier,
    compare,
    plan,
    review,
)

__all__ = ["Scenario", "Plan", "PlanMetrics", "Comparison", "plan", "review", "compare", "CATEGORY_LABELS",
           "STATION_COLUMNS", "AREA_COLUMNS", "PLAN_LAYERS", "Progress", "Tier"]
