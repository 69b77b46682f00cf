"""Folium maps of a dataset, a plan, or two plans compared.

Every function is pure: it takes a :class:`~geoplan.datasets.Dataset` (and plans)
and returns a :class:`folium.Map`; the caller writes it with ``m.save(path)``.
One module per map: :mod:`~geoplan.maps.network`, :mod:`~geoplan.maps.plan`,
:mod:`~geoplan.maps.compare`, and the assignment layers in
:mod:`~geoplan.maps.assignment`; what they share is in the package-private
``_helpers`` (styles, layers, legend) and ``_plan_layers`` (plan checks and layers).

The maps must stay responsive with the whole Yancheng dataset (thousands of
points), so:

* each point layer is one ``GeoJson`` layer (not one Python ``Marker`` per
  row), styled through a handful of shared styles and with a ``GeoJsonPopup``;
* vector layers draw on a canvas (``prefer_canvas=True``); only stations use
  DOM ``DivIcon`` markers, so each tier keeps a distinct shape;
* venues are clustered (``FastMarkerCluster``, one layer per category, off by
  default) and reach circles are one layer of ``L.Circle`` (radius in metres)
  off by default;
* coordinates are rounded to 5 decimals (about 1 m) and town polygons are
  simplified in the dataset's metric CRS.

Coordinates are WGS84 and the default base layer is OpenStreetMap (WGS84 /
Web Mercator), so no GCJ-02 offset applies.
"""
from geoplan.maps._helpers import LAYER, LEGEND_ID, TIER_LABEL, assignment_links_layer
from geoplan.maps.assignment import add_assignment_layers, assignment_layers
from geoplan.maps.compare import compare_map
from geoplan.maps.network import network_map
from geoplan.maps.plan import plan_map

__all__ = [
    "LEGEND_ID",
    "LAYER",
    "TIER_LABEL",
    "network_map",
    "plan_map",
    "compare_map",
    "assignment_layers",
    "assignment_links_layer",
    "add_assignment_layers",
]
