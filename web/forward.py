"""More than one bot process: a server's pages are served by the process holding it.

Every process runs the web editor. A request for `/guilds/<id>/...` that reaches a process
not holding that server is forwarded, as it came (method, path, query, body, cookies, CSRF
header), to the holder's internal URL (the shared table of live processes, bot.cluster),
and its answer is returned as it is. Sessions are cookies encrypted with the one
SECRET_KEY and sign-in tokens live in the database, so the holder signs the user in,
checks Manage Server and CSRF itself, from its own live state. A forwarded request carries
a header so it is never forwarded again (two processes that disagree for a moment answer
from the one that received it).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import web

from web.errors import Handler, error_response

log = logging.getLogger(__name__)

HolderOf = Callable[[int], Awaitable[str | None]]

FORWARDED = "X-FoundryCord-Forwarded"
GUILD_PATH = re.compile(r"^/guilds/(\d{1,20})(?:/|$)")
# Hop-by-hop headers (RFC 9110 7.6.1) and those aiohttp sets itself.
DROPPED = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
        "content-length",
        "content-encoding",
    }
)
MAX_BODY = 8 * 1024 * 1024
TIMEOUT = aiohttp.ClientTimeout(total=30)


class Forwarder:
    """One HTTP client per application, opened on the first forwarded request."""

    def __init__(self) -> None:
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=TIMEOUT)
        return self._session

    async def close(self, _app: web.Application | None = None) -> None:
        if self._session is not None:
            await self._session.close()


FORWARDER_KEY = web.AppKey("forwarder", Forwarder)


def install_forwarding(app: web.Application, holder_of: HolderOf) -> None:
    """Forward server pages to their holder (see the module docstring)."""
    forwarder = Forwarder()
    app[FORWARDER_KEY] = forwarder
    app.on_cleanup.append(forwarder.close)
    app.middlewares.append(forward_middleware(holder_of))


def forward_middleware(holder_of: HolderOf) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        match = GUILD_PATH.match(request.path)
        if match is None or FORWARDED in request.headers:
            return await handler(request)
        guild_id = int(match.group(1))
        if guild_id > 2**63 - 1:
            return await handler(request)
        try:
            target = await holder_of(guild_id)
        except Exception:
            log.exception("Could not look up which process holds guild %s", guild_id)
            target = None
        if not target:
            return await handler(request)
        return await forward(request, target)

    return middleware


async def forward(request: web.Request, base: str) -> web.StreamResponse:
    """Send `request` to the process at `base` and answer with its response."""
    session = request.app[FORWARDER_KEY].session()
    headers = {k: v for k, v in request.headers.items() if k.lower() not in DROPPED}
    headers[FORWARDED] = "1"
    if request.remote:
        headers["X-Forwarded-For"] = request.remote
    body = await request.read() if request.body_exists else None
    if body is not None and len(body) > MAX_BODY:
        return error_response(request, 413, "That request is too large.")
    try:
        async with session.request(
            request.method,
            base.rstrip("/") + request.rel_url.path_qs,
            headers=headers,
            data=body,
            allow_redirects=False,
        ) as upstream:
            content = await upstream.read()
            response = web.Response(status=upstream.status, body=content)
            for name, value in upstream.headers.items():
                if name.lower() not in DROPPED:
                    response.headers.add(name, value)
            return response
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("Forwarding %s to %s failed: %s", request.path, base, exc)
        return error_response(
            request,
            503,
            "The bot process that runs this server is not answering right now. Try again in "
            "a moment.",
        )
