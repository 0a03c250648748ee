"""Reset a running sandbox to a fresh world without disconnecting the bot.

Every guild goes away as it would on Discord when the bot is removed (GUILD_DELETE to the
bot, for the guilds it was in), then the guilds of a description are built anew (GUILD_CREATE).
Accounts stay: users keep their ids, so signed-in people and bot owners are still who they
were, and the application keeps its id, token and global commands, so the connected bot
carries on. Everything that belonged to a removed guild (channels, their messages and
attachments, guild commands, and any other state entry with that ``guild_id``) is dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sandbox.server import SandboxServer
    from sandbox.state import Guild


def _drop_guild_entries(container: dict[Any, Any], guild_ids: set[int]) -> None:
    for key, value in list(container.items()):
        if getattr(value, "guild_id", None) in guild_ids:
            del container[key]


def reset_world(server: SandboxServer, description: dict[str, Any]) -> list[Guild]:
    """Replace every guild with those of ``description``; returns the new guilds."""
    state = server.state
    removed = set(state.guilds)
    channel_ids = {cid for guild in state.guilds.values() for cid in guild.channels}
    for guild in list(state.guilds.values()):
        if server.bot_user_id in guild.members:
            server.remove_member(guild, server.bot_user)  # GUILD_DELETE: the bot was removed
    for channel_id in channel_ids:
        for message in state.messages.pop(channel_id, {}).values():
            for attachment in message.attachments:
                server.attachments.pop(attachment.id, None)
    # Generic, so state added later (threads, webhooks...) that names its guild goes too.
    for value in list(vars(state).values()):
        if isinstance(value, dict) and value is not state.guilds:
            _drop_guild_entries(value, removed)
    for channel_id in channel_ids:
        state.channels.pop(channel_id, None)
    state.guilds.clear()
    server.notify_changed()
    return server.load(description)
