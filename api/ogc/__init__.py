"""OGC API – Features under ``/ogc``: the public layers, deputies (planners) and every stored
plan's stations as collections that QGIS, GDAL/OGR and geopandas read directly.

The same tokens, roles, page-size limit and problem-details errors as the rest of the API;
the features are the ones ``/layers`` and ``/scenarios/{id}/plan`` serve.
"""
from api.ogc.routes import router

__all__ = ["router"]
