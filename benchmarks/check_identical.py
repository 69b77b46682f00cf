"""Check that a refactor leaves planning and assignment outputs unchanged.

Run once on the original code, then again after the change::

    python benchmarks/check_identical.py record /tmp/planning_baseline.pkl
    python benchmarks/check_identical.py check  /tmp/planning_baseline.pkl

It records, for the bundled dataset, the default plan (stations, towns, counties,
metrics except the wall-clock ``seconds`` / ``plan_seconds``, the metrics' key
order, the GeoJSON and the summary table), the default review and the default
assignment on that plan; and for ``--cases`` (default 200) random small scenarios
on the tiny test dataset (random budgets, radii, footfall and category weights,
closures on/off, force_open/closed, solver greedy/auto/exact, seeds), each plan,
its review, a comparison with the default plan and an assignment under random
rules. An ``InputError`` is recorded as its message (the same bad input must give
the same error). ``check`` compares every recorded output exactly (tables with
``check_exact``, geometries as WKB) and prints the number of outputs compared.
"""
from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import geoplan  # noqa: E402
from geoplan.assign import Rules, assign  # noqa: E402
from geoplan.datasets import SITE_CATEGORIES, Dataset  # noqa: E402
from geoplan.exceptions import InputError  # noqa: E402
from geoplan.scenario import Scenario, compare, plan, review  # noqa: E402

try:  # after the restructure the builders live in tests/helpers.py
    from helpers import make_tiny_layers  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - the original layout
    from conftest import make_tiny_layers  # type: ignore[no-redef]

_CLOCK = ("seconds", "plan_seconds")


def _frame(df: pd.DataFrame) -> pd.DataFrame:
    """A plain DataFrame with geometry as WKB hex (comparable exactly)."""
    out = pd.DataFrame(df).copy()
    geom = getattr(df, "_geometry_column_name", None)
    if geom is not None and geom in out.columns:
        out[geom] = [g.wkb_hex if g is not None else None for g in df.geometry.values]
        out.attrs["crs"] = str(df.crs)
    return out


def _metrics(m: Any) -> dict[str, Any]:
    d = dict(m.to_dict() if hasattr(m, "to_dict") else m)
    return {"keys": list(d), "values": {k: v for k, v in d.items() if k not in _CLOCK}}


def _plan_out(p: Any) -> dict[str, Any]:
    return {
        "stations": _frame(p.stations), "towns": _frame(p.towns), "counties": _frame(p.counties),
        "metrics": _metrics(p.metrics),
        "geojson": json.dumps(p.to_geojson(), sort_keys=True),
        "summary": _frame(p.summary_table()[lambda t: t["metric"] != "optimizer"]),
        "opened": list(p.opened["id"]), "closed": list(p.closed["id"]), "kept": list(p.kept["id"]),
    }


def _assign_out(a: Any) -> dict[str, Any]:
    d = a.to_dict()
    d["metrics"] = {k: v for k, v in d["metrics"].items() if k not in _CLOCK}
    return {
        "tables": {k: _frame(v) for k, v in a.tables().items() if k != "metrics"},
        "metrics": {k: v for k, v in a.metrics.items() if k not in _CLOCK},
        "metric_keys": list(a.metrics),
        "unmet": [str(s) for s in a.unmet],
        "dict": json.dumps(d, sort_keys=True, default=str),
        "links": _frame(a.links_geodataframe()),
        "stations": _frame(a.stations), "group_points": _frame(a.group_points),
    }


def _guard(fn: Any) -> Any:
    try:
        return fn()
    except InputError as exc:
        return {"InputError": str(exc)}


def _random_scenario(rng: np.random.Generator, i: int) -> dict[str, Any]:
    ids = [f"ST{j:02d}" for j in range(12)]
    kw: dict[str, Any] = {
        "name": f"case {i}",
        "budget": int(rng.integers(0, 12)),
        "radius_m": {t: float(rng.choice([600, 1000, 1500, 2000, 3000, 5000])) for t in ("home", "station", "point")},
        "footfall_weight": float(rng.choice([0.0, 0.0, 0.1, 0.5, 2.0])),
        "min_per_town": bool(rng.random() < 0.6),
        "allow_closures": bool(rng.random() < 0.7),
        "close_village_homes": bool(rng.random() < 0.7),
        "max_closure_loss": float(rng.choice([0.0, 0.0, 500.0, 3000.0])),
        "solver": str(rng.choice(["greedy", "auto", "auto", "exact"])),
        "seed": int(rng.integers(0, 5)),
        "time_limit": 20.0,
    }
    if rng.random() < 0.5:
        cats = rng.choice(SITE_CATEGORIES, size=int(rng.integers(1, 4)), replace=False)
        kw["category_weights"] = {str(c): float(rng.choice([0.0, 0.5, 2.0])) for c in cats}
    if rng.random() < 0.3:
        kw["closable_tiers"] = tuple(rng.choice(["home", "station", "point"], size=int(rng.integers(1, 3)), replace=False))
    picked = rng.choice(ids, size=4, replace=False)
    if rng.random() < 0.3:
        kw["force_open"] = tuple(str(x) for x in picked[: int(rng.integers(1, 3))])
    if rng.random() < 0.3:
        kw["force_closed"] = tuple(str(x) for x in picked[2:][: int(rng.integers(1, 3))])
    if rng.random() < 0.15:
        kw["exclude_towns"] = (str(rng.choice(["T1", "T2", "T3", "T4"])),)
    if rng.random() < 0.15:
        kw["exclude_sites"] = tuple(f"S{int(j):03d}" for j in rng.choice(60, size=5, replace=False))
    return kw


