"""The workspace used as planners use it, in Debian's headless Chromium, with the network cut.

A real uvicorn server on loopback serves the tiny dataset. Every request the page makes to any other
origin is intercepted: map tiles get a blank image (and are counted), anything else is refused and
fails the test. A city planner and a county planner each sign in, switch the language, change the
budget, force a station closed, run, read the summary, save, compare two plans and export; the
page must raise no JavaScript error; screenshots at 1366×768 in both languages go to out/screenshots/.
"""
from __future__ import annotations

import re
import shutil
import threading
import time
from pathlib import Path
from typing import Iterator
from urllib.parse import urlparse

import pytest

pytest.importorskip("playwright")
from api_helpers import free_port, make_settings  # noqa: E402
from browser import BLANK_TILE, CHROMIUM_ARGS, collect_errors, find_chromium  # noqa: E402
from playwright.sync_api import Page, expect, sync_playwright  # noqa: E402

from geoplan import crs  # noqa: E402

pytestmark = pytest.mark.slow
SCREENSHOTS = Path(__file__).resolve().parents[1] / "out" / "screenshots"
VIEWPORT = {"width": 1366, "height": 768}
TILE_HOSTS = re.compile(r"(tile\.openstreetmap\.org|autonavi\.com|tianditu\.gov\.cn)$")


@pytest.fixture(scope="module")
def server(dataset_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn

    from api.main import create_app

    app = create_app(make_settings(dataset_path, tmp_path_factory.mktemp("wsb") / "ws.db", max_body_bytes=100_000))
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    end = time.monotonic() + 30
    while not srv.started and time.monotonic() < end:
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    path, why = find_chromium(install=True)
    if path is None:
        pytest.skip(f"chromium not installed and could not be installed: {why}")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Offline:
    """Routes a page's requests: its own origin passes, tiles are stubbed, the rest is refused."""

    def __init__(self, origin: str) -> None:
        self.origin = origin
        self.tiles: list[str] = []
        self.refused: list[str] = []

    def handle(self, route, request) -> None:  # noqa: ANN001
        url = request.url
        if url.startswith(self.origin + "/") or url.startswith(("data:", "blob:", "about:")):
            route.continue_()
        elif TILE_HOSTS.search(urlparse(url).hostname or ""):
            self.tiles.append(url)
            route.fulfill(status=200, content_type="image/png", body=BLANK_TILE)
        else:
            self.refused.append(url)
            route.abort()


def open_page(browser, server: str) -> tuple[Page, Offline, list[str]]:
    ctx = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    net = Offline(server)
    ctx.route("**/*", net.handle)
    errors, _ = collect_errors(page)
    page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
    page.goto(server + "/")
    return page, net, errors


def shot(page: Page, name: str) -> Path:
    page.wait_for_timeout(300)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path))
    assert path.stat().st_size > 10_000
    return path


def sign_in_with_keyboard(page: Page, token: str) -> None:
    box = page.get_by_test_id("login-token")
    expect(box).to_be_focused()
    page.keyboard.type(token)
    page.keyboard.press("Enter")
    page.locator(".gp-icon, .marker-cluster").first.wait_for(state="visible")


def zoom_to_stations(page: Page) -> None:
    page.evaluate("() => gpWorkspace.map.setZoom(13)")
    page.wait_for_timeout(500)


def station_ids(page: Page, county: str | None = None) -> list[str]:
    return page.evaluate("""(county) => gpWorkspace.state.data.stations_fc.features
        .filter(f => !county || f.properties.county_code === county).map(f => f.id)""", county)


def click_station(page: Page, sid: str) -> None:
    """Pan to the station and click its symbol with the mouse; wait for its popup."""
    page.evaluate("""(sid) => { const f = gpWorkspace.state.data.stations[sid];
        gpWorkspace.map.setView([f.geometry.coordinates[1], f.geometry.coordinates[0]], 14, {animate: false}); }""", sid)
    page.wait_for_timeout(400)
    page.locator(f'.gp-icon[data-id="{sid}"]').click()
    expect(page.get_by_test_id("station-popup")).to_have_count(1)  # the previous one fades out in 200 ms
    page.get_by_test_id("station-popup").wait_for(state="visible")


