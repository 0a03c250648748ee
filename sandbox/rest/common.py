"""Access and permission checks shared by the REST areas."""

from __future__ import annotations

from sandbox import permissions as perm
from sandbox.errors import ApiError, missing_access, missing_permissions
from sandbox.rest.base import RestRequest
from sandbox.state import Channel, Guild, Role


def guild_for_bot(req: RestRequest, name: str = "guild_id") -> Guild:
    """The guild of the path, if the bot is a member (else 10004 / 50001)."""
    return req.state.guild_of_member(req.snowflake(name), req.me)


def channel_for_bot(req: RestRequest, name: str = "channel_id") -> tuple[Guild | None, Channel]:
    """A channel the bot can see: guild member with VIEW_CHANNEL, or a DM of its own."""
    channel = req.state.channel(req.snowflake(name))
    if channel.guild_id is None:  # DMs in the sandbox are all the bot's own
        return None, channel
    guild = req.state.guild_of_member(channel.guild_id, req.me)
    if not guild.channel_permissions(req.me, channel) & perm.VIEW_CHANNEL:
        raise missing_access()
    return guild, channel


def require_guild(guild: Guild, user_id: int, bits: int) -> None:
    if not perm.has(guild.base_permissions(user_id), bits):
        raise missing_permissions()


def require_channel(guild: Guild | None, channel: Channel, user_id: int, bits: int) -> None:
    if guild is None:
        return
    if not perm.has(guild.channel_permissions(user_id, channel), bits):
        raise missing_permissions()


def require_above(guild: Guild, user_id: int, role: Role) -> None:
    """Role hierarchy: the bot may only manage roles below its highest one."""
    if user_id == guild.owner_id:
        return
    if guild.role_rank(role) >= guild.top_role_rank(user_id):
        raise missing_permissions()


def require_grantable(
    guild: Guild, user_id: int, bits: int, channel: Channel | None = None
) -> None:
    """Without Administrator, one can only grant or deny permissions one has."""
    have = guild.base_permissions(user_id)
    if have & perm.ADMINISTRATOR:
        return
    if channel is not None:
        have |= guild.channel_permissions(user_id, channel)
    if bits & ~have:
        raise missing_permissions()


def parse_snowflake(value: object, path: tuple[str | int, ...]) -> int:
    from sandbox.errors import FormErrors

    try:
        return int(str(value))
    except ValueError:
        errors = FormErrors()
        errors.add(path, "NUMBER_TYPE_COERCE", f'Value "{value}" is not snowflake.')
        errors.raise_if_any()
        raise AssertionError("unreachable") from None


def parse_bits(value: object, path: tuple[str | int, ...]) -> int:
    from sandbox.errors import FormErrors

    try:
        bits = int(str(value))
    except ValueError:
        bits = -1
    if bits < 0:
        errors = FormErrors()
        errors.add(path, "NUMBER_TYPE_COERCE", f'Value "{value}" is not int.')
        errors.raise_if_any()
    return bits


__all__ = [
    "ApiError",
    "channel_for_bot",
    "guild_for_bot",
    "parse_bits",
    "parse_snowflake",
    "require_above",
    "require_channel",
    "require_grantable",
    "require_guild",
]
