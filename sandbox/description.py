"""Builds guilds from a compact description (for tests, the driver and demos).

Example::

    {"guilds": [{
        "name": "Demo",
        "owner": "alice",
        "roles": [{"name": "Mod", "permissions": ["manage_guild"]}],   # listed top-down
        "members": [{"name": "alice"}, {"name": "bob", "roles": ["Mod"]}],
        "categories": [{"name": "Info", "channels": [
            {"name": "rules", "type": "text",
             "overwrites": {"@everyone": {"deny": ["send_messages"]}, "Mod": {"allow": [...]}}}
        ]}],
        "channels": [{"name": "general"}, {"name": "Lounge", "type": "voice"}],
    }]}

The bot joins each guild with a managed role named after it that has Administrator,
unless the guild says ``"bot": {"permissions": [...]}`` or ``"bot": false``. Optional:
``"everyone": [...]`` (@everyone permissions), ``"shard": [id, count]``, ``"premium_tier"``,
``"features": ["COMMUNITY"]`` (needed for stage and announcement channels).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox import permissions as perm
from sandbox.rest.channels import add_channel
from sandbox.state import Channel, Guild

if TYPE_CHECKING:
    from sandbox.world import World

_CHANNEL_KEYS = {"name", "type", "overwrites", "channels"}


def _overwrites(guild: Guild, spec: Any) -> list[dict[str, Any]]:
    if isinstance(spec, list):
        return spec
    result = []
    for target, bits in (spec or {}).items():
        if target == "@everyone":
            target_id, kind = guild.id, 0
        else:
            try:
                target_id, kind = guild.role(target).id, 0
            except KeyError:
                target_id, kind = guild.member(target).user.id, 1
        result.append(
            {
                "id": str(target_id),
                "type": kind,
                "allow": str(perm.parse_permissions(bits.get("allow", 0))),
                "deny": str(perm.parse_permissions(bits.get("deny", 0))),
            }
        )
    return result


def _channel(world: World, guild: Guild, spec: dict[str, Any], parent: Channel | None) -> Channel:
    extra = {k: v for k, v in spec.items() if k not in _CHANNEL_KEYS}
    return add_channel(
        world,
        guild,
        spec["name"],
        spec.get("type", "text"),
        parent=parent,
        overwrites=_overwrites(guild, spec.get("overwrites")),
        **extra,
    )


def load_guild(world: World, spec: dict[str, Any]) -> Guild:
    bot = spec.get("bot", {})
    shard = spec.get("shard")
    roles = spec.get("roles", [])
    guild = world.add_guild(
        spec["name"],
        owner=spec.get("owner"),
        shard=tuple(shard) if shard else None,
        bot_member=bot is not False,
        bot_permissions=(bot or {}).get("permissions", perm.ADMINISTRATOR),
        bot_role_position=len(roles) + 1,
        everyone_permissions=perm.parse_permissions(spec.get("everyone", perm.DEFAULT_EVERYONE)),
        premium_tier=spec.get("premium_tier", 0),
        features=spec.get("features", ()),
    )
    for index, role in enumerate(roles):  # listed top-down, all below the bot's own role
        world.add_role(
            guild,
            role["name"],
            permissions=role.get("permissions", 0),
            color=role.get("color", 0),
            hoist=role.get("hoist", False),
            mentionable=role.get("mentionable", False),
            position=len(roles) - index,
        )
    for member in spec.get("members", []):
        if member["name"] in {m.user.username for m in guild.members.values()}:
            existing = guild.member(member["name"])
            existing.roles += [guild.role(r).id for r in member.get("roles", [])]
            existing.nick = member.get("nick", existing.nick)
            continue
        world.add_member(
            guild, member["name"], roles=member.get("roles", []), nick=member.get("nick")
        )
    for category in spec.get("categories", []):
        cat = _channel(world, guild, {**category, "type": "category"}, None)
        for child in category.get("channels", []):
            _channel(world, guild, child, cat)
    for channel in spec.get("channels", []):
        _channel(world, guild, channel, None)
    return guild


def load_description(world: World, description: dict[str, Any]) -> list[Guild]:
    return [load_guild(world, spec) for spec in description.get("guilds", [])]