def run_plan(page: Page, budget: int, name: str) -> str:
    before = page.evaluate("() => gpWorkspace.state.planId")
    page.locator("#tab-whatif").click()
    page.get_by_test_id("budget").fill(str(budget))
    page.get_by_test_id("run").click()
    page.wait_for_function("(prev) => gpWorkspace.state.planId && gpWorkspace.state.planId !== prev", arg=before,
                           timeout=60_000)
    page.get_by_test_id("covered-after").wait_for(state="visible")
    expect(page.get_by_test_id("progress")).to_have_attribute("value", "1")
    page.get_by_test_id("plan-name").fill(name)
    page.get_by_test_id("save").click()
    expect(page.locator("#save-status")).not_to_be_empty()
    expect(page.get_by_test_id("summary").locator("h2")).to_have_text(name)
    return page.evaluate("() => gpWorkspace.state.planId")


def assert_labelled(page: Page) -> None:
    """Every visible form control has an accessible name (a <label for>, aria-label or text)."""
    unnamed = page.evaluate("""() => [...document.querySelectorAll('input, select, button, textarea')]
        .filter(e => e.offsetParent !== null)
        .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.textContent.trim())
        .map(e => e.outerHTML.slice(0, 80))""")
    assert unnamed == [], unnamed


def compare_and_export(page: Page, names: tuple[str, str], tmp_path: Path) -> None:
    page.get_by_role("tab", name=re.compile("方案|Plans")).click()
    page.wait_for_load_state("networkidle")  # the tab refreshes the list
    plan_list = page.get_by_test_id("plan-list")
    for n in names:
        plan_list.locator("li", has_text=n).locator("input[type=checkbox]").check()
    page.get_by_test_id("compare").click()
    result = page.get_by_test_id("compare-result")
    expect(result.locator("tr[data-metric=n_open]")).to_be_visible()
    assert names[0] in result.inner_text() and names[1] in result.inner_text()
    export = page.get_by_test_id("export")
    for testid in ("export-gpkg", "export-csv", "export-map"):
        expect(export.get_by_test_id(testid)).to_be_visible()
    with page.expect_download() as dl:
        export.get_by_test_id("export-gpkg").click()
    target = tmp_path / dl.value.suggested_filename
    dl.value.save_as(target)
    assert target.read_bytes()[:15] == b"SQLite format 3"
    with page.expect_download() as dl:
        export.get_by_test_id("export-csv").click()
    csv_path = tmp_path / dl.value.suggested_filename
    dl.value.save_as(csv_path)
    assert "decision" in csv_path.read_text(encoding="utf-8-sig").splitlines()[0]


def assert_offline(net: Offline, errors: list[str]) -> None:
    assert net.refused == [], f"requests to other origins: {net.refused}"
    assert errors == [], "JavaScript errors:\n" + "\n".join(errors)


