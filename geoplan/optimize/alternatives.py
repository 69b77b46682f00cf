"""How sure each site is: diverse near-optimal plans, firm / swappable / only-one sites,
and what forcing a candidate into the plan would cost.

The optimum comes from :func:`geoplan.optimize.max_coverage` (with its certified bound).
Every further plan is an exact HiGHS MIP: as few sites of earlier plans as possible
(each earlier plan also cut off), subject to its objective reaching ``threshold =
(1 - tolerance) × bound`` — so each plan is *proven* within ``tolerance`` of the optimum,
whatever the optimum is.  When that MIP is infeasible no other plan within the tolerance
exists (``exhausted``).

Forcing a candidate ``j`` in costs ``OPT - OPT_j``.  For every candidate the result brackets it:
``force_high`` is the cost of the best single swap into the optimal plan (a plan with ``j``
exists at that cost), ``force_low`` is ``max(0, objective - bound(p-1) - value(j))`` (no plan
with ``j`` can do better than the best ``p - 1`` other sites plus all ``j`` reaches);
``exact_force`` candidates get their own MIP and a bracket as tight as its gap.

>>> import numpy as np
>>> from geoplan.optimize.alternatives import alternatives
>>> A = np.array([[1, 1, 0], [0, 0, 1]])
>>> alt = alternatives(A, 1, weights=[10, 1], tolerance=0.0, n_plans=3)
>>> [p.tolist() for p in alt.plans], alt.exhausted
([[0], [1]], True)
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from geoplan.exceptions import InputError
from geoplan.optimize import _cover_mip as C
from geoplan.optimize import _validate as V
from geoplan.optimize.solution import Solution

__all__ = ["Alternatives", "alternatives"]


@dataclass(frozen=True, eq=False)
class Alternatives:
    """Diverse near-optimal plans and how sure each site is.

    Attributes
    ----------
    optimum
        The maximal-coverage answer (``plans[0]``) with its bound.
    plans, objectives
        Site indices (new sites) of each plan and its objective; ``plans[0]`` is the optimum.
    threshold
        Every plan's objective is at least this; ``certified`` when it is
        ``(1 - tolerance) × optimum.bound`` (then each plan is proven within the tolerance).
    exhausted
        The search proved that no further distinct plan reaches the threshold.
    site, kind, n_plans, swaps
        Per site of the optimal plan: ``"firm"`` (in every plan), ``"swappable"`` (in some;
        ``swaps`` lists the sites that replace it in the others, most overlapping first)
        or ``"only-one"`` (in no other plan).
    candidates, force_low, force_high
        Per candidate not in the optimal plan: the cost of forcing it in lies in
        ``[force_low, force_high]``.
    exact
        Candidate → ``(cost low, cost high)`` from its own MIP (tight when proven).
    """

    optimum: Solution
    plans: list[np.ndarray]
    objectives: np.ndarray
    threshold: float
    tolerance: float
    certified: bool
    exhausted: bool
    site: np.ndarray
    kind: np.ndarray
    n_plans: np.ndarray
    swaps: list[list[int]]
    candidates: np.ndarray
    force_low: np.ndarray
    force_high: np.ndarray
    exact: dict[int, tuple[float, float]]
    seconds: float

    def site_table(self) -> pd.DataFrame:
        """Per optimal-plan site: kind, how many plans hold it, its swaps."""
        return pd.DataFrame({"site": self.site, "kind": self.kind, "n_plans": self.n_plans,
                             "swaps": [", ".join(map(str, s)) for s in self.swaps]})

    def force_table(self, top: int | None = None) -> pd.DataFrame:
        """Per candidate: the bracket of the cost to force it in, cheapest first."""
        df = pd.DataFrame({"site": self.candidates, "force_low": self.force_low, "force_high": self.force_high})
        for j, (lo, hi) in self.exact.items():
            df.loc[df["site"] == j, ["force_low", "force_high"]] = (lo, hi)
        df = df.sort_values(["force_high", "site"], kind="stable").reset_index(drop=True)
        return df.head(top) if top is not None else df


def _swap_costs(inst: C.CoverInstance, base: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per candidate outside ``base``: (candidate ids, best single-swap cost, index of the site it replaces).

    objective(S - k + j) = objective(S) - loss_k + U_jk - bonus_k + gain_j + bonus_j, with loss_k the
    weight only k reaches, U_jk the part of it j reaches too, gain_j the weight no open site reaches.
    """
    A, w = inst.A, inst.w
    out = np.setdiff1d(inst.cand, base)
    cnt = np.asarray(A[:, np.union1d(inst.fixed, base).astype(np.int64)].sum(axis=1)).ravel()
    Ac = sp.csc_matrix(A)
    Aout = sp.csc_matrix(Ac[:, out])
    gain = np.asarray(Aout.T @ (w * (cnt == 0))).ravel() + inst.bonus[out]
    if len(base) == 0:
        return out, -gain, np.full(len(out), -1)
    Ab = sp.csc_matrix(Ac[:, base])
    uniq = Ab.multiply(((cnt == 1) * w)[:, None]).tocsc()  # n × |S|: w_r where only k reaches r
    loss = np.asarray(uniq.sum(axis=0)).ravel() + inst.bonus[base]
    U = (Aout.T @ uniq).toarray()  # |out| × |S|
    cost = loss[None, :] - U  # cost of dropping k when j comes in, before j's own gain
    if inst.groups is not None and inst.gmin is not None:  # a swap may not break a group minimum
        grp = inst.groups
        have = np.bincount(grp[np.union1d(inst.fixed, base).astype(np.int64)], minlength=len(inst.gmin))
        pinned = have[grp[base]] - 1 < inst.gmin[grp[base]]
        cost = np.where(pinned[None, :] & (grp[out][:, None] != grp[base][None, :]), np.inf, cost)
    k = np.argmin(cost, axis=1)
    best = cost[np.arange(len(out)), k] - gain
    if len(base) < inst.p:  # budget left: j can simply be added
        add = -gain
        take = add < best
        best = np.where(take, add, best)
        k = np.where(take, -1, k)
    return out, best, k


