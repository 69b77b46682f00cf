"""The wheel ships the workspace, its vendored libraries with their licences, and the catalogues."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from test_packaging import wheel  # noqa: F401 — the module-scoped wheel fixture

pytestmark = pytest.mark.slow


def test_wheel_carries_front_end_vendored_assets_and_catalogues(wheel: Path) -> None:  # noqa: F811
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in ("api/workspace/static/index.html", "api/workspace/static/app.js", "api/workspace/static/app.css",
                 "api/workspace/static/vendor/leaflet/leaflet.js", "api/workspace/static/vendor/leaflet/LICENSE",
                 "api/workspace/static/vendor/leaflet/images/layers.png",
                 "api/workspace/static/vendor/leaflet.markercluster/leaflet.markercluster.js",
                 "api/workspace/static/vendor/leaflet.markercluster/LICENSE",
                 "geoplan/vendor/leaflet/leaflet.js", "geoplan/vendor/leaflet.sync/L.Map.Sync.js",
                 "geoplan/vendor/leaflet.sync/LICENSE", "geoplan/i18n/locale/zh/LC_MESSAGES/geoplan.po",
                 "geoplan/i18n/locale/en/LC_MESSAGES/geoplan.po"):
        assert name in names, name
