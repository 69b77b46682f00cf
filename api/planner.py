"""The one door to :mod:`geoplan`'s planning functions, and turning a ``Plan`` into stored bytes/JSON."""
from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from api.problems import ApiProblem
from geoplan.scenario import Plan


def geoplan_function(module: str, name: str) -> Callable[..., Any]:
    """Import ``geoplan.<module>.<name>``; 503 if this build lacks it."""
    import importlib

    try:
        return getattr(importlib.import_module(f"geoplan.{module}"), name)
    except (ImportError, AttributeError) as exc:
        raise ApiProblem(503, f"geoplan.{module}.{name} is not available in this build ({exc})",
                         kind="unavailable") from exc


def jsonable(value: Any) -> Any:
    """numpy/pandas scalars → Python; NaN/inf → None; containers recursively."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray, pd.Series)):
        return [jsonable(v) for v in list(value)]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else None
    if value is None or isinstance(value, (int, str)):
        return value
    if value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """A (Geo)DataFrame's rows as JSON-safe dicts, without geometry."""
    frame = pd.DataFrame(df).drop(columns=[c for c in df.columns if str(c) == "geometry" or
                                           getattr(df, "_geometry_column_name", None) == c], errors="ignore")
    return jsonable(frame.to_dict(orient="records"))


#: A stored plan: ``(GeoPackage bytes, summary JSON, stations GeoJSON)``.
PlanResult = tuple[bytes, dict[str, Any], dict[str, Any]]


def serialise(plan: Plan) -> PlanResult:
    """``(GeoPackage bytes from Plan.save, summary JSON, stations GeoJSON)`` of a plan."""
    with tempfile.TemporaryDirectory(prefix="geoplan-plan-") as tmp:
        path = Path(tmp) / "plan.gpkg"
        plan.save(path)
        gpkg = path.read_bytes()
    summary = {
        "scenario": json.loads(plan.scenario.model_dump_json()),
        "dataset": plan.dataset_name,
        "metrics": jsonable(plan.metrics.to_dict()),
        "counties": records(plan.counties),
        "towns": records(plan.towns),
    }
    return gpkg, summary, plan.to_geojson()  # already JSON-safe


#: Keys of ``Assignment.to_dict`` that are not tables.
_NOT_TABLES = ("rules", "metrics", "unmet")


def assignment_json(a: Any) -> dict[str, Any]:
    """``Assignment.to_dict`` as the API shows it: the tables under ``tables``, then rules, unmet, metrics."""
    d = jsonable(a.to_dict())  # NaN/inf → null
    return {"tables": {k: v for k, v in d.items() if k not in _NOT_TABLES},
            "rules": d["rules"], "unmet": d["unmet"], "metrics": d["metrics"]}


def load_plan(gpkg: bytes) -> Plan:
    """A ``geoplan.scenario.Plan`` back from its stored GeoPackage bytes."""
    with tempfile.TemporaryDirectory(prefix="geoplan-plan-") as tmp:
        path = Path(tmp) / "plan.gpkg"
        path.write_bytes(gpkg)
        return Plan.load(path)
