"""Package-private helpers of :mod:`geoplan.planning`: number formatting in reasons,
progress reporting and canonical table dtypes (shared by siting, review and results).
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

#: ``progress(fraction, message)`` callback of :func:`geoplan.planning.plan`.
Progress = Callable[[float, str], None]

# Columns kept as Python strings (or None) so a saved and re-loaded table compares equal.
STR_COLUMNS = ("id", "name", "tier", "level", "town_code", "sector", "status", "site_id", "category",
               "decision", "reason", "code", "county_code")


def people(x: float) -> str:
    """People / visitors with thousands separators ("4,210")."""
    return f"{int(round(float(x))):,}"


def km(m: float) -> str:
    """A distance in metres as kilometres with one decimal, or "no station" when infinite."""
    return "no station" if not np.isfinite(m) else f"{m / 1000.0:.1f} km"


def report(progress: Progress | None, fraction: float, message: str) -> None:
    """Call ``progress`` if given."""
    if progress is not None:
        progress(float(fraction), message)


def canon_table(df: pd.DataFrame) -> pd.DataFrame:
    """Canonical dtypes so that a saved and re-loaded table compares equal."""
    df = df.reset_index(drop=True).copy()
    for c in df.columns:
        if c == "geometry":
            continue
        if c in STR_COLUMNS:
            s = df[c]
            isna = s.isna().to_numpy()
            # numpy's stubs reject None as an object scalar for np.where
            txt = np.where(isna, None, s.astype(object).astype(str))  # type: ignore[call-overload]
            df[c] = pd.Series(txt, dtype=object, index=df.index)
        elif c.startswith("stations_"):
            df[c] = df[c].astype(np.int64)
        else:
            df[c] = pd.to_numeric(df[c]).astype(np.float64)
    return df
