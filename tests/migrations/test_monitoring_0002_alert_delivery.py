"""Migration monitoring_0002 on both backends: alert events gain their delivery claim
(nonce, claimed_at, outcome), and an event decided before the upgrade is still sent."""

import pytest
from sqlalchemy import inspect, text

from bot.database import Database

pytestmark = pytest.mark.backend

GUILD = 301234567890123456
NEW = {"nonce", "claimed_at", "outcome"}


async def _columns(db: Database) -> set[str]:
    async with db.engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: {c["name"] for c in inspect(sync).get_columns("monitoring_alert_events")}
        )


async def test_down_and_up_keeps_unsent_events(migrated_db: Database) -> None:
    from cogs.monitoring.alert_store import AlertStore

    assert await _columns(migrated_db) >= NEW
    await migrated_db.downgrade("monitoring_0001")
    assert not NEW & await _columns(migrated_db)
    async with migrated_db.engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO guilds (id, name, status, joined_at, notice_sent) "
                "VALUES (:id, 'Lab', 'approved', CURRENT_TIMESTAMP, false)"
            ),
            {"id": GUILD},
        )
        await connection.execute(
            text(
                "INSERT INTO monitoring_alert_rules (id, guild_id, metric, host, comparison, "
                "threshold, hysteresis, duration_s, cooldown_s, severity, channel_id, "
                "created_by, created_at, state) VALUES (1, :id, 'cpu.percent', 'h', '>', 90, "
                "0, 0, 0, 'warning', 5, 1, CURRENT_TIMESTAMP, 'firing')"
            ),
            {"id": GUILD},
        )
        await connection.execute(
            text("INSERT INTO monitoring_alert_events (rule_id, kind, at) VALUES (1, 'fire', 1)")
        )
    await migrated_db.upgrade()
    assert await _columns(migrated_db) >= NEW
    [event] = await AlertStore(migrated_db).unsent()
    assert event.kind == "fire" and event.nonce and not event.claimed
