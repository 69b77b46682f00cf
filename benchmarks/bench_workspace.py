"""Timing benchmark of the workspace's city view (Playwright + Debian chromium; a benchmark, not a test).

Starts the service (``api.main.create_app``) on 127.0.0.1 with the bundled Yancheng dataset and a
fresh SQLite database, warms it (one request to each layer and the baseline), then opens the
workspace ``--runs`` times in fresh browser contexts (empty cache), signed in, with every request to
another origin answered by a blank tile (tiles stubbed, so the network is not measured). For each
run it records:

* **usable**: from navigation to the city view being usable — counties and towns drawn and shaded
  by the share within reach, every station in the marker cluster, the what-if form filled;
* **bytes**: bytes transferred from the service (encoded, i.e. gzip where it applies), by kind.

The peer in the same run is the static map that ``geoplan map`` writes (folium, self-contained,
every marker in one page), opened from a file: time until its station markers show, and its size.

Usage::

    python benchmarks/bench_workspace.py [--runs 5] [--chromium /usr/bin/chromium]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

TOKEN = "bench-city"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def start_server(db: Path) -> tuple[str, object, threading.Thread]:
    import socket

    import uvicorn

    from api.main import create_app
    from api.settings import Settings

    settings = Settings(database_url=f"sqlite:///{db}", tokens={TOKEN: {"role": "city_planner", "name": "bench"}})
    app = create_app(settings)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server, thread


def warm(origin: str) -> None:
    import httpx

    with httpx.Client(base_url=origin, timeout=120) as c:
        r = c.post("/workspace/session", json={"token": TOKEN})
        r.raise_for_status()
        for path in ("/workspace/config", "/workspace/baseline", "/workspace/layers/counties",
                     "/workspace/layers/towns", "/workspace/layers/stations", "/workspace/layers/venues"):
            c.get(path).raise_for_status()


def blank_tile() -> bytes:
    from browser import BLANK_TILE

    return BLANK_TILE


def workspace_run(browser, origin: str) -> tuple[float, dict[str, int]]:
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    tile = blank_tile()

    def route(r, req) -> None:  # noqa: ANN001
        if req.url.startswith(origin):
            r.continue_()
        else:
            r.fulfill(status=200, content_type="image/png", body=tile)

    ctx.route("**/*", route)
    page = ctx.new_page()
    sizes: dict[str, int] = defaultdict(int)
    done: list = []

    def on_finished(req) -> None:  # noqa: ANN001
        if req.url.startswith(origin):
            done.append(req)

    page.on("requestfinished", on_finished)
    # signed in already (the session cookie, as after a sign-in), empty browser cache: the first page
    r = ctx.request.post(origin + "/workspace/session", data={"token": TOKEN})
    assert r.ok, r.text()
    t0 = time.perf_counter()
    page.goto(origin + "/")
    page.wait_for_function(
        """() => window.gpWorkspace && gpWorkspace.state.baseline && gpWorkspace.state.data.towns_fc
            && gpWorkspace.layers.towns.getLayers().length === gpWorkspace.state.data.towns_fc.features.length
            && gpWorkspace.layers.stations.getLayers().length >= gpWorkspace.state.data.stations_fc.features.length
            && Object.keys(gpWorkspace.state.shares || {}).length > 0
            && document.querySelector('.marker-cluster, .gp-icon') !== null""",
        timeout=60_000)
    seconds = time.perf_counter() - t0
    page.wait_for_timeout(300)
    for req in done:
        try:
            n = req.sizes()["responseBodySize"]
        except Exception:  # noqa: BLE001 — a request without sizes (aborted) counts nothing
            n = 0
        path = req.url[len(origin):].split("?")[0]
        kind = ("vendor" if "/vendor/" in path else "layers" if "/layers/" in path or "/baseline" in path
                else "app" if "/static/" in path or path == "/" else "api")
        sizes[kind] += int(n)
    ctx.close()
    return seconds, dict(sizes)


def static_map_run(browser, html: Path) -> float:
    ctx = browser.new_context(viewport={"width": 1366, "height": 768})
    tile = blank_tile()
    ctx.route("**/*", lambda r, q: r.continue_() if q.url.startswith("file:") else r.fulfill(
        status=200, content_type="image/png", body=tile))
    page = ctx.new_page()
    t0 = time.perf_counter()
    page.goto(html.as_uri(), wait_until="load")
    page.wait_for_selector(".leaflet-marker-icon", state="visible", timeout=120_000)
    seconds = time.perf_counter() - t0
    ctx.close()
    return seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--chromium", default=None)
    args = ap.parse_args()

    from browser import find_chromium
    from playwright.sync_api import sync_playwright

    from geoplan import html_assets, maps
    from geoplan.datasets import Dataset
    from geoplan.settings import BUNDLED_DATASET

    chromium = args.chromium or find_chromium(install=False)[0]
    if not chromium:
        sys.exit("chromium not found (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="bench-ws-") as tmp:
        t = time.perf_counter()
        origin, server, thread = start_server(Path(tmp) / "ws.db")
        warm(origin)
        print(f"service up and warm in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        html = html_assets.save(maps.network_map(Dataset.load(BUNDLED_DATASET)), Path(tmp) / "network.html")
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            ws = [workspace_run(browser, origin) for _ in range(args.runs)]
            st = [static_map_run(browser, html) for _ in range(args.runs)]
            browser.close()
        server.should_exit = True  # type: ignore[attr-defined]
        thread.join(10)
        static_bytes = html.stat().st_size

    secs = [s for s, _ in ws]
    kinds = sorted({k for _, b in ws for k in b})
    mean_bytes = {k: statistics.mean(b.get(k, 0) for _, b in ws) for k in kinds}
    total = sum(mean_bytes.values())
    print(f"\n{args.runs} runs each, bundled Yancheng dataset (10 counties, 154 towns, 1,017 stations), "
          "1366×768, tiles stubbed\n")
    print("| page | usable: median (min–max) s | bytes transferred | notes |")
    print("|---|---|---|---|")
    detail = ", ".join(f"{k} {v / 1024:,.0f} KiB" for k, v in mean_bytes.items())
    print(f"| workspace city view (`geoplan serve`, warm) | {statistics.median(secs):.2f} ({min(secs):.2f}–{max(secs):.2f}) "
          f"| {total / 1024:,.0f} KiB | {detail}; gzip |")
    print(f"| static network map (`geoplan map`, self-contained HTML, from file) | {statistics.median(st):.2f} "
          f"({min(st):.2f}–{max(st):.2f}) | {static_bytes / 1024:,.0f} KiB | one file, no compression |")


if __name__ == "__main__":
    main()
