"""Layer queries shared by ``/layers`` and the OGC API – Features service under ``/ogc``.

One place says which filters each public layer takes and how the deputies table is
filtered, so both front doors answer the same question the same way.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from api.problems import ApiProblem
from geoplan.datasets import Dataset

if TYPE_CHECKING:
    from api.deps import User

#: Filters each public layer accepts (besides paging); ``bbox`` is spatial.
LAYER_FILTERS: dict[str, list[str]] = {
    "counties": ["county", "bbox"], "towns": ["county", "town", "bbox"],
    "stations": ["county", "town", "tier", "status", "bbox"], "venues": ["county", "town", "category", "bbox"],
    "demand": ["county", "town", "bbox"],
}
#: Filters of the deputies table (planners only).
DEPUTY_FILTERS: list[str] = ["county", "town", "level", "group"]


def select_deputies(ds: Dataset, county: str | None = None, town: str | None = None, level: str | None = None,
                    group: str | None = None) -> pd.DataFrame:
    """The deputies matching every given filter, in table order.

    ``county`` is the county of the deputy's group, ``town`` the deputy's home town.

    Examples
    --------
    >>> rows = select_deputies(ds, county="320902", level="town")  # doctest: +SKIP
    """
    dep = ds.deputies
    mask = dep["id"].notna()
    if county is not None:
        mask &= dep["group_id"].isin(set(ds.groups.loc[ds.groups["county_code"] == county, "id"]))
    if town is not None:
        mask &= dep["home_town_code"] == town
    if level is not None:
        mask &= dep["level"] == level
    if group is not None:
        mask &= dep["group_id"] == group
    return dep[mask.to_numpy()]


def deputy_county_scope(user: "User", county: str | None) -> str | None:
    """The county whose deputies ``user`` may read for a request asking for ``county``.

    Least privilege (api/README.md): a county office handles its own deputies, so a county
    planner reads only its county's deputies (403 when it names another county); a city
    planner reads whatever it asks for.
    """
    mine = user.deputy_county
    if mine is None:
        return county
    if county is not None and county != mine:
        raise ApiProblem(403, f"county planner {user.name!r} may not read the deputies of county {county}",
                         field="query.county", kind="forbidden")
    return mine


__all__ = ["LAYER_FILTERS", "DEPUTY_FILTERS", "select_deputies", "deputy_county_scope"]
