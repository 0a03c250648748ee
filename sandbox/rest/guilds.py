"""The guild object itself."""

from __future__ import annotations

from typing import Any

from sandbox import limits
from sandbox import permissions as perm
from sandbox.errors import FormErrors
from sandbox.rest.base import RestRequest, RouteTable
from sandbox.rest.common import guild_for_bot, parse_snowflake, require_guild
from sandbox.state import GUILD_STAGE_VOICE, GUILD_TEXT, GUILD_VOICE, Guild

routes = RouteTable()


@routes.route("GET", "/guilds/{guild_id}")
async def get_guild(req: RestRequest) -> dict[str, Any]:
    guild = guild_for_bot(req)
    data = guild.to_dict()
    if req.query.get("with_counts") in ("true", "True", "1"):
        data["approximate_member_count"] = len(guild.members)
        data["approximate_presence_count"] = 0
    return data


# settings a PATCH may change, with the values Discord accepts
_CHOICES: dict[str, tuple[int, ...]] = {
    "verification_level": (0, 1, 2, 3, 4),
    "default_message_notifications": (0, 1),
    "explicit_content_filter": (0, 1, 2),
    "afk_timeout": (60, 300, 900, 1800, 3600),
}
# channel settings and the channel types they may point at
_CHANNELS: dict[str, tuple[frozenset[int], str]] = {
    "system_channel_id": (frozenset({GUILD_TEXT}), "a text channel"),
    "afk_channel_id": (frozenset({GUILD_VOICE, GUILD_STAGE_VOICE}), "a voice channel"),
}


def _settings(guild: Guild, body: dict[str, Any]) -> dict[str, Any]:
    """The validated changes of a PATCH body, as Guild attribute -> value."""
    errors = FormErrors()
    changes: dict[str, Any] = {}
    if "name" in body:
        limits.check_length(errors, ("name",), body["name"], 2, 100, required=True)
        changes["name"] = body["name"]
    if "description" in body:
        limits.check_length(errors, ("description",), body["description"], 0, 120)
        changes["description"] = body["description"]
    for key, allowed in _CHOICES.items():
        if key not in body or body[key] is None:
            continue
        if body[key] not in allowed:
            errors.add((key,), "BASE_TYPE_CHOICES", f"Value must be one of {list(allowed)}.")
        else:
            changes[key] = body[key]
    for key, (types, what) in _CHANNELS.items():
        if key not in body:
            continue
        if body[key] is None:
            changes[key] = None
            continue
        channel = guild.channels.get(parse_snowflake(body[key], (key,)))
        if channel is None or channel.type not in types:
            errors.add((key,), "CHANNEL_TYPE_INVALID", f"Must be {what} of this guild.")
        else:
            changes[key] = channel.id
    if body.get("system_channel_flags") is not None:
        flags = body["system_channel_flags"]
        if not isinstance(flags, int) or flags < 0:
            errors.add(("system_channel_flags",), "NUMBER_TYPE_COERCE", "Value is not int.")
        else:
            changes["system_channel_flags"] = flags
    errors.raise_if_any()
    return changes


@routes.route("PATCH", "/guilds/{guild_id}")
async def edit_guild(req: RestRequest) -> dict[str, Any]:
    """Name, description and the settings a template may set; all or nothing."""
    guild = guild_for_bot(req)
    require_guild(guild, req.me, perm.PERMISSION_BITS["manage_guild"])
    for key, value in _settings(guild, req.body()).items():
        setattr(guild, key, value)
    req.world.emit("GUILD_UPDATE", guild.to_dict(), guild_id=guild.id)
    return guild.to_dict()
