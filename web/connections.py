"""Connection hygiene for the web server: deadlines for reading a request's headers and
body, an idle keep-alive timeout, a cap on open connections, and client faults and accept
errors logged at most once per interval instead of once per event.

aiohttp's own protocol has a keep-alive timeout but no header or body deadline and no
connection cap, so slow or idle sockets from anyone could hold file descriptors until the
process ran out of them. The pieces here wrap aiohttp's RequestHandler and Server.
"""

from __future__ import annotations

import asyncio
import logging
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.web_protocol import RequestHandler

log = logging.getLogger(__name__)

SERVER_NAME = "FoundryCord"
ACCEPT_ERROR = "socket.accept() out of system resource"
# Sent, without reading the request, to a connection over the cap when no idle one can go.
REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Server: " + SERVER_NAME.encode() + b"\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Retry-After: 5\r\n"
    b"Connection: close\r\n"
    b"Content-Length: 47\r\n"
    b"\r\n"
    b"The web editor is busy; try again in a moment.\n"
)


@dataclass(frozen=True)
class ConnectionLimits:
    """Seconds allowed for each phase of a connection, and how many may be open at once."""

    header_timeout: float = 10.0  # from connection (or a request's first byte) to its headers
    body_timeout: float = 30.0  # from the headers to the last byte of the body
    keepalive_timeout: float = 15.0  # idle between requests
    max_connections: int = 1000
    log_interval: float = 60.0

    def effective_max_connections(self) -> int:
        """The cap, lowered to leave a quarter of the file descriptor limit to the rest of
        the process (database, Redis, the gateway, log files)."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return self.max_connections
        return max(16, min(self.max_connections, soft * 3 // 4))


class Throttle:
    """Counts events and says when one may be logged: the first at once, then at most one
    per `interval` seconds, carrying how many happened since the last."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last: float | None = None
        self._count = 0

    def note(self) -> int:
        """Record an event; returns the count to log now (0: stay quiet)."""
        self._count += 1
        now = self._clock()
        if self._last is not None and now - self._last < self.interval:
            return 0
        self._last, count, self._count = now, self._count, 0
        return count


