"""Dashboards in the database, on SQLite and PostgreSQL: create, update, the scheduler's
record of messages, view state, the per-server cap and removal with its audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.models import AuditEntry, GuildRecord
from cogs.dashboards.presets import preset
from cogs.dashboards.render import ViewState
from cogs.dashboards.store import MAX_PER_GUILD, DashboardStore

GUILD = 400000000000000004
CHANNEL = 1576094774732128267  # a real-size snowflake: BigInteger on both backends
MESSAGE = 1576094778645413888


async def test_a_dashboard_round_trips(migrated_db) -> None:  # type: ignore[no-untyped-def]
    async with migrated_db.session() as session, session.begin():
        session.add(GuildRecord(id=GUILD, name="Lab", status="approved"))
    store = DashboardStore(migrated_db)
    created = await store.create(GUILD, CHANNEL, "System", preset("system"), actor_id=7)
    assert created.message_id is None and created.layout == preset("system")
    await store.message_posted(created.id, MESSAGE, "h1")
    await store.message_edited(created.id, "h2")
    await store.set_view_state(created.id, ViewState(1, "lab-2", "/data"))
    await store.update_layout(created.id, preset("gpu"), actor_id=7, name="GPU")
    record = await store.get(created.id)
    assert record is not None
    assert (record.message_id, record.last_hash, record.name) == (MESSAGE, "h2", "GPU")
    assert record.view_state == ViewState(1, "lab-2", "/data")
    assert record.layout == preset("gpu")
    await store.failed(created.id, "403 Missing Access")
    assert (await store.list(GUILD))[0].error == "403 Missing Access"
    removed = await store.remove(created.id, actor_id=7)
    assert removed is not None and await store.list() == []
    async with migrated_db.session() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["dashboard.create", "dashboard.update", "dashboard.remove"]


async def test_a_server_has_at_most_fifty(migrated_db) -> None:  # type: ignore[no-untyped-def]
    async with migrated_db.session() as session, session.begin():
        session.add(GuildRecord(id=GUILD, name="Lab", status="approved"))
    store = DashboardStore(migrated_db)
    for i in range(MAX_PER_GUILD):
        await store.create(GUILD, CHANNEL, f"d{i}", preset("server"), actor_id=7)
    with pytest.raises(ValueError, match="already has 50 dashboards"):
        await store.create(GUILD, CHANNEL, "one more", preset("server"), actor_id=7)


async def test_the_counter_moves_with_what_the_list_shows_only(migrated_db) -> None:  # type: ignore[no-untyped-def]
    """Migration dash_0003 on both backends: a dashboard made, renamed, moved to a message,
    stopped or removed bumps the 'dashboards' counter; a refresh's bookkeeping (payload
    hash, view state) does not, and a list read at an unchanged counter is the copy kept."""
    from bot.state_cache import StateVersions

    async with migrated_db.session() as session, session.begin():
        session.add(GuildRecord(id=GUILD, name="Lab", status="approved"))
    store = DashboardStore(migrated_db)
    versions = StateVersions(migrated_db)

    async def counter() -> int:
        return (await versions.read())["dashboards"]

    start = await counter()
    created = await store.create(GUILD, CHANNEL, "System", preset("system"), actor_id=7)
    assert await counter() == start + 1
    await store.message_posted(created.id, MESSAGE, "h1")
    assert await counter() == start + 2
    moved = await counter()
    await store.message_edited(created.id, "h2")
    await store.message_edited(created.id, "h3")
    await store.set_view_state(created.id, ViewState(1, "lab-2", "/data"))
    assert await counter() == moved
    kept = await store.of_guild(GUILD, moved)
    assert await store.of_guild(GUILD, moved) is kept
    await store.update_layout(created.id, preset("gpu"), actor_id=7, name="GPU")
    await store.failed(created.id, "403 Missing Access")
    await store.remove(created.id, actor_id=7)
    assert await counter() == moved + 3
    assert await store.of_guild(GUILD, await counter()) == []


async def test_parallel_creates_stop_at_fifty(migrated_db) -> None:  # type: ignore[no-untyped-def]
    """Creates racing each other: the count and the insert are one locked step, so the
    cap holds (and every refusal is the cap's, not a database error)."""
    import asyncio

    async with migrated_db.session() as session, session.begin():
        session.add(GuildRecord(id=GUILD, name="Lab", status="approved"))
    store = DashboardStore(migrated_db)
    results = await asyncio.gather(
        *(
            store.create(GUILD, CHANNEL, f"d{i}", preset("server"), actor_id=7)
            for i in range(MAX_PER_GUILD + 20)
        ),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, BaseException)]
    assert len(refused) == 20, refused[:3]
    assert all("already has 50 dashboards" in str(r) for r in refused), refused[:3]
    assert len(await store.list(GUILD)) == MAX_PER_GUILD
