"""Package-wide defaults, in one place (like ``osmnx.settings``).

These are plain constants, read by functions as default argument values; nothing
here is mutated at run time. (:class:`geoplan.planning.Scenario` takes its default
radii from :data:`DEFAULT_RADIUS_M`, and its ``seed`` defaults to 0.)
"""
from __future__ import annotations

from pathlib import Path

#: The project's ``data/`` folder in a checkout (an installed package has none).
CHECKOUT_DATA: Path = Path(__file__).resolve().parent.parent / "data"

#: The real inputs of the dataset builder, one ``--raw`` folder per city (checkout only).
RAW_DATA: Path = CHECKOUT_DATA / "raw"

# A wheel carries the bundled dataset inside the package (setup.py copies data/yancheng.gpkg there).
_PACKAGED_DATASET: Path = Path(__file__).resolve().parent / "_data" / "yancheng.gpkg"

#: The bundled Yancheng dataset: the installed package's copy, else the checkout's ``data/yancheng.gpkg``.
BUNDLED_DATASET: Path = _PACKAGED_DATASET if _PACKAGED_DATASET.exists() else CHECKOUT_DATA / "yancheng.gpkg"

#: CRS of everything on disk and over the API.
STORAGE_CRS: str = "EPSG:4326"

#: Default service radius per station tier, metres (a home serves a wider area). The one
#: definition of "within reach" of the current network (geoplan.network.within_reach).
DEFAULT_RADIUS_M: dict[str, float] = {"home": 3000.0, "station": 2000.0, "point": 1500.0}

#: Seed of the bundled dataset's synthesis (scenarios carry their own ``seed``, default 0).
DEFAULT_SEED: int = 20240601
