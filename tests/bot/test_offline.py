"""Offline mode across restarts: the sandbox's world is saved in DATA_DIR and loaded again
(same guild, ids, messages and commands), and a reset starts a fresh demo world whose old
guild the bot records as left."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from bot.offline import OfflineSession, reset_saved_world, start_offline, world_path
from bot.runtime import BotProcess
from bot.settings import Settings
from sandbox.client import restore_nextcord
from sandbox.demo import DEMO_OWNER
from tests.foundry import eventually

Run = tuple[OfflineSession, BotProcess]


@pytest.fixture
async def offline(tmp_path: Path) -> AsyncIterator[Callable[[], Awaitable[Run]]]:
    """``await offline()`` starts the offline bot on one DATA_DIR and database; each call
    stops the previous run first, as a restart does."""
    settings = Settings(
        data_dir=tmp_path / "data",
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        web_enabled=False,
    )
    runs: list[Run] = []

    async def stop(run: Run) -> None:
        await run[1].stop()
        await run[0].stop()

    async def start() -> Run:
        if runs:
            await stop(runs[-1])
        session = await start_offline(settings)
        process = BotProcess(
            session.settings, session.token, guild_ready_timeout=0.05, migrate_in_process=True
        )
        runs.append((session, process))
        await process.start()
        await process.wait_ready(10)
        await session.sandbox.wait_for_command("guild")  # type: ignore[attr-defined]
        return session, process

    try:
        yield start
    finally:
        if runs:
            await stop(runs[-1])
        restore_nextcord()
    for session, _ in runs:
        assert session.sandbox.handler_errors == []  # type: ignore[attr-defined]


async def test_a_restart_keeps_the_guild_ids_messages_and_commands(
    offline: Callable[[], Awaitable[Run]],
) -> None:
    session, process = await offline()
    assert not session.restored
    server: Any = session.sandbox
    guild = server.state.find_guild("Foundry Homelab")
    general = guild.channel("general")
    message = server.post_message_as("bob", general, "remember me")
    before = {
        "guild": guild.id,
        "channels": set(guild.channels),
        "roles": set(guild.roles),
        "members": set(guild.members),
        "application": server.application_id,
        "commands": {c.id: c.name for c in server.state.commands.values()},
        "owner": server.state.find_user(DEMO_OWNER).id,
    }

    session, process = await offline()
    assert session.restored
    path = world_path(session.settings)
    assert oct(os.stat(path).st_mode & 0o777) == "0o600"
    server = session.sandbox
    guild = server.state.guilds[before["guild"]]
    assert list(server.state.guilds) == [before["guild"]]  # not a second Foundry Homelab
    assert set(guild.channels) == before["channels"]
    assert set(guild.roles) == before["roles"] and set(guild.members) == before["members"]
    assert server.application_id == before["application"]
    assert {c.id: c.name for c in server.state.commands.values()} == before["commands"]
    assert before["owner"] in session.settings.owner_ids

    # The bot sees the same world: the same guild, and the old message through the API.
    bot = process.bot
    assert bot is not None and [g.id for g in bot.guilds] == [before["guild"]]
    fetched = await bot.get_channel(general.id).fetch_message(message.id)  # type: ignore[union-attr]
    assert fetched.content == "remember me"
    records = await process.services.guild_access.list()  # type: ignore[union-attr]
    assert [(r.id, r.status, r.left_at) for r in records] == [(before["guild"], "approved", None)]


async def test_a_reset_starts_a_fresh_world_and_the_old_guild_is_recorded_as_left(
    offline: Callable[[], Awaitable[Run]],
) -> None:
    session, _ = await offline()
    old_guild = session.sandbox.state.find_guild("Foundry Homelab").id  # type: ignore[attr-defined]
    await session.saver.close()  # type: ignore[union-attr]  # as at shutdown: on disk now
    assert reset_saved_world(session.settings) is True
    assert reset_saved_world(session.settings) is False  # nothing left to delete

    session, process = await offline()
    assert not session.restored
    new_guild = session.sandbox.state.find_guild("Foundry Homelab").id  # type: ignore[attr-defined]
    assert new_guild != old_guild
    access = process.services.guild_access  # type: ignore[union-attr]

    async def old_is_left() -> bool:
        record = await access.get(old_guild)
        return record is not None and record.left_at is not None

    await eventually(old_is_left, "the old guild is marked left")
    assert [r.id for r in await access.list(present=True)] == [new_guild]


async def test_a_corrupt_saved_world_is_set_aside_and_a_fresh_one_started(
    offline: Callable[[], Awaitable[Run]], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "sandbox_world.json").write_text('{"format": "foundrycord-sandbox-world", "vers')
    session, _ = await offline()
    assert not session.restored
    aside = [p.name for p in data.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1
    assert "The saved sandbox world" in caplog.text and aside[0] in caplog.text
    assert (data / "sandbox_world.json").exists()  # the fresh world, saved at once
