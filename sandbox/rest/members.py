"""Guild members and their roles."""

from __future__ import annotations

from typing import Any

from sandbox import permissions as perm
from sandbox.errors import ApiError, unknown
from sandbox.rest.base import Reply, RestRequest, RouteTable
from sandbox.rest.common import guild_for_bot, parse_snowflake, require_above, require_guild
from sandbox.state import Guild, Member

routes = RouteTable()


def member_of(req: RestRequest, guild: Guild) -> Member:
    user_id = req.me if req.params["user_id"] == "@me" else req.snowflake("user_id")
    member = guild.members.get(user_id)
    if member is None:
        raise unknown("Member")
    return member


@routes.route("GET", "/guilds/{guild_id}/members")
async def list_members(req: RestRequest) -> list[dict[str, Any]]:
    guild = guild_for_bot(req)
    limit = req.query_int("limit", 1, 1, 1000)
    after = req.query_int("after", 0, 0, 2**63)
    members = sorted(guild.members.values(), key=lambda m: m.user.id)
    return [m.to_dict() for m in members if m.user.id > after][:limit]


@routes.route("GET", "/guilds/{guild_id}/members/{user_id}")
async def get_member(req: RestRequest) -> dict[str, Any]:
    guild = guild_for_bot(req)
    return member_of(req, guild).to_dict()


@routes.route("PATCH", "/guilds/{guild_id}/members/{user_id}")
async def edit_member(req: RestRequest) -> dict[str, Any]:
    guild = guild_for_bot(req)
    member = member_of(req, guild)
    body = req.body()
    if "nick" in body:
        if member.user.id == req.me:
            require_guild(guild, req.me, perm.PERMISSION_BITS["change_nickname"])
        else:
            require_guild(guild, req.me, perm.PERMISSION_BITS["manage_nicknames"])
        member.nick = body["nick"] or None
    if "roles" in body and body["roles"] is not None:
        require_guild(guild, req.me, perm.MANAGE_ROLES)
        new = [parse_snowflake(r, ("roles", i)) for i, r in enumerate(body["roles"])]
        for role_id in set(new) ^ set(member.roles):
            role = guild.roles.get(role_id)
            if role is None:
                raise unknown("Role")
            require_above(guild, req.me, role)
        member.roles = new
    req.world.emit_member_update(guild, member)
    return member.to_dict()


async def _change_role(req: RestRequest, add: bool) -> Reply:
    guild = guild_for_bot(req)
    require_guild(guild, req.me, perm.MANAGE_ROLES)
    member = member_of(req, guild)
    role = guild.roles.get(req.snowflake("role_id"))
    if role is None:
        raise unknown("Role")
    if role.managed or role.id == guild.id:
        raise ApiError(400, 50028, "Invalid role")
    require_above(guild, req.me, role)
    if add and role.id not in member.roles:
        member.roles.append(role.id)
        req.world.emit_member_update(guild, member)
    elif not add and role.id in member.roles:
        member.roles.remove(role.id)
        req.world.emit_member_update(guild, member)
    return Reply(None, 204)


@routes.route("PUT", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
async def add_member_role(req: RestRequest) -> Reply:
    return await _change_role(req, add=True)


@routes.route("DELETE", "/guilds/{guild_id}/members/{user_id}/roles/{role_id}")
async def remove_member_role(req: RestRequest) -> Reply:
    return await _change_role(req, add=False)
