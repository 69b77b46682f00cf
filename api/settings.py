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
from typing import Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from geoplan.settings import BUNDLED_DATASET

Role = Literal["city_planner", "county_planner", "service"]


def mask(token: str) -> str:
    """A token as it may be shown: its length and at most its first two characters (``s3…(6 chars)``)."""
    return f"{token[:2] if len(token) >= 12 else ''}…({len(token)} chars)"


class TokenInfo(BaseModel):
    """Who holds a token: a role, a county for county planners, and a name for the audit log."""

    model_config = {"hide_input_in_errors": True}

    role: Role
    name: str = Field(min_length=1, max_length=200)
    county_code: str | None = None

    @model_validator(mode="after")
    def _county_for_county_planner(self) -> "TokenInfo":
        if self.role == "county_planner" and not self.county_code:
            raise ValueError(f"holder {self.name!r}: role county_planner needs a county_code")
        return self


class Settings(BaseSettings):
    """All knobs of the service (environment variables ``GEOPLAN_<NAME>``)."""

    # hide_input_in_errors: a validation error must never print GEOPLAN_TOKENS' secrets
    model_config = SettingsConfigDict(env_prefix="GEOPLAN_", extra="ignore", populate_by_name=True,
                                      hide_input_in_errors=True)

    database_url: str | None = Field(
        None,
        validation_alias=AliasChoices("DATABASE_URL", "GEOPLAN_DATABASE_URL", "database_url"),
        description="SQLAlchemy URL; default: SQLite file <data_dir>/geoplan.db (WAL mode)",
    )
    data_dir: Path = Field(Path("var"), description="Where the default SQLite database lives")
    dataset_path: Path = Field(BUNDLED_DATASET, description="Dataset GeoPackage served and planned on")
    tokens: dict[str, TokenInfo] = Field(default_factory=dict, repr=False,
                                         description="token → {role, name, county_code}")
    max_body_bytes: int = Field(1_000_000, gt=0, description="Largest accepted request body, bytes")
    solve_concurrency: int = Field(2, ge=1, le=64, description="Scenarios solved at the same time")
    solve_time_limit: float = Field(300.0, gt=0, description="Seconds a solve may take before it is failed")
    sync_budget_limit: int = Field(10, ge=0, description="Scenarios with budget <= this answer in the request")
    max_page_size: int = Field(5000, ge=1, description="Largest `limit` of a paginated read")
    # -- limits against abuse (SECURITY.md) --------------------------------------------------------
    max_jobs_per_user: int = Field(10, ge=1, description="Scenarios one user may have queued or running; more get 429")
    max_queue: int = Field(100, ge=1, description="Scenarios queued or running in all; more get 503")
    read_workers: int = Field(2, ge=1, le=32, description="Expensive reads (maps, assignments) computed at the "
                                                          "same time, each in a worker process")
    compute: Literal["process", "thread"] = Field(
        "process", description="Where solves, maps and assignments run: 'process' (worker processes that hold "
                               "the dataset; requests and /health never wait for their CPU) or 'thread' (in the "
                               "server process: less memory, but a solve slows every request)")
    cache_entries: int = Field(32, ge=1, description="Derived results (maps, reviews, subsets) kept per dataset version")
    rate_limit_per_minute: int = Field(600, ge=1, description="Requests one token (or one client without a "
                                                                "valid token) may make per minute; more get 429")
    rate_limit_burst: int = Field(60, ge=1, description="Requests allowed at once above the steady rate")
    max_json_depth: int = Field(32, ge=2, le=200, description="Deepest nesting of a JSON body; deeper gets 400")
    body_timeout: float = Field(30.0, gt=0, description="Seconds to receive a request body; slower gets 408")
    header_timeout: float = Field(10.0, gt=0, description="Seconds to receive request headers (geoplan serve)")
    public_base_url: str | None = Field(None, description="Base of the links the API writes (Location, pagination), "
                                                          "e.g. https://geoplan.example/api; unset: links are "
                                                          "root-relative. The Host header is never used.")
    trusted_hosts: list[str] | None = Field(None, description="If set, requests with another Host header get 400")
    retention_days: float | None = Field(90, ge=0, description="`geoplan db prune` (also run at start-up) deletes "
                                                               "finished scenarios older than this, except plans "
                                                               "saved by name; unset: keep everything")

    @field_validator("tokens", mode="before")
    @classmethod
    def _tokens_masked(cls, value: Any) -> Any:
        """Validate each token's entry with errors that name the holder and a masked token, never the secret."""
        if not isinstance(value, dict):
            raise ValueError("GEOPLAN_TOKENS must be a JSON object mapping each token to {role, name, county_code}")
        out = {}
        for i, (token, info) in enumerate(value.items()):
            try:
                out[token] = TokenInfo.model_validate(info)
            except ValidationError as exc:
                why = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'entry'}: {e['msg']}" for e in exc.errors())
                raise ValueError(f"GEOPLAN_TOKENS entry #{i + 1} (token {mask(str(token))}): {why}") from None
        return out

    @property
    def db_url(self) -> str:
        """The effective database URL."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'geoplan.db').as_posix()}"