def test_city_planner_whole_flow(browser, server: str, tmp_path: Path) -> None:
    page, net, errors = open_page(browser, server)
    # Chinese first; English one click away, remembered by the browser
    expect(page.get_by_test_id("login-submit")).to_have_text("登录")
    sign_in_with_keyboard(page, "city")
    expect(page.get_by_test_id("run")).to_have_text("运行")
    expect(page.locator("#legend")).to_contain_text("代表联系点")
    assert_labelled(page)
    shot(page, "workspace_city_zh.png")
    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("run")).to_have_text("Run")
    expect(page.locator("#legend")).to_contain_text("Contact point")
    page.reload()
    page.locator(".gp-icon, .marker-cluster").first.wait_for(state="visible")
    expect(page.get_by_test_id("run")).to_have_text("Run")  # still English, still signed in (cookie)

    # force a station closed, then run and save
    zoom_to_stations(page)
    sid = station_ids(page)[0]
    click_station(page, sid)
    page.get_by_test_id("force-closed").click()
    expect(page.locator("#sc-picks")).to_contain_text("Forced closed")
    first = run_plan(page, 1, "one new point")
    summary = page.get_by_test_id("summary").inner_text()
    assert "People within reach after" in summary and "Certified gap" in summary
    assert re.fullmatch(r"\d{1,3}\.\d%", page.get_by_test_id("covered-after").inner_text())
    plan = page.evaluate("() => gpWorkspace.state.plan")
    assert sid in plan["scenario"]["force_closed"]
    decisions = {f["id"]: f["properties"]["decision"] for f in plan["stations"]["features"]}
    assert decisions[sid] == "close"
    expect(page.get_by_test_id("reasons")).to_contain_text("closed by scenario")
    # the town table sorts by clicking (or pressing Enter on) a column header
    header = page.locator("#town-table button[data-sort=population]")
    header.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#town-table th[aria-sort=ascending]")).to_have_count(1)
    shot(page, "workspace_city_en.png")

    # a second plan: exclude a town (click it) and require a venue (click it), then compare and export
    page.locator("#sc-picks button").first.click()  # un-force the station
    town = page.evaluate("""() => { let hit = null;
        gpWorkspace.layers.towns.eachLayer(l => { if (!hit && l.feature.properties.county_code === 'C2') hit = l; });
        const c = hit.getBounds().getCenter();
        gpWorkspace.map.setView(c, 14, {animate: false});
        const p = gpWorkspace.map.latLngToContainerPoint(c); return [hit.feature.id, p.x + 7, p.y + 9]; }""")
    box = page.locator("#map").bounding_box()
    page.mouse.click(box["x"] + town[1], box["y"] + town[2])
    page.get_by_test_id("exclude-town").click()
    expect(page.locator("#sc-picks")).to_contain_text("Towns without new points")
    page.get_by_test_id("show-venues").check()
    page.wait_for_function("() => gpWorkspace.state.venuesLoaded")
    venue = page.evaluate(f"""() => gpWorkspace.state.data.venues_fc.features
        .find(f => f.properties.town_code !== '{town[0]}').id""")
    page.evaluate(f"""() => {{ const f = gpWorkspace.state.data.venues_fc.features.find(f => f.id === '{venue}');
        gpWorkspace.map.setView([f.geometry.coordinates[1], f.geometry.coordinates[0]], 17, {{animate: false}}); }}""")
    page.wait_for_timeout(500)
    at = page.evaluate(f"""() => {{ const f = gpWorkspace.state.data.venues_fc.features.find(f => f.id === '{venue}');
        const p = gpWorkspace.map.latLngToContainerPoint([f.geometry.coordinates[1], f.geometry.coordinates[0]]);
        return [p.x, p.y]; }}""")
    page.mouse.click(box["x"] + at[0], box["y"] + at[1])
    page.get_by_test_id("require-venue").click()
    expect(page.locator("#sc-picks")).to_contain_text("Required venues")
    second = run_plan(page, 3, "three new points")
    assert first != second
    plan = page.evaluate("() => gpWorkspace.state.plan")
    assert plan["scenario"]["exclude_towns"] == [town[0]] and plan["scenario"]["require_sites"] == [venue]
    opened = [f["properties"] for f in plan["stations"]["features"] if f["properties"]["decision"] == "open"]
    assert venue in [o["site_id"] for o in opened] and all(o["town_code"] != town[0] for o in opened)
    expect(page.get_by_test_id("reasons")).to_contain_text("required by scenario")
    compare_and_export(page, ("one new point", "three new points"), tmp_path)
    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("compare")).to_have_text("比较勾选的两个方案")
    expect(page.get_by_test_id("compare-result")).to_contain_text("新设联系点数")
    shot(page, "workspace_compare_zh.png")

    # the deputy-group assignment as a layer
    page.get_by_test_id("show-assignment").check()
    page.wait_for_function("() => gpWorkspace.state.assignment !== null")
    assert page.evaluate("() => gpWorkspace.layers.assign.getLayers().length") > 0

    page.get_by_test_id("logout").click()
    expect(page.get_by_test_id("login-token")).to_be_visible()
    assert_offline(net, errors)
    assert net.tiles, "the OpenStreetMap basemap asked for no tile at all"


