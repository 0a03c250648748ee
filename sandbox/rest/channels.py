"""Guild channels: create, edit, delete, reorder and permission overwrites."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from sandbox import limits
from sandbox import permissions as perm
from sandbox.errors import ApiError, FormErrors, unknown
from sandbox.rest import audit
from sandbox.rest.base import RateLimitedReply, Reply, RestRequest, RouteTable
from sandbox.rest.common import (
    channel_for_bot,
    guild_for_bot,
    parse_bits,
    parse_snowflake,
    require_channel,
    require_grantable,
    require_guild,
)
from sandbox.state import (
    CHANNEL_TYPE_NAMES,
    GUILD_ANNOUNCEMENT,
    GUILD_CATEGORY,
    GUILD_CHANNEL_TYPES,
    GUILD_FORUM,
    GUILD_MEDIA,
    GUILD_STAGE_VOICE,
    GUILD_TEXT,
    GUILD_VOICE,
    Channel,
    Guild,
    Overwrite,
    SandboxState,
)

if TYPE_CHECKING:
    from sandbox.world import World

routes = RouteTable()

_EXTRA_FIELDS = (
    "default_auto_archive_duration",
    "default_thread_rate_limit_per_user",
    "default_reaction_emoji",
    "default_sort_order",
    "default_forum_layout",
    "rtc_region",
    "video_quality_mode",
)


def parse_overwrites(state: SandboxState, guild: Guild, raw: list[Any]) -> dict[int, Overwrite]:
    result: dict[int, Overwrite] = {}
    for i, item in enumerate(raw):
        target = parse_snowflake(item.get("id"), ("permission_overwrites", i, "id"))
        kind = item.get("type")
        kind = {"role": 0, "member": 1}.get(kind, kind)
        kind = int(kind) if str(kind).isdigit() else 0
        if kind == 0 and target not in guild.roles:
            raise unknown("Role")
        if kind == 1 and target not in state.users:
            raise unknown("User")
        result[target] = Overwrite(
            id=target,
            type=kind,
            allow=parse_bits(item.get("allow") or 0, ("permission_overwrites", i, "allow")),
            deny=parse_bits(item.get("deny") or 0, ("permission_overwrites", i, "deny")),
        )
    return result


def overwrite_bits(overwrites: dict[int, Overwrite]) -> int:
    bits = 0
    for ow in overwrites.values():
        bits |= ow.allow | ow.deny
    return bits


def _check_parent(guild: Guild, parent_id: Any, channel_id: int | None) -> int | None:
    if parent_id is None:
        return None
    errors = FormErrors()
    parent = guild.channels.get(parse_snowflake(parent_id, ("parent_id",)))
    if parent is None or parent.type != GUILD_CATEGORY:
        errors.add(("parent_id",), "CHANNEL_PARENT_INVALID_TYPE", "Not a category")
        errors.raise_if_any()
        raise AssertionError("unreachable")
    children = [
        c for c in guild.channels.values() if c.parent_id == parent.id and c.id != channel_id
    ]
    if len(children) >= limits.MAX_PER_CATEGORY:
        errors.add(
            ("parent_id",),
            "CHANNEL_PARENT_MAX_CHANNELS",
            f"Maximum number of channels in category reached ({limits.MAX_PER_CATEGORY})",
        )
        errors.raise_if_any()
    return parent.id


def position_group(type: int) -> int:
    if type == GUILD_CATEGORY:
        return 2
    return 1 if type in (GUILD_VOICE, GUILD_STAGE_VOICE) else 0


COMMUNITY_ONLY = frozenset({GUILD_ANNOUNCEMENT, GUILD_STAGE_VOICE})


def require_community_for(guild: Guild, kind: object) -> None:
    """Stage and announcement channels exist only in Community guilds (Discord's answers)."""
    if kind not in COMMUNITY_ONLY or "COMMUNITY" in guild.features:
        return
    if kind == GUILD_STAGE_VOICE:
        raise ApiError(400, 50024, "Cannot execute action on this channel type")
    allowed = sorted(GUILD_CHANNEL_TYPES - COMMUNITY_ONLY)
    errors = FormErrors()
    errors.add(("type",), "BASE_TYPE_CHOICES", f"Value must be one of {allowed}.")
    errors.raise_if_any()


def build_channel(state: SandboxState, guild: Guild, payload: dict[str, Any]) -> Channel:
    """A new channel from a create payload, validated against Discord's limits."""
    kind = payload.get("type", GUILD_TEXT)
    if kind is None:
        kind = GUILD_TEXT
    limits.check_channel(payload, type=kind, premium_tier=guild.premium_tier, creating=True)
    require_community_for(guild, kind)
    if len(guild.channels) >= limits.MAX_CHANNELS:
        raise ApiError(
            400, 30013, f"Maximum number of guild channels reached ({limits.MAX_CHANNELS})"
        )
    parent_id = _check_parent(guild, payload.get("parent_id"), None)
    position = payload.get("position")
    if position is None:
        group = position_group(kind)
        position = 1 + max(
            (c.position for c in guild.channels.values() if position_group(c.type) == group),
            default=-1,
        )
    channel = Channel(
        id=state.new_id(),
        type=kind,
        guild_id=guild.id,
        name=limits.normalise_channel_name(payload["name"], kind),
        position=position,
        parent_id=parent_id,
        topic=payload.get("topic"),
        nsfw=bool(payload.get("nsfw", False)),
        rate_limit_per_user=payload.get("rate_limit_per_user") or 0,
        bitrate=payload.get("bitrate") or 64000,
        user_limit=payload.get("user_limit") or 0,
        overwrites=parse_overwrites(state, guild, payload.get("permission_overwrites") or []),
        available_tags=_tags(state, payload.get("available_tags") or []),
        extra={k: payload[k] for k in _EXTRA_FIELDS if k in payload},
    )
    return channel


def add_channel(
    world: World,
    guild: Guild,
    name: str,
    type: int | str = 0,
    *,
    parent: Channel | None = None,
    overwrites: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> Channel:
    """A channel built through the same validation as POST /guilds/{g}/channels."""
    kind = CHANNEL_TYPE_NAMES[type] if isinstance(type, str) else type
    payload: dict[str, Any] = {"name": name, "type": kind, **fields}
    if parent is not None:
        payload["parent_id"] = str(parent.id)
    if overwrites:
        payload["permission_overwrites"] = overwrites
    channel = build_channel(world.state, guild, payload)
    world.store_channel(guild, channel)
    return channel


def _tags(state: SandboxState, raw: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "id": str(tag.get("id") or state.new_id()),
            "name": tag.get("name", ""),
            "moderated": bool(tag.get("moderated", False)),
            "emoji_id": tag.get("emoji_id"),
            "emoji_name": tag.get("emoji_name"),
        }
        for tag in raw
    ]


def update_channel(state: SandboxState, guild: Guild, channel: Channel, payload: dict) -> None:
    """Apply a PATCH payload to ``channel`` after validating it."""
    kind = payload.get("type", channel.type)
    if kind != channel.type and {kind, channel.type} != {GUILD_TEXT, GUILD_ANNOUNCEMENT}:
        errors = FormErrors()
        errors.add(("type",), "CHANNEL_TYPE_INVALID", "Cannot change the type of this channel")
        errors.raise_if_any()
    if kind != channel.type:
        require_community_for(guild, kind)
    limits.check_channel(payload, type=kind, premium_tier=guild.premium_tier, creating=False)
    if "parent_id" in payload:
        channel.parent_id = _check_parent(guild, payload["parent_id"], channel.id)
    if "permission_overwrites" in payload:
        channel.overwrites = parse_overwrites(
            state, guild, payload.get("permission_overwrites") or []
        )
    channel.type = kind
    if "name" in payload:
        channel.name = limits.normalise_channel_name(payload["name"], kind)
    for key in ("topic", "position", "rate_limit_per_user", "bitrate", "user_limit"):
        if key in payload:
            setattr(channel, key, payload[key] if payload[key] is not None else 0)
    if "topic" in payload:
        channel.topic = payload["topic"]
    if "nsfw" in payload:
        channel.nsfw = bool(payload["nsfw"])
    if "available_tags" in payload:
        channel.available_tags = _tags(state, payload["available_tags"] or [])
    for key in _EXTRA_FIELDS:
        if key in payload:
            channel.extra[key] = payload[key]


@routes.route("GET", "/guilds/{guild_id}/channels")
async def list_channels(req: RestRequest) -> list[dict[str, Any]]:
    guild = guild_for_bot(req)
    return [c.to_dict() for c in guild.channels.values()]


@routes.route("POST", "/guilds/{guild_id}/channels")
async def create_channel(req: RestRequest) -> Reply:
    guild = guild_for_bot(req)
    require_guild(guild, req.me, perm.MANAGE_CHANNELS)
    if req.limiter is not None:
        decision = req.limiter.channel_creations_left(str(guild.id))
        if not decision.allowed:
            raise RateLimitedReply(decision)
    payload = req.body()
    channel = build_channel(req.state, guild, payload)
    if channel.overwrites:
        require_guild(guild, req.me, perm.MANAGE_ROLES)
        require_grantable(guild, req.me, overwrite_bits(channel.overwrites))
    req.world.store_channel(guild, channel)
    if req.limiter is not None:
        req.limiter.count_channel_creation(str(guild.id))
    return Reply(channel.to_dict(), 201)


@routes.route("PATCH", "/guilds/{guild_id}/channels")
async def reorder_channels(req: RestRequest) -> Reply:
    guild = guild_for_bot(req)
    require_guild(guild, req.me, perm.MANAGE_CHANNELS)
    entries = req.json if isinstance(req.json, list) else None
    if entries is None:
        raise ApiError(400, 50035, "Invalid Form Body")
    parsed: list[tuple[Channel, dict[str, Any]]] = []
    parent_changes = 0
    for i, entry in enumerate(entries):
        channel = guild.channels.get(parse_snowflake(entry.get("id"), (str(i), "id")))
        if channel is None:
            raise unknown("Channel")
        if "parent_id" in entry and str(entry["parent_id"]) != str(channel.parent_id):
            parent_changes += 1
        parsed.append((channel, entry))
    if parent_changes > 1:
        raise ApiError(400, 40009, "Only one channel can have a parent_id modified at a time")
    changed = []
    for channel, entry in parsed:
        before = copy.deepcopy(channel.to_dict())
        if "parent_id" in entry:
            channel.parent_id = _check_parent(guild, entry["parent_id"], channel.id)
        if entry.get("position") is not None:
            channel.position = int(entry["position"])
        if entry.get("lock_permissions") and channel.parent_id is not None:
            parent = guild.channels[channel.parent_id]
            channel.overwrites = copy.deepcopy(parent.overwrites)
        if channel.to_dict() != before:
            changed.append(channel)
    for channel in changed:
        req.world.emit("CHANNEL_UPDATE", channel.to_dict(), guild_id=guild.id)
    return Reply(None, 204)


@routes.route("GET", "/channels/{channel_id}")
async def get_channel(req: RestRequest) -> dict[str, Any]:
    return channel_for_bot(req)[1].to_dict()


@routes.route("PATCH", "/channels/{channel_id}")
async def edit_channel(req: RestRequest) -> dict[str, Any]:
    guild, channel = channel_for_bot(req)
    if guild is None:
        raise ApiError(403, 50003, "Cannot execute action on a DM channel")
    require_channel(guild, channel, req.me, perm.MANAGE_CHANNELS)
    payload = req.body()
    if "permission_overwrites" in payload:
        require_channel(guild, channel, req.me, perm.MANAGE_ROLES)
        new = parse_overwrites(req.state, guild, payload["permission_overwrites"] or [])
        require_grantable(guild, req.me, overwrite_bits(new), channel)
    renames = ("name" in payload and payload["name"] != channel.name) or (
        "topic" in payload and payload["topic"] != channel.topic
    )
    if renames and req.limiter is not None:
        decision = req.limiter.check_channel_rename(str(channel.id))
        if not decision.allowed:
            raise RateLimitedReply(decision)
    before = audit.channel_state(channel)
    update_channel(req.state, guild, channel, payload)
    audit.record_channel_update(req.world, guild, req.me, channel, before)
    req.world.emit("CHANNEL_UPDATE", channel.to_dict(), guild_id=guild.id)
    return channel.to_dict()


@routes.route("DELETE", "/channels/{channel_id}")
async def delete_channel(req: RestRequest) -> dict[str, Any]:
    guild, channel = channel_for_bot(req)
    if guild is None:
        return channel.to_dict()
    require_channel(guild, channel, req.me, perm.MANAGE_CHANNELS)
    return req.world.delete_channel(guild, channel)


@routes.route("PUT", "/channels/{channel_id}/permissions/{overwrite_id}")
async def put_overwrite(req: RestRequest) -> Reply:
    guild, channel = channel_for_bot(req)
    if guild is None:
        raise ApiError(403, 50003, "Cannot execute action on a DM channel")
    require_channel(guild, channel, req.me, perm.MANAGE_ROLES)
    body = req.body()
    item = {**body, "id": req.params["overwrite_id"]}
    if "type" not in body:
        errors = FormErrors()
        errors.add(("type",), "BASE_TYPE_REQUIRED", "This field is required")
        errors.raise_if_any()
    overwrite = parse_overwrites(req.state, guild, [item])[req.snowflake("overwrite_id")]
    require_grantable(guild, req.me, overwrite.allow | overwrite.deny, channel)
    channel.overwrites[overwrite.id] = overwrite
    req.world.emit("CHANNEL_UPDATE", channel.to_dict(), guild_id=guild.id)
    return Reply(None, 204)


@routes.route("DELETE", "/channels/{channel_id}/permissions/{overwrite_id}")
async def delete_overwrite(req: RestRequest) -> Reply:
    guild, channel = channel_for_bot(req)
    if guild is None:
        raise ApiError(403, 50003, "Cannot execute action on a DM channel")
    require_channel(guild, channel, req.me, perm.MANAGE_ROLES)
    if channel.overwrites.pop(req.snowflake("overwrite_id"), None) is not None:
        req.world.emit("CHANNEL_UPDATE", channel.to_dict(), guild_id=guild.id)
    return Reply(None, 204)


__all__ = [
    "GUILD_FORUM",
    "GUILD_MEDIA",
    "add_channel",
    "build_channel",
    "parse_overwrites",
    "update_channel",
]
