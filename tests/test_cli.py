"""The `geoplan` command as a person runs it (Typer's CliRunner, real files)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from typer.testing import CliRunner

from geoplan.cli import app
from geoplan.datasets import Dataset

runner = CliRunner()


@pytest.fixture
def tiny_gpkg(tmp_path: Path, tiny_dataset: Dataset) -> Path:
    return tiny_dataset.save(tmp_path / "tiny.gpkg")


def run(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_help_lists_commands_with_examples() -> None:
    res = run("--help")
    assert res.exit_code == 0
    for cmd in ("plan", "assign", "map", "compare", "review", "serve", "demo", "data"):
        assert cmd in res.output
    for cmd in ("plan", "assign", "map", "compare", "review", "serve", "demo"):
        assert "Example" in run(cmd, "--help").output


def test_data_info_prints_network(tiny_gpkg: Path) -> None:
    res = run("data", "info", tiny_gpkg)
    assert res.exit_code == 0, res.output
    assert "City total" in res.output and "share_within" in res.output


def test_validate_ok_and_broken(tiny_gpkg: Path, tmp_path: Path) -> None:
    assert run("data", "validate", tiny_gpkg).exit_code == 0
    broken = tmp_path / "broken.gpkg"
    broken.write_bytes(tiny_gpkg.read_bytes())
    d = gpd.read_file(broken, layer="demand")
    d.loc[3, "town_code"] = "NOPE"
    d.loc[4, "id"] = d.loc[5, "id"]
    pyogrio.write_dataframe(d, broken, layer="demand")
    t = gpd.read_file(broken, layer="towns")
    t.loc[0, "geometry"] = shapely.Polygon([(120, 33.3), (120.05, 33.4), (120.05, 33.3), (120, 33.4)])
    pyogrio.write_dataframe(t, broken, layer="towns")
    s = gpd.read_file(broken, layer="sites").drop(columns="footfall")
    pyogrio.write_dataframe(s, broken, layer="sites")
    res = run("data", "validate", broken)
    assert res.exit_code == 1
    out = res.output
    assert "demand[D003]: column 'town_code' refers to unknown towns code 'NOPE'" in out
    assert "demand[D005]: duplicate id" in out
    assert "towns[T1]: geometry is invalid" in out
    assert "sites[-]: required column 'footfall' is missing" in out
    assert "Traceback" not in out


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    res = run("data", "info", tmp_path / "nope.gpkg")
    assert res.exit_code == 2
    assert "file not found" in res.output and "Traceback" not in res.output


def test_plan_review_compare(tiny_gpkg: Path, tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    res = run("plan", "--dataset", tiny_gpkg, "--budget", "2", "--out", a)
    assert res.exit_code == 0, res.output
    for name in ("plan.gpkg", "plan.html", "summary.csv", "summary.md", "towns.csv", "stations.csv"):
        assert (a / name).exists(), name
    scenario = tmp_path / "s.json"
    scenario.write_text(json.dumps({"name": "more", "budget": 5, "allow_closures": False}))
    res = run("plan", "--dataset", tiny_gpkg, "--scenario", scenario, "--out", b)
    assert res.exit_code == 0, res.output
    res = run("compare", a / "plan.gpkg", b / "plan.gpkg", "--dataset", tiny_gpkg, "--out", tmp_path / "cmp")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "cmp" / "compare.html").exists()
    res = run("review", "--dataset", tiny_gpkg, "--out", tmp_path / "r")
    assert res.exit_code == 0, res.output
    assert (tmp_path / "r" / "review.csv").exists()


def test_bad_scenario_names_the_field(tiny_gpkg: Path, tmp_path: Path) -> None:
    scenario = tmp_path / "bad.json"
    scenario.write_text(json.dumps({"budget": -3, "radius_m": {"home": 1, "station": 1}}))
    res = run("plan", "--dataset", tiny_gpkg, "--scenario", scenario, "--out", tmp_path / "o")
    assert res.exit_code == 2
    assert "scenario field 'budget'" in res.output
    assert "scenario field 'radius_m'" in res.output
    assert "Traceback" not in res.output


def test_assign_and_map(tiny_gpkg: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    assert run("plan", "--dataset", tiny_gpkg, "--budget", "2", "--out", out).exit_code == 0
    res = run("assign", "--dataset", tiny_gpkg, "--plan", out / "plan.gpkg", "--out", out)
    assert res.exit_code == 0, res.output
    assert (out / "assignment.gpkg").exists()
    res = run("map", "--dataset", tiny_gpkg, "--out", out)
    assert res.exit_code == 0, res.output
    assert (out / "network.html").exists()


@pytest.mark.slow
def test_console_script_demo_on_bundled_data(tmp_path: Path) -> None:
    """`geoplan demo` as installed, on the bundled dataset: the main job end to end."""
    exe = Path(sys.executable).with_name("geoplan")
    res = subprocess.run([str(exe), "demo", "--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-3000:]
    for name in ("network.html", "plan.html", "plan.gpkg", "summary.csv"):
        assert (tmp_path / name).exists(), name
    assert "City total" in res.stdout
    layers = {n for n, _ in pyogrio.list_layers(tmp_path / "plan.gpkg")}
    assert "plan_stations" in layers


def test_error_lines_keep_their_row_labels(tiny_gpkg: Path, tmp_path: Path) -> None:
    # "sites[line 2 id v1]" looks like a rich markup tag; it must be printed, not swallowed
    csv = tmp_path / "venues.csv"
    csv.write_text("id,name,category,footfall,town_code,lng,lat\nv1,x,market,1,T1,,33.3\n", encoding="utf-8")
    res = run("data", "import", "sites", csv, "--dataset", tiny_gpkg, "--lon", "lng", "--lat", "lat",
              "--into", tmp_path / "o.gpkg")
    assert res.exit_code == 2
    assert "sites[line 2 id v1]: column 'lng' is empty" in res.output


@pytest.mark.parametrize("text, message", [("[1, 2]", "must hold a JSON object"), ("{oops", "is not valid UTF-8 JSON")])
def test_scenario_file_that_is_not_an_object(tiny_gpkg: Path, tmp_path: Path, text: str, message: str) -> None:
    scenario = tmp_path / "s.json"
    scenario.write_text(text)
    res = run("plan", "--dataset", tiny_gpkg, "--scenario", scenario, "--out", tmp_path / "o")
    assert res.exit_code == 2
    assert message in res.output and "s.json" in res.output
    assert not isinstance(res.exception, AttributeError)


def test_plan_over_roads_from_an_osm_extract(tiny_gpkg: Path, tiny_dataset: Dataset, tmp_path: Path) -> None:
    """--roads reads an .osm.pbf, and coverage over roads never exceeds straight-line coverage."""
    import osmium
    from osmium.osm.mutable import Node, Way

    # A street grid over the tiny dataset's patch (120.0–120.2 E, 33.3–33.4 N), every ~1.1 km.
    xs = np.round(np.arange(120.0, 120.2001, 0.012), 4)
    ys = np.round(np.arange(33.3, 33.4001, 0.01), 4)
    pbf = tmp_path / "grid.osm.pbf"
    with osmium.SimpleWriter(str(pbf)) as w:
        ids = {}
        for i, x in enumerate(xs):
            for j, y in enumerate(ys):
                ids[i, j] = 1 + i * len(ys) + j
                w.add_node(Node(id=ids[i, j], location=(float(x), float(y))))
        way = 1
        for i in range(len(xs)):
            w.add_way(Way(id=way, nodes=[ids[i, j] for j in range(len(ys))], tags={"highway": "residential"}))
            way += 1
        for j in range(len(ys)):
            w.add_way(Way(id=way, nodes=[ids[i, j] for i in range(len(xs))], tags={"highway": "residential"}))
            way += 1
    road, straight = tmp_path / "road", tmp_path / "straight"
    res = run("plan", "--dataset", tiny_gpkg, "--budget", "3", "--no-closures", "--roads", pbf, "--out", road)
    assert res.exit_code == 0, res.output
    assert run("plan", "--dataset", tiny_gpkg, "--budget", "3", "--no-closures", "--out", straight).exit_code == 0
    from geoplan.scenario import Plan

    pr, ps = Plan.load(road / "plan.gpkg"), Plan.load(straight / "plan.gpkg")
    assert pr.scenario.distance == "road"
    assert pr.metrics["people_before"] <= ps.metrics["people_before"]
    assert pr.metrics["people_before"] > 0


def test_data_import_gcj02_csv_with_renamed_columns(tiny_gpkg: Path, tmp_path: Path) -> None:
    src = tmp_path / "markets.csv"
    # A venue from a Chinese web map: GCJ-02 coordinates, Chinese column names.
    src.write_text("编号,名称,lng,lat,category,footfall,town_code\nX1,新市场,120.0300,33.3480,market,3000,T1\n",
                   encoding="utf-8")
    out = tmp_path / "with_market.gpkg"
    res = run("data", "import", "sites", src, "--dataset", tiny_gpkg, "--mode", "append", "--coords", "gcj02",
              "--rename", "编号=id", "--rename", "名称=name", "--into", out)
    assert res.exit_code == 0, res.output
    sites = Dataset.load(out).sites.set_index("id")
    assert len(sites) == 61 and sites.loc["X1", "name"] == "新市场"
    # GCJ-02 sits a few hundred metres east of WGS84 here: the stored point moved back west.
    assert sites.loc["X1", "geometry"].x < 120.0300 - 0.003
    bad = run("data", "import", "sites", src, "--dataset", tiny_gpkg, "--rename", "oops", "--into", out)
    assert bad.exit_code == 2 and "--rename: expected OLD=NEW" in bad.output
