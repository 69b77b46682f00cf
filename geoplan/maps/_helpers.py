"""What the maps share (package-private): styles, GeoJSON layers, the legend, number formats.

Coordinates are WGS84 and the default base layer is OpenStreetMap (WGS84 / Web
Mercator), so no GCJ-02 offset applies.
"""
from __future__ import annotations

import html
import json
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import MacroElement, Template
from folium.plugins import FastMarkerCluster

from geoplan.datasets import SITE_CATEGORIES, TIERS, Dataset
from geoplan.i18n import N_, Translator, localize_reason, translator
from geoplan.i18n.glossary import term
from geoplan.settings import DEFAULT_RADIUS_M, STORAGE_CRS
from geoplan.vocabulary import CATEGORY_PLURALS

if TYPE_CHECKING:
    from geoplan.assign import Assignment


#: DOM id of the legend element (the browser test looks for it).
LEGEND_ID = "geoplan-legend"

#: Overlay names shown in the layer control (stable: tests and users rely on them); English message
#: ids of the catalogues — maps made with ``lang="zh"`` show their translations.
LAYER: dict[str, str] = {
    "counties": N_("Counties"),
    "towns": N_("Towns: share of people within reach"),
    "towns_diff": N_("Towns: change in share within reach (B − A)"),
    "demand": N_("People (villages and communities)"),
    "home": N_("Deputy homes"),
    "station": N_("Liaison stations"),
    "point": N_("Contact points"),
    "closed": N_("Closed stations"),
    "proposed": N_("Proposed stations"),
    "keep": N_("Stations kept"),
    "open": N_("New contact points (opened)"),
    "close": N_("Stations closed by the plan"),
    "changed": N_("Stations whose decision differs"),
    "reach": N_("Reach circles"),
    "links": N_("Deputy groups → stations"),
    "venues": N_("Venues: {}"),
    "access_after": N_("Villages: access to deputies after the plan (E2SFCA) 代表可达性"),
    "access_before": N_("Villages: access to deputies before the plan (E2SFCA) 代表可达性"),
}

TIER_LABEL: dict[str, str] = {
    "home": N_("Deputy home 代表之家"),
    "station": N_("Liaison station 联络站"),
    "point": N_("Contact point 联系点"),
}
TIER_SIZE = {"home": 16, "station": 13, "point": 11}
TIER_COLOR = {"home": "#6a1b9a", "station": "#1565c0", "point": "#00897b"}
CATEGORY_COLOR = {
    "market": "#e65100",
    "bank": "#c62828",
    "clinic": "#2e7d32",
    "workshop": "#827717",
    "enterprise": "#4527a0",
    "service": "#00695c",
    "street": "#5d4037",
}
# Share of people within reach: red (poorly served) → yellow → green (well served).
SHARE_COLORS = ["#d73027", "#fc8d59", "#fee08b", "#91cf60", "#1a9850"]
DIFF_COLORS = ["#b2182b", "#f4a582", "#f7f7f7", "#92c5de", "#2166ac"]
# Access to deputies (E2SFCA classes): none (grey), then light → dark purple.
ACCESS_NONE = "#bdbdbd"
ACCESS_COLORS = ["#f2f0f7", "#cbc9e2", "#9e9ac8", "#756bb1", "#54278f"]
PRECISION = 5  # decimals of a degree ≈ 1 m
TOWN_SIMPLIFY_M = 30.0

CSS = """
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
VALUE_WORDS: dict[str, str] = {  # data values shown in popups, as catalogue messages
    "keep": N_("kept"), "open": N_("new point"), "close": N_("closed by the plan"), "absent": N_("not in this plan"),
    "active": N_("active"), "closed": N_("closed"), "proposed": N_("proposed"),
    "village": N_("village level"), "town": N_("town level"), "county": N_("county level"),
}


def tier_label(tier: str, tr: Translator) -> str:
    """A tier's name: bilingual in English maps ("Deputy home 代表之家"), the glossary term in Chinese ones."""
    return tr(TIER_LABEL[tier]) if tier in TIER_LABEL else tier


