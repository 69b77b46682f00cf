"""What the optimizer models share: candidate and group checks, coverage of
a site set, filling a selection up to ``p`` within group caps, and the one
certification step (clamp the bound, compute the gap, name the status).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp

from geoplan.exceptions import InputError
from geoplan.optimize import _validate as V
from geoplan.optimize.solution import Sense, Status, relative_gap

OPT_GAP = 1e-6  # relative gap at or below which a solution is called optimal


class Groups(NamedTuple):
    """Checked group rules: per-site labels, *remaining* minimum per group
    (fixed sites already counted) and maximum new sites per group; all None
    when the model has no groups.
    """

    grp: np.ndarray | None
    rmin: np.ndarray | None
    gcap: np.ndarray | None


class Candidates(NamedTuple):
    """The group rules and the candidate (non-fixed) sites of a model."""

    groups: Groups
    cand: np.ndarray


class Certificate(NamedTuple):
    """A bound clamped to the objective, its gap and the status it supports."""

    bound: float
    gap: float
    status: Status


def certify(objective: float, bound: float, sense: Sense, status: Status) -> Certificate:
    """The last step of every model: a bound can never be worse than the
    answer it certifies (clamped), the gap follows from both, and
    "optimal" is claimed exactly when the gap shows it (a solver's
    "optimal" with a larger gap becomes "feasible").
    """
    b = (max(float(bound), objective) if sense == "max" else min(float(bound), objective)) + 0.0  # no "-0"
    gap = relative_gap(objective, b, sense)
    if gap <= OPT_GAP:
        status = "optimal"
    elif status == "optimal":  # never claim optimality the numbers do not show
        status = "feasible"
    return Certificate(b, gap, status)


def gather(indptr: np.ndarray, indices: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The stored column indices of ``rows`` of a CSR pattern, and the position in ``rows`` of each."""
    lens = indptr[rows + 1] - indptr[rows]
    total = int(lens.sum())
    owner = np.repeat(np.arange(len(rows)), lens)
    offs = np.arange(total) - np.repeat(np.cumsum(lens) - lens, lens)
    return indices[indptr[rows][owner] + offs], owner


def is_integral(*arrays: np.ndarray) -> bool:
    """Whether every value is an integer (then bounds may be rounded)."""
    return all(np.all(a == np.round(a)) for a in arrays)


def reached(A: sp.csr_matrix, sites: np.ndarray) -> np.ndarray:
    """Per demand row: does any of ``sites`` reach it (all False for no sites)."""
    if len(sites) == 0:
        return np.zeros(A.shape[0], bool)
    return np.asarray(A[:, sites].sum(axis=1)).ravel() > 0


def non_fixed(m: int, fixed: np.ndarray) -> np.ndarray:
    """The candidate sites: all but the fixed ones."""
    is_cand = np.ones(m, bool)
    is_cand[fixed] = False
    return np.flatnonzero(is_cand)


def _groups(groups: Any, min_per_group: Any, group_caps: Any, m: int, fixed: np.ndarray) -> Groups:
    grp, G = V.labels(groups, m, "groups")
    if grp is None:
        if np.any(np.asarray(min_per_group) != 0):
            raise InputError("min_per_group: needs groups (one group label per site)")
        if group_caps is not None:
            raise InputError("group_caps: needs groups (one group label per site)")
        return Groups(None, None, None)
    gmin = V.per_group(min_per_group, G, "min_per_group", 0.0)
    gcap = V.per_group(group_caps, G, "group_caps", np.inf)
    have = np.bincount(grp[fixed], minlength=G) if len(fixed) else np.zeros(G, np.int64)
    return Groups(grp, np.maximum(gmin - have, 0), gcap)


