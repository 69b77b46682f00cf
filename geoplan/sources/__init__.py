"""Importers of planning data.

* :mod:`geoplan.sources.tables` — user tables (CSV with lon/lat, GeoJSON, GeoPackage, Shapefile).
* :mod:`geoplan.sources.osm` — OpenStreetMap extracts (.osm.pbf): venues and roads.
* :mod:`geoplan.sources.city` — the builder of a planning dataset for any prefecture-level city from
  public inputs (``geoplan data build --raw DIR --city CODE --out FILE``).
* :mod:`geoplan.sources.yancheng` — the bundled Yancheng dataset, one call of that builder
  (``python -m geoplan.sources.yancheng`` rebuilds ``data/yancheng.gpkg``).
"""
