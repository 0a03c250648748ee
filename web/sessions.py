"""Signed-in sessions that the server can end: each has a row in `web_sessions` whose id the
encrypted cookie carries. Signing out revokes the row, so a copy of the cookie taken before
is worthless; an owner can revoke every session of a user. A session also ends after
IDLE_TIMEOUT without a request, and SESSION_MAX_AGE after sign-in whatever happens.

Whether a session id is still valid is kept in memory and dropped whenever the 'sessions'
state counter moves (see bot.state_cache), so a revocation made by any process is honoured
on the very next request without a database read per request.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from bot.database import Database
from bot.models import WebSession
from bot.state_cache import SESSIONS, Versions

SESSION_MAX_AGE = timedelta(days=7)
IDLE_TIMEOUT = timedelta(hours=12)
# How often an active session's cookie is rewritten to record that it was used.
SEEN_REFRESH = timedelta(minutes=5)

SESSION_ID_FIELD = "sid"
SEEN_AT_FIELD = "seen_at"
SIGNED_IN_AT_FIELD = "signed_in_at"


@dataclass(frozen=True)
class ActiveUser:
    user_id: int
    sessions: int
    last_sign_in: datetime


class WebSessions:
    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self._db = db
        self._clock = clock
        self._loaded_at: int | None = None
        self._active: dict[str, bool] = {}

    async def start(self, user_id: int) -> str:
        """Record a new session for `user_id` and return its id."""
        now = self._clock()
        session_id = secrets.token_urlsafe(32)
        async with self._db.session() as session, session.begin():
            # Housekeeping: past the maximum age a session is dead whatever its row says.
            await session.execute(
                delete(WebSession).where(WebSession.created_at < now - SESSION_MAX_AGE)
            )
            session.add(WebSession(id=session_id, user_id=user_id, created_at=now))
        return session_id

    async def is_active(self, versions: Versions, session_id: str) -> bool:
        version = versions.get(SESSIONS)
        if version is None or version != self._loaded_at:
            self._active = {}
            self._loaded_at = version
        known = self._active.get(session_id)
        if known is not None:
            return known
        cleared_at = self._loaded_at
        async with self._db.session() as session:
            row = await session.get(WebSession, session_id)
        active = row is not None and row.revoked_at is None
        if cleared_at == self._loaded_at:
            self._active[session_id] = active
        return active

    async def revoke(self, session_id: str) -> None:
        async with self._db.session() as session, session.begin():
            await session.execute(
                update(WebSession)
                .where(WebSession.id == session_id, WebSession.revoked_at.is_(None))
                .values(revoked_at=self._clock())
            )

    async def revoke_user(self, user_id: int) -> int:
        """End every session of `user_id`; returns how many were active."""
        async with self._db.session() as session, session.begin():
            result = await session.execute(
                update(WebSession)
                .where(WebSession.user_id == user_id, WebSession.revoked_at.is_(None))
                .values(revoked_at=self._clock())
            )
        return int(result.rowcount or 0)

    async def active_users(self) -> list[ActiveUser]:
        """Users with sessions not revoked and younger than the maximum age, newest first."""
        since = self._clock() - SESSION_MAX_AGE
        query = (
            select(WebSession.user_id, func.count(), func.max(WebSession.created_at))
            .where(WebSession.revoked_at.is_(None), WebSession.created_at >= since)
            .group_by(WebSession.user_id)
        )
        async with self._db.session() as session:
            rows = (await session.execute(query)).all()
        users = [ActiveUser(user_id, count, last) for user_id, count, last in rows]
        return sorted(users, key=lambda u: u.last_sign_in, reverse=True)
