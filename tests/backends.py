"""Real backends for tests: a fresh PostgreSQL database with a random name (dropped at the
end of the run) and a Redis key prefix of its own. Absent servers skip with a reason."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

POSTGRES_ADMIN_URL = os.environ.get(
    "FOUNDRYCORD_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("FOUNDRYCORD_TEST_REDIS", "redis://127.0.0.1:6379/0")


def run_blocking[T](coro_factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion on a private loop in a worker thread, so session
    fixtures work even when first requested from inside a running event loop."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(coro_factory())).result()


@dataclass
class PostgresDatabase:
    name: str
    url: str  # SQLAlchemy URL (postgresql+asyncpg://...)


async def _pg_admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=3)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def postgres_database() -> Iterator[PostgresDatabase | str]:
    """Yields a fresh database, or a reason string when PostgreSQL is not reachable."""
    name = f"foundrycord_test_{secrets.token_hex(6)}"
    try:
        run_blocking(lambda: _pg_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        yield f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL} ({type(exc).__name__}: {exc})"
        return
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    try:
        yield PostgresDatabase(name=name, url=f"{base}/{name}")
    finally:
        run_blocking(lambda: _pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def reset_postgres_schema(url: str) -> None:
    """Empty the test database (ours alone) so each test starts from nothing."""
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        await connection.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await connection.close()


def redis_available() -> str | None:
    """None when Redis answers, else the reason it cannot be used."""

    async def ping() -> None:
        import redis.asyncio as redis

        client = redis.from_url(REDIS_URL, socket_connect_timeout=2)
        try:
            await client.ping()
        finally:
            await client.aclose()

    try:
        run_blocking(ping)
    except Exception as exc:
        return f"Redis not reachable at {REDIS_URL} ({type(exc).__name__}: {exc})"
    return None


async def delete_prefix(prefix: str) -> None:
    """Remove the keys this run wrote (never flush: the server may hold others' data)."""
    import redis.asyncio as redis

    client = redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*")]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()