def display_values(df: pd.DataFrame, tr: Translator) -> pd.DataFrame:
    """Popup text in the map's language: tiers, decisions, statuses, levels, categories and reasons."""
    if tr.lang == "en":
        return df
    out = df.copy()
    if "tier" in out.columns:
        out["tier"] = [term(t).zh if t in TIERS else t for t in out["tier"].astype(str)]
    for col in ("decision", "decision_a", "decision_b", "status", "level"):
        if col in out.columns:
            out[col] = [tr(VALUE_WORDS[v]) if v in VALUE_WORDS else v for v in out[col].astype(object)]
    if "category" in out.columns:
        out["category"] = [term(c).zh if c in SITE_CATEGORIES else c for c in out["category"].astype(object)]
    for col in ("reason", "reason_a", "reason_b"):
        if col in out.columns:
            out[col] = [localize_reason(str(v), tr.lang) if isinstance(v, str) else v for v in out[col]]
    return out


def esc(v: Any) -> str:
    """Text safe to drop into a popup (folium fills popups through innerHTML)."""
    if v is None or (isinstance(v, float) and not np.isfinite(v)) or v is pd.NA:
        return ""
    return html.escape(str(v))


def round_geometry(geoms: np.ndarray, precision: int = PRECISION) -> np.ndarray:
    return shapely.transform(geoms, lambda c: np.round(c, precision))


def feature_collection(
    gdf: gpd.GeoDataFrame, props: Mapping[str, str], id_column: str | None = None
) -> dict:
    """A compact GeoJSON dict: WGS84, rounded coordinates, escaped text, rounded numbers.

    ``props`` maps property name → kind: ``text``, ``int`` (rounded to an integer),
    ``pct`` (a share 0–1 shown as a percentage string) or ``num`` (2 decimals).
    """
    g = gdf.to_crs(STORAGE_CRS) if gdf.crs is not None else gdf
    geoms = round_geometry(np.asarray(g.geometry.values))
    columns: dict[str, list] = {}
    for name, kind in props.items():
        s = g[name] if name in g.columns else pd.Series([None] * len(g), index=g.index)
        if kind == "text":
            columns[name] = [esc(v) for v in s.tolist()]
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


def bounds(dataset: Dataset) -> tuple[float, float, float, float]:
    minx, miny, maxx, maxy = (float(v) for v in dataset.counties.to_crs(STORAGE_CRS).total_bounds)
    return minx, miny, maxx, maxy


def map_options(dataset: Dataset) -> dict[str, Any]:
    minx, miny, maxx, maxy = bounds(dataset)
    return {
        "location": [(miny + maxy) / 2, (minx + maxx) / 2],
        "zoom_start": 9,
        "tiles": None,
        "prefer_canvas": True,
        "control_scale": False,  # replaced by a metric-only scale bar
    }


def setup_map(m: folium.Map, dataset: Dataset) -> folium.Map:
    """OpenStreetMap base layer, view fitted to the dataset, metric scale bar."""
    folium.TileLayer("OpenStreetMap", name="OpenStreetMap", control=True).add_to(m)
    minx, miny, maxx, maxy = bounds(dataset)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    scale = MacroElement()
    scale._template = Template(
        "{% macro script(this, kwargs) %}L.control.scale({imperial: false, maxWidth: 150})"
        ".addTo({{ this._parent.get_name() }});{% endmacro %}"
    )
    m.add_child(scale)
    return m


def base_map(dataset: Dataset, title: str) -> folium.Map:
    """OpenStreetMap base map fitted to the dataset, with canvas rendering for vector layers."""
    m = setup_map(folium.Map(**map_options(dataset)), dataset)
    # folium types get_root() as Element; a Map's root is a branca Figure, which has a header
    m.get_root().header.add_child(  # type: ignore[attr-defined]
        folium.Element(f"<title>{html.escape(title)}</title>"))
    return m


