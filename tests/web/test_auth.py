"""Who may open a guild's pages is decided afresh on every request: approvals come from
memory only while no process changed them, permissions from the bot's live state."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import text

from bot.database import Database
from tests.web.conftest import ADMIN_ID, GUILD_ID, FakeLive, sign_in
from web.context import WebContext

SETTINGS = f"/guilds/{GUILD_ID}/settings"


async def test_rejection_by_another_process_is_refused_on_the_next_request(
    client: TestClient, ctx: WebContext, sqlite_url: str
) -> None:
    await sign_in(client, ctx, ADMIN_ID)
    assert (await client.get(SETTINGS)).status == 200
    assert "Forge Guild" in await (await client.get("/guilds")).text()
    other = await Database.connect(sqlite_url)  # a second process on the same database
    try:
        async with other.session() as session, session.begin():
            await session.execute(
                text(f"UPDATE guilds SET status = 'rejected' WHERE id = {GUILD_ID}")
            )
    finally:
        await other.dispose()
    assert (await client.get(SETTINGS)).status == 403
    assert "Forge Guild" not in await (await client.get("/guilds")).text()


async def test_lost_permission_is_refused_on_the_next_request(
    client: TestClient, ctx: WebContext, live: FakeLive
) -> None:
    await sign_in(client, ctx, ADMIN_ID)
    assert (await client.get(SETTINGS)).status == 200
    live.managers.discard((GUILD_ID, ADMIN_ID))  # a role change on Discord
    assert (await client.get(SETTINGS)).status == 403
