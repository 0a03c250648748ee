"""CSRF protection: one random token per session, required on every state-changing request
as the form field `csrf_token` or the `X-CSRF-Token` header."""

from __future__ import annotations

import hmac
import ipaddress
import secrets

from aiohttp import web
from aiohttp_session import Session, get_session
from yarl import URL

from web.context import get_context
from web.errors import Handler, error_response
from web.forms import read_form
from web.signin import LINK_PATH

# The one state-changing request that skips the CSRF check: redeeming a sign-in link. The
# browser that opens a link usually has no session yet, so it has no CSRF token to send;
# the signed, single-use, ten-minute token in the form is the proof instead (whoever can
# forge this request already holds the token and could sign in with it anyway). The
# handler refuses cross-site form posts itself (Sec-Fetch-Site).
CSRF_EXEMPT = frozenset({("POST", LINK_PATH)})

SESSION_FIELD = "csrf"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def csrf_token(session: Session) -> str:
    """The session's CSRF token, created on first use."""
    token = session.get(SESSION_FIELD)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session[SESSION_FIELD] = token
    return token


def rotate_csrf_token(session: Session) -> str:
    session[SESSION_FIELD] = secrets.token_urlsafe(32)
    return session[SESSION_FIELD]


async def _sent_token(request: web.Request) -> str:
    header = request.headers.get(HEADER)
    if header:
        return header
    if request.content_type in FORM_TYPES:
        form = await read_form(request)  # cached by aiohttp, so the handler can read it again
        value = form.get(FORM_FIELD)
        return value if isinstance(value, str) else ""
    return ""


def origin_of(url: str) -> str | None:
    """`scheme://host:port` of an absolute http(s) URL (default port spelled out), else None."""
    try:
        parsed = URL(url)
    except ValueError:
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return None
    return f"{parsed.scheme}://{parsed.host.lower()}:{parsed.port}"


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def allowed_origins(request: web.Request) -> set[str]:
    """PUBLIC_URL's origin; and the address the request was sent to when that is a loopback
    address (a browser on this machine opening http://127.0.0.1:port directly). A name that
    merely resolves to loopback does not count: DNS rebinding could aim one at us."""
    allowed = {origin_of(get_context(request).signin.public_url)}
    own = origin_of(f"{request.scheme}://{request.host}")
    if own is not None and _is_loopback(URL(own).host):
        allowed.add(own)
    return {origin for origin in allowed if origin}


def foreign_origin(request: web.Request) -> bool:
    """True when the browser says the request came from another site: its Origin, or its
    Referer when there is no Origin, is not this site. Browsers send Origin on every POST;
    a request with neither header did not come from a browser form, so it cannot be a
    cross-site forgery (and still needs its CSRF token, except the sign-in form)."""
    origin = request.headers.get("Origin")
    if origin is None:
        referer = request.headers.get("Referer")
        if referer is None:
            return False
        origin = referer
    # "null" (a sandboxed frame, a no-referrer policy) fails to parse and is refused.
    return origin_of(origin) not in allowed_origins(request)


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.method in SAFE_METHODS:
        return await handler(request)
    # A feature's bearer-token path: no cookie authenticates it, so no CSRF to forge.
    if request.path in get_context(request).token_paths:
        return await handler(request)
    if foreign_origin(request):
        return error_response(
            request,
            403,
            "This request came from another site, so it was refused. Open FoundryCord at its "
            "own address and try again.",
        )
    if (request.method, request.path) in CSRF_EXEMPT:
        return await handler(request)
    session = await get_session(request)
    expected = session.get(SESSION_FIELD)
    sent = await _sent_token(request)
    if not sent:
        return error_response(
            request,
            403,
            "This request has no security (CSRF) token, so it was refused. "
            "Reload the page and submit the form again.",
        )
    if not isinstance(expected, str) or not hmac.compare_digest(sent.encode(), expected.encode()):
        return error_response(
            request,
            403,
            "This request's security (CSRF) token does not match your session, so it was "
            "refused. Your session may have changed in another tab: reload the page and "
            "submit the form again.",
        )
    return await handler(request)
