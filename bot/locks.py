"""PostgreSQL advisory locks: how several bot processes sharing one database agree on who
does what, with no consensus of our own. A session-level lock belongs to one connection, so
a process that dies loses its locks with its connection and another takes over.

On SQLite (one process by construction) every lock is granted at once, except
`quota_lock`, which takes SQLite's own write lock."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.database import Database

log = logging.getLogger(__name__)

# One namespace for FoundryCord's locks: the first int of the two-int form.
NAMESPACE = 0x46C0  # "FC"
QUOTA_NAMESPACE = 0x46C1  # per-server limits: keys from lock_key(f"{scope}:{guild_id}")

MIGRATION = 1
LEADER = 2
SHARD_REGISTRY = 3  # held while a process checks the others' shards and registers its own


def lock_key(name: str) -> int:
    """A stable 31-bit key for a named lock (a monitored host, an identify bucket)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest()) & 0x7FFFFFFF


async def _unlock(connection: AsyncConnection, key: int) -> None:
    try:
        await connection.execute(
            text("SELECT pg_advisory_unlock(:ns, :key)"), {"ns": NAMESPACE, "key": key}
        )
        await connection.commit()
    except Exception:
        # A lock left on a pooled connection would be held forever: drop the connection.
        with contextlib.suppress(Exception):
            await connection.invalidate()


@contextlib.asynccontextmanager
async def advisory_lock(db: Database, key: int) -> AsyncIterator[None]:
    """Hold lock `key` for the block, waiting for it (PostgreSQL); a no-op on SQLite."""
    if db.backend != "postgresql":
        yield
        return
    async with db.engine.connect() as connection:
        await connection.execute(
            text("SELECT pg_advisory_lock(:ns, :key)"), {"ns": NAMESPACE, "key": key}
        )
        await connection.commit()
        try:
            yield
        finally:
            await _unlock(connection, key)


@contextlib.asynccontextmanager
async def try_advisory_lock(db: Database, key: int) -> AsyncIterator[bool]:
    """Hold lock `key` for the block if it is free; yields whether it was taken. On SQLite
    it is always taken."""
    if db.backend != "postgresql":
        yield True
        return
    async with db.engine.connect() as connection:
        taken = bool(
            await connection.scalar(
                text("SELECT pg_try_advisory_lock(:ns, :key)"), {"ns": NAMESPACE, "key": key}
            )
        )
        await connection.commit()
        try:
            yield taken
        finally:
            if taken:
                await _unlock(connection, key)


async def quota_lock(session: AsyncSession, scope: str, guild_id: int) -> None:
    """Serialise, until `session`'s transaction ends, the transactions that count a server's
    `scope` rows before adding one, so concurrent adds cannot pass a per-server limit
    together. Call it inside the transaction, before the count.

    PostgreSQL: a transaction-level advisory lock on (scope, server), released by the
    commit or rollback. SQLite: the database's write lock, taken now by a write that changes
    no row instead of at the first insert, so the count sees every commit and no other
    writer (in any process) runs until this transaction ends."""
    connection = await session.connection()
    if connection.dialect.name == "postgresql":
        await connection.execute(
            text("SELECT pg_advisory_xact_lock(:ns, :key)"),
            {"ns": QUOTA_NAMESPACE, "key": lock_key(f"{scope}:{guild_id}")},
        )
    elif connection.dialect.name == "sqlite":
        await connection.execute(text("UPDATE guilds SET id = id WHERE 0"))
