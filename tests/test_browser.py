"""The maps, used as a person would: opened in a real headless Chromium.

Needs Debian's ``chromium`` (installed here with apt-get when running as root)
and the Playwright Python package (its own browser download is not used). The
pages' CDN scripts (Leaflet, jQuery, …) are served from npm packages fetched
once into ``~/.cache/geoplan-test-assets``; map tiles get a blank image. The test
skips with a message when Chromium or those packages cannot be obtained.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from browser import CHROMIUM_ARGS, AssetServer, asset_cache_dir, collect_errors, find_chromium, page_asset_urls
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import sync_playwright

from geoplan import maps
from geoplan.datasets import Dataset
from geoplan.settings import BUNDLED_DATASET

pytestmark = pytest.mark.slow

SCREENSHOTS = Path(__file__).resolve().parents[1] / "out" / "screenshots"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path, why = find_chromium(install=True)
    if path is None:
        pytest.skip(f"chromium not installed and could not be installed: {why}")
    return path


@pytest.fixture(scope="module")
def browser(chromium_path: str):
    # Module scope: Playwright's sync API keeps an asyncio loop running in this thread while it
    # is open, and tests collected after this module (asyncio.run in the API tests) need it gone.
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def assets() -> AssetServer:
    return AssetServer(asset_cache_dir())


class MapPage:
    """A saved map opened in a fresh page, with its JavaScript errors recorded."""

    def __init__(self, browser, assets: AssetServer, m, path: Path, timeout_ms: int = 60_000) -> None:
        m.save(str(path))
        self.html = path.read_text(encoding="utf-8")
        try:
            assets.prefetch(page_asset_urls(self.html))
        except RuntimeError as exc:
            pytest.skip(f"the map's scripts (Leaflet & co.) could not be fetched from the npm registry: {exc}")
        self.assets = assets
        self.page = browser.new_page(viewport={"width": 1400, "height": 900})
        self.page.set_default_timeout(timeout_ms)
        self.errors, _ = collect_errors(self.page)
        self.page.route("**/*", assets.handle)
        t0 = time.perf_counter()
        self.page.goto(path.as_uri(), wait_until="load")
        self.page.wait_for_selector(".leaflet-control-layers", state="attached")
        self.page.wait_for_selector(".leaflet-marker-icon", state="visible")
        self.seconds = time.perf_counter() - t0

    def overlay_names(self) -> list[str]:
        return [t.strip() for t in self.page.locator(".leaflet-control-layers-overlays label").all_inner_texts()]

    def click_marker(self, selector: str, attempts: int = 5) -> None:
        """Click, with the mouse, the first uncovered marker matching ``selector``; wait for its popup.

        Leaflet may still be animating (fit-bounds zoom, marker fade-in) when the page
        reports ready, so a click can land where the marker *was*: look up the marker's
        position again and retry a few times before failing.
        """
        popup = self.page.locator(".leaflet-popup-content")
        for _ in range(attempts):
            self.page.wait_for_timeout(300)
            xy = self.page.evaluate(
                """(sel) => {
                    for (const el of document.querySelectorAll(sel)) {
                        const icon = el.closest('.leaflet-marker-icon');
                        if (!icon) continue;  // the legend shows the same icons
                        const r = icon.getBoundingClientRect();
                        const x = r.left + r.width / 2, y = r.top + r.height / 2;
                        const top = document.elementFromPoint(x, y);
                        if (top && top.closest('.leaflet-marker-icon') === icon) return [x, y];
                    }
                    return null;
                }""",
                selector,
            )
            assert xy, f"no uncovered marker matches {selector!r}"
            self.page.mouse.click(xy[0], xy[1])
            try:
                popup.first.wait_for(state="visible", timeout=3_000)
                return
            except PlaywrightTimeout:
                continue
        raise AssertionError(f"clicking a {selector!r} marker {attempts} times opened no popup")

    def screenshot(self, name: str, tmp_path: Path) -> Path:
        self.page.wait_for_timeout(400)  # let Leaflet's fade-in animations finish
        shot = tmp_path / name
        self.page.screenshot(path=str(shot))
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, SCREENSHOTS / name)
        return SCREENSHOTS / name

    def assert_clean(self) -> None:
        assert not self.errors, "JavaScript errors:\n" + "\n".join(self.errors)
        scripts = [u for u in self.assets.refused if u.split("?")[0].endswith(".js")]
        assert not scripts, f"scripts that could not be served offline: {scripts}"


def _plan_and_assignment(dataset: Dataset):
    from test_maps import make_plan

    plan = make_plan(dataset, budget=3)
    try:
        from geoplan.assign import assign
    except ImportError:
        return plan, None
    return plan, assign(dataset, plan)


def test_plan_map_in_browser(browser, assets, tiny_dataset, tmp_path):
    plan, assignment = _plan_and_assignment(tiny_dataset)
    mp = MapPage(browser, assets, maps.plan_map(tiny_dataset, plan, assignment), tmp_path / "plan.html")
    page = mp.page

    # The legend is drawn and readable.
    legend = page.locator(f"#{maps.LEGEND_ID}")
    assert legend.is_visible()
    assert "Deputy home" in legend.inner_text() and "within reach" in legend.inner_text()

    # The layer control lists every overlay.
    names = mp.overlay_names()
    for key in ("towns", "counties", "demand", "keep", "open", "close", "reach", "access_after", "access_before"):
        assert maps.LAYER[key] in names, (maps.LAYER[key], names)
    assert any(n.startswith("Venues: ") for n in names)
    assert "deputies per 10,000 people" in legend.inner_text()
    if assignment is not None:
        assert maps.LAYER["links"] in names

    # Clicking a new contact point opens its popup with its numbers and reason.
    opened = plan.stations[plan.stations["decision"] == "open"]
    assert len(opened) > 0
    mp.click_marker(".gp-open")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible")
    text = popup.inner_text()
    assert "Why" in text and "People within reach" in text
    assert any(reason.split(":")[0] in text for reason in opened["reason"]), text

    # Switching on a venue layer shows clustered venues; reach circles draw.
    page.keyboard.press("Escape")
    page.locator(".leaflet-control-layers-overlays label", has_text="Venues: farmers' markets").locator("input").check()
    page.wait_for_selector(".gp-venue, .marker-cluster", state="visible")
    page.locator(".leaflet-control-layers-overlays label", has_text=maps.LAYER["reach"]).locator("input").check()
    # the villages' access to deputies (E2SFCA) switch on without an error
    page.locator(".leaflet-control-layers-overlays label", has_text=maps.LAYER["access_after"]).locator("input").check()

    mp.assert_clean()
    shot = mp.screenshot("plan_map.png", tmp_path)
    assert shot.stat().st_size > 10_000


def test_network_map_in_browser(browser, assets, tiny_dataset, tmp_path):
    mp = MapPage(browser, assets, maps.network_map(tiny_dataset), tmp_path / "network.html")
    assert mp.page.locator(f"#{maps.LEGEND_ID}").is_visible()
    names = mp.overlay_names()
    for key in ("towns", "home", "station", "point", "closed", "reach"):
        assert maps.LAYER[key] in names, (maps.LAYER[key], names)
    mp.click_marker(".gp-home")
    mp.page.locator(".leaflet-popup-content").wait_for(state="visible")
    assert "Deputy home" not in mp.page.locator(".leaflet-popup-content").inner_text()  # values, not legend text
    assert "home" in mp.page.locator(".leaflet-popup-content").inner_text()
    mp.assert_clean()
    mp.screenshot("network_map.png", tmp_path)


def test_compare_map_in_browser(browser, assets, tiny_dataset, tmp_path):
    from test_maps import make_plan

    a, b = make_plan(tiny_dataset, budget=1, name="small"), make_plan(tiny_dataset, budget=4, name="large")
    mp = MapPage(browser, assets, maps.compare_map(tiny_dataset, a, b), tmp_path / "compare.html")
    assert mp.page.locator(f"#{maps.LEGEND_ID}").is_visible()
    names = mp.overlay_names()
    assert maps.LAYER["towns_diff"] in names and maps.LAYER["changed"] in names
    mp.click_marker(".gp-open")
    popup = mp.page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible")
    assert "Decision in small" in popup.inner_text() and "Decision in large" in popup.inner_text()
    mp.assert_clean()
    mp.screenshot("compare_map.png", tmp_path)
    mp.page.close()

    dual = MapPage(browser, assets, maps.compare_map(tiny_dataset, a, b, side_by_side=True), tmp_path / "dual.html")
    assert dual.page.locator(".leaflet-container").count() == 2
    assert dual.page.locator(f"#{maps.LEGEND_ID}").is_visible()
    dual.click_marker(".gp-open")
    dual.page.locator(".leaflet-popup-content").wait_for(state="visible")
    dual.assert_clean()
    dual.screenshot("compare_side_by_side.png", tmp_path)


def test_bundled_maps_are_responsive(browser, assets, tmp_path, record_property):
    """The whole Yancheng network (thousands of markers) opens in seconds, without errors."""
    from test_maps import make_plan

    dataset = Dataset.load(BUNDLED_DATASET)
    mp = MapPage(browser, assets, maps.network_map(dataset), tmp_path / "yancheng.html")
    size_mb = (tmp_path / "yancheng.html").stat().st_size / 1e6
    record_property("network_map_mb", round(size_mb, 2))
    record_property("network_map_seconds", round(mp.seconds, 2))
    assert size_mb < 15, f"{size_mb:.1f} MB"
    assert mp.seconds < 30, f"the map took {mp.seconds:.1f} s to show its markers"
    # Switching on all venues (thousands, clustered) keeps the page working.
    for label in mp.page.locator(".leaflet-control-layers-overlays label", has_text="Venues: ").all():
        label.locator("input").check()
    mp.page.wait_for_selector(".marker-cluster", state="visible")
    mp.click_marker(".gp-station")
    mp.page.locator(".leaflet-popup-content").wait_for(state="visible")
    mp.assert_clean()
    mp.screenshot("yancheng_network_map.png", tmp_path)
    mp.page.close()

    plan = make_plan(dataset, budget=40, name="40 new points")
    mp = MapPage(browser, assets, maps.plan_map(dataset, plan), tmp_path / "yancheng_plan.html")
    record_property("plan_map_seconds", round(mp.seconds, 2))
    assert mp.seconds < 30
    mp.click_marker(".gp-open")
    popup = mp.page.locator(".leaflet-popup-content")
    popup.wait_for(state="visible")
    assert "Why" in popup.inner_text()
    mp.assert_clean()
    mp.screenshot("yancheng_plan_map.png", tmp_path)
