"""Row-validated imports of the small user tables of operations (calendars, unavailability, topics).

Every table arrives either as a CSV file or as records from the API. Both go through
the same checks, and either the whole table is accepted or a :class:`TableError`
lists every bad row — the file (or ``api``), the line, the field and the rule — so
that nothing is ever half-imported.

Examples
--------
>>> rows = [{"deputy_id": "D1", "date": "2027-02-30"}]
>>> try:
...     check_rows(rows, "api", {"deputy_id": str_field(), "date": date_field()})
... except TableError as exc:
...     print(exc.problems[0])
api row 1, field date: '2027-02-30' is not a date YYYY-MM-DD
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from geoplan.exceptions import InputError

__all__ = ["RowProblem", "TableError", "read_csv_records", "check_rows", "str_field", "date_field",
           "time_field", "int_field", "choice_field"]


@dataclass(frozen=True)
class RowProblem:
    """One bad cell: where it came from (file name or ``api``), its row, field and the rule it breaks.

    ``row`` is the CSV line number (the header is line 1) or the 1-based record number of an API body.
    """

    source: str
    row: int
    field: str
    rule: str

    def __str__(self) -> str:
        unit = "line" if self.source != "api" else "row"
        return f"{self.source} {unit} {self.row}, field {self.field}: {self.rule}"


class TableError(InputError):
    """A table with bad rows; ``problems`` lists all of them (the message shows the first ten)."""

    def __init__(self, problems: list[RowProblem]) -> None:
        self.problems = list(problems)
        head = "; ".join(str(p) for p in self.problems[:10])
        more = f" (and {len(self.problems) - 10} more)" if len(self.problems) > 10 else ""
        super().__init__(f"{len(self.problems)} bad row(s), nothing imported: {head}{more}")


#: A field check: raw text → parsed value, or raise ValueError with the rule as message.
Check = Callable[[str], Any]


def str_field(*, required: bool = True, max_len: int = 200) -> Check:
    """Text; empty is allowed (→ None) unless ``required``."""

    def check(v: str) -> Any:
        if not v:
            if required:
                raise ValueError("is required")
            return None
        if len(v) > max_len:
            raise ValueError(f"is longer than {max_len} characters")
        return v

    return check


def date_field(*, required: bool = True) -> Check:
    """An ISO date ``YYYY-MM-DD``."""

    def check(v: str) -> Any:
        if not v:
            if required:
                raise ValueError("is required (a date YYYY-MM-DD)")
            return None
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            raise ValueError(f"{v!r} is not a date YYYY-MM-DD") from None

    return check


def time_field(default: dt.time) -> Check:
    """A time of day ``HH:MM`` (empty → ``default``)."""

    def check(v: str) -> Any:
        if not v:
            return default
        try:
            t = dt.time.fromisoformat(v)
        except ValueError:
            raise ValueError(f"{v!r} is not a time HH:MM") from None
        return t.replace(second=0, microsecond=0)

    return check


def int_field(default: int | None, lo: int, hi: int) -> Check:
    """An integer in ``[lo, hi]`` (empty → ``default``, or required when that is None)."""

    def check(v: str) -> Any:
        if not v:
            if default is None:
                raise ValueError("is required")
            return default
        try:
            n = int(v)
        except ValueError:
            raise ValueError(f"{v!r} is not an integer") from None
        if not lo <= n <= hi:
            raise ValueError(f"{n} must be between {lo} and {hi}")
        return n

    return check


def choice_field(allowed: Iterable[str], *, multi: bool = False, required: bool = True) -> Check:
    """One of ``allowed`` (or, with ``multi``, a comma-separated list of them, returned as a tuple)."""
    options = tuple(allowed)

    def check(v: str) -> Any:
        parts = [p.strip() for p in v.split(",") if p.strip()] if multi else ([v] if v else [])
        if not parts:
            if required:
                raise ValueError(f"is required (one of {', '.join(options)})")
            return () if multi else None
        bad = [p for p in parts if p not in options]
        if bad:
            raise ValueError(f"{', '.join(repr(b) for b in bad)} not among {', '.join(options)}")
        return tuple(dict.fromkeys(parts)) if multi else parts[0]

    return check


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, (list, tuple)):
        return ",".join(str(x) for x in v)
    return str(v).strip()


def check_rows(rows: Iterable[Mapping[str, Any]], source: str, fields: Mapping[str, Check], *,
               numbers: Sequence[int] | None = None,
               row_rules: Callable[[int, dict[str, Any]], list[tuple[str, str]]] | None = None) -> list[dict[str, Any]]:
    """Parse every row with ``fields`` (name → check); all-or-nothing.

    Parameters
    ----------
    rows
        Mappings of field name → raw value (CSV cells or JSON values). Unknown fields are errors.
    source
        The file name, or ``"api"``, used in every message.
    fields
        The checks of each allowed field; a field absent from a row is checked as empty.
    numbers
        The number of each row in messages (CSV line numbers from :func:`read_csv_records`);
        default 1, 2, … (API records).
    row_rules
        Extra checks on a parsed row (given its number and parsed fields, which it may complete),
        returning ``(field, rule)`` pairs for each violation.

    Raises
    ------
    TableError
        Listing every bad cell.
    """
    out: list[dict[str, Any]] = []
    problems: list[RowProblem] = []
    rows = list(rows)
    nums = list(numbers) if numbers is not None else list(range(1, len(rows) + 1))
    for n, raw in zip(nums, rows):
        if not isinstance(raw, Mapping):
            problems.append(RowProblem(source, n, "-", "must be an object of field → value"))
            continue
        unknown = sorted(set(map(str, raw)) - set(fields))
        for u in unknown:
            problems.append(RowProblem(source, n, u, f"unknown field; expected {', '.join(fields)}"))
        parsed: dict[str, Any] = {}
        ok = not unknown
        for name, check in fields.items():
            try:
                parsed[name] = check(_text(raw.get(name)))
            except ValueError as exc:
                problems.append(RowProblem(source, n, name, str(exc)))
                ok = False
        if ok and row_rules is not None:
            for fname, rule in row_rules(n, parsed):
                problems.append(RowProblem(source, n, fname, rule))
                ok = False
        if ok:
            out.append(parsed)
    if problems:
        raise TableError(problems)
    return out


def read_csv_records(path: str | Path, required: Iterable[str], what: str
                     ) -> tuple[list[dict[str, str]], list[int], str]:
    r"""The rows of a UTF-8 CSV as text records, their line numbers, and the file name for messages.

    Missing required columns, an unreadable file and ragged rows are :class:`InputError`\ s
    naming the file (and the line).
    """
    path = Path(path)
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{name}: cannot read the {what} ({exc})") from None
    import csv
    import io

    reader = csv.reader(io.StringIO(text))
    try:
        lines = list(reader)
    except csv.Error as exc:
        raise InputError(f"{name}: not a CSV file ({exc})") from None
    if not lines:
        raise InputError(f"{name}: the {what} is empty (no header line)")
    header = [h.strip() for h in lines[0]]
    required = list(required)
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(f"{name}: missing column(s) {', '.join(missing)} (the {what} needs {', '.join(required)})")
    problems: list[RowProblem] = []
    records: list[dict[str, str]] = []
    numbers: list[int] = []
    for i, cells in enumerate(lines[1:], start=2):
        if not any(c.strip() for c in cells):
            continue  # blank line
        if len(cells) != len(header):
            problems.append(RowProblem(name, i, "-", f"has {len(cells)} fields, the header has {len(header)}"))
            continue
        records.append(dict(zip(header, (c.strip() for c in cells))))
        numbers.append(i)
    if problems:
        raise TableError(problems)
    return records, numbers, name


def frame(records: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """Parsed records as a DataFrame with the given columns (also when empty)."""
    return pd.DataFrame.from_records(records, columns=columns)
