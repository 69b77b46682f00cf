"""Lagrangian upper bound (subgradient) with variable fixing.

For ``max Σ_i max_{j∈S} B_ij + Σ_{j∈S} bonus_j, |S| <= p`` relax the
assignment rows ``Σ_j x_ij <= 1`` with multipliers ``u_i >= 0``::

    L(u) = Σ_i u_i + top_p( bonus_j + Σ_i max(0, B_ij - u_i) )

which is a valid upper bound for every ``u >= 0``.  Group *minimums* are kept
in the subproblem: it then takes the best ``gmin_g`` sites of every group
first and the best remaining ones after that, which is exact for the
subproblem because every ``v_j >= 0``; group caps are dropped (that only
loosens the bound).  For max coverage (``B_ij = w_i a_ij``) it is
the classic relaxation of ``z_i <= Σ_j a_ij y_j``.  The best ``L`` equals the
LP relaxation bound.

Fixing: with ``v`` the reduced site values and ``T`` the top ``p``,
``L - v_p + v_j`` bounds every solution that opens ``j ∉ T`` and
``L - v_j + v_{p+1}`` every solution that closes ``j ∈ T``; when such a bound
is below the incumbent, ``y_j`` can be fixed to 0 / 1 without losing any
*better* solution.
"""
from __future__ import annotations

import time

import numpy as np

from geoplan.optimize._helpers import gather
from geoplan.optimize.greedy import Model, row_top2

__all__ = ["subgradient", "bound_from_multipliers", "round_bound"]


def _slack(x: float | np.ndarray) -> float | np.ndarray:
    """Rounding slack for floor(): relative, so that float error in a sum of
    ~1e8 (or a solver bound within its tolerances) never rounds a valid bound
    below the integer optimum.
    """
    return np.maximum(1e-6, 1e-9 * np.abs(x))


def round_bound(model: Model, ub: float) -> float:
    """An upper bound rounded down to an integer when every objective value is one."""
    if model.integral and np.isfinite(ub):
        return float(np.floor(ub + _slack(ub)))
    return float(ub)


