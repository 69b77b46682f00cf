"""Shared fixtures (the builders behind them are in ``tests/helpers.py``)."""
from __future__ import annotations

import os

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
