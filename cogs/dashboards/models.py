"""The dashboards table: one row per dashboard message, with the layout it shows and the
message id and payload hash that let a restarted bot re-attach instead of posting again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.database import Base, UTCDateTime
from bot.models import utcnow


class Dashboard(Base):
    __tablename__ = "dashboards"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guild_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("guilds.id", ondelete="CASCADE"), index=True
    )
    channel_id: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(100))
    layout: Mapped[dict[str, Any]] = mapped_column(JSON)
    view_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_hash: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(String(300))
    # A post recorded as intended before it is sent (cleared once its message id is stored):
    # a restart looks for it after `post_after` (a snowflake) and adopts or deletes it.
    post_nonce: Mapped[str | None] = mapped_column(String(25))
    post_after: Mapped[int | None] = mapped_column(BigInteger)
    created_by: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
