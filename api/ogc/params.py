"""Query parameters of the OGC items request, checked as OGC API – Features Part 1 asks.

Invalid values and parameters the API definition does not declare are 400 problem
documents (``/req/core/query-param-invalid``, ``/req/core/query-param-unknown``) naming the
parameter; a ``limit`` above the page-size maximum is served as the maximum (with a
``next`` link), as the standard's limit clause describes. ``bbox`` and code checks are the
shared ones the ``/layers`` routes use, re-labelled 400.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from api.catalog import Catalog
from api.ogc.collections import FILTER_VALUES, Box, Collection, Interval
from api.problems import ApiProblem
from api.routes.common import check_codes, parse_bbox

#: Parameters every items request may carry besides the collection's property filters.
COMMON = ("bbox", "datetime", "limit", "offset", "f")
FORMATS = ("json", "geojson")
DEFAULT_LIMIT = 100
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@contextmanager
def as_400() -> Iterator[None]:
    """Re-raise the shared checks' 422 problems as the 400 OGC clients expect (same body)."""
    try:
        yield
    except ApiProblem as exc:
        if exc.status != 422:
            raise
        raise ApiProblem(400, exc.detail, kind=exc.kind, errors=exc.errors) from exc


def bad(param: str, message: str) -> ApiProblem:
    """A 400 problem naming ``query.<param>``."""
    return ApiProblem(400, message, field=f"query.{param}", kind="invalid-parameter")


def check_known(query: Mapping[str, str], allowed: tuple[str, ...]) -> None:
    """400 naming the first parameter that is not in ``allowed``."""
    for key in query:
        if key not in allowed:
            raise bad(key, f"unknown query parameter {key!r}; this request takes {', '.join(allowed)}")


def check_format(query: Mapping[str, str]) -> None:
    """``f`` may only ask for the JSON/GeoJSON this service speaks."""
    f = query.get("f")
    if f is not None and f not in FORMATS:
        raise bad("f", f"format {f!r} is not offered; use f=json or f=geojson")


def _instant(text: str, end: bool) -> datetime:
    """An RFC 3339 date-time (or a date: the whole day) as an aware UTC datetime."""
    if _DATE.match(text):
        day = datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
        return day + timedelta(days=1) - timedelta(microseconds=1) if end else day
    t = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    if t.tzinfo is None:
        raise ValueError("no time zone")
    return t.astimezone(timezone.utc)


def parse_datetime(text: str | None) -> Interval | None:
    """``datetime``: an instant, or ``start/end`` with ``..`` (or empty) for an open end."""
    if text is None:
        return None
    parts = text.split("/")
    try:
        if len(parts) == 1:
            if parts[0] in ("", ".."):
                raise ValueError("empty")
            return _instant(parts[0], False), _instant(parts[0], True)
        if len(parts) == 2:
            start = None if parts[0] in ("", "..") else _instant(parts[0], False)
            stop = None if parts[1] in ("", "..") else _instant(parts[1], True)
            if start is None and stop is None:
                raise ValueError("both ends open")
            if start is not None and stop is not None and start > stop:
                raise ValueError("start after end")
            return start, stop
    except ValueError:
        pass
    raise bad("datetime", "datetime must be an RFC 3339 date-time or interval, e.g. 2026-12-01T00:00:00Z or "
                          "2026-12-01T00:00:00Z/.. (with a time zone)")


def parse_box(text: str | None) -> Box | None:
    """``bbox``: four numbers (or six, heights ignored) in CRS84, checked by the shared parser."""
    if text is None:
        return None
    parts = text.split(",")
    if len(parts) == 6:  # minLon,minLat,minH,maxLon,maxLat,maxH
        parts = [parts[0], parts[1], parts[3], parts[4]]
    with as_400():
        return parse_bbox(",".join(parts))


def parse_int(param: str, text: str | None, default: int, minimum: int) -> int:
    """An integer parameter ≥ ``minimum``; 400 naming it otherwise."""
    if text is None:
        return default
    if not re.fullmatch(r"\d{1,12}", text.strip()) or int(text) < minimum:
        raise bad(param, f"{param} must be an integer >= {minimum}")
    return int(text)


@dataclass(frozen=True)
class ItemsQuery:
    """A checked items request."""

    filters: dict[str, str]
    bbox: Box | None
    interval: Interval | None
    limit: int
    offset: int


def items_query(query: Mapping[str, str], col: Collection, catalog: Catalog, max_page: int) -> ItemsQuery:
    """Check an items request's parameters against the collection's filters and the page-size limit."""
    check_known(query, COMMON + col.filters)
    check_format(query)
    filters = {k: query[k] for k in col.filters if k in query}
    for key, value in filters.items():
        allowed = FILTER_VALUES.get(key)
        if allowed is not None and value not in allowed:
            raise bad(key, f"{key} must be one of {', '.join(allowed)}")
        if len(value) > 64:
            raise bad(key, f"{key} is longer than 64 characters")
    with as_400():
        check_codes(catalog, filters.get("county"), filters.get("town"))
    limit = min(parse_int("limit", query.get("limit"), DEFAULT_LIMIT, 1), max_page)
    offset = parse_int("offset", query.get("offset"), 0, 0)
    return ItemsQuery(filters, parse_box(query.get("bbox")), parse_datetime(query.get("datetime")), limit, offset)


__all__ = ["COMMON", "DEFAULT_LIMIT", "ItemsQuery", "items_query", "check_known", "check_format", "parse_datetime",
           "parse_box", "as_400"]
