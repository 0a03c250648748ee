"""The caps on metric names under parallel posts, on SQLite and PostgreSQL: names per host,
per server's agents and the ids kept for the installation hold however many posts race
(their counts and inserts are one locked step), and a server's "game servers" host does
not count toward its agents' cap."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.database import Database
from cogs.monitoring import history as history_module
from cogs.monitoring.games import games_host_key
from cogs.monitoring.history import HistoryStore
from cogs.monitoring.hosts import agent_key
from cogs.monitoring.models import HostMetric

T0 = 1_800_000_000
GUILD = 400000000000000006


async def names_of(db: Database, prefix: str) -> int:
    async with db.session() as session:
        query = select(func.count()).where(HostMetric.host.startswith(prefix))
        return int(await session.scalar(query) or 0)


async def post(store: HistoryStore, host: str, names: list[str]) -> dict[str, str]:
    result = await store.store(host, [(T0, dict.fromkeys(names, 1.0))])
    return result.refused


def batch(tag: str, count: int) -> list[str]:
    return [f"{tag}.{i}" for i in range(count)]


async def test_parallel_posts_of_one_host_stop_at_its_cap(
    migrated_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history_module, "MAX_NAMES_PER_HOST", 250)
    store, host = HistoryStore(migrated_db), agent_key(GUILD, "nas")
    refused = await asyncio.gather(*(post(store, host, batch(f"p{n}", 100)) for n in range(6)))
    assert await names_of(migrated_db, host) == 250
    assert sum(len(r) for r in refused) == 350
    assert all("already has 250" in why for r in refused for why in r.values())
    assert len(await store._host_ids(host)) == 250


async def test_parallel_posts_of_a_servers_agents_stop_at_the_servers_cap(
    migrated_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history_module, "MAX_NAMES_PER_SERVER", 300)
    # one process per host, as with agents posting to several web processes
    stores = [HistoryStore(migrated_db) for _ in range(8)]
    await asyncio.gather(
        *(post(s, agent_key(GUILD, f"h{n}"), batch(f"h{n}", 100)) for n, s in enumerate(stores))
    )
    assert await names_of(migrated_db, agent_key(GUILD, "")) == 300


async def test_parallel_posts_leave_the_installations_reserve_alone(
    migrated_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        history_module, "RESERVED_FOR_INSTALLATION", history_module.MAX_METRIC_ID - 150
    )
    store = HistoryStore(migrated_db)
    refused = await asyncio.gather(
        *(post(store, agent_key(GUILD + n, "nas"), batch(f"g{n}", 60)) for n in range(6))
    )
    assert await names_of(migrated_db, "g") <= 150
    assert all("kept for the bot's own hosts" in why for r in refused for why in r.values())
    # the bot's own host still gets new ones
    assert not await post(store, "bot-host", batch("own", 10))


async def test_the_game_servers_host_does_not_count_toward_the_agents_cap(
    migrated_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history_module, "MAX_NAMES_PER_SERVER", 100)
    store = HistoryStore(migrated_db)
    assert not await post(store, games_host_key(GUILD), batch("game.1", 50))
    assert not await post(store, agent_key(GUILD, "nas"), batch("a", 100))
    refused = await post(store, agent_key(GUILD, "pi"), ["b.0"])
    assert "this server's agents already have 100" in refused["b.0"]
    # and a full agents' share does not stop the game servers' names
    assert not await post(store, games_host_key(GUILD), batch("game.2", 50))
