"""/healthz answers without a session: 200 when ready, 503 otherwise."""

from __future__ import annotations

import logging
import socket

import pytest
from aiohttp.test_utils import TestClient

from bot.cache import FallbackCache, RedisCache
from tests.web.conftest import FakeLive
from web.context import WebContext


async def test_ready_bot_is_ok(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    assert await response.json() == {
        "status": "ok",
        "gateway": True,
        "latency_ms": 42.5,
        "database": True,
        "cache": "ok",
    }
    assert "Set-Cookie" not in response.headers


async def test_gateway_down_is_503(client: TestClient, live: FakeLive) -> None:
    live.connected = False
    response = await client.get("/healthz")
    assert response.status == 503
    body = await response.json()
    assert body["status"] == "starting"
    assert body["gateway"] is False and body["latency_ms"] is None


async def test_database_down_is_503(client: TestClient, ctx: WebContext) -> None:
    async def broken_ping() -> bool:
        raise ConnectionError("database went away")

    ctx.db.ping = broken_ping  # type: ignore[method-assign]
    response = await client.get("/healthz")
    assert response.status == 503
    assert (await response.json())["database"] is False


async def test_redis_outage_is_reported_as_degraded_and_logged_once(
    client: TestClient, ctx: WebContext, caplog: pytest.LogCaptureFixture
) -> None:
    with socket.socket() as sock:  # a port nothing listens on: Redis is "down"
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ctx.cache = FallbackCache(RedisCache.from_url(f"redis://127.0.0.1:{port}/0"))
    try:
        caplog.set_level(logging.INFO, logger="bot.cache")
        for _ in range(3):
            response = await client.get("/healthz")
            assert response.status == 200  # the bot works on the in-process cache
            assert (await response.json())["cache"] == "degraded (memory)"
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "Redis is unreachable" in warnings[0].getMessage()
    finally:
        await ctx.cache.close()
