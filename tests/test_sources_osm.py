"""Tests of geoplan.sources.osm on a tiny extract written by the test itself."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmium
import pyproj
import pytest
import shapely
from osmium.osm.mutable import Node, Way
from shapely.geometry import box

from geoplan import access
from geoplan.exceptions import InputError
from geoplan.sources import osm

X0, Y0 = 120.10, 33.35  # near Yancheng
GEOD = pyproj.Geod(ellps="WGS84")


def _write(path: Path, nodes: list[Node], ways: list[Way]) -> Path:
    with osmium.SimpleWriter(str(path)) as w:
        for n in nodes:
            w.add_node(n)
        for way in ways:
            w.add_way(way)
    return path


@pytest.fixture
def extract(tmp_path: Path) -> Path:
    """Venues (nodes and ways) and a small road network.

    Roads: a west-east primary road 1-2-3-4 (node 2 a shape point, node 3 a
    junction) crossed at 3 by a residential road 3-5; a footway 4-6; a
    motorway 7-8 (not read by default) and a road with a node missing from the
    extract (way 25 references node 999).
    """
    d = 0.01
    nodes = [
        # roads
        Node(id=1, location=(X0, Y0)),
        Node(id=2, location=(X0 + d, Y0 + 0.001)),
        Node(id=3, location=(X0 + 2 * d, Y0)),
        Node(id=4, location=(X0 + 3 * d, Y0)),
        Node(id=5, location=(X0 + 2 * d, Y0 + d)),
        Node(id=6, location=(X0 + 3 * d, Y0 + d)),
        Node(id=7, location=(X0, Y0 + 0.05)),
        Node(id=8, location=(X0 + d, Y0 + 0.05)),
        # venues as nodes
        Node(id=101, location=(X0 + 0.005, Y0 + 0.005), tags={"amenity": "marketplace", "name": "城东农贸市场"}),
        Node(id=102, location=(X0 + 0.015, Y0 + 0.005), tags={"amenity": "bank", "name:zh": "农商银行"}),
        Node(id=103, location=(X0 + 0.025, Y0 + 0.005), tags={"amenity": "doctors"}),
        Node(id=104, location=(X0 + 0.026, Y0 + 0.006), tags={"healthcare": "centre", "name": "卫生室"}),
        Node(id=105, location=(X0 + 0.035, Y0 + 0.005), tags={"office": "government"}),
        Node(id=106, location=(X0 + 0.036, Y0 + 0.006), tags={"amenity": "townhall"}),
        Node(id=107, location=(X0 + 0.037, Y0 + 0.007), tags={"office": "public_service"}),
        Node(id=108, location=(X0 + 0.045, Y0 + 0.005), tags={"craft": "carpenter"}),
        Node(id=109, location=(X0 + 0.046, Y0 + 0.006), tags={"shop": "mall"}),
        Node(id=110, location=(X0 + 0.047, Y0 + 0.007), tags={"amenity": "cafe"}),  # not a venue
        Node(id=111, location=(X0 + 0.5, Y0 + 0.5), tags={"amenity": "bank"}),  # outside bbox
        # corners of a small (~1 ha) and a large (~9 ha) industrial area
        Node(id=201, location=(X0 + 0.06, Y0)),
        Node(id=202, location=(X0 + 0.061, Y0)),
        Node(id=203, location=(X0 + 0.061, Y0 + 0.001)),
        Node(id=204, location=(X0 + 0.06, Y0 + 0.001)),
        Node(id=211, location=(X0 + 0.07, Y0)),
        Node(id=212, location=(X0 + 0.073, Y0)),
        Node(id=213, location=(X0 + 0.073, Y0 + 0.003)),
        Node(id=214, location=(X0 + 0.07, Y0 + 0.003)),
    ]
    ways = [
        Way(id=21, nodes=[1, 2, 3, 4], tags={"highway": "primary", "maxspeed": "60", "name": "人民路"}),
        Way(id=22, nodes=[3, 5], tags={"highway": "residential"}),
        Way(id=23, nodes=[4, 6], tags={"highway": "footway"}),
        Way(id=24, nodes=[7, 8], tags={"highway": "motorway"}),
        Way(id=25, nodes=[5, 6, 999], tags={"highway": "pedestrian", "maxspeed": "20 mph"}),
        Way(id=31, nodes=[201, 202, 203, 204, 201], tags={"landuse": "industrial", "name": "小作坊"}),
        Way(id=32, nodes=[211, 212, 213, 214, 211], tags={"landuse": "industrial", "name": "龙头企业"}),
    ]
    return _write(tmp_path / "tiny.osm.pbf", nodes, ways)


# -- sites ---------------------------------------------------------------
def test_sites_categories_ids_names(extract: Path) -> None:
    sites = osm.read_osm_sites(extract)
    by_id = sites.set_index("id")
    assert by_id.loc["osm:n101", "category"] == "market"
    assert by_id.loc["osm:n101", "name"] == "城东农贸市场"
    assert by_id.loc["osm:n102", "category"] == "bank"
    assert by_id.loc["osm:n102", "name"] == "农商银行"  # from name:zh
    assert by_id.loc["osm:n103", "category"] == "clinic"
    assert by_id.loc["osm:n104", "category"] == "clinic"
    assert set(by_id.loc[["osm:n105", "osm:n106", "osm:n107"], "category"]) == {"service"}
    assert by_id.loc["osm:n108", "category"] == "workshop"
    assert by_id.loc["osm:n109", "category"] == "street"
    assert by_id.loc["osm:w31", "category"] == "workshop"  # ~1 ha industrial area
    assert by_id.loc["osm:w32", "category"] == "enterprise"  # ~9 ha
    assert by_id.loc["osm:w25", "category"] == "street"  # pedestrian street, node 999 missing
    assert "osm:n110" not in by_id.index  # a cafe is not a venue
    assert by_id.loc["osm:n101", "osm_tag"] == "amenity=marketplace"
    # nodes first, then ways, each by id
    assert list(sites["id"])[:3] == ["osm:n101", "osm:n102", "osm:n103"]
    assert sites.crs.equals("EPSG:4326")
    assert sites["town_code"].isna().all()
    assert (sites["footfall"] == sites["category"].map(osm.DEFAULT_FOOTFALL)).all()


def test_sites_way_centroid_and_area(extract: Path) -> None:
    sites = osm.read_osm_sites(extract).set_index("id")
    p = sites.loc["osm:w32", "geometry"]
    assert p.geom_type == "Point"
    assert p.x == pytest.approx(X0 + 0.0715, abs=1e-7)
    assert p.y == pytest.approx(Y0 + 0.0015, abs=1e-7)
    area, _ = GEOD.geometry_area_perimeter(box(X0 + 0.07, Y0, X0 + 0.073, Y0 + 0.003))
    assert sites.loc["osm:w32", "area_m2"] == pytest.approx(abs(area), rel=2e-3)
    assert np.isnan(sites.loc["osm:n101", "area_m2"])


def test_sites_incomplete_way_is_skipped_and_counted(tmp_path: Path) -> None:
    nodes = [Node(id=1, location=(X0, Y0)), Node(id=2, location=(X0 + 0.01, Y0))]
    ways = [Way(id=5, nodes=[1, 2, 3, 1], tags={"landuse": "industrial"})]
    sites = osm.read_osm_sites(_write(tmp_path / "cut.osm.pbf", nodes, ways))
    assert len(sites) == 0
    assert sites.attrs["skipped"] == 1
    assert list(sites.columns)[:5] == ["id", "name", "category", "footfall", "town_code"]


def test_sites_bbox_towns_and_footfall(extract: Path) -> None:
    towns = gpd.GeoDataFrame(
        {"code": ["T1", "T2"]},
        geometry=[box(X0 - 0.01, Y0 - 0.01, X0 + 0.03, Y0 + 0.02), box(X0 + 0.03, Y0 - 0.01, X0 + 0.1, Y0 + 0.02)],
        crs="EPSG:4326",
    ).to_crs("EPSG:32651")  # any CRS is accepted
    sites = osm.read_osm_sites(
        extract, bbox=(X0 - 0.01, Y0 - 0.01, X0 + 0.1, Y0 + 0.1), town_polygons=towns,
        footfall_by_category={"bank": 999},
    ).set_index("id")
    assert "osm:n111" not in sites.index
    assert sites.loc["osm:n101", "town_code"] == "T1"
    assert sites.loc["osm:w32", "town_code"] == "T2"
    assert sites.loc["osm:n102", "footfall"] == 999
    assert sites.loc["osm:n101", "footfall"] == osm.DEFAULT_FOOTFALL["market"]


def test_sites_fit_the_dataset_schema(extract: Path, tiny_layers) -> None:
    from geoplan.datasets import Dataset

    # Move the tiny dataset's region over the extract: its towns fill town_code.
    shift = (X0 - 0.02 - 120.0, Y0 - 0.02 - 33.3)
    layers = {k: v.copy() for k, v in tiny_layers.items()}
    for name in ("counties", "towns", "demand", "sites", "stations"):
        layers[name]["geometry"] = layers[name].geometry.translate(*shift)
    sites = osm.read_osm_sites(extract, town_polygons=layers["towns"])
    sites = sites[sites["town_code"].notna()]
    assert len(sites) >= 10
    layers["sites"] = sites
    layers["stations"]["site_id"] = None
    ds = Dataset.from_layers(layers)
    assert set(ds.sites["id"]) == set(sites["id"])


def test_sites_errors(tmp_path: Path, extract: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        osm.read_osm_sites(tmp_path / "nope.osm.pbf")
    bad = tmp_path / "bad.osm.pbf"
    bad.write_bytes(b"this is not a pbf file at all")
    with pytest.raises(InputError, match="cannot read"):
        osm.read_osm_sites(bad)
    txt = tmp_path / "x.csv"
    txt.write_text("a,b\n")
    with pytest.raises(InputError, match="not an OSM file"):
        osm.read_osm_sites(txt)
    with pytest.raises(InputError, match="bbox"):
        osm.read_osm_sites(extract, bbox=(1, 2, 0, 3))
    with pytest.raises(InputError, match="footfall_by_category"):
        osm.read_osm_sites(extract, footfall_by_category={"pub": 1})
    with pytest.raises(InputError, match="town_polygons"):
        osm.read_osm_sites(extract, town_polygons=gpd.GeoDataFrame({"name": ["x"]}, geometry=[box(0, 0, 1, 1)], crs=4326))


def test_classify_tags_priority() -> None:
    assert osm.classify_tags({"amenity": "bank", "craft": "x"}) == ("bank", "amenity=bank")
    assert osm.classify_tags({"man_made": "works"}) == ("workshop", "man_made=works")
    assert osm.classify_tags({"highway": "primary"}) == (None, None)


# -- roads ---------------------------------------------------------------
def _geod_len(coords: list[tuple[float, float]]) -> float:
    lon, lat = zip(*coords)
    return float(GEOD.line_length(lon, lat))


def test_roads_split_at_junctions_with_lengths(extract: Path) -> None:
    nodes, edges = osm.read_osm_roads(extract)
    assert set(nodes["osmid"]) == {1, 3, 4, 5, 6}  # 2 is a shape point; motorway 7-8 left out
    e = edges.set_index(["u", "v"])
    assert set(e.index) == {(1, 3), (3, 4), (3, 5), (4, 6), (5, 6)}
    d = 0.01
    expect = {
        (1, 3): _geod_len([(X0, Y0), (X0 + d, Y0 + 0.001), (X0 + 2 * d, Y0)]),
        (3, 4): _geod_len([(X0 + 2 * d, Y0), (X0 + 3 * d, Y0)]),
        (3, 5): _geod_len([(X0 + 2 * d, Y0), (X0 + 2 * d, Y0 + d)]),
        (5, 6): _geod_len([(X0 + 2 * d, Y0 + d), (X0 + 3 * d, Y0 + d)]),
    }
    for key, metres in expect.items():
        assert e.loc[key, "length_m"] == pytest.approx(metres, rel=1e-3)
    assert e.loc[(1, 3), "highway"] == "primary"
    assert e.loc[(1, 3), "name"] == "人民路"
    assert e.loc[(1, 3), "maxspeed"] == 60
    assert e.loc[(5, 6), "maxspeed"] == pytest.approx(20 * 1.609344)
    assert e.loc[(3, 5), "maxspeed"] == osm.DEFAULT_SPEED_KMH["residential"]
    assert e.loc[(1, 3), "geometry"].coords[1] == pytest.approx((X0 + d, Y0 + 0.001))
    assert edges.attrs["crs"] == "EPSG:32651"


def test_roads_highway_types_and_bbox(extract: Path) -> None:
    _, edges = osm.read_osm_roads(extract, highway_types=("motorway",))
    assert list(zip(edges["u"], edges["v"])) == [(7, 8)]
    _, edges = osm.read_osm_roads(extract, bbox=(X0 - 0.001, Y0 - 0.001, X0 + 0.001, Y0 + 0.001))
    assert set(edges["osm_id"]) == {21}  # whole way 21 kept: it has a node in the box
    nodes, edges = osm.read_osm_roads(extract, bbox=(0, 0, 1, 1))
    assert len(nodes) == 0 and len(edges) == 0
    with pytest.raises(InputError, match="highway_types"):
        osm.read_osm_roads(extract, highway_types=())


def test_road_graph_connected_and_usable_by_access(extract: Path) -> None:
    G = osm.road_graph(extract)
    assert isinstance(G, nx.MultiGraph) and not G.is_directed()
    assert nx.is_connected(G)
    assert G.graph["crs"] == "EPSG:32651"
    n1 = G.nodes[1]
    assert (n1["lon"], n1["lat"]) == pytest.approx((X0, Y0))
    x, y = pyproj.Transformer.from_crs(4326, 32651, always_xy=True).transform(X0, Y0)
    assert (n1["x"], n1["y"]) == pytest.approx((x, y))
    # shortest path 1 → 6: 1-3-4-6 vs 1-3-5-6
    path_len = nx.shortest_path_length(G, 1, 6, weight="length")
    _, edges = osm.read_osm_roads(extract)
    L = edges.set_index(["u", "v"])["length_m"]
    assert path_len == pytest.approx(min(L[(1, 3)] + L[(3, 4)] + L[(4, 6)], L[(1, 3)] + L[(3, 5)] + L[(5, 6)]))
    net = access.network_from_edges(G)
    assert net.n_nodes == 5
    assert G.edges[1, 3, 0]["travel_time"] == pytest.approx(L[(1, 3)] / (60 / 3.6))


def test_road_graph_directed_oneway(tmp_path: Path) -> None:
    nodes = [Node(id=i, location=(X0 + 0.01 * i, Y0)) for i in range(1, 4)]
    ways = [
        Way(id=1, nodes=[1, 2], tags={"highway": "tertiary", "oneway": "yes"}),
        Way(id=2, nodes=[2, 3], tags={"highway": "tertiary", "oneway": "-1"}),
    ]
    G = osm.road_graph(_write(tmp_path / "ow.osm.pbf", nodes, ways), directed=True)
    assert isinstance(G, nx.MultiDiGraph)
    assert G.has_edge(1, 2) and not G.has_edge(2, 1)
    assert G.has_edge(3, 2) and not G.has_edge(2, 3)
    Gu = osm.road_graph(tmp_path / "ow.osm.pbf")
    assert nx.is_connected(Gu)


def test_road_lengths_in_a_given_crs(extract: Path) -> None:
    _, e51 = osm.read_osm_roads(extract)
    _, e50 = osm.read_osm_roads(extract, crs="EPSG:32650")
    assert e50.attrs["crs"] == "EPSG:32650"
    np.testing.assert_allclose(e50["length_m"], e51["length_m"], rtol=2e-3)
    assert shapely.equals(e50.geometry.values, e51.geometry.values).all()
