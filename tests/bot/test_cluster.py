"""bot.cluster: live processes, the guilds each holds, one leader, the identify window."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.cluster import Cluster
from bot.database import Database
from bot.shards import ShardRange
from tests import backends

# How long a process being refused waits for the other to stop (stale_after): the other
# must beat within it, or it counts as stopped. Long enough that a loaded machine delays
# no 50 ms heartbeat that much (0.3 s did not always hold), short enough to keep it quick.
REFUSAL_GRACE = 1.5


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
        assert a._task is not None
        a._task.cancel()  # a process dying: it beats no more, its connection and lock go
        with contextlib.suppress(asyncio.CancelledError):
            await a._task
        await a._drop_leader_connection()
        a._leader = False
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


async def _lead_passes(a: Cluster, b: Cluster) -> None:
    """a leads; then a dies (its connection, and lock, go) and b's heartbeat takes over."""
    assert a.is_leader and not b.is_leader
    # Its heartbeat stops first: a beat running meanwhile would connect again and keep
    # the lock (a dead process beats no more).
    assert a._task is not None
    a._task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await a._task
    await a._drop_leader_connection()
    a._leader = False
    for _ in range(200):
        if b.is_leader:
            break
        await asyncio.sleep(0.05)
    assert b.is_leader


async def test_only_the_leader_syncs_the_slash_commands(pg_db: Database) -> None:
    """Each connect registers the application commands in the leader alone (one bot, one
    set of commands); the others only learn their ids. After a takeover the new leader's
    next connect syncs."""
    from types import SimpleNamespace

    from bot.client import FoundryMixin
    from bot.startup import StartupWork

    class Connected:
        calls: list[str]

        async def on_connect(self) -> None:  # nextcord's: registers the commands
            self.calls.append("sync")

    class Process(FoundryMixin, Connected):
        def __init__(self, cluster: Cluster) -> None:
            self.services = SimpleNamespace(cluster=cluster)  # type: ignore[assignment]
            self.startup = StartupWork()
            self.calls = []

        async def _associate_commands(self) -> None:
            self.calls.append("associate")

    a = Cluster(pg_db, ShardRange(2, (0,)), heartbeat_interval=0.05)
    b = Cluster(pg_db, ShardRange(2, (1,)), heartbeat_interval=0.05)
    await a.start()
    await b.start()
    try:
        pa, pb = Process(a), Process(b)
        await pa.on_connect()
        await pb.on_connect()
        assert (pa.calls, pb.calls) == (["sync"], ["associate"])
        assert pa.startup.commands_synced.is_set() and pb.startup.commands_synced.is_set()
        await _lead_passes(a, b)
        await pb.on_connect()  # b reconnects, now leading
        assert pb.calls == ["associate", "sync"]
    finally:
        await a.stop()
        await b.stop()


async def test_a_process_for_shards_another_runs_waits_then_is_refused(pg_db: Database) -> None:
    """Two processes given overlapping SHARD_IDS would both answer those guilds' events:
    the second waits out the grace (the first may be stopping) and is refused, naming the
    first; it holds none of its shards afterwards."""
    from bot.cluster import ShardsTaken

    a = Cluster(pg_db, ShardRange(3, (0,)), "http://a:1", heartbeat_interval=0.05)
    await a.start()
    b = Cluster(pg_db, ShardRange(3, (1, 0)), heartbeat_interval=0.05, stale_after=REFUSAL_GRACE)
    try:
        with pytest.raises(ShardsTaken) as refused:
            await b.start()
        assert f"shard 0 of 3 is run by process {a.process_id}" in str(refused.value)
        assert "give each process its own SHARD_IDS" in str(refused.value)
        assert [p.id for p in await a.processes()] == [a.process_id]  # b never registered
        c = Cluster(pg_db, ShardRange(3, (1,)))  # shard 1 was left free by b
        await c.start()
        await c.stop()
    finally:
        await b.stop()
        await a.stop()


async def test_a_process_of_every_shard_and_one_of_part_never_run_together(
    pg_db: Database,
) -> None:
    """A process without SHARD_IDS runs every guild: on PostgreSQL it is refused beside a
    process of part of the shards, and the other way round."""
    from bot.cluster import ShardsTaken

    quick = {"heartbeat_interval": 0.05, "stale_after": REFUSAL_GRACE}
    part = Cluster(pg_db, ShardRange(2, (0,)), heartbeat_interval=0.05)
    await part.start()
    whole = Cluster(pg_db, ShardRange(), **quick)
    try:
        assert whole.guarded and not whole.enabled
        with pytest.raises(ShardsTaken) as refused:
            await whole.start()
        assert f"process {part.process_id} (shards 0 of 2) run part of the shards" in str(
            refused.value
        )
        await part.stop()
        await whole.start()  # alone now
        assert whole.is_leader
        late = Cluster(pg_db, ShardRange(2, (1,)), **quick)
        with pytest.raises(ShardsTaken, match="a process that runs every shard"):
            await late.start()
        await late.stop()
        again = Cluster(pg_db, ShardRange(), **quick)  # a second whole-bot process
        with pytest.raises(ShardsTaken):
            await again.start()
        await again.stop()
    finally:
        await whole.stop()
        await part.stop()


async def test_a_different_shard_count_is_refused(pg_db: Database) -> None:
    """Shard 0 of 2 and shards 2-3 of 4 share guilds: the counts must agree."""
    from bot.cluster import ShardsTaken

    a = Cluster(pg_db, ShardRange(2, (0,)), heartbeat_interval=0.05)
    await a.start()
    b = Cluster(pg_db, ShardRange(4, (2, 3)), heartbeat_interval=0.05, stale_after=REFUSAL_GRACE)
    try:
        with pytest.raises(ShardsTaken, match="every process needs the same SHARD_COUNT"):
            await b.start()
    finally:
        await b.stop()
        await a.stop()


async def test_the_shards_of_a_process_that_died_are_free_at_once(pg_db: Database) -> None:
    """A killed process's connection, and its shard locks, go with it: its replacement
    starts while the dead one's row still looks live (no wait for it to go stale)."""
    a = Cluster(pg_db, ShardRange(2, (0,)), heartbeat_interval=3600)
    await a.start()
    await a._drop_leader_connection()  # what dying does to its locks
    b = Cluster(pg_db, ShardRange(2, (0,)), heartbeat_interval=3600, stale_after=3600)
    try:
        await asyncio.wait_for(b.start(), timeout=600)  # raises if refused
        assert {p.id for p in await b.processes()} == {a.process_id, b.process_id}
    finally:
        await b.stop()
        a._task.cancel()  # type: ignore[union-attr]


async def test_a_process_whose_shards_were_taken_steps_down(pg_db: Database) -> None:
    """A lost its lock connection (a database blip) and another process took its shards
    meanwhile: at its next heartbeat A finds them taken and says so, once."""
    a = Cluster(pg_db, ShardRange(2, (0,)), heartbeat_interval=0.05)
    reasons: list[str] = []
    a.on_shards_taken.append(reasons.append)
    await a.start()
    assert a._task is not None
    a._task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await a._task
    await a._drop_leader_connection()
    b = Cluster(pg_db, ShardRange(2, (0,)), heartbeat_interval=3600)
    await b.start()
    try:
        a._task = asyncio.create_task(a._run())
        await asyncio.wait_for(a._task, timeout=30)  # the loop ends: a steps down
        assert len(reasons) == 1 and f"run by process {b.process_id}" in reasons[0], reasons
    finally:
        await a.stop()
        await b.stop()
