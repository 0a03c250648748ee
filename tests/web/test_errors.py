"""A database outage gives a 503 page saying so, with one warning per outage and no
traceback; the test starts and stops a PostgreSQL server of its own."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp.test_utils import TestClient

from bot.database import Database
from tests.private_postgres import PrivatePostgres, find_postgres
from tests.web.conftest import ADMIN_ID, GUILD_ID, PUBLIC_URL, csrf_token, sign_in
from web.context import WebContext

SETTINGS = f"/guilds/{GUILD_ID}/settings"


@pytest.fixture(scope="module")
def private_postgres() -> Iterator[PrivatePostgres]:
    server = find_postgres()
    if isinstance(server, str):
        pytest.skip(server)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.destroy()


@pytest.fixture
async def db(private_postgres: PrivatePostgres) -> AsyncIterator[Database]:
    """The web fixtures' database, on the private server (overrides tests/web/conftest)."""
    database = await Database.connect(private_postgres.url)
    await database.downgrade("base")
    await database.upgrade()
    yield database
    await database.dispose()


def _records(caplog: pytest.LogCaptureFixture, level: int) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == level]


async def test_database_outage_gives_503_and_one_warning_per_outage(
    client: TestClient,
    ctx: WebContext,
    private_postgres: PrivatePostgres,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    await sign_in(client, ctx, ADMIN_ID)
    token = await csrf_token(client)
    link = (await ctx.signin.issue(ADMIN_ID)).removeprefix(PUBLIC_URL)
    assert (await client.get("/guilds")).status == 200

    for outage in range(2):
        private_postgres.stop()
        try:
            for _ in range(2):
                for method, path in (
                    ("GET", "/guilds"),
                    ("GET", SETTINGS),
                    ("GET", link),
                    ("POST", SETTINGS),
                ):
                    data = {"csrf_token": token, "max_channels": "9"} if method == "POST" else None
                    response = await client.request(method, path, data=data)
                    text = await response.text()
                    assert response.status == 503, (method, path, text[:300])
                    assert "database is unreachable" in text
                    assert response.headers["Retry-After"] == "30"
        finally:
            private_postgres.start()
        assert (await client.get("/healthz")).status == 200
        assert (await client.get("/guilds")).status == 200
        warnings = [m for m in _records(caplog, logging.WARNING) if "unreachable" in m]
        assert len(warnings) == outage + 1, warnings
        assert _records(caplog, logging.INFO).count("The database is reachable again") == (
            outage + 1
        )
    assert _records(caplog, logging.ERROR) == []
    assert not any(r.exc_info for r in caplog.records if r.levelno >= logging.WARNING)
