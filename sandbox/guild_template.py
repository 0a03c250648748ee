"""Server templates: a guild's settings, roles and channels with template-local ids.

Discord numbers a template's roles from 0 (@everyone) and its channels from 1; channel
``parent_id``, overwrite ids and the AFK/system channel refer to those numbers. The spec
types those references as snowflake strings, so they are sent as digit strings ("1").
Templates hold only text, voice, category and forum channels (the spec's channel type
enum): announcement channels become text, stage voice, media forum; threads and the
bot's managed roles are left out, and so are member overwrites.
"""

from __future__ import annotations

import secrets
import string
from typing import Any

from sandbox.snowflake import iso_timestamp
from sandbox.state import (
    GUILD_ANNOUNCEMENT,
    GUILD_CATEGORY,
    GUILD_FORUM,
    GUILD_MEDIA,
    GUILD_STAGE_VOICE,
    GUILD_TEXT,
    GUILD_VOICE,
    Channel,
    Guild,
    GuildTemplate,
    Role,
    SandboxState,
)

TEMPLATE_TYPE = {
    GUILD_TEXT: GUILD_TEXT,
    GUILD_ANNOUNCEMENT: GUILD_TEXT,
    GUILD_VOICE: GUILD_VOICE,
    GUILD_STAGE_VOICE: GUILD_VOICE,
    GUILD_CATEGORY: GUILD_CATEGORY,
    GUILD_FORUM: GUILD_FORUM,
    GUILD_MEDIA: GUILD_FORUM,
}
ARCHIVE_DURATIONS = (60, 1440, 4320, 10080)
_CODE_ALPHABET = string.ascii_letters + string.digits


def template_roles(guild: Guild) -> list[Role]:
    """@everyone first, then the other unmanaged roles from the bottom up."""
    others = [r for r in guild.sorted_roles() if r.id != guild.id and not r.managed]
    return [guild.everyone, *others]


def _group(channel: Channel) -> int:
    return 1 if channel.type in (GUILD_VOICE, GUILD_STAGE_VOICE) else 0


def template_channels(guild: Guild) -> list[Channel]:
    """Channels in sidebar order: loose ones, then each category followed by its children."""

    def key(c: Channel) -> tuple[int, int, int]:
        return (_group(c), c.position, c.id)

    channels = [c for c in guild.channels.values() if c.type in TEMPLATE_TYPE]
    loose = [c for c in channels if c.parent_id is None and c.type != GUILD_CATEGORY]
    ordered = sorted(loose, key=key)
    categories = sorted(
        (c for c in channels if c.type == GUILD_CATEGORY), key=lambda c: (c.position, c.id)
    )
    for category in categories:
        ordered.append(category)
        ordered += sorted((c for c in channels if c.parent_id == category.id), key=key)
    return ordered


def _local(ids: dict[int, int], value: int | None) -> str | None:
    return str(ids[value]) if value is not None and value in ids else None


def _role_dict(role: Role, local_id: int) -> dict[str, Any]:
    return {
        "id": local_id,
        "name": role.name,
        "permissions": str(role.permissions),
        "color": role.color,
        "colors": {"primary_color": role.color, "secondary_color": None, "tertiary_color": None},
        "hoist": role.hoist,
        "mentionable": role.mentionable,
        "icon": None,
        "unicode_emoji": None,
    }


def _channel_dict(
    channel: Channel, local_id: int, role_ids: dict[int, int], channel_ids: dict[int, int]
) -> dict[str, Any]:
    kind = TEMPLATE_TYPE[channel.type]
    duration = channel.extra.get("default_auto_archive_duration")
    forum = kind == GUILD_FORUM
    return {
        "id": local_id,
        "type": kind,
        "name": channel.name,
        "position": channel.position,
        "topic": channel.topic if kind in (GUILD_TEXT, GUILD_FORUM) else None,
        "bitrate": channel.bitrate,
        "user_limit": channel.user_limit,
        "nsfw": channel.nsfw,
        "rate_limit_per_user": channel.rate_limit_per_user,
        "parent_id": _local(channel_ids, channel.parent_id),
        "default_auto_archive_duration": duration if duration in ARCHIVE_DURATIONS else None,
        "permission_overwrites": [
            {
                "id": str(role_ids[ow.id]),
                "type": 0,
                "allow": str(ow.allow),
                "deny": str(ow.deny),
            }
            for ow in channel.overwrites.values()
            if ow.type == 0 and ow.id in role_ids
        ],
        "available_tags": (
            [
                {
                    "id": None,
                    "name": tag.get("name", ""),
                    "emoji_id": tag.get("emoji_id"),
                    "emoji_name": tag.get("emoji_name"),
                    "moderated": bool(tag.get("moderated", False)),
                }
                for tag in channel.available_tags
            ]
            if forum
            else None
        ),
        "template": "",
        "default_reaction_emoji": None,
        "default_thread_rate_limit_per_user": (
            channel.extra.get("default_thread_rate_limit_per_user", 0) if forum else None
        ),
        "default_sort_order": None,
        "default_forum_layout": None,
        "default_tag_setting": None,
        "theme_color": None,
    }


def snapshot(guild: Guild) -> dict[str, Any]:
    """``serialized_source_guild``: what a template of ``guild`` holds right now."""
    roles = template_roles(guild)
    role_ids = {role.id: index for index, role in enumerate(roles)}
    channels = template_channels(guild)
    channel_ids = {channel.id: index for index, channel in enumerate(channels, start=1)}
    return {
        "name": guild.name,
        "description": guild.description,
        "region": None,
        "verification_level": guild.verification_level,
        "default_message_notifications": guild.default_message_notifications,
        "explicit_content_filter": guild.explicit_content_filter,
        "preferred_locale": "en-US",
        "afk_channel_id": _local(channel_ids, guild.afk_channel_id),
        "afk_timeout": guild.afk_timeout,
        "system_channel_id": _local(channel_ids, guild.system_channel_id),
        "system_channel_flags": guild.system_channel_flags,
        "roles": [_role_dict(role, role_ids[role.id]) for role in roles],
        "channels": [
            _channel_dict(channel, channel_ids[channel.id], role_ids, channel_ids)
            for channel in channels
        ],
    }


def new_code() -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))


def make_template(
    state: SandboxState, guild: Guild, name: str, description: str | None, creator_id: int
) -> GuildTemplate:
    """A template of ``guild`` as it is now, stored under a fresh code."""
    stamp = iso_timestamp(state.new_id())
    template = GuildTemplate(
        code=new_code(),
        name=name,
        description=description,
        creator_id=creator_id,
        source_guild_id=guild.id,
        created_at=stamp,
        updated_at=stamp,
        snapshot=snapshot(guild),
    )
    state.templates[template.code] = template
    return template


def template_dict(state: SandboxState, template: GuildTemplate) -> dict[str, Any]:
    """The GuildTemplateResponse; ``is_dirty`` true once the guild changed since."""
    guild = state.guilds.get(template.source_guild_id)
    creator = state.users.get(template.creator_id)
    dirty = guild is not None and snapshot(guild) != template.snapshot
    return {
        "code": template.code,
        "name": template.name,
        "description": template.description,
        "usage_count": template.usage_count,
        "creator_id": str(template.creator_id),
        "creator": creator.to_dict() if creator else None,
        "created_at": template.created_at,
        "updated_at": template.updated_at,
        "source_guild_id": str(template.source_guild_id),
        "serialized_source_guild": template.snapshot,
        "is_dirty": True if dirty else None,
    }
