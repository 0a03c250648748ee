import pytest
from sqlalchemy import select

from bot.database import Database
from bot.guild_access import GuildAccess
from bot.models import AuditEntry

pytestmark = pytest.mark.backend

GUILD = 301234567890123456
OWNER = 123456789012345678


async def test_a_new_guild_waits_for_approval(migrated_db: Database) -> None:
    access = GuildAccess(migrated_db, auto_approve=False)
    record = await access.joined(GUILD, "Homelab")
    assert record.status == "pending"
    assert await access.mark_notice_sent(GUILD) is True
    assert await access.mark_notice_sent(GUILD) is False  # one notice only


async def test_auto_approve_skips_the_wait(migrated_db: Database) -> None:
    access = GuildAccess(migrated_db, auto_approve=True)
    assert (await access.joined(GUILD, "Homelab")).status == "approved"


async def test_decisions_stick_are_audited_and_reject_leaves(migrated_db: Database) -> None:
    left: list[int] = []

    async def leave(guild_id: int) -> None:
        left.append(guild_id)

    access = GuildAccess(migrated_db, auto_approve=False, leave_guild=leave)
    await access.joined(GUILD, "Homelab")
    await access.approve(GUILD, OWNER)
    assert (await access.joined(GUILD, "Homelab renamed")).status == "approved"
    await access.reject(GUILD, OWNER)
    assert await access.status(GUILD) == "rejected"
    assert left == [GUILD]
    async with migrated_db.session() as session:
        actions = list(await session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
    assert actions == ["guild.approved", "guild.rejected"]


async def test_deciding_an_unknown_guild_is_refused(migrated_db: Database) -> None:
    access = GuildAccess(migrated_db, auto_approve=False)
    with pytest.raises(LookupError, match="not known"):
        await access.approve(GUILD, OWNER)
