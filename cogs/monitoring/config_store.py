"""Service checks and agent tokens, per guild, with a cached list of every check for the
sampler (which runs them all each tick)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime

from sqlalchemy import Select, delete, func, select

from bot.database import Database
from bot.locks import quota_lock
from cogs.monitoring.collectors.services import ServiceCheck
from cogs.monitoring.games import MAX_GAME_SERVERS_PER_GUILD, GameServer
from cogs.monitoring.hosts import agent_key
from cogs.monitoring.models import AgentToken, GameServerRow, ServiceCheckRow

TOKEN_PREFIX = "fcm_"
MAX_CHECKS_PER_GUILD = 25
MAX_TOKENS_PER_GUILD = 20  # live agent tokens
MAX_REVOKED_KEPT = 20  # revoked tokens listed (older ones are deleted)


class GameServerLimit(ValueError):
    """A server watches as many game servers as it may."""


class TokenLimit(ValueError):
    """A server has as many live agent tokens as it may; the message says what to do."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def game_of(row: GameServerRow) -> GameServer:
    return GameServer(row.id, row.guild_id, row.name, row.protocol, row.address, row.port)


def check_of(row: ServiceCheckRow) -> ServiceCheck:
    return ServiceCheck(row.id, row.name, row.kind, row.target, row.port, row.timeout_s, row.expect)


def checks_query(guild_id: int) -> Select[tuple[ServiceCheckRow]]:
    return (
        select(ServiceCheckRow)
        .where(ServiceCheckRow.guild_id == guild_id)
        .order_by(ServiceCheckRow.id)
    )


def games_query(guild_id: int) -> Select[tuple[GameServerRow]]:
    return (
        select(GameServerRow).where(GameServerRow.guild_id == guild_id).order_by(GameServerRow.id)
    )


def tokens_query(guild_id: int) -> Select[tuple[AgentToken]]:
    return select(AgentToken).where(AgentToken.guild_id == guild_id).order_by(AgentToken.id)


