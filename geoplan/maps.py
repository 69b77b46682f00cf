"""Folium maps of a dataset, a plan, or two plans compared.

Every function is pure: it takes a :class:`~geoplan.datasets.Dataset` (and plans)
and returns a :class:`folium.Map`; the caller writes it with ``m.save(path)``.

The maps must stay responsive with the whole Yancheng dataset (thousands of
points), so:

* each point layer is one ``GeoJson`` layer (not one Python ``Marker`` per
  row), styled through a handful of shared styles and with a ``GeoJsonPopup``;
* vector layers draw on a canvas (``prefer_canvas=True``); only stations use
  DOM ``DivIcon`` markers, so each tier keeps a distinct shape;
* venues are clustered (``FastMarkerCluster``, one layer per category, off by
  default) and reach circles are one layer of ``L.Circle`` (radius in metres)
  off by default;
* coordinates are rounded to 5 decimals (about 1 m) and town polygons are
  simplified in the dataset's metric CRS.

Coordinates are WGS84 and the default base layer is OpenStreetMap (WGS84 /
Web Mercator), so no GCJ-02 offset applies.
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement, Template
from folium.plugins import DualMap, FastMarkerCluster

from geoplan import network
from geoplan.datasets import SITE_CATEGORIES, TIERS, Dataset
from geoplan.exceptions import InputError
from geoplan.settings import DEFAULT_RADIUS_M, STORAGE_CRS
from geoplan.vocabulary import CATEGORY_PLURALS, DECISIONS

if TYPE_CHECKING:
    from geoplan.assign import Assignment

__all__ = [
    "LEGEND_ID",
    "LAYER",
    "TIER_LABEL",
    "network_map",
    "plan_map",
    "compare_map",
    "assignment_layers",
    "assignment_links_layer",
    "add_assignment_layers",
]

#: DOM id of the legend element (the browser test looks for it).
LEGEND_ID = "geoplan-legend"

#: Overlay names shown in the layer control (stable: tests and users rely on them).
LAYER: dict[str, str] = {
    "counties": "Counties",
    "towns": "Towns: share of people within reach",
    "towns_diff": "Towns: change in share within reach (B − A)",
    "demand": "People (villages and communities)",
    "home": "Deputy homes",
    "station": "Liaison stations",
    "point": "Contact points",
    "closed": "Closed stations",
    "proposed": "Proposed stations",
    "keep": "Stations kept",
    "open": "New contact points (opened)",
    "close": "Stations closed by the plan",
    "changed": "Stations whose decision differs",
    "reach": "Reach circles",
    "links": "Deputy groups → stations",
    "venues": "Venues: {}",
}

TIER_LABEL: dict[str, str] = {
    "home": "Deputy home 代表之家",
    "station": "Liaison station 联络站",
    "point": "Contact point 联系点",
}
_TIER_SIZE = {"home": 16, "station": 13, "point": 11}
_TIER_COLOR = {"home": "#6a1b9a", "station": "#1565c0", "point": "#00897b"}
_CATEGORY_COLOR = {
    "market": "#e65100",
    "bank": "#c62828",
    "clinic": "#2e7d32",
    "workshop": "#827717",
    "enterprise": "#4527a0",
    "service": "#00695c",
    "street": "#5d4037",
}
# Share of people within reach: red (poorly served) → yellow → green (well served).
_SHARE_COLORS = ["#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850"]
_DIFF_COLORS = ["#b2182b", "#f4a582", "#f7f7f7", "#92c5de", "#2166ac"]
_PRECISION = 5  # decimals of a degree ≈ 1 m
_TOWN_SIMPLIFY_M = 30.0

_CSS = """
.gp-marker{background:none;border:none}
.gp-icon{box-sizing:border-box;width:100%;height:100%;border:2px solid #fff;
 box-shadow:0 0 2px 1px rgba(0,0,0,.65);position:relative}
