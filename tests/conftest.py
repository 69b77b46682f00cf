"""Shared fixtures (the builders behind them are in ``tests/helpers.py``)."""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest
from helpers import make_tiny_layers
from hypothesis import settings as hypothesis_settings

from geoplan.datasets import Dataset

# Property tests explore the same examples on every run, so a CI result can be reproduced;
# set HYPOTHESIS_PROFILE=explore for fresh random examples when hunting for bugs locally.
hypothesis_settings.register_profile("geoplan", derandomize=True, deadline=None, print_blob=True)
hypothesis_settings.register_profile("explore", deadline=None, print_blob=True)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "geoplan"))


@pytest.fixture
def tiny_layers() -> dict[str, pd.DataFrame]:
    return make_tiny_layers()


@pytest.fixture
def tiny_dataset() -> Dataset:
    return Dataset.from_layers(make_tiny_layers(), name="tiny")


@pytest.fixture(scope="module")
def dataset_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny dataset saved as a GeoPackage, once per module (the API tests serve it)."""
    return Dataset.from_layers(make_tiny_layers(), name="tiny").save(tmp_path_factory.mktemp("ds") / "tiny.gpkg")