def _site_values(model: Model, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reduced site values ``v_j = bonus_j + Σ_i max(0, B_ij - u_i)`` and the
    positive part per stored entry (general models) or per row (coverage).

    Coverage models have ``B_ij = w_i`` on their pattern, so the positive
    part depends on the row only and ``v`` is one product with the
    transposed pattern: about 4x faster than the per-entry form, which is
    what the subgradient spends its time on.
    """
    if model.coverage and model.w is not None:
        r = np.maximum(model.w - u, 0.0)
        return model.bonus + model.pattern[1] @ r, r > 0
    red = model.B.data - u[model.rows]
    pos = red > 0
    return model.bonus + np.bincount(model.B.indices[pos], weights=red[pos], minlength=model.m), pos


def _served_count(model: Model, pos: np.ndarray, intop: np.ndarray) -> np.ndarray:
    """Per row, the number of open (``intop``) sites with a positive reduced benefit."""
    if model.coverage and model.w is not None:
        # from the open sites' columns only (p of m; at 200,000 × 400,000 with
        # p = 5,000 a 50th of the product over the whole pattern)
        PT = model.pattern[1]
        rows = gather(PT.indptr, PT.indices, np.flatnonzero(intop))[0]
        return np.where(pos, np.bincount(rows, minlength=model.n).astype(float), 0.0)
    return np.bincount(model.rows[pos & intop[model.B.indices]], minlength=model.n).astype(float)


def _top_with_minimums(v: np.ndarray, p: int, grp: np.ndarray, gmin: np.ndarray) -> np.ndarray:
    """The ``p`` sites of largest ``v`` with at least ``gmin[g]`` from each group ``g``."""
    m = len(v)
    order = np.lexsort((np.arange(m), -v, grp))
    g_sorted = grp[order]
    start = np.searchsorted(g_sorted, g_sorted, side="left")
    rank = np.arange(m) - start
    req = np.zeros(m, bool)
    req[order[rank < gmin[g_sorted]]] = True
    k = p - int(req.sum())
    if k <= 0:
        return np.flatnonzero(req)
    rest = np.flatnonzero(~req)
    if k < len(rest):
        rest = rest[np.lexsort((rest, -v[rest]))[:k]]  # ties by index: reproducible
    return np.concatenate([np.flatnonzero(req), rest])


def subgradient(
    model: Model,
    incumbent: np.ndarray,
    lb: float,
    deadline: float,
    max_iter: int = 400,
    u0: np.ndarray | None = None,
    lam0: float = 2.0,
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(ub, fix0, fix1, top, u)``.

    ``ub`` is a valid upper bound on the optimum; ``fix0``/``fix1`` mark sites
    that may be fixed closed / open when looking for solutions better than
    ``lb``; ``top`` is the subproblem's site set at the best multipliers (a
    good start for a Lagrangian heuristic) and ``u`` those multipliers.
    Starting from given ones (``u0``, step factor ``lam0``) resumes a run:
    after a better incumbent is found, resuming from the best ``u`` with the
    new ``lb`` fixes far more sites than starting over.
    """
    # ~75 lines of code: one subgradient loop (bound, fixing and step share
    # the reduced values of each iteration), kept together to stay readable.
    n, m = model.n, model.m
    p = min(model.p, m)
    fix0 = np.zeros(m, bool)
    fix1 = np.zeros(m, bool)
    if m == 0 or p == 0:
        return 0.0, ~fix0, fix1, np.zeros(0, np.int64), np.zeros(n)
    tol = model.tol(lb)
    scale = max(1.0, abs(lb))
    if u0 is None:
        u = row_top2(model, incumbent)[0].copy()
    else:
        u = np.maximum(np.asarray(u0, float), 0.0)
    best_u = u
    best_L = np.inf
    best_top = np.asarray(incumbent, np.int64)
    lam = lam0
    stall = 0
    use_min = model.grp is not None and model.gmin is not None and bool((model.gmin > 0).any())
    for it in range(max_iter):
        v, pos = _site_values(model, u)
        if p < m:
            part = np.argpartition(-v, p - 1)
            top = part[:p]
            rest = part[p:]
            vp = v[top].min()
            vq = v[rest].max()
        else:
            top = np.arange(m)
            rest = np.zeros(0, np.int64)
            vp, vq = 0.0, 0.0
        L = float(u.sum() + v[top].sum())
        intop = np.zeros(m, bool)
        intop[top] = True
        # fixing uses the group-free relaxation (valid, an upper bound of the constrained one)
        fix0 |= ~intop & (L - vp + v < lb - tol)
        fix1 |= intop & (L - v + vq < lb - tol)
        if use_min:
            assert model.grp is not None and model.gmin is not None, "use_min implies grp and gmin are set"
            top = _top_with_minimums(v, p, model.grp, model.gmin)
            L = float(u.sum() + v[top].sum())
            intop[:] = False
            intop[top] = True
        if L < best_L - 1e-12 * scale:
            best_L = L
            if not use_min and p < m:
                # argpartition's choice among tied values is unspecified:
                # pick ties by lowest index so the heuristic start is reproducible
                above = np.flatnonzero(v > vp)
                top = np.concatenate([above, np.flatnonzero(v == vp)[:p - len(above)]])
            best_top = np.sort(top).astype(np.int64)
            best_u = u
            stall = 0
        else:
            stall += 1
            if stall >= 15:
                lam *= 0.5
                stall = 0
        if round_bound(model, best_L) - lb <= tol or lam < 1e-4 or time.perf_counter() > deadline:
            break
        g = 1.0 - _served_count(model, pos, intop)
        g[(u <= 0) & (g > 0)] = 0.0
        # einsum, not g @ g: BLAS's threads busy-wait on a loaded machine and
        # made this one product 5 ms of a 10 ms iteration (0.3 ms with einsum)
        nrm = float(np.einsum("i,i->", g, g))
        if nrm <= 0:
            break  # u is optimal for the dual
        step = lam * max(L - lb, 1e-9 * scale) / nrm
        u = np.maximum(u - step * g, 0.0)
    ub = round_bound(model, best_L)
    return max(ub, lb), fix0, fix1, best_top, best_u


def bound_from_multipliers(model: Model, u: np.ndarray, lb: float
                           ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Bound and fixing at given multipliers ``u >= 0`` (e.g. LP duals).

    Returns ``(ub, fix0, fix1, v, top)``: the (rounded) bound ``L(u)``, the
    sites that may be fixed closed / open when looking for solutions better
    than ``lb`` (same rules as :func:`subgradient`), the reduced site
    values ``v`` and the subproblem's top-``p`` sites.  Group rules are
    dropped, which keeps every statement valid (a relaxation).
    """
    m = model.m
    p = min(model.p, m)
    u = np.maximum(np.asarray(u, float), 0.0)
    v = _site_values(model, u)[0]
    order = np.argsort(-v, kind="stable")
    top = np.sort(order[:p]).astype(np.int64)
    L = float(u.sum() + v[order[:p]].sum())
    vp = float(v[order[p - 1]]) if p > 0 else 0.0
    vq = float(v[order[p]]) if p < m else 0.0
    intop = np.zeros(m, bool)
    intop[top] = True
    tol = model.tol(lb)
    fix0 = ~intop & (L - vp + v < lb - tol) if p < m else np.zeros(m, bool)
    fix1 = intop & (L - v + vq < lb - tol) if p < m else np.zeros(m, bool)
    if model.integral:
        # an improving solution is worth at least lb + 1
        b0, b1 = L - vp + v, L - v + vq
        fix0 = ~intop & (np.floor(b0 + _slack(b0)) < lb + 1 - tol) if p < m else fix0
        fix1 = intop & (np.floor(b1 + _slack(b1)) < lb + 1 - tol) if p < m else fix1
    return max(round_bound(model, L), lb), fix0, fix1, v, top
