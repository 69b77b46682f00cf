"""geoplan: a geospatial planner for deputy homes, liaison stations and contact points.

``geoplan.load()`` returns the bundled Yancheng :class:`Dataset` (or ``load(path)``
your own); planning is in :mod:`geoplan.planning`, assignment in :mod:`geoplan.assign`,
maps in :mod:`geoplan.maps`.
"""
from __future__ import annotations

__version__ = "0.1.0"

from geoplan.datasets import Dataset, load
from geoplan.exceptions import DatasetError, GeoplanError, InputError

__all__ = ["Dataset", "DatasetError", "GeoplanError", "InputError", "load", "__version__"]