def test_county_planner_edits_own_county_only(browser, server: str, tmp_path: Path) -> None:
    page, net, errors = open_page(browser, server)
    page.evaluate("() => localStorage.setItem('geoplan.lang', 'zh')")
    sign_in_with_keyboard(page, "west")
    expect(page.locator("#who")).to_contain_text("县级规划人员")
    options = page.get_by_test_id("scope").locator("option").all_inner_texts()
    assert options == ["West"], options  # only its own county; no "whole city"
    zoom_to_stations(page)
    east = station_ids(page, "C2")[0]
    click_station(page, east)
    popup = page.get_by_test_id("station-popup")
    expect(popup).to_contain_text("只读")
    expect(popup.get_by_test_id("force-closed")).to_have_count(0)
    page.keyboard.press("Escape")
    west = station_ids(page, "C1")[0]
    click_station(page, west)
    page.get_by_test_id("force-closed").click()
    run_plan(page, 1, "西区一个新点")
    assert page.evaluate("() => gpWorkspace.state.plan.county_code") == "C1"
    shot(page, "workspace_county_zh.png")

    # a station edit with a reason, and its history
    other = station_ids(page, "C1")[1]
    click_station(page, other)
    page.get_by_test_id("edit-reason").fill("与村委会合署办公")
    page.get_by_test_id("station-close").click()
    expect(page.get_by_test_id("history")).to_contain_text("与村委会合署办公")
    assert page.evaluate(f"() => gpWorkspace.state.data.stations['{other}'].properties.status") == "closed"
    # propose a new point by clicking the map
    page.get_by_role("tab", name="站点调整").click()
    page.get_by_test_id("propose").click()
    box = page.locator("#map").bounding_box()
    c = page.evaluate("""() => { let center = null;  // the middle of a town of its own county, between markers
        gpWorkspace.layers.towns.eachLayer(l => { if (!center && l.feature.properties.county_code === 'C1')
            center = l.getBounds().getCenter(); });
        gpWorkspace.map.setView(center, 14, {animate: false});
        const p = gpWorkspace.map.latLngToContainerPoint(center); return [p.x + 7, p.y + 9]; }""")
    page.mouse.click(box["x"] + c[0], box["y"] + c[1])
    page.get_by_test_id("propose-name").fill("新设联系点（测试）")
    page.get_by_test_id("propose-submit").click()
    expect(page.get_by_test_id("history")).to_contain_text("拟新设")
    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("run")).to_have_text("Run")
    shot(page, "workspace_county_en.png")
    run_plan(page, 2, "West: two new points")
    compare_and_export(page, ("西区一个新点", "West: two new points"), tmp_path)
    assert_offline(net, errors)


def test_amap_overlays_sit_on_their_gcj02_twins(browser, server: str) -> None:
    """On the GCJ-02 basemap every marker is drawn at its GCJ-02 position, computed on the server."""
    page, net, errors = open_page(browser, server)
    sign_in_with_keyboard(page, "city")
    zoom_to_stations(page)
    sid = station_ids(page)[0]
    lon, lat = page.evaluate(f"() => gpWorkspace.state.data.stations['{sid}'].geometry.coordinates")
    page.get_by_test_id("basemap").select_option("amap")
    page.wait_for_function("() => gpWorkspace.state.data.stations_fc && gpWorkspace.state.data.stations_fc.coords === 'gcj02'")
    page.wait_for_timeout(400)
    glon, glat = (float(v[0]) for v in crs.wgs84_to_gcj02([lon], [lat]))
    page.evaluate(f"() => gpWorkspace.map.setView([{glat}, {glon}], 16, {{animate: false}})")
    page.wait_for_timeout(400)
    icon = page.locator(f'.gp-icon[data-id="{sid}"]').bounding_box()
    mapbox = page.locator("#map").bounding_box()
    at = [icon["x"] + icon["width"] / 2 - mapbox["x"], icon["y"] + icon["height"] / 2 - mapbox["y"]]
    twin = page.evaluate(f"() => {{ const p = gpWorkspace.map.latLngToContainerPoint([{glat}, {glon}]); return [p.x, p.y]; }}")
    wgs = page.evaluate(f"() => {{ const p = gpWorkspace.map.latLngToContainerPoint([{lat}, {lon}]); return [p.x, p.y]; }}")
    assert abs(at[0] - twin[0]) <= 1.5 and abs(at[1] - twin[1]) <= 1.5, (at, twin)
    # at zoom 16 the GCJ-02 shift near Yancheng is hundreds of metres: far from the WGS84 pixel
    assert abs(at[0] - wgs[0]) + abs(at[1] - wgs[1]) > 50, (at, wgs)
    assert any("autonavi.com" in u for u in net.tiles)
    page.get_by_test_id("basemap").select_option("none")
    page.wait_for_function("() => gpWorkspace.state.data.stations_fc && gpWorkspace.state.data.stations_fc.coords === 'wgs84'")
    n_tiles = len(net.tiles)
    page.evaluate("() => gpWorkspace.map.setZoom(12)")
    page.wait_for_timeout(500)
    assert len(net.tiles) == n_tiles  # "none": outlines only, no tile server
    assert page.locator("path.leaflet-interactive").count() > 0 or page.locator("canvas").count() > 0
    assert_offline(net, errors)