.gp-home{background:#6a1b9a;border-radius:2px}
.gp-station{background:#1565c0;border-radius:50%}
.gp-point{background:#00897b;transform:rotate(45deg) scale(.85)}
.gp-open{border-color:#ffeb3b;box-shadow:0 0 0 2px #ff6f00,0 0 8px 3px #ff9800}
.gp-proposed{border:2px dashed #ff6f00}
.gp-close{background:#9e9e9e;opacity:.9;box-shadow:0 0 0 2px #d50000}
.gp-close:after{content:"\\00d7";position:absolute;left:0;right:0;top:50%;transform:translateY(-54%);
 text-align:center;color:#d50000;font:bold 15px/1 sans-serif}
.gp-point.gp-close:after{transform:translateY(-54%) rotate(-45deg)}
.gp-venue{box-sizing:border-box;width:100%;height:100%;border-radius:50%;border:1px solid #fff;
 box-shadow:0 0 1px 1px rgba(0,0,0,.4)}
#geoplan-legend{position:fixed;z-index:9999;bottom:40px;left:10px;max-width:300px;max-height:70vh;
 overflow:auto;background:rgba(255,255,255,.94);padding:8px 10px;border-radius:6px;
 box-shadow:0 1px 5px rgba(0,0,0,.4);font:12px/1.35 system-ui,sans-serif;color:#222}
#geoplan-legend h4{margin:0 0 4px;font-size:14px}
#geoplan-legend .gp-sub{margin:6px 0 2px;font-weight:600}
#geoplan-legend .gp-row{display:flex;align-items:center;gap:8px;margin:2px 0}
#geoplan-legend .gp-sw{flex:0 0 auto;display:inline-block}
#geoplan-legend .gp-bar{height:10px;border:1px solid #999;margin:2px 0}
#geoplan-legend .gp-ticks{display:flex;justify-content:space-between;font-size:11px}
#geoplan-legend .gp-metrics td{padding:0 6px 0 0}
#geoplan-legend .gp-line{width:18px;border-top:2px solid #555}
#geoplan-legend .gp-ring{width:14px;height:14px;border-radius:50%;border:2px solid #1565c0;
 background:rgba(21,101,192,.12)}
"""


# --------------------------------------------------------------------------- helpers
def _esc(v: Any) -> str:
    """Text safe to drop into a popup (folium fills popups through innerHTML)."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA:
        return ""
    return html.escape(str(v))


def _round_geometry(geoms: np.ndarray, precision: int = _PRECISION) -> np.ndarray:
    return shapely.transform(geoms, lambda c: np.round(c, precision))


def _feature_collection(
    gdf: gpd.GeoDataFrame, props: Mapping[str, str], id_column: str | None = None
) -> dict:
    """A compact GeoJSON dict: WGS84, rounded coordinates, escaped text, rounded numbers.

    ``props`` maps property name → kind: ``text``, ``int`` (rounded to an integer),
    ``pct`` (a share 0–1 shown as a percentage string) or ``num`` (2 decimals).
    """
    g = gdf.to_crs(STORAGE_CRS) if gdf.crs is not None else gdf
    geoms = _round_geometry(np.asarray(g.geometry.values))
    columns: dict[str, list] = {}
    for name, kind in props.items():
        s = g[name] if name in g.columns else pd.Series([None] * len(g), index=g.index)
        if kind == "text":
            columns[name] = [_esc(v) for v in s.tolist()]
        else:
            x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
            if kind == "int":
                columns[name] = ["–" if not np.isfinite(v) else int(round(v)) for v in x]
            elif kind == "pct":
                columns[name] = ["–" if not np.isfinite(v) else f"{100 * v:.1f}%" for v in x]
            else:
                columns[name] = ["–" if not np.isfinite(v) else round(float(v), 2) for v in x]
    ids = g[id_column].astype(str).tolist() if id_column else None
    geo_json = [json.loads(s) for s in shapely.to_geojson(geoms)]
    features = []
    names = list(props)
    for i, gj in enumerate(geo_json):
        f: dict[str, Any] = {"type": "Feature", "geometry": gj, "properties": {n: columns[n][i] for n in names}}
        if ids is not None:
            f["id"] = ids[i]
        features.append(f)
    return {"type": "FeatureCollection", "features": features}


def _bounds(dataset: Dataset) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = (float(v) for v in dataset.counties.to_crs(STORAGE_CRS).total_bounds)
    return minx, miny, maxx, maxy


def _map_options(dataset: Dataset) -> dict[str, Any]:
    minx, miny, maxx, maxy = _bounds(dataset)
    return {
        "location": [(miny + maxy) / 2, (minx + maxx) / 2],
        "zoom_start": 9,
        "tiles": None,
        "prefer_canvas": True,
        "control_scale": False,  # replaced by a metric-only scale bar
    }


def _setup_map(m: folium.Map, dataset: Dataset) -> folium.Map:
    """OpenStreetMap base layer, view fitted to the dataset, metric scale bar."""
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap", control=True).add_to(m)
    minx, miny, maxx, maxy = _bounds(dataset)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    scale = MacroElement()
    scale._template = Template(
        "{% macro script(this, kwargs) %}L.control.scale({imperial: false, maxWidth: 150})"
        ".addTo({{ this._parent.get_name() }});{% endmacro %}"
    )
    m.add_child(scale)
    return m


def _base_map(dataset: Dataset, title: str) -> folium.Map:
    """OpenStreetMap base map fitted to the dataset, with canvas rendering for vector layers."""
    m = _setup_map(folium.Map(**_map_options(dataset)), dataset)
    # folium types get_root() as Element; a Map's root is a branca Figure, which has a header
    m.get_root().header.add_child(  # type: ignore[attr-defined]
        folium.Element(f"<title>{html.escape(title)}</title>"))
    return m


def _empty_layer(m: folium.Map, name: str, show: bool = True) -> None:
    """An empty overlay, so the layer control always lists the same names."""
    folium.FeatureGroup(name=name, show=show).add_to(m)


def _town_shapes(dataset: Dataset, towns: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Town polygons simplified in the metric CRS (keeps the HTML small)."""
    metric = towns.to_crs(dataset.metric_crs)
    simple = shapely.simplify(np.asarray(metric.geometry.values), _TOWN_SIMPLIFY_M, preserve_topology=True)
    return gpd.GeoDataFrame(towns.drop(columns=towns.geometry.name), geometry=simple, crs=metric.crs)


def _add_counties(m: folium.Map, dataset: Dataset) -> None:
    counties = _town_shapes(dataset, dataset.counties)
    folium.GeoJson(
        _feature_collection(counties, {"code": "text", "name": "text"}),
        name=LAYER["counties"],
        style_function=lambda f: {"color": "#37474f", "weight": 2.5, "fill": False, "opacity": 0.9},
        interactive=False,
    ).add_to(m)


def _add_towns(
    m: folium.Map,
    dataset: Dataset,
    towns: gpd.GeoDataFrame,
    value: str,
    colormap: cm.LinearColormap,
    name: str,
    props: Mapping[str, str],
    aliases: Iterable[str],
) -> None:
    shapes = _town_shapes(dataset, towns)
    fc = _feature_collection(shapes, props, id_column="code")
    raw = dict(zip(towns["code"].astype(str), pd.to_numeric(towns[value], errors="coerce")))

    def style(feature: dict) -> dict:
        v = raw.get(str(feature["id"]), np.nan)
        fill = colormap(float(np.clip(v, colormap.vmin, colormap.vmax))) if np.isfinite(v) else "#bdbdbd"
        return {"fillColor": fill, "color": "#616161", "weight": 0.8, "fillOpacity": 0.5}

    folium.GeoJson(
        fc,
        name=name,
        style_function=style,
        highlight_function=lambda f: {"weight": 3, "color": "#000000"},
        tooltip=folium.GeoJsonTooltip(fields=list(props), aliases=list(aliases), sticky=True),
    ).add_to(m)


def _add_demand(m: folium.Map, dataset: Dataset) -> None:
    d = dataset.demand.merge(_town_names(dataset), on="town_code", how="left")
    pop = d["population"].to_numpy(dtype=float)
    # Four size classes keep the shared style table tiny.
    edges = np.quantile(pop, [0.25, 0.5, 0.75]) if len(pop) else np.zeros(3)
    radius = 2 + 1.5 * np.searchsorted(edges, pop, side="right")
    fc = _feature_collection(d, {"name": "text", "town": "text", "population": "int"})
    for f, r in zip(fc["features"], radius):
        f["properties"]["_r"] = float(r)
    if not fc["features"]:
        _empty_layer(m, LAYER["demand"])
        return
    folium.GeoJson(
        fc,
        name=LAYER["demand"],
        marker=folium.CircleMarker(radius=3, weight=0.5, color="#263238", fill=True, fill_color="#546e7a", fill_opacity=0.7),
        style_function=lambda f: {"radius": f["properties"]["_r"]},
        tooltip=folium.GeoJsonTooltip(fields=["name", "town", "population"], aliases=["Place", "Town", "People"]),
    ).add_to(m)


def _icon_html(tier: str, state: str = "") -> str:
    cls = f"gp-icon gp-{tier}" + (f" gp-{state}" if state else "")
    return f'<div class="{cls}"></div>'


def _add_stations(
    m: folium.Map,
    stations: gpd.GeoDataFrame,
    name: str,
    state_column: str | None,
    fields: Mapping[str, tuple[str, str]],
    show: bool = True,
) -> None:
    """One GeoJson layer of DivIcon markers: shape by tier, ring/cross by state.

    ``fields`` maps property → (kind, popup label); ``state_column`` holds the
    CSS state class (``open``, ``close``, ``proposed`` or empty) per row.
    """
    if stations.empty:
        _empty_layer(m, name, show)
        return
    props = {k: kind for k, (kind, _) in fields.items()}
    fc = _feature_collection(stations, props, id_column="id")
    tiers = stations["tier"].astype(str).tolist()
    states = stations[state_column].fillna("").astype(str).tolist() if state_column else [""] * len(stations)
    for f, t, s in zip(fc["features"], tiers, states):
        f["properties"]["_t"] = t if t in TIERS else "point"
        f["properties"]["_s"] = s

    def style(feature: dict) -> dict:
        t, s = feature["properties"]["_t"], feature["properties"]["_s"]
        size = _TIER_SIZE[t] + {"open": 4, "close": -2}.get(s, 0)  # closures recede a little
        return {"html": _icon_html(t, s), "iconSize": [size, size], "iconAnchor": [size // 2, size // 2]}

    folium.GeoJson(
        fc,
        name=name,
        show=show,
        marker=folium.Marker(icon=folium.DivIcon(class_name="gp-marker", icon_size=(12, 12), icon_anchor=(6, 6))),
        style_function=style,
        tooltip=folium.GeoJsonTooltip(fields=["name"], labels=False),
        popup=folium.GeoJsonPopup(
            fields=list(fields), aliases=[label for _, label in fields.values()], max_width=360
        ),
    ).add_to(m)


def _add_reach(m: folium.Map, stations: gpd.GeoDataFrame, radius_m: Mapping[str, float]) -> None:
    """Reach circles as one layer of ``L.Circle`` (radius in metres), off by default."""
    name = LAYER["reach"]
    if stations.empty:
        _empty_layer(m, name, show=False)
        return
    fc = _feature_collection(stations, {"name": "text", "tier": "text"}, id_column="id")
    for f in fc["features"]:
        f["properties"]["_rad"] = float(radius_m.get(f["properties"]["tier"], DEFAULT_RADIUS_M["point"]))

    def style(feature: dict) -> dict:
        t = feature["properties"]["tier"]
        return {"radius": feature["properties"]["_rad"], "color": _TIER_COLOR.get(t, "#00897b")}

    folium.GeoJson(
        fc,
        name=name,
        show=False,
        marker=folium.Circle(radius=1000, weight=1, fill=True, fill_opacity=0.08, opacity=0.6, interactive=False),
        style_function=style,
    ).add_to(m)


_VENUE_CALLBACK = """function (row) {
    var icon = L.divIcon({className: 'gp-marker', iconSize: [10, 10],
        html: '<div class="gp-venue" style="background:' + row[2] + '"></div>'});
    var marker = L.marker(new L.LatLng(row[0], row[1]), {icon: icon});
    marker.bindPopup('<b>' + row[3] + '</b><br>' + row[4] + '<br>' + row[5] + ' visitors a day');
    return marker;
}"""


def _add_venues(m: folium.Map, dataset: Dataset) -> None:
    """Candidate venues, clustered, one layer per category, all off by default."""
    sites = dataset.sites.to_crs(STORAGE_CRS)
    xy = np.round(shapely.get_coordinates(sites.geometry.values), _PRECISION)
    cats = sites["category"].astype(str).to_numpy()
    names = [_esc(v) or _esc(i) for v, i in zip(sites["name"].tolist(), sites["id"].tolist())]
    footfall = np.nan_to_num(sites["footfall"].to_numpy(dtype=float)).round().astype(int)
    for cat in SITE_CATEGORIES:
        idx = np.flatnonzero(cats == cat)
        label = CATEGORY_PLURALS.get(cat, cat)
        name = LAYER["venues"].format(label)
        if len(idx) == 0:
            _empty_layer(m, name, show=False)
            continue
        color = _CATEGORY_COLOR.get(cat, "#555555")
        rows = [[float(xy[i, 1]), float(xy[i, 0]), color, names[i], label, int(footfall[i])] for i in idx]
        # FastMarkerCluster always adds itself to its parent, ignoring show=False:
        # wrap it in a feature group that starts hidden.
        group = folium.FeatureGroup(name=name, show=False).add_to(m)
        FastMarkerCluster(
            rows, callback=_VENUE_CALLBACK, control=False, disableClusteringAtZoom=15, chunkedLoading=True
        ).add_to(group)


def _legend(
    title: str,
    metrics: list[tuple[str, str]],
    states: Iterable[tuple[str, str]],
    scale: tuple[str, cm.LinearColormap, list[str]],
    extras: Iterable[str] = (),
) -> MacroElement:
    """The legend: tier shapes, state marks, the town colour scale, optional headline figures."""
    rows = []
    if metrics:
        rows.append(
            '<table class="gp-metrics">'
            + "".join(f"<tr><td>{html.escape(k)}</td><td><b>{html.escape(v)}</b></td></tr>" for k, v in metrics)
            + "</table>"
        )
    rows.append('<div class="gp-sub">Stations (shape = tier)</div>')
    for tier in TIERS:
        s = _TIER_SIZE[tier]
        rows.append(
            f'<div class="gp-row"><span class="gp-sw" style="width:{s}px;height:{s}px">{_icon_html(tier)}</span>'
            f"{html.escape(TIER_LABEL[tier])}</div>"
        )
    for state, label in states:
        rows.append(
            f'<div class="gp-row"><span class="gp-sw" style="width:14px;height:14px">{_icon_html("station", state)}'
            f"</span>{html.escape(label)}</div>"
        )
    caption, cmap, ticks = scale
    stops = ",".join(cmap.rgb_hex_str(cmap.vmin + (cmap.vmax - cmap.vmin) * k / 10) for k in range(11))
    rows.append(f'<div class="gp-sub">{html.escape(caption)}</div>')
    rows.append(f'<div class="gp-bar" style="background:linear-gradient(to right,{stops})"></div>')
    rows.append('<div class="gp-ticks">' + "".join(f"<span>{html.escape(t)}</span>" for t in ticks) + "</div>")
    rows.extend(extras)
    body = (
        f'<div id="{LEGEND_ID}"><details open><summary><b>{html.escape(title)}</b></summary>'
        + "".join(rows)
        + "</details></div>"
    )
    el = MacroElement()
    el._template = Template(
        "{% macro header(this, kwargs) %}<style>" + _CSS + "</style>{% endmacro %}"
        "{% macro html(this, kwargs) %}" + body.replace("{", "&#123;").replace("}", "&#125;") + "{% endmacro %}"
    )
    return el


def _share_colormap() -> cm.LinearColormap:
    return cm.LinearColormap(_SHARE_COLORS, vmin=0.0, vmax=1.0)


def _extras(reach: bool = True, links: bool = False, venues: bool = True) -> list[str]:
    out = ['<div class="gp-sub">Other layers</div>',
           '<div class="gp-row"><span class="gp-sw" style="width:10px;height:10px;border-radius:50%;'
           'background:#546e7a"></span>People (size = population)</div>']
    if reach:
        out.append('<div class="gp-row"><span class="gp-sw gp-ring"></span>Reach circle (tier radius; off)</div>')
    if links:
        out.append('<div class="gp-row"><span class="gp-sw gp-line"></span>Deputy group → station (off)</div>')
    if venues:
        for cat in SITE_CATEGORIES:
            out.append(
                f'<div class="gp-row"><span class="gp-sw" style="width:10px;height:10px">'
                f'<div class="gp-venue" style="background:{_CATEGORY_COLOR[cat]}"></div></span>'
                f"Venue: {html.escape(CATEGORY_PLURALS[cat])} (off)</div>"
            )
    return out


def _town_names(dataset: Dataset) -> pd.DataFrame:
    return dataset.towns[["code", "name"]].rename(columns={"code": "town_code", "name": "town"})


def _county_names(dataset: Dataset) -> pd.DataFrame:
    return dataset.counties[["code", "name"]].rename(columns={"code": "county_code", "name": "county"})


def _num(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _pct(v: Any) -> str:
    x = _num(v)
    return f"{100 * x:.1f}%" if np.isfinite(x) else "–"


def _int(v: Any) -> str:
    x = _num(v)
    return f"{x:,.0f}" if np.isfinite(x) else "–"


# --------------------------------------------------------------------------- network map
@dataclass(frozen=True)
class _NetworkStats:
    stations: gpd.GeoDataFrame  # dataset stations + reach_people, unique_people
    towns: gpd.GeoDataFrame  # towns + population, covered, share, n_active


def _network_stats(dataset: Dataset, radius_m: Mapping[str, float]) -> _NetworkStats:
    """People within reach of the active network (:func:`geoplan.network.within_reach`: radius per tier)."""
    st = dataset.stations
    active = network.active_mask(dataset)
    pop = dataset.demand["population"].to_numpy(dtype=float)
    cov = network.reach_matrix(dataset, radius_m)
    cov_active = cov[:, np.flatnonzero(active)]
    n_reach = np.asarray(cov_active.sum(axis=1)).ravel()
    covered = n_reach > 0
    reach = np.asarray(cov.T @ pop).ravel()
    only = pop * (n_reach == 1)
    unique = np.where(active, np.asarray(cov.T @ only).ravel(), 0.0)
    stations = st.assign(reach_people=reach, unique_people=unique)
    tc = dataset.demand["town_code"].astype(str)
    per_town = pd.DataFrame({"town_code": tc, "population": pop, "covered": pop * covered}).groupby("town_code").sum()
    n_active = st[active].groupby("town_code").size()
    towns = dataset.towns.copy()
    code = towns["code"].astype(str)
    towns["population"] = code.map(per_town["population"]).fillna(0.0).to_numpy()
    towns["covered"] = code.map(per_town["covered"]).fillna(0.0).to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        towns["share"] = np.where(towns["population"] > 0, towns["covered"] / towns["population"], np.nan)
    towns["n_active"] = code.map(n_active).fillna(0).astype(int).to_numpy()
    return _NetworkStats(stations, towns)


def network_map(dataset: Dataset, radius_m: Mapping[str, float] | None = None) -> folium.Map:
    """The current network: towns shaded by coverage, stations by tier, people, venues.

    Parameters
    ----------
    dataset : Dataset
        The city's layers.
    radius_m : mapping of tier → metres, optional
        Service radius per tier (default :data:`geoplan.settings.DEFAULT_RADIUS_M`),
        used for the town shading, the station popups and the reach circles.

    Returns
    -------
    folium.Map
        Layers: counties, towns (share of people within reach of an active
        station), people, one layer per station tier, closed and proposed
        stations, reach circles (off), venues by category (clustered, off); a
        legend (``#geoplan-legend``) and a layer control.
    """
    radius_m = dict(DEFAULT_RADIUS_M if radius_m is None else radius_m)
    stats = _network_stats(dataset, radius_m)
    m = _base_map(dataset, f"{dataset.name}: deputy station network")
    towns = stats.towns.merge(_county_names(dataset), on="county_code", how="left")
    _add_towns(
        m, dataset, towns, "share", _share_colormap(), LAYER["towns"],
        {"name": "text", "county": "text", "population": "int", "covered": "int", "share": "pct", "n_active": "int"},
        ["Town", "County", "People", "Within reach", "Share within reach", "Active stations"],
    )
    _add_counties(m, dataset)
    _add_demand(m, dataset)
    st = stats.stations.merge(_town_names(dataset), on="town_code", how="left")
    st["state"] = st["status"].map({"closed": "close", "proposed": "proposed"}).fillna("")
    fields = {
        "name": ("text", "Name"), "id": ("text", "Id"), "tier": ("text", "Tier"), "level": ("text", "Level"),
        "town": ("text", "Town"), "sector": ("text", "Sector"), "status": ("text", "Status"),
        "reach_people": ("int", "People within reach"), "unique_people": ("int", "Reached by no other station"),
    }
    active = st[st["id"].isin(dataset.active_stations()["id"])]
    for tier in TIERS:
        _add_stations(m, active[active["tier"] == tier], LAYER[tier], "state", fields)
    _add_stations(m, st[st["status"] == "proposed"], LAYER["proposed"], "state", fields)
    _add_stations(m, st[st["status"] == "closed"], LAYER["closed"], "state", fields, show=False)
    _add_reach(m, active, radius_m)
    _add_venues(m, dataset)
    pop = float(towns["population"].sum())
    people = float(towns["covered"].sum())
    metrics = [
        ("Active stations", f"{len(active):,}"),
        ("People", _int(pop)),
        ("Within reach", f"{_int(people)} ({_pct(people / pop if pop else np.nan)})"),
    ]
    _legend(
        f"{dataset.name}: station network",
        metrics,
        [("proposed", "Proposed"), ("close", "Closed (off)")],
        ("Town: share of people within reach", _share_colormap(), ["0%", "50%", "100%"]),
        _extras(),
    ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


# --------------------------------------------------------------------------- plan map
def _plan_radius(plan: Any) -> dict[str, float]:
    scenario = getattr(plan, "scenario", None)
    radius = getattr(scenario, "radius_m", None)
    return dict(radius) if radius else dict(DEFAULT_RADIUS_M)


def _check_columns(df: pd.DataFrame, needed: Iterable[str], what: str) -> None:
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputError(f"{what}: required column(s) {', '.join(missing)} missing")


_PLAN_STATION_COLUMNS = ("id", "name", "tier", "town_code", "decision", "reason", "reach_people", "unique_people")
_PLAN_TOWN_COLUMNS = ("code", "name", "population", "share_before", "share_after")


def _station_fields() -> dict[str, tuple[str, str]]:
    return {
        "name": ("text", "Name"), "id": ("text", "Id"), "tier": ("text", "Tier"), "level": ("text", "Level"),
        "town": ("text", "Town"), "sector": ("text", "Sector"), "decision": ("text", "Decision"),
        "category": ("text", "Venue"), "reach_people": ("int", "People within reach"),
        "unique_people": ("int", "Reached by no other station"), "loss_if_closed": ("int", "People left unreached if closed"),
        "reason": ("text", "Why"),
    }


def _links_fallback(dataset: Dataset, assignment: Any, stations: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Lines group town → station from a bare ``group_stations`` table (group_id, station_id)."""
    table = getattr(assignment, "group_stations", None)
    if not isinstance(table, pd.DataFrame):
        raise InputError("assignment: expected an Assignment with a 'group_stations' table")
    _check_columns(table, ("group_id", "station_id"), "assignment.group_stations")
    st = stations.to_crs(STORAGE_CRS)
    st_xy = pd.DataFrame(shapely.get_coordinates(st.geometry.values), columns=["sx", "sy"], index=st["id"].astype(str))
    towns: gpd.GeoDataFrame = dataset.to_metric()["towns"]
    anchor = gpd.GeoSeries(shapely.point_on_surface(towns.geometry.values), crs=towns.crs).to_crs(STORAGE_CRS)
    town_xy = pd.DataFrame(shapely.get_coordinates(anchor.values), columns=["gx", "gy"], index=towns["code"].astype(str))
    groups = dataset.groups.assign(group_id=dataset.groups["id"].astype(str))[["group_id", "town_code"]]
    t = table.assign(group_id=table["group_id"].astype(str), station_id=table["station_id"].astype(str))
    t = t[["group_id", "station_id"]].merge(groups, on="group_id", how="left")
    t = t.join(town_xy, on="town_code").join(st_xy, on="station_id").dropna(subset=["gx", "gy", "sx", "sy"])
    a = np.stack([t[["gx", "gy"]].to_numpy(float), t[["sx", "sy"]].to_numpy(float)], axis=1)
    lines = shapely.linestrings(a) if len(t) else np.empty(0, dtype=object)
    return gpd.GeoDataFrame(t[["group_id", "station_id"]].reset_index(drop=True), geometry=lines, crs=STORAGE_CRS)


def _add_links(m: folium.Map, dataset: Dataset, assignment: Any, stations: gpd.GeoDataFrame) -> None:
    """Group → station links, off by default.

    Uses :func:`assignment_links_layer` (coloured by sector match) for a real
    :class:`~geoplan.assign.Assignment`; a bare object with a ``group_stations``
    table is drawn from the groups' towns.
    """
    if hasattr(assignment, "links_geodataframe"):
        group = assignment_links_layer(assignment)
        group.layer_name = LAYER["links"]
        group.show = False
        group.add_to(m)
        return
    links = _links_fallback(dataset, assignment, stations)
    if links.empty:
        _empty_layer(m, LAYER["links"], show=False)
        return
    folium.GeoJson(
        _feature_collection(links, {"group_id": "text", "station_id": "text"}),
        name=LAYER["links"],
        show=False,
        style_function=lambda f: {"color": "#424242", "weight": 1, "opacity": 0.55},
        tooltip=folium.GeoJsonTooltip(fields=["group_id", "station_id"], aliases=["Deputy group", "Station"]),
    ).add_to(m)


def _metrics_of(plan: Any) -> dict[str, Any]:
    """A plan's metrics as a dict: ``PlanMetrics.to_dict()``, or a bare mapping (a duck-typed plan), or {}."""
    m: Any = getattr(plan, "metrics", None)
    if hasattr(m, "to_dict"):
        return dict(m.to_dict())
    return dict(m) if isinstance(m, Mapping) else {}


def _check_plan(plan: Any, label: str = "plan") -> None:
    stations = getattr(plan, "stations", None)
    towns = getattr(plan, "towns", None)
    if not isinstance(stations, gpd.GeoDataFrame) or not isinstance(towns, gpd.GeoDataFrame):
        raise InputError(f"{label}: expected a Plan with 'stations' and 'towns' GeoDataFrames")
    _check_columns(stations, _PLAN_STATION_COLUMNS, f"{label}.stations")
    _check_columns(towns, _PLAN_TOWN_COLUMNS, f"{label}.towns")
    bad = ~stations["decision"].isin(DECISIONS)
    if bad.any():
        row = stations.loc[bad, "id"].iloc[0]
        raise InputError(
            f"{label}.stations: row {row}: column 'decision' value {stations.loc[bad, 'decision'].iloc[0]!r} "
            f"is not one of {', '.join(DECISIONS)}"
        )


def _plan_layers(m: folium.Map, dataset: Dataset, plan: Any, assignment: Any | None, venues: bool) -> pd.DataFrame:
    """Add a plan's layers to ``m``; return its stations with town names and icon states."""
    stations, towns = plan.stations, plan.towns
    radius_m = _plan_radius(plan)
    t = towns.copy()
    if "county" not in t.columns and "county_code" in t.columns:
        t = t.merge(_county_names(dataset), on="county_code", how="left")
    _add_towns(
        m, dataset, t, "share_after", _share_colormap(), LAYER["towns"],
        {"name": "text", "county": "text", "population": "int", "share_before": "pct", "share_after": "pct",
         "stations_before": "int", "stations_after": "int"},
        ["Town", "County", "People", "Within reach before", "Within reach after", "Stations before", "Stations after"],
    )
    _add_counties(m, dataset)
    _add_demand(m, dataset)
    st = stations.drop(columns=[c for c in ("town",) if c in stations.columns]).merge(
        _town_names(dataset), on="town_code", how="left"
    )
    st["state"] = st["decision"].map({"open": "open", "close": "close"}).fillna("")
    fields = {k: v for k, v in _station_fields().items() if k in st.columns}
    _add_stations(m, st[st["decision"] == "keep"], LAYER["keep"], "state", fields)
    _add_stations(m, st[st["decision"] == "open"], LAYER["open"], "state", fields)
    _add_stations(m, st[st["decision"] == "close"], LAYER["close"], "state", fields)
    _add_reach(m, st[st["decision"] != "close"], radius_m)
    if assignment is not None:
        _add_links(m, dataset, assignment, stations)
    if venues:
        _add_venues(m, dataset)
    return st


def plan_map(dataset: Dataset, plan: Any, assignment: Any | None = None) -> folium.Map:
    """A plan on one map: towns by coverage after, kept / opened / closed stations.

    Parameters
    ----------
    dataset : Dataset
        The dataset the plan was made from.
    plan : geoplan.planning.Plan
        Uses ``plan.stations`` (decision, reason, reach_people, unique_people),
        ``plan.towns`` (share_before, share_after), ``plan.metrics`` and
        ``plan.scenario.radius_m``.
    assignment : geoplan.assign.Assignment, optional
        If given, adds the group → station links (off by default).

    Returns
    -------
    folium.Map
        With a legend (``#geoplan-legend``) and a layer control.
    """
    _check_plan(plan)
    scenario_name = getattr(getattr(plan, "scenario", None), "name", "plan")
    m = _base_map(dataset, f"{dataset.name}: {scenario_name}")
    st = _plan_layers(m, dataset, plan, assignment, venues=True)
    mt = _metrics_of(plan)
    n_keep, n_open, n_close = (int((st["decision"] == d).sum()) for d in ("keep", "open", "close"))
    metrics = [
        ("Scenario", str(scenario_name)),
        ("Within reach", f"{_pct(mt.get('share_before'))} → {_pct(mt.get('share_after'))}"),
        ("People reached", f"{_int(mt.get('people_before'))} → {_int(mt.get('people_after'))}"),
        ("Stations", f"{n_keep:,} kept, {n_open:,} opened, {n_close:,} closed"),
    ]
    if "gap" in mt:
        metrics.append(("Optimality gap", _pct(mt.get("gap"))))
    _legend(
        f"{dataset.name}: {scenario_name}",
        metrics,
        [("open", "Opened by the plan (ring)"), ("close", "Closed by the plan (cross)")],
        ("Town: share within reach after the plan", _share_colormap(), ["0%", "50%", "100%"]),
        _extras(links=assignment is not None),
    ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


# --------------------------------------------------------------------------- comparison
def compare_map(dataset: Dataset, plan_a: Any, plan_b: Any, side_by_side: bool = False) -> folium.Map | DualMap:
    """Two plans compared: a difference map, or the two plan maps side by side.

    Parameters
    ----------
    dataset : Dataset
        The dataset both plans were made from.
    plan_a, plan_b : geoplan.planning.Plan
        The baseline (A) and the alternative (B).
    side_by_side : bool, default False
        False: one map with towns shaded by ``share_after(B) − share_after(A)``
        (blue = B reaches more), the stations whose decision differs drawn with
        B's decision (the popup shows both decisions and reasons), and each
        plan's active stations (off). True: a ``folium.plugins.DualMap`` with A
        on the left and B on the right, panning and zooming together.

    Returns
    -------
    folium.Map or folium.plugins.DualMap
        Either way with a legend (``#geoplan-legend``) and layer control(s);
        write it with ``m.save(path)``.
    """
    _check_plan(plan_a, "plan_a")
    _check_plan(plan_b, "plan_b")
    if side_by_side:
        return _dual_map(dataset, plan_a, plan_b)
    name_a = str(getattr(getattr(plan_a, "scenario", None), "name", "A"))
    name_b = str(getattr(getattr(plan_b, "scenario", None), "name", "B"))
    m = _base_map(dataset, f"{dataset.name}: {name_a} vs {name_b}")
    ta = plan_a.towns[["code", "share_after"]].rename(columns={"share_after": "share_a"})
    tb = plan_b.towns[["code", "share_after"]].rename(columns={"share_after": "share_b"})
    towns = dataset.towns.merge(ta, on="code", how="left").merge(tb, on="code", how="left")
    towns["diff"] = pd.to_numeric(towns["share_b"], errors="coerce") - pd.to_numeric(towns["share_a"], errors="coerce")
    span = float(np.nanmax(np.abs(towns["diff"].to_numpy(dtype=float)), initial=0.0))
    span = max(span, 0.01)
    diff_cmap = cm.LinearColormap(_DIFF_COLORS, vmin=-span, vmax=span)
    _add_towns(
        m, dataset, towns, "diff", diff_cmap, LAYER["towns_diff"],
        {"name": "text", "share_a": "pct", "share_b": "pct", "diff": "pct"},
        ["Town", f"Within reach, {name_a}", f"Within reach, {name_b}", "Change"],
    )
    _add_counties(m, dataset)
    cols = ["id", "decision", "reason"]
    a = pd.DataFrame(plan_a.stations[cols]).rename(columns={"decision": "decision_a", "reason": "reason_a"})
    b_gdf = plan_b.stations
    b = pd.DataFrame(b_gdf.drop(columns=b_gdf.geometry.name)).rename(columns={"decision": "decision_b", "reason": "reason_b"})
    both = b.merge(a, on="id", how="outer")
    geo = pd.concat([plan_b.stations[["id", "geometry"]], plan_a.stations[["id", "geometry"]]]).drop_duplicates("id")
    # Rows only in plan A take their attributes from A.
    extra = pd.DataFrame(plan_a.stations.drop(columns=plan_a.stations.geometry.name)).set_index("id")
    for c in ("name", "tier", "level", "town_code", "sector", "reach_people", "unique_people"):
        if c in both.columns and c in extra.columns:
            both[c] = both[c].fillna(both["id"].map(extra[c]))
    both = gpd.GeoDataFrame(both.merge(geo, on="id", how="left"), geometry="geometry", crs=plan_b.stations.crs)
    both["decision_a"] = both["decision_a"].fillna("absent")
    both["decision_b"] = both["decision_b"].fillna("absent")
    both = both.merge(_town_names(dataset), on="town_code", how="left")
    changed = both[both["decision_a"] != both["decision_b"]].copy()
    changed["state"] = changed["decision_b"].map({"open": "open", "close": "close", "absent": "close"}).fillna("")
    fields = {
        "name": ("text", "Name"), "id": ("text", "Id"), "tier": ("text", "Tier"), "town": ("text", "Town"),
        "decision_a": ("text", f"Decision in {name_a}"), "decision_b": ("text", f"Decision in {name_b}"),
        "reason_a": ("text", f"Why ({name_a})"), "reason_b": ("text", f"Why ({name_b})"),
        "reach_people": ("int", "People within reach"),
    }
    _add_stations(m, changed, LAYER["changed"], "state", fields)
    for label, p in ((name_a, plan_a), (name_b, plan_b)):
        s = p.stations[p.stations["decision"] != "close"].merge(_town_names(dataset), on="town_code", how="left")
        s = s.assign(state=s["decision"].map({"open": "open"}).fillna(""))
        fields = {k: v for k, v in _station_fields().items() if k in s.columns}
        _add_stations(m, s, f"Active stations: {label}", "state", fields, show=False)
    ma, mb = _metrics_of(plan_a), _metrics_of(plan_b)
    metrics = [
        (f"A: {name_a}", f"{_pct(ma.get('share_after'))} within reach"),
        (f"B: {name_b}", f"{_pct(mb.get('share_after'))} within reach"),
        ("Stations differing", f"{len(changed):,}"),
    ]
    _legend(
        f"{dataset.name}: {name_a} vs {name_b}",
        metrics,
        [("open", f"Opened in {name_b} (not in {name_a})"), ("close", f"Closed / absent in {name_b}")],
        ("Town: change in share within reach (B − A)", diff_cmap, [f"{-100 * span:+.0f} pts", "0", f"{100 * span:+.0f} pts"]),
        _extras(reach=False, venues=False),
    ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return m


def _dual_map(dataset: Dataset, plan_a: Any, plan_b: Any) -> DualMap:
    """Plan A left, plan B right, synchronised (Leaflet.Sync)."""
    names = [str(getattr(getattr(p, "scenario", None), "name", k)) for p, k in ((plan_a, "A"), (plan_b, "B"))]
    dm = DualMap(layout="horizontal", **_map_options(dataset))
    rows = []
    for side, p, name, where in ((dm.m1, plan_a, names[0], "left"), (dm.m2, plan_b, names[1], "right")):
        _setup_map(side, dataset)
        _plan_layers(side, dataset, p, None, venues=False)
        folium.LayerControl(collapsed=True).add_to(side)
        mt = _metrics_of(p)
        rows.append(
            (f"{where.capitalize()}: {name}",
             f"{_pct(mt.get('share_after'))} within reach, {mt.get('n_open', '–')} opened, {mt.get('n_close', '–')} closed")
        )
    dm.m1.get_root().header.add_child(  # type: ignore[attr-defined]  # root is a branca Figure
        folium.Element(f"<title>{html.escape(f'{dataset.name}: {names[0]} | {names[1]}')}</title>")
    )
    _legend(
        f"{dataset.name}: {names[0]} | {names[1]}",
        rows,
        [("open", "Opened by the plan (ring)"), ("close", "Closed by the plan (cross)")],
        ("Town: share within reach after the plan", _share_colormap(), ["0%", "50%", "100%"]),
        _extras(venues=False),
    ).add_to(dm.m1)
    return dm


# --------------------------------------------------------------------------- assignment layers
def assignment_links_layer(assignment: Assignment) -> folium.FeatureGroup:
    """A folium FeatureGroup of each group's links (lines home town → station), coloured by sector match."""
    links = assignment.links_geodataframe()
    links = links[["group_id", "station_id", "distance_m", "sector_match", links.geometry.name]].copy()
    links["sector_match"] = links["sector_match"].map({True: "yes", False: "no"})
    lines = folium.FeatureGroup(name="Deputy groups → stations", show=True)
    if len(links):
        folium.GeoJson(
            links.to_json(drop_id=True),
            name="links",
            style_function=lambda f: {
                "color": "#b2182b" if f["properties"]["sector_match"] == "yes" else "#2166ac",
                "weight": 1.5, "opacity": 0.6,
            },
            tooltip=folium.GeoJsonTooltip(
                fields=["group_id", "station_id", "distance_m", "sector_match"],
                aliases=["Group", "Station", "Distance (m)", "Sector match"],
            ),
        ).add_to(lines)
    return lines


def assignment_layers(assignment: Assignment, dataset: Dataset) -> list[Any]:
    """Folium layers of an assignment: each group's links and a choropleth of visiting deputies per town.

    Add them with ``layer.add_to(m)`` (or :func:`add_assignment_layers`).

    Examples
    --------
    >>> import folium, geoplan
    >>> from geoplan.assign import assign
    >>> ds = geoplan.load()
    >>> m = add_assignment_layers(folium.Map(), assign(ds), ds)
    >>> len(assignment_layers(assign(ds), ds))
    2
    """
    towns = dataset.towns[["code", "name", dataset.towns.geometry.name]].merge(
        assignment.town_visitors[["town_code", "visiting_deputies"]], left_on="code", right_on="town_code", how="left"
    ).drop(columns="town_code")
    towns["visiting_deputies"] = towns["visiting_deputies"].fillna(0).astype(int)
    top = max(int(towns["visiting_deputies"].max()) if len(towns) else 0, 1)
    bins = sorted({float(b) for b in np.linspace(0, top, 6).round()} | {0.0, float(top)})
    choro = folium.Choropleth(
        geo_data=towns.to_json(drop_id=True),
        data=towns,
        columns=["code", "visiting_deputies"],
        key_on="feature.properties.code",
        fill_color="YlGn",
        fill_opacity=0.6,
        line_opacity=0.3,
        bins=bins,
        name="Visiting deputies per town",
        legend_name="Visiting national, provincial and city deputies per town",
        highlight=True,
    )
    return [assignment_links_layer(assignment), choro]


def add_assignment_layers(m: Any, assignment: Assignment, dataset: Dataset) -> Any:
    """Add :func:`assignment_layers` to a folium map and return it."""
    for layer in assignment_layers(assignment, dataset):
        layer.add_to(m)
    return m
