"""Discord OAuth2 sign-in against a local fake of Discord's API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from yarl import URL

from bot.settings import Secret, Settings
from web.app import create_app
from web.context import WebContext

CLIENT_ID = "123456789012345678"
CLIENT_SECRET = "client-secret-value"
DISCORD_USER_ID = 200000000000000002


class FakeDiscord:
    """Token and /users/@me endpoints that check what FoundryCord sends."""

    def __init__(self) -> None:
        self.token_requests: list[dict[str, Any]] = []
        app = web.Application()
        app.router.add_post("/api/v10/oauth2/token", self.token)
        app.router.add_get("/api/v10/users/@me", self.me)
        self.app = app

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.token_requests.append(
            {"form": dict(form), "auth": request.headers.get("Authorization")}
        )
        if form.get("code") != "good-code":
            return web.json_response({"error": "invalid_grant"}, status=400)
        return web.json_response({"access_token": "access-123", "token_type": "Bearer"})

    async def me(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer access-123":
            return web.json_response({"message": "401: Unauthorized"}, status=401)
        return web.json_response(
            {"id": str(DISCORD_USER_ID), "username": "admin", "global_name": "Admin Person"}
        )


@pytest.fixture
async def discord(aiohttp_server: Callable[..., Any]) -> tuple[FakeDiscord, TestServer]:
    fake = FakeDiscord()
    return fake, await aiohttp_server(fake.app)


@pytest.fixture
async def oauth_client(
    ctx: WebContext,
    make_settings: Callable[..., Settings],
    discord: tuple[FakeDiscord, TestServer],
    aiohttp_client: Callable[..., Any],
) -> TestClient:
    ctx.settings = make_settings(
        discord_client_id=CLIENT_ID,
        discord_client_secret=Secret(CLIENT_SECRET),
        discord_api_base=str(discord[1].make_url("/api/v10")),
    )
    return await aiohttp_client(create_app(ctx))


async def _start(client: TestClient) -> str:
    response = await client.get("/login/discord", allow_redirects=False)
    assert response.status == 302
    location = URL(response.headers["Location"])
    assert str(location.with_query(None)) == "https://discord.com/oauth2/authorize"
    assert location.query["scope"] == "identify guilds"
    assert location.query["client_id"] == CLIENT_ID
    assert location.query["redirect_uri"] == "http://127.0.0.1:8080/login/callback"
    return location.query["state"]


async def test_login_page_offers_discord_button(oauth_client: TestClient) -> None:
    assert "/login/discord" in await (await oauth_client.get("/login")).text()


async def test_happy_path_signs_in(
    oauth_client: TestClient, discord: tuple[FakeDiscord, TestServer]
) -> None:
    state = await _start(oauth_client)
    response = await oauth_client.get(
        f"/login/callback?code=good-code&state={state}", allow_redirects=False
    )
    assert response.status == 302
    assert response.headers["Location"] == "/guilds"
    page = await (await oauth_client.get("/guilds")).text()
    assert "Admin Person" in page and "Forge Guild" in page
    [sent] = discord[0].token_requests
    assert sent["form"]["grant_type"] == "authorization_code"
    assert sent["form"]["redirect_uri"] == "http://127.0.0.1:8080/login/callback"
    assert sent["auth"].startswith("Basic ")


async def test_state_mismatch_is_refused(oauth_client: TestClient) -> None:
    await _start(oauth_client)
    response = await oauth_client.get("/login/callback?code=good-code&state=forged")
    assert response.status == 400
    assert "Sign-in state mismatch, start again" in await response.text()
    assert (await oauth_client.get("/guilds", allow_redirects=False)).status == 302


async def test_callback_without_started_sign_in_is_refused(oauth_client: TestClient) -> None:
    response = await oauth_client.get("/login/callback?code=good-code&state=anything")
    assert response.status == 400


async def test_state_cannot_be_replayed(oauth_client: TestClient) -> None:
    state = await _start(oauth_client)
    await oauth_client.get(f"/login/callback?code=bad-code&state={state}")
    response = await oauth_client.get(f"/login/callback?code=good-code&state={state}")
    assert response.status == 400


async def test_refused_code_exchange_is_explained(
    oauth_client: TestClient, discord: tuple[FakeDiscord, TestServer]
) -> None:
    state = await _start(oauth_client)
    response = await oauth_client.get(f"/login/callback?code=bad-code&state={state}")
    text = await response.text()
    assert response.status == 502
    assert "Discord refused the sign-in (HTTP 400)" in text
    assert CLIENT_SECRET not in text


async def test_oauth_routes_explain_when_not_configured(client: TestClient) -> None:
    response = await client.get("/login/discord")
    assert response.status == 404
    assert "DISCORD_CLIENT_ID" in await response.text()