def alternatives(coverage: Any, p: int, *, weights: Any = None, fixed: Any = None, site_bonus: Any = None,
                 tolerance: float = 0.005, n_plans: int = 5, exact_force: int = 10, time_limit: float = 60,
                 seed: int = 0, groups: Any = None, min_per_group: Any = 0) -> Alternatives:
    """Up to ``n_plans`` diverse plans within ``tolerance`` of the optimum, and how sure each site is.

    Parameters
    ----------
    coverage, weights, p, fixed, site_bonus, seed, groups, min_per_group
        As in :func:`geoplan.optimize.max_coverage` (every plan keeps the group minimums).
    tolerance
        Relative shortfall allowed, in [0, 0.5] (0.005 = within 0.5 % of the optimum).
    n_plans
        Plans wanted, the optimum included (1–50).
    exact_force
        Candidates (cheapest single swap first) whose forcing cost gets its own MIP.
    time_limit
        Seconds in all: a third for the optimum, the rest split between the plans and
        the exact forcing costs.

    Examples
    --------
    >>> A = [[1, 0, 1], [0, 1, 0], [0, 1, 0]]
    >>> alt = alternatives(A, 1, weights=[3, 2, 2], tolerance=0.3, n_plans=3)
    >>> alt.site_table()[["site", "kind"]].values.tolist()
    [[1, 'only-one']]
    """
    from geoplan.optimize import max_coverage

    t0 = time.perf_counter()
    inst = C.instance(coverage, p, weights=weights, fixed=fixed, site_bonus=site_bonus, time_limit=time_limit,
                      seed=seed, groups=groups, min_per_group=min_per_group)
    tol = V.number(tolerance, "tolerance")
    if not 0 <= tol <= 0.5:
        raise InputError(f"tolerance: must be in [0, 0.5] (a share of the optimum), got {tolerance!r}")
    k_plans = V.count(n_plans, "n_plans")
    if not 1 <= k_plans <= 50:
        raise InputError(f"n_plans: must be between 1 and 50, got {n_plans!r}")
    n_exact = V.count(exact_force, "exact_force")
    opt = max_coverage(inst.A, inst.p, **inst.coverage_args(), solver="auto",
                       time_limit=max(inst.time_limit / 3, 0.1), seed=inst.seed)
    base = np.asarray(opt.selected, np.int64)
    base_obj = inst.objective(base)
    threshold = (1 - tol) * opt.bound
    certified = base_obj >= threshold * (1 - 1e-12)
    if not certified:  # the optimum's gap exceeds the tolerance: measure against the plan found
        threshold = (1 - tol) * base_obj
    plans, objs = [base], [base_obj]
    exhausted = False
    per = (inst.time_limit - (time.perf_counter() - t0)) / max(k_plans - 1 + (1 if n_exact else 0), 1)
    eps = 1.0 / (inst.p + 1)  # fewer sites breaks ties; never outweighs one shared site
    for _ in range(k_plans - 1):
        form = C.ZForm(inst)
        used = np.zeros(form.mc)
        for plan in plans:
            used[np.searchsorted(inst.cand, plan)] += 1
        form.c = np.zeros(form.ncols)
        form.c[:form.mc] = used + eps
        form.add_rows(form.coverage_objective()[None, :], [threshold * (1 - 1e-9)], [np.inf])
        for plan in plans:  # every earlier plan cut off
            row = np.zeros(form.ncols)
            row[np.searchsorted(inst.cand, plan)] = 1
            form.add_rows(row[None, :], [-np.inf], [len(plan) - 1])
        sel, _, _, _, status = form.solve(False, max(per, 0.1))
        if sel is None:
            exhausted = status == "infeasible"
            break
        obj = inst.objective(sel)
        if obj < threshold * (1 - 1e-7):  # tolerance of the solver: never report a plan below the threshold
            break
        plans.append(sel)
        objs.append(obj)
    # how sure each site of the optimum is
    counts = {int(j): sum(int(j) in set(pl.tolist()) for pl in plans) for j in base}
    Acsc = sp.csc_matrix(inst.A)
    kinds, swaps = [], []
    for j in base:
        c = counts[int(j)]
        kinds.append("firm" if c == len(plans) else ("only-one" if c == 1 else "swappable"))
        others = [pl for pl in plans[1:] if int(j) not in set(pl.tolist())]
        new = np.setdiff1d(np.concatenate(others) if others else np.zeros(0, np.int64), base)
        rows = Acsc.indices[Acsc.indptr[j]:Acsc.indptr[j + 1]]
        reach_j = np.zeros(inst.n)
        reach_j[rows] = inst.w[rows]
        overlap = np.asarray(Acsc[:, new].T @ reach_j).ravel() if len(new) else np.zeros(0)
        order = np.lexsort((new, -overlap))
        swaps.append([int(new[i]) for i in order if overlap[i] > 0])
    # forcing costs
    out, swap, _ = _swap_costs(inst, base)
    high = np.maximum(swap + (opt.bound - base_obj), 0.0)  # OPT - OPT_j <= bound - objective(best swap)
    value0 = np.asarray(sp.csc_matrix(inst.A[:, out]).T @ (inst.w * ~inst.fixcov)).ravel() + inst.bonus[out]
    low = np.zeros(len(out))
    if inst.p >= 1 and len(out):
        # without the group rules: the other p - 1 sites of a plan with j need not keep them alone
        sub = max_coverage(inst.A, inst.p - 1, weights=inst.w, fixed=inst.fixed, site_bonus=inst.bonus, solver="auto",
                           time_limit=max(per / 2, 0.1), seed=inst.seed)
        low = np.maximum(base_obj - sub.bound - value0, 0.0)
    low = np.minimum(low, high)
    exact: dict[int, tuple[float, float]] = {}
    if n_exact and len(out) and inst.p >= 1:
        pick = out[np.lexsort((out, high))][:n_exact]
        each = max((inst.time_limit - (time.perf_counter() - t0)) / len(pick), 0.1)
        for j in pick:
            form = C.ZForm(inst)
            form.c = form.coverage_objective()
            sel, _, _, bound, _ = form.solve(True, each, fix_open=np.array([j]))
            if sel is None:
                continue
            obj_j = inst.objective(sel)
            bound_j = max(float(bound), obj_j)
            lo_j = max(base_obj - bound_j, 0.0)
            hi_j = max(opt.bound - obj_j, 0.0)
            exact[int(j)] = (lo_j, hi_j)
    return Alternatives(optimum=opt, plans=plans, objectives=np.array(objs), threshold=float(threshold),
                        tolerance=tol, certified=bool(certified), exhausted=exhausted, site=base,
                        kind=np.array(kinds, dtype=object), n_plans=np.array([counts[int(j)] for j in base]),
                        swaps=swaps, candidates=out, force_low=low, force_high=high, exact=exact,
                        seconds=time.perf_counter() - t0)
