"""The planner's workspace: a bilingual map application served at ``/`` (plain HTML/JS/CSS files).

``static/`` holds ``index.html``, ``app.js``, ``app.css`` and ``vendor/`` (Leaflet and
leaflet.markercluster as published on npm, with their licences). Nothing is fetched from another
origin except map tiles from the basemap the planner picks.
"""
from __future__ import annotations

from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parent / "static"
