"""A real OGC client on a real server: GDAL's OAPIF driver (bundled with pyogrio) reads
/ogc from uvicorn on a loopback port serving the bundled Yancheng dataset, with the
token sent as an ``Authorization: Bearer`` header through GDAL's HTTP configuration."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator

import httpx
import pyogrio
import pytest
import shapely
from api_helpers import serve_subprocess

from geoplan.datasets import Dataset
from geoplan.settings import BUNDLED_DATASET

pytestmark = pytest.mark.slow

CITY_TOKEN = "ogc-gdal-city"
PORTAL_TOKEN = "ogc-gdal-portal"
BOX = (120.0, 33.0, 120.3, 33.5)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tokens = {CITY_TOKEN: {"role": "city_planner", "name": "qgis"}, PORTAL_TOKEN: {"role": "service", "name": "portal"}}
    with serve_subprocess([sys.executable, "-m", "uvicorn", "api.main:app"], tmp_path_factory.mktemp("ogc-db"),
                          tokens, what="uvicorn") as base:
        yield base


@pytest.fixture
def token() -> Iterator[Callable[[str], None]]:
    """Configure GDAL to send a bearer token; cleared afterwards (GDAL's options are process-wide)."""
    def use(value: str) -> None:
        pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": "BEARER", "GDAL_HTTP_BEARER": value})
    yield use
    pyogrio.set_gdal_config_options({"GDAL_HTTP_AUTH": None, "GDAL_HTTP_BEARER": None})


@pytest.fixture(scope="module")
def bundled() -> Dataset:
    return Dataset.load(BUNDLED_DATASET)


def test_driver_is_bundled() -> None:
    assert "OAPIF" in pyogrio.list_drivers()


def test_gdal_lists_collections_per_role(server: str, token: Callable[[str], None]) -> None:
    url = f"OAPIF:{server}/ogc"
    token(CITY_TOKEN)
    layers = dict(pyogrio.list_layers(url))
    assert {"counties", "towns", "stations", "venues", "demand", "deputies"} <= set(layers)
    assert layers["stations"] == "Point"
    token(PORTAL_TOKEN)
    assert "deputies" not in dict(pyogrio.list_layers(url))
    token("wrong")
    with pytest.raises(pyogrio.errors.DataSourceError, match="401"):
        pyogrio.list_layers(url)


def test_gdal_reads_every_active_station_and_a_bbox_page(server: str, token: Callable[[str], None], bundled: Dataset) -> None:
    token(PORTAL_TOKEN)
    url = f"OAPIF:{server}/ogc"
    st = pyogrio.read_dataframe(url, layer="stations")
    active = bundled.stations[bundled.stations["status"] == "active"]
    assert len(st) == len(active) and set(st["id"]) == set(active["id"])
    assert st.crs.to_epsg() == 4326
    # lon/lat order and positions survive the trip
    merged = st.set_index("id").geometry.loc[active["id"]]
    assert shapely.equals_exact(merged.values, active.geometry.values, tolerance=1e-6).all()
    # a bbox-filtered read, in small pages (PAGE_SIZE: GDAL follows the `next` links)
    boxed = pyogrio.read_dataframe(url, layer="stations", bbox=BOX, PAGE_SIZE=25)
    want = active[active.intersects(shapely.box(*BOX))]
    assert len(want) > 25 and sorted(boxed["id"]) == sorted(want["id"])
    towns = pyogrio.read_dataframe(url, layer="towns", where="county_code = '320902'")
    assert len(towns) == (bundled.towns["county_code"] == "320902").sum() > 0


def test_gdal_reads_a_stored_plan(server: str, token: Callable[[str], None]) -> None:
    headers = {"Authorization": f"Bearer {CITY_TOKEN}"}
    r = httpx.post(f"{server}/scenarios", headers=headers, timeout=300,
                   json={"scenario": {"name": "ogc over gdal", "budget": 5}})
    assert r.status_code == 201 and r.json()["status"] == "done", r.text
    sid = r.json()["id"]
    stored = httpx.get(f"{server}/scenarios/{sid}/plan", headers=headers, timeout=60).json()["features"]
    token(PORTAL_TOKEN)
    url = f"OAPIF:{server}/ogc"
    assert f"plan-{sid}" in dict(pyogrio.list_layers(url))
    plan = pyogrio.read_dataframe(url, layer=f"plan-{sid}")
    assert len(plan) == len(stored) and list(plan["id"]) == [f["id"] for f in stored]
    assert plan.crs.to_epsg() == 4326
    assert (plan["decision"] == "open").sum() == 5
    opened = pyogrio.read_dataframe(url, layer=f"plan-{sid}", where="decision = 'open'")
    assert sorted(opened["id"]) == sorted(f["id"] for f in stored if f["properties"]["decision"] == "open")
