"""The service's HTML pages load nothing from another origin (government intranets reach no CDN).

``/docs`` (Swagger UI vendored under ``api/static/vendor/swagger-ui``) and ``/scenarios/{id}/map``
(a folium map made self-contained by :func:`geoplan.html_assets.render`) are fetched over HTTP and
searched for scripts, stylesheets and icons linked from elsewhere; the CSP they are served with must
name no CDN. Then Debian's headless Chromium opens ``/docs`` with every non-loopback request refused
and Swagger UI must render the API's title and operations with no JavaScript error.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from api_helpers import CITY, loopback, make_settings, submit, wait_final
from fastapi.testclient import TestClient

from api.main import create_app

# src= / href= of <script>, <link> and <img>: the assets a page loads as it opens (tile URL templates
# inside scripts are not matched, they are data).
_ASSET = re.compile(r"<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*[\"']([^\"']+)[\"']", re.I)
_CDNS = ("cdn.jsdelivr", "cdnjs.cloudflare", "unpkg.com", "code.jquery.com", "bootstrapcdn", "fastapi.tiangolo")


def foreign_assets(page: str) -> list[str]:
    """Asset URLs of ``page`` that point at another origin (absolute http(s) or protocol-relative)."""
    return [u for u in _ASSET.findall(page) if re.match(r"^(https?:)?//", u, re.I)]


@pytest.fixture(scope="module")
def settings(dataset_path: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201, F811
    return make_settings(dataset_path, tmp_path_factory.mktemp("offline") / "api.db")


@pytest.fixture(scope="module")
def client(settings):  # noqa: ANN001, ANN201
    with TestClient(create_app(settings)) as c:
        yield c


def test_foreign_assets_finds_cdn_links() -> None:
    page = ('<script src="https://cdn.jsdelivr.net/x.js"></script><link rel="stylesheet" href="//unpkg.com/a.css">'
            '<script src="/docs/assets/swagger-ui-bundle.js"></script><script>L.tileLayer("https://t/{z}")</script>')
    assert foreign_assets(page) == ["https://cdn.jsdelivr.net/x.js", "//unpkg.com/a.css"]


def test_docs_served_from_the_service(client: TestClient) -> None:
    r = client.get("/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert foreign_assets(r.text) == []
    assets = _ASSET.findall(r.text)
    assert {"/docs/assets/swagger-ui-bundle.js", "/docs/assets/swagger-ui.css"} <= set(assets), assets
    for url in assets:
        got = client.get(url)
        assert got.status_code == 200 and len(got.content) > 500, url
    assert client.get("/docs/assets/LICENSE").status_code == 200
    csp = r.headers["content-security-policy"]
    assert not any(c in csp for c in _CDNS), csp
    assert "script-src 'self' 'unsafe-inline';" in csp
    assert client.get("/redoc").status_code == 404  # dropped: ReDoc would load from a CDN
    # the OGC landing page still links the docs page
    links = client.get("/ogc", headers=CITY).json()["links"]
    doc = next(link for link in links if link["rel"] == "service-doc")
    assert doc["href"].endswith("/docs") and doc["type"] == "text/html", doc


def test_scenario_map_is_self_contained(client: TestClient) -> None:
    r = submit(client, CITY, budget=2)
    assert r.status_code in (201, 202), r.text
    sid = r.json()["id"]
    assert wait_final(client, sid)["status"] == "done"
    m = client.get(f"/scenarios/{sid}/map", headers=CITY)
    assert m.status_code == 200 and m.headers["content-type"].startswith("text/html")
    assert foreign_assets(m.text) == []
    assert not any(c in m.text for c in _CDNS[:5])
    assert "L.map(" in m.text or "L.map (" in m.text  # Leaflet is inlined, the map is still drawn
    assert "tile.openstreetmap.org" in m.text  # the tile template stays (the CSP allows this host)
    assert "https://tile.openstreetmap.org" in m.headers["content-security-policy"]


@pytest.mark.slow
def test_docs_render_in_chromium_with_the_network_cut(settings) -> None:  # noqa: ANN001
    pytest.importorskip("playwright")
    from browser import CHROMIUM_ARGS, collect_errors, find_chromium
    from playwright.sync_api import sync_playwright

    path, why = find_chromium(install=True)
    if path is None:
        pytest.skip(f"chromium not installed and could not be installed: {why}")
    refused: list[str] = []
    with loopback(create_app(settings), settings) as origin, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()

            def route(r, request) -> None:  # noqa: ANN001
                if request.url.startswith((origin + "/", "data:", "blob:")):
                    r.continue_()
                else:
                    refused.append(request.url)
                    r.abort()

            page.route("**/*", route)
            errors, _ = collect_errors(page)
            page.on("console", lambda m: errors.append(f"console: {m.text}")
                    if m.type == "error" and "Failed to load resource" in m.text else None)
            page.goto(origin + "/docs")
            page.locator(".swagger-ui .info .title").wait_for(state="visible", timeout=30_000)
            assert "geoplan API" in page.locator(".swagger-ui .info .title").inner_text()
            page.locator(".opblock-summary-path", has_text="/scenarios/{scenario_id}/map").first.wait_for(
                state="visible", timeout=10_000)
        finally:
            browser.close()
    assert refused == [] and errors == [], (refused, errors)
