"""bot.locks.quota_lock: concurrent adds under a per-server limit, on both backends."""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select

from bot.database import Database
from bot.locks import quota_lock
from bot.models import AuditEntry

LIMIT = 3
ADDS = 8


async def add_under_limit(db: Database, guild_id: int, *, locked: bool) -> bool:
    """Count the server's rows, wait (another add runs meanwhile), add one if under LIMIT."""
    async with db.session() as session, session.begin():
        if locked:
            await quota_lock(session, "test", guild_id)
        count = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.guild_id == guild_id)
        )
        await asyncio.sleep(0.05)
        if (count or 0) >= LIMIT:
            return False
        session.add(AuditEntry(guild_id=guild_id, actor_id=1, action="test", detail={}))
    return True


async def count_rows(db: Database, guild_id: int) -> int:
    async with db.session() as session:
        query = select(func.count()).select_from(AuditEntry)
        return int(await session.scalar(query.where(AuditEntry.guild_id == guild_id)) or 0)


async def test_concurrent_adds_stop_at_the_limit(migrated_db: Database) -> None:
    added = await asyncio.gather(
        *(add_under_limit(migrated_db, 1, locked=True) for _ in range(ADDS))
    )
    assert added.count(True) == LIMIT
    assert await count_rows(migrated_db, 1) == LIMIT


async def test_without_the_lock_the_same_adds_pass_the_limit(migrated_db: Database) -> None:
    """The race the lock exists for, so the test above can fail."""
    await asyncio.gather(*(add_under_limit(migrated_db, 2, locked=False) for _ in range(ADDS)))
    assert await count_rows(migrated_db, 2) > LIMIT


async def test_each_server_has_its_own_limit(migrated_db: Database) -> None:
    """Each server's limit is its own: a full server does not stop another's adds."""
    for _ in range(LIMIT):
        assert await add_under_limit(migrated_db, 3, locked=True)
    assert not await add_under_limit(migrated_db, 3, locked=True)
    assert await add_under_limit(migrated_db, 4, locked=True)
