"""The :class:`Scenario`: a frozen, JSON-serialisable set of planning parameters."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from geoplan.datasets import SITE_CATEGORIES, TIERS
from geoplan.settings import DEFAULT_RADIUS_M

if TYPE_CHECKING:  # the optimizer package is heavy; only its names are needed here
    from geoplan.optimize.solution import SolverName

__all__ = ["Scenario", "RobustSpec", "StationNote", "Tier", "Distance", "SolverChoice", "OPTIMIZER_SOLVER"]

#: A station tier (the dataset's :data:`~geoplan.datasets.TIERS`).
Tier = Literal["home", "station", "point"]
#: How distance is measured.
Distance = Literal["straight", "road"]
#: ``Scenario.solver``: ``exact`` is HiGHS, ``auto`` lets the optimizer choose.
SolverChoice = Literal["auto", "exact", "greedy"]

#: Scenario.solver → :func:`geoplan.optimize.max_coverage` solver name.
OPTIMIZER_SOLVER: "dict[SolverChoice, SolverName]" = {"auto": "auto", "exact": "highs", "greedy": "greedy"}


class RobustSpec(BaseModel):
    """Robust siting over demand scenarios (``Scenario.robust``; the CLI's ``--robust census|ranges|FILE``).

    Without ``town_factors`` the scenarios are today plus ``k - 1`` generated ones, by
    ``generator``:

    - ``census`` (the default): each county's census trend carried forward
      (:func:`geoplan.optimize.robust.census_scenarios`): urban places grow and rural ones
      shrink at the county's annual rates derived from its 2020 census urban/rural population
      and the 2010 → 2020 trend (:func:`geoplan.optimize.robust.census_trend_rates`), over
      ``horizon_years`` at a pace drawn from ``pace``, with local noise;
    - ``ranges``: one urban growth from ``urban_growth`` and one rural decline from
      ``rural_decline`` per scenario, the same everywhere
      (:func:`geoplan.optimize.robust.demand_scenarios`).

    A place is urban when its NBS urban-rural class (the demand layer's ``ur_code``) is 1xx,
    else by its town's kind (streets are urban) when the layer has no class.  With
    ``town_factors`` the scenarios are today plus one per mapping, each town's population
    multiplied by its factor (towns not named keep theirs).

    A JSON object without ``generator`` that sets ``urban_growth`` or ``rural_decline`` (such as
    a scenario saved before the census rule existed) reads as ``ranges``.

    Examples
    --------
    >>> RobustSpec(objective="worst", k=5).generator
    'census'
    >>> RobustSpec.model_validate({"urban_growth": [0.0, 0.3]}).generator
    'ranges'
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    objective: Literal["regret", "worst", "expected"] = Field(
        "regret", description="The plan to keep: least maximum regret, best worst case or best expected coverage")
    k: int = Field(10, ge=2, le=100, description="Scenarios to generate, today included")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed of the generated scenarios")
    generator: Literal["census", "ranges"] = Field(
        "census", description="census: each county's census trend; ranges: urban_growth / rural_decline ranges")
    horizon_years: float = Field(5.0, ge=0, le=50, description="census: years the trend runs (a congress term: 5)")
    pace: tuple[float, float] = Field(
        (0.5, 1.5), description="census: range of the trend's pace per scenario (1 = the census decade's pace)")
    urban_growth: tuple[float, float] = Field((0.0, 0.15), description="ranges: range of urban growth")
    rural_decline: tuple[float, float] = Field((0.0, 0.20), description="ranges: range of rural decline, within [0, 1]")
    noise: float = Field(0.05, ge=0, le=1, description="Standard deviation of the log-normal local variation")
    town_factors: tuple[dict[str, float], ...] = Field(
        (), max_length=100, description="Your own scenarios: town code → population multiplier (instead of k)")

    @model_validator(mode="before")
    @classmethod
    def _ranges_without_generator(cls, data: Any) -> Any:
        if isinstance(data, dict) and "generator" not in data and ({"urban_growth", "rural_decline"} & set(data)):
            return {**data, "generator": "ranges"}
        return data

    @field_validator("town_factors")
    @classmethod
    def _factors(cls, v: tuple[dict[str, float], ...]) -> tuple[dict[str, float], ...]:
        for i, f in enumerate(v):
            for town, x in f.items():
                if not (0 <= x <= 100):  # also rejects NaN
                    raise ValueError(f"scenario {i}: factor of town {town!r} must be a number from 0 to 100")
        return v

    @model_validator(mode="after")
    def _ranges(self) -> "RobustSpec":
        lo, hi = self.urban_growth
        if not -1 <= lo <= hi <= 10:
            raise ValueError("urban_growth: expected (low, high) with -1 <= low <= high <= 10")
        lo, hi = self.rural_decline
        if not 0 <= lo <= hi <= 1:
            raise ValueError("rural_decline: expected (low, high) with 0 <= low <= high <= 1")
        lo, hi = self.pace
        if not 0 <= lo <= hi <= 10:
            raise ValueError("pace: expected (low, high) with 0 <= low <= high <= 10")
        return self


class StationNote(BaseModel):
    """How a station works (from :func:`geoplan.operations.planning_weights.station_performance`):
    its performance in [0, 1], whether it "does not play its role", and why, in words.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    performance: float = Field(ge=0, le=1)
    poor: bool
    reason: str = Field("", max_length=300)


class Scenario(BaseModel):
    """A frozen, JSON-serialisable set of planning parameters.

    ``Scenario.model_validate_json(text)`` / ``scenario.model_dump_json()`` round-trip;
    invalid values raise ``pydantic.ValidationError`` naming the field.

    Examples
    --------
    >>> s = Scenario(budget=20, footfall_weight=0.5, force_closed=("ST01",))
    >>> s.radius_m["point"], s.solver
    (1500.0, 'auto')
    >>> Scenario.model_validate_json(s.model_dump_json()) == s
    True
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field("scenario", max_length=200, description="Label shown in reports and maps")
    budget: int = Field(150, ge=0, le=100_000, description="Number of new contact points to open")
    radius_m: dict[Tier, float] = Field(
        default_factory=lambda: dict[Tier, float](DEFAULT_RADIUS_M),  # type: ignore[arg-type]  # keys are the tiers
        description="Service radius per station tier, metres; new points use the 'point' radius",
    )
    distance: Distance = Field("straight", description="Straight-line or road-network distance")
    speed_kmh: float | None = Field(None, gt=0, le=200, description="If set with distance='road', radii are read as minutes at this speed")
    footfall_weight: float = Field(
        0.0, ge=0, le=1e4, description="People-equivalents per daily visitor of a chosen venue (0 to 10,000)"
    )
    category_weights: dict[str, float] = Field(
        default_factory=dict,
        description="Multiplier per venue category (0 excludes the category); missing categories weigh 1",
    )
    min_per_town: bool = Field(True, description="Every town keeps or gets at least one active station")
    allow_closures: bool = Field(True, description="Run the network review and close redundant stations")
    close_village_homes: bool = Field(True, description="Close village-level deputy homes, as the guideline asks")
    max_closure_loss: float = Field(
        0.0, ge=0, description="A station may close if closing it uncovers at most this many people"
    )
    closable_tiers: tuple[Tier, ...] = Field(
        ("station", "point"),
        description="Tiers the review may close as redundant (village-level homes close by the guideline rule)",
    )
    force_open: tuple[str, ...] = Field((), description="Station ids kept whatever the review says")
    force_closed: tuple[str, ...] = Field((), description="Station ids closed whatever the review says")
    exclude_towns: tuple[str, ...] = Field((), description="Town codes where no new point may open")
    exclude_sites: tuple[str, ...] = Field((), description="Venue ids that may not host a new point")
    require_sites: tuple[str, ...] = Field(
        (), description="Venue ids that must host a new point (fixed in the optimizer; they count toward the budget)")
    solver: SolverChoice = Field("auto", description="Optimizer choice")
    time_limit: float = Field(60.0, gt=0, le=3600, description="Seconds for the optimizer")
    seed: int = Field(0, ge=0, le=2**31 - 1, description="Seed for tie-breaking; same inputs and seed give the same plan")
    # -- planning questions beyond maximal coverage (geoplan.optimize.fairness / .robust) --
    min_town_share: float | None = Field(
        None, ge=0, le=1, description="Every town's share of people within reach at least this (fairness floor)")
    fair: Literal["none", "maxmin"] = Field(
        "none", description="maxmin: the best worst-town share first, then the most people (lexicographic)")
    robust: RobustSpec | None = Field(None, description="Site for demand scenarios instead of today's demand only")
    alternatives: int = Field(
        0, ge=0, le=50, description="Also look for this many plans within alternatives_tolerance of the maximal-"
                                    "coverage optimum: how many new points are firm or swappable (0: off)")
    alternatives_tolerance: float = Field(0.005, ge=0, le=0.5, description="Relative tolerance of the alternatives")
    # -- feedback from running the network (geoplan.operations): plain inputs, computed there --------
    opinion_weight: float = Field(
        0.0, ge=0, le=100,
        description="Weigh people by their town's unresolved opinions per head when siting: weight = 1 + "
                    "opinion_weight × (town rate / mean rate); 0 is off")
    unresolved_opinions: dict[str, float] = Field(
        default_factory=dict,
        description="Unresolved opinions per town code (geoplan.operations.opinions.unresolved_by_town)")
    station_performance: dict[str, StationNote] = Field(
        default_factory=dict,
        description="Per station id how it works: the review closes redundant poor ones first and keeps redundant "
                    "ones that work well, saying so in the reason")

    @model_validator(mode="after")
    def _opinion_weight_counts_people(self) -> "Scenario":
        if self.opinion_weight > 0 and (self.min_town_share is not None or self.fair != "none"):
            raise ValueError("opinion_weight weighs the coverage objective; the town-share models (min_town_share, "
                             "fair='maxmin') count people per town — use one or the other")
        return self

    @field_validator("unresolved_opinions")
    @classmethod
    def _counts(cls, v: dict[str, float]) -> dict[str, float]:
        for k, n in v.items():
            if not (0 <= n <= 1e7):  # also rejects NaN
                raise ValueError(f"unresolved opinions of town {k!r} must be a number from 0 to 10,000,000")
        return v

    @field_validator("category_weights")
    @classmethod
    def _known_categories(cls, v: dict[str, float]) -> dict[str, float]:
        for k, w in v.items():
            if k not in SITE_CATEGORIES:
                raise ValueError(f"unknown venue category {k!r}; expected one of {', '.join(SITE_CATEGORIES)}")
            if not (0 <= w <= 1e4):  # also rejects NaN; bounded so weight × footfall never overflows
                raise ValueError(f"weight of {k!r} must be a number from 0 to 10,000")
        return v

    @field_validator("radius_m")
    @classmethod
    def _positive_radii(cls, v: dict[str, float]) -> dict[str, float]:
        for tier in TIERS:
            if tier not in v:
                raise ValueError(f"radius for tier {tier!r} is missing")
            if not (0 < v[tier] <= 50_000):
                raise ValueError(f"radius for tier {tier!r} must be in (0, 50000] metres")
        return v

    @model_validator(mode="after")
    def _one_objective(self) -> "Scenario":
        asked = [name for name, on in (("min_town_share", self.min_town_share is not None),
                                       ("fair='maxmin'", self.fair == "maxmin"), ("robust", self.robust is not None)) if on]
        if len(asked) > 1:
            raise ValueError(f"{' and '.join(asked)} are different siting objectives; choose one")
        return self

    @model_validator(mode="after")
    def _open_and_closed_disjoint(self) -> "Scenario":
        both = sorted(set(self.force_open) & set(self.force_closed))
        if both:
            raise ValueError(f"force_open and force_closed both name station(s) {', '.join(both)}")
        required = sorted(set(self.require_sites) & set(self.exclude_sites))
        if required:
            raise ValueError(f"require_sites and exclude_sites both name venue(s) {', '.join(required)}")
        if len(set(self.require_sites)) > self.budget:
            raise ValueError(f"require_sites names {len(set(self.require_sites))} venues but budget is {self.budget}")
        return self
