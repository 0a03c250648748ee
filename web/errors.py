"""Error pages: handlers raise PageError with a sentence for the user; one middleware renders it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import aiohttp_jinja2
from aiohttp import web

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class PageError(Exception):
    """Stop handling a request and show `message` with HTTP `status`."""

    def __init__(self, status: int, message: str, *, title: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.title = title or _TITLES.get(status, "Something went wrong")


_TITLES = {
    400: "Bad request",
    401: "Sign-in needed",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Already decided",
    410: "Link no longer valid",
    502: "Discord did not answer",
    503: "Database unreachable",
}

DATABASE_UNREACHABLE = (
    "The database is unreachable right now, so this page cannot be shown and nothing was "
    "changed. FoundryCord keeps retrying on its own: try again in a minute."
)


class DatabaseOutage:
    """Says once per outage that the database is unreachable, and once that it is back."""

    RECHECK_EVERY = 2.0

    def __init__(self, ping: Callable[[], Awaitable[bool]]) -> None:
        self.ping = ping
        self.down = False
        self._last_check = 0.0
        self._checking = False

    def failed(self, exc: BaseException) -> None:
        if self.down:
            log.debug("Database still unreachable: %s", type(exc).__name__)
            return
        self.down = True
        self._last_check = 0.0  # the first success after this may check at once
        log.warning(
            "The database is unreachable (%s: %s); web pages that need it answer 503 until "
            "it is back",
            type(exc).__name__,
            exc,
        )

    def recovered(self) -> None:
        if self.down:
            self.down = False
            log.info("The database is reachable again")

    async def recheck(self) -> None:
        """While down, ping now and then (from successful requests) to notice recovery."""
        now = time.monotonic()
        if not self.down or self._checking or now - self._last_check < self.RECHECK_EVERY:
            return
        self._checking, self._last_check = True, now
        try:
            if await self.ping():
                self.recovered()
        finally:
            self._checking = False


OUTAGE_KEY = web.AppKey("foundrycord_database_outage", DatabaseOutage)


async def _database_unreachable(request: web.Request, exc: BaseException) -> bool:
    """True when `exc` means the database cannot be reached (not a bug of ours)."""
    from sqlalchemy import exc as sa_exc

    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return True
    if isinstance(exc, sa_exc.DBAPIError):
        return bool(exc.connection_invalidated)
    if isinstance(exc, OSError | TimeoutError):
        # asyncpg raises a bare ConnectionRefusedError (or a timeout) when it cannot
        # connect; other network calls raise those too, so ask the database itself.
        outage = request.config_dict.get(OUTAGE_KEY)
        if outage is not None:
            try:
                return not await asyncio.wait_for(outage.ping(), 3)
            except Exception:
                return True
    return False


def wants_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def error_response(
    request: web.Request, status: int, message: str, title: str | None = None
) -> web.Response:
    """A rendered error page, or `{"error": message}` for JSON clients."""
    title = title or _TITLES.get(status, "Something went wrong")
    if wants_json(request):
        return web.json_response({"error": message}, status=status)
    return aiohttp_jinja2.render_template(
        "error.html", request, {"title": title, "message": message}, status=status
    )


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except PageError as exc:
        return error_response(request, exc.status, exc.message, exc.title)
    except web.HTTPNotFound:
        return error_response(
            request, 404, "There is no page at this address. Go back to the server list."
        )
    except web.HTTPMethodNotAllowed as exc:
        return error_response(request, 405, f"This address does not accept {exc.method} requests.")
    except Exception as exc:
        if isinstance(exc, ConnectionError) and client_gone(request):
            # The client hung up, e.g. in the middle of an upload: its fault, and nobody is
            # left to read an answer. Not an error of ours, so no traceback in the log.
            log.debug(
                "Client %s went away during %s %s", request.remote, request.method, request.path
            )
            return web.Response(status=400)
        if await _database_unreachable(request, exc):
            outage = request.config_dict.get(OUTAGE_KEY)
            if outage is not None:
                outage.failed(exc)
            response = error_response(request, 503, DATABASE_UNREACHABLE)
            response.headers["Retry-After"] = "30"
            return response
        raise
    outage = request.config_dict.get(OUTAGE_KEY)
    if outage is not None and outage.down:
        await outage.recheck()
    return response


def client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()
