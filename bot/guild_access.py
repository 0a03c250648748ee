"""Which guilds may use the bot: a guild it joins waits for an owner's approval, unless
AUTO_APPROVE is set; a rejected guild is left.

The records follow the guilds the bot is really in: at every READY the guilds it is no
longer in are marked as left (with when), and so is a guild that removes it. A guild that
adds the bot again after leaving is pending again, unless an owner had approved it and
AUTO_APPROVE is on (a rejected guild always needs a new decision). The settings and feature
data of a left guild stay until :meth:`GuildAccess.purge_left` deletes them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.database import Database
from bot.models import (
    GUILD_APPROVED,
    GUILD_PENDING,
    GUILD_REJECTED,
    AuditEntry,
    GuildRecord,
    utcnow,
)

log = logging.getLogger(__name__)

LeaveGuild = Callable[[int], Awaitable[None]]
Clock = Callable[[], datetime]


def status_on_return(previous: str, *, auto_approve: bool) -> str:
    """The status of a guild that adds the bot again after it had left: pending, unless an
    owner had approved it and AUTO_APPROVE is on. A rejected guild needs a new decision even
    with AUTO_APPROVE."""
    if previous == GUILD_APPROVED and auto_approve:
        return GUILD_APPROVED
    return GUILD_PENDING


def gone_guilds(known_present: Iterable[int], current: Iterable[int]) -> set[int]:
    """Guilds recorded as present that the bot is not in any more."""
    return set(known_present) - set(current)


class GuildAccess:
    def __init__(
        self,
        db: Database,
        *,
        auto_approve: bool,
        leave_guild: LeaveGuild | None = None,
        clock: Clock = utcnow,
    ):
        self.db = db
        self.auto_approve = auto_approve
        self.leave_guild = leave_guild
        self.clock = clock
        self._busy = 0
        self._idle = asyncio.Event()
        self._idle.set()

    @contextlib.asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        self._busy += 1
        self._idle.clear()
        try:
            async with self.db.session() as session:
                yield session
        finally:
            self._busy -= 1
            if not self._busy:
                self._idle.set()

    async def drain(self, timeout: float = 5.0) -> None:
        """Wait for database work in progress (a gateway listener's) to finish; called
        before the database closes at shutdown."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)

    async def joined(self, guild_id: int, name: str) -> GuildRecord:
        """Record a guild the bot is in; a guild seen before keeps its decision, unless it is
        coming back after the bot had left it (see :func:`status_on_return`).

        Idempotent when processes sharing the database admit the same guild (a rolling
        restart overlapping the old process): the row is created with ON CONFLICT DO
        NOTHING and the return from a leave is a guarded update, so one of them makes the
        new request and the other keeps it."""
        status = GUILD_APPROVED if self.auto_approve else GUILD_PENDING
        async with self._session() as session, session.begin():
            created = await session.execute(_insert_guild(self.db.backend, guild_id, name, status))
            if created.first() is not None:
                log.info("Joined guild %s (%s): %s", name, guild_id, status)
                return await session.get(GuildRecord, guild_id)  # type: ignore[return-value]
            record = await session.get(GuildRecord, guild_id, with_for_update=True)
            assert record is not None  # rows are only deleted by the purge, of left guilds
            if record.left_at is not None:
                status = status_on_return(record.status, auto_approve=self.auto_approve)
                record.name = name[:100]
                record.left_at = None
                if status != record.status or status == GUILD_PENDING:
                    # a new request: a new decision and a new notice
                    record.status = status
                    record.decided_at = None
                    record.decided_by = None
                    record.notice_sent = False
                log.info("Guild %s (%s) added the bot again: %s", name, guild_id, status)
            else:
                record.name = name[:100]
                if self.auto_approve and record.status == GUILD_PENDING:
                    record.status = GUILD_APPROVED
        return record

    async def left(self, guild_id: int) -> bool:
        """The bot is no longer in this guild (removed, or left): mark it, with when. True
        if the guild was recorded as present."""
        async with self._session() as session, session.begin():
            record = await session.get(GuildRecord, guild_id)
            if record is None or record.left_at is not None:
                return False
            record.left_at = self.clock()
        log.info("Left guild %s (%s); its data is kept for now", record.name, guild_id)
        return True

    async def reconcile(
        self, current: Iterable[int], *, owned: Callable[[int], bool] | None = None
    ) -> list[int]:
        """Mark every guild recorded as present but not in ``current`` (the guilds the bot
        is in, all of this process's shards, at READY) as left; returns their ids. ``owned``
        (bot.shards) limits it to the guilds this process's shards hold: another process's
        guilds are not in ``current`` but are not gone either."""
        now = self.clock()
        async with self._session() as session, session.begin():
            present = [
                record
                for record in await session.scalars(
                    select(GuildRecord).where(GuildRecord.left_at.is_(None)).with_for_update()
                )
                if owned is None or owned(record.id)
            ]
            gone = gone_guilds((r.id for r in present), current)
            for record in present:
                if record.id in gone:
                    record.left_at = now
        if gone:
            log.info(
                "No longer in %d guild(s) recorded as present: %s",
                len(gone),
                ", ".join(str(g) for g in sorted(gone)),
            )
        return sorted(gone)

    async def purge_left(self, retention: timedelta, *, keep: Iterable[int] = ()) -> list[int]:
        """Delete the records of guilds left more than ``retention`` ago, except those in
        ``keep`` (the guilds the bot is in right now, in case one came back unnoticed). Every
        feature table references ``guilds.id`` with ON DELETE CASCADE (as ``guild_settings``
        does), so this deletes their settings and feature data too; the audit log stays.
        Returns the purged ids."""
        cutoff = self.clock() - retention
        kept = set(keep)
        async with self._session() as session, session.begin():
            ids = [
                guild_id
                for guild_id in await session.scalars(
                    select(GuildRecord.id).where(
                        GuildRecord.left_at.is_not(None), GuildRecord.left_at < cutoff
                    )
                )
                if guild_id not in kept
            ]
            if ids:
                await session.execute(delete(GuildRecord).where(GuildRecord.id.in_(ids)))
        if ids:
            log.info("Purged the data of %d guild(s) left before %s", len(ids), cutoff)
        return ids

    async def get(self, guild_id: int) -> GuildRecord | None:
        async with self._session() as session:
            return await session.get(GuildRecord, guild_id)

    async def status(self, guild_id: int) -> str | None:
        async with self._session() as session:
            record = await session.get(GuildRecord, guild_id)
        return record.status if record else None

    async def list(
        self, status: str | None = None, *, present: bool | None = None
    ) -> list[GuildRecord]:
        """Records by name; ``present`` True: guilds the bot is in, False: guilds it left."""
        query = select(GuildRecord).order_by(GuildRecord.name, GuildRecord.id)
        if status is not None:
            query = query.where(GuildRecord.status == status)
        if present is True:
            query = query.where(GuildRecord.left_at.is_(None))
        elif present is False:
            query = query.where(GuildRecord.left_at.is_not(None))
        async with self._session() as session:
            return list(await session.scalars(query))

    async def mark_notice_sent(self, guild_id: int) -> bool:
        """True the first time only, so a pending guild gets one notice: a guarded update,
        so of two processes admitting the guild at once only one is told to send it."""
        async with self._session() as session, session.begin():
            result = await session.execute(
                update(GuildRecord)
                .where(GuildRecord.id == guild_id, GuildRecord.notice_sent.is_(False))
                .values(notice_sent=True)
            )
        return bool(result.rowcount)

    async def approve(self, guild_id: int, actor_id: int) -> None:
        await self._decide(guild_id, actor_id, GUILD_APPROVED)

    async def reject(self, guild_id: int, actor_id: int) -> None:
        await self._decide(guild_id, actor_id, GUILD_REJECTED)
        if self.leave_guild is not None:
            await self.leave_guild(guild_id)

    async def _decide(self, guild_id: int, actor_id: int, status: str) -> None:
        async with self._session() as session, session.begin():
            record = await session.get(GuildRecord, guild_id)
            if record is None:
                raise LookupError(f"guild {guild_id} is not known to the bot")
            record.status = status
            record.decided_at = utcnow()
            record.decided_by = actor_id
            session.add(
                AuditEntry(
                    guild_id=guild_id,
                    actor_id=actor_id,
                    action=f"guild.{status}",
                    detail={"name": record.name},
                )
            )
        log.info("Guild %s (%s) %s by %s", record.name, guild_id, status, actor_id)


def _insert_guild(backend: str, guild_id: int, name: str, status: str) -> Any:
    """INSERT the guild's row unless it exists, returning its id only when inserted."""
    if backend == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return (
        insert(GuildRecord)
        .values(id=guild_id, name=name[:100], status=status, joined_at=utcnow(), notice_sent=False)
        .on_conflict_do_nothing(index_elements=["id"])
        .returning(GuildRecord.id)
    )
