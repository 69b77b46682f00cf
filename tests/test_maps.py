"""Unit tests of geoplan.maps: the HTML a map writes (the browser test opens it)."""
from __future__ import annotations

import html
import json
import types
from pathlib import Path

import folium
import pytest

from geoplan import maps
from geoplan.datasets import Dataset
from geoplan.exceptions import InputError
from geoplan.scenario import Scenario, plan
from geoplan.settings import BUNDLED_DATASET


def make_plan(dataset: Dataset, budget: int = 3, name: str = "test"):
    """A real plan on the dataset (small budget, fast heuristic)."""
    return plan(dataset, Scenario(name=name, budget=budget, solver="greedy"))


def render(m: folium.Map, tmp_path: Path, name: str = "map.html") -> str:
    path = tmp_path / name
    m.save(str(path))
    return path.read_text(encoding="utf-8")


def has_name(html_text: str, name: str) -> bool:
    """Layer names reach the page as JSON strings (non-ASCII escaped) or as text."""
    from jinja2.utils import htmlsafe_json_dumps

    return str(htmlsafe_json_dumps(name))[1:-1] in html_text or json.dumps(name) in html_text or name in html_text


@pytest.fixture
def tiny_plan(tiny_dataset):
    return make_plan(tiny_dataset)


def test_network_map_has_layers_legend_and_osm_tiles(tiny_dataset, tmp_path):
    m = maps.network_map(tiny_dataset)
    assert isinstance(m, folium.Map)
    html_text = render(m, tmp_path)
    assert f'id="{maps.LEGEND_ID}"' in html_text
    for key in ("counties", "towns", "demand", "home", "station", "point", "closed", "proposed", "reach"):
        assert has_name(html_text, maps.LAYER[key]), maps.LAYER[key]
    for label in ("farmers' markets", "village clinics"):
        assert has_name(html_text, maps.LAYER["venues"].format(label))
    assert "tile.openstreetmap.org" in html_text
    assert "L.control.layers" in html_text
    assert "preferCanvas" in html_text and '"preferCanvas": true' in html_text
    # Each tier has its own icon class; the closed station (ST11) is drawn crossed.
    for cls in ("gp-home", "gp-station", "gp-point", "gp-close"):
        assert cls in html_text


def test_coordinates_are_wgs84_rounded(tiny_dataset, tmp_path):
    html_text = render(maps.network_map(tiny_dataset), tmp_path)
    st = tiny_dataset.stations.iloc[0]
    lon, lat = round(st.geometry.x, 5), round(st.geometry.y, 5)
    assert f"[{lon!r}, {lat!r}]" in html_text
    # No coordinate carries more than 5 decimals (keeps the page small).
    assert f"{st.geometry.x!r}" not in html_text


def test_network_popups_carry_station_numbers(tiny_dataset, tmp_path):
    html_text = render(maps.network_map(tiny_dataset), tmp_path)
    assert "People within reach" in html_text and "Reached by no other station" in html_text
    assert '"reach_people"' in html_text


def test_plan_map_highlights_decisions_with_reasons(tiny_dataset, tiny_plan, tmp_path):
    html_text = render(maps.plan_map(tiny_dataset, tiny_plan), tmp_path)
    assert f'id="{maps.LEGEND_ID}"' in html_text
    for key in ("towns", "keep", "open", "close", "reach", "demand"):
        assert has_name(html_text, maps.LAYER[key]), maps.LAYER[key]
    st = tiny_plan.stations
    assert (st["decision"] == "open").any() and (st["decision"] == "close").any()
    for reason in st["reason"]:
        assert has_name(html_text, html.escape(reason)), reason  # popups are filled as HTML: text is escaped
    assert "gp-open" in html_text and "gp-close" in html_text
    # New points are placed where the plan puts them, in WGS84.
    new = st[st["decision"] == "open"].iloc[0]
    assert f"[{round(new.geometry.x, 5)!r}, {round(new.geometry.y, 5)!r}]" in html_text
    # Headline figures in the legend.
    share = tiny_plan.metrics["share_after"]
    assert f"{100 * share:.1f}%" in html_text


def test_plan_map_has_access_layers_before_and_after(tiny_dataset, tiny_plan, tmp_path):
    """Villages by access to deputies (E2SFCA): two overlays, off by default, one legend section."""
    import dataclasses

    from geoplan.i18n import translator
    from geoplan.maps._helpers import access_class, access_classes, access_palette

    html_text = render(maps.plan_map(tiny_dataset, tiny_plan), tmp_path)
    for key in ("access_after", "access_before"):
        assert has_name(html_text, maps.LAYER[key]), maps.LAYER[key]
    assert "Village: deputies per 10,000 people within reach (E2SFCA; off)" in html_text
    assert "no deputy within reach" in html_text and "Deputies per 10,000 people (median)" in html_text
    v = tiny_plan.villages
    edges = access_classes(v)
    colors = access_palette(edges)
    assert edges == sorted(set(edges)) and len(colors) == len(edges) + 2
    # every village's class colour is drawn; villages with no access are grey
    used = {colors[access_class(x, edges)] for x in v["access_after"]} | {colors[access_class(x, edges)]
                                                                            for x in v["access_before"]}
    for c in used:
        assert c in html_text
    assert (v["access_before"] == 0).any() and colors[0] in html_text
    # a value is rounded in the tooltip data: the first village's access after
    assert repr(round(float(v["access_after"].iloc[0]), 2)) in html_text
    zh = render(maps.plan_map(tiny_dataset, tiny_plan, lang="zh"), tmp_path, "zh.html")
    assert has_name(zh, translator("zh")(maps.LAYER["access_after"]))
    assert has_name(zh, "村（社区）代表可达性·规划后 Access to deputies after the plan (E2SFCA)")
    # a plan saved before villages existed draws no access layer
    old = render(maps.plan_map(tiny_dataset, dataclasses.replace(tiny_plan, villages=None)), tmp_path, "old.html")
    assert not has_name(old, maps.LAYER["access_after"]) and "no deputy within reach" not in old


