"""One process running several shards: every shard's guilds are admitted."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bot.guild_gate import PENDING_NOTICE
from bot.settings import load_settings
from sandbox.client import point_nextcord_at, restore_nextcord
from sandbox.server import SandboxServer
from tests.foundry import start_process


async def test_shard_count_two_in_one_process_admits_the_guilds_of_both(tmp_path: Path) -> None:
    server = SandboxServer()
    await server.start()
    point_nextcord_at(server)
    ids = []
    for n in range(6):
        guild = server.add_guild(f"Guild {n}", shard=(n % 2, 2))
        server.add_channel(guild, "general")
        for m in range(60):  # over large_threshold: nextcord chunks the members
            server.add_member(guild, server.add_user(f"member{n}-{m}"))
        ids.append(guild.id)
    settings = dataclasses.replace(
        load_settings(environ={}, env_file=None),
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        web_enabled=False,
        shard_count=2,
        auto_approve=False,
        db_connect_retries=0,
    )
    process = None
    try:
        process = await start_process(settings, server.token)
        records = {r.id: r for r in await process.services.guild_access.list()}
        assert set(records) == set(ids)
        assert all(r.notice_sent for r in records.values())  # each pending guild told once
        notices = [m for by_id in server.state.messages.values() for m in by_id.values()]
        assert [m.content for m in notices] == [PENDING_NOTICE] * 6
    finally:
        if process is not None:
            await process.stop()
        await server.stop()
        restore_nextcord()
