"""``Scenario.require_sites`` (a venue the planner clicked "require" on): fixed in the optimizer,
counted in the budget, explained; bad ids rejected naming the field."""
from __future__ import annotations

import pydantic
import pytest

from geoplan.exceptions import InputError
from geoplan.i18n import localize_reason
from geoplan.planning import Scenario, plan


def test_required_venue_opens_and_counts_toward_the_budget(tiny_dataset) -> None:
    free = plan(tiny_dataset, Scenario(budget=2))
    chosen = set(free.opened["site_id"])
    site = next(s for s in tiny_dataset.sites["id"] if s not in chosen)
    p = plan(tiny_dataset, Scenario(budget=2, require_sites=(site,)))
    assert p.metrics.n_open == 2 and site in set(p.opened["site_id"])
    row = p.opened[p.opened["site_id"] == site].iloc[0]
    assert "required by scenario (require_sites)" in row["reason"]
    assert "按情景设定指定" in localize_reason(row["reason"], "zh")
    # the optimizer picks the other point around the fixed one; coverage can only be as good as the free plan
    assert p.metrics.people_after <= free.metrics.people_after + 1e-9
    assert plan(tiny_dataset, Scenario(budget=2, require_sites=(site,))).stations.equals(p.stations)  # deterministic


def test_required_venue_with_zero_category_weight_still_opens(tiny_dataset) -> None:
    site = tiny_dataset.sites.iloc[0]
    weights = {str(site["category"]): 0.0}
    p = plan(tiny_dataset, Scenario(budget=1, category_weights=weights, require_sites=(str(site["id"]),)))
    assert list(p.opened["site_id"]) == [str(site["id"])]


def test_bad_required_venues_are_rejected(tiny_dataset) -> None:
    with pytest.raises(InputError, match="scenario.require_sites: unknown venue"):
        plan(tiny_dataset, Scenario(budget=1, require_sites=("NOPE",)))
    site = tiny_dataset.sites.iloc[0]
    with pytest.raises(InputError, match="exclude_towns"):
        plan(tiny_dataset, Scenario(budget=1, require_sites=(str(site["id"]),),
                                    exclude_towns=(str(site["town_code"]),)))
    with pytest.raises(pydantic.ValidationError, match="require_sites and exclude_sites"):
        Scenario(budget=1, require_sites=("S1",), exclude_sites=("S1",))
    with pytest.raises(pydantic.ValidationError, match="budget is 1"):
        Scenario(budget=1, require_sites=("S1", "S2"))