class ConfigStore:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._checks: list[ServiceCheck] | None = None
        self._games: list[GameServer] | None = None

    # --- service checks -------------------------------------------------------------
    async def all_checks(self) -> list[ServiceCheck]:
        if self._checks is None:
            async with self.db.session() as session:
                rows = await session.scalars(select(ServiceCheckRow).order_by(ServiceCheckRow.id))
                self._checks = [check_of(row) for row in rows]
        return self._checks

    async def checks(self, guild_id: int) -> list[ServiceCheckRow]:
        async with self.db.session() as session:
            return list(await session.scalars(checks_query(guild_id)))

    async def add_check(self, guild_id: int, check: ServiceCheck) -> ServiceCheckRow:
        """Store a validated check (`check.validate()` first; its id is ignored);
        ValueError past the cap."""
        row = ServiceCheckRow(
            guild_id=guild_id,
            name=check.name.strip(),
            kind=check.kind,
            target=check.target.strip(),
            port=check.port,
            timeout_s=check.timeout_s,
            expect=check.expect,
        )
        async with self.db.session() as session, session.begin():
            # The count and the insert in one transaction, this server's adds serialised.
            await quota_lock(session, "service-checks", guild_id)
            count = await session.scalar(
                select(func.count()).where(ServiceCheckRow.guild_id == guild_id)
            )
            if (count or 0) >= MAX_CHECKS_PER_GUILD:
                raise ValueError(
                    f"a server can have at most {MAX_CHECKS_PER_GUILD} service checks; "
                    "remove one it no longer needs first"
                )
            session.add(row)
        self._checks = None
        return row

    async def remove_check(self, guild_id: int, check_id: int) -> bool:
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                delete(ServiceCheckRow).where(
                    ServiceCheckRow.guild_id == guild_id, ServiceCheckRow.id == check_id
                )
            )
        self._checks = None
        return bool(result.rowcount)

    # --- game servers ---------------------------------------------------------------
    async def all_games(self) -> list[GameServer]:
        """Every server's game servers (the poller's list), cached until one changes."""
        if self._games is None:
            async with self.db.session() as session:
                rows = await session.scalars(select(GameServerRow).order_by(GameServerRow.id))
                self._games = [game_of(row) for row in rows]
        return self._games

    async def games(self, guild_id: int) -> list[GameServer]:
        async with self.db.session() as session:
            return [game_of(row) for row in await session.scalars(games_query(guild_id))]

    async def add_game(self, server: GameServer, created_by: int) -> GameServer:
        """Store a validated game server (`server.validate()` and the address check first;
        its id is ignored); GameServerLimit past the cap."""
        async with self.db.session() as session, session.begin():
            await quota_lock(session, "game-servers", server.guild_id)
            count = await session.scalar(
                select(func.count()).where(GameServerRow.guild_id == server.guild_id)
            )
            if (count or 0) >= MAX_GAME_SERVERS_PER_GUILD:
                raise GameServerLimit(
                    f"a server can watch at most {MAX_GAME_SERVERS_PER_GUILD} game servers; "
                    "remove one it no longer needs first"
                )
            row = GameServerRow(
                guild_id=server.guild_id,
                name=server.name,
                protocol=server.protocol,
                address=server.address,
                port=server.port,
                created_by=created_by,
            )
            session.add(row)
            await session.flush()
            saved = game_of(row)
        self._games = None
        return saved

    async def remove_game(self, guild_id: int, server_id: int) -> bool:
        if not 1 <= server_id <= 2**31 - 1:
            return False
        async with self.db.session() as session, session.begin():
            result = await session.execute(
                delete(GameServerRow).where(
                    GameServerRow.guild_id == guild_id, GameServerRow.id == server_id
                )
            )
        self._games = None
        return bool(result.rowcount)

    # --- agent tokens ---------------------------------------------------------------
    async def create_token(self, guild_id: int, host: str, created_by: int) -> str:
        """A new token for `host`; only its hash is stored, so this is the one time it shows."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        async with self.db.session() as session, session.begin():
            await quota_lock(session, "agent-tokens", guild_id)
            live = await session.scalar(
                select(func.count()).where(
                    AgentToken.guild_id == guild_id, AgentToken.revoked_at.is_(None)
                )
            )
            if (live or 0) >= MAX_TOKENS_PER_GUILD:
                raise TokenLimit(
                    f"this server already has {MAX_TOKENS_PER_GUILD} live agent tokens, the "
                    "most it may have; revoke one it no longer needs first"
                )
            session.add(
                AgentToken(
                    guild_id=guild_id,
                    host=host,
                    token_hash=hash_token(token),
                    created_by=created_by,
                )
            )
        return token

    async def tokens(self, guild_id: int) -> list[AgentToken]:
        async with self.db.session() as session:
            return list(await session.scalars(tokens_query(guild_id)))

    async def revoke_token(self, guild_id: int, token_id: int) -> bool:
        async with self.db.session() as session, session.begin():
            row = await session.get(AgentToken, token_id)
            if row is None or row.guild_id != guild_id or row.revoked_at is not None:
                return False
            row.revoked_at = datetime.now(UTC)
            await session.flush()
            revoked = await session.scalars(
                select(AgentToken.id)
                .where(AgentToken.guild_id == guild_id, AgentToken.revoked_at.is_not(None))
                .order_by(AgentToken.revoked_at.desc(), AgentToken.id.desc())
                .offset(MAX_REVOKED_KEPT)
            )
            old = list(revoked)
            if old:  # keep the list short: the oldest revoked tokens go
                await session.execute(delete(AgentToken).where(AgentToken.id.in_(old)))
        return True

    async def verify_token(self, token: str) -> tuple[str | None, str]:
        """(host key, "") for a live token, else (None, why): "unknown" or "revoked". The
        key is the token's server's own host of that name (hosts.agent_key)."""
        digest = hash_token(token)
        async with self.db.session() as session, session.begin():
            row = await session.scalar(select(AgentToken).where(AgentToken.token_hash == digest))
            if row is None or not hmac.compare_digest(row.token_hash, digest):
                return None, "unknown"
            if row.revoked_at is not None:
                return None, "revoked"
            now = datetime.now(UTC)
            if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
                row.last_used_at = now  # at most a write a minute, not one per sample
            return agent_key(row.guild_id, row.host), ""