def test_plan_map_with_assignment_links(tiny_dataset, tiny_plan, tmp_path):
    from geoplan.assign import assign

    a = assign(tiny_dataset, tiny_plan)
    html_text = render(maps.plan_map(tiny_dataset, tiny_plan, a), tmp_path)
    assert has_name(html_text, maps.LAYER["links"])
    assert '"LineString"' in html_text


def test_plan_map_links_from_a_bare_group_station_table(tiny_dataset, tiny_plan, tmp_path):
    import pandas as pd

    bare = types.SimpleNamespace(group_stations=pd.DataFrame({"group_id": ["G00", "G05"], "station_id": ["ST00", "ST02"]}))
    html_text = render(maps.plan_map(tiny_dataset, tiny_plan, bare), tmp_path)
    assert has_name(html_text, maps.LAYER["links"]) and html_text.count('"LineString"') == 2


def test_plan_map_rejects_bad_plans(tiny_dataset, tiny_plan):
    bad = types.SimpleNamespace(stations=tiny_plan.stations.drop(columns="reason"), towns=tiny_plan.towns)
    with pytest.raises(InputError, match="plan.stations.*reason"):
        maps.plan_map(tiny_dataset, bad)
    st = tiny_plan.stations.copy()
    st.loc[0, "decision"] = "maybe"
    with pytest.raises(InputError, match="decision.*maybe"):
        maps.plan_map(tiny_dataset, types.SimpleNamespace(stations=st, towns=tiny_plan.towns))
    with pytest.raises(InputError, match="plan"):
        maps.plan_map(tiny_dataset, object())


def test_compare_map_shows_differences(tiny_dataset, tmp_path):
    a = make_plan(tiny_dataset, budget=1, name="small")
    b = make_plan(tiny_dataset, budget=4, name="large")
    html_text = render(maps.compare_map(tiny_dataset, a, b), tmp_path)
    assert f'id="{maps.LEGEND_ID}"' in html_text
    assert has_name(html_text, maps.LAYER["towns_diff"]) and has_name(html_text, maps.LAYER["changed"])
    assert "Decision in small" in html_text and "Decision in large" in html_text
    ids_a = set(a.stations.loc[a.stations["decision"] == "open", "id"])
    only_b = set(b.stations.loc[b.stations["decision"] == "open", "id"]) - ids_a
    assert only_b
    for sid in only_b:
        assert json.dumps(sid) in html_text


def test_tiny_maps_are_small(tiny_dataset, tiny_plan, tmp_path):
    for name, m in (("net.html", maps.network_map(tiny_dataset)), ("plan.html", maps.plan_map(tiny_dataset, tiny_plan))):
        assert len(render(m, tmp_path, name).encode()) < 300_000


def test_legend_escapes_names(tiny_dataset, tmp_path):
    ds = Dataset.from_layers(tiny_dataset.layers(), name="<b>x</b>{{ y }}")
    html_text = render(maps.network_map(ds), tmp_path)
    assert "<b>x</b>" not in html_text and "&lt;b&gt;x&lt;/b&gt;" in html_text


@pytest.mark.slow
def test_bundled_maps_stay_small(tmp_path):
    ds = Dataset.load(BUNDLED_DATASET)
    net = render(maps.network_map(ds), tmp_path, "net.html")
    assert len(net.encode()) < 15e6
    p = make_plan(ds, budget=40)
    html_text = render(maps.plan_map(ds, p), tmp_path, "plan.html")
    assert len(html_text.encode()) < 15e6


def test_compare_map_side_by_side(tiny_dataset, tmp_path):
    from folium.plugins import DualMap

    a = make_plan(tiny_dataset, budget=1, name="small")
    b = make_plan(tiny_dataset, budget=4, name="large")
    dm = maps.compare_map(tiny_dataset, a, b, side_by_side=True)
    assert isinstance(dm, DualMap)
    html_text = render(dm, tmp_path)
    assert html_text.count(f'id="{maps.LEGEND_ID}"') == 1
    assert ".sync(" in html_text and "Left: small" in html_text and "Right: large" in html_text
    assert html_text.count(json.dumps(maps.LAYER["open"])) >= 2 or html_text.count(maps.LAYER["open"]) >= 2


def test_assignment_layers(tiny_dataset):
    from geoplan.assign import assign

    a = assign(tiny_dataset)
    layers = maps.assignment_layers(a, tiny_dataset)
    assert len(layers) == 2
    m = maps.add_assignment_layers(folium.Map(location=[33.35, 120.1], zoom_start=11), a, tiny_dataset)
    page = m.get_root().render()
    assert "deputies per town" in page and "LineString" in page
