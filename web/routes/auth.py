"""Sign-in pages: the one-time link from `/web`, Discord OAuth2, and sign-out."""

from __future__ import annotations

import hmac
import logging

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from web.auth import NEXT_FIELD, current_user, flash, log_in, log_out, safe_next
from web.context import get_context
from web.errors import PageError
from web.oauth import DiscordOAuth, OAuthError
from web.signin import SignInLinkError, SignInLinkExpired, SignInLinkUsed

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

OAUTH_KEY = web.AppKey("foundrycord_oauth", DiscordOAuth)
OAUTH_STATE_FIELD = "oauth_state"


@routes.get("/")
async def index(request: web.Request) -> web.Response:
    raise web.HTTPFound("/guilds")


@routes.get("/login")
async def login_page(request: web.Request) -> web.Response:
    target = safe_next(request.query.get("next"))
    if await current_user(request) is not None:
        raise web.HTTPFound(target or "/guilds")
    session = await get_session(request)
    if target:
        session[NEXT_FIELD] = target
    return aiohttp_jinja2.render_template(
        "login.html",
        request,
        {"title": "Sign in", "oauth_enabled": OAUTH_KEY in request.config_dict},
    )


def _is_link_preview(request: web.Request) -> bool:
    # Discord's link preview fetches posted URLs; it must not use up a one-time link.
    return "Discordbot" in request.headers.get("User-Agent", "")


@routes.get("/login/link")
@routes.get("/login/link/{token}")
async def redeem_link(request: web.Request) -> web.Response:
    token = request.match_info.get("token") or request.query.get("token", "")
    if _is_link_preview(request):
        return web.Response(text="FoundryCord sign-in link", content_type="text/plain")
    ctx = get_context(request)
    try:
        user_id = await ctx.signin.redeem(token)
    except SignInLinkError as exc:
        status = 410 if isinstance(exc, SignInLinkExpired | SignInLinkUsed) else 400
        raise PageError(status, str(exc), title="This sign-in link does not work") from None
    username = await ctx.live.user_name(user_id) or f"User {user_id}"
    target = await log_in(request, user_id, username)
    log.info("User %s signed in to the web editor with a one-time link", user_id)
    raise web.HTTPFound(target)


def _oauth(request: web.Request) -> DiscordOAuth:
    oauth = request.config_dict.get(OAUTH_KEY)
    if oauth is None:
        raise PageError(
            404,
            "Sign-in with Discord is not set up on this bot: set DISCORD_CLIENT_ID and "
            "DISCORD_CLIENT_SECRET, or use the /web command in Discord for a sign-in link.",
        )
    return oauth


@routes.get("/login/discord")
async def oauth_start(request: web.Request) -> web.Response:
    oauth = _oauth(request)
    session = await get_session(request)
    state = oauth.new_state()
    session[OAUTH_STATE_FIELD] = state
    raise web.HTTPFound(oauth.authorize_url(state))


@routes.get("/login/callback")
async def oauth_callback(request: web.Request) -> web.Response:
    oauth = _oauth(request)
    session = await get_session(request)
    expected = session.pop(OAUTH_STATE_FIELD, None)
    if "error" in request.query:
        raise PageError(
            400,
            "Discord sign-in was cancelled or refused. Start again from the sign-in page.",
            title="Sign-in cancelled",
        )
    state = request.query.get("state", "")
    if (
        not isinstance(expected, str)
        or not state
        or not hmac.compare_digest(state.encode(), expected.encode())
    ):
        raise PageError(
            400,
            "Sign-in state mismatch, start again: this answer from Discord does not belong to "
            "the sign-in started in this browser.",
            title="Sign-in state mismatch",
        )
    code = request.query.get("code", "")
    if not code:
        raise PageError(400, "Discord sent no authorization code. Start the sign-in again.")
    try:
        user = await oauth.sign_in(code)
    except OAuthError as exc:
        raise PageError(502, str(exc)) from None
    target = await log_in(request, user.id, user.name)
    log.info("User %s signed in to the web editor with Discord OAuth", user.id)
    raise web.HTTPFound(target)


@routes.post("/logout")
async def logout(request: web.Request) -> web.Response:
    await log_out(request)
    await flash(request, "You are signed out.", "info")
    raise web.HTTPSeeOther("/login")
