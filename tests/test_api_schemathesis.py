"""Property-based tests of the API against its own OpenAPI schema: no request may produce a 5xx."""
from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from api.main import create_app
from api.settings import Settings
from helpers import make_tiny_layers
from geoplan.datasets import Dataset

pytestmark = pytest.mark.slow

_TMP = Path(__import__("tempfile").mkdtemp(prefix="geoplan-schemathesis-"))
_APP = create_app(Settings(
    database_url=f"sqlite:///{_TMP / 'api.db'}",
    dataset_path=Dataset.from_layers(make_tiny_layers(), name="tiny").save(_TMP / "tiny.gpkg"),
    tokens={"city": {"role": "city_planner", "name": "alice"}, "portal": {"role": "service", "name": "portal"}},
    sync_budget_limit=3, solve_time_limit=20, max_body_bytes=50_000,
))
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@schema.parametrize()
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_as_city_planner(case: schemathesis.Case) -> None:
    case.call_and_validate(headers={"Authorization": "Bearer city"}, checks=[not_a_server_error])


@schema.parametrize()
@settings(max_examples=5, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_as_service_or_anonymous(case: schemathesis.Case) -> None:
    for headers in ({"Authorization": "Bearer portal"}, {}):
        response = case.call(headers=headers)
        assert response.status_code < 500, (case.method, case.path, response.status_code, response.text[:500])
