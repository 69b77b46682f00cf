"""One name per concept: the words the planning stages, maps, CLI and API share.

* plan decisions — an existing station is kept or closed, a venue opened;
* venue category labels — how a venue category reads in reasons and on maps.

The category codes themselves (``market``, ``bank``, ...) are the dataset's schema,
:data:`geoplan.datasets.SITE_CATEGORIES`; station tiers are :data:`geoplan.datasets.TIERS`.
"""
from __future__ import annotations

from typing import Literal

__all__ = ["Decision", "DECISIONS", "KEPT_DECISIONS", "CATEGORY_LABELS", "CATEGORY_PLURALS"]

#: A plan's decision about a station: keep or close an existing one, open a new point.
Decision = Literal["keep", "close", "open"]

#: Every decision, in the order reports list them.
DECISIONS: tuple[Decision, ...] = ("keep", "close", "open")

#: Decisions whose stations are in service after the plan.
KEPT_DECISIONS: tuple[Decision, ...] = ("keep", "open")

#: Human-readable name of one venue of each category (used in reasons).
CATEGORY_LABELS: dict[str, str] = {
    "market": "farmers' market",
    "bank": "rural commercial bank",
    "clinic": "village clinic",
    "workshop": "field workshop",
    "enterprise": "leading enterprise",
    "service": "public service window",
    "street": "street",
}

#: The same categories in the plural (map layer names "Venues: farmers' markets").
CATEGORY_PLURALS: dict[str, str] = {
    "market": "farmers' markets",
    "bank": "rural commercial banks",
    "clinic": "village clinics",
    "workshop": "field workshops",
    "enterprise": "leading enterprises",
    "service": "public service windows",
    "street": "streets and alleys",
}
