"""The plan map: one plan's kept, opened and closed stations and towns by coverage after it."""
from __future__ import annotations

from typing import Any

import folium
import geopandas as gpd

from geoplan import html_assets
from geoplan.datasets import Dataset
from geoplan.i18n import translator
from geoplan.maps._helpers import (
    access_legend,
    add_access,
    base_map,
    fmt_int,
    fmt_num,
    fmt_pct,
    legend_element,
    legend_extras,
    share_colormap,
)
from geoplan.maps._plan_layers import (
    check_plan,
    metrics_of,
    plan_layers,
)


def plan_map(dataset: Dataset, plan: Any, assignment: Any | None = None, lang: str = "en") -> folium.Map:
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
    lang : {"en", "zh"}, default "en"
        Language of the layer names, legend, popups and reasons (:mod:`geoplan.i18n`).

    The plan's villages (``plan.villages``, when it has them) add two overlays, off by
    default: access to deputies (E2SFCA, deputies per 10,000 people within reach) after and
    before the plan, in the same classes.

    Returns
    -------
    folium.Map
        With a legend (``#geoplan-legend``) and a layer control. Write it
        self-contained (works offline) with :func:`geoplan.html_assets.save`.
    """
    check_plan(plan)
    tr = translator(lang)
    scenario_name = getattr(getattr(plan, "scenario", None), "name", "plan")
    m = base_map(dataset, f"{dataset.name}: {scenario_name}")
    st = plan_layers(m, dataset, plan, assignment, True, tr)
    villages = getattr(plan, "villages", None)
    has_access = isinstance(villages, gpd.GeoDataFrame) and {"access_before", "access_after", "population",
                                                             "town_code"} <= set(villages.columns)
    edges = add_access(m, dataset, villages, tr) if has_access else []
    mt = metrics_of(plan)
    n_keep, n_open, n_close = (int((st["decision"] == d).sum()) for d in ("keep", "open", "close"))
    metrics = [
        (tr("Scenario"), str(scenario_name)),
        (tr("Within reach"), f"{fmt_pct(mt.get('share_before'))} → {fmt_pct(mt.get('share_after'))}"),
        (tr("People reached"), f"{fmt_int(mt.get('people_before'))} → {fmt_int(mt.get('people_after'))}"),
        (tr("Stations"), tr("{kept} kept, {opened} opened, {closed} closed", kept=format(n_keep, ","),
                            opened=format(n_open, ","), closed=format(n_close, ","))),
    ]
    if "gap" in mt:
        metrics.append((tr("Optimality gap"), fmt_pct(mt.get("gap"))))
    if has_access:
        metrics.append((tr("Deputies per 10,000 people (median)"),
                        f"{fmt_num(mt.get('access_median_before'))} → {fmt_num(mt.get('access_median_after'))}"))
    legend_element(
        f"{dataset.name}: {scenario_name}",
        metrics,
        [("open", tr("Opened by the plan (ring)")), ("close", tr("Closed by the plan (cross)"))],
        (tr("Town: share within reach after the plan"), share_colormap(), ["0%", "50%", "100%"]),
        (access_legend(edges, tr) if has_access else []) + legend_extras(tr, links=assignment is not None), tr,
    ).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    return html_assets.trim(m)


# --------------------------------------------------------------------------- comparison
