"""CSRF tokens on every state-changing request."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from tests.web.conftest import (
    ADMIN_ID,
    GUILD_ID,
    OWNER_ID,
    PENDING_GUILD_ID,
    PUBLIC_URL,
    csrf_token,
    open_link,
    press_sign_in,
    sign_in,
)
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


async def test_login_from_another_origin_is_refused(client: TestClient, ctx: WebContext) -> None:
    """Login CSRF: a form on evil.example posting a valid link token, with no Sec-Fetch-Site
    (older browsers), must not sign the victim in."""
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {"Origin": "http://127.0.0.1:1"},  # another port of this machine is another site
    ):
        token = await open_link(client, await ctx.signin.issue(ADMIN_ID))
        response = await press_sign_in(client, token, **headers)
        assert response.status == 403, headers
        assert "another site" in await response.text()
        assert (await client.get("/guilds", allow_redirects=False)).status == 302  # signed out
        # The link was not used up by the refused request.
        assert (await press_sign_in(client, token)).status == 303
        await client.post("/logout", data={"csrf_token": await csrf_token(client)})


async def test_login_from_public_url_or_this_address_is_accepted(
    client: TestClient, ctx: WebContext
) -> None:
    own = f"http://127.0.0.1:{client.port}"
    for headers in (
        {"Origin": PUBLIC_URL},
        {"Referer": PUBLIC_URL + "/login/link?token=x"},
        {"Origin": own},
        {},
    ):
        token = await open_link(client, await ctx.signin.issue(ADMIN_ID))
        assert (await press_sign_in(client, token, **headers)).status == 303, headers


async def test_signed_in_post_from_another_origin_is_refused_despite_a_token(
    client: TestClient, ctx: WebContext
) -> None:
    await sign_in(client, ctx, OWNER_ID)
    token = await csrf_token(client)
    response = await client.post(
        APPROVE, data={"csrf_token": token}, headers={"Origin": "https://evil.example"}
    )
    assert response.status == 403
    assert await ctx.guild_access.status(PENDING_GUILD_ID) == "pending"
