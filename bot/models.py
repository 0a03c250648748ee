"""The shared tables: guilds and their approval state, per-guild settings, the audit log,
and one-time web sign-in tokens, web sessions and the shared state versions. Each feature
adds its own tables in its cog package."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from bot.database import Base, UTCDateTime

GUILD_PENDING = "pending"
GUILD_APPROVED = "approved"
GUILD_REJECTED = "rejected"


def utcnow() -> datetime:
    return datetime.now(UTC)


class GuildRecord(Base):
    """A guild the bot has been in. `left_at` is set while the bot is not in it (it left,
    was removed, or the guild was gone at a READY); its settings and feature data stay until
    the left-guild purge deletes the row, and with it (ON DELETE CASCADE) everything that
    references it."""

    __tablename__ = "guilds"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default=GUILD_PENDING)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    notice_sent: Mapped[bool] = mapped_column(default=False, server_default=false())
    left_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)

    @property
    def present(self) -> bool:
        """The bot is in this guild (as far as the last READY and events tell)."""
        return self.left_at is None


class GuildSettingValue(Base):
    __tablename__ = "guild_settings"

    guild_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("guilds.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    actor_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SignInToken(Base):
    __tablename__ = "signin_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class WebSession(Base):
    """A signed-in web editor session; the cookie carries its id. Revoked: signed out."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class StateVersion(Base):
    """A counter per scope of shared state, bumped by database triggers on every write (see
    migration 0003), so in-memory copies in any process can tell when they are stale."""

    __tablename__ = "state_versions"

    scope: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class ClusterProcess(Base):
    """A running bot process: its shards, where the others reach its web server, and when
    it last said it is alive. Rows of processes that stopped beating are stale."""

    __tablename__ = "cluster_processes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    shard_count: Mapped[int | None] = mapped_column(Integer)
    shard_ids: Mapped[str] = mapped_column(String(200))  # as bot.shards.format_shard_ids
    internal_url: Mapped[str] = mapped_column(String(300))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)


class ClusterGuild(Base):
    """Which process holds a guild now (its shard's process), for the web editor's server
    list and for forwarding a server's pages to its owner."""

    __tablename__ = "cluster_guilds"

    guild_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    process_id: Mapped[str] = mapped_column(String(32), index=True)
    shard_id: Mapped[int] = mapped_column(Integer)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IdentifyWindow(Base):
    """When a gateway session last identified in each `max_concurrency` bucket, shared by
    every process (Discord allows one IDENTIFY per bucket per 5 s)."""

    __tablename__ = "identify_windows"

    bucket: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime())
