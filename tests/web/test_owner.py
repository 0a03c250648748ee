"""/owner: bot status and recent log lines, for owners only."""

from __future__ import annotations

import logging
from datetime import timedelta

from aiohttp.test_utils import TestClient

from tests.web.conftest import ADMIN_ID, OWNER_ID, Clock, FakeLive, sign_in
from web.context import WebContext


async def test_owner_page_is_forbidden_for_non_owners(client: TestClient, ctx: WebContext) -> None:
    await sign_in(client, ctx, ADMIN_ID)
    response = await client.get("/owner")
    assert response.status == 403
    assert "OWNER_IDS" in await response.text()
    assert "/owner" not in await (await client.get("/guilds")).text()


async def test_owner_sees_status_and_escaped_log_lines(
    client: TestClient, ctx: WebContext, live: FakeLive, clock: Clock
) -> None:
    live.started = clock.now - timedelta(hours=2, minutes=3)
    ctx.log_buffer.emit(logging.makeLogRecord({"msg": "hello <script>alert(1)</script>"}))
    await sign_in(client, ctx, OWNER_ID)
    response = await client.get("/owner")
    text = await response.text()
    assert response.status == 200
    assert "connected" in text and "42.5 ms" in text and "2h 3m 0s" in text
    assert "hello &lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script>alert(1)" not in text
    assert 'href="/owner"' in text
