"""Property-based tests of the API against its own OpenAPI schema: no request may produce a 5xx.

Two phases: every operation on its own (examples from the schema), and a stateful phase that
follows the OpenAPI links from a submitted scenario to its reads, cancel and delete (on
SQLite here, once on PostgreSQL in test_api_postgres.py). Runtimes are bounded by small example
counts and step counts.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from api_helpers import STATEFUL, workflow
from helpers import make_tiny_layers
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from api.main import create_app
from api.settings import Settings
from geoplan.datasets import Dataset

pytestmark = pytest.mark.slow

_TMP = Path(__import__("tempfile").mkdtemp(prefix="geoplan-schemathesis-"))
_APP = create_app(Settings(
    database_url=f"sqlite:///{_TMP / 'api.db'}",
    dataset_path=Dataset.from_layers(make_tiny_layers(), name="tiny").save(_TMP / "tiny.gpkg"),
    tokens={"city": {"role": "city_planner", "name": "alice"}, "portal": {"role": "service", "name": "portal"}},
    sync_budget_limit=3, solve_time_limit=20, max_body_bytes=50_000,
    # limits far above what the generated cases send: this tests the schema, not the limits
    max_jobs_per_user=10_000, max_queue=10_000, rate_limit_per_minute=1_000_000, rate_limit_burst=100_000,
))
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)
CITY = {"Authorization": "Bearer city"}


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_as_city_planner(case: schemathesis.Case) -> None:
    case.call_and_validate(headers=CITY, checks=[not_a_server_error])


@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_as_service_or_anonymous(case: schemathesis.Case) -> None:
    for headers in ({"Authorization": "Bearer portal"}, {}):
        response = case.call(headers=headers)
        assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:500])


def test_stateful_links_from_a_scenario_never_give_a_server_error() -> None:
    links = schema.raw_schema["paths"]["/scenarios"]["post"]["responses"]["201"]["links"]
    assert {"get_status", "get_plan", "get_assignments", "post_cancel", "delete_status"} <= set(links)
    seen: set[str] = set()
    for pool in (_APP.state.ctx.solver, _APP.state.ctx.renderer):
        pool.warm()  # a worker with the dataset loaded, so the first solve does not wait for one
    workflow(schema, CITY, seen).run(settings=STATEFUL)
    assert len(seen) >= 3, seen  # it did follow the links to several reads and writes
