"""/owner: the bot's status and recent log lines, for the bot's owners only."""

from __future__ import annotations

import platform
from datetime import timedelta
from importlib import metadata

import aiohttp_jinja2
from aiohttp import web

from bot import __version__
from web.auth import flash, require_owner
from web.context import get_context
from web.forms import form_snowflake, read_form

routes = web.RouteTableDef()

LOG_LINES = 200


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


def _uptime(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    days, seconds = divmod(seconds, 86400)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    return f"{days}d {hours}h {minutes}m" if days else f"{hours}h {minutes}m {seconds}s"


@routes.get("/owner")
async def owner_page(request: web.Request) -> web.Response:
    await require_owner(request)
    ctx = get_context(request)
    latency = ctx.live.latency_ms()
    return aiohttp_jinja2.render_template(
        "owner.html",
        request,
        {
            "title": "Bot status",
            "gateway": ctx.live.gateway_connected(),
            "latency": f"{latency:.1f} ms" if latency is not None else "unknown",
            "guild_count": len(ctx.live.guilds()),
            "uptime": _uptime(ctx.clock() - ctx.live.started_at()),
            "versions": {
                "FoundryCord": __version__,  # the one version (bot/__init__.py)
                "Python": platform.python_version(),
                "nextcord": _version("nextcord"),
                "aiohttp": _version("aiohttp"),
                "SQLAlchemy": _version("SQLAlchemy"),
            },
            "log_lines": ctx.log_buffer.lines(LOG_LINES),
            "active_users": await ctx.web_sessions.active_users(),
        },
    )


@routes.post("/owner/sessions/revoke")
async def revoke_sessions(request: web.Request) -> web.Response:
    """Sign a user out everywhere: every session of theirs ends at its next request."""
    owner = await require_owner(request)
    form = await read_form(request)
    user_id = form_snowflake(form, "user_id")
    assert user_id is not None  # required
    ended = await get_context(request).web_sessions.revoke_user(user_id)
    if user_id == owner.id:
        raise web.HTTPSeeOther("/login")  # this session ended too; the flash would be lost
    await flash(request, f"Signed user {user_id} out of {ended} session(s).", "info")
    raise web.HTTPSeeOther("/owner")
