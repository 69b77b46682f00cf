"""A fast Lagrangian bound for p-median-sized benefit models held densely.

The bound is the one of :mod:`geoplan.optimize.lagrange` (relax the
assignment rows ``Σ_j x_ij <= 1`` with ``u_i >= 0``)::

    L(u) = Σ_i u_i + top_p( Σ_i max(0, B_ij - u_i) )

valid for every ``u >= 0``, with the same fixing rules.  What differs is the
arithmetic: a p-median cost matrix is usually dense (all-pairs shortest
paths), and on a dense ``n × m`` array one iteration is a single vectorised
pass (3-5x faster than the sparse bincount at 1,000 × 1,000, measured), so
many more iterations fit into a second; the step is Polyak's towards the
incumbent with a halving factor, and the run stops at the deadline, when
the bound meets the incumbent, or when the step has vanished.
"""
from __future__ import annotations

import time
from typing import NamedTuple

import numpy as np

DENSE_MAX_ENTRIES = 4_000_000  # n·m up to which the dense bound is used (32 MB of float64)
STALL = 30  # iterations without a better bound before the step factor is halved


class DenseBound(NamedTuple):
    """Best multipliers found and what they prove (benefit / maximisation terms)."""

    ub: float  # L(u) at the best u: an upper bound on the model's optimum
    u: np.ndarray
    top: np.ndarray  # the subproblem's p sites at the best u (sorted)
    fix0: np.ndarray  # sites closed in every solution worth more than lb
    fix1: np.ndarray  # sites open in every solution worth more than lb
    iterations: int


def _values(Bd: np.ndarray, u: np.ndarray) -> np.ndarray:
    return np.maximum(Bd - u[:, None], 0.0).sum(axis=0)


def fixing(L: float, v: np.ndarray, p: int, lb: float, tol: float) -> tuple[np.ndarray, np.ndarray]:
    """Sites that every solution worth more than ``lb`` closes / opens.

    Opening ``j`` outside the top ``p`` (values ``v``) costs at least
    ``v_p - v_j`` against ``L``, closing ``j`` inside it at least
    ``v_j - v_{p+1}``; when ``L`` minus that is below ``lb`` no better
    solution does it.
    """
    m = len(v)
    fix0 = np.zeros(m, bool)
    fix1 = np.zeros(m, bool)
    if p >= m or p <= 0:
        return fix0, fix1
    order = np.argsort(-v, kind="stable")
    intop = np.zeros(m, bool)
    intop[order[:p]] = True
    vp, vq = float(v[order[p - 1]]), float(v[order[p]])
    fix0 = ~intop & (L - vp + v < lb - tol)
    fix1 = intop & (L - v + vq < lb - tol)
    return fix0, fix1


def dense_subgradient(Bd: np.ndarray, p: int, u0: np.ndarray, lb: float, deadline: float,
                      tol: float, max_iter: int = 5000, lam0: float = 2.0) -> DenseBound:
    """Subgradient on ``L(u)`` from ``u0`` (e.g. the incumbent's value per row).

    Returns the best bound and, at its multipliers, the fixing against
    ``lb``.  The iterations run in float32 (half the memory traffic); the
    bound and the fixing reported are recomputed in float64 at the best
    multipliers, so they are exact for those ``u`` whatever the rounding of
    the search.  Deterministic for a given ``max_iter`` when the deadline
    does not bind.
    """
    n, m = Bd.shape
    p = min(p, m)
    B32 = Bd.astype(np.float32)
    buf = np.empty_like(B32)
    u = np.maximum(np.asarray(u0, float), 0.0)
    best_L, best_u = np.inf, u
    lam, stall, it = lam0, 0, 0
    scale = max(1.0, abs(lb))
    # per-row preconditioner: rows move in proportion to their benefit scale
    rs = Bd.max(axis=1) if m else np.ones(n)
    rs = rs / rs.mean() if rs.mean() > 0 else np.ones(n)
    for it in range(1, max_iter + 1):  # noqa: B007 - ``it`` is reported
        u32 = u.astype(np.float32)
        np.subtract(B32, u32[:, None], out=buf)
        np.maximum(buf, 0.0, out=buf)
        v = buf.sum(axis=0, dtype=np.float64)
        top = np.argpartition(-v, p - 1)[:p] if p < m else np.arange(m)
        L = float(u.sum() + v[top].sum())
        if L < best_L - 1e-12 * scale:
            best_L, best_u, stall = L, u, 0
        else:
            stall += 1
            if stall >= STALL:
                lam *= 0.5
                stall = 0
        if best_L - lb <= tol or lam < 1e-5 or time.perf_counter() > deadline:
            break
        # subgradient: 1 - (number of top sites that would serve row i)
        g = 1.0 - (buf[:, top] > 0).sum(axis=1)
        g[(u <= 0) & (g > 0)] = 0.0
        d = rs * g
        nrm = float(g @ d)
        if nrm <= 0:
            break  # u is optimal for the dual
        u = np.maximum(u - lam * max(L - lb, 1e-9 * scale) / nrm * d, 0.0)
    v = _values(Bd, best_u)  # exact, in float64
    order = np.argsort(-v, kind="stable")
    L = float(best_u.sum() + v[order[:p]].sum())
    top = np.sort(order[:p]).astype(np.int64)
    f0, f1 = fixing(L, v, p, lb, tol)
    return DenseBound(L, best_u, top, f0, f1, it)
