"""CSRF tokens on every state-changing request."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.web.conftest import GUILD_ID, OWNER_ID, PENDING_GUILD_ID, csrf_token, sign_in
from web.context import WebContext

APPROVE = f"/guilds/{PENDING_GUILD_ID}/approve"


async def test_post_without_token_is_refused(client: TestClient, ctx: WebContext) -> None:
    await sign_in(client, ctx, OWNER_ID)
    response = await client.post(APPROVE, data={})
    assert response.status == 403
    assert "no security (CSRF) token" in await response.text()
    assert await ctx.guild_access.status(PENDING_GUILD_ID) == "pending"


async def test_post_with_wrong_token_is_refused(client: TestClient, ctx: WebContext) -> None:
    await sign_in(client, ctx, OWNER_ID)
    await csrf_token(client)
    response = await client.post(APPROVE, data={"csrf_token": "not-the-token"})
    assert response.status == 403
    assert "does not match" in await response.text()


async def test_token_from_another_session_is_refused(
    client: TestClient, ctx: WebContext, aiohttp_client
) -> None:  # type: ignore[no-untyped-def]
    await sign_in(client, ctx, OWNER_ID)
    mine = await csrf_token(client)
    await sign_in(client, ctx, OWNER_ID)  # a fresh session gets a fresh token
    response = await client.post(APPROVE, data={"csrf_token": mine})
    assert response.status == 403


async def test_header_token_is_accepted_for_json_clients(
    client: TestClient, ctx: WebContext
) -> None:
    await sign_in(client, ctx, OWNER_ID)
    token = await csrf_token(client)
    response = await client.post(
        APPROVE, headers={"X-CSRF-Token": token, "Accept": "application/json"}
    )
    assert response.status == 200  # followed the redirect to /guilds
    assert await ctx.guild_access.status(PENDING_GUILD_ID) == "approved"


async def test_json_client_gets_json_error(client: TestClient, ctx: WebContext) -> None:
    await sign_in(client, ctx, OWNER_ID)
    response = await client.delete(
        f"/guilds/{GUILD_ID}/settings", headers={"Accept": "application/json"}
    )
    assert response.status == 403
    assert "CSRF" in (await response.json())["error"]
