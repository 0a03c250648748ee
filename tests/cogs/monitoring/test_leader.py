"""With several bot processes on one PostgreSQL database, the leader alone keeps the shared
history (rollups and pruning) and runs the scheduled speedtests; when it dies another
process takes over both."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from types import SimpleNamespace

import pytest

from bot.cluster import Cluster
from bot.database import Database
from bot.shards import ShardRange
from cogs.monitoring import monitor as monitor_module
from cogs.monitoring.monitor import Monitor
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


async def until(condition: Callable[[], bool]) -> None:
    # Bounded, and generous: the suite runs beside busy browser tests on two cores.
    for _ in range(1500):
        if condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("never happened")


async def only_the_leader_runs(
    db: Database, loop: str, count_runs: Callable[[Monitor, list[int]], None]
) -> None:
    """Two processes, each with its Monitor running `loop`: only the leader's does the work;
    after the leader dies (its connection, and lock, go) the other's does."""
    a = Cluster(db, ShardRange(2, (0,)), heartbeat_interval=0.05)
    b = Cluster(db, ShardRange(2, (1,)), heartbeat_interval=0.05)
    await a.start()
    await b.start()
    runs = {"a": [0], "b": [0]}
    monitors = {
        "a": Monitor(db, host="a", is_leader=lambda: a.is_leader, speedtest_every_min=1),
        "b": Monitor(db, host="b", is_leader=lambda: b.is_leader, speedtest_every_min=1),
    }
    for name, monitor in monitors.items():
        count_runs(monitor, runs[name])
    tasks = [asyncio.create_task(getattr(m, loop)()) for m in monitors.values()]
    try:
        await until(lambda: a.is_leader)
        assert not b.is_leader
        await until(lambda: runs["a"][0] >= 3)
        assert runs["b"][0] == 0
        await a._drop_leader_connection()  # a dies
        a._leader = False
        a._task.cancel()  # type: ignore[union-attr]
        await until(lambda: runs["b"][0] >= 3)
    finally:
        for monitor in monitors.values():
            monitor._stop.set()
        await asyncio.gather(*tasks)
        await a.stop()
        await b.stop()


async def test_only_the_leader_rolls_up_and_prunes_the_history(
    pg_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(monitor_module, "MAINTENANCE_EVERY_S", 0.02)

    def count_runs(monitor: Monitor, runs: list[int]) -> None:
        async def maintain() -> tuple[int, int]:
            runs[0] += 1
            return 0, 0

        monitor.maintain = maintain  # type: ignore[method-assign]

    await only_the_leader_runs(pg_db, "_maintenance_loop", count_runs)


async def test_only_the_leader_runs_the_scheduled_speedtests(pg_db: Database) -> None:
    def count_runs(monitor: Monitor, runs: list[int]) -> None:
        monitor.speedtest_every_min = 0.0003  # every 0.018 s

        async def run() -> SimpleNamespace:
            runs[0] += 1
            return SimpleNamespace(
                at=time.time(), download_mbps=50.0, upload_mbps=10.0, ping_ms=8.0
            )

        monitor.speedtest.run = run  # type: ignore[method-assign]

    await only_the_leader_runs(pg_db, "_speedtest_loop", count_runs)
