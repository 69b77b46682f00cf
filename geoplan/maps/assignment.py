"""Folium layers of a deputy assignment: group links and visiting deputies per town."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import folium
import numpy as np

from geoplan.datasets import Dataset
from geoplan.maps._helpers import assignment_links_layer

if TYPE_CHECKING:
    from geoplan.assign import Assignment


def assignment_layers(assignment: Assignment, dataset: Dataset) -> list[Any]:
    """Folium layers of an assignment: each group's links and a choropleth of visiting deputies per town.

    Add them with ``layer.add_to(m)`` (or :func:`add_assignment_layers`).

    Examples
    --------
    >>> import folium, geoplan
    >>> from geoplan.assign import assign
    >>> ds = geoplan.load()
    >>> m = add_assignment_layers(folium.Map(), assign(ds), ds)
    >>> len(assignment_layers(assign(ds), ds))
    2
    """
    towns = dataset.towns[["code", "name", dataset.towns.geometry.name]].merge(
        assignment.town_visitors[["town_code", "visiting_deputies"]], left_on="code", right_on="town_code", how="left"
    ).drop(columns="town_code")
    towns["visiting_deputies"] = towns["visiting_deputies"].fillna(0).astype(int)
    top = max(int(towns["visiting_deputies"].max()) if len(towns) else 0, 1)
    bins = sorted({float(b) for b in np.linspace(0, top, 6).round()} | {0.0, float(top)})
    choro = folium.Choropleth(
        geo_data=towns.to_json(drop_id=True),
        data=towns,
        columns=["code", "visiting_deputies"],
        key_on="feature.properties.code",
        fill_color="YlGn",
        fill_opacity=0.6,
        line_opacity=0.3,
        bins=bins,
        name="Visiting deputies per town",
        legend_name="Visiting national, provincial and city deputies per town",
        highlight=True,
    )
    return [assignment_links_layer(assignment), choro]


def add_assignment_layers(m: Any, assignment: Assignment, dataset: Dataset) -> Any:
    """Add :func:`assignment_layers` to a folium map and return it."""
    for layer in assignment_layers(assignment, dataset):
        layer.add_to(m)
    return m
