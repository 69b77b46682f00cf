"""The assignment's result: :class:`Assignment` (tables, shortfalls, metrics; CSV and
GeoPackage output) and :class:`Shortfall` (one rule that could not hold).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geoplan.assign.rules import Rules
from geoplan.datasets import write_gpkg
from geoplan.settings import STORAGE_CRS

__all__ = ["Assignment", "Shortfall", "GPKG_LAYERS"]

#: GeoPackage layers written by :meth:`Assignment.save`.
GPKG_LAYERS: tuple[str, ...] = (
    "assign_group_stations",
    "assign_conveners",
    "assign_deputy_towns",
    "assign_committee_groups",
    "assign_town_visitors",
    "assign_unmet",
    "assign_metrics",
    "assign_group_links",
)


@dataclass(frozen=True)
class Shortfall:
    """One rule that could not hold: which rule, where (an id or 'all'), by how much."""

    rule: str
    where: str
    amount: float
    detail: str

    def __str__(self) -> str:
        return f"{self.rule} at {self.where}: short by {self.amount:g} ({self.detail})"


@dataclass(frozen=True, eq=False)
class Assignment:
    """The assignment tables, the unmet rules and summary metrics.

    Attributes
    ----------
    group_stations : DataFrame
        group_id, station_id, distance_m, sector, sector_share, sector_match,
        group_town_code, station_town_code — one row per link.
    conveners : DataFrame
        station_id, slot, role ('convener' | 'liaison_officer'), deputy_id, group_id,
        level, distance_m — the liaison officer row has no deputy (staff, to be appointed).
    deputy_towns : DataFrame
        deputy_id, level, group_id, unit ('individual' | 'group'), town_code,
        distance_m, contacts.
    committee_groups : DataFrame
        committee_id, group_id, sector_share, sector_match, group_sector, field_stations.
    town_visitors : DataFrame
        town_code, name, underserved (0 best served … 1 worst), visiting_units, visiting_deputies.
    unmet : tuple of Shortfall
    metrics : dict
        Numbers only (see :func:`assign`).
    stations, group_points : GeoDataFrame
        WGS84 points of the stations assigned and of each group's home town (for maps).
    rules : Rules
    """

    group_stations: pd.DataFrame
    conveners: pd.DataFrame
    deputy_towns: pd.DataFrame
    committee_groups: pd.DataFrame
    town_visitors: pd.DataFrame
    unmet: tuple[Shortfall, ...]
    metrics: dict[str, float]
    stations: gpd.GeoDataFrame
    group_points: gpd.GeoDataFrame
    rules: Rules = field(default_factory=Rules)

    # -- views -------------------------------------------------------------
    def unmet_table(self) -> pd.DataFrame:
        """The shortfalls as a DataFrame (rule, where, amount, detail)."""
        return pd.DataFrame(
            [asdict(s) for s in self.unmet], columns=["rule", "where", "amount", "detail"]
        ).astype({"rule": object, "where": object, "amount": float, "detail": object})

    def metrics_table(self) -> pd.DataFrame:
        """The metrics as a two-column DataFrame (metric, value), in a stable order."""
        return pd.DataFrame({"metric": list(self.metrics), "value": [float(v) for v in self.metrics.values()]})

    def links_geodataframe(self) -> gpd.GeoDataFrame:
        """Each group ↔ station link as a WGS84 LineString from the group's home town to the station."""
        gs = self.group_stations
        gp = self.group_points.set_index("id").geometry
        sp = self.stations.set_index("id").geometry
        a = shapely.get_coordinates(gp.reindex(gs["group_id"]).values).reshape(-1, 2)
        b = shapely.get_coordinates(sp.reindex(gs["station_id"]).values).reshape(-1, 2)
        lines = (np.asarray(shapely.linestrings(np.stack([a, b], axis=1)), dtype=object) if len(gs)
                 else np.array([], dtype=object))
        return gpd.GeoDataFrame(gs.copy(), geometry=list(lines), crs=STORAGE_CRS)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name (the CSV files / GeoPackage layers without prefix)."""
        return {
            "group_stations": self.group_stations,
            "conveners": self.conveners,
            "deputy_towns": self.deputy_towns,
            "committee_groups": self.committee_groups,
            "town_visitors": self.town_visitors,
            "unmet": self.unmet_table(),
            "metrics": self.metrics_table(),
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: rules, metrics, unmet and every table as records."""
        out: dict[str, Any] = {"rules": self.rules.model_dump(), "metrics": dict(self.metrics)}
        for name, df in self.tables().items():
            if name != "metrics":
                out[name] = _records(df)
        return out

    # -- output ------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write the tables as layers ``assign_*`` of a GeoPackage, plus ``assign_group_links``.

        An existing GeoPackage keeps its other layers (e.g. a dataset or a plan);
        earlier ``assign_*`` layers are replaced.
        """
        frames = {f"assign_{name}": _for_ogr(df) for name, df in self.tables().items()}
        frames["assign_group_links"] = _for_ogr(self.links_geodataframe())
        # atomic: `geoplan demo` writes these next to the plan layers in plan.gpkg
        return write_gpkg(path, frames, keep_other_layers=True)

    def to_csv(self, directory: str | Path) -> list[Path]:
        """Write each table to ``<directory>/<name>.csv`` (UTF-8); return the paths."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, df in self.tables().items():
            p = directory / f"{name}.csv"
            df.to_csv(p, index=False, encoding="utf-8", lineterminator="\n")
            paths.append(p)
        return paths

    def report(self) -> str:
        """Plain-text metrics and unmet rules, for the command line."""
        lines = [f"{k:<38} {_fmt(v)}" for k, v in self.metrics.items()]
        return "\n".join(lines + shortfall_lines(self.unmet))


def shortfall_lines(unmet: Sequence[Shortfall]) -> list[str]:
    """Report lines for unmet rules: one per rule with its count and a first example, or "all rules met".

    Shared by every planner of the network that reports shortfalls (assignment, reception rota, topic visits).

    Examples
    --------
    >>> shortfall_lines([Shortfall("min_conveners", "ST01", 1, "no deputy linked")])
    ['unmet rules (1):', '  min_conveners: 1 place(s), e.g. min_conveners at ST01: short by 1 (no deputy linked)']
    """
    if not unmet:
        return ["all rules met"]
    by_rule = pd.Series([u.rule for u in unmet]).value_counts(sort=False)
    lines = [f"unmet rules ({len(unmet)}):"]
    for rule, n in by_rule.items():
        first = next(u for u in unmet if u.rule == rule)
        lines.append(f"  {rule}: {n} place(s), e.g. {first}")
    return lines


def _fmt(v: float) -> str:
    return f"{int(v):,}" if float(v).is_integer() and abs(v) < 1e15 else f"{v:,.3f}"


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    clean = df.astype(object).where(df.notna(), None)
    return [{str(k): (v.item() if isinstance(v, np.generic) else v) for k, v in r.items()}
            for r in clean.to_dict("records")]


def _for_ogr(df: pd.DataFrame) -> pd.DataFrame:
    """Make columns OGR-friendly: bools as int, all-None object columns as strings."""
    df = df.copy()
    for c in df.columns:
        if c == getattr(df, "_geometry_column_name", None):
            continue
        if df[c].dtype == bool:
            df[c] = df[c].astype("int32")
        elif df[c].dtype == object or str(df[c].dtype) in ("string", "str"):
            df[c] = df[c].astype(object).where(df[c].notna(), None)
            if len(df) == 0 or df[c].isna().all():
                df[c] = df[c].astype("string").astype(object)
    return df
