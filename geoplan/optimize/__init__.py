"""Site-selection optimizers: max coverage, set cover, p-median, attendance,
closures.  Exact sparse MIPs (HiGHS) and greedy + swap heuristics certified
by Lagrangian / LP bounds; every optimizer returns a :class:`Solution` with a
proven bound and gap (:func:`closure_impact`, which optimizes nothing, returns
a :class:`ClosureImpact` table).

>>> from geoplan.optimize import max_coverage, set_cover, p_median, max_attendance
"""
from __future__ import annotations

from geoplan.optimize.attendance import decay_function, max_attendance
from geoplan.optimize.closures import (
    ClosureImpact,
    ClosurePlan,
    close_least_loss,
    closure_impact,
    minimal_keep_set,
)
from geoplan.optimize.coverage import max_coverage, set_cover
from geoplan.optimize.pmedian import p_median
from geoplan.optimize.solution import Solution

__all__ = [
    "Solution",
    "ClosureImpact",
    "ClosurePlan",
    "max_coverage",
    "set_cover",
    "p_median",
    "max_attendance",
    "decay_function",
    "closure_impact",
    "close_least_loss",
    "minimal_keep_set",
]
