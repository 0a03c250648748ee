"""Resetting a running sandbox: the connected bot sees the old guild removed and the new
one added; accounts, the application and its global commands stay."""

from __future__ import annotations

import asyncio

import nextcord
from nextcord.ext import commands

from sandbox.server import SandboxServer
from sandbox.state import ApplicationCommand, Attachment, Guild
from sandbox.world_reset import reset_world
from tests.sandbox.conftest import DEMO


async def test_reset_replaces_the_guilds_and_the_bot_follows(
    sandbox: SandboxServer, demo: Guild, nextcord_bot: commands.Bot
) -> None:
    removed: asyncio.Queue[nextcord.Guild] = asyncio.Queue()
    joined: asyncio.Queue[nextcord.Guild] = asyncio.Queue()
    nextcord_bot.add_listener(removed.put, "on_guild_remove")
    nextcord_bot.add_listener(joined.put, "on_guild_join")
    # The sandbox's GUILD_CREATE says "unavailable": false, which nextcord reports as
    # on_guild_available rather than on_guild_join; either means the bot is in it.
    nextcord_bot.add_listener(joined.put, "on_guild_available")
    state = sandbox.state
    general = demo.channel("general")
    message = sandbox.post_message_as("bob", general, "old")
    attachment = Attachment(sandbox.state.new_id(), "a.txt", b"x", None, "u")
    message.attachments.append(attachment)
    sandbox.attachments[attachment.id] = attachment
    app = sandbox.application_id
    global_command = ApplicationCommand(state.new_id(), app, "ping")
    guild_command = ApplicationCommand(state.new_id(), app, "local", guild_id=demo.id)
    state.commands.update({global_command.id: global_command, guild_command.id: guild_command})
    people = {u.username: u.id for u in state.users.values()}
    changes: list[None] = []
    sandbox.change_listeners.append(lambda: changes.append(None))

    [fresh] = reset_world(sandbox, DEMO)

    assert fresh.id != demo.id and list(state.guilds) == [fresh.id]
    assert (await asyncio.wait_for(removed.get(), 5)).id == demo.id
    assert (await asyncio.wait_for(joined.get(), 5)).id == fresh.id
    assert nextcord_bot.get_guild(demo.id) is None
    assert {u.username: u.id for u in state.users.values()} == people
    assert set(state.commands) == {global_command.id}
    assert general.id not in state.channels and general.id not in state.messages
    assert attachment.id not in sandbox.attachments
    assert set(fresh.channels) <= set(state.channels)
    assert changes  # the world file is told to save
    # The bot works in the new world straight away.
    channel = nextcord_bot.get_channel(fresh.channel("general").id)
    sent = await channel.send("hello new world")  # type: ignore[union-attr]
    assert state.message(fresh.channel("general").id, sent.id).content == "hello new world"
