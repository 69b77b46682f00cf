"""The comparison map: two plans as a difference map or side by side."""
from __future__ import annotations

import html
from typing import Any

import branca.colormap as cm
import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from folium.plugins import DualMap

from geoplan import html_assets
from geoplan.datasets import Dataset
from geoplan.i18n import Translator, translator
from geoplan.maps._helpers import (
    DIFF_COLORS,
    LAYER,
    add_counties,
    add_stations,
    add_towns,
    base_map,
    fmt_pct,
    legend_element,
    legend_extras,
    map_options,
    setup_map,
    share_colormap,
    town_names,
)
from geoplan.maps._plan_layers import (
    check_plan,
    metrics_of,
    plan_layers,
    station_fields,
)


def compare_map(dataset: Dataset, plan_a: Any, plan_b: Any, side_by_side: bool = False,
                lang: str = "en") -> folium.Map | DualMap:
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
    lang : {"en", "zh"}, default "en"
        Language of the layer names, legend, popups and reasons (:mod:`geoplan.i18n`).

    Returns
    -------
    folium.Map or folium.plugins.DualMap
        Either way with a legend (``#geoplan-legend``) and layer control(s);
        write it with ``m.save(path)``.
    """
    check_plan(plan_a, "plan_a")
    check_plan(plan_b, "plan_b")
    tr = translator(lang)
    if side_by_side:
        return html_assets.trim(_dual_map(dataset, plan_a, plan_b, tr))
    name_a = str(getattr(getattr(plan_a, "scenario", None), "name", "A"))
    name_b = str(getattr(getattr(plan_b, "scenario", None), "name", "B"))
    m = base_map(dataset, tr("{dataset}: {a} vs {b}", dataset=dataset.name, a=name_a, b=name_b))
    towns, span = _town_changes(dataset, plan_a, plan_b)
    diff_cmap = cm.LinearColormap(DIFF_COLORS, vmin=-span, vmax=span)
    add_towns(
        m, dataset, towns, "diff", diff_cmap, tr(LAYER["towns_diff"]),
        {"name": "text", "share_a": "pct", "share_b": "pct", "diff": "pct"},
        [tr("Town"), tr("Within reach, {plan}", plan=name_a), tr("Within reach, {plan}", plan=name_b), tr("Change")],
    )
    add_counties(m, dataset, tr)
    both = _stations_in_both(dataset, plan_a, plan_b)
    changed = both[both["decision_a"] != both["decision_b"]].copy()
    changed["state"] = changed["decision_b"].map({"open": "open", "close": "close", "absent": "close"}).fillna("")
    fields = {
        "name": ("text", tr("Name")), "id": ("text", tr("Id")), "tier": ("text", tr("Tier")),
        "town": ("text", tr("Town")), "decision_a": ("text", tr("Decision in {name}", name=name_a)),
        "decision_b": ("text", tr("Decision in {name}", name=name_b)),
        "reason_a": ("text", tr("Why ({plan})", plan=name_a)), "reason_b": ("text", tr("Why ({plan})", plan=name_b)),
        "reach_people": ("int", tr("People within reach")),
    }
    add_stations(m, changed, tr(LAYER["changed"]), "state", fields, tr)
    for label, p in ((name_a, plan_a), (name_b, plan_b)):
        s = p.stations[p.stations["decision"] != "close"].merge(town_names(dataset), on="town_code", how="left")
        s = s.assign(state=s["decision"].map({"open": "open"}).fillna(""))
        fields = {k: v for k, v in station_fields(tr).items() if k in s.columns}
        add_stations(m, s, tr("Active stations: {plan}", plan=label), "state", fields, tr, show=False)
    ma, mb = metrics_of(plan_a), metrics_of(plan_b)
    metrics = [
        (f"A: {name_a}", tr("{share} within reach", share=fmt_pct(ma.get("share_after")))),
        (f"B: {name_b}", tr("{share} within reach", share=fmt_pct(mb.get("share_after")))),
        (tr("Stations differing"), f"{len(changed):,}"),
    ]
    legend_element(
        tr("{dataset}: {a} vs {b}", dataset=dataset.name, a=name_a, b=name_b),
        metrics,
        [("open", tr("Opened in {b} (not in {a})", a=name_a, b=name_b)),
         ("close", tr("Closed / absent in {b}", b=name_b))],
        (tr("Town: change in share within reach (B − A)"), diff_cmap,
         [tr("{points} pts", points=format(-100 * span, "+.0f")), "0",
          tr("{points} pts", points=format(100 * span, "+.0f"))]),
        legend_extras(tr, reach=False, venues=False), tr,
    ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return html_assets.trim(m)


def _town_changes(dataset: Dataset, plan_a: Any, plan_b: Any) -> tuple[gpd.GeoDataFrame, float]:
    """Towns with ``share_a``, ``share_b`` and ``diff`` (B − A), and the colour scale's half-span (≥ 1 point)."""
    ta = plan_a.towns[["code", "share_after"]].rename(columns={"share_after": "share_a"})
    tb = plan_b.towns[["code", "share_after"]].rename(columns={"share_after": "share_b"})
    towns = dataset.towns.merge(ta, on="code", how="left").merge(tb, on="code", how="left")
    towns["diff"] = pd.to_numeric(towns["share_b"], errors="coerce") - pd.to_numeric(towns["share_a"], errors="coerce")
    span = float(np.nanmax(np.abs(towns["diff"].to_numpy(dtype=float)), initial=0.0))
    return towns, max(span, 0.01)


def _stations_in_both(dataset: Dataset, plan_a: Any, plan_b: Any) -> gpd.GeoDataFrame:
    """Every station of either plan with ``decision_a``/``decision_b`` (``"absent"`` where missing) and its town."""
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
    both = both.merge(town_names(dataset), on="town_code", how="left")
    return both


def _dual_map(dataset: Dataset, plan_a: Any, plan_b: Any, tr: Translator) -> DualMap:
    """Plan A left, plan B right, synchronised (Leaflet.Sync)."""
    names = [str(getattr(getattr(p, "scenario", None), "name", k)) for p, k in ((plan_a, "A"), (plan_b, "B"))]
    dm = DualMap(layout="horizontal", **map_options(dataset))
    rows = []
    for side, p, name, where in ((dm.m1, plan_a, names[0], "left"), (dm.m2, plan_b, names[1], "right")):
        setup_map(side, dataset)
        plan_layers(side, dataset, p, None, False, tr)
        folium.LayerControl(collapsed=True).add_to(side)
        mt = metrics_of(p)
        rows.append(
            ((tr("Left: {plan}", plan=name) if where == "left" else tr("Right: {plan}", plan=name)),
             tr("{share} within reach, {opened} opened, {closed} closed", share=fmt_pct(mt.get("share_after")),
                opened=mt.get("n_open", "–"), closed=mt.get("n_close", "–")))
        )
    dm.m1.get_root().header.add_child(  # type: ignore[attr-defined]  # root is a branca Figure
        folium.Element(f"<title>{html.escape(f'{dataset.name}: {names[0]} | {names[1]}')}</title>")
    )
    legend_element(
        f"{dataset.name}: {names[0]} | {names[1]}",
        rows,
        [("open", tr("Opened by the plan (ring)")), ("close", tr("Closed by the plan (cross)"))],
        (tr("Town: share within reach after the plan"), share_colormap(), ["0%", "50%", "100%"]),
        legend_extras(tr, venues=False), tr,
    ).add_to(dm.m1)
    return dm


# --------------------------------------------------------------------------- assignment layers
