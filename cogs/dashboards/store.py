"""Dashboards in the database: create, list, update the layout, remove, and the scheduler's
record of posted messages and their payload hashes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from bot.coalesce import VersionedReads
from bot.database import Database
from bot.locks import quota_lock
from bot.models import AuditEntry
from cogs.dashboards.layout import Layout, layout_to_json, parse_layout
from cogs.dashboards.models import Dashboard
from cogs.dashboards.render import ViewState

MAX_PER_GUILD = 50


@dataclass(frozen=True)
class DashboardRecord:
    id: int
    guild_id: int
    channel_id: int
    message_id: int | None
    name: str
    layout: Layout
    view_state: ViewState
    last_hash: str | None
    error: str | None
    post_nonce: str | None = None
    post_after: int | None = None


def _record(row: Dashboard) -> DashboardRecord:
    return DashboardRecord(
        id=row.id,
        guild_id=row.guild_id,
        channel_id=row.channel_id,
        message_id=row.message_id,
        name=row.name,
        layout=parse_layout(row.layout),
        view_state=ViewState.from_json(row.view_state),
        last_hash=row.last_hash,
        error=row.error,
        post_nonce=row.post_nonce,
        post_after=row.post_after,
    )


class DashboardStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._of_guild = VersionedReads(self.list)

    async def create(
        self, guild_id: int, channel_id: int, name: str, layout: Layout, actor_id: int
    ) -> DashboardRecord:
        async with self.db.session() as session, session.begin():
            # Serialises this server's creates until the commit, so parallel ones cannot
            # all pass the count.
            await quota_lock(session, "dashboards", guild_id)
            count = int(
                await session.scalar(select(func.count()).where(Dashboard.guild_id == guild_id))
                or 0
            )
            if count >= MAX_PER_GUILD:
                raise ValueError(f"this server already has {MAX_PER_GUILD} dashboards")
            row = Dashboard(
                guild_id=guild_id,
                channel_id=channel_id,
                name=name[:100],
                layout=layout_to_json(layout),
                view_state={},
                created_by=actor_id,
            )
            session.add(row)
            await session.flush()
            session.add(
                AuditEntry(
                    guild_id=guild_id,
                    actor_id=actor_id,
                    action="dashboard.create",
                    detail={"id": row.id, "name": row.name, "channel_id": channel_id},
                )
            )
        return _record(row)

    async def get(self, dashboard_id: int) -> DashboardRecord | None:
        async with self.db.session() as session:
            row = await session.get(Dashboard, dashboard_id)
            return _record(row) if row is not None else None

    async def of_guild(self, guild_id: int, version: int | None = None) -> list[DashboardRecord]:
        """`list(guild_id)`, one read shared by the requests asking at once (bot.coalesce:
        never older than the question). `version` is the 'dashboards' counter (migration
        dash_0003) read before this call: while it stays, the copy in memory is returned,
        since nothing the list shows was written."""
        return await self._of_guild(guild_id, version)

    async def list(self, guild_id: int | None = None) -> list[DashboardRecord]:
        query = select(Dashboard).order_by(Dashboard.id)
        if guild_id is not None:
            query = query.where(Dashboard.guild_id == guild_id)
        async with self.db.session() as session:
            return [_record(row) for row in await session.scalars(query)]

    async def update_layout(
        self, dashboard_id: int, layout: Layout, actor_id: int, name: str | None = None
    ) -> DashboardRecord:
        async with self.db.session() as session, session.begin():
            row = await session.get(Dashboard, dashboard_id)
            if row is None:
                raise LookupError(f"dashboard {dashboard_id} does not exist")
            row.layout = layout_to_json(layout)
            if name:
                row.name = name[:100]
            session.add(
                AuditEntry(
                    guild_id=row.guild_id,
                    actor_id=actor_id,
                    action="dashboard.update",
                    detail={"id": row.id},
                )
            )
        return _record(row)

    async def set_view_state(self, dashboard_id: int, state: ViewState) -> None:
        await self._set(dashboard_id, view_state=state.to_json())

    async def remove(self, dashboard_id: int, actor_id: int) -> DashboardRecord | None:
        async with self.db.session() as session, session.begin():
            row = await session.get(Dashboard, dashboard_id)
            if row is None:
                return None
            record = _record(row)
            await session.delete(row)
            session.add(
                AuditEntry(
                    guild_id=row.guild_id,
                    actor_id=actor_id,
                    action="dashboard.remove",
                    detail={"id": row.id, "name": row.name},
                )
            )
        return record

    async def _set(self, dashboard_id: int, **values: Any) -> None:
        async with self.db.session() as session, session.begin():
            row = await session.get(Dashboard, dashboard_id)
            if row is not None:
                for key, value in values.items():
                    setattr(row, key, value)

    # the scheduler's Persistence

    async def post_intended(self, dashboard_id: int, nonce: str, after: int) -> None:
        await self._set(dashboard_id, post_nonce=nonce, post_after=after)

    async def message_posted(self, dashboard_id: int, message_id: int, digest: str) -> None:
        await self._set(
            dashboard_id, message_id=message_id, last_hash=digest, error=None, post_nonce=None
        )

    async def message_edited(self, dashboard_id: int, digest: str) -> None:
        await self._set(dashboard_id, last_hash=digest, error=None)

    async def failed(self, dashboard_id: int, reason: str) -> None:
        await self._set(dashboard_id, error=reason[:300])
