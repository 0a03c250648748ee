"""Shared fixtures: database and cache on every backend the project supports."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import backends

# The end-to-end ground (`foundry`, `eventually`, `approve`, the mention audit): tests/foundry.py;
# where an unclosed aiosqlite connection was opened: tests/leaks.py.
pytest_plugins = ["tests.foundry", "tests.leaks"]


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[backends.PostgresDatabase | str]:
    yield from backends.postgres_database()


@pytest.fixture(scope="session")
def redis_reason() -> str | None:
    return backends.redis_available()


@pytest.fixture(scope="session")
def redis_prefix(redis_reason: str | None) -> Iterator[str]:
    prefix = f"foundrycord-test-{secrets.token_hex(4)}:"
    yield prefix
    if redis_reason is None:
        backends.run_blocking(lambda: backends.delete_prefix(prefix))


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database on each backend: a SQLite file, or the run's PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    database = request.getfixturevalue("postgres_database")
    if isinstance(database, str):
        pytest.skip(database)
    await backends.reset_postgres_schema(database.url)
    yield database.url


@pytest.fixture
async def migrated_db(database_url: str):  # type: ignore[no-untyped-def]
    from bot.database import Database

    db = await Database.connect(database_url)
    await db.upgrade()
    yield db
    await db.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say loudly when the end-to-end tests ran without checking Discord's OpenAPI spec."""
    from sandbox.spec_path import MISSING_REASON, default_spec_path

    if default_spec_path() is None:
        terminalreporter.write_sep("!", "SANDBOX SPEC VALIDATION OFF")
        terminalreporter.write_line(MISSING_REASON, yellow=True, bold=True)
