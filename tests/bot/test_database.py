"""Migrations on both backends: the migrated schema equals the models; downgrade works."""

import stat
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from bot.database import Database
from bot.schema import load_all_models

pytestmark = pytest.mark.backend


async def test_migrated_schema_equals_the_models(migrated_db: Database) -> None:
    async with migrated_db.engine.connect() as connection:
        diff = await connection.run_sync(
            lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), load_all_models()
            )
        )
    assert diff == []


async def test_downgrade_to_base_removes_every_table(migrated_db: Database) -> None:
    await migrated_db.downgrade("base")
    async with migrated_db.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    assert set(tables) <= {"alembic_version"}
    await migrated_db.upgrade()  # and back up again
    async with migrated_db.engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: inspect(sync).get_table_names())
    assert {"guilds", "guild_settings", "audit_log", "signin_tokens"} <= set(tables)


async def test_sqlite_runs_in_wal_mode_with_foreign_keys(sqlite_url: str) -> None:
    db = await Database.connect(sqlite_url)
    try:
        async with db.engine.connect() as connection:
            mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar()
            fks = (await connection.execute(text("PRAGMA foreign_keys"))).scalar()
    finally:
        await db.dispose()
    assert (mode, fks) == ("wal", 1)


async def test_sqlite_files_are_private(tmp_path: Path) -> None:
    path = tmp_path / "private.db"
    db = await Database.connect(f"sqlite+aiosqlite:///{path}")
    try:
        await db.upgrade()
        for file in (path, path.with_name("private.db-wal")):
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    finally:
        await db.dispose()
    path.chmod(0o644)  # a database from an older version is made private at start
    db = await Database.connect(f"sqlite+aiosqlite:///{path}")
    await db.dispose()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_unreachable_database_fails_after_retries_with_a_clear_message() -> None:
    from bot.database import DatabaseUnavailable

    url = "postgresql+asyncpg://postgres:pw-secret@127.0.0.1:1/none"
    with pytest.raises(DatabaseUnavailable) as info:
        await Database.connect(url, retries=2, first_delay=0.01)
    message = str(info.value)
    assert "after 3 attempt(s)" in message and "check DATABASE_URL" in message
    assert "pw-secret" not in message


def test_heads_read_from_the_files_match_alembics() -> None:
    from alembic.script import ScriptDirectory

    from bot.database import alembic_config
    from bot.migrate import migration_heads

    assert migration_heads() == set(ScriptDirectory.from_config(alembic_config()).get_heads())


async def test_start_up_migrates_a_new_database_once(database_url: str) -> None:
    from bot.migrate import applied_revisions, ensure_migrated, migration_heads

    db = await Database.connect(database_url)
    try:
        assert await applied_revisions(db) == set()
        assert await ensure_migrated(db) is True  # ran the upgrade in a child process
        assert await applied_revisions(db) == migration_heads()
        assert await ensure_migrated(db) is False  # already at head: nothing to do
    finally:
        await db.dispose()


async def test_processes_starting_together_on_an_empty_database_upgrade_once(
    postgres_database,  # type: ignore[no-untyped-def]
) -> None:
    """Two processes on one empty PostgreSQL database: one upgrades under the advisory lock,
    the other waits and finds the schema at head (no unique violation in pg_type)."""
    import asyncio

    from bot.migrate import applied_revisions, ensure_migrated, migration_heads
    from tests import backends

    if isinstance(postgres_database, str):
        pytest.skip(postgres_database)
    await backends.reset_postgres_schema(postgres_database.url)
    first = await Database.connect(postgres_database.url)
    second = await Database.connect(postgres_database.url)
    try:
        ran = await asyncio.gather(ensure_migrated(first), ensure_migrated(second))
        assert sorted(ran) == [False, True]
        assert await applied_revisions(first) == migration_heads()
    finally:
        await first.dispose()
        await second.dispose()
