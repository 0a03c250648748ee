"""Sign-in pages: the one-time link from `/web`, Discord OAuth2, and sign-out.

Opening a one-time link (GET, or the HEAD and GET of link previews and scanners) only shows
a Sign in button; the button's POST uses the link up and starts the session.
"""

from __future__ import annotations

import hmac
import logging

import aiohttp_jinja2
from aiohttp import web
from aiohttp_session import get_session

from web.auth import NEXT_FIELD, current_user, flash, log_in, log_out, safe_next
from web.context import get_context
from web.errors import PageError, wants_json
from web.forms import form_str, read_form
from web.oauth import DiscordOAuth, OAuthError
from web.signin import (
    LINK_PATH,
    SIGNIN_COMMAND,
    SignInLinkError,
    SignInLinkExpired,
    SignInLinkUsed,
)

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
        {
            "title": "Sign in",
            "oauth_enabled": OAUTH_KEY in request.config_dict,
            "offline": get_context(request).offline,
            "signin_command": SIGNIN_COMMAND,
        },
    )


LINK_TOKEN_FIELD = "token"


def _link_page(
    request: web.Request, *, token: str = "", error: SignInLinkError | None = None
) -> web.Response:
    """The Sign in button for `token`, or why the link does not work.

    Rendered without a CSRF token, so showing it never starts a session.
    """
    offline = get_context(request).offline
    if error is None:
        status = 200
        context = {"title": "Sign in to FoundryCord", "token": token, "offline": offline}
    else:
        status = 410 if isinstance(error, SignInLinkExpired | SignInLinkUsed) else 400
        message = error.message(offline=offline)
        context = {"title": "This sign-in link does not work", "message": message}
        if wants_json(request):
            return web.json_response({"error": message}, status=status)
    response = aiohttp_jinja2.render_template("login_link.html", request, context, status=status)
    # The page carries the token: no cache may keep a copy.
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.get(LINK_PATH)
@routes.get(LINK_PATH + "/{token}")
async def link_page(request: web.Request) -> web.Response:
    """Check the link without using it up and show a Sign in button.

    aiohttp answers HEAD here too, and link previews and scanners fetch posted URLs: none of
    that may use the link up or start a session, so this handler only reads.
    """
    token = request.match_info.get("token") or request.query.get("token", "")
    try:
        await get_context(request).signin.check(token)
    except SignInLinkError as exc:
        return _link_page(request, error=exc)
    return _link_page(request, token=token)


@routes.post(LINK_PATH)
async def redeem_link(request: web.Request) -> web.Response:
    """Use up the link in the form and sign in. Exempt from the CSRF check (the browser has
    no session yet): the signed one-time token is the proof, see web.csrf.CSRF_EXEMPT."""
    # A form another site posts (login CSRF: signing the victim in as the attacker) is
    # refused by browsers that say where the request came from.
    if request.headers.get("Sec-Fetch-Site", "same-origin") != "same-origin":
        raise PageError(
            403,
            "This sign-in was sent from another site, so it was refused. Open your sign-in "
            "link again and press Sign in.",
        )
    form = await read_form(request)
    token = form_str(form, LINK_TOKEN_FIELD, max_len=200, required=False) or ""
    try:
        user_id = await get_context(request).signin.redeem(token)
    except SignInLinkError as exc:
        return _link_page(request, error=exc)
    username = await get_context(request).live.user_name(user_id) or f"User {user_id}"
    target = await log_in(request, user_id, username)
    log.info("User %s signed in to the web editor with a one-time link", user_id)
    raise web.HTTPSeeOther(target)


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
