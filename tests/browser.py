"""Helpers for the headless-browser test of the maps (no internet needed).

* :func:`find_chromium` finds Debian's ``chromium`` (installing it with apt-get
  when running as root) or says why it cannot.
* Folium pages load Leaflet & co. from CDNs, which are unreachable in CI. The
  :class:`AssetServer` answers those requests from npm packages fetched once with
  ``npm pack`` (the npm registry is reachable) into a cache directory, answers
  map-tile requests with a blank PNG, and records anything else it had to refuse.
"""
from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

def _blank_png(size: int = 256) -> bytes:
    """A size×size fully transparent PNG (for map tiles)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\x00" * (4 * size) for _ in range(size))
    header = struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


BLANK_TILE = _blank_png()

_CONTENT_TYPES = {
    ".js": "application/javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".eot": "application/vnd.ms-fontobject",
}

# URL (regex) → (npm spec, path inside the package); "{1}", "{2}" are regex groups.
_RULES: list[tuple[str, str, str]] = [
    (r"^https://cdn\.jsdelivr\.net/npm/((?:@[^/@]+/)?[^/@]+)@([^/]+)/(.+)$", "{1}@{2}", "{3}"),
    (r"^https://code\.jquery\.com/jquery-([\d.]+)\.min\.js$", "jquery@{1}", "dist/jquery.min.js"),
    (r"^https://code\.jquery\.com/jquery-([\d.]+)\.js$", "jquery@{1}", "dist/jquery.js"),
    (r"^https://cdnjs\.cloudflare\.com/ajax/libs/leaflet\.markercluster/([\d.]+)/(.+)$",
     "leaflet.markercluster@{1}", "dist/{2}"),
    # 2.0.2 (what folium links) was never published on npm; 2.0.4 is the same plugin.
    (r"^https://cdnjs\.cloudflare\.com/ajax/libs/Leaflet\.awesome-markers/[\d.]+/(.+)$",
     "leaflet.awesome-markers@2.0.4", "dist/{1}"),
    (r"^https://cdn\.jsdelivr\.net/gh/jieter/Leaflet\.Sync/L\.Map\.Sync(?:\.min)?\.js$",
     "leaflet.sync@0.2.4", "L.Map.Sync.js"),
]
# Cosmetic stylesheets with no npm package: answered with an empty stylesheet.
_EMPTY_CSS = (
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css",
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css",
)
_TILE_HOSTS = re.compile(r"^https?://([a-z0-9-]+\.)*(tile\.openstreetmap\.org|basemaps\.cartocdn\.com|tile\.opentopomap\.org)/")


def find_chromium(install: bool = True, timeout: float = 900) -> tuple[str | None, str]:
    """Path of a Chromium binary, installing Debian's package if allowed.

    Returns ``(path, "")`` or ``(None, reason)``.
    """
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path, ""
    if Path("/usr/bin/chromium").exists():
        return "/usr/bin/chromium", ""
    if not install:
        return None, "chromium is not on PATH"
    if not shutil.which("apt-get"):
        return None, "chromium is not on PATH and apt-get is not available"
    if os.geteuid() != 0:
        return None, "chromium is not on PATH and installing it needs root (apt-get install chromium)"
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    try:
        for cmd in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            subprocess.run(cmd, check=True, capture_output=True, timeout=timeout, env=env)
    except (subprocess.SubprocessError, OSError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        return None, f"apt-get install chromium failed: {exc} {detail.decode(errors='replace')[-300:]}"
    path = shutil.which("chromium")
    return (path, "") if path else (None, "apt-get install chromium succeeded but no chromium binary was found")


def asset_cache_dir() -> Path:
    """Where npm packages are unpacked (``$GEOPLAN_TEST_ASSETS`` or ``~/.cache/geoplan-test-assets``)."""
    env = os.environ.get("GEOPLAN_TEST_ASSETS")
    return Path(env) if env else Path.home() / ".cache" / "geoplan-test-assets"


def resolve(url: str) -> tuple[str, str] | None:
    """The (npm spec, file path) serving a CDN URL, or None."""
    url = url.split("?", 1)[0].split("#", 1)[0]
    for pattern, spec, path in _RULES:
        mt = re.match(pattern, url)
        if mt:
            groups = {f"{{{i}}}": g for i, g in enumerate(mt.groups(), start=1)}
            s, p = spec, path
            for k, v in groups.items():
                s, p = s.replace(k, v), p.replace(k, v)
            return s, p
    return None


def npm_package(spec: str, cache: Path, timeout: float = 180) -> Path:
    """Unpack ``npm pack spec`` into the cache once; return the package directory."""
    safe = spec.replace("/", "__")
    target = cache / safe
    if (target / "package.json").exists():
        return target
    npm = shutil.which("npm")
    if not npm:
        raise RuntimeError("npm is not installed (needed to fetch Leaflet & co. for the offline page)")
    cache.mkdir(parents=True, exist_ok=True)
    work = cache / f".{safe}.tmp"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir()
    try:
        out = subprocess.run(
            [npm, "pack", spec, "--silent", "--pack-destination", str(work)],
            check=True, capture_output=True, text=True, timeout=timeout,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        raise RuntimeError(f"npm pack {spec} failed: {exc} {getattr(exc, 'stderr', '')}") from exc
    tgz = work / out.stdout.strip().splitlines()[-1]
    with tarfile.open(tgz) as tar:
        if hasattr(tarfile, "data_filter"):  # Python ≥ 3.11.4: refuse unsafe paths
            tar.extractall(work, filter="data")
        else:
            tar.extractall(work)
    shutil.rmtree(target, ignore_errors=True)
    (work / "package").rename(target)
    shutil.rmtree(work, ignore_errors=True)
    return target


def page_asset_urls(html_text: str) -> list[str]:
    """External script and stylesheet URLs of an HTML page."""
    return sorted(set(re.findall(r"""(?:src|href)=["'](https?://[^"']+)["']""", html_text)))


@dataclass
class AssetServer:
    """Answers a page's external requests offline (use with ``page.route("**/*", server.handle)``)."""

    cache: Path
    refused: list[str] = field(default_factory=list)
    served: list[str] = field(default_factory=list)

    def prefetch(self, urls: list[str]) -> None:
        """Fetch the npm packages behind every script/stylesheet URL (raises RuntimeError if one fails)."""
        for url in urls:
            if url in _EMPTY_CSS or _TILE_HOSTS.match(url):
                continue
            hit = resolve(url)
            if hit is None:
                raise RuntimeError(f"no offline copy known for {url} (add a rule in tests/browser.py)")
            spec, path = hit
            pkg = npm_package(spec, self.cache)
            if not (pkg / path).is_file():
                raise RuntimeError(f"{spec} has no file {path} (for {url})")

    def body(self, url: str) -> tuple[int, str, bytes]:
        """Status, content type and body for a URL."""
        if url.startswith(_EMPTY_CSS):
            return 200, "text/css", b""
        if _TILE_HOSTS.match(url):
            return 200, "image/png", BLANK_TILE
        hit = resolve(url)
        if hit is not None:
            spec, path = hit
            f = self.cache / spec.replace("/", "__") / path
            if not f.is_file():  # e.g. a font referenced from a stylesheet: fetch lazily
                try:
                    f = npm_package(spec, self.cache) / path
                except RuntimeError:
                    pass
            if f.is_file():
                return 200, _CONTENT_TYPES.get(f.suffix, "application/octet-stream"), f.read_bytes()
        return 404, "text/plain", b"offline"

    def handle(self, route, request) -> None:  # noqa: ANN001 (playwright objects)
        url = request.url
        if url.startswith(("file:", "data:", "about:", "http://127.0.0.1", "http://localhost")):
            route.continue_()
            return
        status, ctype, data = self.body(url)
        (self.served if status == 200 else self.refused).append(url)
        route.fulfill(status=status, content_type=ctype, body=data, headers={"Access-Control-Allow-Origin": "*"})


def collect_errors(page) -> tuple[list[str], Callable[[], list[str]]]:  # noqa: ANN001
    """Record JavaScript errors (uncaught exceptions and console errors other than failed loads)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))

    def on_console(msg) -> None:  # noqa: ANN001
        if msg.type == "error" and "Failed to load resource" not in msg.text:
            errors.append(f"console: {msg.text}")

    page.on("console", on_console)
    return errors, lambda: list(errors)
