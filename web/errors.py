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


JSON_SUFFIX = "+json"
_REFUSED = frozenset({"q=0", "q=0.0", "q=0.00", "q=0.000"})  # RFC 9110 12.4.2: "not acceptable"


def _media_types(accept: str) -> set[str]:
    """The media types an Accept header asks for, without parameters or those with q=0."""
    types = set()
    for item in accept.split(","):
        media_type, *params = (part.strip() for part in item.split(";"))
        if any(p.replace(" ", "") in _REFUSED for p in params):
            continue
        if media_type:
            types.add(media_type.lower())
    return types


def is_json_path(path: str) -> bool:
    """A JSON endpoint by its shape: `.../series.json`, or anything under an `api` segment
    (`/guilds/{guild_id}/templates/api/plan`, `/api/monitoring/ingest`, `/sandbox/api/view`)."""
    return path.endswith(".json") or "/api/" in path or path.endswith("/api")


def _route_shape(request: web.Request) -> str:
    """The matched route's pattern (`/sandbox/attachments/{attachment_id}/{filename}`), so a
    file that happens to be called `x.json` is not taken for a JSON endpoint; the path
    itself when no route matched."""
    canonical = getattr(request.match_info.route.resource, "canonical", None)
    return canonical if isinstance(canonical, str) else request.path


def wants_json(request: web.Request) -> bool:
    """Whether errors (and sign-in prompts) go to this request as JSON rather than a page:
    its route is a JSON endpoint, or it sent a JSON body (the editors' fetch() calls send
    no Accept header), or it accepts JSON and not HTML. A browser's `*/*` alone means HTML."""
    if is_json_path(_route_shape(request)):
        return True
    content_type = request.content_type
    if content_type == "application/json" or content_type.endswith(JSON_SUFFIX):
        return True
    accepted = _media_types(request.headers.get("Accept", ""))
    json_ok = "application/json" in accepted or any(t.endswith(JSON_SUFFIX) for t in accepted)
    html_ok = "text/html" in accepted or "application/xhtml+xml" in accepted
    return json_ok and not html_ok


def error_response(
    request: web.Request, status: int, message: str, title: str | None = None
) -> web.Response:
    """A rendered error page, or `{"error": message, "errors": [message]}` for JSON requests
    (`errors` is what the editors' scripts show)."""
    title = title or _TITLES.get(status, "Something went wrong")
    if wants_json(request):
        return web.json_response({"error": message, "errors": [message]}, status=status)
    return aiohttp_jinja2.render_template(
        "error.html", request, {"title": title, "message": message}, status=status
    )


def _http_error_message(exc: web.HTTPException) -> str:
    if isinstance(exc, web.HTTPRequestEntityTooLarge):
        return "The request is larger than this address accepts, so nothing was changed."
    return f"The request was refused ({exc.status} {exc.reason})."


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await _answer(request, handler)
    except web.HTTPException as exc:
        if not _body_left_unreadable(request, exc.status):
            raise
        # a feature's own refusal, raised with a body of its own: sent as it is
        response = web.Response(
            status=exc.status, reason=exc.reason, body=exc.body, content_type=exc.content_type
        )
    if _body_left_unreadable(request, response.status):
        _close_after(request, response)
    return response


def _body_left_unreadable(request: web.Request, status: int) -> bool:
    """The body did not decode, or an error answers before the end of an encoded body (too
    large): what is left of it may not decode either."""
    return bool(request.get(_UNREADABLE)) or (
        status >= 400 and "Content-Encoding" in request.headers and not request.content.is_eof()
    )


async def _answer(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The handler's response, or the error page or JSON for what it raised."""
    try:
        response = await handler(request)
    except web.RequestPayloadError:  # from request.post() or read(), wherever it was called
        refusal = UnreadableBody(request)
        return error_response(request, refusal.status, refusal.message)
    except PageError as exc:
        return error_response(request, exc.status, exc.message, exc.title)
    except web.HTTPNotFound:
        return error_response(
            request, 404, "There is no page at this address. Go back to the server list."
        )
    except web.HTTPMethodNotAllowed as exc:
        return error_response(request, 405, f"This address does not accept {exc.method} requests.")
    except web.HTTPException as exc:
        # aiohttp's own errors (a body over client_max_size, ...) carry a plain-text body;
        # answer them like ours. Redirects, and errors a handler gave a body of its own
        # (JSON), pass through as they are.
        if exc.status < 400 or exc.content_type != "text/plain":
            raise
        response = error_response(request, exc.status, _http_error_message(exc))
        for name in ("Allow", "Retry-After", "WWW-Authenticate"):
            if name in exc.headers:
                response.headers[name] = exc.headers[name]
        return response
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


_UNREADABLE = "foundrycord_body_unreadable"


class UnreadableBody(PageError):
    """The body does not decode as its Content-Encoding says (not gzip at all, ...). Marks
    the request, so the error middleware closes the connection after the answer, whatever
    answer a feature makes of this refusal."""

    def __init__(self, request: web.Request) -> None:
        request[_UNREADABLE] = True
        encoding = request.headers.get("Content-Encoding", "")[:20] or "sent"
        super().__init__(
            400, f"The body could not be decoded as {encoding}, so nothing was changed."
        )


def _close_after(request: web.Request, response: web.StreamResponse) -> None:
    """Close the connection after `response`: nothing more of the body can be read, and
    aiohttp would otherwise read the rest to keep the connection, fail again and log a
    traceback. The body is marked ended so it does not try."""
    response.force_close()
    request.content.feed_eof()


def client_gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()
