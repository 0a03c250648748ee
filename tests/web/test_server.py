"""start_web: a real TCP port, a clear error for a busy one, and a clean stop."""

from __future__ import annotations

import socket

import aiohttp
import pytest

from web.app import create_app
from web.context import WebContext
from web.server import WebPortInUse, start_web


async def test_serves_on_a_free_port_and_stops(ctx: WebContext) -> None:
    server = await start_web(create_app(ctx), "127.0.0.1", 0)
    try:
        assert server.port != 0
        async with aiohttp.ClientSession() as http, http.get(f"{server.url}/healthz") as response:
            assert response.status == 200
    finally:
        await server.stop()


async def test_busy_port_raises_a_clear_error(ctx: WebContext) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(WebPortInUse) as caught:
            await start_web(create_app(ctx), "127.0.0.1", port)
    assert str(caught.value) == (
        f"web port {port} on 127.0.0.1 is already in use: set WEB_PORT to a free port"
    )


async def test_response_headers(ctx: WebContext, aiohttp_client) -> None:  # type: ignore[no-untyped-def]
    from tests.web.conftest import ADMIN_ID, sign_in

    client = await aiohttp_client(create_app(ctx))
    for path in ("/healthz", "/login", "/static/css/app.css"):
        response = await client.get(path)
        assert response.headers["Server"] == "FoundryCord", path  # no versions
        assert "Strict-Transport-Security" not in response.headers  # PUBLIC_URL is http
    assert "no-store" not in (await client.get("/static/css/app.css")).headers.get(
        "Cache-Control", ""
    )
    await sign_in(client, ctx, ADMIN_ID)
    for path in ("/guilds", "/guilds/400000000000000004/settings", "/no-such-page"):
        response = await client.get(path)
        assert response.headers["Cache-Control"] == "no-store", path


async def test_hsts_when_public_url_is_https(
    ctx: WebContext,
    make_settings,
    aiohttp_client,  # type: ignore[no-untyped-def]
) -> None:
    ctx.settings = make_settings(public_url="https://foundry.example")
    client = await aiohttp_client(create_app(ctx))
    response = await client.get("/healthz")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"
