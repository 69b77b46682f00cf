"""Importers of planning data.

* :mod:`geoplan.sources.tables` — user tables (CSV with lon/lat, GeoJSON, GeoPackage, Shapefile).
* :mod:`geoplan.sources.osm` — OpenStreetMap extracts (.osm.pbf): venues and roads.
* :mod:`geoplan.sources.yancheng` — the builder of the bundled Yancheng dataset
  (``python -m geoplan.sources.yancheng`` rebuilds ``data/yancheng.gpkg``).
"""
