"""Monitoring's tables.

Samples are compact: one row per (host, tier, time) holding every metric of that moment
packed as binary (see `history.pack`), with metric names kept once in `monitoring_metrics`.
A row per metric per sample would be about a hundred times as many rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.database import Base, UTCDateTime
from bot.models import utcnow


class MetricName(Base):
    __tablename__ = "monitoring_metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)


class HostRow(Base):
    """A host: the installation's (`guild_id` None: the bot's own, or an agent writing to
    the database) or a server's agent host. `key` is what samples and rules store:
    the name for the installation's hosts, `g<guild id>/<name>` for a server's."""

    __tablename__ = "monitoring_hosts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(96), unique=True)
    guild_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("guilds.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))


class HostShare(Base):
    """An owner's choice whether the installation's hosts are shown to a server (no row:
    shared, the default for every approved server)."""

    __tablename__ = "monitoring_host_shares"

    guild_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("guilds.id", ondelete="CASCADE"), primary_key=True
    )
    shared: Mapped[bool] = mapped_column(Boolean, default=True)


class HostMetric(Base):
    """Which metric names a host has used: its share of the id space, capped per host."""

    __tablename__ = "monitoring_host_metrics"

    host: Mapped[str] = mapped_column(String(96), primary_key=True)
    metric_id: Mapped[int] = mapped_column(Integer, primary_key=True)


class SampleRow(Base):
    __tablename__ = "monitoring_samples"

    host: Mapped[str] = mapped_column(String(96), primary_key=True)  # a host key
    tier: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # 0 raw, 1 5-min, 2 hourly
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True)  # unix seconds (bucket start)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class AlertRule(Base):
    """A guild's rule and its live state (kept here so a restart resumes it exactly)."""

    __tablename__ = "monitoring_alert_rules"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("guilds.id", ondelete="CASCADE"), index=True
    )
    metric: Mapped[str] = mapped_column(String(120))
    host: Mapped[str] = mapped_column(String(96))  # a host key (see HostRow)
    comparison: Mapped[str] = mapped_column(String(2))
    threshold: Mapped[float] = mapped_column(Float)
    hysteresis: Mapped[float] = mapped_column(Float, default=0.0)
    duration_s: Mapped[int] = mapped_column(Integer, default=0)
    cooldown_s: Mapped[int] = mapped_column(Integer, default=300)
    severity: Mapped[str] = mapped_column(String(16), default="warning")
    channel_id: Mapped[int] = mapped_column(BigInteger)
    role_id: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    state: Mapped[str] = mapped_column(String(8), default="ok")  # ok, pending, firing
    pending_since: Mapped[float | None] = mapped_column(Float)
    last_fired_at: Mapped[float | None] = mapped_column(Float)
    last_value: Mapped[float | None] = mapped_column(Float)


class AlertEvent(Base):
    """A fire or recovery to announce (an outbox row, written with the rule's new state).

    Delivery claims it (`claimed_at`) before sending with `nonce` (Discord's message nonce,
    sent with `enforce_nonce`), and sets `sent_at` and `outcome` once done. A row claimed
    but not done may have reached Discord: it is looked for there before it is sent again."""

    __tablename__ = "monitoring_alert_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("monitoring_alert_rules.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))  # fire, recover
    value: Mapped[float | None] = mapped_column(Float)
    at: Mapped[float] = mapped_column(Float)
    sent_at: Mapped[float | None] = mapped_column(Float)
    nonce: Mapped[str | None] = mapped_column(String(25))
    claimed_at: Mapped[float | None] = mapped_column(Float)
    outcome: Mapped[str | None] = mapped_column(String(12))  # sent, refused, dropped, superseded


class ServiceCheckRow(Base):
    __tablename__ = "monitoring_service_checks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("guilds.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))
    target: Mapped[str] = mapped_column(String(500))
    port: Mapped[int | None] = mapped_column(Integer)
    timeout_s: Mapped[float] = mapped_column(Float, default=5.0)
    expect: Mapped[str] = mapped_column(String(8), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AgentToken(Base):
    """A per-host token for `python -m bot agent` posting to the web ingestion endpoint.
    Only a SHA-256 of the token is stored."""

    __tablename__ = "monitoring_agent_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("guilds.id", ondelete="CASCADE"), index=True
    )
    host: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class GameServerRow(Base):
    """A game server a server's manager watches (polled by `games.GamePoller`)."""

    __tablename__ = "monitoring_game_servers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("guilds.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    protocol: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(253))
    port: Mapped[int] = mapped_column(Integer)
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
