"""The application factory: sessions, templates, middlewares and every route table."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import aiohttp_jinja2
import jinja2
from aiohttp import web
from aiohttp_session import Session, get_session
from aiohttp_session import setup as setup_sessions

from web import sessions, vendor
from web.auth import (
    is_public,
    login_required_middleware,
    pop_flashes,
    session_guard_middleware,
    user_from_session,
)
from web.connections import SERVER_NAME
from web.context import CONTEXT_KEY, WebContext
from web.csrf import csrf_middleware, csrf_token
from web.drawn_pages import DRAWN_PAGES_KEY, DrawnPages
from web.errors import OUTAGE_KEY, DatabaseOutage, error_middleware
from web.oauth import DiscordOAuth
from web.routes import auth, guilds, health, owner
from web.session_storage import LazyEncryptedCookieStorage

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "foundrycord_session"
SESSION_MAX_AGE = int(sessions.SESSION_MAX_AGE.total_seconds())

# 'unsafe-inline' styles: gridstack and Bootstrap's JS set element styles at run time.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: https://cdn.discordapp.com; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self' https://discord.com"
)


class _LazyCsrfToken:
    """Renders as the session's CSRF token, creating it only when a template uses it."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def __str__(self) -> str:
        return csrf_token(self._session)

    __html__ = __str__


class _LazyFlashes:
    """Iterating takes the queued flash messages, so only a page that shows them uses them."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(pop_flashes(self._session))


FAVICON = HERE / "static" / "favicon.svg"


async def _favicon(request: web.Request) -> web.FileResponse:
    """Browsers ask for /favicon.ico whatever the page links: the same icon, not a 404."""
    return web.FileResponse(FAVICON, headers={"Content-Type": "image/svg+xml"})


async def _template_globals(request: web.Request) -> dict[str, Any]:
    # aiohttp-jinja2 runs this for every request, rendered or not: nothing here may change
    # the session unless a template actually uses the value.
    ctx = request.config_dict[CONTEXT_KEY]
    if request.path == "/healthz" or request.path.startswith("/static/"):
        # Never rendered with a signed-in user: skip decrypting the session cookie.
        return {
            "current_user": None,
            "is_owner": False,
            "csrf_token": "",
            "flashes": (),
            "nav_links": ctx.nav_links,
            "request_path": request.path,
        }
    session = await get_session(request)
    user = user_from_session(session)
    return {
        "current_user": user,
        "is_owner": user is not None and ctx.is_owner(user.id),
        "csrf_token": _LazyCsrfToken(session),
        "flashes": _LazyFlashes(session),
        "nav_links": ctx.nav_links,
        "guild_tabs": ctx.guild_tabs,
        "request_path": request.path,
    }


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    # aiohttp would name itself and Python with their versions.
    response.headers["Server"] = SERVER_NAME
    if request.config_dict[CONTEXT_KEY].settings.public_url.startswith("https://"):
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    if not is_public(request.path):
        # Pages behind sign-in show one user's data: no browser or proxy cache may keep them.
        response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    # Sign-in links carry their token in the URL: never send it on as a Referer.
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)


def _oauth_context(ctx: WebContext):  # type: ignore[no-untyped-def]
    """Open the HTTP client for Discord OAuth with the app and close it with the app."""

    async def oauth_client(app: web.Application):  # type: ignore[no-untyped-def]
        settings = ctx.settings
        if not (settings.discord_client_id and settings.discord_client_secret):
            yield
            return
        timeout = aiohttp.ClientTimeout(total=15)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            app[auth.OAUTH_KEY] = DiscordOAuth(
                http,
                settings.discord_client_id,
                settings.discord_client_secret.get(),
                settings.public_url,
                settings.discord_api_base,
            )
            yield

    return oauth_client


def create_app(ctx: WebContext, *, node_modules: Path | None = None) -> web.Application:
    """Build the web editor for `ctx`; `node_modules` overrides web/node_modules (tests)."""
    app = web.Application()
    app[CONTEXT_KEY] = ctx
    app[OUTAGE_KEY] = DatabaseOutage(lambda: ctx.db.ping())
    app[health.PINGS_KEY] = health.HealthPings.of(ctx)

    setup_sessions(
        app,
        LazyEncryptedCookieStorage(
            ctx.session_key,
            cookie_name=SESSION_COOKIE,
            max_age=SESSION_MAX_AGE,
            httponly=True,
            samesite="Lax",
            secure=ctx.settings.public_url.startswith("https://"),
        ),
    )
    # Order: the session middleware (added above) wraps the error pages, so session changes
    # made before an error are saved; the sign-in gate runs before the CSRF check, so a
    # signed-out POST gets 401 rather than a confusing CSRF message.
    # The session guard signs out revoked, idle and expired sessions before anything else
    # looks at who is signed in.
    app.middlewares.append(error_middleware)
    if ctx.holder_of is not None:
        from web.forward import install_forwarding

        install_forwarding(app, ctx.holder_of)
    app.middlewares.extend([session_guard_middleware, login_required_middleware, csrf_middleware])

    aiohttp_jinja2.setup(
        app,
        # Features may add template folders; the built-in templates (base.html) come first.
        loader=jinja2.FileSystemLoader([HERE / "templates", *ctx.template_dirs]),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        # Templates do not change while the bot runs: no stat() of every file per render.
        auto_reload=False,
        context_processors=[_template_globals],
    )

    node_modules = node_modules or vendor.NODE_MODULES
    app[vendor.VENDOR_DIR_KEY] = node_modules
    vendor.check_vendor_dir(node_modules)

    app.cleanup_ctx.append(_oauth_context(ctx))
    app.on_response_prepare.append(_security_headers)

    for key, value in ctx.app_keys.items():
        app[key] = value
    app[DRAWN_PAGES_KEY] = DrawnPages()

    # The vendor and feature routes go before /static so its prefix does not swallow them.
    app.router.add_routes(vendor.routes)
    for name, folder in ctx.static_dirs.items():
        app.router.add_static(f"/static/{name}", folder, append_version=False)
    app.router.add_static("/static", HERE / "static", append_version=False)
    app.router.add_get("/favicon.ico", _favicon)
    for table in (health.routes, auth.routes, guilds.routes, owner.routes, *ctx.extra_routes):
        app.router.add_routes(table)
    return app
