"""Opinions and standards weigh in planning: siting goes where unresolved opinions press, and the
review closes redundant stations that work poorly first and keeps redundant ones that work well."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from pydantic import ValidationError

from geoplan.datasets import Dataset
from geoplan.exceptions import InputError
from geoplan.operations.opinion_synth import load_year
from geoplan.operations.opinions import flag_overdue
from geoplan.operations.planning_weights import scenario_feedback
from geoplan.operations.standards import RatingRule, activity_from_opinions, score_stations
from geoplan.planning import Scenario, plan, planning_inputs, review
from geoplan.settings import BUNDLED_DATASET

AS_OF = dt.date(2026, 12, 31)


@pytest.fixture(scope="module")
def bundled() -> tuple[Dataset, dict]:
    ds = Dataset.load(BUNDLED_DATASET)
    year = load_year()
    act = activity_from_opinions(flag_overdue(year.opinions, as_of=AS_OF), year.reception_days)
    scores = score_stations(year.checklist, act, RatingRule(), AS_OF,
                            station_ids=sorted(ds.active_stations()["id"].astype(str)))
    return ds, scenario_feedback(year.opinions, scores)


def _pressing_towns(ds: Dataset, unresolved: dict[str, float], n: int = 15) -> set[str]:
    pop = ds.demand.groupby(ds.demand["town_code"].astype(str))["population"].sum()
    rate = pd.Series(unresolved).reindex(pop.index).fillna(0) / pop
    return set(rate.sort_values(ascending=False, kind="mergesort").index[:n])


def test_opinion_weight_sites_more_points_where_opinions_press(bundled: tuple[Dataset, dict]) -> None:
    ds, fb = bundled
    hot = _pressing_towns(ds, fb["unresolved_opinions"])
    plain = plan(ds, Scenario(budget=60))
    weighted = plan(ds, Scenario(budget=60, opinion_weight=3, unresolved_opinions=fb["unresolved_opinions"]))
    n_plain = int(plain.opened["town_code"].isin(hot).sum())
    n_weighted = int(weighted.opened["town_code"].isin(hot).sum())
    # the 15 towns (of 154) with the most unresolved opinions per head get far more of the 60 new points
    assert len(weighted.opened) == 60 and n_weighted >= n_plain + 10 and n_weighted >= 2 * n_plain
    reasons = weighted.opened.loc[weighted.opened["town_code"].isin(hot), "reason"]
    assert reasons.str.contains("unresolved opinions weigh people there").all()
    assert not plain.opened["reason"].str.contains("unresolved").any()
    # the metrics stay in people: coverage is counted unweighted
    assert weighted.metrics.population == plain.metrics.population
    # weight 0 is the plain plan, whatever the counts
    same = plan(ds, Scenario(budget=60, opinion_weight=0, unresolved_opinions=fb["unresolved_opinions"]))
    assert same.opened["id"].tolist() == plain.opened["id"].tolist()


def test_demand_weights_reach_the_inputs_and_bad_codes_are_named(bundled: tuple[Dataset, dict]) -> None:
    ds, fb = bundled
    inp = planning_inputs(ds, Scenario(opinion_weight=2, unresolved_opinions=fb["unresolved_opinions"]))
    assert inp.demand_weight.min() == 1.0 and inp.demand_weight.max() > 5
    assert (planning_inputs(ds, Scenario()).demand_weight == 1).all()
    with pytest.raises(InputError, match="unresolved_opinions"):
        planning_inputs(ds, Scenario(opinion_weight=1, unresolved_opinions={"nowhere": 3}))
    with pytest.raises(ValidationError):
        Scenario(opinion_weight=-1)
    with pytest.raises(ValidationError):
        Scenario(unresolved_opinions={"x": float("nan")})


def test_review_closes_poor_redundant_stations_and_keeps_good_ones(bundled: tuple[Dataset, dict]) -> None:
    ds, fb = bundled
    notes = fb["station_performance"]
    poor = {k for k, v in notes.items() if v["poor"]}
    plain = review(ds, Scenario())
    informed = review(ds, Scenario(station_performance=notes))
    redundant_closed = plain[(plain["decision"] == "close") & plain["reason"].str.startswith("redundant")]
    closed_good_before = int((~redundant_closed["id"].isin(poor)).sum())
    assert closed_good_before > 0  # without the notes the review closes well-working stations too
    closed = informed[(informed["decision"] == "close") & informed["reason"].str.startswith("redundant")]
    assert closed["id"].isin(poor).all() and len(closed) > 0
    assert closed["reason"].str.contains("作用发挥不充分").all()
    kept = informed[informed["reason"].str.startswith("redundant but kept, it works well")]
    assert len(kept) > 0 and kept["reason"].str.contains("作用发挥好").all() and not kept["id"].isin(poor).any()
    # the plan runs on the same review
    p = plan(ds, Scenario(budget=10, station_performance=notes))
    assert set(p.closed["id"]) <= set(informed.loc[informed["decision"] == "close", "id"])
