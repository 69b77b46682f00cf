import networkx as nx
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geoplan import access


def _brute(d, s, r):
    D = np.linalg.norm(d[:, None, :] - s[None, :, :], axis=2)
    return D, D <= np.broadcast_to(r, (len(s),))[None, :]


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.booleans())
def test_kdtree_coverage_equals_brute_force(seed, per_site):
    rng = np.random.default_rng(seed)
    d = np.round(rng.random((40, 2)) * 1000)
    s = np.round(rng.random((15, 2)) * 1000)
    s[0] = d[0]  # co-located pair
    r = rng.random(15) * 400 if per_site else 250.0
    D, M = _brute(d, s, r)
    cov = access.coverage_matrix(d, s, r)
    assert (cov.toarray().astype(bool) == M).all()
    cost = access.cost_matrix(d, s, r)
    assert (cost.toarray() > 0).sum() == M.sum()
    assert np.allclose(cost.toarray()[M], np.maximum(D[M], access.ZERO_DISTANCE))
    assert cost[0, 0] == access.ZERO_DISTANCE


def test_nearest_distance():
    d = np.array([[0.0, 0.0], [10.0, 0.0]])
    s = np.array([[1.0, 0.0], [9.0, 0.0], [100.0, 100.0]])
    dist, idx = access.nearest_distance(d, s)
    assert np.allclose(dist, [1, 1]) and list(idx) == [0, 1]


def test_geoseries_input_and_bad_input():
    import geopandas as gpd
    from shapely.geometry import Point
    g = gpd.GeoSeries([Point(0, 0), Point(500, 0)], crs=3857)
    cov = access.coverage_matrix(g, np.array([[0.0, 0.0]]), 100)
    assert cov.toarray().ravel().tolist() == [1, 0]
    with pytest.raises(ValueError, match="geographic"):
        access.coverage_matrix(g.to_crs(4326), np.array([[0.0, 0.0]]), 100)
    with pytest.raises(ValueError, match="radius"):
        access.coverage_matrix(np.zeros((2, 2)), np.zeros((3, 2)), [1, 2])
    with pytest.raises(ValueError, match="demand_xy"):
        access.coverage_matrix(np.zeros((2, 3)), np.zeros((3, 2)), 1)


def _line_graph():
    # nodes 0-1-2-3 on a line, 1000 m apart; edge 2-3 is a slow long road (3000 m)
    g = nx.Graph()
    for k in range(4):
        g.add_node(k, x=1000.0 * k, y=0.0)
    g.add_edge(0, 1, length=1000.0)
    g.add_edge(1, 2, length=1000.0)
    g.add_edge(2, 3, length=3000.0)
    return g


def test_network_coverage_hand_made():
    net = access.network_from_edges(_line_graph())
    demand = np.array([[0.0, 10.0], [2000.0, 0.0], [3000.0, 0.0]])
    sites = np.array([[1000.0, 0.0], [3000.0, 5.0]])
    cov = access.network_coverage_matrix(net, demand, sites, radius=1500)
    # demand0 -> site0: 10 (snap) + 1000 ; demand1 -> site0: 1000; demand2 -> site1: 5
    assert cov.toarray().tolist() == [[1, 0], [1, 0], [0, 1]]
    cost = access.network_cost_matrix(net, demand, sites, max_distance=10_000)
    assert np.isclose(cost[0, 0], 1010) and np.isclose(cost[2, 0], 4000) and np.isclose(cost[1, 1], 3005)
    # minutes at speed: 1 km at 60 km/h = 1 minute
    cov2 = access.network_coverage_matrix(net, demand, sites, minutes=[1.02, 0.1], speed_kmh=60)
    assert cov2.toarray().tolist() == [[1, 0], [1, 0], [0, 1]]
    # same answer from the demand side (more sites than demand nodes)
    many = np.vstack([sites, sites + 1, sites + 2])
    c3 = access.network_cost_matrix(net, demand[:1], many, max_distance=10_000)
    assert np.isclose(c3[0, 0], 1010)


