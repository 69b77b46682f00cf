"""What the opinion and standards modules share: vocabularies, quarters, row errors, table readers.

Package-private: the public names live in :mod:`~geoplan.operations.opinions`,
:mod:`~geoplan.operations.routing`, :mod:`~geoplan.operations.standards` and friends.
"""
from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from geoplan.exceptions import InputError
from geoplan.operations.workdays import WorkdayCalendar

Category = Literal["transport", "environment", "medical", "education", "elderly", "agriculture",
                   "social_security", "public_safety", "housing", "employment"]
Level = Literal["town", "county", "city", "policy"]
Status = Literal["received", "assigned", "in_progress", "answered", "closed", "escalated"]
Channel = Literal["station_visit", "qr_portal", "reception_day", "hotline", "deputy"]

#: Category → Chinese label (the order is the order of every table and chart).
CATEGORIES: dict[str, str] = {
    "transport": "道路交通", "environment": "水利环境", "medical": "医疗卫生", "education": "教育",
    "elderly": "养老服务", "agriculture": "农业农村", "social_security": "社会保障",
    "public_safety": "公共安全", "housing": "住房城建", "employment": "就业创业",
}
#: Level → Chinese label; the order is the escalation ladder.
LEVELS: dict[str, str] = {"town": "镇（街道）可解决", "county": "县（市、区）可解决", "city": "市级事项",
                          "policy": "体制机制和政策"}
STATUSES: dict[str, str] = {"received": "已受理", "assigned": "已交办", "in_progress": "办理中",
                            "answered": "已答复", "closed": "已办结", "escalated": "已上报"}
CHANNELS: dict[str, str] = {"station_visit": "站点来访", "qr_portal": "扫码（门户）", "reception_day": "接待日",
                            "hotline": "热线", "deputy": "代表转交"}
#: Statuses in which the opinion still waits for an answer (counted as "unresolved").
OPEN_STATUSES: frozenset[str] = frozenset(("received", "assigned", "in_progress", "escalated"))


def vocab_value(value: str, vocab: Mapping[str, str]) -> str | None:
    """The vocabulary key of ``value`` given as the key or as its Chinese label; None if neither."""
    v = value.strip()
    if v in vocab:
        return v
    for key, label in vocab.items():
        if v == label:
            return key
    return None


def quarter_of(day: dt.date) -> str:
    """``"2026Q3"`` for a day in July–September 2026.

    Examples
    --------
    >>> quarter_of(dt.date(2026, 8, 1))
    '2026Q3'
    """
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


def quarter_bounds(quarter: str) -> tuple[dt.date, dt.date]:
    """First and last day of ``"YYYYQn"``; :class:`InputError` for anything else."""
    q = quarter.strip().upper()
    if len(q) != 6 or not q[:4].isdigit() or q[4] != "Q" or q[5] not in "1234" or not 1900 <= int(q[:4]) <= 2100:
        raise InputError(f"quarter {quarter!r}: write it as YYYYQn with a year from 1900 to 2100, e.g. 2026Q3")
    year, n = int(q[:4]), int(q[5])
    start = dt.date(year, 3 * n - 2, 1)
    end = (dt.date(year + (n == 4), (3 * n) % 12 + 1, 1)) - dt.timedelta(days=1)
    return start, end


@dataclass(frozen=True)
class RowProblem:
    """One bad row of an imported file: which file, row, field and rule (the value only if harmless)."""

    file: str
    row: int
    field: str
    rule: str

    def __str__(self) -> str:
        return f"{self.file} row {self.row}, field {self.field}: {self.rule}"


class ImportRowsError(InputError):
    """An import refused as a whole because of one or more bad rows (nothing was imported)."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = list(problems)
        head = "; ".join(str(p) for p in self.problems[:8])
        more = f" (and {len(self.problems) - 8} more)" if len(self.problems) > 8 else ""
        super().__init__(f"nothing imported: {len(self.problems)} bad row(s): {head}{more}")


def read_table(source: str | Path | bytes, name: str | None = None) -> tuple[pd.DataFrame, str]:
    """Read a CSV or Excel (.xlsx) file into an all-string frame; returns (frame, file name).

    ``source`` is a path or the file's bytes (then ``name`` says which kind it is). Empty cells
    are ``""``. Row numbers in errors are spreadsheet rows: the header is row 1.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"{name}: cannot read ({exc.strerror})") from None
    else:
        data, name = source, name or "upload.csv"
    try:
        if name.lower().endswith((".xlsx", ".xlsm")):
            df = pd.read_excel(io.BytesIO(data), dtype=str, engine="openpyxl").fillna("")
        else:
            df = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except Exception as exc:  # noqa: BLE001 - any reader failure is the file's fault; name it
        raise InputError(f"{name}: not a readable {'Excel' if name.lower().endswith('xlsx') else 'CSV'} "
                         f"file ({type(exc).__name__})") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df.astype(str).apply(lambda s: s.str.strip()), name


def require_columns(df: pd.DataFrame, name: str, needed: Iterable[str]) -> None:
    """:class:`InputError` naming the file and every missing column."""
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise InputError(f"{name}: missing column(s) {missing} (has {list(df.columns)})")


def parse_date(text: str) -> dt.date | None:
    """``YYYY-MM-DD`` (also ``YYYY/MM/DD`` and Excel's ``YYYY-MM-DD 00:00:00``) → date; None if not a date."""
    t = text.strip().replace("/", "-")[:10]
    try:
        return dt.date.fromisoformat(t)
    except ValueError:
        return None


def workday_table(calendar: WorkdayCalendar, start: dt.date, end: dt.date) -> np.ndarray:
    """Sorted ``datetime64[D]`` array of the working days from `start` to `end` (inclusive)."""
    days = pd.date_range(start, end, freq="D")
    keep = np.fromiter((calendar.is_workday(d.date()) for d in days), dtype=bool, count=len(days))
    return days.to_numpy(dtype="datetime64[D]")[keep]


def add_workdays(calendar: WorkdayCalendar, dates: np.ndarray, n: np.ndarray) -> np.ndarray:
    """Vectorised ``calendar.add_workdays``: `dates` (datetime64[D]) plus `n` working days each.

    Same rule as :meth:`WorkdayCalendar.add_workdays`: ``n == 0`` gives the next working day
    (the day itself if it is one); ``n >= 1`` counts working days strictly after the date.
    """
    dates = np.asarray(dates, dtype="datetime64[D]")
    n = np.asarray(n, dtype=np.int64)
    if not len(dates):
        return dates
    lo = dates.min().astype(object)
    hi = dates.max().astype(object) + dt.timedelta(days=int(n.max(initial=0)) * 2 + 60)
    table = workday_table(calendar, lo, hi)
    after = np.searchsorted(table, dates, side="right")   # index of the first working day > date
    at_or_after = np.searchsorted(table, dates, side="left")
    idx = np.where(n == 0, at_or_after, after + n - 1)
    return table[idx]
