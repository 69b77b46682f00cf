"""Self-contained HTML maps: folium's CDN scripts and stylesheets replaced by vendored copies.

Folium pages link Leaflet & co. from CDNs, so they do not render without internet. :func:`render`
writes a page with the scripts and stylesheets it needs inlined from ``geoplan/vendor/`` (Leaflet,
leaflet.markercluster, Leaflet.Sync, images as data URIs) and the ones it does not use dropped
(jQuery, Bootstrap, Font Awesome, awesome-markers: the maps draw their own DivIcon symbols).
``cdn=True`` keeps links instead (a smaller file, for readers with internet).

Example
-------
>>> import folium
>>> html = render(folium.Map(tiles=None))
>>> "https://cdn" in html, "Leaflet 1.9.4" in html
(False, True)
"""
from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

from geoplan.exceptions import InputError

VENDOR_DIR = Path(__file__).resolve().parent / "vendor"
#: folium's asset names a geoplan map never uses (it draws DivIcons, no Bootstrap widgets).
UNUSED = frozenset({"jquery", "bootstrap", "awesome_markers", "bootstrap_css", "glyphicons_css",
                    "awesome_markers_font_css", "awesome_markers_css", "awesome_rotate_css"})
# last path segment of a CDN URL → vendored file
_FILES: dict[str, str] = {
    "leaflet.js": "leaflet/leaflet.js",
    "leaflet.css": "leaflet/leaflet.css",
    "leaflet.markercluster.js": "leaflet.markercluster/leaflet.markercluster.js",
    "MarkerCluster.css": "leaflet.markercluster/MarkerCluster.css",
    "MarkerCluster.Default.css": "leaflet.markercluster/MarkerCluster.Default.css",
    "L.Map.Sync.min.js": "leaflet.sync/L.Map.Sync.js",
    "L.Map.Sync.js": "leaflet.sync/L.Map.Sync.js",
}
_SCRIPT = re.compile(r'<script\s+src="(https?://[^"]+)"\s*>\s*</script>')
_LINK = re.compile(r'<link\s+rel="stylesheet"\s+href="(https?://[^"]+)"\s*/?>')
_CSS_URL = re.compile(r"url\((images/[^)]+)\)")


def trim(m: Any) -> Any:
    """Drop the assets in :data:`UNUSED` from a folium map (and each map of a DualMap); returns ``m``."""
    for item in (m, getattr(m, "m1", None), getattr(m, "m2", None)):
        if item is None:
            continue
        item.default_js = [(n, u) for n, u in item.default_js if n not in UNUSED]
        item.default_css = [(n, u) for n, u in item.default_css if n not in UNUSED]
    return m


def _vendored(url: str) -> Path:
    name = url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
    rel = _FILES.get(name)
    if rel is None:
        raise InputError(f"map: no vendored copy of {url} in {VENDOR_DIR}; pass cdn=True (--cdn) to link it")
    return VENDOR_DIR / rel


def _css(path: Path) -> str:
    text = path.read_text(encoding="utf-8")

    def data_uri(mt: re.Match[str]) -> str:
        img = path.parent / mt.group(1)
        return f"url(data:image/png;base64,{base64.b64encode(img.read_bytes()).decode('ascii')})"

    return _CSS_URL.sub(data_uri, text)


def inline(page: str) -> str:
    """``page`` with every linked script and stylesheet replaced by its vendored content.

    Raises
    ------
    InputError
        A script or stylesheet with no vendored copy (the page would not work offline).
    """
    def script(mt: re.Match[str]) -> str:
        code = _vendored(mt.group(1)).read_text(encoding="utf-8").replace("</script", "<\\/script")
        return f"<script>{code}</script>"

    def style(mt: re.Match[str]) -> str:
        return f"<style>{_css(_vendored(mt.group(1)))}</style>"

    return _LINK.sub(style, _SCRIPT.sub(script, page))


def render(m: Any, cdn: bool = False) -> str:
    """The HTML of a folium map (or DualMap): self-contained, or linking CDNs with ``cdn=True``."""
    page = trim(m).get_root().render()
    return page if cdn else inline(page)


def save(m: Any, path: str | Path, cdn: bool = False) -> Path:
    """Write :func:`render` of ``m`` to ``path`` (UTF-8) and return the path."""
    out = Path(path)
    out.write_text(render(m, cdn=cdn), encoding="utf-8")
    return out
