"""The :class:`Solution` returned by every optimizer."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = ["Solution", "relative_gap", "Status", "Sense", "SolverName"]

#: Outcome of a solve (see :attr:`Solution.status`).
Status = Literal["optimal", "time_limit", "feasible", "infeasible"]
#: Direction of the objective.
Sense = Literal["max", "min"]
#: The ``solver=`` argument every optimizer accepts.
SolverName = Literal["auto", "highs", "greedy"]


def relative_gap(objective: float, bound: float, sense: Sense) -> float:
    """Certified relative gap.

    Maximisation: ``(bound - objective) / bound``; minimisation:
    ``(objective - bound) / objective``.  0 when both are 0; never negative;
    ``inf`` when either value is not finite (no bound, or no objective):
    ``max(0, nan)`` would otherwise report a missing bound as a zero gap.
    """
    if not (np.isfinite(objective) and np.isfinite(bound)):
        return float("inf")
    if sense == "max":
        num, den = bound - objective, abs(bound)
    else:
        num, den = objective - bound, abs(objective)
    if den <= 1e-12:
        return 0.0 if abs(num) <= 1e-9 else float("inf")
    return max(0.0, float(num / den))


@dataclass(frozen=True, eq=False)
class Solution:
    """Result of an optimisation.

    Attributes
    ----------
    selected
        Sorted indices of the *new* sites chosen (fixed sites are never
        listed here).
    objective
        Objective value of ``selected`` (see each function for its meaning).
    bound
        A proven bound on the optimum: an upper bound for maximisation, a
        lower bound for minimisation.
    gap
        Certified relative gap, ``(bound - objective) / bound`` for
        maximisation and ``(objective - bound) / objective`` for minimisation.
    solver
        ``"highs"``, ``"greedy+swap"``, ``"greedy+swap+highs"``,
        ``"greedy"``, ...
    seconds
        Wall-clock time of the call.
    status
        ``"optimal"`` (gap proven <= 1e-6 relative; integral bounds are
        rounded down, so with integer weights usually exactly 0), ``"time_limit"`` (MIP stopped by the
        time limit), ``"feasible"`` (heuristic answer with a gap) or
        ``"infeasible"``.
    sense
        ``"max"`` or ``"min"``.
    covered_weight
        Demand weight covered / served by fixed + selected sites (coverage
        models), else ``nan``.
    covered
        Boolean mask per original demand point (coverage models), or None.
    assignment
        Per original demand point, the site index it is served by (``-1``
        if none), where meaningful, else None.
    unreachable
        Indices of demand points that no candidate (nor fixed site) can reach.
    unreachable_weight
        Their total weight.
    fixed
        The fixed (already open) site indices that were taken into account.
    n_demand_reduced, n_sites_reduced
        Size of the model after demand merging and dominated-site removal.
    extra
        Model-specific extras (e.g. per-station unique coverage).
    """

    selected: np.ndarray
    objective: float
    bound: float
    gap: float
    solver: str
    seconds: float
    status: Status
    sense: Sense = "max"
    covered_weight: float = float("nan")
    covered: np.ndarray | None = None
    assignment: np.ndarray | None = None
    unreachable: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    unreachable_weight: float = 0.0
    fixed: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    n_demand_reduced: int = 0
    n_sites_reduced: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def open_sites(self) -> np.ndarray:
        """Fixed and selected sites together, sorted."""
        return np.union1d(self.fixed, self.selected).astype(np.int64)

    def __repr__(self) -> str:  # short, arrays summarised
        return (f"Solution(n_selected={len(self.selected)}, objective={self.objective:.6g}, "
                f"bound={self.bound:.6g}, gap={self.gap:.3g}, solver={self.solver!r}, "
                f"status={self.status!r}, seconds={self.seconds:.3f})")
