"""Which guilds may use the bot: a guild it joins waits for an owner's approval, unless
AUTO_APPROVE is set; a rejected guild is left."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import select

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


class GuildAccess:
    def __init__(self, db: Database, *, auto_approve: bool, leave_guild: LeaveGuild | None = None):
        self.db = db
        self.auto_approve = auto_approve
        self.leave_guild = leave_guild

    async def joined(self, guild_id: int, name: str) -> GuildRecord:
        """Record a guild the bot is in; a guild seen before keeps its decision."""
        async with self.db.session() as session, session.begin():
            record = await session.get(GuildRecord, guild_id)
            if record is None:
                status = GUILD_APPROVED if self.auto_approve else GUILD_PENDING
                record = GuildRecord(id=guild_id, name=name[:100], status=status)
                session.add(record)
                log.info("Joined guild %s (%s): %s", name, guild_id, status)
            else:
                record.name = name[:100]
                if self.auto_approve and record.status == GUILD_PENDING:
                    record.status = GUILD_APPROVED
        return record

    async def status(self, guild_id: int) -> str | None:
        async with self.db.session() as session:
            record = await session.get(GuildRecord, guild_id)
        return record.status if record else None

    async def list(self, status: str | None = None) -> list[GuildRecord]:
        query = select(GuildRecord).order_by(GuildRecord.name)
        if status is not None:
            query = query.where(GuildRecord.status == status)
        async with self.db.session() as session:
            return list(await session.scalars(query))

    async def mark_notice_sent(self, guild_id: int) -> bool:
        """True the first time only, so a pending guild gets one notice."""
        async with self.db.session() as session, session.begin():
            record = await session.get(GuildRecord, guild_id)
            if record is None or record.notice_sent:
                return False
            record.notice_sent = True
        return True

    async def approve(self, guild_id: int, actor_id: int) -> None:
        await self._decide(guild_id, actor_id, GUILD_APPROVED)

    async def reject(self, guild_id: int, actor_id: int) -> None:
        await self._decide(guild_id, actor_id, GUILD_REJECTED)
        if self.leave_guild is not None:
            await self.leave_guild(guild_id)

    async def _decide(self, guild_id: int, actor_id: int, status: str) -> None:
        async with self.db.session() as session, session.begin():
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
