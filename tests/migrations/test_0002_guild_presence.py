"""Migration 0002 on both backends: `guilds.left_at` comes and goes, and no guild's data is
lost on the way (a SQLite table copy would cascade-delete the settings)."""

import pytest
from sqlalchemy import inspect, text

from bot.database import Database

pytestmark = pytest.mark.backend

GUILD = 301234567890123456


async def _columns(db: Database) -> set[str]:
    async with db.engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: {c["name"] for c in inspect(sync).get_columns("guilds")}
        )


async def _settings_count(db: Database) -> int:
    async with db.engine.connect() as connection:
        return (await connection.execute(text("SELECT count(*) FROM guild_settings"))).scalar()


async def test_down_and_up_keeps_every_guild_and_its_settings(migrated_db: Database) -> None:
    assert "left_at" in await _columns(migrated_db)
    async with migrated_db.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO guilds (id, name, status, joined_at, notice_sent, left_at) "
                "VALUES (:id, 'Lab', 'approved', CURRENT_TIMESTAMP, false, CURRENT_TIMESTAMP)"
            ),
            {"id": GUILD},
        )
        await connection.execute(
            text("INSERT INTO guild_settings (guild_id, key, value) VALUES (:id, 'k', '1')"),
            {"id": GUILD},
        )
    await migrated_db.downgrade("0001")
    assert "left_at" not in await _columns(migrated_db)
    assert await _settings_count(migrated_db) == 1
    await migrated_db.upgrade()
    assert "left_at" in await _columns(migrated_db)
    assert await _settings_count(migrated_db) == 1
    async with migrated_db.engine.connect() as connection:
        left_at = (await connection.execute(text("SELECT left_at FROM guilds"))).scalar()
    assert left_at is None  # an old database's guilds count as present
