"""RFC 9457 problem details: every error leaves the service as ``application/problem+json``.

The body has ``type``, ``title``, ``status``, ``detail`` and, for bad input, ``errors``:
a list of ``{"field": "body.scenario.budget", "message": ..., "type": ...}`` naming each
offending field (dotted path: ``body``/``query``/``path``/``header`` then the keys).
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://geoplan.example/problems/"
log = logging.getLogger("api")


class FieldError(BaseModel):
    """One invalid field of a request: where it is, what is wrong, and the kind of error."""

    field: str = Field(description="Dotted path of the offending field, e.g. body.scenario.budget or query.bbox")
    message: str
    type: str = Field("invalid", description="Machine-readable error kind")


class ProblemDetail(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(description="URI identifying the problem type")
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] = Field(default_factory=list)


class ApiProblem(Exception):
    """Raise anywhere in a route to answer with a problem document."""

    def __init__(self, status: int, detail: str, *, kind: str | None = None, field: str | None = None,
                 errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.kind = kind or _slug(status)
        self.errors = list(errors or [])
        if field is not None:
            self.errors.insert(0, {"field": field, "message": detail, "type": self.kind})
        self.headers = headers


def _slug(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "-").replace("'", "")
    except ValueError:
        return "error"


def _jsonsafe(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)


def problem_response(status: int, detail: str, *, kind: str | None = None, errors: list[dict[str, Any]] | None = None,
                     instance: str | None = None, headers: dict[str, str] | None = None) -> Response:
    """An RFC 9457 ``application/problem+json`` response with ``status``, ``detail`` and field ``errors``."""
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body = {"type": PROBLEM_BASE + (kind or _slug(status)), "title": title, "status": status, "detail": detail,
            "instance": instance, "errors": [{k: _jsonsafe(v) for k, v in e.items()} for e in (errors or [])]}
    return Response(json.dumps(body), status_code=status, media_type=PROBLEM_JSON, headers=headers)


def field_errors(errors: Iterable[Mapping[str, Any]], prefix: tuple[str | int, ...] = ()) -> list[dict[str, str]]:
    """Pydantic/FastAPI error dicts → ``FieldError`` dicts with dotted field paths."""
    out = []
    for e in errors:
        loc = tuple(prefix) + tuple(e.get("loc", ()))
        out.append({"field": ".".join(str(p) for p in loc) or "body", "message": str(e.get("msg", "invalid")),
                    "type": str(e.get("type", "invalid"))})
    return out


def validation_problem(exc: ValidationError | RequestValidationError, prefix: tuple[str | int, ...] = ()) -> ApiProblem:
    """A 422 :class:`ApiProblem` listing ``exc``'s errors, field paths prefixed by ``prefix``."""
    errs = field_errors(list(exc.errors()), prefix)
    head = "; ".join(f"{e['field']}: {e['message']}" for e in errs[:3])
    return ApiProblem(422, f"invalid request — {head}" if head else "invalid request", kind="validation-error",
                      errors=errs)


_FIELD_PREFIX = re.compile(r"^([A-Za-z_][\w]*(?:\.[\w]+)*): ")


def input_problem(exc: Exception, prefix: str = "body", *, status: int = 422,
                  kind: str = "invalid-scenario") -> ApiProblem:
    """A geoplan ``InputError`` as a problem: its message names the field (``scenario.budget: ...``),
    which becomes ``<prefix>.scenario.budget`` in ``errors``.
    """
    text = str(exc)
    m = _FIELD_PREFIX.match(text)
    field = f"{prefix}.{m.group(1)}" if m else prefix
    return ApiProblem(status, text, kind=kind, field=field)


def install(app: FastAPI) -> None:
    """Register the exception handlers that turn every error into problem+json."""

    @app.exception_handler(ApiProblem)
    async def _api_problem(request: Request, exc: ApiProblem) -> Response:
        return problem_response(exc.status, exc.detail, kind=exc.kind, errors=exc.errors,
                                instance=request.url.path, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errs = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errs):
            return problem_response(400, "request body is not valid JSON: " + str(errs[0].get("ctx", {}).get("error", "")),
                                    kind="malformed-json", errors=field_errors(errs), instance=request.url.path)
        p = validation_problem(exc)
        return problem_response(p.status, p.detail, kind=p.kind, errors=p.errors, instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:  # Starlette names only the first route's methods; list every route's
            from api.http import allowed_methods

            allow = allowed_methods(request.app, request.url.path) or \
                [m.strip() for m in headers.get("Allow", "").split(",") if m.strip()]
            headers["Allow"] = ", ".join(allow)
            return problem_response(405, f"method {request.method} is not allowed here; use {', '.join(allow)}",
                                    instance=request.url.path, headers=headers)
        return problem_response(exc.status_code, str(exc.detail), instance=request.url.path, headers=headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:  # pragma: no cover — a bug if reached
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, f"internal error ({type(exc).__name__}); the incident is logged",
                                instance=request.url.path)


def responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting problem bodies for ``codes``."""
    text = {400: "Malformed request", 401: "Missing or unknown token", 403: "Role may not do this",
            404: "Unknown id", 409: "Conflicting state", 413: "Body too large", 415: "Wrong content type",
            422: "Invalid field (named in `errors`)", 503: "Busy"}
    return {c: {"model": ProblemDetail, "description": text.get(c, HTTPStatus(c).phrase),
                "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetail"}}}}
            for c in codes}
