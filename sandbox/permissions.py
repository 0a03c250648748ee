"""Discord permission bits and the permission computation, as pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PERMISSION_BITS: dict[str, int] = {
    "create_instant_invite": 1 << 0,
    "kick_members": 1 << 1,
    "ban_members": 1 << 2,
    "administrator": 1 << 3,
    "manage_channels": 1 << 4,
    "manage_guild": 1 << 5,
    "add_reactions": 1 << 6,
    "view_audit_log": 1 << 7,
    "priority_speaker": 1 << 8,
    "stream": 1 << 9,
    "view_channel": 1 << 10,
    "send_messages": 1 << 11,
    "send_tts_messages": 1 << 12,
    "manage_messages": 1 << 13,
    "embed_links": 1 << 14,
    "attach_files": 1 << 15,
    "read_message_history": 1 << 16,
    "mention_everyone": 1 << 17,
    "use_external_emojis": 1 << 18,
    "view_guild_insights": 1 << 19,
    "connect": 1 << 20,
    "speak": 1 << 21,
    "mute_members": 1 << 22,
    "deafen_members": 1 << 23,
    "move_members": 1 << 24,
    "use_vad": 1 << 25,
    "change_nickname": 1 << 26,
    "manage_nicknames": 1 << 27,
    "manage_roles": 1 << 28,
    "manage_webhooks": 1 << 29,
    "manage_guild_expressions": 1 << 30,
    "use_application_commands": 1 << 31,
    "request_to_speak": 1 << 32,
    "manage_events": 1 << 33,
    "manage_threads": 1 << 34,
    "create_public_threads": 1 << 35,
    "create_private_threads": 1 << 36,
    "use_external_stickers": 1 << 37,
    "send_messages_in_threads": 1 << 38,
    "use_embedded_activities": 1 << 39,
    "moderate_members": 1 << 40,
    "view_creator_monetization_analytics": 1 << 41,
    "use_soundboard": 1 << 42,
    "create_guild_expressions": 1 << 43,
    "create_events": 1 << 44,
    "use_external_sounds": 1 << 45,
    "send_voice_messages": 1 << 46,
    "send_polls": 1 << 49,
    "use_external_apps": 1 << 50,
    "pin_messages": 1 << 51,
}

ALL_PERMISSIONS = 0
for _bit in PERMISSION_BITS.values():
    ALL_PERMISSIONS |= _bit

ADMINISTRATOR = PERMISSION_BITS["administrator"]
VIEW_CHANNEL = PERMISSION_BITS["view_channel"]
SEND_MESSAGES = PERMISSION_BITS["send_messages"]
MANAGE_CHANNELS = PERMISSION_BITS["manage_channels"]
MANAGE_ROLES = PERMISSION_BITS["manage_roles"]
MANAGE_MESSAGES = PERMISSION_BITS["manage_messages"]
EMBED_LINKS = PERMISSION_BITS["embed_links"]
ATTACH_FILES = PERMISSION_BITS["attach_files"]
READ_MESSAGE_HISTORY = PERMISSION_BITS["read_message_history"]
ADD_REACTIONS = PERMISSION_BITS["add_reactions"]

# Text permissions that are lost together with SEND_MESSAGES in a channel.
_NEEDS_SEND = (
    PERMISSION_BITS["mention_everyone"]
    | PERMISSION_BITS["send_tts_messages"]
    | ATTACH_FILES
    | EMBED_LINKS
)

DEFAULT_EVERYONE = (
    PERMISSION_BITS["create_instant_invite"]
    | PERMISSION_BITS["add_reactions"]
    | PERMISSION_BITS["stream"]
    | VIEW_CHANNEL
    | SEND_MESSAGES
    | EMBED_LINKS
    | ATTACH_FILES
    | READ_MESSAGE_HISTORY
    | PERMISSION_BITS["mention_everyone"]
    | PERMISSION_BITS["use_external_emojis"]
    | PERMISSION_BITS["connect"]
    | PERMISSION_BITS["speak"]
    | PERMISSION_BITS["use_vad"]
    | PERMISSION_BITS["change_nickname"]
    | PERMISSION_BITS["use_application_commands"]
    | PERMISSION_BITS["request_to_speak"]
    | PERMISSION_BITS["create_public_threads"]
    | PERMISSION_BITS["create_private_threads"]
    | PERMISSION_BITS["send_messages_in_threads"]
)

ROLE = 0
MEMBER = 1


def parse_permissions(value: int | str | Iterable[str]) -> int:
    """Bits from an int, a decimal string or names like ``["manage_guild"]``."""
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if value.isdigit():
            return int(value)
        value = [value]
    bits = 0
    for name in value:
        key = name.lower().replace(" ", "_")
        if key not in PERMISSION_BITS:
            raise ValueError(f"unknown permission {name!r}")
        bits |= PERMISSION_BITS[key]
    return bits


def permission_names(bits: int) -> list[str]:
    return [name for name, bit in PERMISSION_BITS.items() if bits & bit]


@dataclass(frozen=True)
class OverwriteBits:
    """One channel permission overwrite: target id, type (0 role, 1 member), bits."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0


def base_permissions(
    *,
    guild_id: int,
    owner_id: int,
    member_id: int,
    member_role_ids: Iterable[int],
    role_permissions: Mapping[int, int],
) -> int:
    """Guild-wide permissions: @everyone | member roles; owner and admin get all.

    ``role_permissions`` maps role id to its bits; the @everyone role's id is the
    guild id.
    """
    if member_id == owner_id:
        return ALL_PERMISSIONS
    perms = role_permissions.get(guild_id, 0)
    for role_id in member_role_ids:
        perms |= role_permissions.get(role_id, 0)
    if perms & ADMINISTRATOR:
        return ALL_PERMISSIONS
    return perms


def apply_overwrites(
    base: int,
    *,
    guild_id: int,
    member_id: int,
    member_role_ids: Iterable[int],
    overwrites: Iterable[OverwriteBits],
    text_channel: bool = True,
) -> int:
    """Channel permissions from ``base`` and the channel's own overwrites.

    Order: @everyone overwrite, then the roles' denies and allows combined,
    then the member's overwrite. Without VIEW_CHANNEL nothing is left; without
    SEND_MESSAGES in a text channel the send-dependent bits go too.
    """
    if base & ADMINISTRATOR:
        return ALL_PERMISSIONS
    by_key = {(o.type, o.id): o for o in overwrites}
    perms = base
    everyone = by_key.get((ROLE, guild_id))
    if everyone:
        perms = (perms & ~everyone.deny) | everyone.allow
    role_ids = set(member_role_ids)
    allow = deny = 0
    for (kind, target), ow in by_key.items():
        if kind == ROLE and target != guild_id and target in role_ids:
            allow |= ow.allow
            deny |= ow.deny
    perms = (perms & ~deny) | allow
    member = by_key.get((MEMBER, member_id))
    if member:
        perms = (perms & ~member.deny) | member.allow
    if not perms & VIEW_CHANNEL:
        return 0
    if text_channel and not perms & SEND_MESSAGES:
        perms &= ~_NEEDS_SEND
    return perms


def has(perms: int, required: int) -> bool:
    return perms & required == required
