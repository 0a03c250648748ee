"""One process running several shards: every shard's guilds are admitted; a process
whose shard another took steps down."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import pytest

from bot.cluster import Cluster
from bot.database import Database
from bot.guild_gate import PENDING_NOTICE
from bot.runtime import StartupError
from bot.settings import load_settings
from bot.shards import ShardRange
from sandbox.client import point_nextcord_at, restore_nextcord
from sandbox.server import SandboxServer
from tests import backends
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


async def test_a_process_whose_shard_another_took_closes_its_gateway_and_says_why(
    tmp_path: Path, postgres_database
) -> None:  # type: ignore[no-untyped-def]
    """The process lost its lock connection (a database blip) and another process took its
    shard meanwhile: at its next heartbeat it closes its gateway, so the guilds are never
    answered twice, and wait_closed reports why (the entry point prints it, exits 2)."""
    if isinstance(postgres_database, str):
        pytest.skip(postgres_database)
    await backends.reset_postgres_schema(postgres_database.url)
    server = SandboxServer(recommended_shards=2)
    await server.start()
    point_nextcord_at(server)
    guild = server.add_guild("Shard zero", shard=(0, 2))
    server.add_channel(guild, "general")
    settings = dataclasses.replace(
        load_settings(environ={}, env_file=None),
        data_dir=tmp_path,
        database_url=postgres_database.url,
        web_enabled=False,
        shard_count=2,
        shard_ids=(0,),
        db_connect_retries=0,
    )
    process = other = db = None
    try:
        process = await start_process(settings, server.token)
        cluster = process.services.cluster
        assert cluster.enabled
        await cluster._drop_leader_connection()  # its shard locks go with the connection
        db = await Database.connect(postgres_database.url)
        other = Cluster(db, ShardRange(2, (0,)), heartbeat_interval=3600)
        await other.start()
        with pytest.raises(StartupError) as stopped:
            await asyncio.wait_for(process.wait_closed(), 30)
        assert f"Stopped: shard 0 of 2 is run by process {other.process_id}" in str(stopped.value)
        assert process.bot is not None and process.bot.is_closed()
    finally:
        if other is not None:
            await other.stop()
        if db is not None:
            await db.dispose()
        if process is not None:
            await process.stop()
        await server.stop()
        restore_nextcord()
