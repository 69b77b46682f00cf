"""The assignment rules' parameters: :class:`Rules`, a frozen pydantic model like
:class:`~geoplan.planning.Scenario`, and the names of the rules a shortfall can refer to.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from geoplan.datasets import DEPUTY_LEVELS
from geoplan.exceptions import InputError

__all__ = ["Rules", "RULES_CHECKED"]

#: Names of the rules a :class:`~geoplan.assign.Shortfall` can refer to.
RULES_CHECKED: dict[str, str] = {
    "station_has_group": "every active station is linked to at least one deputy group",
    "group_capacity": "a group links to at most max_stations_per_group stations",
    "group_has_station": "every deputy group is linked to at least one station",
    "deputy_enters_station": "every deputy enters a station through their group",
    "industry_station_sector": "industry stations go to groups rich in their sector",
    "station_conveners": "each station has conveners_per_station[0]..[1] deputy conveners",
    "town_has_visitor": "every town is visited by a national, provincial or city deputy",
    "committee_groups": "each special committee is linked to committee_groups deputy groups",
    "committee_field": "a committee's groups are matched by sector to its field",
    "committee_distinct_groups": "no group is linked to more than one committee",
}

_AT_LEAST_1 = ("max_stations_per_group", "k_nearest", "max_convened_per_deputy", "committee_groups")
_AT_LEAST_0 = ("contacts_per_visitor", "min_visitors_per_town")
_METRES = ("convener_level_penalty_m", "visit_crowding_m", "underserved_weight_m")
_LEVELS = ("convener_levels", "individual_visitor_levels", "group_visitor_levels")


def _bad(name: str, rule: str, value: Any) -> ValueError:
    """The error text of one broken rule ("'k_nearest' must be an integer >= 1, got 0")."""
    return ValueError(f"'{name}' {rule}, got {value!r}")


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _number(name: str, v: Any, rule: str) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        raise _bad(name, rule, v) from None


class Rules(BaseModel):
    """Parameters of the assignment rules (defaults follow Yancheng's practice).

    A frozen pydantic model (like :class:`~geoplan.planning.Scenario`): JSON
    round-trips with ``model_dump_json`` / ``model_validate_json``. A broken rule
    raises :class:`~geoplan.exceptions.InputError` naming the field, the rule and
    the value (``rules: 'sector_discount' must be in [0, 1), got 1.5``).

    Parameters
    ----------
    max_stations_per_group : int
        Upper bound of stations linked to one group (each group gets at least 1). A group
        also takes no more stations than its deputies can convene
        (``deputies × max_convened_per_deputy // conveners_per_station[0]``).
    max_groups_per_station : int or None
        Upper bound of groups linked to one station (None: no bound).
    sector_discount : float
        In [0, 1): the cost of a link to an industry station is
        ``distance × (1 − sector_discount × sector_share)``.
    sector_match_share : float
        A group is "rich" in a sector (a sector match) if the sector is the group's own
        or at least this share of its deputies work in it.
    k_nearest : int
        Candidate arcs: the k nearest stations of each group, the k nearest groups of
        each station, and the k nearest sector-rich groups of each industry station.
    max_link_distance_m : float
        No group is linked to a station farther than this from its home town.
    conveners_per_station : (int, int)
        Minimum and maximum deputy conveners per station (filled up to the maximum
        when the linked groups have free deputies).
    max_convened_per_deputy : int
        A deputy convenes at most this many stations.
    convener_levels : tuple of str
        Deputy levels preferred as conveners (others cost ``convener_level_penalty_m`` more).
    convener_level_penalty_m : float
        Extra cost, metres, of a convener from another level.
    individual_visitor_levels, group_visitor_levels : tuple of str
        Deputies who visit a town one by one (national) and as a group (provincial, city).
        A comma-separated string is read as a tuple.
    contacts_per_visitor : int
        Residents each visiting deputy keeps fixed contact with.
    min_visitors_per_town : int
        Visiting units (a deputy or a group) every town should get before any town gets more.
    visit_crowding_m : float
        Extra cost, metres, of each visiting unit a town already has (spreads the rest).
    underserved_weight_m : float
        Extra cost, metres, of visiting the best-served town rather than the worst-served.
    committee_groups : int
        Groups per special committee ("1 + 5 + N").

    Examples
    --------
    >>> r = Rules(max_stations_per_group=2, convener_levels="county,town")
    >>> r.convener_levels, r.conveners_per_station
    (('county', 'town'), (1, 2))
    >>> Rules.with_overrides(r, committee_groups=3).committee_groups
    3
    >>> Rules(sector_discount=1.5)
    Traceback (most recent call last):
    ...
    geoplan.exceptions.InputError: rules: 'sector_discount' must be in [0, 1), got 1.5
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_stations_per_group: int = 3
    max_groups_per_station: int | None = None
    sector_discount: float = 0.5
    sector_match_share: float = 0.3
    k_nearest: int = 20
    max_link_distance_m: float = 30_000.0
    conveners_per_station: tuple[int, int] = (1, 2)
    max_convened_per_deputy: int = 1
    convener_levels: tuple[str, ...] = ("county", "town")
    convener_level_penalty_m: float = 5_000.0
    individual_visitor_levels: tuple[str, ...] = ("national",)
    group_visitor_levels: tuple[str, ...] = ("provincial", "city")
    contacts_per_visitor: int = 5
    min_visitors_per_town: int = 1
    visit_crowding_m: float = 20_000.0
    underserved_weight_m: float = 50_000.0
    committee_groups: int = 5

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise _input_error(exc) from None

    # -- validation (each check as before the move to pydantic, same messages) --
    @field_validator(*_AT_LEAST_1, mode="before")
    @classmethod
    def _int_at_least_1(cls, v: Any, info: Any) -> Any:
        if not _is_int(v) or v < 1:
            raise _bad(info.field_name, "must be an integer >= 1", v)
        return int(v)

    @field_validator(*_AT_LEAST_0, mode="before")
    @classmethod
    def _int_at_least_0(cls, v: Any, info: Any) -> Any:
        if not _is_int(v) or v < 0:
            raise _bad(info.field_name, "must be an integer >= 0", v)
        return int(v)

    @field_validator("max_groups_per_station", mode="before")
    @classmethod
    def _optional_bound(cls, v: Any) -> Any:
        if v is not None and (not _is_int(v) or v < 1):
            raise _bad("max_groups_per_station", "must be None or an integer >= 1", v)
        return None if v is None else int(v)

    @field_validator("sector_discount", mode="before")
    @classmethod
    def _discount(cls, v: Any) -> Any:
        if not (0.0 <= _number("sector_discount", v, "must be in [0, 1)") < 1.0):
            raise _bad("sector_discount", "must be in [0, 1)", v)
        return v

    @field_validator("sector_match_share", mode="before")
    @classmethod
    def _match_share(cls, v: Any) -> Any:
        if not (0.0 < _number("sector_match_share", v, "must be in (0, 1]") <= 1.0):
            raise _bad("sector_match_share", "must be in (0, 1]", v)
        return v

    @field_validator("max_link_distance_m", mode="before")
    @classmethod
    def _link_distance(cls, v: Any) -> Any:
        rule = "must be a finite number of metres > 0"
        f = _number("max_link_distance_m", v, rule)
        if not (f > 0 and math.isfinite(f)):
            raise _bad("max_link_distance_m", rule, v)
        return v

    @field_validator(*_METRES, mode="before")
    @classmethod
    def _metres(cls, v: Any, info: Any) -> Any:
        rule = "must be a finite number of metres >= 0"
        f = _number(info.field_name, v, rule)
        if not (f >= 0 and math.isfinite(f)):
            raise _bad(info.field_name, rule, v)
        return v

    @field_validator("conveners_per_station", mode="before")
    @classmethod
    def _conveners(cls, v: Any) -> Any:
        cps = _as_tuple(v)
        if len(cps) != 2 or not all(_is_int(c) for c in cps) or not (0 <= cps[0] <= cps[1]) or cps[1] < 1:
            raise _bad("conveners_per_station", "must be (min, max) integers with 0 <= min <= max, max >= 1", cps)
        return tuple(int(c) for c in cps)

    @field_validator(*_LEVELS, mode="before")
    @classmethod
    def _levels(cls, v: Any, info: Any) -> Any:
        levels = _as_tuple(v)
        if any(lv not in DEPUTY_LEVELS for lv in levels):
            raise _bad(info.field_name, f"must list deputy levels among {', '.join(DEPUTY_LEVELS)}", levels)
        return levels

    @model_validator(mode="after")
    def _visitor_levels_disjoint(self) -> "Rules":
        if set(self.individual_visitor_levels) & set(self.group_visitor_levels):
            raise _bad("group_visitor_levels", "must not repeat a level of individual_visitor_levels",
                       self.group_visitor_levels)
        return self

    @classmethod
    def with_overrides(cls, rules: "Rules | None" = None, **overrides: Any) -> "Rules":
        """Return ``rules`` (or the defaults) with some fields replaced, naming unknown ones.

        Raises
        ------
        InputError
            ``rules`` is not a :class:`Rules`, an override names no rule, or breaks one.
        """
        base = rules if rules is not None else cls()
        if not isinstance(base, Rules):
            raise InputError(f"assign: 'rules' must be a geoplan.assign.Rules, got {type(base).__name__}")
        names = list(cls.model_fields)
        unknown = sorted(set(overrides) - set(names))
        if unknown:
            raise InputError(f"assign: unknown rule(s) {', '.join(unknown)}; expected one of {', '.join(names)}")
        return cls(**(base.model_dump() | overrides))


def _as_tuple(v: Any) -> tuple[Any, ...]:
    """A tuple from a tuple, a list or a comma-separated string ("county,town")."""
    if isinstance(v, str):
        return tuple(s.strip() for s in v.split(",") if s.strip())
    try:
        return tuple(v)
    except TypeError:
        return (v,)


def _input_error(exc: ValidationError) -> InputError:
    """The first broken rule of a pydantic error as an :class:`InputError` ("rules: '<field>' <rule>, got <value>")."""
    err = exc.errors()[0]
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, ValueError):
        return InputError(f"rules: {cause}")
    name = ".".join(str(p) for p in err.get("loc", ())) or "rules"
    return InputError(f"rules: '{name}' {err['msg'].lower()}, got {err.get('input')!r}")
