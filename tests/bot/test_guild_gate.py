"""Guild records follow the guilds the bot is really in: READY reconciles, a removal marks a
guild left (an outage does not), and a guild that adds the bot again is pending again unless
it was approved and AUTO_APPROVE is on."""

from __future__ import annotations

import pytest

from bot.guild_gate import PENDING_NOTICE
from bot.models import GuildRecord
from tests.foundry import Foundry, eventually

STALE = 301234567890123456


async def record(foundry: Foundry, guild_id: int) -> GuildRecord | None:
    return await foundry.process.services.guild_access.get(guild_id)


async def has_left(foundry: Foundry, guild_id: int) -> bool:
    found = await record(foundry, guild_id)
    return found is not None and found.left_at is not None


async def test_ready_marks_a_guild_that_removed_the_bot_while_offline_as_left(
    foundry: Foundry,
) -> None:
    access = foundry.process.services.guild_access
    await access.joined(STALE, "Gone Server")  # an approved guild from an earlier run
    await access.approve(STALE, foundry.guild.owner_id)
    await foundry.restart()
    await eventually(lambda: has_left(foundry, STALE), "the stale guild is marked left")
    lab = await record(foundry, foundry.guild.id)
    assert lab is not None and lab.left_at is None

    interaction = foundry.server.invoke_command(
        "guild", user="alice", channel=foundry.guild.channel("general"), options={"list": {}}
    )
    text = (await foundry.server.wait_for_response(interaction)).response_data["content"]
    in_part, _, left_part = text.partition("**Left**")
    assert "The bot is in 1 server(s)." in in_part
    assert "Lab" in in_part.partition("**Waiting for approval**")[2]
    assert "Gone Server" not in in_part
    assert "Gone Server" in left_part and "was approved" in left_part


async def test_a_removal_marks_the_guild_left_but_an_outage_does_not(foundry: Foundry) -> None:
    guild, server = foundry.guild, foundry.server
    server.emit("GUILD_DELETE", {"id": str(guild.id), "unavailable": True}, guild_id=guild.id)
    await server.wait_for_dispatch("GUILD_DELETE", since=0)
    await eventually(
        lambda: foundry.bot.get_guild(guild.id).unavailable,
        "nextcord sees the outage",
    )
    await foundry.process.services.guild_access.drain()
    assert not await has_left(foundry, guild.id)

    server.remove_member(guild, server.bot_user)  # the guild removes the bot
    await eventually(lambda: has_left(foundry, guild.id), "the guild is marked left")
    assert (await record(foundry, guild.id)).status == "pending"  # type: ignore[union-attr]


@pytest.mark.parametrize(("auto_approve", "expected"), [(False, "pending"), (True, "approved")])
async def test_an_approved_guild_that_adds_the_bot_again(
    foundry: Foundry, auto_approve: bool, expected: str
) -> None:
    guild, server = foundry.guild, foundry.server
    access = foundry.process.services.guild_access
    await access.approve(guild.id, guild.owner_id)
    if auto_approve:
        await foundry.restart(auto_approve=True)
        access = foundry.process.services.guild_access
    server.remove_member(guild, server.bot_user)
    await eventually(lambda: has_left(foundry, guild.id), "the guild is marked left")

    server.add_member(guild, server.bot_user, roles=[guild.role("FoundryCord")])
    await eventually(lambda: foundry.bot.get_guild(guild.id) is not None, "it is back")

    async def present() -> bool:
        found = await record(foundry, guild.id)
        return found is not None and found.left_at is None

    await eventually(present, "the guild is present again")
    assert await access.status(guild.id) == expected
    general = guild.channel("general")

    def notices() -> int:
        return [m.content for m in server.state.channel_messages(general.id)].count(PENDING_NOTICE)

    if expected == "pending":  # a new request: a new notice
        await eventually(lambda: notices() == 2, "the pending notice is posted again")
    else:
        await foundry.process.services.guild_access.drain()
        assert notices() == 1
