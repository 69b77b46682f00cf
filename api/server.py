"""Running the service with uvicorn: read timeouts and connection limits for ``geoplan serve``.

uvicorn times out idle keep-alive connections but not a client that never finishes its
request headers (any byte it sends cancels the keep-alive timer). :class:`TimedH11Protocol`
closes a connection whose request headers are not complete ``header_timeout`` seconds after
the connection opened or the previous response ended. Slow *bodies* are timed out by
:class:`api.http.BodyGuard` (408).
"""
from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol

from api.settings import Settings


class TimedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline for each request's headers."""

    header_timeout: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the header deadline for the connection's first request."""
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._arm()

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _in_request(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def data_received(self, data: bytes) -> None:
        """Feed the bytes to h11; stop the deadline once a request's headers are complete."""
        super().data_received(data)
        if self._in_request():  # the headers are complete: the app (and BodyGuard) has the request
            self._disarm()

    def on_response_complete(self) -> None:
        """Restart the deadline for the next request's headers on a kept-alive connection."""
        super().on_response_complete()
        self._arm()  # the next request's headers get the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        """Cancel the deadline and close the connection."""
        self._disarm()
        super().connection_lost(exc)

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self._in_request() and not self.transport.is_closing():
            self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The uvicorn keyword arguments ``geoplan serve`` uses (timeouts, limits, the protocol)."""
    protocol = type("ConfiguredH11Protocol", (TimedH11Protocol,), {"header_timeout": settings.header_timeout})
    return {
        "http": protocol,
        "timeout_keep_alive": 5,  # idle keep-alive connections close after 5 s
        "h11_max_incomplete_event_size": 16 * 1024,  # request line + headers at most 16 KiB
        "limit_concurrency": 200,  # more connections at once get 503 from uvicorn
        "backlog": 256,
        "timeout_graceful_shutdown": 10,
        "server_header": False,
        "proxy_headers": False,  # X-Forwarded-* are not trusted unless a proxy is configured
    }
