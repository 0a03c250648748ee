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