def _check_groups(g: Groups, cand: np.ndarray, p: int) -> None:
    if g.grp is None:
        return
    assert g.rmin is not None and g.gcap is not None, "Groups: grp, rmin and gcap are all set or all None"
    rmin, gcap = g.rmin, g.gcap
    avail = np.bincount(g.grp[cand], minlength=len(rmin))
    bad = np.flatnonzero(rmin > np.minimum(avail, gcap))
    if len(bad):
        k = int(bad[0])
        raise InputError(f"min_per_group: group {k} needs {int(rmin[k])} more site(s) but has "
                         f"{int(avail[k])} candidate(s) and a cap of {gcap[k]:g}")
    if rmin.sum() > p:
        raise InputError(f"min_per_group: groups need {int(rmin.sum())} new sites in total, more than p={p}")


def candidates(groups: Any, min_per_group: Any, group_caps: Any, m: int, fixed: np.ndarray, p: int
               ) -> Candidates:
    """Group labels/minimums/caps and the candidate (non-fixed) sites, checked against ``p``."""
    g = _groups(groups, min_per_group, group_caps, m, fixed)
    cand = non_fixed(m, fixed)
    if p > len(cand):
        raise InputError(f"p: {p} is larger than the number of candidate (non-fixed) sites {len(cand)}")
    _check_groups(g, cand, p)
    return Candidates(g, cand)


def fill_to_p(selected: np.ndarray, allowed: np.ndarray, p: int, grp: np.ndarray | None,
              gcap: np.ndarray | None, *, gain: Callable[[], np.ndarray] | None = None,
              on_add: Callable[[int], None] | None = None) -> np.ndarray:
    """Add sites to ``selected`` until it has ``p``, never past a group's cap.

    Without ``gain`` the sites of ``allowed`` are taken in the given order
    (preference order; ``selected`` ones skipped).  With ``gain`` (current
    gain of every site, recomputed after each ``on_add``) the allowed site of
    largest gain is taken each time, ties by lowest index.  Stops early when
    no allowed site is left.  Returns the sorted selection.
    """
    sel = [int(j) for j in selected]
    cnt: np.ndarray | None = None
    if grp is not None:
        assert gcap is not None, "gcap accompanies grp"
        cnt = np.bincount(grp[np.asarray(sel, np.int64)], minlength=len(gcap))
    if gain is None:
        taken = set(sel)
        for j in allowed:
            if len(sel) >= p:
                break
            j = int(j)
            if j in taken:
                continue
            if grp is not None:
                assert cnt is not None and gcap is not None, "cnt and gcap are set whenever grp is"
                if cnt[grp[j]] >= gcap[grp[j]]:
                    continue
                cnt[grp[j]] += 1
            sel.append(j)
            taken.add(j)
        return np.array(sorted(sel), np.int64)
    avail = np.zeros(len(gain()), bool)
    avail[allowed] = True
    avail[np.asarray(sel, np.int64)] = False
    while len(sel) < p:
        ok = avail.copy()
        if grp is not None:
            assert cnt is not None and gcap is not None, "cnt and gcap are set whenever grp is"
            ok &= cnt[grp] < gcap[grp]
        if not ok.any():
            break
        j = int(np.argmax(np.where(ok, gain(), -np.inf)))
        sel.append(j)
        avail[j] = False
        if on_add is not None:
            on_add(j)
        if grp is not None:
            assert cnt is not None, "cnt is set whenever grp is"
            cnt[grp[j]] += 1
    return np.array(sorted(sel), np.int64)


def floored(Bfull: sp.csr_matrix, fixed: np.ndarray, cand: np.ndarray) -> tuple[np.ndarray, sp.csr_matrix]:
    """``(floor, B)``: each row's best benefit from the ``fixed`` sites, and the benefits of the
    ``cand`` columns above that floor (explicit zeros dropped) — what a candidate can still add.
    """
    floor = np.zeros(Bfull.shape[0])
    if len(fixed):
        sub = Bfull[:, fixed]
        if sub.nnz:
            floor = sub.max(axis=1).toarray().ravel()
    Bc = sp.csr_matrix(Bfull[:, cand])
    rows = np.repeat(np.arange(Bfull.shape[0]), np.diff(Bc.indptr))
    Bc.data = np.maximum(Bc.data - floor[rows], 0.0)
    Bc.eliminate_zeros()
    return floor, Bc