def test_exported_map_opens_with_the_network_blocked(browser, server: str, tmp_path: Path) -> None:
    """The standalone map downloaded from the workspace carries its scripts: layers and legend show offline."""
    page, net, errors = open_page(browser, server)
    sign_in_with_keyboard(page, "city")
    run_plan(page, 2, "map export")
    with page.expect_download() as dl:
        page.get_by_test_id("export-map").click()
    html_path = tmp_path / "plan.html"
    dl.value.save_as(html_path)
    html = html_path.read_text(encoding="utf-8")
    assert "<script src=\"http" not in html and "<link rel=\"stylesheet\" href=\"http" not in html
    ctx = browser.new_context(viewport=VIEWPORT, offline=True)
    mp = ctx.new_page()
    refused: list[str] = []
    ctx.route("**/*", lambda r, q: (r.continue_() if q.url.startswith("file:") else (refused.append(q.url), r.abort())))
    map_errors, _ = collect_errors(mp)
    mp.goto(html_path.as_uri())
    mp.locator(".leaflet-control-layers").wait_for(state="attached")
    mp.locator("#geoplan-legend").wait_for(state="visible")
    names = mp.locator(".leaflet-control-layers-overlays label").all_inner_texts()
    assert len(names) >= 5, names
    assert "代表联系点" in mp.locator("#geoplan-legend").inner_text()
    assert not [u for u in refused if not TILE_HOSTS.search(urlparse(u).hostname or "")], refused
    assert map_errors == [], map_errors
    shutil.copyfile(html_path, tmp_path / "kept.html")
    assert_offline(net, errors)


def test_the_page_runs_under_its_strict_policy(browser, server: str) -> None:
    """The Content-Security-Policy is enforced (an inline script is refused) and the app still works."""
    page, net, errors = open_page(browser, server)
    violations = page.evaluate("""() => new Promise(resolve => {
        const seen = [];
        document.addEventListener('securitypolicyviolation', e => seen.push(e.violatedDirective));
        const s = document.createElement('script'); s.textContent = 'window.__inline = 1;';
        document.body.appendChild(s);
        setTimeout(() => resolve([seen, window.__inline === undefined]), 200);
    })""")
    assert violations[1] and any(v.startswith("script-src") for v in violations[0]), violations
    errors.clear()  # the refused inline script is reported as a console error: that is the point
    sign_in_with_keyboard(page, "city")
    assert_offline(net, errors)


@pytest.fixture(scope="module")
def bundled_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import uvicorn
    from api_helpers import TOKENS

    from api.main import create_app
    from api.settings import Settings

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('wsy') / 'ws.db'}", tokens=TOKENS))
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    end = time.monotonic() + 60
    while not srv.started and time.monotonic() < end:
        time.sleep(0.05)
    assert srv.started
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(10)


def test_city_view_of_the_bundled_dataset(browser, bundled_server: str) -> None:
    """The whole Yancheng city (154 towns, 1,017 stations) in the workspace: view, plan, both languages."""
    page, net, errors = open_page(browser, bundled_server)
    page.evaluate("() => localStorage.setItem('geoplan.lang', 'zh')")
    page.reload()
    sign_in_with_keyboard(page, "city")
    page.wait_for_function("() => Object.keys(gpWorkspace.state.shares || {}).length === 154", timeout=60_000)
    assert page.evaluate("() => gpWorkspace.layers.stations.getLayers().length") == 1017
    assert page.locator(".marker-cluster").count() > 5  # clustered at city zoom
    run_plan(page, 40, "四十个新点")
    assert page.evaluate("() => gpWorkspace.state.plan.metrics.n_open") == 40
    expect(page.get_by_test_id("summary")).to_contain_text("规划后覆盖范围内人口")
    expect(page.get_by_test_id("county-table").locator("tbody tr")).to_have_count(10)
    shot(page, "workspace_yancheng_zh.png")
    page.get_by_test_id("lang-switch").click()
    expect(page.get_by_test_id("reasons")).to_contain_text("people no other station reaches")
    shot(page, "workspace_yancheng_en.png")
    assert_offline(net, errors)
