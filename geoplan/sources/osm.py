"""OpenStreetMap extracts (``.osm.pbf``): candidate venues and the road network.

Read with pyosmium (:class:`osmium.FileProcessor` with a node-location cache,
so ways get their coordinates in one pass; key filters run in C++ so the
Python loop only sees tagged objects of interest).

Venues → ``sites`` categories
-----------------------------
Checked in this order; the first match wins:

=============  ================================================================
category       OSM tags
=============  ================================================================
market         ``amenity=marketplace``
bank           ``amenity=bank``
clinic         ``amenity=clinic|doctors|hospital``, ``healthcare=*``
service        ``office=government``, ``amenity=townhall``, ``office=*service*``
workshop /     ``craft=*``, ``man_made=works``, ``landuse=industrial``: mapped as
enterprise     a polygon of at least ``enterprise_min_area_m2`` (default 5 ha)
               → ``enterprise`` (a factory site big enough to be a leading
               enterprise); smaller polygons, lines and nodes → ``workshop``
street         ``shop=mall``, ``highway=pedestrian``
=============  ================================================================

Ways become one point: polygons (closed ways) their centroid, open ways (e.g. a
pedestrian street) the midpoint along the line.  Multipolygon relations are not
read (industrial estates mapped as relations are rare in Chinese extracts; map
them as closed ways or add them by hand with :mod:`geoplan.sources.tables`).

Foot traffic
------------
OSM has no visitor counts, so ``footfall`` (visitors per day) is a per-category
estimate, :data:`DEFAULT_FOOTFALL`; override it with ``footfall_by_category``.
The defaults are order-of-magnitude figures for a county town in northern
Jiangsu: a farmers' market ~1,500/day, a busy pedestrian street or mall ~2,000,
a bank branch ~300, a village clinic ~200, a service window ~250, a workshop
~80, a large industrial site's workforce ~400.

Roads
-----
:func:`read_osm_roads` splits highway ways at junctions (nodes shared by two
or more ways, and way ends) into edges with their length in metres, measured
in a metric CRS (:func:`geoplan.crs.metric_crs` of the extract unless given).
:func:`road_graph` turns them into a :mod:`networkx` multigraph usable by
:func:`geoplan.access.network_from_edges`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely

from geoplan import crs as _crs
from geoplan.exceptions import InputError

__all__ = [
    "DEFAULT_FOOTFALL",
    "DEFAULT_HIGHWAY_TYPES",
    "DEFAULT_SPEED_KMH",
    "ENTERPRISE_MIN_AREA_M2",
    "classify_tags",
    "graph_from_roads",
    "read_osm_roads",
    "read_osm_sites",
    "road_graph",
]

#: Estimated visitors per day by site category (see the module docstring).
DEFAULT_FOOTFALL: dict[str, float] = {
    "market": 1500.0,
    "bank": 300.0,
    "clinic": 200.0,
    "workshop": 80.0,
    "enterprise": 400.0,
    "service": 250.0,
    "street": 2000.0,
}

#: Industrial polygons at least this large (m²) count as ``enterprise``.
ENTERPRISE_MIN_AREA_M2: float = 50_000.0

#: Highway types read by default: everything people walk, cycle or ride an
#: e-bike on. Motorways are left out: nobody walks to a contact point on one.
DEFAULT_HIGHWAY_TYPES: tuple[str, ...] = (
    "trunk", "trunk_link", "primary", "primary_link", "secondary", "secondary_link",
    "tertiary", "tertiary_link", "unclassified", "residential", "living_street",
    "service", "track", "road", "pedestrian", "footway", "path", "cycleway", "steps",
)

#: Speed (km/h) assumed when a way has no usable ``maxspeed`` tag.
DEFAULT_SPEED_KMH: dict[str, float] = {
    "motorway": 100.0, "motorway_link": 60.0, "trunk": 80.0, "trunk_link": 50.0,
    "primary": 60.0, "primary_link": 40.0, "secondary": 50.0, "secondary_link": 40.0,
    "tertiary": 40.0, "tertiary_link": 30.0, "unclassified": 30.0, "residential": 30.0,
    "living_street": 15.0, "service": 20.0, "track": 20.0, "road": 30.0,
    "pedestrian": 5.0, "footway": 5.0, "path": 5.0, "cycleway": 15.0, "steps": 3.0,
}

_SITE_KEYS = ("amenity", "healthcare", "office", "craft", "man_made", "landuse", "shop", "highway")
_MAKER_CATEGORY = "workshop"  # craft / works / industrial land; may become "enterprise" by area


def _check_file(pbf_path: str | Path) -> Path:
    path = Path(pbf_path)
    if not path.is_file():
        raise InputError(f"pbf_path: OSM file not found: {path}")
    if not path.name.endswith((".osm.pbf", ".pbf", ".osm", ".osm.bz2", ".osm.gz", ".o5m")):
        raise InputError(f"pbf_path: {path.name} is not an OSM file (.osm.pbf, .osm, .osm.bz2, .o5m)")
    return path


def _check_bbox(bbox: Any) -> tuple[float, float, float, float] | None:
    if bbox is None:
        return None
    try:
        b = tuple(float(v) for v in bbox)
    except (TypeError, ValueError) as exc:
        raise InputError(f"bbox: must be (minlon, minlat, maxlon, maxlat), got {bbox!r}") from exc
    if len(b) != 4 or not np.all(np.isfinite(b)) or b[0] >= b[2] or b[1] >= b[3]:
        raise InputError(f"bbox: must be (minlon, minlat, maxlon, maxlat) with min < max, got {bbox!r}")
    if b[0] < -180 or b[2] > 180 or b[1] < -90 or b[3] > 90:
        raise InputError(f"bbox: must be in degrees (lon -180..180, lat -90..90), got {bbox!r}")
    return b


def _in_box(lon: np.ndarray, lat: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    return (lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3])


def classify_tags(tags: Mapping[str, str]) -> tuple[str | None, str | None]:
    """Map OSM tags to a site category.

    Returns
    -------
    (category, tag)
        The category (``None`` if the object is not a venue) and the ``key=value``
        that decided it. Craft / works / industrial land returns ``"workshop"``;
        :func:`read_osm_sites` promotes large polygons to ``"enterprise"``.
    """
    amenity = tags.get("amenity")
    if amenity == "marketplace":
        return "market", "amenity=marketplace"
    if amenity == "bank":
        return "bank", "amenity=bank"
    if amenity in ("clinic", "doctors", "hospital"):
        return "clinic", f"amenity={amenity}"
    if "healthcare" in tags:
        return "clinic", f"healthcare={tags['healthcare']}"
    office = tags.get("office")
    if office == "government":
        return "service", "office=government"
    if amenity == "townhall":
        return "service", "amenity=townhall"
    if office is not None and "service" in office:
        return "service", f"office={office}"
    if "craft" in tags:
        return _MAKER_CATEGORY, f"craft={tags['craft']}"
    if tags.get("man_made") == "works":
        return _MAKER_CATEGORY, "man_made=works"
    if tags.get("landuse") == "industrial":
        return _MAKER_CATEGORY, "landuse=industrial"
    if tags.get("shop") == "mall":
        return "street", "shop=mall"
    if tags.get("highway") == "pedestrian":
        return "street", "highway=pedestrian"
    return None, None


def _processor(path: Path, keys: Iterable[str]) -> Any:
    import osmium

    return (
        osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
        .with_locations()
        .with_filter(osmium.filter.KeyFilter(*keys))
    )


def _iterate(path: Path, keys: Iterable[str]) -> Iterable[Any]:
    """Yield filtered OSM objects; any reader failure becomes an InputError."""
    try:
        yield from _processor(path, keys)
    except Exception as exc:  # osmium raises RuntimeError / ValueError on corrupt input
        raise InputError(f"pbf_path: cannot read {path} as OSM data ({exc})") from exc


def _way_coords(way: Any) -> list[tuple[float, float]]:
    # Ways cut by the extract boundary reference nodes that are not in the file.
    out = []
    for n in way.nodes:
        loc = n.location
        if loc.valid():
            out.append((loc.lon, loc.lat))
    return out


def _empty_sites() -> gpd.GeoDataFrame:
    cols: dict[str, list[Any]] = {"id": [], "name": [], "category": [], "footfall": [], "town_code": [], "osm_tag": [], "area_m2": []}
    return gpd.GeoDataFrame(cols, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


def _town_codes(points: np.ndarray, towns: gpd.GeoDataFrame) -> np.ndarray:
    if not isinstance(towns, gpd.GeoDataFrame) or "code" not in towns.columns:
        raise InputError("town_polygons: must be a GeoDataFrame with a 'code' column")
    if towns.crs is None:
        raise InputError("town_polygons: CRS is missing (set it, e.g. EPSG:4326)")
    towns = towns.to_crs("EPSG:4326").reset_index(drop=True)
    out = np.full(len(points), None, dtype=object)
    if len(points) == 0 or towns.empty:
        return out
    # A point on a shared border matches two towns: keep the first town, deterministically.
    pi, ti = towns.sindex.query(points, predicate="within")
    if len(pi):
        order = np.lexsort((ti, pi))
        pi, ti = pi[order], ti[order]
        first = np.r_[True, pi[1:] != pi[:-1]]
        out[pi[first]] = towns["code"].astype(str).to_numpy()[ti[first]]
    return out


def read_osm_sites(
    pbf_path: str | Path,
    bbox: tuple[float, float, float, float] | None = None,
    town_polygons: gpd.GeoDataFrame | None = None,
    footfall_by_category: Mapping[str, float] | None = None,
    enterprise_min_area_m2: float = ENTERPRISE_MIN_AREA_M2,
) -> gpd.GeoDataFrame:
    """Read candidate venues from an OSM extract into a ``sites`` layer.

    Parameters
    ----------
    pbf_path : path
        An ``.osm.pbf`` (or ``.osm``) extract.
    bbox : (minlon, minlat, maxlon, maxlat), optional
        Keep only venues whose point falls inside.
    town_polygons : GeoDataFrame, optional
        Towns with a ``code`` column; fills ``town_code`` by point-in-polygon.
        Without it (or for points in no town) ``town_code`` is ``None`` and the
        caller must fill it before the layer passes validation.
    footfall_by_category : mapping, optional
        Visitors per day by category, overriding :data:`DEFAULT_FOOTFALL`.
    enterprise_min_area_m2 : float
        Craft / works / industrial polygons at least this large become
        ``enterprise``, smaller ones ``workshop``.

    Returns
    -------
    GeoDataFrame
        WGS84 points with ``id`` (``"osm:n<id>"`` / ``"osm:w<id>"``), ``name``
        (``name``, else ``name:zh``, else ``name:en``), ``category``,
        ``footfall``, ``town_code``, ``osm_tag`` (the deciding tag) and
        ``area_m2`` (polygons only), sorted nodes first then ways, by id.
        ``attrs["skipped"]`` counts ways dropped for lack of node locations.
    """
    from geoplan.datasets import SITE_CATEGORIES

    path = _check_file(pbf_path)
    box = _check_bbox(bbox)
    footfall = dict(DEFAULT_FOOTFALL)
    if footfall_by_category is not None:
        for key, value in footfall_by_category.items():
            if key not in SITE_CATEGORIES:
                raise InputError(f"footfall_by_category: unknown category {key!r}; expected {', '.join(SITE_CATEGORIES)}")
            v = float(value)
            if not np.isfinite(v) or v < 0:
                raise InputError(f"footfall_by_category: {key} must be a finite number >= 0, got {value!r}")
            footfall[key] = v
    if not np.isfinite(enterprise_min_area_m2) or enterprise_min_area_m2 < 0:
        raise InputError(f"enterprise_min_area_m2: must be >= 0, got {enterprise_min_area_m2!r}")

    kinds: list[int] = []  # 0 node, 1 way: sort key
    osm_ids: list[int] = []
    names: list[str | None] = []
    cats: list[str] = []
    tags_used: list[str] = []
    geoms: list[Any] = []
    skipped = 0
    for obj in _iterate(path, _SITE_KEYS):
        tags = {t.k: t.v for t in obj.tags}
        cat, tag = classify_tags(tags)
        if cat is None:
            continue
        if obj.is_node():
            if not obj.location.valid():
                skipped += 1
                continue
            geom: shapely.Geometry = shapely.Point(obj.location.lon, obj.location.lat)
            kind = 0
        else:
            coords = _way_coords(obj)
            closed = obj.is_closed() and tags.get("area") != "no"
            # A pedestrian street is a line unless explicitly mapped as an area.
            if tags.get("highway") == "pedestrian" and tags.get("area") != "yes":
                closed = False
            # A polygon cut by the extract boundary would give a wrong centroid:
            # skip it; a line keeps the part inside the extract.
            if (closed and (len(coords) != len(obj.nodes) or len(coords) < 4)) or len(coords) < 2:
                skipped += 1
                continue
            geom = shapely.Polygon(coords) if closed else shapely.LineString(coords)
            kind = 1
        kinds.append(kind)
        osm_ids.append(int(obj.id))
        names.append(tags.get("name") or tags.get("name:zh") or tags.get("name:en"))
        cats.append(cat)
        tags_used.append(tag)  # type: ignore[arg-type]
        geoms.append(geom)

    if not geoms:
        out = _empty_sites()
        out.attrs["skipped"] = skipped
        return out

    g = np.asarray(geoms, dtype=object)
    type_id = shapely.get_type_id(g)
    is_poly, is_line = type_id == 3, type_id == 1
    area = np.full(len(g), np.nan)
    if is_poly.any():
        metric = _crs.metric_crs(tuple(shapely.total_bounds(g[is_poly])))
        area[is_poly] = gpd.GeoSeries(g[is_poly], crs="EPSG:4326").to_crs(metric).area.to_numpy()
    pts = g.copy()
    pts[is_poly] = shapely.centroid(g[is_poly])
    pts[is_line] = shapely.line_interpolate_point(g[is_line], 0.5, normalized=True)

    cat_arr = np.asarray(cats, dtype=object)
    big = is_poly & (cat_arr == _MAKER_CATEGORY) & (np.nan_to_num(area) >= enterprise_min_area_m2)
    cat_arr[big] = "enterprise"

    prefix = np.where(np.asarray(kinds) == 0, "osm:n", "osm:w")
    df = gpd.GeoDataFrame(
        {
            "id": [p + str(i) for p, i in zip(prefix, osm_ids)],
            "name": pd.Series(names, dtype=object),
            "category": cat_arr,
            "footfall": np.array([footfall[c] for c in cat_arr], dtype=float),
            "town_code": None,
            "osm_tag": tags_used,
            "area_m2": area,
            "_kind": kinds,
            "_osm": osm_ids,
        },
        geometry=gpd.GeoSeries(pts, crs="EPSG:4326"),
        crs="EPSG:4326",
    )
    if box is not None:
        df = df[_in_box(shapely.get_x(df.geometry.values), shapely.get_y(df.geometry.values), box)]
    df = df.sort_values(["_kind", "_osm"], kind="stable").drop(columns=["_kind", "_osm"]).reset_index(drop=True)
    df["town_code"] = pd.Series(
        _town_codes(df.geometry.values, town_polygons) if town_polygons is not None else [None] * len(df),
        dtype=object,
    )
    df.attrs["skipped"] = skipped
    return df


def _parse_maxspeed(raw: pd.Series, highway: pd.Series) -> np.ndarray:
    """``"50"``, ``"50 km/h"``, ``"30 mph"``, ``"60;80"`` → km/h; anything else → default by highway."""
    m = raw.astype("string").str.extract(r"^\s*(\d+(?:\.\d+)?)\s*(mph)?", expand=True)
    value = pd.to_numeric(m[0], errors="coerce").to_numpy(dtype=float)
    mph = m[1].notna().to_numpy(dtype=bool)
    value = np.where(mph, value * 1.609344, value)
    default = highway.map(DEFAULT_SPEED_KMH).astype(float).fillna(30.0).to_numpy()
    return np.where(np.isfinite(value) & (value > 0), value, default)


def _empty_roads() -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    nodes = gpd.GeoDataFrame({"osmid": pd.Series([], dtype="int64")}, geometry=gpd.GeoSeries([], crs="EPSG:4326"))
    edges = gpd.GeoDataFrame(
        {"u": pd.Series([], dtype="int64"), "v": pd.Series([], dtype="int64"), "osm_id": pd.Series([], dtype="int64"),
         "length_m": pd.Series([], dtype=float), "highway": pd.Series([], dtype=object),
         "maxspeed": pd.Series([], dtype=float), "oneway": pd.Series([], dtype=object), "name": pd.Series([], dtype=object)},
        geometry=gpd.GeoSeries([], crs="EPSG:4326"),
    )
    return nodes, edges


def read_osm_roads(
    pbf_path: str | Path,
    bbox: tuple[float, float, float, float] | None = None,
    highway_types: Iterable[str] = DEFAULT_HIGHWAY_TYPES,
    crs: str | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Read the road network of an OSM extract as junction nodes and edges.

    Parameters
    ----------
    pbf_path : path
        An ``.osm.pbf`` (or ``.osm``) extract.
    bbox : (minlon, minlat, maxlon, maxlat), optional
        Keep only ways with at least one node inside (whole ways are kept so
        that roads leaving the box stay connected).
    highway_types : iterable of str
        ``highway=*`` values to keep (default :data:`DEFAULT_HIGHWAY_TYPES`).
    crs : str, optional
        Metric CRS in which lengths are measured; default
        :func:`geoplan.crs.metric_crs` of the roads' bounds. Pass the dataset's
        ``metric_crs`` to measure roads and straight lines in the same frame.

    Returns
    -------
    nodes : GeoDataFrame
        WGS84 points, index and ``osmid`` = OSM node id, one per junction or
        way end.
    edges : GeoDataFrame
        WGS84 lines between junctions: ``u``, ``v`` (node ids), ``osm_id``
        (way id), ``length_m``, ``highway``, ``maxspeed`` (km/h; tagged value
        or :data:`DEFAULT_SPEED_KMH`), ``oneway`` (tag or None), ``name``.
        ``attrs["crs"]`` is the CRS lengths were measured in.
    """
    path = _check_file(pbf_path)
    box = _check_bbox(bbox)
    if isinstance(highway_types, str):
        highway_types = (highway_types,)
    wanted = set(highway_types)
    if not wanted:
        raise InputError("highway_types: give at least one highway type")

    refs: list[np.ndarray] = []
    lons: list[np.ndarray] = []
    lats: list[np.ndarray] = []
    way_ids: list[int] = []
    hw: list[str] = []
    speed_raw: list[str | None] = []
    oneway: list[str | None] = []
    names: list[str | None] = []
    for obj in _iterate(path, ("highway",)):
        if not obj.is_way():
            continue
        tags = obj.tags
        h = tags.get("highway")
        if h not in wanted or tags.get("area") == "yes":
            continue
        # Drop nodes missing from a clipped extract; keep the rest of the way.
        pts = [(n.ref, n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
        if len(pts) < 2:
            continue
        arr = np.asarray(pts, dtype=float)
        if box is not None and not _in_box(arr[:, 1], arr[:, 2], box).any():
            continue  # keep only ways with at least one node inside
        refs.append(arr[:, 0].astype(np.int64))
        lons.append(arr[:, 1])
        lats.append(arr[:, 2])
        way_ids.append(int(obj.id))
        hw.append(h)
        speed_raw.append(tags.get("maxspeed"))
        oneway.append(tags.get("oneway"))
        names.append(tags.get("name") or tags.get("name:zh"))

    if not refs:
        return _empty_roads()

    sizes = np.array([len(r) for r in refs])
    ids = np.concatenate(refs)
    lon = np.concatenate(lons)
    lat = np.concatenate(lats)
    way_of = np.repeat(np.arange(len(refs)), sizes)
    n = len(ids)
    first = np.zeros(n, bool)
    first[np.r_[0, np.cumsum(sizes)[:-1]]] = True
    last = np.zeros(n, bool)
    last[np.cumsum(sizes) - 1] = True

    # Junctions: way ends and nodes used more than once (shared, or a loop's closing node).
    _, inverse, counts = np.unique(ids, return_inverse=True, return_counts=True)
    vertex = first | last | (counts[inverse] > 1)

    target = crs or _crs.metric_crs((lon.min(), lat.min(), lon.max(), lat.max()))
    tr = pyproj.Transformer.from_crs("EPSG:4326", target, always_xy=True)
    mx, my = tr.transform(lon, lat)
    seg = np.hypot(np.diff(mx), np.diff(my))  # seg[i]: i → i+1 (meaningless across ways)

    start = vertex & ~last  # each such node starts an edge
    starts = np.flatnonzero(start)
    vpos = np.flatnonzero(vertex)
    ends = vpos[np.searchsorted(vpos, starts, side="right")]
    edge_of = np.cumsum(start) - 1  # edge that segment i → i+1 belongs to
    inner = np.flatnonzero(~last)
    length = np.bincount(edge_of[inner], weights=seg[inner], minlength=len(starts))

    counts_pts = ends - starts + 1
    pt_idx = np.repeat(starts - np.r_[0, np.cumsum(counts_pts)[:-1]], counts_pts) + np.arange(counts_pts.sum())
    lines = shapely.linestrings(np.column_stack([lon[pt_idx], lat[pt_idx]]),
                                indices=np.repeat(np.arange(len(starts)), counts_pts))

    w = way_of[starts]
    hw_arr = np.asarray(hw, dtype=object)[w]
    edges = gpd.GeoDataFrame(
        {
            "u": ids[starts],
            "v": ids[ends],
            "osm_id": np.asarray(way_ids, dtype=np.int64)[w],
            "length_m": length,
            "highway": hw_arr,
            "maxspeed": _parse_maxspeed(pd.Series(np.asarray(speed_raw, dtype=object)[w]), pd.Series(hw_arr)),
            "oneway": np.asarray(oneway, dtype=object)[w],
            "name": np.asarray(names, dtype=object)[w],
        },
        geometry=gpd.GeoSeries(lines, crs="EPSG:4326"),
        crs="EPSG:4326",
    )
    edges.attrs["crs"] = target
    vid, vfirst = np.unique(ids[vertex], return_index=True)
    vidx = np.flatnonzero(vertex)[vfirst]
    nodes = gpd.GeoDataFrame(
        {"osmid": vid},
        geometry=shapely.points(lon[vidx], lat[vidx]),
        index=pd.Index(vid, name="node"),
        crs="EPSG:4326",
    )
    return nodes, edges


_ONEWAY_YES = ("yes", "true", "1")


def graph_from_roads(
    nodes: gpd.GeoDataFrame,
    edges: gpd.GeoDataFrame,
    crs: str | None = None,
    directed: bool = False,
) -> nx.MultiGraph:
    """Build a :mod:`networkx` road graph from :func:`read_osm_roads` output.

    Parameters
    ----------
    nodes, edges : GeoDataFrame
        As returned by :func:`read_osm_roads`.
    crs : str, optional
        CRS of the node ``x``/``y`` attributes; default the CRS the lengths were
        measured in (``edges.attrs["crs"]``), else the metric CRS of the nodes.
    directed : bool
        ``False`` (default): a :class:`networkx.MultiGraph` — people on foot or
        e-bike ignore one-way rules. ``True``: a :class:`networkx.MultiDiGraph`
        honouring ``oneway=yes|-1`` (and motorways).

    Returns
    -------
    networkx.MultiGraph or networkx.MultiDiGraph
        Node attributes ``x``, ``y`` (metric, in ``G.graph["crs"]``, as
        :func:`geoplan.access.network_from_edges` needs) and ``lon``, ``lat``;
        edge attributes ``length`` (metres), ``highway``, ``maxspeed`` (km/h),
        ``travel_time`` (seconds at ``maxspeed``), ``osm_id``, ``name``.
    """
    for name, df, cols in (("nodes", nodes, ("osmid",)), ("edges", edges, ("u", "v", "length_m", "highway", "maxspeed"))):
        if not isinstance(df, gpd.GeoDataFrame):
            raise InputError(f"{name}: must be a GeoDataFrame from read_osm_roads")
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise InputError(f"{name}: required column(s) {', '.join(missing)} missing")
    lon = shapely.get_x(nodes.geometry.values) if len(nodes) else np.zeros(0)
    lat = shapely.get_y(nodes.geometry.values) if len(nodes) else np.zeros(0)
    target = crs or edges.attrs.get("crs")
    if target is None:
        target = _crs.metric_crs((lon.min(), lat.min(), lon.max(), lat.max())) if len(nodes) else "EPSG:4326"
    x, y = pyproj.Transformer.from_crs("EPSG:4326", target, always_xy=True).transform(lon, lat)
    G: nx.MultiGraph = nx.MultiDiGraph(crs=target) if directed else nx.MultiGraph(crs=target)
    G.add_nodes_from(
        (int(i), {"x": float(a), "y": float(b), "lon": float(lo), "lat": float(la)})
        for i, a, b, lo, la in zip(nodes["osmid"].to_numpy(), x, y, lon, lat)
    )
    known = set(G.nodes)
    bad = ~(edges["u"].isin(known) & edges["v"].isin(known)).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InputError(f"edges: row {i} refers to a node not in nodes (u={edges['u'].iloc[i]}, v={edges['v'].iloc[i]})")
    tt = edges["length_m"].to_numpy(float) / (edges["maxspeed"].to_numpy(float) / 3.6)
    ow = edges["oneway"].astype("string").fillna("").to_numpy() if "oneway" in edges.columns else np.full(len(edges), "")
    osm_id = edges["osm_id"].to_numpy() if "osm_id" in edges.columns else np.full(len(edges), -1)
    road_name = edges["name"].to_numpy() if "name" in edges.columns else np.full(len(edges), None)
    for u, v, L, h, s, t, o, wid, nm in zip(
        edges["u"].to_numpy(), edges["v"].to_numpy(), edges["length_m"].to_numpy(float),
        edges["highway"].to_numpy(), edges["maxspeed"].to_numpy(float), tt, ow, osm_id, road_name,
    ):
        data = {"length": float(L), "highway": h, "maxspeed": float(s), "travel_time": float(t), "osm_id": int(wid), "name": nm}
        u, v = int(u), int(v)
        if not directed:
            G.add_edge(u, v, **data)
        elif o == "-1":
            G.add_edge(v, u, **data)
        elif o in _ONEWAY_YES or (h in ("motorway", "motorway_link") and o != "no"):
            G.add_edge(u, v, **data)
        else:
            G.add_edge(u, v, **data)
            G.add_edge(v, u, **data)
    return G


def road_graph(
    pbf_path: str | Path,
    bbox: tuple[float, float, float, float] | None = None,
    highway_types: Iterable[str] = DEFAULT_HIGHWAY_TYPES,
    crs: str | None = None,
    directed: bool = False,
) -> nx.MultiGraph:
    """Read an OSM extract's roads straight into a :mod:`networkx` graph.

    Shorthand for ``graph_from_roads(*read_osm_roads(pbf_path, bbox,
    highway_types, crs), crs=crs, directed=directed)``; see those functions.
    Use it with ``geoplan.access.network_from_edges(G)``.
    """
    nodes, edges = read_osm_roads(pbf_path, bbox=bbox, highway_types=highway_types, crs=crs)
    return graph_from_roads(nodes, edges, crs=crs, directed=directed)
