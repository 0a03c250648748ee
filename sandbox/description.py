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
from sandbox.rest.channels import add_channel, position_group
from sandbox.state import CHANNEL_TYPE_NAMES, Channel, Guild

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


def _channel(
    world: World,
    guild: Guild,
    spec: dict[str, Any],
    parent: Channel | None,
    positions: dict[int, int],
) -> Channel:
    extra = {k: v for k, v in spec.items() if k not in _CHANNEL_KEYS}
    raw_type = spec.get("type", "text")
    kind = CHANNEL_TYPE_NAMES[raw_type] if isinstance(raw_type, str) else raw_type
    group = position_group(kind)
    if "position" not in extra:
        # Each channel goes last in its group, as Discord places a new channel; counted here
        # because finding the end anew for every channel is quadratic in large guilds.
        extra["position"] = positions.get(group, 0)
    positions[group] = max(positions.get(group, 0), int(extra["position"]) + 1)
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
    by_username = {m.user.username: m for m in guild.members.values()}
    for member in spec.get("members", []):
        existing = by_username.get(member["name"])
        if existing is not None:
            existing.roles += [guild.role(r).id for r in member.get("roles", [])]
            existing.nick = member.get("nick", existing.nick)
            continue
        added = world.add_member(
            guild, member["name"], roles=member.get("roles", []), nick=member.get("nick")
        )
        by_username[added.user.username] = added
    positions: dict[int, int] = {}  # next free position per position group
    for category in spec.get("categories", []):
        cat = _channel(world, guild, {**category, "type": "category"}, None, positions)
        for child in category.get("channels", []):
            _channel(world, guild, child, cat, positions)
    for channel in spec.get("channels", []):
        _channel(world, guild, channel, None, positions)
    return guild


def load_description(world: World, description: dict[str, Any]) -> list[Guild]:
    return [load_guild(world, spec) for spec in description.get("guilds", [])]
