"""Browser sessions for the workspace: sign in with an API token, then hold only a cookie.

* :class:`SessionStore` keeps the sessions of one app instance in memory: a random session id
  (the cookie value, HttpOnly, SameSite=Strict, with an expiry) → who signed in, a CSRF token and
  when the session ends. The token the planner typed stays on the server; it never goes back to
  the browser, into a URL or into a log. Sessions end at their expiry, at logout, or when the
  service restarts (the planner signs in again).
* :class:`SessionAuth` is a pure-ASGI middleware: a request carrying no ``Authorization`` /
  ``X-API-Key`` header but a live session cookie is authenticated as that session's token, so every
  API route and its role checks apply unchanged. A state-changing request (POST, PUT, PATCH,
  DELETE) made with the cookie must also carry the session's CSRF token in ``X-CSRF-Token``
  (synchroniser token: the page reads it from ``GET /workspace/session``) and, when the browser
  sends one, an ``Origin`` equal to the service's own; otherwise it is refused with 403. Signing in
  (``POST /workspace/session``) is the one exception: it carries no session and replaces any.
"""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from api import problems

COOKIE = "geoplan_session"
CSRF_HEADER = "x-csrf-token"
SIGN_IN_PATH = "/workspace/session"
_UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass(frozen=True)
class Session:
    """One signed-in browser."""

    id: str
    token: str  # the API token it stands for (server side only)
    name: str
    role: str
    county_code: str | None
    csrf: str
    expires_at: float  # time.time()

    def public(self) -> dict[str, Any]:
        """What the page may know: who, the CSRF token, the expiry; never the API token."""
        return {"name": self.name, "role": self.role, "county_code": self.county_code, "csrf": self.csrf,
                "expires_at": self.expires_at}


class SessionStore:
    """In-memory sessions of one app instance (thread-safe)."""

    def __init__(self, ttl_seconds: float = 8 * 3600, max_sessions: int = 10_000) -> None:
        self.ttl = float(ttl_seconds)
        self.max_sessions = max_sessions
        self._by_id: dict[str, Session] = {}
        self._lock = threading.Lock()

    def create(self, token: str, name: str, role: str, county_code: str | None) -> Session:
        """A new session for the holder of ``token`` (expired sessions are dropped first)."""
        now = time.time()
        s = Session(id=secrets.token_urlsafe(32), token=token, name=name, role=role, county_code=county_code,
                    csrf=secrets.token_urlsafe(32), expires_at=now + self.ttl)
        with self._lock:
            self._purge(now)
            if len(self._by_id) >= self.max_sessions:  # bounded memory: the oldest session goes
                oldest = min(self._by_id.values(), key=lambda x: x.expires_at)
                self._by_id.pop(oldest.id, None)
            self._by_id[s.id] = s
        return s

    def get(self, session_id: str | None) -> Session | None:
        """The live session with this id, or None (unknown or expired)."""
        if not session_id:
            return None
        with self._lock:
            s = self._by_id.get(session_id)
            if s is not None and s.expires_at <= time.time():
                self._by_id.pop(session_id, None)
                return None
            return s

    def delete(self, session_id: str | None) -> bool:
        """End a session; True if it existed."""
        with self._lock:
            return self._by_id.pop(session_id or "", None) is not None

    def _purge(self, now: float) -> None:
        for sid in [k for k, v in self._by_id.items() if v.expires_at <= now]:
            del self._by_id[sid]


def cookie_value(headers: dict[str, str]) -> str | None:
    """The session id from a ``Cookie`` header, if any."""
    raw = headers.get("cookie")
    if not raw:
        return None
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:  # a malformed cookie header is no session
        return None
    morsel = jar.get(COOKIE)
    return morsel.value if morsel is not None else None


def _same_origin(scope: Scope, headers: dict[str, str]) -> bool:
    origin = headers.get("origin")
    if origin is None:
        return True  # older browsers send none on same-origin requests; the CSRF token still applies
    return origin == f"{scope.get('scheme', 'http')}://{headers.get('host', '')}"


class SessionAuth:
    """Pure-ASGI middleware turning a session cookie into the API's bearer authentication."""

    def __init__(self, app: ASGIApp, store: SessionStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass API clients and sign-ins through; for a browser, turn a valid session cookie into bearer authentication.

        State-changing requests must come from the same origin and carry the session's CSRF token.
        """
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if "authorization" in headers or "x-api-key" in headers:
            await self.app(scope, receive, send)  # an API client: the cookie plays no part
            return
        if scope["method"] == "POST" and scope.get("path") == SIGN_IN_PATH:
            # signing in again replaces the session; the body is JSON (BodyGuard), so a cross-site form
            # cannot post it and a cross-site fetch needs a CORS preflight this service never grants
            await self.app(scope, receive, send)
            return
        session = self.store.get(cookie_value(headers))
        if session is None:
            await self.app(scope, receive, send)
            return
        if scope["method"] in _UNSAFE:
            sent = headers.get(CSRF_HEADER, "")
            if not (sent and secrets.compare_digest(sent.encode(), session.csrf.encode())
                    and _same_origin(scope, headers)):
                await problems.problem_response(
                    403, "missing or wrong X-CSRF-Token header (or a cross-origin request) for a signed-in session",
                    kind="forbidden", instance=scope.get("path"))(scope, receive, send)
                return
        scope = dict(scope)
        scope["headers"] = list(scope.get("headers", [])) + [
            (b"authorization", f"Bearer {session.token}".encode("latin-1"))]
        scope.setdefault("state", {})
        scope["state"] = dict(scope["state"], workspace_session=session)
        await self.app(scope, receive, send)
