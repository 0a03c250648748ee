"""FoundryCord itself, connected to a fresh sandbox: the ground of the end-to-end tests."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.guild_gate import PENDING_NOTICE
from bot.runtime import BotProcess
from bot.settings import Settings, load_settings
from sandbox.client import point_nextcord_at, restore_nextcord
from sandbox.server import SandboxServer
from sandbox.state import Guild

LAB: dict[str, Any] = {
    "guilds": [
        {
            "name": "Lab",
            "owner": "alice",
            "roles": [{"name": "Admins", "permissions": ["manage_guild"]}],
            "members": [{"name": "alice"}, {"name": "bob", "roles": ["Admins"]}, {"name": "carol"}],
            "channels": [{"name": "general"}, {"name": "status"}],
        }
    ]
}


@dataclasses.dataclass
class Foundry:
    """A sandbox with the Lab guild and a running FoundryCord process connected to it."""

    server: SandboxServer
    guild: Guild
    settings: Settings
    process: BotProcess

    @property
    def bot(self):  # type: ignore[no-untyped-def]
        return self.process.bot

    async def restart(self, **changes: Any) -> None:
        """Stop the bot and start a new process on the same database and sandbox state."""
        await self.process.stop()
        self.settings = dataclasses.replace(self.settings, **changes)
        self.process = await start_process(self.settings, self.server.token)
        await commands_synced(self.process, self.server)


async def commands_synced(process: BotProcess, server: SandboxServer, timeout: float = 30) -> None:
    """Wait until the sandbox knows every slash command of the bot (nextcord syncs them
    while it connects, and a test may only invoke one once it is registered) and each
    guild's admission has settled."""
    assert process.bot is not None
    wanted = {command.name for command in process.bot.get_all_application_commands()}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while wanted - {command.name for command in server.state.commands.values()}:
        if loop.time() > deadline:
            missing = wanted - {c.name for c in server.state.commands.values()}
            raise TimeoutError(f"commands not registered within {timeout} s: {sorted(missing)}")
        await asyncio.sleep(0.01)
    # A pending guild's one-time notice goes out from GUILD_CREATE handling, which can end
    # after READY: let it land first, so a test waiting for a reply does not catch it.
    assert process.services is not None
    access = process.services.guild_access
    for guild in server.state.guilds.values():
        while loop.time() < deadline:
            status = await access.status(guild.id)
            posted = any(
                message.content == PENDING_NOTICE
                for channel in guild.channels.values()
                for message in server.state.channel_messages(channel.id)
            )
            if status is not None and (status != "pending" or posted):
                break
            await asyncio.sleep(0.01)


async def start_process(settings: Settings, token: str) -> BotProcess:
    process = BotProcess(
        settings,
        token,
        guild_ready_timeout=0.05,
        extra_extensions=["tests.bot.feature_cog"],
        migrate_in_process=True,
    )
    try:
        await process.start()
        await process.wait_ready(10)
    except BaseException:
        await process.stop()
        raise
    return process


@pytest.fixture
async def foundry(tmp_path: Path) -> AsyncIterator[Foundry]:
    server = SandboxServer()
    await server.start()
    guild = server.load(LAB)[0]
    point_nextcord_at(server)
    settings = dataclasses.replace(
        load_settings(environ={}, env_file=None),
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        web_port=0,
        public_url="http://127.0.0.1:0",
        owner_ids=frozenset({server.state.find_user("alice").id}),
        auto_approve=False,
        db_connect_retries=0,
    )
    harness = Foundry(server, guild, settings, await start_process(settings, server.token))
    try:
        await commands_synced(harness.process, server)
        yield harness
    finally:
        await harness.process.stop()
        await server.stop()
        restore_nextcord()
    assert server.handler_errors == []
    assert server.spec_violations == []
