"""How big a city's synthetic station network and congresses are (:class:`Profile`).

The only published figures are Yancheng's (its report on the deputy stations: 600 liaison stations
of which 261 duplicated others' reach, 102 village-level homes, 11,500+ deputies at five levels).
Another city's profile scales them: per village-level unit for the stations, per resident for the
deputies above the township congresses. With Yancheng's own counts the scaling gives back exactly
the report's figures, so the Yancheng build uses the same rule as every other city.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

#: The reference the ratios come from: Yancheng's village-level units and 2020 census population.
REFERENCE_VILLAGES: int = 2494
REFERENCE_POPULATION: int = 6_709_629


class Profile(BaseModel):
    """Sizes of the synthetic network before the review, and of the upper congresses.

    Examples
    --------
    >>> Profile.scaled(2494, 6_709_629).n_liaison
    600
    >>> Profile.scaled(1782, 4_599_360).n_duplicate_liaison
    186
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    n_liaison: int = Field(600, ge=0, description="liaison stations (tier station)")
    n_duplicate_liaison: int = Field(261, ge=0, description="of which placed to duplicate another's reach")
    n_village_homes: int = Field(102, ge=0, description="village-level homes")
    n_contact_points: int = Field(150, ge=0, description="contact points at venues")
    sector_share: float = Field(0.12, ge=0, le=1, description="share of stations and points themed by a sector")
    upper_deputies: dict[str, int] = Field(
        default_factory=lambda: {"national": 15, "provincial": 70, "city": 520, "county": 2900},
        description="deputies per level above the township congresses, city-wide")

    @classmethod
    def scaled(cls, n_villages: int, population: int) -> Profile:
        """The reference profile scaled to a city with ``n_villages`` units and ``population`` people."""
        ref = cls()
        v = n_villages / REFERENCE_VILLAGES
        p = population / REFERENCE_POPULATION
        n_liaison = round(ref.n_liaison * v)
        return cls(
            n_liaison=n_liaison,
            n_duplicate_liaison=min(round(ref.n_duplicate_liaison * v), n_liaison),
            n_village_homes=round(ref.n_village_homes * v),
            n_contact_points=round(ref.n_contact_points * v),
            sector_share=ref.sector_share,
            upper_deputies={k: max(1, round(n * p)) for k, n in ref.upper_deputies.items()},
        )
