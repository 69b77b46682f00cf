"""Who can reach what: sparse demand × site coverage and cost matrices.

Everything here works on *metric* coordinates (metres).  Callers project
GeoDataFrames first; GeoSeries / GeoDataFrames of points are accepted too and
their ``x``/``y`` are used as they are (a geographic CRS is rejected).

Two kinds of reach are offered:

* straight line, through a KD-tree (:func:`coverage_matrix`,
  :func:`cost_matrix`, :func:`nearest_distance`), never a dense all-pairs
  matrix;
* over a road network (:class:`RoadNetwork`, :func:`network_from_edges`,
  :func:`network_coverage_matrix`, :func:`network_cost_matrix`): demand points
  and sites are snapped to their nearest node (the snap distance is added to
  the path), then a multi-source Dijkstra with a cutoff runs from whichever
  side has fewer distinct nodes.

Explicit zeros
--------------
A cost matrix is a ``csr_matrix`` whose *stored* entries are the reachable
pairs.  A demand point that sits exactly on a site has distance 0, which a
sparse matrix would silently drop.  We therefore store every distance as
``max(d, ZERO_DISTANCE)`` with ``ZERO_DISTANCE = 1e-6`` metres: a stored entry
always means "reachable", a missing one "unreachable", and the error is far
below any meaningful distance.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from geoplan.exceptions import InputError

__all__ = [
    "ZERO_DISTANCE",
    "RoadNetwork",
    "as_xy",
    "coverage_matrix",
    "cost_matrix",
    "nearest_distance",
    "minutes_to_metres",
    "network_from_edges",
    "network_coverage_matrix",
    "network_cost_matrix",
]

ZERO_DISTANCE = 1e-6
"""Distance stored for co-located pairs so that they stay explicit in CSR."""


def as_xy(points: Any, name: str = "points") -> np.ndarray:
    """Return metric coordinates of ``points`` as a float ``(n, 2)`` array.

    Parameters
    ----------
    points
        ``(n, 2)`` array-like of x/y in metres, or a GeoSeries/GeoDataFrame of
        points in a projected (metric) CRS.
    name
        Argument name used in error messages.

    Returns
    -------
    numpy.ndarray
        ``(n, 2)`` float64 x/y in metres.

    Raises
    ------
    InputError
        Geographic CRS, non-point geometries, wrong shape or non-finite values.
    """
    geom = getattr(points, "geometry", None)
    if geom is not None or type(points).__name__ == "GeoSeries":
        gs = points if geom is None else geom
        crs = getattr(gs, "crs", None)
        if crs is not None and getattr(crs, "is_geographic", False):
            raise InputError(f"{name}: CRS {crs} is geographic; project to a metric CRS first")
        if len(gs) and not (gs.geom_type == "Point").all():
            raise InputError(f"{name}: all geometries must be points")
        xy = np.column_stack([np.asarray(gs.x, float), np.asarray(gs.y, float)]) if len(gs) else np.zeros((0, 2))
    else:
        try:
            xy = np.asarray(points, dtype=float)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{name}: expected an (n, 2) array of metric x/y ({exc})") from exc
        if xy.ndim == 1 and xy.size == 0:
            xy = xy.reshape(0, 2)
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise InputError(f"{name}: expected an (n, 2) array of metric x/y, got shape {xy.shape}")
    if not np.isfinite(xy).all():
        raise InputError(f"{name}: coordinates must be finite (found NaN or inf)")
    return xy


def _radius_array(radius: Any, n_sites: int, name: str = "radius") -> np.ndarray:
    try:
        r = np.asarray(radius, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InputError(f"{name}: must be a number or one number per site ({exc})") from exc
    if r.ndim == 0:
        r = np.full(n_sites, float(r))
    if r.shape != (n_sites,):
        raise InputError(f"{name}: must be a scalar or one value per site ({n_sites}), got shape {r.shape}")
    if not np.isfinite(r).all() or (r < 0).any():
        raise InputError(f"{name}: must be finite and >= 0")
    return r


def _pairs_within(demand_xy: np.ndarray, site_xy: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (demand, site, distance) with distance <= r[site] (KD-tree, sparse)."""
    n, m = len(demand_xy), len(site_xy)
    if n == 0 or m == 0:
        e = np.zeros(0, np.int64)
        return e, e, np.zeros(0)
    rmax = float(r.max())
    td = cKDTree(demand_xy)
    ts = cKDTree(site_xy)
    dm = td.sparse_distance_matrix(ts, rmax, output_type="coo_matrix")
    i, j, d = dm.row.astype(np.int64), dm.col.astype(np.int64), dm.data
    # sparse_distance_matrix drops exact-zero distances; recover co-located pairs
    zi = ts.query_ball_point(demand_xy, r=0.0, return_sorted=False)
    lens = np.fromiter((len(z) for z in zi), dtype=np.int64, count=n)
    if lens.sum():
        zi_rows = np.repeat(np.arange(n), lens)
        zi_cols = np.concatenate([np.asarray(z, dtype=np.int64) for z in zi if len(z)])
        i = np.concatenate([i, zi_rows])
        j = np.concatenate([j, zi_cols])
        d = np.concatenate([d, np.zeros(len(zi_rows))])
    keep = d <= r[j]
    i, j, d = i[keep], j[keep], d[keep]
    # deduplicate (a zero pair could appear twice if the tree reported it)
    key = i * m + j
    _, first = np.unique(key, return_index=True)
    return i[first], j[first], d[first]


