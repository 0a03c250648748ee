"""One-time sign-in links (open shows a button, its POST signs in) and the sign-in gate."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text
from yarl import URL

from bot.database import Database
from tests.web.conftest import (
    ADMIN_ID,
    GUILD_ID,
    PUBLIC_URL,
    SESSION_KEY,
    Clock,
    open_link,
    press_sign_in,
    sign_in,
)
from web.auth import safe_next
from web.context import WebContext
from web.signin import SignInLinks, SignInLinkUsed


def _path(link: str) -> str:
    assert link.startswith(PUBLIC_URL + "/login/link?token=")
    return link.removeprefix(PUBLIC_URL)


async def test_signed_out_page_redirects_to_login_with_next(client: TestClient) -> None:
    response = await client.get(f"/guilds/{GUILD_ID}/settings?tab=1", allow_redirects=False)
    assert response.status == 302
    location = URL(response.headers["Location"])
    assert location.path == "/login"
    assert location.query["next"] == f"/guilds/{GUILD_ID}/settings?tab=1"


async def test_signed_out_post_is_refused_with_401(client: TestClient) -> None:
    response = await client.post(f"/guilds/{GUILD_ID}/settings", data={"prefix": "?"})
    assert response.status == 401
    assert "not signed in" in await response.text()


async def test_login_page_explains_web_command_without_oauth(client: TestClient) -> None:
    response = await client.get("/login")
    text = await response.text()
    assert response.status == 200
    assert "/web" in text
    assert "/login/discord" not in text


async def test_link_signs_in_and_lands_on_guild_list(client: TestClient, ctx: WebContext) -> None:
    token = await open_link(client, await ctx.signin.issue(ADMIN_ID))
    response = await press_sign_in(client, token)
    assert response.status == 303
    assert response.headers["Location"] == "/guilds"
    page = await client.get("/guilds")
    text = await page.text()
    assert page.status == 200
    assert "admin" in text and "Forge Guild" in text


async def test_opening_a_link_shows_a_button_and_changes_nothing(
    client: TestClient, ctx: WebContext
) -> None:
    link = await ctx.signin.issue(ADMIN_ID)
    token = link.split("token=", 1)[1]
    response = await client.get(_path(link))
    text = await response.text()
    assert response.status == 200
    assert '<form method="post" action="/login/link">' in text
    assert f'<input type="hidden" name="token" value="{token}">' in text
    assert "Sign in" in text and 'name="csrf-token"' not in text
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert await ctx.signin.check(token) == ADMIN_ID
    assert (await client.get("/guilds", allow_redirects=False)).status == 302


async def test_head_and_get_do_not_use_up_the_link(client: TestClient, ctx: WebContext) -> None:
    link = await ctx.signin.issue(ADMIN_ID)
    head = await client.head(_path(link))
    assert head.status == 200 and "Set-Cookie" not in head.headers
    token = await open_link(client, link)
    assert not client.session.cookie_jar.filter_cookies(client.make_url("/"))
    first = await press_sign_in(client, token)
    assert (first.status, first.headers["Location"]) == (303, "/guilds")
    assert (await client.get("/guilds", allow_redirects=False)).status == 200
    client.session.cookie_jar.clear()
    second = await press_sign_in(client, token)
    assert second.status == 410
    assert "already used" in await second.text()
    assert (await client.get("/guilds", allow_redirects=False)).status == 302


async def test_link_in_path_form_works(client: TestClient, ctx: WebContext) -> None:
    token = (await ctx.signin.issue(ADMIN_ID)).split("token=", 1)[1]
    assert await open_link(client, f"/login/link/{token}") == token
    assert (await press_sign_in(client, token)).status == 303


async def test_link_returns_to_the_page_asked_for(client: TestClient, ctx: WebContext) -> None:
    target = f"/guilds/{GUILD_ID}/settings"
    await client.get(f"/login?next={quote(target, safe='')}")
    token = await open_link(client, await ctx.signin.issue(ADMIN_ID))
    response = await press_sign_in(client, token)
    assert response.headers["Location"] == target


EVIL_NEXT = [
    "//evil.example/",
    "/\t/evil.example/",
    "/\n/evil.example/",
    "/\r/evil.example/",
    "/\\evil.example/",
    "/\\\\evil.example/",
    "/guilds\\..\\/evil.example/",
    "/ /evil.example/",
    "/\x7f/evil.example/",
    "https://evil.example/",
    "javascript:alert(1)",
    "evil.example",
]


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_safe_next_refuses_other_sites(target: str) -> None:
    assert safe_next(target) is None


@pytest.mark.parametrize("target", ["/guilds", f"/guilds/{GUILD_ID}/settings?tab=1&x=%2F%2F"])
def test_safe_next_keeps_paths_on_this_site(target: str) -> None:
    assert safe_next(target) == target


@pytest.mark.parametrize(
    "query",
    [
        "//evil.example/",
        "/%09/evil.example",
        "/%0a/evil.example",
        "/%0d/evil.example",
        "/%5Cevil.example",
        "/%5C%5Cevil.example",
        "https://evil.example/",
    ],
)
async def test_next_to_another_site_is_ignored(
    client: TestClient, ctx: WebContext, query: str
) -> None:
    await client.get(f"/login?next={query}")
    token = await open_link(client, await ctx.signin.issue(ADMIN_ID))
    response = await press_sign_in(client, token)
    assert response.headers["Location"] == "/guilds"
    # Signed in, /login sends a visitor straight on: to /guilds, never to the other site.
    again = await client.get(f"/login?next={query}", allow_redirects=False)
    assert (again.status, again.headers["Location"]) == (302, "/guilds")


async def test_expired_link_is_refused(client: TestClient, ctx: WebContext, clock: Clock) -> None:
    link = await ctx.signin.issue(ADMIN_ID)
    clock.advance(minutes=10, seconds=1)
    response = await client.get(_path(link), allow_redirects=False)
    text = await response.text()
    assert response.status == 410
    assert "expired" in text and "/web" in text
    assert "Set-Cookie" not in response.headers
    pressed = await press_sign_in(client, link.split("token=", 1)[1])
    assert pressed.status == 410 and "expired" in await pressed.text()
    assert (await client.get("/guilds", allow_redirects=False)).status == 302


async def test_link_just_inside_ten_minutes_works(
    client: TestClient, ctx: WebContext, clock: Clock
) -> None:
    link = await ctx.signin.issue(ADMIN_ID)
    token = await open_link(client, link)
    clock.advance(minutes=9, seconds=59)
    assert (await press_sign_in(client, token)).status == 303


async def test_reused_link_is_refused(client: TestClient, ctx: WebContext) -> None:
    link = await ctx.signin.issue(ADMIN_ID)
    assert (await press_sign_in(client, await open_link(client, link))).status == 303
    client.session.cookie_jar.clear()
    response = await client.get(_path(link), allow_redirects=False)
    assert response.status == 410
    assert "already used" in await response.text()


async def test_forged_link_is_refused(client: TestClient, ctx: WebContext) -> None:
    link = await ctx.signin.issue(ADMIN_ID)
    token_id = link.split("token=", 1)[1].split(".")[0]
    response = await client.get(f"/login/link?token={token_id}.forged", allow_redirects=False)
    assert response.status == 400
    assert "not valid" in await response.text()
    pressed = await press_sign_in(client, f"{token_id}.forged")
    assert pressed.status == 400 and "not valid" in await pressed.text()
    empty = await client.post("/login/link", data={}, allow_redirects=False)
    assert empty.status == 400


async def test_json_client_gets_json_link_errors(client: TestClient, ctx: WebContext) -> None:
    response = await client.get("/login/link?token=nope", headers={"Accept": "application/json"})
    assert response.status == 400
    assert "not valid" in (await response.json())["error"]


async def test_cross_site_form_post_is_refused(client: TestClient, ctx: WebContext) -> None:
    token = await open_link(client, await ctx.signin.issue(ADMIN_ID))
    refused = await press_sign_in(client, token, **{"Sec-Fetch-Site": "cross-site"})
    assert refused.status == 403 and "another site" in await refused.text()
    assert await ctx.signin.check(token) == ADMIN_ID
    signed_in = await press_sign_in(client, token, **{"Sec-Fetch-Site": "same-origin"})
    assert signed_in.status == 303


async def test_only_the_link_post_skips_the_csrf_check(client: TestClient, ctx: WebContext) -> None:
    token = (await ctx.signin.issue(ADMIN_ID)).split("token=", 1)[1]
    # The path form is for opening links only; posting to it still needs a CSRF token.
    response = await client.post(f"/login/link/{token}", data={"token": token})
    assert response.status == 403 and "CSRF" in await response.text()
    assert await ctx.signin.check(token) == ADMIN_ID


async def test_concurrent_redeems_of_one_link_have_one_winner(db: Database, clock: Clock) -> None:
    links = SignInLinks(db, SESSION_KEY, PUBLIC_URL, clock=clock)
    token = (await links.issue(ADMIN_ID)).split("token=", 1)[1]
    # Open the pool's connections first: on a cold pool the redeems queue for connections
    # and run one after another, which would hide a race between check and update.
    all_connected = asyncio.Barrier(8)

    async def connect() -> None:
        async with db.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            await all_connected.wait()

    await asyncio.gather(*(connect() for _ in range(8)))
    results = await asyncio.gather(*(links.redeem(token) for _ in range(8)), return_exceptions=True)
    assert results.count(ADMIN_ID) == 1
    losers = [result for result in results if result != ADMIN_ID]
    assert len(losers) == 7
    assert all(isinstance(loser, SignInLinkUsed) for loser in losers), losers


async def test_used_state_survives_a_restart(db: Database, clock: Clock) -> None:
    before = SignInLinks(db, SESSION_KEY, PUBLIC_URL, clock=clock)
    first, second = await before.issue(ADMIN_ID), await before.issue(ADMIN_ID)
    assert await before.redeem(first.split("token=")[1]) == ADMIN_ID

    after = SignInLinks(db, SESSION_KEY, PUBLIC_URL, clock=clock)
    assert await after.redeem(second.split("token=")[1]) == ADMIN_ID
    try:
        await after.redeem(first.split("token=")[1])
    except Exception as exc:
        assert type(exc).__name__ == "SignInLinkUsed"
    else:
        raise AssertionError("a used link was accepted after a restart")


async def test_link_preview_bot_does_not_use_up_the_link(
    client: TestClient, ctx: WebContext
) -> None:
    link = await ctx.signin.issue(ADMIN_ID)
    preview = await client.get(
        _path(link), headers={"User-Agent": "Mozilla/5.0 (compatible; Discordbot/2.0)"}
    )
    assert preview.status == 200 and "Set-Cookie" not in preview.headers
    assert (await press_sign_in(client, await open_link(client, link))).status == 303


async def test_logout_needs_csrf_and_ends_the_session(client: TestClient, ctx: WebContext) -> None:
    from tests.web.conftest import csrf_token

    await sign_in(client, ctx, ADMIN_ID)
    assert (await client.post("/logout")).status == 403
    token = await csrf_token(client)
    response = await client.post("/logout", data={"csrf_token": token}, allow_redirects=False)
    assert response.status == 303
    assert (await client.get("/guilds", allow_redirects=False)).status == 302


async def test_offline_the_pages_name_the_signin_command(
    ctx: WebContext, clock: Clock, aiohttp_client
) -> None:  # type: ignore[no-untyped-def]
    """Offline there is no Discord to run /web in: the sign-in page and a dead link's page
    say to run `python -m bot signin` instead (issue 14.9)."""
    import dataclasses

    from web.app import create_app

    offline = dataclasses.replace(ctx, offline=True)
    client = await aiohttp_client(create_app(offline))
    login = await (await client.get("/login")).text()
    assert "python -m bot signin" in login
    assert "Run the <code>/web</code> slash command" not in login

    link = await offline.signin.issue(ADMIN_ID)
    clock.advance(minutes=11)
    expired = await client.get(_path(link))
    assert expired.status == 410
    text_ = await expired.text()
    assert "Run python -m bot signin on the machine" in text_ and "/web" not in text_


async def test_online_the_pages_name_the_web_command(client: TestClient) -> None:
    login = await (await client.get("/login")).text()
    assert "/web" in login and "python -m bot signin" not in login
