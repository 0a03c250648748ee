"""FoundryCord itself, connected to a fresh sandbox: the ground of the end-to-end tests."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.runtime import BotProcess
from bot.settings import Settings, load_settings, with_changes
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
        self.settings = with_changes(self.settings, **changes)
        self.process = await start_process(self.settings, self.server.token)


async def start_process(settings: Settings, token: str) -> BotProcess:
    """A FoundryCord process, started: ready, commands synced, every guild admitted."""
    process = BotProcess(
        settings,
        token,
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
        yield harness
    finally:
        await harness.process.stop()
        await server.stop()
        restore_nextcord()
    assert server.handler_errors == []
    assert server.spec_violations == []
