"""The guild object itself."""

from __future__ import annotations

from typing import Any

from sandbox import limits
from sandbox import permissions as perm
from sandbox.errors import FormErrors
from sandbox.rest.base import RestRequest, RouteTable
from sandbox.rest.common import guild_for_bot, require_guild

routes = RouteTable()


@routes.route("GET", "/guilds/{guild_id}")
async def get_guild(req: RestRequest) -> dict[str, Any]:
    guild = guild_for_bot(req)
    data = guild.to_dict()
    if req.query.get("with_counts") in ("true", "True", "1"):
        data["approximate_member_count"] = len(guild.members)
        data["approximate_presence_count"] = 0
    return data


@routes.route("PATCH", "/guilds/{guild_id}")
async def edit_guild(req: RestRequest) -> dict[str, Any]:
    guild = guild_for_bot(req)
    require_guild(guild, req.me, perm.PERMISSION_BITS["manage_guild"])
    body = req.body()
    errors = FormErrors()
    if "name" in body:
        limits.check_length(errors, ("name",), body["name"], 2, 100)
    if "description" in body:
        limits.check_length(errors, ("description",), body["description"], 0, 120)
    errors.raise_if_any()
    guild.name = body.get("name", guild.name)
    guild.description = body.get("description", guild.description)
    req.world.emit("GUILD_UPDATE", guild.to_dict(), guild_id=guild.id)
    return guild.to_dict()
