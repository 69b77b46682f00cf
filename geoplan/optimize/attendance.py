"""Attendance with distance decay."""
from __future__ import annotations

import time
from typing import Any, Literal, get_args

import numpy as np
import scipy.sparse as sp

from geoplan.exceptions import InputError
from geoplan.optimize import _validate as V
from geoplan.optimize._benefit import solve_benefit
from geoplan.optimize._helpers import candidates
from geoplan.optimize.solution import Solution, SolverName

__all__ = ["max_attendance", "decay_function", "Decay"]

#: Distance-decay shapes of :func:`decay_function`.
Decay = Literal["linear", "power", "exponential"]
DECAYS: tuple[str, ...] = get_args(Decay)


def decay_function(d: np.ndarray, decay: Decay = "linear", cutoff: float = 3000.0,
                   beta: float | None = None) -> np.ndarray:
    """Share of people who attend at distance ``d`` (metres); 0 beyond ``cutoff``.

    * ``"linear"``: ``1 - d / cutoff``;
    * ``"power"``: ``(1 + d / 1000) ** -beta`` (``beta`` default 2);
    * ``"exponential"``: ``exp(-beta * d / 1000)`` (``beta`` per km, default 1).

    Parameters
    ----------
    d
        Distances in metres.
    decay
        ``"linear"``, ``"power"`` or ``"exponential"``.
    cutoff
        Distance in metres beyond which nobody attends.
    beta
        Decay parameter (see above); ``None`` for the default.

    Returns
    -------
    numpy.ndarray
        Attendance shares in [0, 1], same shape as ``d``.

    Examples
    --------
    >>> from geoplan.optimize import decay_function
    >>> decay_function([0, 1500, 3000, 4000], cutoff=3000).tolist()
    [1.0, 0.5, 0.0, 0.0]
    >>> decay_function([1000], "power").round(3).tolist()  # (1 + 1)^-2
    [0.25]
    """
    d = np.asarray(d, float)
    if decay == "linear":
        f = 1.0 - d / cutoff
    elif decay == "power":
        f = (1.0 + d / 1000.0) ** (-(2.0 if beta is None else beta))
    elif decay == "exponential":
        f = np.exp(-(1.0 if beta is None else beta) * d / 1000.0)
    else:
        raise InputError(f"decay: must be one of {DECAYS}, got {decay!r}")
    return np.where(d <= cutoff, np.clip(f, 0.0, 1.0), 0.0)


def max_attendance(
    cost: Any,
    p: int,
    *,
    weights: Any = None,
    decay: Decay = "linear",
    cutoff: float = 3000,
    beta: float | None = None,
    fixed: Any = None,
    site_bonus: Any = None,
    groups: Any = None,
    min_per_group: Any = 0,
    group_caps: Any = None,
    solver: SolverName = "auto",
    time_limit: float = 60,
    seed: int = 0,
) -> Solution:
    """Choose ``p`` new sites maximising expected attendance.

    Each demand point attends its best open site (fixed or new);
    attendance is ``Σ_i w_i · max_j f(d_ij)`` with ``f`` from
    :func:`decay_function`.

    Parameters
    ----------
    cost
        ``(n_demand, n_sites)`` distances in metres; for sparse input only
        stored pairs are reachable (dense: ``inf`` = unreachable).
    p
        Number of new sites.
    weights
        Non-negative demand weights (default 1 each).
    decay, cutoff, beta
        Decay shape, cutoff in metres and its parameter.
    fixed, site_bonus, groups, min_per_group, group_caps, solver, time_limit, seed
        As in :func:`~geoplan.optimize.max_coverage`.

    Returns
    -------
    Solution
        ``objective`` = total expected attendance (fixed sites included) +
        bonus of the selected sites; ``assignment`` = site each demand point
        attends (-1 if none).

    Examples
    --------
    Two villages of 100 people, 1 km and 2 km from site 0, 2 km and 0 km
    from site 1 (linear decay to 0 at 3 km):

    >>> import numpy as np
    >>> from geoplan.optimize import max_attendance
    >>> d = np.array([[1000.0, 2000.0], [2000.0, 0.0]])
    >>> sol = max_attendance(d, 1, weights=[100, 100])
    >>> sol.selected.tolist(), round(sol.objective, 1), sol.assignment.tolist()
    ([1], 133.3, [1, 1])
    """
    t0 = time.perf_counter()
    args = V.model_inputs(cost, "cost", binary=False, weights_=weights, fixed=fixed, solver=solver,
                          time_limit_=time_limit, p=p, site_bonus=site_bonus)
    C, w, p, fx, bonus = args.matrix, args.weights, args.p, args.fixed, args.bonus
    seed = V.seed(seed)
    n, m = C.shape
    if decay not in DECAYS:
        raise InputError(f"decay: must be one of {DECAYS}, got {decay!r}")
    try:
        cutoff = float(cutoff)
    except (TypeError, ValueError) as exc:
        raise InputError(f"cutoff: must be a positive number of metres, got {cutoff!r}") from exc
    if not cutoff > 0 or not np.isfinite(cutoff):
        raise InputError(f"cutoff: must be a positive number of metres, got {cutoff!r}")
    if beta is not None:
        beta = V.number(beta, "beta")
        if beta < 0:
            raise InputError(f"beta: must be >= 0, got {beta!r}")
    cands = candidates(groups, min_per_group, group_caps, m, fx, p)
    rows = np.repeat(np.arange(n), np.diff(C.indptr))
    val = w[rows] * decay_function(C.data, decay, cutoff, beta)
    Bfull = sp.csr_matrix((val, C.indices, C.indptr), shape=(n, m))
    return solve_benefit(Bfull, w, p, fx, bonus, cands, args.solver, args.time_limit, seed, t0, offset=None)