def empty_layer(m: folium.Map, name: str, show: bool = True) -> None:
    """An empty overlay, so the layer control always lists the same names."""
    folium.FeatureGroup(name=name, show=show).add_to(m)


def town_shapes(dataset: Dataset, towns: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Town polygons simplified in the metric CRS (keeps the HTML small)."""
    metric = towns.to_crs(dataset.metric_crs)
    simple = shapely.simplify(np.asarray(metric.geometry.values), TOWN_SIMPLIFY_M, preserve_topology=True)
    return gpd.GeoDataFrame(towns.drop(columns=towns.geometry.name), geometry=simple, crs=metric.crs)


def add_counties(m: folium.Map, dataset: Dataset, tr: Translator) -> None:
    counties = town_shapes(dataset, dataset.counties)
    folium.GeoJson(
        feature_collection(counties, {"code": "text", "name": "text"}),
        name=tr(LAYER["counties"]),
        style_function=lambda f: {"color": "#37474f", "weight": 2.5, "fill": False, "opacity": 0.9},
        interactive=False,
    ).add_to(m)


def add_towns(
    m: folium.Map,
    dataset: Dataset,
    towns: gpd.GeoDataFrame,
    value: str,
    colormap: cm.LinearColormap,
    name: str,
    props: Mapping[str, str],
    aliases: Iterable[str],
) -> None:
    shapes = town_shapes(dataset, towns)
    fc = feature_collection(shapes, props, id_column="code")
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


def add_demand(m: folium.Map, dataset: Dataset, tr: Translator) -> None:
    d = dataset.demand.merge(town_names(dataset), on="town_code", how="left")
    pop = d["population"].to_numpy(dtype=float)
    # Four size classes keep the shared style table tiny.
    edges = np.quantile(pop, [0.25, 0.5, 0.75]) if len(pop) else np.zeros(3)
    radius = 2 + 1.5 * np.searchsorted(edges, pop, side="right")
    fc = feature_collection(d, {"name": "text", "town": "text", "population": "int"})
    for f, r in zip(fc["features"], radius):
        f["properties"]["_r"] = float(r)
    if not fc["features"]:
        empty_layer(m, tr(LAYER["demand"]))
        return
    folium.GeoJson(
        fc,
        name=tr(LAYER["demand"]),
        marker=folium.CircleMarker(radius=3, weight=0.5, color="#263238", fill=True, fill_color="#546e7a", fill_opacity=0.7),
        style_function=lambda f: {"radius": f["properties"]["_r"]},
        tooltip=folium.GeoJsonTooltip(fields=["name", "town", "population"], aliases=[tr("Place"), tr("Town"), tr("People")]),
    ).add_to(m)


def _round2(x: float) -> float:
    """Two significant digits (class edges people can read)."""
    return float(f"{x:.2g}") if x > 0 else 0.0


def access_classes(villages: pd.DataFrame) -> list[float]:
    """Upper edges of the access classes above 0: the people-weighted quintiles of the villages'
    access after the plan (with access), two significant digits, strictly increasing.
    """
    from geoplan.accessibility import weighted_quantile

    a = pd.to_numeric(villages["access_after"], errors="coerce").to_numpy(float)
    w = pd.to_numeric(villages["population"], errors="coerce").fillna(0).to_numpy(float)
    ok = np.isfinite(a) & (a > 0) & (w > 0)
    if not ok.any():
        return [1.0]
    edges: list[float] = []
    for q in (0.2, 0.4, 0.6, 0.8):
        e = _round2(weighted_quantile(a[ok], w[ok], q))
        if e > 0 and (not edges or e > edges[-1]):
            edges.append(e)
    return edges or [_round2(float(a[ok].max()))]


def access_class(v: float, edges: list[float]) -> int:
    """0 for no access, else 1 + the class of ``v`` among ``edges`` (above the last: the last + 1)."""
    if not np.isfinite(v) or v <= 0:
        return 0
    return 1 + int(np.searchsorted(edges, v, side="left"))


def access_palette(edges: list[float]) -> list[str]:
    """A colour per class: none, then ``len(edges) + 1`` steps from the light end of ACCESS_COLORS."""
    return [ACCESS_NONE] + ACCESS_COLORS[len(ACCESS_COLORS) - len(edges) - 1:]


def add_access(m: folium.Map, dataset: Dataset, villages: gpd.GeoDataFrame, tr: Translator) -> list[float]:
    """Two overlays (off by default) of villages coloured by access to deputies after / before the plan.

    ``villages`` is :attr:`geoplan.planning.Plan.villages` (access per 10,000 people); both
    layers share the classes (:func:`access_classes`), so switching them shows the change.
    Returns the class edges, for the legend.
    """
    edges = access_classes(villages)
    colors = access_palette(edges)
    v = villages.merge(town_names(dataset), on="town_code", how="left") if "town" not in villages.columns else villages
    props = {"name": "text", "town": "text", "population": "int", "access_before": "num", "access_after": "num"}
    aliases = [tr("Place"), tr("Town"), tr("People"), tr("Deputies per 10,000 people before"),
               tr("Deputies per 10,000 people after")]
    for key, column in (("access_after", "access_after"), ("access_before", "access_before")):
        fc = feature_collection(v, props)
        vals = pd.to_numeric(v[column], errors="coerce").to_numpy(float)
        for f, x in zip(fc["features"], vals):
            f["properties"]["_c"] = access_class(float(x), edges)
        if not fc["features"]:
            empty_layer(m, tr(LAYER[key]), show=False)
            continue
        folium.GeoJson(
            fc,
            name=tr(LAYER[key]),
            show=False,
            marker=folium.CircleMarker(radius=4, weight=0.6, color="#37474f", fill=True, fill_opacity=0.9),
            # one style per class keeps folium's shared style table tiny
            style_function=lambda f, colors=colors: {"fillColor": colors[f["properties"]["_c"]]},
            tooltip=folium.GeoJsonTooltip(fields=list(props), aliases=aliases),
        ).add_to(m)
    return edges


def access_legend(edges: list[float], tr: Translator) -> list[str]:
    """Legend rows of the access layers: the caption and one swatch per class."""
    colors = access_palette(edges)
    labels = [tr("no deputy within reach")]
    lo = 0.0
    for e in edges:
        labels.append(f"{lo:g} – {e:g}")
        lo = e
    labels.append(f"> {lo:g}")
    caption = tr("Village: deputies per 10,000 people within reach (E2SFCA; off)")
    rows = [f'<div class="gp-sub">{html.escape(caption)}</div>']
    for c, label in zip(colors, labels):
        rows.append(f'<div class="gp-row"><span class="gp-sw" style="width:10px;height:10px;border-radius:50%;'
                    f'border:1px solid #37474f;background:{c}"></span>{html.escape(label)}</div>')
    return rows


def icon_html(tier: str, state: str = "") -> str:
    cls = f"gp-icon gp-{tier}" + (f" gp-{state}" if state else "")
    return f'<div class="{cls}"></div>'


def add_stations(
    m: folium.Map,
    stations: gpd.GeoDataFrame,
    name: str,
    state_column: str | None,
    fields: Mapping[str, tuple[str, str]],
    tr: Translator,
    show: bool = True,
) -> None:
    """One GeoJson layer of DivIcon markers: shape by tier, ring/cross by state.

    ``fields`` maps property → (kind, popup label); ``state_column`` holds the
    CSS state class (``open``, ``close``, ``proposed`` or empty) per row.
    """
    if stations.empty:
        empty_layer(m, name, show)
        return
    props = {k: kind for k, (kind, _) in fields.items()}
    fc = feature_collection(display_values(stations, tr), props, id_column="id")
    tiers = stations["tier"].astype(str).tolist()
    states = stations[state_column].fillna("").astype(str).tolist() if state_column else [""] * len(stations)
    for f, t, s in zip(fc["features"], tiers, states):
        f["properties"]["_t"] = t if t in TIERS else "point"
        f["properties"]["_s"] = s

    def style(feature: dict) -> dict:
        t, s = feature["properties"]["_t"], feature["properties"]["_s"]
        size = TIER_SIZE[t] + {"open": 4, "close": -2}.get(s, 0)  # closures recede a little
        return {"html": icon_html(t, s), "iconSize": [size, size], "iconAnchor": [size // 2, size // 2]}

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


def add_reach(m: folium.Map, stations: gpd.GeoDataFrame, radius_m: Mapping[str, float], tr: Translator) -> None:
    """Reach circles as one layer of ``L.Circle`` (radius in metres), off by default."""
    name = tr(LAYER["reach"])
    if stations.empty:
        empty_layer(m, name, show=False)
        return
    fc = feature_collection(stations, {"name": "text", "tier": "text"}, id_column="id")
    for f in fc["features"]:
        f["properties"]["_rad"] = float(radius_m.get(f["properties"]["tier"], DEFAULT_RADIUS_M["point"]))

    def style(feature: dict) -> dict:
        t = feature["properties"]["tier"]
        return {"radius": feature["properties"]["_rad"], "color": TIER_COLOR.get(t, "#00897b")}

    folium.GeoJson(
        fc,
        name=name,
        show=False,
        marker=folium.Circle(radius=1000, weight=1, fill=True, fill_opacity=0.08, opacity=0.6, interactive=False),
        style_function=style,
    ).add_to(m)


VENUE_CALLBACK = """function (row) {
    var icon = L.divIcon({className: 'gp-marker', iconSize: [10, 10],
        html: '<div class="gp-venue" style="background:' + row[2] + '"></div>'});
    var marker = L.marker(new L.LatLng(row[0], row[1]), {icon: icon});
    marker.bindPopup('<b>' + row[3] + '</b><br>' + row[4] + '<br>' + VISITORS.replace('{n}', row[5]));
    return marker;
}"""


def add_venues(m: folium.Map, dataset: Dataset, tr: Translator) -> None:
    """Candidate venues, clustered, one layer per category, all off by default."""
    sites = dataset.sites.to_crs(STORAGE_CRS)
    xy = np.round(shapely.get_coordinates(sites.geometry.values), PRECISION)
    cats = sites["category"].astype(str).to_numpy()
    names = [esc(v) or esc(i) for v, i in zip(sites["name"].tolist(), sites["id"].tolist())]
    footfall = np.nan_to_num(sites["footfall"].to_numpy(dtype=float)).round().astype(int)
    for cat in SITE_CATEGORIES:
        idx = np.flatnonzero(cats == cat)
        label = tr(CATEGORY_PLURALS.get(cat, cat))
        name = tr(LAYER["venues"]).format(label)
        if len(idx) == 0:
            empty_layer(m, name, show=False)
            continue
        color = CATEGORY_COLOR.get(cat, "#555555")
        rows = [[float(xy[i, 1]), float(xy[i, 0]), color, names[i], label, int(footfall[i])] for i in idx]
        # FastMarkerCluster always adds itself to its parent, ignoring show=False:
        # wrap it in a feature group that starts hidden.
        group = folium.FeatureGroup(name=name, show=False).add_to(m)
        FastMarkerCluster(
            rows, callback=VENUE_CALLBACK.replace("VISITORS", json.dumps(tr("{n} visitors a day"))), control=False, disableClusteringAtZoom=15, chunkedLoading=True
        ).add_to(group)


def legend_element(
    title: str,
    metrics: list[tuple[str, str]],
    states: Iterable[tuple[str, str]],
    scale: tuple[str, cm.LinearColormap, list[str]],
    extras: Iterable[str],
    tr: Translator,
) -> MacroElement:
    """The legend: tier shapes, state marks, the town colour scale, optional headline figures."""
    rows = []
    if metrics:
        rows.append(
            '<table class="gp-metrics">'
            + "".join(f"<tr><td>{html.escape(k)}</td><td><b>{html.escape(v)}</b></td></tr>" for k, v in metrics)
            + "</table>"
        )
    rows.append(f'<div class="gp-sub">{html.escape(tr("Stations (shape = tier)"))}</div>')
    for tier in TIERS:
        s = TIER_SIZE[tier]
        rows.append(
            f'<div class="gp-row"><span class="gp-sw" style="width:{s}px;height:{s}px">{icon_html(tier)}</span>'
            f"{html.escape(tier_label(tier, tr))}</div>"
        )
    for state, label in states:
        rows.append(
            f'<div class="gp-row"><span class="gp-sw" style="width:14px;height:14px">{icon_html("station", state)}'
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
        "{% macro header(this, kwargs) %}<style>" + CSS + "</style>{% endmacro %}"
        "{% macro html(this, kwargs) %}" + body.replace("{", "&#123;").replace("}", "&#125;") + "{% endmacro %}"
    )
    return el


def share_colormap() -> cm.LinearColormap:
    return cm.LinearColormap(SHARE_COLORS, vmin=0.0, vmax=1.0)


def legend_extras(tr: Translator, reach: bool = True, links: bool = False, venues: bool = True) -> list[str]:
    out = [f'<div class="gp-sub">{html.escape(tr("Other layers"))}</div>',
           '<div class="gp-row"><span class="gp-sw" style="width:10px;height:10px;border-radius:50%;'
           f'background:#546e7a"></span>{html.escape(tr("People (size = population)"))}</div>']
    if reach:
        out.append('<div class="gp-row"><span class="gp-sw gp-ring"></span>'
                   f'{html.escape(tr("Reach circle (tier radius; off)"))}</div>')
    if links:
        out.append('<div class="gp-row"><span class="gp-sw gp-line"></span>'
                   f'{html.escape(tr("Deputy group → station (off)"))}</div>')
    if venues:
        for cat in SITE_CATEGORIES:
            out.append(
                f'<div class="gp-row"><span class="gp-sw" style="width:10px;height:10px">'
                f'<div class="gp-venue" style="background:{CATEGORY_COLOR[cat]}"></div></span>'
                f"{html.escape(tr('Venue: {category} (off)', category=tr(CATEGORY_PLURALS[cat])))}</div>"
            )
    return out


def town_names(dataset: Dataset) -> pd.DataFrame:
    return dataset.towns[["code", "name"]].rename(columns={"code": "town_code", "name": "town"})


def county_names(dataset: Dataset) -> pd.DataFrame:
    return dataset.counties[["code", "name"]].rename(columns={"code": "county_code", "name": "county"})


def as_number(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def fmt_pct(v: Any) -> str:
    x = as_number(v)
    return f"{100 * x:.1f}%" if np.isfinite(x) else "–"


def fmt_int(v: Any) -> str:
    x = as_number(v)
    return f"{x:,.0f}" if np.isfinite(x) else "–"


def fmt_num(v: Any) -> str:
    x = as_number(v)
    return f"{x:,.2f}" if np.isfinite(x) else "–"



def assignment_links_layer(assignment: Assignment, lang: str = "en") -> folium.FeatureGroup:
    """A folium FeatureGroup of each group's links (lines home town → station), coloured by sector match."""
    tr = translator(lang)
    links = assignment.links_geodataframe()
    links = links[["group_id", "station_id", "distance_m", "sector_match", links.geometry.name]].copy()
    links["sector_match"] = links["sector_match"].map({True: "yes", False: "no"})
    lines = folium.FeatureGroup(name=tr(LAYER["links"]), show=True)
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
                aliases=[tr("Deputy group"), tr("Station"), tr("Distance (m)"), tr("Sector match")],
            ),
        ).add_to(lines)
    return lines
