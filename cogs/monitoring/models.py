"""Monitoring's tables.

Samples are compact: one row per (host, tier, time) holding every metric of that moment
packed as binary (see `history.pack`), with metric names kept once in `monitoring_metrics`.
A row per metric per sample would be about a hundred times as many rows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, Integer, LargeBinary, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.database import Base, UTCDateTime
from bot.models import utcnow


class MetricName(Base):
    __tablename__ = "monitoring_metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)


class SampleRow(Base):
    __tablename__ = "monitoring_samples"

    host: Mapped[str] = mapped_column(String(64), primary_key=True)
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
    host: Mapped[str] = mapped_column(String(64))
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
