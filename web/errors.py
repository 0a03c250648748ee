"""Error pages: handlers raise PageError with a sentence for the user; one middleware renders it."""

from __future__ import annotations

import logging
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
}


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
        return await handler(request)
    except PageError as exc:
        return error_response(request, exc.status, exc.message, exc.title)
    except web.HTTPNotFound:
        return error_response(
            request, 404, "There is no page at this address. Go back to the server list."
        )
    except web.HTTPMethodNotAllowed as exc:
        return error_response(request, 405, f"This address does not accept {exc.method} requests.")
    except ConnectionError:
        if not client_gone(request):
            raise
        # The client hung up, e.g. in the middle of an upload: its fault, and nobody is
        # left to read an answer. Not an error of ours, so no traceback in the log.
        log.debug("Client %s went away during %s %s", request.remote, request.method, request.path)
        return web.Response(status=400)


def client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()
