"""Ids a server manager gives, checked to belong to that server.

A channel or role id is only ever looked up through its guild (`guild.get_channel`, never
the process-wide `bot.get_channel`), so an id from another server is refused when a rule,
dashboard or setting is saved and again when it is used."""

from __future__ import annotations

import nextcord

from bot.errors import UserError

# Discord ids are unsigned 64-bit in theory; the database stores them as signed BIGINT.
MAX_SNOWFLAKE = 2**63 - 1


class ForeignObject(UserError):
    """The id is not a channel or role of the guild in question (or is malformed)."""


def parse_snowflake(raw: object) -> int | None:
    """An id from user text: ASCII digits only (not '²'), at most 2**63 - 1; else None."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        return raw if 0 < raw <= MAX_SNOWFLAKE else None
    text = str(raw).strip()
    if not text or len(text) > 19 or not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if 0 < value <= MAX_SNOWFLAKE else None


def guild_of(client: nextcord.Client, guild_id: int) -> nextcord.Guild:
    guild = client.get_guild(guild_id)
    if guild is None:
        raise ForeignObject("The bot cannot see that server right now.")
    return guild


def text_channel_of(
    client: nextcord.Client, guild_id: int, channel_id: object
) -> nextcord.TextChannel:
    """The text (or announcement) channel `channel_id` of guild `guild_id`, else ForeignObject."""
    parsed = parse_snowflake(channel_id)
    if parsed is None:
        raise ForeignObject(f"channel {str(channel_id)[:40]!r} is not a channel id.")
    channel = guild_of(client, guild_id).get_channel(parsed)
    if not isinstance(channel, nextcord.TextChannel):
        raise ForeignObject(f"channel {parsed} is not a text channel of this server.")
    return channel


def role_of(client: nextcord.Client, guild_id: int, role_id: object) -> nextcord.Role:
    """The role `role_id` of guild `guild_id`, else ForeignObject (@everyone is refused:
    pinging it is not a role mention)."""
    parsed = parse_snowflake(role_id)
    if parsed is None:
        raise ForeignObject(f"role {str(role_id)[:40]!r} is not a role id.")
    guild = guild_of(client, guild_id)
    role = guild.get_role(parsed)
    if role is None or role.is_default():
        raise ForeignObject(f"role {parsed} is not a role of this server.")
    return role
