"""Whole pages drawn once per content.

A page whose handler can name everything it shows (`key`: data versions, the live server's
channels and roles, the query) is drawn once and then served from memory until one of them
changes. What differs per request is kept out of the drawing: the page is drawn for the
signed-in member (their id and name, whether they own the bot, the path are part of the
key) with a placeholder where the session's CSRF token goes, and each answer puts the token
in. A page with flash messages waiting is drawn for that request alone, since showing them
takes them from the session. Only GET answers are kept; a form shown again with its errors
is always drawn.

Kept per application (`DRAWN_PAGES_KEY`), least recently used dropped first past
`MAX_BYTES` characters in all.
"""

from __future__ import annotations

import secrets
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from web.auth import user_from_session
from web.context import get_context
from web.csrf import csrf_token

MAX_BYTES = 4 * 1024 * 1024

# Drawn where the session's token goes; random per process, so no text a member can type
# (a channel name) can be taken for it.
_TOKEN_PLACEHOLDER = f"csrf-placeholder-{secrets.token_hex(16)}"


class DrawnPages:
    """Drawn pages by (template, the handler's key, who, path), least recent dropped first."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._pages: OrderedDict[Hashable, str] = OrderedDict()
        self._size = 0
        self.drawn = 0  # pages drawn (a miss), for tests and benchmarks

    def get(self, key: Hashable) -> str | None:
        page = self._pages.get(key)
        if page is not None:
            self._pages.move_to_end(key)
        return page

    def put(self, key: Hashable, page: str) -> None:
        old = self._pages.pop(key, None)
        if old is not None:
            self._size -= len(old)
        if len(page) > self.max_bytes:
            return
        self._pages[key] = page
        self._size += len(page)
        while self._size > self.max_bytes:
            _, dropped = self._pages.popitem(last=False)
            self._size -= len(dropped)

    def __len__(self) -> int:
        return len(self._pages)


DRAWN_PAGES_KEY = web.AppKey("drawn_pages", DrawnPages)


async def render_page(
    request: web.Request,
    template: str,
    context: Mapping[str, Any],
    *,
    key: Hashable | None,
    status: int = 200,
) -> web.Response:
    """`template` drawn with `context`, or the copy drawn for the same `key` (None: draw
    it for this request alone). `key` must change whenever anything the page shows does."""
    session = await get_session(request)
    pages = request.config_dict.get(DRAWN_PAGES_KEY)
    if key is None or pages is None or request.method != "GET" or session.get("flash"):
        return aiohttp_jinja2.render_template(template, request, dict(context), status=status)
    user = user_from_session(session)
    owner = user is not None and get_context(request).is_owner(user.id)
    full_key = (template, key, user, owner, request.path, status)
    page = pages.get(full_key)
    if page is None:
        drawn = {**context, "csrf_token": _TOKEN_PLACEHOLDER, "flashes": ()}
        page = aiohttp_jinja2.render_string(template, request, drawn)
        pages.drawn += 1
        pages.put(full_key, page)
    if _TOKEN_PLACEHOLDER in page:  # the token is made on first use, as when drawn
        page = page.replace(_TOKEN_PLACEHOLDER, csrf_token(session))
    return web.Response(
        text=page,
        status=status,
        content_type="text/html",
        charset="utf-8",
    )
