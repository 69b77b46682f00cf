"""Shared by the fairness, robust, alternatives and backup models: a checked coverage
instance (fixed sites folded in) and the z-form MIP over its candidate sites.

Variables are ``y_j`` (open candidate ``j``, binary) then ``z_r`` (row ``r`` covered,
continuous in [0, 1]) for the rows no fixed site reaches but some candidate does, then any
extra columns a model adds.  ``z_r <= Σ_j a_rj y_j`` and ``Σ_j y_j <= p`` are always there.
Every answer is re-evaluated exactly from the chosen sites; HiGHS's dual bound is the
certificate.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from geoplan.exceptions import InputError
from geoplan.optimize import _validate as V
from geoplan.optimize._highs import run_highs
from geoplan.optimize.solution import Status, relative_gap

OPT_GAP = 1e-6


@dataclass(frozen=True, eq=False)
class CoverInstance:
    """A coverage problem with its fixed sites applied."""

    A: sp.csr_matrix  # (n, m) 0/1 over all sites
    w: np.ndarray  # (n,) weights
    p: int
    fixed: np.ndarray  # sorted fixed site indices
    cand: np.ndarray  # sorted candidate (non-fixed) site indices
    bonus: np.ndarray  # (m,)
    fixcov: np.ndarray  # (n,) bool: a fixed site reaches the row
    rows: np.ndarray  # rows with a z variable (not fixed-covered, some candidate reaches them)
    Ar: sp.csr_matrix  # A[rows][:, cand] (0/1)
    time_limit: float
    seed: int
    groups: np.ndarray | None = None  # per site: group (town) label, for group minimums
    min_per_group: Any = 0  # as given (passed on to max_coverage)
    group_need: sp.csr_matrix | None = None  # (G', n_cand) rows Σ_{j in g} y_j >= need_g
    group_rhs: np.ndarray | None = None
    gmin: np.ndarray | None = None  # per group: open sites it needs (fixed included)

    @property
    def n(self) -> int:
        return int(self.A.shape[0])

    def covered(self, sel: np.ndarray) -> np.ndarray:
        """Per row: reached by a fixed site or one of ``sel`` (site indices)."""
        out = self.fixcov.copy()
        if len(sel):
            out |= np.asarray(self.A[:, np.asarray(sel, np.int64)].sum(axis=1)).ravel() > 0
        return out

    def coverage_args(self) -> dict[str, Any]:
        """Keyword arguments passing the fixed sites, bonus and group rules on to ``max_coverage``."""
        return {"weights": self.w, "fixed": self.fixed, "site_bonus": self.bonus, "groups": self.groups,
                "min_per_group": self.min_per_group}

    def objective(self, sel: np.ndarray, w: np.ndarray | None = None) -> float:
        """Newly covered weight (rows no fixed site reaches) plus the bonus of ``sel``."""
        ww = self.w if w is None else w
        cov = self.covered(sel)
        return float(ww[cov & ~self.fixcov].sum() + self.bonus[np.asarray(sel, np.int64)].sum())


def instance(coverage: Any, p: Any, *, weights: Any = None, fixed: Any = None, site_bonus: Any = None,
             time_limit: Any = 60, seed: Any = 0, groups: Any = None, min_per_group: Any = 0) -> CoverInstance:
    """Check the shared arguments (InputError naming each) and fold in the fixed sites.

    ``groups``/``min_per_group`` are :func:`geoplan.optimize.max_coverage`'s: each group needs
    that many open sites, fixed ones included.
    """
    args = V.model_inputs(coverage, "coverage", binary=True, weights_=weights, fixed=fixed, solver="auto",
                          time_limit_=time_limit, p=p, site_bonus=site_bonus)
    A, w, fx = args.matrix, args.weights, args.fixed
    m = A.shape[1]
    is_cand = np.ones(m, bool)
    is_cand[fx] = False
    cand = np.flatnonzero(is_cand).astype(np.int64)
    if args.p > len(cand):
        raise InputError(f"p: {args.p} is larger than the number of candidate (non-fixed) sites {len(cand)}")
    fixcov = (np.asarray(A[:, fx].sum(axis=1)).ravel() > 0) if len(fx) else np.zeros(A.shape[0], bool)
    Ac = sp.csr_matrix(A[:, cand])
    reach = np.diff(Ac.indptr) > 0
    rows = np.flatnonzero(reach & ~fixcov).astype(np.int64)
    grp, G = V.labels(groups, m, "groups")
    need_rows, rhs, gmin = None, None, None
    if grp is None:
        if np.any(np.asarray(min_per_group) != 0):
            raise InputError("min_per_group: needs groups (one group label per site)")
    else:
        gmin = V.per_group(min_per_group, G, "min_per_group", 0.0)
        have = np.bincount(grp[fx], minlength=G) if len(fx) else np.zeros(G)
        need = np.maximum(gmin - have, 0)
        avail = np.bincount(grp[cand], minlength=G)
        short = np.flatnonzero(need > avail)
        if len(short):
            g = int(short[0])
            raise InputError(f"min_per_group: group {g} needs {int(need[g])} more site(s) but has {int(avail[g])} "
                             "candidate(s)")
        if need.sum() > args.p:
            raise InputError(f"min_per_group: groups need {int(need.sum())} new sites in total, more than p={args.p}")
        act = np.flatnonzero(need > 0)
        if len(act):
            pos = {int(g): i for i, g in enumerate(act)}
            keep = np.isin(grp[cand], act)
            need_rows = sp.csr_matrix((np.ones(int(keep.sum())), ([pos[int(g)] for g in grp[cand][keep]],
                                                                  np.flatnonzero(keep))), shape=(len(act), len(cand)))
            rhs = need[act].astype(float)
    return CoverInstance(A=A, w=w, p=args.p, fixed=fx, cand=cand, bonus=args.bonus, fixcov=fixcov, rows=rows,
                         Ar=sp.csr_matrix(Ac[rows]), time_limit=args.time_limit, seed=V.seed(seed), groups=grp,
                         min_per_group=min_per_group if grp is not None else 0, group_need=need_rows,
                         group_rhs=rhs, gmin=gmin)


@dataclass
class ZForm:
    """The z-form MIP of an instance, with room for more rows and columns."""

    inst: CoverInstance
    extra: int = 0  # extra continuous columns after y and z
    c: np.ndarray = field(init=False)
    lo: np.ndarray = field(init=False)
    hi: np.ndarray = field(init=False)
    integer: np.ndarray = field(init=False)
    blocks: list[sp.csr_matrix] = field(init=False)
    rlo: list[np.ndarray] = field(init=False)
    rhi: list[np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        inst = self.inst
        mc, nr = len(inst.cand), len(inst.rows)
        self.c = np.zeros(self.ncols)
        self.lo = np.zeros(self.ncols)
        self.hi = np.ones(self.ncols)
        self.hi[mc + nr:] = np.inf
        self.integer = np.zeros(self.ncols, bool)
        self.integer[:mc] = True
        link = sp.hstack([-inst.Ar, sp.identity(nr, format="csr"), sp.csr_matrix((nr, self.extra))], format="csr")
        budget = sp.csr_matrix(np.concatenate([np.ones(mc), np.zeros(nr + self.extra)])[None, :])
        self.blocks = [link, budget]
        self.rlo = [np.full(nr, -np.inf), np.array([-np.inf])]
        self.rhi = [np.zeros(nr), np.array([float(inst.p)])]
        if inst.group_need is not None and inst.group_rhs is not None:  # group minimums over the y columns
            k = inst.group_need.shape[0]
            self.blocks.append(sp.hstack([inst.group_need, sp.csr_matrix((k, nr + self.extra))], format="csr"))
            self.rlo.append(inst.group_rhs)
            self.rhi.append(np.full(k, np.inf))

    @property
    def mc(self) -> int:
        return len(self.inst.cand)

    @property
    def nr(self) -> int:
        return len(self.inst.rows)

    @property
    def ncols(self) -> int:
        return self.mc + self.nr + self.extra

    def coverage_objective(self, w: np.ndarray | None = None) -> np.ndarray:
        """Objective coefficients of "newly covered weight + bonus" (weights ``w`` or the instance's)."""
        ww = self.inst.w if w is None else w
        c = np.zeros(self.ncols)
        c[:self.mc] = self.inst.bonus[self.inst.cand]
        c[self.mc:self.mc + self.nr] = ww[self.inst.rows]
        return c

    def z_rows_by_group(self, labels: np.ndarray, n_groups: int, w: np.ndarray) -> sp.csr_matrix:
        """``(n_groups, ncols)``: per group, ``Σ_{r in group} w_r z_r``."""
        r = self.inst.rows
        return sp.csr_matrix((w[r], (labels[r], self.mc + np.arange(self.nr))), shape=(n_groups, self.ncols))

    def add_rows(self, M: sp.csr_matrix | np.ndarray, lo: Any, hi: Any) -> None:
        M = sp.csr_matrix(M)
        assert M.shape[1] == self.ncols, "row block width must match the model's columns"
        self.blocks.append(M)
        self.rlo.append(np.asarray(lo, float))
        self.rhi.append(np.asarray(hi, float))

    def start(self, sel: np.ndarray | None) -> np.ndarray | None:
        """A MIP start from site indices ``sel`` (z from coverage; extras left to HiGHS as 0)."""
        if sel is None:
            return None
        pos = np.searchsorted(self.inst.cand, np.asarray(sel, np.int64))
        y = np.zeros(self.mc)
        y[pos] = 1.0
        z = np.minimum(np.asarray(self.inst.Ar @ y).ravel(), 1.0)
        return np.concatenate([y, z, np.zeros(self.extra)])

    def solve(self, maximize: bool, time_limit: float, start: np.ndarray | None = None,
              fix_open: np.ndarray | None = None, fix_closed: np.ndarray | None = None
              ) -> tuple[np.ndarray | None, np.ndarray | None, float, float, str]:
        """Solve; returns ``(selected site indices | None, x | None, objective, bound, status)``."""
        lo, hi = self.lo.copy(), self.hi.copy()
        if fix_open is not None and len(fix_open):
            lo[np.searchsorted(self.inst.cand, fix_open)] = 1.0
        if fix_closed is not None and len(fix_closed):
            hi[np.searchsorted(self.inst.cand, fix_closed)] = 0.0
        A = sp.vstack(self.blocks, format="csr")
        x, obj, bound, status = run_highs(self.c, lo, hi, A, np.concatenate(self.rlo), np.concatenate(self.rhi),
                                          self.integer, maximize, time_limit, self.inst.seed, start)
        if x is None:
            return None, None, obj, bound, status
        sel = self.inst.cand[np.flatnonzero(x[:self.mc] > 0.5)]
        return np.sort(sel).astype(np.int64), x, obj, bound, status


def group_labels(labels: Any, n: int, name: str) -> tuple[np.ndarray, int]:
    """Per-demand group labels (any hashable values) → dense codes 0..G-1 and G."""
    arr = np.asarray(labels)
    if arr.shape != (n,):
        raise InputError(f"{name}: expected one label per demand point ({n}), got shape {arr.shape}")
    if arr.dtype.kind == "f" and np.isnan(arr).any():
        raise InputError(f"{name}: contains NaN (row {int(np.flatnonzero(np.isnan(arr))[0])})")
    uniq, codes = np.unique(arr, return_inverse=True)
    return codes.astype(np.int64), len(uniq)


def group_sums(values: np.ndarray, labels: np.ndarray, G: int) -> np.ndarray:
    """Per group: the sum of ``values``."""
    return np.bincount(labels, weights=values, minlength=G)


def gap_status(objective: float, bound: float, status: str) -> tuple[float, Status]:
    """Certified relative gap (max sense) and the status it supports."""
    gap = relative_gap(objective, bound, "max")
    if gap <= OPT_GAP:
        return gap, "optimal"
    return gap, "time_limit" if status == "time_limit" else "feasible"
