"""Scheduled snapshots of each server's structure: taken every `TEMPLATE_SNAPSHOT_HOURS`
(24 by default; 0 turns them off), kept `TEMPLATE_SNAPSHOT_DAYS` (30), listed on the
Templates tab with the difference between any two, and restored through the usual apply
(a snapshot becomes a template of the server, opened in the editor with its diff)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select

from bot.database import Database
from cogs.templates.document import Template, load_document
from cogs.templates.models import TemplateSnapshot

CHECK_EVERY_S = 600.0  # how often the bot looks for servers whose snapshot is due


def structure_lines(template: Template) -> list[str]:
    """One line per role, channel and overwrite, in order: what a diff compares."""
    lines = [f"@{role.name} permissions={role.permissions}" for role in template.roles]
    if template.everyone_permissions is not None:
        lines.append(f"@everyone permissions={template.everyone_permissions}")
    for node in template.walk():
        indent = "  " if node.parent is not None else ""
        label = node.name.upper() if node.type == "category" else f"#{node.name} ({node.type})"
        lines.append(indent + label)
        for ow in node.overwrites:
            who = f"@{ow.role}" if ow.role is not None else f"member {ow.member}"
            lines.append(f"{indent}    {who}: allow={ow.allow} deny={ow.deny}")
    return lines


def snapshot_diff(
    older: Template, newer: Template, *, older_name: str, newer_name: str
) -> list[str]:
    """A unified diff of two structures (empty when they are the same)."""
    import difflib  # loaded on first use (tests/bot/test_client.py keeps it so)

    return list(
        difflib.unified_diff(
            structure_lines(older),
            structure_lines(newer),
            fromfile=older_name,
            tofile=newer_name,
            lineterm="",
        )
    )


class SnapshotStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, guild_id: int, document: dict[str, Any], at: datetime) -> int:
        async with self.db.session() as session, session.begin():
            row = TemplateSnapshot(guild_id=guild_id, document=document, taken_at=at)
            session.add(row)
            await session.flush()
            return row.id

    async def last_at(self, guild_id: int) -> datetime | None:
        async with self.db.session() as session:
            return await session.scalar(
                select(func.max(TemplateSnapshot.taken_at)).where(
                    TemplateSnapshot.guild_id == guild_id
                )
            )

    async def list(self, guild_id: int) -> list[tuple[int, datetime]]:
        """(id, taken at) of this server's snapshots, newest first."""
        async with self.db.session() as session:
            rows = await session.execute(
                select(TemplateSnapshot.id, TemplateSnapshot.taken_at)
                .where(TemplateSnapshot.guild_id == guild_id)
                .order_by(TemplateSnapshot.taken_at.desc(), TemplateSnapshot.id.desc())
            )
            return [(row.id, row.taken_at) for row in rows]

    async def get(self, guild_id: int, snapshot_id: int) -> tuple[datetime, Template] | None:
        """One of this server's snapshots (never another server's)."""
        async with self.db.session() as session:
            row = await session.get(TemplateSnapshot, snapshot_id)
            if row is None or row.guild_id != guild_id:
                return None
            return row.taken_at, load_document(row.document)

    async def prune(self, guild_id: int, keep_days: int, now: datetime) -> int:
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                delete(TemplateSnapshot).where(
                    TemplateSnapshot.guild_id == guild_id,
                    TemplateSnapshot.taken_at < now - timedelta(days=keep_days),
                )
            )
        return int(result.rowcount or 0)


def due(last: datetime | None, hours: int, now: datetime) -> bool:
    """Whether a server snapshotting every `hours` needs one now."""
    if hours <= 0:
        return False
    if last is None:
        return True
    if last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    return now - last >= timedelta(hours=hours)
