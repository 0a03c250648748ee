"""on_ready fires once every guild listed in READY has arrived, with the configured
guild_ready_timeout kept only as the fallback for a guild that never does."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import nextcord
import pytest
from nextcord.ext import commands

from bot.ready import ReadyGuilds, install_fast_ready
from sandbox.client import point_nextcord_at, restore_nextcord
from sandbox.server import SandboxServer

SLOW_FALLBACK = 60.0  # far beyond the test's own wait: ready must not depend on it


def test_ready_guilds_complete_only_when_every_listed_guild_arrived() -> None:
    guilds = ReadyGuilds()
    guilds.start({1, 2}, new_cycle=True)
    guilds.arrive(1)
    assert not guilds.complete
    guilds.start({3}, new_cycle=False)  # another shard's READY joins the same wait
    guilds.arrive(2)
    assert not guilds.complete
    guilds.arrive(3)
    assert guilds.complete
    guilds.start({4}, new_cycle=True)  # a new session starts over
    assert guilds.expected == {4} and not guilds.complete


class QuickBot(commands.Bot):
    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    server = SandboxServer()
    await server.start()
    point_nextcord_at(server)
    try:
        yield server
    finally:
        await server.stop()
        restore_nextcord()


async def _run_until_ready(bot: commands.Bot, token: str) -> asyncio.Task[None]:
    task = asyncio.create_task(bot.start(token))
    ready = asyncio.create_task(bot.wait_until_ready())
    done, _ = await asyncio.wait({ready, task}, timeout=10, return_when="FIRST_COMPLETED")
    if ready not in done:
        ready.cancel()
        await bot.close()
        raise AssertionError("on_ready did not come although every guild had arrived")
    return task


async def _stop(bot: commands.Bot, task: asyncio.Task[None]) -> None:
    await bot.close()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await asyncio.wait_for(task, 5)


async def test_ready_comes_when_every_guild_arrived_and_is_chunked(
    sandbox: SandboxServer,
) -> None:
    first = sandbox.add_guild("First")
    second = sandbox.add_guild("Second")
    sandbox.add_member(first, sandbox.add_user("dave"))
    available: list[int] = []
    bot = QuickBot(
        command_prefix="!", intents=nextcord.Intents.all(), guild_ready_timeout=SLOW_FALLBACK
    )

    async def on_guild_available(guild: nextcord.Guild) -> None:
        available.append(guild.id)

    bot.add_listener(on_guild_available)
    guilds = install_fast_ready(bot)

    task = await _run_until_ready(bot, sandbox.token)
    try:
        assert guilds.expected == {first.id, second.id} and guilds.complete
        assert sorted(available) == sorted([first.id, second.id])
        assert all(guild.chunked for guild in bot.guilds)
        assert {m.name for m in bot.get_guild(first.id).members} >= {"dave"}

        # A guild that arrives after ready still reaches the listeners.
        joined: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        at_ready = set(available)

        async def on_late_guild(guild: nextcord.Guild) -> None:
            if guild.id not in at_ready and not joined.done():
                joined.set_result(guild.id)

        bot.add_listener(on_late_guild, "on_guild_join")
        bot.add_listener(on_late_guild, "on_guild_available")
        late = sandbox.add_guild("Late")  # the bot is a member: GUILD_CREATE follows
        assert await asyncio.wait_for(joined, 5) == late.id
    finally:
        await _stop(bot, task)


async def test_a_listed_guild_that_never_arrives_falls_back_to_the_timeout() -> None:
    bot = nextcord.Client(intents=nextcord.Intents.none(), guild_ready_timeout=0.2)
    guilds = install_fast_ready(bot)
    state = bot._connection
    ready = asyncio.Event()

    async def on_ready() -> None:
        ready.set()

    bot.add_listener(on_ready)
    state.parsers["READY"](
        {
            "user": {"id": "1", "username": "bot", "discriminator": "0", "avatar": None},
            "guilds": [{"id": "42", "unavailable": True}],
            "application": {"id": "1", "flags": 0},
            "session_id": "s",
        }
    )
    assert state.guild_ready_timeout == 0.2 and not guilds.complete
    try:
        await asyncio.wait_for(ready.wait(), 5)  # after the fallback, not never
        assert not guilds.complete
    finally:
        await bot.close()


class QuickShardedBot(commands.AutoShardedBot):
    """Shards identify a moment apart, as they do on Discord (5 s there), not at once."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if not initial:
            await asyncio.sleep(0.3)


def _guilds_on_every_shard(sandbox: SandboxServer, shard_count: int) -> list[int]:
    """Guilds (with members, so nextcord chunks them) until every shard holds one."""
    ids: list[int] = []
    for shard in range(shard_count):
        guild = sandbox.add_guild(f"G{shard}", shard=(shard, shard_count))
        sandbox.add_member(guild, sandbox.add_user(f"member{shard}"))
        ids.append(guild.id)
    return ids


async def test_every_shard_of_one_process_has_its_guilds_admitted(
    sandbox: SandboxServer,
) -> None:
    """SHARD_COUNT=2 in one process: the fast ready waits for every shard's READY and
    guilds, so no guild of a later shard is dropped between nextcord's wait and its clean-up."""
    ids = _guilds_on_every_shard(sandbox, 2)
    available: list[int] = []
    bot = QuickShardedBot(
        command_prefix="!",
        intents=nextcord.Intents.all(),
        shard_count=2,
        guild_ready_timeout=SLOW_FALLBACK,
    )

    async def on_guild_available(guild: nextcord.Guild) -> None:
        available.append(guild.id)

    bot.add_listener(on_guild_available)
    guilds = install_fast_ready(bot)
    task = await _run_until_ready(bot, sandbox.token)
    try:
        assert guilds.complete
        assert sorted(available) == sorted(ids)
    finally:
        await _stop(bot, task)
