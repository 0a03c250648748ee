"""The SQLAlchemy async engine: SQLite (WAL, foreign keys) by default, PostgreSQL via asyncpg."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, MetaData, TypeDecorator, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase

from bot.private_files import private_file

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
COGS_DIR = MIGRATIONS_DIR.parent / "cogs"


def migration_dirs() -> list[Path]:
    """The shared migrations, then each feature's own `cogs/<feature>/migrations` folder.

    A feature's first migration builds on the shared "0001" and carries a branch label of
    its own, so the schema has one head per feature and upgrades go to all heads."""
    features = sorted(path for path in COGS_DIR.glob("*/migrations") if path.is_dir())
    return [MIGRATIONS_DIR / "versions", *features]


# Stable constraint names, so Alembic migrations match the models on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class DatabaseUnavailable(Exception):
    """The database could not be reached at start, after every retry."""


def _enable_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_engine(url: str) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            path = Path(parsed.database)
            path.parent.mkdir(parents=True, exist_ok=True)
            # Created 0600 before SQLite opens it; SQLite gives its -wal and -shm files the
            # database file's mode.
            private_file(path)
        engine = create_async_engine(url)
        event.listen(engine.sync_engine, "connect", _enable_sqlite_pragmas)
        return engine
    # A connect timeout: a database host that drops packets must not hang every request.
    return create_async_engine(
        url, pool_pre_ping=True, pool_size=5, max_overflow=5, connect_args={"timeout": 5}
    )


class Database:
    """One engine and its session factory; `connect` proves the database answers."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self._sessions = async_sessionmaker(engine, expire_on_commit=False)
        self._reader: AsyncConnection | None = None
        self._reader_lock: asyncio.Lock | None = None

    @property
    def backend(self) -> str:
        return self.engine.url.get_backend_name()

    @classmethod
    async def connect(cls, url: str, *, retries: int = 0, first_delay: float = 1.0) -> Database:
        """Open the engine, retrying with exponential backoff while the database is down."""
        engine = create_engine(url)
        shown = make_url(url).render_as_string(hide_password=True)
        delay = first_delay
        for attempt in range(retries + 1):
            try:
                async with engine.connect() as connection:
                    await connection.execute(text("SELECT 1"))
                return cls(engine)
            except Exception as exc:
                reason = f"{type(exc).__name__}: {exc}".replace(str(make_url(url).password), "***")
                if attempt == retries:
                    await engine.dispose()
                    raise DatabaseUnavailable(
                        f"cannot reach the database at {shown} after {attempt + 1} attempt(s) "
                        f"({reason}); check DATABASE_URL and that the server is running"
                    ) from None
                log.warning(
                    "Database at %s not reachable (%s); retrying in %.0f s", shown, reason, delay
                )
                try:
                    await asyncio.sleep(delay)
                except asyncio.CancelledError:
                    await engine.dispose()
                    raise
                delay = min(delay * 2, 30.0)
        raise AssertionError("unreachable")

    def session(self) -> AsyncSession:
        return self._sessions()

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def read_fresh(self, sql: str) -> list[Any]:
        """Rows of a small read-only `sql`, outside any transaction (so it sees every commit
        made before the call), on one connection kept for such reads.

        For a read made on (nearly) every web request: it talks to the driver directly,
        with no pool check-out and reset, and for aiosqlite one hop to its thread instead
        of several. A failed read drops the connection; the next one opens a new one.
        """
        if self._reader_lock is None:
            self._reader_lock = asyncio.Lock()
        async with self._reader_lock:
            if self._reader is None:
                self._reader = await self.engine.connect()
            try:
                raw = (await self._reader.get_raw_connection()).driver_connection
                if self.backend == "sqlite":
                    return list(await raw.execute_fetchall(sql))  # type: ignore[union-attr]
                if self.backend == "postgresql":
                    return list(await raw.fetch(sql))  # type: ignore[union-attr]
                rows = list(await self._reader.exec_driver_sql(sql))
                await self._reader.rollback()
                return rows
            except BaseException as exc:
                reader, self._reader = self._reader, None
                with contextlib.suppress(Exception):
                    await reader.invalidate()
                if isinstance(exc, Exception) and not isinstance(exc, OSError):
                    # The driver's own error types (asyncpg's, sqlite3's) are not wrapped by
                    # SQLAlchemy here: say it as a connection problem, as asyncpg does
                    # when it cannot connect at all. Callers may ping to tell a bug apart.
                    raise ConnectionError(f"database read failed: {exc!r}") from exc
                raise

    async def upgrade(self, revision: str = "heads") -> None:
        await self._run_alembic("upgrade", revision)

    async def downgrade(self, revision: str = "base") -> None:
        await self._run_alembic("downgrade", revision)

    async def _run_alembic(self, command_name: str, revision: str) -> None:
        from alembic import command

        config = alembic_config()

        def run(connection: Any) -> None:
            config.attributes["connection"] = connection
            getattr(command, command_name)(config, revision)

        async with self.engine.begin() as connection:
            await connection.run_sync(run)

    async def dispose(self) -> None:
        if self._reader is not None:
            reader, self._reader = self._reader, None
            with contextlib.suppress(Exception):
                await reader.close()
        await self.engine.dispose()


def alembic_config(url: str | None = None) -> Any:
    """Alembic's config, built in code so the project needs no alembic.ini."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(map(str, migration_dirs())))
    if url:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
