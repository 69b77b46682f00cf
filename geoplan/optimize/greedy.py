"""Benefit model, lazy greedy and swap (vertex substitution) local search.

The common model: demand ``i`` gets ``max_{j open} B[i, j]`` (0 if none),
plus ``bonus[j]`` per open site, at most ``p`` open sites, with optional
per-group minimum / maximum counts.  Max coverage is ``B = w_i a_ij``;
attendance and p-median are special cases with other benefits.
"""
from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from geoplan.optimize._helpers import gather

__all__ = ["Model", "greedy", "swap_search", "evaluate", "row_top2"]


@dataclass(eq=False)
class Model:
    """A reduced benefit model (see module docs)."""

    B: sp.csr_matrix
    bonus: np.ndarray
    p: int
    grp: np.ndarray | None = None      # group code per site
    gmin: np.ndarray | None = None     # residual minimum per group
    gcap: np.ndarray | None = None     # maximum new sites per group (inf = none)
    coverage: bool = False             # B rows are w_i * 0/1 (z-form MIP applies)
    w: np.ndarray | None = None        # row weights if coverage
    integral: bool = False             # objective always integer
    cost_offset: float | None = None   # if set, real objective = cost_offset - value (minimise)
    _Bc: sp.csc_matrix | None = field(default=None, repr=False)
    _rows: np.ndarray | None = field(default=None, repr=False)
    _P: sp.csr_matrix | None = field(default=None, repr=False)
    _PT: sp.csr_matrix | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        """Number of demand rows."""
        return int(self.B.shape[0])

    @property
    def m(self) -> int:
        """Number of candidate sites (columns)."""
        return int(self.B.shape[1])

    @property
    def Bc(self) -> sp.csc_matrix:
        """The benefit matrix in CSC form with sorted indices (built once, for column access)."""
        if self._Bc is None:
            self._Bc = self.B.tocsc()
            self._Bc.sort_indices()
        return self._Bc

    @property
    def rows(self) -> np.ndarray:
        """The row index of every stored entry of ``B`` (built once)."""
        if self._rows is None:
            self._rows = np.repeat(np.arange(self.n), np.diff(self.B.indptr))
        return self._rows

    @property
    def pattern(self) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """The 0/1 pattern of ``B`` and its transpose, both CSR (built once).

        For coverage models ``B_ij = w_i`` on the pattern, so per-site sums
        of a per-row quantity are one sparse product with the transpose.
        """
        if self._P is None or self._PT is None:
            B = self.B
            self._P = sp.csr_matrix((np.ones(B.nnz), B.indices, B.indptr), shape=B.shape)
            self._PT = self._P.T.tocsr()
        return self._P, self._PT

    @property
    def constrained(self) -> bool:
        """Whether the per-group minimum or maximum counts can bind."""
        # bool(): the numpy comparisons give np.bool_, the annotation promises bool
        return bool(self.grp is not None and (
            (self.gmin is not None and (self.gmin > 0).any())
            or (self.gcap is not None and np.isfinite(self.gcap).any())))

    def rel_gap(self, lb: float, ub: float) -> float:
        """Relative gap in terms of the real objective."""
        if self.cost_offset is None:
            den = abs(ub)
        else:
            den = abs(self.cost_offset - lb)
        if den <= 1e-12:
            return 0.0 if ub - lb <= 1e-9 else float("inf")
        return max(0.0, (ub - lb) / den)

    def tol(self, lb: float) -> float:
        """Absolute tolerance for comparing objectives near the bound ``lb`` (1e-7, relative)."""
        ref = abs(lb) if self.cost_offset is None else abs(self.cost_offset - lb)
        return 1e-7 * max(1.0, ref)

    def feasible(self, sel: np.ndarray) -> bool:
        """Whether the open set ``sel`` respects ``p`` and the per-group minimum and maximum counts."""
        if len(sel) > self.p:
            return False
        if self.grp is None:
            return True
        assert self.gmin is not None and self.gcap is not None, "Model invariant: gmin, gcap accompany grp"
        c = np.bincount(self.grp[sel], minlength=len(self.gmin))
        return bool((c >= self.gmin).all() and (c <= self.gcap).all())


