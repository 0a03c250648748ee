"""In-memory guild state: triggers bump the shared counters on every write, a copy in memory
is dropped as soon as they move (also for writes by another process), and concurrent
readers share one counter query."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import event, text

from bot.database import Database
from bot.guild_access import GuildAccess
from bot.guild_settings import GuildSettingsRegistry, GuildSettingsStore, SettingSpec
from bot.models import WebSession, utcnow
from bot.state_cache import GUILDS, SESSIONS, GuildStateCache, StateVersions

pytestmark = pytest.mark.backend

GUILD = 400000000000000004
OWNER = 100000000000000001


def _registry() -> GuildSettingsRegistry:
    registry = GuildSettingsRegistry()
    registry.register("tests", SettingSpec("limit", "Limit", "int", 5, min=1, max=10))
    return registry


class QueryCounter:
    def __init__(self, db: Database) -> None:
        self.statements: list[str] = []
        event.listen(db.engine.sync_engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        self.statements.append(statement)


@pytest.fixture
async def second_process(database_url: str, migrated_db: Database) -> AsyncIterator[Database]:
    """Another engine on the same database: what a second bot process would hold."""
    other = await Database.connect(database_url)
    yield other
    await other.dispose()


async def test_every_write_bumps_its_scope(migrated_db: Database) -> None:
    versions = StateVersions(migrated_db)
    access = GuildAccess(migrated_db, auto_approve=False)
    store = GuildSettingsStore(migrated_db, _registry())
    seen = [await versions.read()]
    await access.joined(GUILD, "Forge")
    seen.append(await versions.read())
    await store.update(GUILD, {"limit": "7"}, OWNER)
    seen.append(await versions.read())
    async with migrated_db.session() as session, session.begin():
        session.add(WebSession(id="s1", user_id=OWNER, created_at=utcnow()))
    seen.append(await versions.read())
    async with migrated_db.session() as session, session.begin():
        await session.execute(text("DELETE FROM guild_settings"))
    seen.append(await versions.read())
    guilds = [v[GUILDS] for v in seen]
    sessions = [v[SESSIONS] for v in seen]
    assert guilds[0] < guilds[1] < guilds[2] == guilds[3] < guilds[4]
    assert sessions[0] == sessions[1] == sessions[2] < sessions[3] == sessions[4]


async def test_a_write_by_another_process_is_seen_on_the_next_read(
    migrated_db: Database, second_process: Database
) -> None:
    registry = _registry()
    access = GuildAccess(migrated_db, auto_approve=False)
    await access.joined(GUILD, "Forge")
    versions = StateVersions(migrated_db)
    cache = GuildStateCache(migrated_db, registry, versions)
    assert await cache.status(await versions.read(), GUILD) == "pending"
    assert (await cache.settings(await versions.read(), GUILD))["limit"] == 5

    await GuildAccess(second_process, auto_approve=False).approve(GUILD, OWNER)
    await GuildSettingsStore(second_process, registry).update(GUILD, {"limit": "9"}, OWNER)
    now = await versions.read()
    assert await cache.status(now, GUILD) == "approved"
    assert (await cache.settings(now, GUILD))["limit"] == 9

    async with second_process.session() as session, session.begin():  # plain SQL too
        await session.execute(text(f"UPDATE guilds SET status = 'rejected' WHERE id = {GUILD}"))
    assert await cache.status(await versions.read(), GUILD) == "rejected"


async def test_unchanged_state_is_served_from_memory(migrated_db: Database) -> None:
    await GuildAccess(migrated_db, auto_approve=True).joined(GUILD, "Forge")
    versions = StateVersions(migrated_db)
    cache = GuildStateCache(migrated_db, _registry(), versions)
    snapshot = await versions.read()
    await cache.records(snapshot, "approved")
    await cache.settings(snapshot, GUILD)
    counter = QueryCounter(migrated_db)
    for _ in range(20):
        assert [r.id for r in await cache.records(snapshot, "approved")] == [GUILD]
        assert await cache.status(snapshot, GUILD) == "approved"
        assert (await cache.settings(snapshot, GUILD))["limit"] == 5
    assert counter.statements == []


async def test_concurrent_readers_share_queries_and_see_earlier_commits(
    migrated_db: Database,
) -> None:
    versions = StateVersions(migrated_db)
    access = GuildAccess(migrated_db, auto_approve=False)
    queries = 0
    query = versions._query

    async def counted() -> dict[str, int]:
        nonlocal queries
        queries += 1
        return await query()

    versions._read._call = counted
    results = await asyncio.gather(*(versions.read() for _ in range(100)))
    assert len({tuple(sorted(r.items())) for r in results}) == 1
    assert queries == 1

    # A reader arriving while a read runs gets a later one: it sees what was committed
    # before it asked, even though the running read may have started earlier.
    before = (await versions.read())[GUILDS]
    first = asyncio.create_task(versions.read())
    await asyncio.sleep(0)
    await access.joined(GUILD, "Forge")
    second = await versions.read()
    await first
    assert second[GUILDS] > before
