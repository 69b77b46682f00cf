"""The Examples sections of the planning, assignment and network docstrings run as doctests."""
from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "geoplan.planning", "geoplan.planning.scenario", "geoplan.planning.inputs", "geoplan.planning.review",
    "geoplan.planning.siting", "geoplan.planning.result", "geoplan.planning.compare", "geoplan.planning.models",
    "geoplan.accessibility",
    "geoplan.assign", "geoplan.assign.rules", "geoplan.network", "geoplan.maps", "geoplan.maps.assignment",
]


@pytest.mark.slow
@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