def _random_rules(rng: np.random.Generator) -> dict[str, Any]:
    return {
        "max_stations_per_group": int(rng.integers(1, 4)),
        "max_groups_per_station": None if rng.random() < 0.6 else int(rng.integers(1, 4)),
        "sector_discount": float(rng.choice([0.0, 0.5, 0.9])),
        "k_nearest": int(rng.integers(2, 20)),
        "max_link_distance_m": float(rng.choice([3000.0, 10000.0, 30000.0])),
        "conveners_per_station": (int(rng.integers(0, 2)), 2),
        "max_convened_per_deputy": int(rng.integers(1, 3)),
        "min_visitors_per_town": int(rng.integers(0, 3)),
        "committee_groups": int(rng.integers(1, 6)),
    }


def collect(cases: int, seed: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    t = time.perf_counter()
    ds = geoplan.load()
    p = plan(ds, Scenario())
    out["bundled/plan"] = _plan_out(p)
    out["bundled/review"] = _frame(review(ds, Scenario()))
    out["bundled/assign"] = _assign_out(assign(ds, plan=p))
    print(f"bundled dataset: {time.perf_counter() - t:.1f} s", file=sys.stderr)

    tiny = Dataset.from_layers(make_tiny_layers(), name="tiny")
    base = plan(tiny, Scenario(budget=4))
    out["tiny/base"] = _plan_out(base)
    rng = np.random.default_rng(seed)
    for i in range(cases):
        kw = _random_scenario(rng, i)
        rules = _random_rules(rng)
        out[f"tiny/{i}/scenario"] = kw
        try:
            sc = Scenario(**kw)
        except Exception as exc:  # pydantic ValidationError: recorded as its type
            out[f"tiny/{i}/plan"] = {"invalid": type(exc).__name__}
            continue
        res = _guard(lambda: plan(tiny, sc))
        out[f"tiny/{i}/plan"] = res if isinstance(res, dict) else _plan_out(res)
        out[f"tiny/{i}/review"] = _guard(lambda: _frame(review(tiny, sc)))
        if not isinstance(res, dict):
            c = compare(base, res)
            out[f"tiny/{i}/compare"] = {"metrics": _frame(c.metrics), "stations": _frame(c.stations),
                                        "towns": _frame(c.towns), "summary": c.summary()}
            out[f"tiny/{i}/assign"] = _guard(lambda: _assign_out(assign(tiny, plan=res, rules=Rules(**rules))))
        if i % 5 == 0:
            out[f"tiny/{i}/assign_noplan"] = _guard(lambda: _assign_out(assign(tiny, **rules)))
    print(f"total: {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return out


def _same(a: Any, b: Any, where: str, diffs: list[str]) -> int:
    """Compare recursively; return the number of leaf outputs compared."""
    if isinstance(a, pd.DataFrame):
        try:
            assert isinstance(b, pd.DataFrame)
            pd.testing.assert_frame_equal(a, b, check_exact=True)
            assert a.attrs == b.attrs
        except AssertionError as exc:
            diffs.append(f"{where}: {str(exc)[:400]}")
        return 1
    if isinstance(a, dict):
        if not isinstance(b, dict) or list(a) != list(b):
            diffs.append(f"{where}: keys {list(a)[:30]} != {list(b)[:30] if isinstance(b, dict) else type(b)}")
            return 1
        return sum(_same(a[k], b[k], f"{where}/{k}", diffs) for k in a)
    same = (a == b) or (isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b))
    if not same:
        diffs.append(f"{where}: {a!r} != {b!r}")
    return 1


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["record", "check"])
    ap.add_argument("path", nargs="?", default="/tmp/planning_baseline.pkl")
    ap.add_argument("--cases", type=int, default=200)
    ap.add_argument("--seed", type=int, default=20261201)
    args = ap.parse_args()
    out = collect(args.cases, args.seed)
    if args.mode == "record":
        Path(args.path).write_bytes(pickle.dumps(out))
        print(f"recorded {len(out)} outputs to {args.path}")
        return 0
    base = pickle.loads(Path(args.path).read_bytes())
    diffs: list[str] = []
    n = _same(base, out, "", diffs)
    cases = sum(1 for k in base if k.endswith("/scenario"))
    plans = sum(1 for k, v in base.items() if k.endswith("/plan") and "stations" in v)
    errors = sum(1 for k, v in base.items() if k.endswith("/plan") and "InputError" in v)
    print(f"compared {n} leaf outputs over {len(base)} recorded items: {cases} random scenarios "
          f"({plans - 1} plans, {errors} InputErrors) + the bundled default plan, review and assignment")
    for d in diffs[:40]:
        print("DIFF", d)
    print("IDENTICAL" if not diffs else f"{len(diffs)} DIFFERENCES")
    return 0 if not diffs else 1


if __name__ == "__main__":
    raise SystemExit(main())
