"""The templates feature's tables: saved templates, id maps, apply jobs and their locks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from bot.database import Base, UTCDateTime
from bot.models import utcnow


class SavedTemplate(Base):
    """A template owned by the server it was saved in; `shared` lets any server use it."""

    __tablename__ = "channel_templates"
    __table_args__ = (UniqueConstraint("guild_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    name: Mapped[str] = mapped_column(String(100))
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TemplateIdMap(Base):
    """Template node key -> the object it became in one guild (rename detection)."""

    __tablename__ = "channel_template_id_maps"

    template_ref: Mapped[str] = mapped_column(String(120), primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    mapping: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)


class ApplyJob(Base):
    """One apply and its journal: the steps, how many are done, the ids they made."""

    __tablename__ = "channel_template_jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    template_ref: Mapped[str] = mapped_column(String(120))
    template_name: Mapped[str] = mapped_column(String(100))
    actor_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(16), default="running")
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    done: Mapped[int] = mapped_column(Integer, default=0)
    id_map: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    roles_created: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(2000))
    progress_channel_id: Mapped[int | None] = mapped_column(BigInteger)
    progress_message_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # The process running it and until when (renewed while it runs): another process takes
    # a running job over only once the lease has lapsed. A cancel asked anywhere is seen by
    # the runner at its next step.
    runner: Mapped[str | None] = mapped_column(String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_requested: Mapped[bool] = mapped_column(default=False, server_default=false())


class ApplyLock(Base):
    """At most one apply per guild, across the bot and the command line."""

    __tablename__ = "channel_template_locks"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    job_id: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TemplatePin(Base):
    """A server keeps the shape of one template: drift from it is reported in a channel.
    `report_message_id` is the open drift episode's report (None: no drift reported)."""

    __tablename__ = "channel_template_pins"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    template_name: Mapped[str] = mapped_column(String(120))
    channel_id: Mapped[int] = mapped_column(BigInteger)
    report_message_id: Mapped[int | None] = mapped_column(BigInteger)
    # a report being posted: its nonce, claimed before the send (exactly once, see cog)
    report_nonce: Mapped[str | None] = mapped_column(String(25))
    pinned_by: Mapped[int] = mapped_column(BigInteger)
    pinned_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class TemplateSnapshot(Base):
    """A scheduled snapshot of a server's structure (a template document), kept N days."""

    __tablename__ = "channel_template_snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(BigInteger, index=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
