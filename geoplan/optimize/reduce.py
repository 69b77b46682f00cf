"""Model reductions that preserve the optimum.

* :func:`merge_rows` merges demand points with identical covering sets
  (their weights add); rows are hashed, then checked element by element.
* :func:`dominated_sites` drops candidate sites that can never be needed.

Dominance rule (proof sketch).  Define a strict order ``k > j`` when
``cover(j) ⊆ cover(k)``, ``bonus[j] <= bonus[k]``, both are in the same group
(town / cap class), and the pair is not identical or else ``k < j`` (tie by
index).  Let ``D(j)`` be the sites above ``j``.  A site is removed when
``|D(j)| >= t_j`` where ``t_j = 1`` if ``bonus[j] == 0`` and its group has no
remaining minimum (then, if both ``j`` and a dominator are open, dropping
``j`` loses nothing; otherwise swap ``j`` for it), and ``t_j = p`` otherwise
(at most ``p - 1`` other sites are open, so some dominator in the same group
is closed and ``j`` can be swapped for it without lowering the objective or
breaking a group count).  Each swap moves up the order, so repeated swaps end
in an optimal solution that uses no removed site.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from geoplan.optimize.greedy import Model, row_top2

__all__ = ["merge_rows", "dominated_sites", "dominance_pair_budget", "restrict"]

_R1 = np.random.default_rng(0x5EED).integers(1, 2**63 - 1, size=1 << 20, dtype=np.uint64)


def _row_hash(a: sp.csr_matrix, salt: np.ndarray) -> np.ndarray:
    n = a.shape[0]
    lens = np.diff(a.indptr)
    h = np.zeros(n, dtype=np.uint64)
    ne = lens > 0
    if a.nnz:
        vals = salt[a.indices % len(salt)] * (a.indices.astype(np.uint64) // np.uint64(len(salt)) + np.uint64(1))
        with np.errstate(over="ignore"):
            h[ne] = np.add.reduceat(vals, a.indptr[:-1][ne])
    return h


def merge_rows(a: sp.csr_matrix, w: np.ndarray) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Merge rows of the 0/1 CSR ``a`` that have identical patterns.

    Returns
    -------
    (a2, w2, inverse)
        The merged matrix, summed weights, and for each original row the
        index of its merged row.
    """
    n = a.shape[0]
    if n == 0:
        return a, w, np.zeros(0, np.int64)
    a = sp.csr_matrix(a)
    a.sort_indices()
    lens = np.diff(a.indptr).astype(np.uint64)
    h1 = _row_hash(a, _R1)
    h2 = _row_hash(a, _R1[::-1].copy())
    key = np.column_stack([lens, h1, h2])
    _, first, inv = np.unique(key, axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    rep = first[inv]
    # verify (hash collisions are astronomically rare, but be exact)
    L = np.diff(a.indptr)
    elem_row = np.repeat(np.arange(n), L)
    off = np.arange(a.nnz) - a.indptr[elem_row]
    bad_e = a.indices != a.indices[a.indptr[rep[elem_row]] + off]
    if bad_e.any():
        bad_rows = np.unique(elem_row[bad_e])
        inv = inv.copy()
        inv[bad_rows] = inv.max() + 1 + np.arange(len(bad_rows))
        _, first, inv = np.unique(inv, return_index=True, return_inverse=True)
    # order merged rows by first occurrence (deterministic)
    order = np.argsort(first, kind="stable")
    remap = np.empty_like(order)
    remap[order] = np.arange(len(order))
    inv = remap[inv]
    first = first[order]
    w2 = np.bincount(inv, weights=w, minlength=len(first))
    return sp.csr_matrix(a[first]), w2, inv.astype(np.int64)


# Dominance compares every pair of sites that share a demand row: the work is
# the number of such pairs, sum_i deg_i^2 over rows.  Measured on the 2-core
# machine: about 14 ns per pair (Yancheng geography with 4x the venues: 87.6 M
# pairs, 1.2 s, 28,105 of 30,940 sites removed, and the proof 3.3-5.6 s ->
# 1.0-1.2 s).  The product is built in column blocks of at most this many
# pairs, so memory stays bounded whatever the total.
DOMINANCE_BLOCK_PAIRS = 20_000_000
DOMINANCE_SECONDS_PER_PAIR = 14e-9
# Up to this many pairs the check always runs in full (about 0.7 s).
DOMINANCE_ALWAYS_PAIRS = 5e7
# Above it a sample of the sites (DOMINANCE_PROBE_SHARE of the
# work, drawn with a fixed seed) is checked first, and the rest only if at
# least DOMINANCE_MIN_REMOVED of the sample is dominated: on 50,000 x
# 100,000 spread demand with 80 pairs per row the full check (320 M pairs)
# took 4 s of a 30-s limit and removed 19 % of the sites, and the solve
# ended with a wider gap (1.12 % against 0.92 % without it).
DOMINANCE_PROBE_SHARE = 0.05
# Identical columns are grouped first above this many pairs (below it the
# grouping costs more than it saves; see dominated_sites).
DOMINANCE_DEDUP_PAIRS = 1e7
DOMINANCE_MIN_REMOVED = 0.5


def dominated_sites(
    a: sp.csr_matrix,
    bonus: np.ndarray,
    p: int,
    cls: np.ndarray | None,
    single_ok: np.ndarray,
    max_pairs: float = DOMINANCE_ALWAYS_PAIRS,
) -> np.ndarray:
    """Boolean mask of columns of ``a`` (0/1, demand × site) that may be removed.

    ``single_ok[j]`` says one dominator suffices for site ``j`` (zero bonus and
    no remaining group minimum); otherwise ``p`` dominators are needed.
    Returns all-False if the pair count would exceed ``max_pairs`` (see
    :func:`dominance_pair_budget`).  Identical columns are grouped first and
    the pairwise check runs over one column per group; if that still has
    more than ``DOMINANCE_ALWAYS_PAIRS`` pairs, only a sample is checked
    unless it shows the check pays (module constants); a site left unchecked
    is simply kept.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> a = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1], [0, 0, 1]]))
    >>> dominated_sites(a, np.zeros(3), 1, None, np.ones(3, bool)).tolist()  # site 0 ⊆ site 1
    [True, False, False]
    """
    n, m = a.shape
    if m == 0:
        return np.zeros(0, bool)
    deg_all = np.diff(sp.csr_matrix(a).indptr).astype(np.float64)
    pairs = float((deg_all * deg_all).sum())
    if pairs > max_pairs:  # the budget counts every column, so a short limit stays short
        return np.zeros(m, bool)
    c = cls if cls is not None else np.zeros(m, np.int64)
    acc_all = sp.csc_matrix(a, dtype=np.int32)
    acc_all.sort_indices()
    if pairs > DOMINANCE_DEDUP_PAIRS:
        # identical columns (same pattern, bonus and class) first: each is
        # dominated by the lower-indexed ones, so the overlap product only
        # needs one column per group, each overlap counting as the group's
        # size (Yancheng geography with 4x the venues: 30,940 sites, 11,185
        # distinct; the check 0.93 -> 0.31 s)
        rep, group, rank, mult = _identical_columns(acc_all, bonus, c)
        acc = sp.csc_matrix(acc_all[:, rep])
    else:  # grouping costs more than it saves
        rep = group = np.arange(m)
        rank, mult = np.zeros(m, np.int64), np.ones(m)
        acc = acc_all
    ac = acc.tocsr()
    deg = np.diff(ac.indptr).astype(np.float64)
    total = float((deg * deg).sum())
    mr = len(rep)
    cr, bonus_r = c[rep], bonus[rep]
    size = np.diff(acc.indptr)
    thresh = np.where(single_ok, 1, max(int(p), 1))
    # pairs each column takes part in: sum of its rows' degrees
    work = np.asarray(acc.T @ deg).ravel()
    ndom_r = np.zeros(mr, np.float64)
    todo = np.arange(mr)
    if total > DOMINANCE_ALWAYS_PAIRS:
        order = np.random.default_rng(0).permutation(mr)
        k = int(np.searchsorted(np.cumsum(work[order]), DOMINANCE_PROBE_SHARE * total)) + 1
        probe, todo = np.sort(order[:k]), np.sort(order[k:])
        _count_dominators(acc, ac, probe, work, size, bonus_r, cr, mult, ndom_r)
        if (ndom_r[probe] >= thresh[rep[probe]]).mean() < DOMINANCE_MIN_REMOVED:
            todo = todo[:0]
    _count_dominators(acc, ac, todo, work, size, bonus_r, cr, mult, ndom_r)
    ndom = np.rint(ndom_r[group]).astype(np.int64) + rank
    empty = np.diff(acc_all.indptr) == 0
    if empty.any():
        idx = np.arange(m)
        order = np.lexsort((-idx, (~empty).astype(np.int64), bonus, c))
        cs = c[order]
        start = np.searchsorted(cs, cs, side="left")
        end = np.searchsorted(cs, cs, side="right")
        rank_e = np.arange(m) - start
        greater = np.empty(m, np.int64)
        greater[order] = end - start - 1 - rank_e
        ndom[empty] = greater[empty]
    return ndom >= thresh


def _identical_columns(acc: sp.csc_matrix, bonus: np.ndarray, c: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Groups of columns of ``acc`` (indices sorted) that agree in pattern,
    bonus and class.  Returns ``(rep, group, rank, mult)``:
    each group's lowest column index (ascending), every column's group,
    its rank among its group's columns by index, and each group's size.
    """
    m = acc.shape[1]
    pattern = merge_rows(sp.csr_matrix((np.ones(acc.nnz), acc.indices, acc.indptr), shape=acc.shape[::-1]),
                         np.zeros(m))[2]
    idx = np.arange(m)
    order = np.lexsort((idx, c, bonus, pattern))
    keys = np.column_stack([pattern[order], bonus[order], c[order]])
    new = np.r_[True, (keys[1:] != keys[:-1]).any(axis=1)]
    starts = np.flatnonzero(new)
    gid_sorted = np.cumsum(new) - 1
    rank = np.empty(m, np.int64)
    rank[order] = idx - starts[gid_sorted]
    rep_sorted = order[starts]  # lowest index of each group (idx is the last sort key)
    by_rep = np.argsort(rep_sorted, kind="stable")
    rep = rep_sorted[by_rep]
    relabel = np.empty_like(by_rep)
    relabel[by_rep] = np.arange(len(by_rep))
    group = np.empty(m, np.int64)
    group[order] = relabel[gid_sorted]
    mult = np.bincount(group, minlength=len(rep)).astype(np.float64)
    return rep, group, rank, mult


def _count_dominators(acc: sp.csc_matrix, ac: sp.csr_matrix, cols: np.ndarray, work: np.ndarray,
                      size: np.ndarray, bonus: np.ndarray, c: np.ndarray, mult: np.ndarray,
                      ndom: np.ndarray) -> None:
    """Add to ``ndom[j]``, for every ``j`` in ``cols``, the number of sites
    above ``j`` in the dominance order (column ``k`` standing for ``mult[k]``
    sites), by the overlap product in blocks of about
    ``DOMINANCE_BLOCK_PAIRS`` pairs.
    """
    if not len(cols):
        return
    cum = np.cumsum(work[cols])
    edges = np.searchsorted(cum, np.arange(1, int(cum[-1] // DOMINANCE_BLOCK_PAIRS) + 1)
                            * float(DOMINANCE_BLOCK_PAIRS))
    for lo, hi in zip(np.r_[0, edges], np.r_[edges, len(cols)]):
        if hi <= lo:
            continue
        blk = cols[lo:hi]
        M = (acc[:, blk].T @ ac).tocoo()  # overlaps of the block's columns with every column
        j, k, cnt = blk[M.row], M.col, M.data
        cond = (j != k) & (cnt == size[j]) & (bonus[k] >= bonus[j]) & (c[j] == c[k])
        cond &= (size[k] > size[j]) | (bonus[k] > bonus[j]) | (k < j)
        ndom += np.bincount(j[cond], weights=mult[k[cond]], minlength=len(ndom))


def dominance_pair_budget(time_limit: float, share: float = 0.3) -> float:
    """The ``max_pairs`` for :func:`dominated_sites` under a time limit: the
    pair count it checks in about ``share`` of the limit (at least
    ``DOMINANCE_ALWAYS_PAIRS``), so that a short limit is not spent on
    the reduction.  The share is large because the reduction usually pays
    for itself many times over (the Yancheng example above: a 1.2-s
    reduction turns a 5-s limit without a proof into a 1-s proof).

    >>> round(dominance_pair_budget(60))
    1285714286
    """
    return max(DOMINANCE_ALWAYS_PAIRS, share * float(time_limit) / DOMINANCE_SECONDS_PER_PAIR)


def restrict(model: Model, fix0: np.ndarray, fix1: np.ndarray
             ) -> tuple[Model, np.ndarray, np.ndarray, float]:
    """The benefit model with sites ``fix0`` closed and ``fix1`` open removed.

    Each row's value from the fixed-open sites becomes a floor: the new
    benefit is ``max(B_ij - floor_i, 0)`` (entries that cannot beat the floor
    are dropped, so are rows left empty); coverage models have identical
    rows re-merged.  Returns ``(sub, free, open_, const)`` with ``free`` the
    original index of every sub-model site and ``const`` the value of the
    fixed part, so ``value(S) = const + sub_value(S')``.
    """
    open_ = np.flatnonzero(fix1).astype(np.int64)
    free = np.flatnonzero(~(fix0 | fix1)).astype(np.int64)
    floor = row_top2(model, open_)[0] if len(open_) else np.zeros(model.n)
    const = float(floor.sum() + model.bonus[open_].sum())
    B = sp.csr_matrix(model.B[:, free])
    rows = np.repeat(np.arange(model.n), np.diff(B.indptr))
    B.data = B.data - floor[rows]
    B.data[B.data < 0] = 0.0
    B.eliminate_zeros()
    keep = np.diff(B.indptr) > 0
    B = sp.csr_matrix(B[keep])
    w = None
    if model.coverage:
        assert model.w is not None, "coverage models carry their row weights w"
        w = model.w[keep]
        pat = sp.csr_matrix((np.ones(B.nnz), B.indices, B.indptr), shape=B.shape)
        pat, w, _ = merge_rows(pat, w)
        B = sp.csr_matrix(pat.multiply(w[:, None]))
    B.sort_indices()
    grp: np.ndarray | None = None
    gmin: np.ndarray | None = None
    gcap: np.ndarray | None = None
    if model.grp is not None:
        assert model.gmin is not None and model.gcap is not None, "Model invariant: gmin, gcap accompany grp"
        grp = model.grp[free]
        have = np.bincount(model.grp[open_], minlength=len(model.gmin))
        gmin = np.maximum(model.gmin - have, 0)
        gcap = model.gcap - have
    sub = Model(B=B, bonus=model.bonus[free], p=int(model.p - len(open_)), grp=grp, gmin=gmin, gcap=gcap,
                coverage=model.coverage, w=w, integral=model.integral,
                cost_offset=None if model.cost_offset is None else model.cost_offset - const)
    return sub, free, open_, const