class GuardedRequestHandler(RequestHandler):
    """aiohttp's protocol plus header and body deadlines and quiet client faults."""

    def __init__(self, manager: GuardedServer, *, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(manager, keepalive_timeout=limits.keepalive_timeout, **kwargs)
        self._limits = limits
        self._header_deadline: asyncio.TimerHandle | None = None
        self._header_count = 0
        self._quiet_error = False

    def idle(self) -> bool:
        """Waiting for a request (idle keep-alive, or its headers still coming in)."""
        return not self._force_close and self._waiter is not None and not self._waiter.done()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._arm_header_deadline()

    def connection_lost(self, exc: BaseException | None) -> None:
        self._disarm_header_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if data and self._header_deadline is None and self.idle():
            self._arm_header_deadline()  # the first bytes of the next request
        before = self._request_count
        super().data_received(data)
        if self._request_count != before:
            self._disarm_header_deadline()

    def _arm_header_deadline(self) -> None:
        self._header_count = self._request_count
        self._header_deadline = self._loop.call_later(
            self._limits.header_timeout, self._headers_too_slow
        )

    def _disarm_header_deadline(self) -> None:
        if self._header_deadline is not None:
            self._header_deadline.cancel()
            self._header_deadline = None

    def _headers_too_slow(self) -> None:
        self._header_deadline = None
        if self._request_count == self._header_count and self.idle():
            log.debug("Closing a web connection that sent no complete request in time")
            self.force_close()

    async def _handle_request(self, request: Any, start_time: Any, request_handler: Any) -> Any:
        deadline = None
        if not request.content.is_eof():
            deadline = self._loop.call_later(
                self._limits.body_timeout, self._body_too_slow, request.content
            )
        try:
            return await super()._handle_request(request, start_time, request_handler)
        finally:
            if deadline is not None:
                deadline.cancel()

    def _body_too_slow(self, payload: Any) -> None:
        if not payload.is_eof():
            log.debug("Closing a web connection whose request body did not arrive in time")
            self.force_close()

    def handle_error(
        self,
        request: Any,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        # A malformed or oversized request, or a client that hung up, is the client's fault:
        # no ERROR and no traceback (which would hold the client's bytes) in our log.
        self._quiet_error = status < 500 or isinstance(exc, ConnectionError)
        try:
            response = super().handle_error(request, status, exc, message)
        finally:
            self._quiet_error = False
        response.headers["Server"] = SERVER_NAME
        return response

    def log_exception(self, *args: Any, **kw: Any) -> None:
        if self._quiet_error:
            exc = kw.get("exc_info")
            self.logger.debug("Bad request from a client (%s)", type(exc).__name__)
            return
        super().log_exception(*args, **kw)


class _Refusal(asyncio.Protocol):
    """Answers 503 and hangs up at once, reading nothing."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.WriteTransport)
        transport.write(REFUSAL)
        transport.close()


class GuardedServer(web.Server):
    """aiohttp's Server with a cap on open connections.

    At the cap a new connection first displaces the longest-open idle one (keep-alive, or
    still sending headers), as nginx reuses idle connections; only when every connection
    is busy with a request is the new one refused with a canned 503.
    """

    def __init__(self, *args: Any, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits
        self.max_connections = limits.effective_max_connections()
        self._open: dict[RequestHandler, None] = {}  # insertion order: oldest first
        self._evicted = Throttle(limits.log_interval)
        self._refused = Throttle(limits.log_interval)

    @property
    def open_connections(self) -> int:
        return len(self._open)

    def connection_made(self, handler: RequestHandler, transport: asyncio.Transport) -> None:
        super().connection_made(handler, transport)
        self._open[handler] = None

    def connection_lost(self, handler: RequestHandler, exc: BaseException | None = None) -> None:
        self._open.pop(handler, None)
        super().connection_lost(handler, exc)

    def __call__(self) -> Any:
        if len(self._open) >= self.max_connections and not self._evict_idle():
            count = self._refused.note()
            if count:
                log.warning(
                    "The web editor is at its limit of %d connections, all busy; refused %d "
                    "new connection(s) (logged at most once a minute)",
                    self.max_connections,
                    count,
                )
            return _Refusal()
        return GuardedRequestHandler(self, loop=self._loop, limits=self.limits, **self._kwargs)

    def _evict_idle(self) -> bool:
        for handler in self._open:
            if isinstance(handler, GuardedRequestHandler) and handler.idle():
                del self._open[handler]
                handler.force_close()
                count = self._evicted.note()
                if count:
                    log.info(
                        "The web editor is at its limit of %d connections; closed %d idle "
                        "one(s) to make room (logged at most once a minute)",
                        self.max_connections,
                        count,
                    )
                return True
        return False


class GuardedAppRunner(web.AppRunner):
    """An AppRunner whose server is a GuardedServer."""

    def __init__(self, app: web.Application, *, limits: ConnectionLimits, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._limits = limits

    async def _make_server(self) -> web.Server:
        plain = await super()._make_server()  # starts the app up and freezes it
        return GuardedServer(
            plain.request_handler,
            request_factory=plain.request_factory,
            handler_cancellation=plain.handler_cancellation,
            loop=asyncio.get_running_loop(),
            limits=self._limits,
            **plain._kwargs,
        )


def throttle_accept_errors(
    loop: asyncio.AbstractEventLoop, interval: float = 60.0
) -> Callable[[], None]:
    """Log asyncio's "out of system resource" accept errors once per `interval` instead of
    once per attempt (which can be thousands a second); returns a function that undoes it."""
    previous = loop.get_exception_handler()
    throttle = Throttle(interval)

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        if context.get("message") == ACCEPT_ERROR:
            count = throttle.note()
            if count:
                exc = context.get("exception")
                log.warning(
                    "The web editor cannot accept connections: %s (%d time(s); logged at "
                    "most once every %.0f s). Raise the open-file limit (ulimit -n) or lower "
                    "WEB_MAX_CONNECTIONS.",
                    exc,
                    count,
                    interval,
                )
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)

    def restore() -> None:
        if loop.get_exception_handler() is handler:
            loop.set_exception_handler(previous)

    return restore