def evaluate(model: Model, sel: np.ndarray) -> float:
    """Objective of the open set ``sel`` (reduced indices)."""
    sel = np.asarray(sel, np.int64)
    if len(sel) == 0:
        return 0.0
    open_ = np.zeros(model.m, bool)
    open_[sel] = True
    idx, starts = _open_segments(model, open_)
    # a row's value is its best open entry (benefits are >= 0), 0 without one
    best = float(np.maximum(np.maximum.reduceat(model.B.data[idx], starts), 0.0).sum()) if len(idx) else 0.0
    return float(best + model.bonus[sel].sum())


def _open_segments(model: Model, open_: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The positions in ``B``'s stored entries of those in open columns, in
    CSR order (rows ascending, columns ascending within a row), and where
    each row's run of them starts -- for segmented maxima per row without
    column slicing or sorting.
    """
    idx = np.flatnonzero(open_[model.B.indices])
    rows = model.rows[idx]
    starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]]) if len(idx) else np.zeros(0, np.int64)
    return idx, starts


def greedy(model: Model) -> np.ndarray:
    """Lazy greedy respecting group minimums and caps; ties by lowest index.

    Fills all ``p`` slots when enough sites exist (zero-gain sites included).
    Coverage models without binding group rules take the vectorised
    :func:`_coverage_greedy` (same rule, same ties).
    """
    if model.coverage and model.w is not None and not model.constrained:
        return _coverage_greedy(model)
    B, Bc, bonus, m = model.B, model.Bc, model.bonus, model.m
    cur = np.zeros(model.n)
    colsum = np.asarray(B.sum(axis=0)).ravel() + bonus
    heap = list(zip((-colsum).tolist(), range(m)))
    heapq.heapify(heap)
    grp, gmin, gcap = model.grp, model.gmin, model.gcap
    G = 0
    if grp is not None:
        assert gmin is not None and gcap is not None, "Model invariant: gmin, gcap accompany grp"
        G = len(gmin)
    cnt = np.zeros(G, np.int64)
    sel: list[int] = []
    ind, ptr, dat = Bc.indices, Bc.indptr, Bc.data
    for t in range(min(model.p, m)):
        must = False
        if G:
            assert gmin is not None, "G > 0 only when the model has groups"
            deficit = np.maximum(gmin - cnt, 0)
            must = (model.p - t) <= deficit.sum()
        chosen = -1
        while heap:
            negg, j = heapq.heappop(heap)
            if G:
                assert grp is not None and gcap is not None, "G > 0 only when the model has groups"
                g = grp[j]
                if cnt[g] >= gcap[g] or (must and deficit[g] <= 0):
                    continue  # permanently invalid from now on
            r = ind[ptr[j]:ptr[j + 1]]
            gain = float(np.maximum(dat[ptr[j]:ptr[j + 1]] - cur[r], 0.0).sum()) + bonus[j]
            if not heap or (-gain, j) <= heap[0]:
                chosen = j
                break
            heapq.heappush(heap, (-gain, j))
        if chosen < 0:
            break
        sel.append(chosen)
        r = ind[ptr[chosen]:ptr[chosen + 1]]
        cur[r] = np.maximum(cur[r], dat[ptr[chosen]:ptr[chosen + 1]])
        if G:
            assert grp is not None, "G > 0 only when the model has groups"
            cnt[grp[chosen]] += 1
    return np.array(sorted(sel), dtype=np.int64)


def _coverage_greedy(model: Model) -> np.ndarray:
    """Exact greedy for coverage (``B_ij = w_i`` on a pattern, no binding
    group rules): the gain of every site is kept exact by subtracting the
    weight of each newly covered row from the sites that reach it, so each
    stored pair is touched once in the whole run and every step is one
    ``argmax`` (first maximum = lowest index, the heap's tie rule).  On
    20,000 × 40,000 with 80 pairs per row the lazy heap re-evaluated 87 k
    gains one by one (2-3 s CPU); this takes a fraction of a second.
    """
    P, PT = model.pattern
    assert model.w is not None, "coverage models carry their row weights w"
    w, m = model.w, model.m
    gain = model.bonus + PT @ w
    tol = 1e-11 * max(1.0, float(np.abs(gain).max(initial=0.0)))
    # what is left of a fully covered site is rounding: make it an exact 0 so
    # that zero-gain sites are taken by lowest index, as the heap does
    gain[np.abs(gain) <= tol] = 0.0
    covered = np.zeros(model.n, bool)
    sel: list[int] = []
    for _ in range(min(model.p, m)):
        j = int(np.argmax(gain))
        if gain[j] == -np.inf:
            break
        # ties within rounding (identical columns reach it by different
        # subtraction orders): the lowest index, as the heap's exact sums give
        # (only indices below the first maximum can hold one)
        j = int(np.argmax(gain[:j + 1] >= gain[j] - tol))
        sel.append(j)
        gain[j] = -np.inf
        r = PT.indices[PT.indptr[j]:PT.indptr[j + 1]]
        r = r[~covered[r]]
        if len(r):
            covered[r] = True
            cols, owner = gather(P.indptr, P.indices, r)
            # only the sites reaching a newly covered row change: one
            # bincount over them, not over all m sites (p = 5,000 picks from
            # 400,000 sites spent most of their time on the untouched ones);
            # the same sums in the same order, so the same gains to the bit
            touched, at = np.unique(cols, return_inverse=True)
            g = gain[touched] - np.bincount(at, weights=w[r][owner], minlength=len(touched))
            g[np.abs(g) <= tol] = 0.0
            gain[touched] = g
    return np.array(sorted(sel), dtype=np.int64)


def row_top2(model: Model, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: best value, its site (-1 if none; ties: the lowest site
    index) and second-best value over ``sel``.
    """
    sel = np.asarray(sel, np.int64)
    if len(sel) and len(np.unique(sel)) == len(sel):
        open_ = np.zeros(model.m, bool)
        open_[sel] = True
        return _top2_open(model, open_)
    return _top2_slice(model, sel)


def _top2_open(model: Model, open_: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`row_top2` for the open sites ``open_`` (a mask): the entries of
    ``B`` in open columns, taken in CSR order (rows ascending, columns
    ascending within a row), give each row's best value by one segmented
    maximum, its lowest-index site as the first entry equal to it, and the
    second best by a segmented maximum over the other entries -- no column
    slicing and no sort.
    """
    n, B = model.n, model.B
    best1 = np.zeros(n)
    best2 = np.zeros(n)
    site1 = np.full(n, -1, np.int64)
    idx, starts = _open_segments(model, open_)
    if not len(idx):
        return best1, site1, best2
    rows, cols, vals = model.rows[idx], B.indices[idx], B.data[idx]
    first = np.zeros(len(rows), bool)
    first[starts] = True
    r = rows[starts]
    top = np.maximum.reduceat(vals, starts)
    best1[r] = top
    # the first entry of each row equal to the row's maximum: the lowest site among ties
    seg = np.cumsum(first) - 1
    at_top = np.flatnonzero(vals == top[seg])
    lead = np.ones(len(at_top), bool)
    lead[1:] = seg[at_top[1:]] != seg[at_top[:-1]]
    pick = at_top[lead]
    site1[r] = cols[pick]
    rest = vals.copy()
    rest[pick] = -np.inf
    second = np.maximum.reduceat(rest, starts)
    has2 = np.diff(np.append(starts, len(rows))) > 1
    best2[r[has2]] = second[has2]
    return best1, site1, best2


def _top2_slice(model: Model, sel: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`row_top2` by slicing the columns of ``sel`` (repeated sites count twice)."""
    n = model.n
    best1 = np.zeros(n)
    best2 = np.zeros(n)
    site1 = np.full(n, -1, np.int64)
    if len(sel) == 0:
        return best1, site1, best2
    sub = model.B[:, sel].tocsr()
    sub.sort_indices()
    rows = np.repeat(np.arange(n), np.diff(sub.indptr))
    cols = sel[sub.indices]
    vals = sub.data
    o = np.lexsort((cols, -vals, rows))
    rows, cols, vals = rows[o], cols[o], vals[o]
    firstm = np.ones(len(rows), bool)
    firstm[1:] = rows[1:] != rows[:-1]
    f = np.flatnonzero(firstm)
    best1[rows[f]] = vals[f]
    site1[rows[f]] = cols[f]
    s = f + 1
    ok = s < len(rows)
    s = s[ok]
    ok2 = rows[s] == rows[f[ok]]
    best2[rows[s[ok2]]] = vals[s[ok2]]
    return best1, site1, best2


def swap_search(model: Model, sel: np.ndarray, deadline: float, max_iter: int = 100000,
                top: int = 40, stats: dict | None = None) -> np.ndarray:
    """Best-improvement vertex substitution from ``sel`` until no swap improves.

    Each iteration computes, by sparse operations, the gain of every closed
    site, the loss of every open one and the interaction matrix ``E`` (the
    value an entering site recovers of what a leaving one served alone), so
    that ``delta(j -> k) = gain[k] - loss[j] + E[j, k]`` for all pairs.
    On models above ``SWAP_BATCH_NNZ`` stored pairs an iteration also
    applies further improving swaps independent of the best one (see
    there).  ``stats``, if given, receives ``local_optimum`` (False if the
    deadline or ``max_iter`` stopped the search) and ``rounds`` (the
    iterations that applied a swap).
    """
    sel = np.asarray(sorted(sel), np.int64)
    m = model.m
    if len(sel) == 0 or len(sel) >= m:
        if stats is not None:
            stats.update(local_optimum=True, rounds=0)
        return sel
    B, bonus = model.B, model.bonus
    rows = model.rows
    scale = max(1.0, float(B.data.sum()) + float(bonus.sum()))
    tol = 1e-9 * scale
    grp, gmin, gcap = model.grp, model.gmin, model.gcap
    G = 0
    if grp is not None:
        assert gmin is not None and gcap is not None, "Model invariant: gmin, gcap accompany grp"
        G = len(gmin)
    local_opt = False
    rounds = 0
    for _ in range(max_iter):
        if time.perf_counter() > deadline:
            break
        open_ = np.zeros(m, bool)
        open_[sel] = True
        pos = np.full(m, -1, np.int64)
        pos[sel] = np.arange(len(sel))
        best1, site1, best2 = _top2_open(model, open_)
        # loss of closing j
        served = site1 >= 0
        loss = bonus[sel] + np.bincount(pos[site1[served]], weights=(best1 - best2)[served], minlength=len(sel))
        # gain of opening k
        d = B.data - best1[rows]
        gp = d > 0
        gain = bonus + np.bincount(B.indices[gp], weights=d[gp], minlength=m)
        gain[open_] = -np.inf
        # interaction
        b2 = best2[rows]
        e_mask = (B.data > b2) & served[rows] & ~open_[B.indices]
        er = rows[e_mask]
        ev = (B.data[e_mask] - b2[e_mask]) - np.maximum(d[e_mask], 0.0)
        nz = ev > 0
        E = sp.csr_matrix((ev[nz], (pos[site1[er[nz]]], B.indices[e_mask][nz])), shape=(len(sel), m))
        E.sum_duplicates()
        Ec = E.tocoo()
        cand_j = [Ec.row]
        cand_k = [Ec.col]
        # best non-interaction pairs: top gains × bottom losses
        if G:
            kk = np.argsort(-gain, kind="stable")[:top]
            jj = np.argsort(loss, kind="stable")[:top]
        else:  # the first of a stable sort: the first maximum / minimum
            kk, jj = np.array([np.argmax(gain)]), np.array([np.argmin(loss)])
        kk = kk[np.isfinite(gain[kk])]
        if len(kk) and len(jj):
            cj, ck = np.meshgrid(jj, kk, indexing="ij")
            cand_j.append(cj.ravel())
            cand_k.append(ck.ravel())
        cj = np.concatenate(cand_j)
        ck = np.concatenate(cand_k)
        if len(cj) == 0:
            local_opt = True
            break
        eval_ = np.asarray(E[cj, ck]).ravel()
        delta = gain[ck] - loss[cj] + eval_
        if G:
            assert grp is not None and gmin is not None and gcap is not None, "G > 0 only when the model has groups"
            cnt = np.bincount(grp[sel], minlength=G)
            gj, gk = grp[sel[cj]], grp[ck]
            same = gj == gk
            okk = same | ((cnt[gk] + 1 <= gcap[gk]) & (cnt[gj] - 1 >= gmin[gj]))
            delta = np.where(okk, delta, -np.inf)
        best = int(np.argmax(delta))
        if not delta[best] > tol:
            local_opt = True
            break
        # deterministic tie-break: among (near-)equal best deltas take smallest (k, j)
        ties = np.flatnonzero(delta >= delta[best] - 1e-12 * scale)
        if len(ties) > 1:
            t = ties[np.lexsort((sel[cj[ties]], ck[ties]))[0]]
            best = int(t)
        j_out, k_in = sel[cj[best]], ck[best]
        outs, ins = [j_out], [k_in]
        if not G and model.B.nnz > SWAP_BATCH_NNZ:
            more_out, more_in = _independent_swaps(model, sel[cj], ck, delta, tol, j_out, k_in)
            outs += more_out
            ins += more_in
        sel = np.sort(np.concatenate([sel[~np.isin(sel, outs)], ins]))
        rounds += 1
    if stats is not None:
        stats.update(local_optimum=local_opt, rounds=rounds)
    return sel


# On models above this many stored pairs one swap-search iteration (O(nnz))
# also applies the next-best improving swaps that touch none of the rows an
# accepted swap touches (their gains are unchanged, so every one still
# improves by its computed amount), up to SWAP_BATCH_MAX per iteration.
# Below it the search is the plain best-improvement one.  50,000 x 100,000
# with 80 pairs per row: one iteration takes ~0.1 s and the plain search did
# not reach a local optimum within a 30-s limit.
SWAP_BATCH_NNZ = 1_000_000
SWAP_BATCH_MAX = 64
SWAP_BATCH_CANDIDATES = 2_000


def _independent_swaps(model: Model, cand_out: np.ndarray, cand_in: np.ndarray, delta: np.ndarray, tol: float,
                       j_out: int, k_in: int) -> tuple[list[int], list[int]]:
    """Further improving swaps ``cand_out[t] -> cand_in[t]`` (best first, ties
    by lowest (in, out)) whose sites' rows are disjoint from those of the
    swaps accepted before them, starting from the accepted ``j_out -> k_in``.
    """
    Bc = model.Bc
    good = np.flatnonzero(delta > tol)
    good = good[np.lexsort((cand_out[good], cand_in[good], -delta[good]))][:SWAP_BATCH_CANDIDATES]
    touched = np.zeros(model.n, bool)
    used = {int(j_out), int(k_in)}
    for site in used:
        touched[Bc.indices[Bc.indptr[site]:Bc.indptr[site + 1]]] = True
    outs: list[int] = []
    ins: list[int] = []
    for t in good:
        j, k = int(cand_out[t]), int(cand_in[t])
        if j in used or k in used:
            continue
        rj = Bc.indices[Bc.indptr[j]:Bc.indptr[j + 1]]
        rk = Bc.indices[Bc.indptr[k]:Bc.indptr[k + 1]]
        if touched[rj].any() or touched[rk].any():
            continue
        touched[rj] = True
        touched[rk] = True
        used.update((j, k))
        outs.append(j)
        ins.append(k)
        if len(outs) + 1 >= SWAP_BATCH_MAX:
            break
    return outs, ins
