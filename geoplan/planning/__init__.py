"""What-if planning: :class:`Scenario` parameters → :class:`Plan` results.

* :mod:`~geoplan.planning.scenario` — :class:`Scenario`, a frozen, JSON-serialisable set of planning parameters.
* :mod:`~geoplan.planning.inputs` — :func:`planning_inputs` / :func:`coverage_matrices`: a dataset as metric
  arrays and sparse coverage matrices (straight line or road network), for your own models.
* :mod:`~geoplan.planning.review` — :func:`review`, the "look back" review of the existing network: per
  active station the people it reaches, the people only it reaches, what closing it would cost, and the
  keep/close decision with a reason in numbers.
* :mod:`~geoplan.planning.siting` — :func:`plan`: review + siting (maximal covering with the kept stations
  fixed) + metrics.
* :mod:`~geoplan.planning.result` — :class:`Plan` (stations kept / closed / opened, coverage before and
  after per town and county) with its :class:`PlanMetrics`, GeoPackage and GeoJSON I/O.
* :mod:`~geoplan.planning.compare` — :func:`compare`, the differences between two plans.
* :mod:`~geoplan.planning.models` — the siting model a scenario asks for (maximal coverage, a town share
  floor, max-min, robust over demand scenarios) and the reports around a plan: :func:`fairness_report`,
  :func:`robust_report`, :func:`site_certainty` (firm / swappable / only-one sites); :func:`census_trend`,
  the per-county rates of the census demand scenarios.

Everything is deterministic: the same dataset and scenario give the same tables
and metrics (only the ``seconds`` metrics, wall-clock times, differ).

Examples
--------
>>> import geoplan
>>> from geoplan.planning import Scenario, plan
>>> p = plan(geoplan.load(), Scenario(budget=30))
>>> sorted(set(p.stations["decision"])) == ["close", "keep", "open"]
True
"""
from __future__ import annotations

from geoplan.planning._helpers import Progress
from geoplan.planning.compare import Comparison, compare
from geoplan.planning.inputs import (
    CoverFunction,
    PlanningInputs,
    coverage_function,
    coverage_matrices,
    planning_inputs,
    road_network,
)
from geoplan.planning.models import census_trend, fairness_report, robust_report, site_certainty, with_site_certainty
from geoplan.planning.result import (
    AREA_COLUMNS,
    PLAN_FORMAT,
    PLAN_LAYERS,
    STATION_COLUMNS,
    VILLAGE_COLUMNS,
    Plan,
    PlanMetrics,
)
from geoplan.planning.review import NetworkReview, review, review_network
from geoplan.planning.scenario import RobustSpec, Scenario, Tier
from geoplan.planning.siting import SitingProblem, plan, siting_problem
from geoplan.vocabulary import CATEGORY_LABELS

__all__ = [
    "Scenario", "Tier", "Plan", "PlanMetrics", "Comparison", "NetworkReview", "PlanningInputs", "CoverFunction",
    "Progress", "plan", "review", "review_network", "compare", "planning_inputs", "coverage_matrices",
    "coverage_function", "road_network", "CATEGORY_LABELS", "STATION_COLUMNS", "AREA_COLUMNS", "PLAN_LAYERS",
    "PLAN_FORMAT", "RobustSpec", "SitingProblem", "siting_problem", "fairness_report", "robust_report",
    "site_certainty", "with_site_certainty", "census_trend", "VILLAGE_COLUMNS",
]
