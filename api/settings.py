"""Service settings, read from the environment (prefix ``GEOPLAN_``) — never from code.

Tokens are a JSON object in ``GEOPLAN_TOKENS`` mapping each secret to who holds it::

    GEOPLAN_TOKENS='{"s3cret": {"role": "city_planner", "name": "alice"},
                     "t0ken": {"role": "county_planner", "county_code": "320902", "name": "bob"},
                     "p0rtal": {"role": "service", "name": "portal"}}'

``DATABASE_URL`` (or ``GEOPLAN_DATABASE_URL``) selects the database: an SQLite file
under ``data_dir`` by default, PostgreSQL with ``postgresql+psycopg://user:pw@host/db``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from geoplan.settings import BUNDLED_DATASET

Role = Literal["city_planner", "county_planner", "service"]


class TokenInfo(BaseModel):
    """Who holds a token: a role, a county for county planners, and a name for the audit log."""

    role: Role
    name: str = Field(min_length=1, max_length=200)
    county_code: str | None = None

    @model_validator(mode="after")
    def _county_for_county_planner(self) -> "TokenInfo":
        if self.role == "county_planner" and not self.county_code:
            raise ValueError(f"token of {self.name!r}: role county_planner needs a county_code")
        return self


class Settings(BaseSettings):
    """All knobs of the service (environment variables ``GEOPLAN_<NAME>``)."""

    model_config = SettingsConfigDict(env_prefix="GEOPLAN_", extra="ignore", populate_by_name=True)

    database_url: str | None = Field(
        None,
        validation_alias=AliasChoices("DATABASE_URL", "GEOPLAN_DATABASE_URL", "database_url"),
        description="SQLAlchemy URL; default: SQLite file <data_dir>/geoplan.db (WAL mode)",
    )
    data_dir: Path = Field(Path("var"), description="Where the default SQLite database lives")
    dataset_path: Path = Field(BUNDLED_DATASET, description="Dataset GeoPackage served and planned on")
    tokens: dict[str, TokenInfo] = Field(default_factory=dict, description="token → {role, name, county_code}")
    max_body_bytes: int = Field(1_000_000, gt=0, description="Largest accepted request body, bytes")
    solve_concurrency: int = Field(2, ge=1, le=64, description="Scenarios solved at the same time")
    solve_time_limit: float = Field(300.0, gt=0, description="Seconds a solve may take before it is failed")
    sync_budget_limit: int = Field(10, ge=0, description="Scenarios with budget <= this answer in the request")
    max_page_size: int = Field(5000, ge=1, description="Largest `limit` of a paginated read")

    @property
    def db_url(self) -> str:
        """The effective database URL."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'geoplan.db').as_posix()}"
