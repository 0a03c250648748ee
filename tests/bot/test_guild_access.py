from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.database import Database
from bot.guild_access import GuildAccess, status_on_return
from bot.models import AuditEntry, GuildSettingValue

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


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


OTHER = 401234567890123456
THIRD = 501234567890123456


async def test_ready_marks_guilds_the_bot_is_no_longer_in_as_left(migrated_db: Database) -> None:
    clock = Clock()
    access = GuildAccess(migrated_db, auto_approve=True, clock=clock)
    for guild_id in (GUILD, OTHER, THIRD):
        await access.joined(guild_id, f"guild {guild_id}")
    assert await access.reconcile([GUILD]) == [OTHER, THIRD]
    left = {r.id: r for r in await access.list(present=False)}
    assert set(left) == {OTHER, THIRD}
    assert left[OTHER].left_at == clock.now
    assert left[OTHER].status == "approved"  # the decision is kept, only presence changes
    assert [r.id for r in await access.list(present=True)] == [GUILD]
    clock.now += timedelta(hours=1)
    assert await access.reconcile([GUILD]) == []  # already left: the first time stays
    assert (await access.get(OTHER)).left_at == datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


async def test_a_removal_marks_the_guild_left_once(migrated_db: Database) -> None:
    access = GuildAccess(migrated_db, auto_approve=False, clock=Clock())
    await access.joined(GUILD, "Homelab")
    assert await access.left(GUILD) is True
    assert await access.left(GUILD) is False
    assert await access.left(OTHER) is False  # never seen
    assert (await access.get(GUILD)).present is False


@pytest.mark.parametrize(
    ("decided", "auto_approve", "expected"),
    [
        ("approved", True, "approved"),
        ("approved", False, "pending"),
        ("rejected", True, "pending"),
        ("rejected", False, "pending"),
        ("pending", False, "pending"),
    ],
)
async def test_a_guild_that_adds_the_bot_again_is_pending_unless_approved_and_auto(
    migrated_db: Database, decided: str, auto_approve: bool, expected: str
) -> None:
    setup = GuildAccess(migrated_db, auto_approve=False)
    await setup.joined(GUILD, "Homelab")
    await setup.mark_notice_sent(GUILD)
    if decided != "pending":
        await setup._decide(GUILD, OWNER, decided)
    await setup.left(GUILD)

    access = GuildAccess(migrated_db, auto_approve=auto_approve)
    record = await access.joined(GUILD, "Homelab again")
    assert (record.status, record.left_at, record.name) == (expected, None, "Homelab again")
    if expected == "pending":
        assert record.decided_by is None
        assert await access.mark_notice_sent(GUILD) is True  # told again, once
    else:
        assert record.decided_by == OWNER


def test_status_on_return_is_pure() -> None:
    assert status_on_return("approved", auto_approve=True) == "approved"
    assert status_on_return("approved", auto_approve=False) == "pending"
    assert status_on_return("rejected", auto_approve=True) == "pending"


async def test_purge_deletes_left_guilds_after_the_retention_with_their_settings(
    migrated_db: Database,
) -> None:
    clock = Clock()
    access = GuildAccess(migrated_db, auto_approve=True, clock=clock)
    for guild_id in (GUILD, OTHER, THIRD):
        await access.joined(guild_id, f"guild {guild_id}")
        async with migrated_db.session() as session, session.begin():
            session.add(GuildSettingValue(guild_id=guild_id, key="k", value=1))
    await access.left(OTHER)  # left at day 0
    clock.now += timedelta(days=20)
    await access.left(THIRD)  # left at day 20
    clock.now += timedelta(days=10, seconds=1)  # day 30: OTHER is past 30 days, THIRD is not
    assert await access.purge_left(timedelta(days=30)) == [OTHER]
    assert await access.get(OTHER) is None
    async with migrated_db.session() as session:
        kept = set(await session.scalars(select(GuildSettingValue.guild_id)))
    assert kept == {GUILD, THIRD}  # ON DELETE CASCADE took OTHER's settings
    clock.now += timedelta(days=30)
    assert await access.purge_left(timedelta(days=30), keep=[THIRD]) == []  # back in it
    assert await access.purge_left(timedelta(days=30)) == [THIRD]
    assert [r.id for r in await access.list()] == [GUILD]


async def test_reconcile_covers_only_the_guilds_this_process_holds(migrated_db: Database) -> None:
    """Another process's guilds are not among this one's at READY, and are not gone."""
    access = GuildAccess(migrated_db, auto_approve=True)
    mine, gone, theirs = GUILD, GUILD + 1, GUILD + 2
    for guild_id in (mine, gone, theirs):
        await access.joined(guild_id, "G")
    marked = await access.reconcile([mine], owned=lambda guild_id: guild_id in {mine, gone})
    assert marked == [gone]
    assert (await access.get(theirs)).left_at is None


async def test_two_processes_admitting_one_guild_make_one_record_and_one_notice(
    migrated_db: Database,
) -> None:
    """Two processes admit the same guild at once (a rolling restart overlapping the old
    process): one row, one request, one notice; neither fails."""
    import asyncio

    first = GuildAccess(migrated_db, auto_approve=False)
    second = GuildAccess(migrated_db, auto_approve=False)
    records = await asyncio.gather(
        *(access.joined(GUILD, "Homelab") for access in (first, second, first, second))
    )
    assert {r.status for r in records} == {"pending"}
    told = await asyncio.gather(*(a.mark_notice_sent(GUILD) for a in (first, second) * 3))
    assert told.count(True) == 1
    await first.approve(GUILD, OWNER)
    again = await asyncio.gather(second.joined(GUILD, "Homelab"), first.joined(GUILD, "Homelab"))
    assert {r.status for r in again} == {"approved"}
