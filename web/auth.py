"""Who is signed in: session helpers, the sign-in gate and the per-guild permission checks."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from aiohttp import web
from aiohttp_session import Session, get_session, new_session

from web.context import get_context, state_versions
from web.csrf import SAFE_METHODS, rotate_csrf_token
from web.errors import Handler, PageError, error_response, wants_json
from web.sessions import (
    IDLE_TIMEOUT,
    SEEN_AT_FIELD,
    SEEN_REFRESH,
    SESSION_ID_FIELD,
    SESSION_MAX_AGE,
    SIGNED_IN_AT_FIELD,
)

log = logging.getLogger(__name__)

PUBLIC_PREFIXES = ("/login/", "/static/")
PUBLIC_PATHS = frozenset({"/login", "/healthz", "/favicon.ico"})
NEXT_FIELD = "login_next"


@dataclass(frozen=True)
class User:
    id: int
    name: str


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)


def safe_next(target: str | None) -> str | None:
    """`target` if it is a path on this site, else None (no open redirects).

    Browsers and yarl drop tabs and newlines from URLs and read a backslash as a slash, so
    `/%09/evil.com` (a tab) or `/%5C/evil.com` would send the browser to `//evil.com`: a
    target with any control character, space or backslash is refused outright.
    """
    if not target or not target.startswith("/") or target.startswith("//"):
        return None
    if any(ch in " \\" or not ch.isprintable() for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


def user_from_session(session: Session) -> User | None:
    user_id = session.get("user_id")
    if not isinstance(user_id, int):
        return None
    return User(user_id, str(session.get("username") or user_id))


async def current_user(request: web.Request) -> User | None:
    return user_from_session(await get_session(request))


async def require_user(request: web.Request) -> User:
    user = await current_user(request)
    if user is None:
        raise PageError(401, "You are not signed in. Sign in again and retry.")
    return user


async def log_in(request: web.Request, user_id: int, username: str) -> str:
    """Start a fresh session for the user and return where to send them next."""
    old = await get_session(request)
    target = safe_next(old.get(NEXT_FIELD)) or "/guilds"
    # A new session on sign-in, so a session id planted before sign-in is worthless.
    session = await new_session(request)
    ctx = get_context(request)
    now = int(ctx.clock().timestamp())
    session["user_id"] = user_id
    session["username"] = username
    session[SESSION_ID_FIELD] = await ctx.web_sessions.start(user_id)
    session[SIGNED_IN_AT_FIELD] = now
    session[SEEN_AT_FIELD] = now
    rotate_csrf_token(session)
    return target


async def log_out(request: web.Request) -> None:
    """End this session on the server too: a copy of its cookie no longer works."""
    session = await get_session(request)
    session_id = session.get(SESSION_ID_FIELD)
    if isinstance(session_id, str):
        await get_context(request).web_sessions.revoke(session_id)
    session.invalidate()


async def flash(request: web.Request, message: str, category: str = "success") -> None:
    """Queue a message for the next rendered page (Bootstrap alert `category`)."""
    session = await get_session(request)
    session["flash"] = [*session.get("flash", []), [category, message]]


def pop_flashes(session: Session) -> list[tuple[str, str]]:
    messages = session.pop("flash", [])
    return [(str(category), str(message)) for category, message in messages]


@web.middleware
async def login_required_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every page but sign-in, health and static files needs a signed-in session: a page
    read by a browser goes to the sign-in page and back; a change, or a JSON request (a
    script cannot follow a redirect to a sign-in form), gets a 401 saying so."""
    if (
        is_public(request.path)
        or request.path in get_context(request).token_paths
        or await current_user(request) is not None
    ):
        return await handler(request)
    if request.method not in SAFE_METHODS:
        message = "You are not signed in, so this change was not made. Sign in and try again."
    elif wants_json(request):
        message = "You are not signed in (or your session ended). Sign in again and reload."
    else:
        raise web.HTTPFound(f"/login?next={quote(request.path_qs, safe='')}")
    return error_response(request, 401, message)


async def require_owner(request: web.Request) -> User:
    user = await require_user(request)
    if not get_context(request).is_owner(user.id):
        raise PageError(403, "Only the bot's owners (OWNER_IDS) can open this page.")
    return user


async def require_manage(request: web.Request, guild_id: int) -> User:
    """The signed-in user, if the guild is approved and they have Manage Server in it now.

    Asked of the bot's live state on every call, so a user who lost the permission is
    refused on their very next request.
    """
    user = await require_user(request)
    ctx = get_context(request)
    status = await ctx.guild_state.status(await state_versions(request), guild_id)
    if status is None or ctx.live.guild(guild_id) is None:
        raise PageError(
            404, "FoundryCord is not in that server. Pick a server from the list instead."
        )
    if status == "pending":
        raise PageError(
            403,
            "This server is waiting for a bot owner's approval; its settings open once an "
            "owner approves it on the server list.",
        )
    if status != "approved":
        raise PageError(403, "A bot owner rejected this server, so its settings are closed.")
    if not await ctx.live.can_manage(guild_id, user.id):
        # A GET only reads: do not tell someone opening a page that they tried to change it.
        doing = "open its pages" if request.method in SAFE_METHODS else "change its settings"
        raise PageError(
            403,
            f"You need the Manage Server permission in this server to {doing}. "
            "Ask a server admin to grant it, then reload.",
        )
    return user


@web.middleware
async def session_guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Sign out a session that was revoked, sat idle too long, or is too old."""
    if request.path == "/healthz" or request.path.startswith("/static/"):
        return await handler(request)
    session = await get_session(request)
    if session.get("user_id") is not None:
        ctx = get_context(request)
        now = int(ctx.clock().timestamp())
        session_id = session.get(SESSION_ID_FIELD)
        seen_at = session.get(SEEN_AT_FIELD)
        signed_in_at = session.get(SIGNED_IN_AT_FIELD)
        if (
            not isinstance(session_id, str)
            or not isinstance(seen_at, int)
            or not isinstance(signed_in_at, int)
            or now - seen_at > IDLE_TIMEOUT.total_seconds()
            or now - signed_in_at > SESSION_MAX_AGE.total_seconds()
            or not await ctx.web_sessions.is_active(await state_versions(request), session_id)
        ):
            log.debug("A web session ended (signed out, revoked, idle or too old)")
            session.invalidate()
        elif now - seen_at >= SEEN_REFRESH.total_seconds():
            session[SEEN_AT_FIELD] = now
    return await handler(request)