def _coverage_csr(i: np.ndarray, j: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """A stored 1 (uint8) per (demand, site) pair, sorted indices."""
    out = sp.csr_matrix((np.ones(len(i), np.uint8), (i, j)), shape=shape)
    out.sort_indices()
    return out


def _cost_csr(i: np.ndarray, j: np.ndarray, dist: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """The pairs' distances, zeros kept as :data:`ZERO_DISTANCE`, sorted indices."""
    out = sp.csr_matrix((np.maximum(dist, ZERO_DISTANCE), (i, j)), shape=shape)
    out.sort_indices()
    return out


def coverage_matrix(demand_xy: Any, site_xy: Any, radius: Any) -> sp.csr_matrix:
    """Demand × site 0/1 coverage within a straight-line radius.

    Parameters
    ----------
    demand_xy, site_xy
        ``(n, 2)`` / ``(m, 2)`` metric coordinates, or GeoSeries of points.
    radius
        Service radius in metres: a scalar or an array with one radius per
        site (e.g. by station tier).  Pairs with distance ``<= radius`` count.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(n, m)`` ``uint8`` matrix with a stored 1 per covered pair.
    """
    d = as_xy(demand_xy, "demand_xy")
    s = as_xy(site_xy, "site_xy")
    r = _radius_array(radius, len(s))
    i, j, _ = _pairs_within(d, s, r)
    return _coverage_csr(i, j, (len(d), len(s)))


def cost_matrix(demand_xy: Any, site_xy: Any, max_distance: Any) -> sp.csr_matrix:
    """Straight-line distances of the pairs within ``max_distance``.

    Stored entries are the reachable pairs; co-located pairs are stored as
    :data:`ZERO_DISTANCE` so that they are not dropped (see module docs).

    Parameters
    ----------
    demand_xy, site_xy
        Metric coordinates or GeoSeries of points.
    max_distance
        Scalar or per-site cutoff in metres.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(n, m)`` float64 distances in metres.
    """
    d = as_xy(demand_xy, "demand_xy")
    s = as_xy(site_xy, "site_xy")
    r = _radius_array(max_distance, len(s), "max_distance")
    i, j, dist = _pairs_within(d, s, r)
    return _cost_csr(i, j, dist, (len(d), len(s)))


def nearest_distance(demand_xy: Any, site_xy: Any) -> tuple[np.ndarray, np.ndarray]:
    """Straight-line distance from each demand point to its nearest site.

    Parameters
    ----------
    demand_xy, site_xy
        ``(n, 2)`` / ``(m, 2)`` metric coordinates (see :func:`as_xy`).

    Returns
    -------
    (distance, index)
        Float distances in metres and the index of the nearest site (ties by
        the KD-tree's order).  With no sites, distances are ``inf`` and
        indices ``-1``.
    """
    d = as_xy(demand_xy, "demand_xy")
    s = as_xy(site_xy, "site_xy")
    if len(s) == 0:
        return np.full(len(d), np.inf), np.full(len(d), -1, dtype=np.int64)
    dist, idx = cKDTree(s).query(d, k=1)
    return np.asarray(dist, float), np.asarray(idx, np.int64)


def minutes_to_metres(minutes: Any, speed_kmh: float) -> float | np.ndarray:
    """Convert a travel time in minutes at ``speed_kmh`` into metres.

    Parameters
    ----------
    minutes
        Scalar or array of travel times in minutes.
    speed_kmh
        Travel speed in km/h (finite, > 0).

    Returns
    -------
    float or numpy.ndarray
        Distance in metres: a float for scalar input, else a float array.
    """
    try:
        speed_kmh = float(speed_kmh)
    except (TypeError, ValueError) as exc:
        raise InputError(f"speed_kmh: must be a positive number, got {speed_kmh!r}") from exc
    if not np.isfinite(speed_kmh) or speed_kmh <= 0:
        raise InputError(f"speed_kmh: must be a positive number, got {speed_kmh}")
    return np.asarray(minutes, dtype=float) * (speed_kmh * 1000.0 / 60.0) if np.ndim(minutes) else float(minutes) * speed_kmh * 1000.0 / 60.0


@dataclass(frozen=True, eq=False)
class RoadNetwork:
    """A road network as a symmetric sparse graph with node coordinates.

    Attributes
    ----------
    graph
        ``(k, k)`` CSR matrix of edge lengths in metres (undirected unless
        built with ``directed=True``).
    node_xy
        ``(k, 2)`` metric coordinates of the nodes.
    directed
        Whether ``graph`` is directed.
    """

    graph: sp.csr_matrix
    node_xy: np.ndarray
    directed: bool = False

    @property
    def n_nodes(self) -> int:
        """Number of nodes of the road graph."""
        return int(self.graph.shape[0])


def network_from_edges(
    node_xy: Any,
    edges: Any = None,
    lengths: Any = None,
    *,
    graph: Any = None,
    directed: bool = False,
    length_attr: str = "length",
    x_attr: str = "x",
    y_attr: str = "y",
) -> RoadNetwork:
    """Build a :class:`RoadNetwork`.

    Either give ``node_xy`` (``(k, 2)``) with ``edges`` (``(e, 2)`` node index
    pairs) and ``lengths`` (metres; default: straight-line length of each
    edge), or a scipy.sparse csgraph via ``graph=`` together with
    ``node_xy``, or a :mod:`networkx` graph as ``node_xy`` (nodes must carry
    ``x``/``y`` attributes and edges a ``length`` attribute).

    Parameters
    ----------
    node_xy
        ``(k, 2)`` metric node coordinates, or a networkx graph.
    edges, lengths
        ``(e, 2)`` node index pairs and their lengths in metres (optional).
    graph
        A ``(k, k)`` scipy.sparse matrix of edge lengths, instead of ``edges``.
    directed
        Keep edges one-way instead of symmetrising them.
    length_attr, x_attr, y_attr
        Attribute names read from a networkx graph.

    Returns
    -------
    RoadNetwork
    """
    try:  # networkx graph?
        import networkx as nx

        is_nx = isinstance(node_xy, nx.Graph)
    except ImportError:  # pragma: no cover
        is_nx = False
    if is_nx:
        g = node_xy
        nodes = list(g.nodes)
        idx = {n: k for k, n in enumerate(nodes)}
        try:
            xy = np.array([[g.nodes[n][x_attr], g.nodes[n][y_attr]] for n in nodes], dtype=float)
        except KeyError as exc:
            raise InputError(f"graph: every node needs '{x_attr}' and '{y_attr}' attributes") from exc
        rows, cols, w = [], [], []
        for u, v, data in g.edges(data=True):
            if length_attr not in data:
                raise InputError(f"graph: edge ({u}, {v}) has no '{length_attr}' attribute")
            rows.append(idx[u]); cols.append(idx[v]); w.append(float(data[length_attr]))
        return network_from_edges(xy, np.column_stack([rows, cols]) if rows else np.zeros((0, 2), int),
                                  np.asarray(w), directed=directed or g.is_directed())
    xy = as_xy(node_xy, "node_xy")
    k = len(xy)
    if graph is not None:
        gm = sp.coo_matrix(graph, dtype=float)
        if gm.shape != (k, k):
            raise InputError(f"graph: shape {gm.shape} does not match {k} nodes in node_xy")
        r, c, L = gm.row.astype(np.int64), gm.col.astype(np.int64), gm.data
    else:
        try:
            ef = np.asarray(edges if edges is not None else np.zeros((0, 2)), dtype=float)
        except (TypeError, ValueError) as exc:
            raise InputError(f"edges: expected an (e, 2) array of node index pairs ({exc})") from exc
        if ef.size % 2 or (ef.ndim == 2 and ef.shape[1] != 2):
            raise InputError(f"edges: expected an (e, 2) array of node index pairs, got shape {ef.shape}")
        if not np.isfinite(ef).all() or (ef != np.round(ef)).any():
            raise InputError("edges: node indices must be integers")
        e = ef.astype(np.int64).reshape(-1, 2)
        if len(e) and (e.min() < 0 or e.max() >= k):
            raise InputError("edges: node index out of range")
        try:
            L = np.linalg.norm(xy[e[:, 0]] - xy[e[:, 1]], axis=1) if lengths is None else np.asarray(lengths, float)
        except (TypeError, ValueError) as exc:
            raise InputError(f"lengths: must be numbers, one per edge ({exc})") from exc
        if L.shape != (len(e),):
            raise InputError("lengths: need one length per edge")
        r, c = e[:, 0], e[:, 1]
    if not np.isfinite(L).all() or (L < 0).any():
        raise InputError("lengths: edge lengths must be finite and non-negative")
    L = np.maximum(L, ZERO_DISTANCE)  # keep zero-length edges explicit
    if not directed:
        r, c, L = np.concatenate([r, c]), np.concatenate([c, r]), np.concatenate([L, L])
    # parallel edges: keep the shortest
    order = np.lexsort((L, c, r))
    r, c, L = r[order], c[order], L[order]
    first = np.ones(len(r), bool)
    first[1:] = (r[1:] != r[:-1]) | (c[1:] != c[:-1])
    gm = sp.csr_matrix((L[first], (r[first], c[first])), shape=(k, k))
    gm.sort_indices()
    return RoadNetwork(graph=sp.csr_matrix(gm), node_xy=xy, directed=directed)


def _snap(net: RoadNetwork, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if net.n_nodes == 0:
        raise InputError("network: has no nodes")
    d, idx = cKDTree(net.node_xy).query(xy, k=1)
    return np.asarray(idx, np.int64), np.asarray(d, float)


def _network_pairs(
    net: RoadNetwork, d: np.ndarray, s: np.ndarray, limit: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All (demand, site, network distance) with distance <= limit[site];
    ``d``/``s`` are checked coordinates (:func:`as_xy`).
    """
    n, m = len(d), len(s)
    if n == 0 or m == 0:
        e = np.zeros(0, np.int64)
        return e, e, np.zeros(0)
    dn, dsnap = _snap(net, d)
    sn, ssnap = _snap(net, s)
    lim = float(limit.max())
    ud, dinv = np.unique(dn, return_inverse=True)
    us, sinv = np.unique(sn, return_inverse=True)
    g = net.graph
    if len(us) <= len(ud):
        # from the sites; for a directed network run on the reversed graph so
        # that distances are demand -> site
        D = dijkstra(g.T.tocsr() if net.directed else g, directed=True, indices=us, limit=lim)
        sub = D[:, ud]  # (|us|, |ud|)
        node_d = sub.T  # (|ud|, |us|)
    else:
        node_d = dijkstra(g, directed=True, indices=ud, limit=lim)[:, us]
    # node_d[a, b]: network distance from demand-node a to site-node b
    fin = np.isfinite(node_d)
    a, b = np.nonzero(fin)
    # expand node pairs to point pairs
    d_by_node = sp.csr_matrix((np.ones(n), (dinv, np.arange(n))), shape=(len(ud), n))
    s_by_node = sp.csr_matrix((np.ones(m), (sinv, np.arange(m))), shape=(len(us), m))
    da = d_by_node[a]  # rows: node pair -> demand points
    sb = s_by_node[b]
    cnt_d = np.diff(da.indptr)
    cnt_s = np.diff(sb.indptr)
    tot = cnt_d * cnt_s
    pair = np.repeat(np.arange(len(a)), tot)
    if len(pair) == 0:
        e = np.zeros(0, np.int64)
        return e, e, np.zeros(0)
    off = np.arange(len(pair)) - np.repeat(np.cumsum(tot) - tot, tot)
    cs = cnt_s[pair]
    ii = da.indices[da.indptr[pair] + off // cs]
    jj = sb.indices[sb.indptr[pair] + off % cs]
    dist = node_d[a[pair], b[pair]] + dsnap[ii] + ssnap[jj]
    keep = dist <= limit[jj]
    return ii[keep].astype(np.int64), jj[keep].astype(np.int64), dist[keep]


def _network_limit(radius: Any, minutes: Any, speed_kmh: Any, m: int) -> np.ndarray:
    if (radius is None) == (minutes is None):
        raise InputError("radius/minutes: give exactly one of radius (metres) or minutes (with speed_kmh)")
    if minutes is not None:
        if speed_kmh is None:
            raise InputError("speed_kmh: required when minutes is given")
        return _radius_array(minutes_to_metres(_radius_array(minutes, m, "minutes"), speed_kmh), m)
    return _radius_array(radius, m)


def network_coverage_matrix(
    network: RoadNetwork,
    demand_xy: Any,
    site_xy: Any,
    radius: Any = None,
    *,
    minutes: Any = None,
    speed_kmh: float | None = None,
) -> sp.csr_matrix:
    """Demand × site coverage over a road network.

    Both sides are snapped to their nearest network node (the straight-line
    snap distances are added to the path length).  ``radius`` (metres) or
    ``minutes`` at ``speed_kmh`` may be scalars or per-site arrays.

    Parameters
    ----------
    network
        The road network (see :func:`network_from_edges`).
    demand_xy, site_xy
        Metric coordinates (see :func:`as_xy`).
    radius
        Network distance in metres; give this or ``minutes``.
    minutes, speed_kmh
        Travel time and speed, converted with :func:`minutes_to_metres`.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(n_demand, n_sites)`` 0/1 matrix (uint8), sorted indices.
    """
    d = as_xy(demand_xy, "demand_xy")
    s = as_xy(site_xy, "site_xy")
    lim = _network_limit(radius, minutes, speed_kmh, len(s))
    i, j, _ = _network_pairs(network, d, s, lim)
    return _coverage_csr(i, j, (len(d), len(s)))


def network_cost_matrix(
    network: RoadNetwork,
    demand_xy: Any,
    site_xy: Any,
    max_distance: Any = None,
    *,
    minutes: Any = None,
    speed_kmh: float | None = None,
) -> sp.csr_matrix:
    """Network distances (metres) of the pairs within the cutoff.

    Zero distances are stored as :data:`ZERO_DISTANCE` (see module docs).

    Parameters
    ----------
    network, demand_xy, site_xy, minutes, speed_kmh
        As in :func:`network_coverage_matrix`.
    max_distance
        Network distance cutoff in metres; give this or ``minutes``.

    Returns
    -------
    scipy.sparse.csr_matrix
        ``(n_demand, n_sites)`` float64 distances of the reachable pairs.
    """
    d = as_xy(demand_xy, "demand_xy")
    s = as_xy(site_xy, "site_xy")
    lim = _network_limit(max_distance, minutes, speed_kmh, len(s))
    i, j, dist = _network_pairs(network, d, s, lim)
    return _cost_csr(i, j, dist, (len(d), len(s)))
