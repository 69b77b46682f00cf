"""The API takes the new Scenario fields: a fair and a robust scenario solved over HTTP."""
from __future__ import annotations

from pathlib import Path

from api_helpers import CITY, assert_problem, make_settings
from fastapi.testclient import TestClient

from api.main import create_app


def test_fair_and_robust_scenarios_over_http(dataset_path: Path, tmp_path: Path) -> None:
    with TestClient(create_app(make_settings(dataset_path, tmp_path / "api.db"))) as c:
        body = {"scenario": {"name": "fair", "budget": 3, "min_per_town": False, "min_town_share": 0.7}}
        r = c.post("/scenarios", headers=CITY, json=body)
        assert r.status_code == 201 and r.json()["status"] == "done", r.text
        towns = c.get(f"/scenarios/{r.json()['id']}/summary", headers=CITY).json()["towns"]
        assert min(t["share_after"] for t in towns if t["population"] > 0) >= 0.7 - 1e-9
        body = {"scenario": {"name": "robust", "budget": 3, "robust": {"k": 3, "objective": "worst"}}}
        r = c.post("/scenarios", headers=CITY, json=body)
        assert r.status_code == 201 and r.json()["status"] == "done", r.text
        assert "max-min over scenarios" in c.get(f"/scenarios/{r.json()['id']}/summary",
                                                 headers=CITY).json()["metrics"]["solver"]
        bad = c.post("/scenarios", headers=CITY, json={"scenario": {"budget": 3, "fair": "maxmin",
                                                                    "min_town_share": 0.5}})
        assert_problem(bad, 422)
        assert "choose one" in bad.text
