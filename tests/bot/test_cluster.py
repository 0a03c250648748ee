"""bot.cluster: live processes, the guilds each holds, one leader, the identify window."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.cluster import Cluster
from bot.database import Database
from bot.shards import ShardRange
from tests import backends


@pytest.fixture
async def pg_db(postgres_database) -> AsyncIterator[Database]:  # type: ignore[no-untyped-def]
    if isinstance(postgres_database, str):
        pytest.skip(postgres_database)
    await backends.reset_postgres_schema(postgres_database.url)
    db = await Database.connect(postgres_database.url)
    await db.upgrade()
    try:
        yield db
    finally:
        await db.dispose()


def guild_on(shard: int, count: int) -> int:
    return ((10 * count + shard) << 22) | 7


async def test_without_a_shard_range_nothing_is_coordinated(sqlite_url: str) -> None:
    db = await Database.connect(sqlite_url)
    try:
        for shards in (ShardRange(), ShardRange(2), ShardRange(2, (0, 1))):
            cluster = Cluster(db, shards)
            await cluster.start()
            assert not cluster.enabled and cluster.is_leader
            await cluster.hold(guild_on(1, 2))  # no table touched, nothing raised
            assert await cluster.processes() == [] and await cluster.held_guilds() == set()
            await cluster.stop()
    finally:
        await db.dispose()


async def test_processes_see_each_other_and_who_holds_which_guild(pg_db: Database) -> None:
    a = Cluster(pg_db, ShardRange(2, (0,)), "http://a:1")
    b = Cluster(pg_db, ShardRange(2, (1,)), "http://b:1")
    await a.start()
    await b.start()
    try:
        assert [p.internal_url for p in await a.processes()] == ["http://a:1", "http://b:1"]
        await a.hold(guild_on(0, 2))
        await b.hold(guild_on(1, 2))
        assert await a.held_guilds() == {guild_on(0, 2), guild_on(1, 2)}
        assert await a.holder_url(guild_on(1, 2)) == "http://b:1"
        assert await a.holder_url(guild_on(0, 2)) is None  # its own
        await b.stop()
        assert await a.holder_url(guild_on(1, 2)) is None  # nobody holds it now
        assert await a.held_guilds() == {guild_on(0, 2)}
    finally:
        await a.stop()
        await b.stop()


async def test_one_leader_and_another_takes_over_when_it_dies(pg_db: Database) -> None:
    a = Cluster(pg_db, ShardRange(2, (0,)), heartbeat_interval=0.05)
    b = Cluster(pg_db, ShardRange(2, (1,)), heartbeat_interval=0.05)
    await a.start()
    await b.start()
    try:
        assert a.is_leader and not b.is_leader
        await a._drop_leader_connection()  # a process dying: its connection, and lock, go
        a._leader = False
        a._task.cancel()  # type: ignore[union-attr]
        for _ in range(200):
            if b.is_leader:
                break
            await asyncio.sleep(0.05)
        assert b.is_leader
    finally:
        await a.stop()
        await b.stop()


async def test_one_identify_per_bucket_per_window_across_processes(pg_db: Database) -> None:
    a = Cluster(pg_db, ShardRange(4, (0, 1)))
    b = Cluster(pg_db, ShardRange(4, (2, 3)))
    assert await a.wait_identify(0, window=0.5) == 0.0
    assert await b.wait_identify(1, window=0.5) == 0.0  # another bucket: no wait
    waited = await b.wait_identify(0, window=0.5)  # bucket 0 again, from another process
    assert waited > 0


def test_the_cluster_live_state_answers_everything_the_web_asks() -> None:
    """A method added to LiveState must be added to ClusterLiveState too (or its pages
    would fail on a process of several)."""
    from bot.live import ClusterLiveState, LiveState

    asked = {name for name in vars(LiveState) if not name.startswith("_")}
    assert asked and asked <= set(vars(ClusterLiveState))


async def test_a_process_taken_for_stopped_registers_its_guilds_again(pg_db: Database) -> None:
    """A process that stalled past STALE_AFTER is forgotten by the others; at its next
    heartbeat it says again which guilds it holds."""
    from sqlalchemy import update

    from bot.models import ClusterProcess, utcnow

    a = Cluster(pg_db, ShardRange(2, (0,)), "http://a:1", heartbeat_interval=3600)
    b = Cluster(pg_db, ShardRange(2, (1,)), "http://b:1", heartbeat_interval=3600)
    await a.start()
    await b.start()
    try:
        await b.hold(guild_on(1, 2))
        async with pg_db.session() as session, session.begin():
            await session.execute(
                update(ClusterProcess)
                .where(ClusterProcess.id == b.process_id)
                .values(heartbeat_at=utcnow() - timedelta(minutes=5))
            )
        await a._beat()  # a forgets b
        assert await a.holder_url(guild_on(1, 2)) is None
        await b._beat()
        assert await a.holder_url(guild_on(1, 2)) == "http://b:1"
    finally:
        await a.stop()
        await b.stop()
