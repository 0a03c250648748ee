"""How every server page starts: the route's server, once the signed-in member may manage
it, and what the shared page layout (templates/guild_page.html) needs to draw its breadcrumb
and tabs. Features' routes use these, so a server page is guarded one way."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from web import forms
from web.auth import User, require_manage
from web.context import get_context


async def managed_guild(request: web.Request) -> tuple[int, User]:
    """The route's `{guild_id}` (404 when it is not an id: `web.forms.guild_id`) and the
    signed-in member, who must have Manage Server there (`web.auth.require_manage`)."""
    guild_id = forms.guild_id(request)
    return guild_id, await require_manage(request, guild_id)


def page_context(request: web.Request, guild_id: int, tab: str, title: str) -> dict[str, Any]:
    """The context of a page extending guild_page.html: `title · server name`, the server
    and its id, and the open tab ("settings" or a feature's `GuildTab.slug`)."""
    guild = get_context(request).live.guild(guild_id)
    return {
        "title": f"{title} · {guild.name if guild else guild_id}",
        "guild": guild,
        "guild_id": guild_id,
        "active_tab": tab,
    }
