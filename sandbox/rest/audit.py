"""The guild audit log: who changed a channel or a role, kept per guild as Discord keeps it
(newest first), for updates made through REST or by members (`Actions.edit_channel_as`,
`Actions.edit_role_as`).

GET /guilds/{guild_id}/audit-logs needs View Audit Log; `limit` (1-100, default 50),
`action_type`, `user_id` and `before` filter as Discord's do."""

from __future__ import annotations

from typing import Any

from sandbox import permissions as perm
from sandbox.rest.base import RestRequest, RouteTable
from sandbox.rest.common import guild_for_bot, require_guild
from sandbox.state import Channel, Guild, Role

routes = RouteTable()

CHANNEL_UPDATE = 11
ROLE_UPDATE = 31
KEPT = 500  # entries kept per guild in memory
VIEW_AUDIT_LOG = perm.PERMISSION_BITS["view_audit_log"]
_KEYS = ("name", "topic", "position", "parent_id", "nsfw", "rate_limit_per_user")
_ROLE_KEYS = ("name", "permissions", "color", "hoist", "mentionable")


def _overwrites(channel: Channel) -> list[dict[str, Any]]:
    return sorted((o.to_dict() for o in channel.overwrites.values()), key=lambda o: o["id"])


def channel_state(channel: Channel) -> dict[str, Any]:
    """What a channel-update entry compares."""
    data = channel.to_dict()
    state = {key: data.get(key) for key in _KEYS}
    state["permission_overwrites"] = _overwrites(channel)
    return state


def role_state(role: Role) -> dict[str, Any]:
    """What a role-update entry compares."""
    data = role.to_dict()
    return {key: data.get(key) for key in _ROLE_KEYS}


def record_channel_update(
    world: Any, guild: Guild, user_id: int, channel: Channel, before: dict[str, Any]
) -> None:
    """An entry for a channel update by `user_id`, with the keys that changed."""
    _record(world, guild, user_id, CHANNEL_UPDATE, channel.id, before, channel_state(channel))


def record_role_update(
    world: Any, guild: Guild, user_id: int, role: Role, before: dict[str, Any]
) -> None:
    """An entry for a role update by `user_id`, with the keys that changed."""
    _record(world, guild, user_id, ROLE_UPDATE, role.id, before, role_state(role))


def _record(
    world: Any,
    guild: Guild,
    user_id: int,
    action_type: int,
    target_id: int,
    before: dict[str, Any],
    after: dict[str, Any],
) -> None:
    changes = [
        {"key": key, "old_value": before.get(key), "new_value": after.get(key)}
        for key in after
        if before.get(key) != after.get(key)
    ]
    if not changes:
        return
    entries = world.audit_logs.setdefault(guild.id, [])  # newest first
    entries.insert(
        0,
        {
            "id": str(world.state.new_id()),
            "action_type": action_type,
            "user_id": str(user_id),
            "target_id": str(target_id),
            "changes": changes,
        },
    )
    del entries[KEPT:]


def entries_of(world: Any, guild_id: int) -> list[dict[str, Any]]:
    return list(world.audit_logs.get(guild_id, []))


@routes.route("GET", "/guilds/{guild_id}/audit-logs")
async def list_audit_log(req: RestRequest) -> dict[str, Any]:
    guild = guild_for_bot(req)
    require_guild(guild, req.me, VIEW_AUDIT_LOG)
    query = req.query
    limit = req.query_int("limit", 50, 1, 100)
    found = entries_of(req.world, guild.id)
    if query.get("action_type"):
        found = [e for e in found if str(e["action_type"]) == query["action_type"]]
    if query.get("user_id"):
        found = [e for e in found if e["user_id"] == query["user_id"]]
    if query.get("before"):
        found = [e for e in found if int(e["id"]) < int(query["before"])]
    found = found[:limit]
    users = []
    for user_id in dict.fromkeys(int(e["user_id"]) for e in found):
        member = guild.members.get(user_id)
        if member is not None:
            users.append(member.user.to_dict())
    return {
        "audit_log_entries": found,
        "users": users,
        "integrations": [],
        "webhooks": [],
        "guild_scheduled_events": [],
        "threads": [],
        "application_commands": [],
        "auto_moderation_rules": [],
    }
