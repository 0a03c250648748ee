"""/healthz answers without a session: 200 when ready, 503 otherwise."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

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
        "cache": True,
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