def test_network_from_edges_arrays_equals_networkx():
    xy = np.array([[0.0, 0], [1000, 0], [2000, 0], [3000, 0]])
    e = np.array([[0, 1], [1, 2], [2, 3]])
    net = access.network_from_edges(xy, e, [1000, 1000, 3000])
    net2 = access.network_from_edges(_line_graph())
    assert (net.graph != net2.graph).nnz == 0
    assert access.minutes_to_metres(2, 30) == 1000.0


def test_directed_network_distances_are_demand_to_site():
    """One-way street 0 -> 1 -> 2 (and a long way back 2 -> 0)."""
    xy = np.array([[0.0, 0], [1000, 0], [2000, 0]])
    net = access.network_from_edges(xy, np.array([[0, 1], [1, 2], [2, 0]]), [1000, 1000, 5000], directed=True)
    assert net.directed and net.graph[1, 0] == 0
    demand = xy[[0, 2]]
    sites = xy[[1]]
    cost = access.network_cost_matrix(net, demand, sites, max_distance=10_000).toarray()
    # demand 0 drives 0 -> 1 (1000 m); demand 2 must go 2 -> 0 -> 1 (6000 m)
    assert np.allclose(cost[:, 0], [1000, 6000])
    # both search directions (from sites / from demand) agree
    many = np.vstack([sites, sites, sites])
    c2 = access.network_cost_matrix(net, demand, many, max_distance=10_000).toarray()
    assert np.allclose(c2, np.repeat(cost, 3, axis=1))
    cov = access.network_coverage_matrix(net, demand, sites, radius=2000).toarray()
    assert cov[:, 0].tolist() == [1, 0]
    undirected = access.network_from_edges(xy, np.array([[0, 1], [1, 2], [2, 0]]), [1000, 1000, 5000])
    assert np.allclose(access.network_cost_matrix(undirected, demand, sites, max_distance=10_000).toarray()[:, 0],
                       [1000, 1000])


def test_min_per_group_as_array_with_network_coverage():
    from geoplan.optimize import max_coverage, p_median

    net = access.network_from_edges(_line_graph())
    demand = np.array([[0.0, 0], [100, 0], [200, 0], [2900, 0], [3000, 0]])
    sites = np.array([[0.0, 0], [50, 0], [2000, 0], [3000, 0]])
    cov = access.network_coverage_matrix(net, demand, sites, radius=400)
    w = np.array([10.0, 10, 10, 1, 1])
    groups = np.array([0, 0, 1, 1])
    free = max_coverage(cov, 2, weights=w, solver="highs")
    assert set(free.selected) <= {0, 1, 3} and free.objective == 32
    for solver in ("greedy", "auto", "highs"):
        sol = max_coverage(cov, 2, weights=w, groups=groups, min_per_group=np.array([0, 2]), solver=solver)
        assert sol.selected.tolist() == [2, 3] and sol.objective == 2
        sol = max_coverage(cov, 2, weights=w, groups=groups, min_per_group=[1, 1], solver=solver)
        assert sol.selected.tolist() in ([0, 3], [1, 3]) and sol.objective == 32
        # a fixed site counts toward its group's minimum
        sol = max_coverage(cov, 1, weights=w, fixed=[3], groups=groups, min_per_group=[1, 1], solver=solver)
        assert sol.selected.tolist() in ([0], [1])
    cost = access.network_cost_matrix(net, demand, sites, max_distance=10_000)
    pm = p_median(cost, 2, weights=w, groups=groups, min_per_group=np.array([0, 2]), solver="auto")
    assert pm.selected.tolist() == [2, 3]
    with pytest.raises(ValueError, match="min_per_group"):
        max_coverage(cov, 1, weights=w, groups=groups, min_per_group=np.array([1, 1]))
    with pytest.raises(ValueError, match="min_per_group"):
        max_coverage(cov, 2, weights=w, groups=groups, min_per_group=np.array([1, 1, 1]))
