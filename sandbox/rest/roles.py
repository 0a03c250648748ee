"""Guild roles: create, edit, reorder, delete; with hierarchy checks."""

from __future__ import annotations

from typing import Any

from sandbox import limits
from sandbox import permissions as perm
from sandbox.errors import ApiError, unknown
from sandbox.rest import audit
from sandbox.rest.base import Reply, RestRequest, RouteTable
from sandbox.rest.common import (
    guild_for_bot,
    parse_bits,
    parse_snowflake,
    require_above,
    require_grantable,
    require_guild,
)
from sandbox.state import Guild, Role

routes = RouteTable()


def role_of(req: RestRequest, guild: Guild) -> Role:
    role = guild.roles.get(req.snowflake("role_id"))
    if role is None:
        raise unknown("Role")
    return role


def apply_role_edit(role: Role, body: dict[str, Any]) -> None:
    """A role edit's fields (PATCH /guilds/{g}/roles/{r}), already checked."""
    if "name" in body and body["name"] is not None:
        role.name = body["name"]
    if body.get("permissions") is not None:
        role.permissions = parse_bits(body["permissions"], ("permissions",))
    if "color" in body:
        role.color = body["color"] or 0
    if "colors" in body and isinstance(body["colors"], dict):
        role.color = body["colors"].get("primary_color") or 0
    for key in ("hoist", "mentionable"):
        if key in body and body[key] is not None:
            setattr(role, key, bool(body[key]))


@routes.route("GET", "/guilds/{guild_id}/roles")
async def list_roles(req: RestRequest) -> list[dict[str, Any]]:
    return [r.to_dict() for r in guild_for_bot(req).sorted_roles()]


@routes.route("POST", "/guilds/{guild_id}/roles")
async def create_role(req: RestRequest) -> dict[str, Any]:
    guild = guild_for_bot(req)
    require_guild(guild, req.me, perm.MANAGE_ROLES)
    body = req.body()
    limits.check_role(body)
    if len(guild.roles) >= limits.MAX_ROLES:
        raise ApiError(400, 30005, f"Maximum number of guild roles reached ({limits.MAX_ROLES})")
    bits = parse_bits(body.get("permissions") or 0, ("permissions",))
    require_grantable(guild, req.me, bits)
    role = req.world.add_role(guild, body.get("name") or "new role", permissions=bits, emit=False)
    before = audit.role_state(role)
    apply_role_edit(role, body)
    audit.record_role_update(req.world, guild, req.me, role, before)
    req.world.emit(
        "GUILD_ROLE_CREATE", {"guild_id": str(guild.id), "role": role.to_dict()}, guild_id=guild.id
    )
    return role.to_dict()


@routes.route("PATCH", "/guilds/{guild_id}/roles")
async def reorder_roles(req: RestRequest) -> list[dict[str, Any]]:
    guild = guild_for_bot(req)
    require_guild(guild, req.me, perm.MANAGE_ROLES)
    entries = req.json if isinstance(req.json, list) else []
    top = guild.top_role_position(req.me)
    wanted: dict[int, int] = {}
    for i, entry in enumerate(entries):
        role = guild.roles.get(parse_snowflake(entry.get("id"), (str(i), "id")))
        if role is None:
            raise unknown("Role")
        if role.id == guild.id:
            continue
        position = int(entry.get("position") or 0)
        require_above(guild, req.me, role)
        if req.me != guild.owner_id and position >= top:
            raise ApiError(403, 50013, "Missing Permissions")
        wanted[role.id] = position
    before = {r.id: r.position for r in guild.roles.values()}
    # the moved roles take their requested slots; the others keep their order around them
    ordered = [r for r in guild.sorted_roles() if r.id != guild.id and r.id not in wanted]
    for role_id, position in sorted(wanted.items(), key=lambda item: item[1]):
        ordered.insert(max(position - 1, 0), guild.roles[role_id])
    for index, role in enumerate(ordered, start=1):
        role.position = index
    for role in guild.roles.values():
        if before[role.id] != role.position:
            req.world.emit(
                "GUILD_ROLE_UPDATE",
                {"guild_id": str(guild.id), "role": role.to_dict()},
                guild_id=guild.id,
            )
    return [r.to_dict() for r in guild.sorted_roles()]


@routes.route("PATCH", "/guilds/{guild_id}/roles/{role_id}")
async def edit_role(req: RestRequest) -> dict[str, Any]:
    guild = guild_for_bot(req)
    require_guild(guild, req.me, perm.MANAGE_ROLES)
    role = role_of(req, guild)
    require_above(guild, req.me, role)
    body = req.body()
    limits.check_role(body)
    if body.get("permissions") is not None:
        require_grantable(guild, req.me, parse_bits(body["permissions"], ("permissions",)))
    before = audit.role_state(role)
    apply_role_edit(role, body)
    audit.record_role_update(req.world, guild, req.me, role, before)
    req.world.emit(
        "GUILD_ROLE_UPDATE", {"guild_id": str(guild.id), "role": role.to_dict()}, guild_id=guild.id
    )
    return role.to_dict()


@routes.route("DELETE", "/guilds/{guild_id}/roles/{role_id}")
async def delete_role(req: RestRequest) -> Reply:
    guild = guild_for_bot(req)
    require_guild(guild, req.me, perm.MANAGE_ROLES)
    role = role_of(req, guild)
    if role.id == guild.id or role.managed:
        raise ApiError(400, 50028, "Invalid role")
    require_above(guild, req.me, role)
    req.world.delete_role(guild, role)
    return Reply(None, 204)
