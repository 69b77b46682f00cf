"""Who serves where: deputy groups ↔ stations, conveners, visiting deputies, committees.

The city's practice, as rules (all parameters live in :class:`Rules`):

* **Groups ↔ stations** (:mod:`~geoplan.assign.stations`) — every active station is
  linked to at least one deputy group, every group to at least one and at most
  ``max_stations_per_group`` stations; links are short (distance from the group's
  home town) and industry stations (``sector`` set) prefer groups rich in that sector.
* **Conveners** (:mod:`~geoplan.assign.conveners`) — each station gets
  ``conveners_per_station`` (1–2) deputies from its linked groups, plus one
  liaison-officer slot (staff, appointed later); no deputy convenes more than
  ``max_convened_per_deputy`` stations.
* **Every deputy enters a station** — through the stations of their group.
* **Visiting deputies** (:mod:`~geoplan.assign.visits`) — each national deputy visits
  one town and keeps fixed contact with 5 residents there; provincial and city
  deputies do the same by group; every town gets a visitor before any town gets a
  second, and under-served towns come first.
* **"1 + 5 + N"** (:mod:`~geoplan.assign.committees`) — each special committee is
  linked to ``committee_groups`` (5) groups matched by sector to its field; no group
  serves two committees unless there are too few groups.

Each rule is solved exactly on sparse candidate arcs: bipartite min-cost flows
with lower and upper bounds (networkx network simplex, the package-private
``_flow`` kernel) for the first, second and last, a rectangular linear assignment
(scipy ``linear_sum_assignment``) for the visits. Costs are metres (integers for
the network simplex), discounted by ``sector_discount`` × sector share. Every flow
has high-cost slack arcs, so it is always feasible: whatever used slack is
reported as a :class:`Shortfall` (rule, where, by how much) and the rest of the
assignment is still returned (:class:`Assignment`). Map layers of an assignment
are in :mod:`geoplan.maps` (:func:`geoplan.maps.assignment_layers`).

Examples
--------
>>> import geoplan
>>> from geoplan.assign import assign
>>> a = assign(geoplan.load(), max_stations_per_group=2)
>>> a.metrics["stations_per_group_max"] <= 2
True
"""
from __future__ import annotations

from geoplan.assign.result import GPKG_LAYERS, Assignment, Shortfall, shortfall_lines
from geoplan.assign.rules import RULES_CHECKED, Rules
from geoplan.assign.solve import assign
from geoplan.vocabulary import KEPT_DECISIONS

__all__ = ["assign", "Rules", "Assignment", "Shortfall", "shortfall_lines", "RULES_CHECKED", "GPKG_LAYERS", "KEPT_DECISIONS"]
