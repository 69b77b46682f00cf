"""Package-private flow kernel of :mod:`geoplan.assign`: bounded bipartite min-cost
flow (networkx network simplex) and k-nearest candidate arcs (scipy KD-tree).
"""
from __future__ import annotations

from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy.spatial import cKDTree

__all__ = ["Flow", "bipartite_flow", "knn_pairs"]


@dataclass(frozen=True)
class Flow:
    arc_flow: np.ndarray  # units on each candidate arc (0/1)
    left_short: np.ndarray  # unmet lower bound per left node
    right_short: np.ndarray  # unmet lower bound per right node


def bipartite_flow(
    left_lo: np.ndarray,
    left_hi: np.ndarray,
    right_lo: np.ndarray,
    right_hi: np.ndarray | None,
    arc_left: np.ndarray,
    arc_right: np.ndarray,
    arc_cost: np.ndarray,
    *,
    fill_left: bool = False,
    right_extra_cost: int = 0,
) -> Flow:
    """Min-cost b-matching with lower/upper bounds on both sides, always feasible.

    Priorities, lexicographic through the size of the constants: (1) fewest unmet
    lower bounds (slack arcs cost ``big``), (2) with ``fill_left``, most units sent
    by the left nodes up to their upper bound, (3) least ``right_extra_cost`` (each
    unit a right node takes beyond its first), (4) least arc cost.

    Lower bounds become node demands (left i supplies ``lo_i``, right j demands
    ``lo_j``); optional units circulate source S → left → right → sink T → S.
    Upper bounds of ``right_hi`` None / negative mean unbounded.
    """
    n_l, n_r = len(left_lo), len(right_lo)
    s_node, t_node, t2_node = n_l + n_r, n_l + n_r + 1, n_l + n_r + 2
    cost = np.asarray(arc_cost, dtype=np.int64)
    max_cost = int(cost.max()) if cost.size else 0
    bonus = max_cost + 1 if fill_left else 0
    big = (len(cost) + 1) * (max_cost + bonus + int(right_extra_cost) + 1) + 1
    g: nx.DiGraph[int] = nx.DiGraph()
    g.add_nodes_from((i, {"demand": -int(left_lo[i])}) for i in range(n_l))
    g.add_nodes_from((n_l + j, {"demand": int(right_lo[j])}) for j in range(n_r))
    g.add_node(s_node, demand=0)
    g.add_node(t_node, demand=int(np.sum(left_lo)) - int(np.sum(right_lo)))
    g.add_node(t2_node, demand=0)
    edges: list[tuple[int, int, dict[str, int]]] = []
    for i in range(n_l):
        extra = int(left_hi[i]) - int(left_lo[i])
        if extra > 0:
            edges.append((s_node, i, {"capacity": extra, "weight": -bonus}))
        if left_lo[i] > 0:
            edges.append((i, t_node, {"capacity": int(left_lo[i]), "weight": big}))
    for j in range(n_r):
        node = n_l + j
        lo = int(right_lo[j])
        hi = None if right_hi is None or right_hi[j] < 0 else int(right_hi[j])
        if lo > 0:
            edges.append((s_node, node, {"capacity": lo, "weight": big}))
        room = None if hi is None else hi - lo
        free = room if right_extra_cost == 0 else max(0, 1 - lo) if room is None else min(room, max(0, 1 - lo))
        if free is None:
            edges.append((node, t_node, {"weight": 0}))
        elif free > 0:
            edges.append((node, t_node, {"capacity": free, "weight": 0}))
        if right_extra_cost:
            rest = None if room is None else room - (free or 0)
            if rest is None:
                edges.append((node, t2_node, {"weight": int(right_extra_cost)}))
            elif rest > 0:
                edges.append((node, t2_node, {"capacity": rest, "weight": int(right_extra_cost)}))
    edges.append((t_node, s_node, {"weight": 0}))
    edges.append((t2_node, t_node, {"weight": 0}))
    al, ar = np.asarray(arc_left, dtype=np.int64), np.asarray(arc_right, dtype=np.int64) + n_l
    edges.extend((int(a), int(b), {"capacity": 1, "weight": int(c)}) for a, b, c in zip(al, ar, cost))
    g.add_edges_from(edges)
    _, flow = nx.network_simplex(g)
    arc_flow = np.fromiter((flow[a][b] for a, b in zip(al.tolist(), ar.tolist())), dtype=np.int64, count=len(al))
    left_short = np.array([flow[i].get(t_node, 0) for i in range(n_l)], dtype=np.int64)
    right_short = np.array([flow[s_node].get(n_l + j, 0) for j in range(n_r)], dtype=np.int64)
    return Flow(arc_flow, left_short, right_short)


def knn_pairs(
    query_xy: np.ndarray, target_xy: np.ndarray, k: int, radius: float
) -> tuple[np.ndarray, np.ndarray]:
    """(query index, target index) of each target among the k nearest within radius."""
    if len(query_xy) == 0 or len(target_xy) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    k = min(k, len(target_xy))
    d, idx = cKDTree(target_xy).query(query_xy, k=k, distance_upper_bound=radius)
    d, idx = d.reshape(len(query_xy), k), idx.reshape(len(query_xy), k)
    ok = np.isfinite(d)
    q = np.broadcast_to(np.arange(len(query_xy))[:, None], idx.shape)
    return q[ok].astype(np.int64), idx[ok].astype(np.int64)
