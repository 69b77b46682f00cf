"""HTTP hygiene every router gets for free: body limits, strict JSON, read timeouts, security headers.

* :class:`BodyGuard` (pure ASGI) reads a request body completely before the app sees it:
  over ``max_bytes`` (by ``Content-Length`` or while streaming a chunked body) → 413; not JSON
  → 415; slower than ``timeout`` seconds → 408; JSON that is malformed or nested deeper than
  ``max_depth`` → 400; duplicate object keys or ``NaN``/``Infinity`` → 422 naming the field.
  The app then gets the buffered body, so FastAPI and :func:`api.deps.json_body` parse it once more
  knowing it is well-formed.
* :class:`SecurityHeaders` (pure ASGI) adds ``X-Content-Type-Options: nosniff`` (and frame and
  referrer policies) to every response, a ``Content-Security-Policy`` to HTML, and
  ``Cache-Control: no-store`` when the route marked its answer as deputy data
  (:func:`api.deps.no_store`).
* :func:`allowed_methods` lists every method a path answers, for complete ``Allow`` headers on 405.
"""
from __future__ import annotations

import asyncio
import json
import math
import re
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import problems

_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
#: The CSP of HTML answers (folium maps, /docs, reports): scripts, styles and fonts only from this service;
#: 'unsafe-inline' because self-contained folium maps (geoplan.html_assets) and Swagger UI's start-up
#: script are inline; images only from here, data: URIs and the basemap tiles the maps use (OpenStreetMap).
HTML_CSP = ("default-src 'none'; "
            "script-src 'self' 'unsafe-inline'; "
            "style-src 'self' 'unsafe-inline'; "
            "font-src 'self' data:; "
            "img-src 'self' data: https://tile.openstreetmap.org; "
            "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


class _Duplicate(ValueError):
    pass


class _NonFinite(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _Duplicate(k)
        out[k] = v
    return out


def _reject_constant(name: str) -> Any:
    raise _NonFinite(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 overflows to inf
        raise _NonFinite(text)
    return value


def _too_deep(value: Any, max_depth: int) -> bool:
    """True if ``value`` nests containers deeper than ``max_depth`` (iterative: no recursion limit)."""
    stack = [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (dict, list)):
            if d > max_depth:
                return True
            stack.extend((c, d + 1) for c in (v.values() if isinstance(v, dict) else v))
    return False


def check_json(body: bytes, max_depth: int) -> tuple[int, str, str] | None:
    """``(status, detail, kind)`` of what is wrong with a JSON body, or None if it is fine."""
    if not body.strip():
        return None
    try:
        value = json.loads(body, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant,
                           parse_float=_finite_float)
    except RecursionError:
        return 400, f"JSON body nests deeper than {max_depth} levels", "too-deep"
    except _Duplicate as exc:
        return 422, f"JSON body repeats the key {str(exc)!r} in one object; each key may appear once", "duplicate-key"
    except _NonFinite as exc:
        return 422, f"JSON body holds {exc}, which is not a finite number", "validation-error"
    except ValueError as exc:  # JSONDecodeError, bad UTF-8
        return 400, f"request body is not valid JSON: {exc}", "malformed-json"
    if _too_deep(value, max_depth):
        return 400, f"JSON body nests deeper than {max_depth} levels", "too-deep"
    return None


class BodyGuard:
    """Pure-ASGI middleware buffering and checking request bodies (see the module docstring)."""

    def __init__(self, app: ASGIApp, max_bytes: int, max_depth: int = 32, timeout: float = 30.0) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_depth = max_depth
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Buffer and check the body of a POST/PUT/PATCH/DELETE, then pass the request on."""
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        path = scope.get("path")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        length = headers.get("content-length")
        if length is not None and not length.isdigit():
            await problems.problem_response(400, "invalid Content-Length header", instance=path)(scope, receive, send)
            return
        if length is not None and int(length) > self.max_bytes:
            await self._too_big(scope, receive, send)
            return
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        has_body = (length is not None and int(length) > 0) or "transfer-encoding" in headers
        is_json = ctype == "application/json" or ctype.endswith("+json")
        if has_body and not is_json:
            await problems.problem_response(
                415, f"content type {ctype or '(none)'!r} is not supported; send application/json",
                kind="unsupported-media-type", errors=[{"field": "header.content-type", "message": "must be application/json",
                                                        "type": "unsupported-media-type"}],
                instance=path)(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.timeout
        while True:
            try:
                msg = await asyncio.wait_for(receive(), timeout=max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                await problems.problem_response(408, f"the request body did not arrive within {self.timeout:g} s",
                                                kind="request-timeout", instance=path,
                                                headers={"Connection": "close"})(scope, receive, send)
                return
            if msg["type"] == "http.disconnect":
                return
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_big(scope, receive, send)
                return
            chunks.append(chunk)
            if not msg.get("more_body", False):
                break
        body = b"".join(chunks)
        if is_json:
            bad = check_json(body, self.max_depth)
            if bad is not None:
                status, detail, kind = bad
                await problems.problem_response(status, detail, kind=kind, instance=path,
                                                errors=[{"field": "body", "message": detail, "type": kind}])(
                    scope, receive, send)
                return
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_big(self, scope: Scope, receive: Receive, send: Send) -> None:
        # the rest of the body is not read: close the connection rather than drain it
        await problems.problem_response(413, f"request body exceeds the limit of {self.max_bytes} bytes",
                                        kind="payload-too-large", instance=scope.get("path"),
                                        headers={"Connection": "close"})(scope, receive, send)


class SecurityHeaders:
    """Pure-ASGI middleware adding the security headers of every response (see the module docstring)."""

    def __init__(self, app: ASGIApp, csp: str = HTML_CSP) -> None:
        self.app = app
        self.csp = csp

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, adding the headers to the response's start message."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                headers = list(msg.get("headers", []))
                names = {k.lower() for k, _ in headers}
                add = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                       (b"referrer-policy", b"no-referrer")]
                ctype = next((v for k, v in headers if k.lower() == b"content-type"), b"")
                if ctype.startswith(b"text/html"):
                    add.append((b"content-security-policy", self.csp.encode()))
                if scope.get("state", {}).get("no_store"):
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    names.discard(b"cache-control")
                    add += [(b"cache-control", b"no-store"), (b"pragma", b"no-cache")]
                headers += [(k, v) for k, v in add if k not in names]
                msg = {**msg, "headers": headers}
            await send(msg)

        await self.app(scope, receive, send_with_headers)


def allowed_methods(app: Any, path: str) -> list[str]:
    """Every method some operation of ``app``'s OpenAPI document answers at ``path`` (for ``Allow`` on 405).

    Read from the OpenAPI document, which lists every included router's operations, so a new
    router's methods are named without any registration here.
    """
    methods: set[str] = set()
    for template, ops in app.openapi().get("paths", {}).items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            methods |= {m.upper() for m in ops if m.lower() in _HTTP_METHODS}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)
