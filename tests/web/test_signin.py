"""One-time sign-in links and the sign-in gate."""

from __future__ import annotations

from urllib.parse import quote

from aiohttp.test_utils import TestClient
from yarl import URL

from bot.database import Database
from tests.web.conftest import ADMIN_ID, GUILD_ID, PUBLIC_URL, SESSION_KEY, Clock, sign_in
from web.context import WebContext
from web.signin import SignInLinks


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
    link = await ctx.signin.issue(ADMIN_ID)
    response = await client.get(_path(link), allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/guilds"
    page = await client.get("/guilds")
    text = await page.text()
    assert page.status == 200
    assert "admin" in text and "Forge Guild" in text


async def test_link_in_path_form_works(client: TestClient, ctx: WebContext) -> None:
    token = (await ctx.signin.issue(ADMIN_ID)).split("token=", 1)[1]
    response = await client.get(f"/login/link/{token}", allow_redirects=False)
    assert response.status == 302


async def test_link_returns_to_the_page_asked_for(client: TestClient, ctx: WebContext) -> None:
    target = f"/guilds/{GUILD_ID}/settings"
    await client.get(f"/login?next={quote(target, safe='')}")
    response = await client.get(_path(await ctx.signin.issue(ADMIN_ID)), allow_redirects=False)
    assert response.headers["Location"] == target


async def test_next_to_another_site_is_ignored(client: TestClient, ctx: WebContext) -> None:
    await client.get("/login?next=//evil.example/")
    response = await client.get(_path(await ctx.signin.issue(ADMIN_ID)), allow_redirects=False)
    assert response.headers["Location"] == "/guilds"


async def test_expired_link_is_refused(client: TestClient, ctx: WebContext, clock: Clock) -> None:
    link = await ctx.signin.issue(ADMIN_ID)
    clock.advance(minutes=10, seconds=1)
    response = await client.get(_path(link), allow_redirects=False)
    text = await response.text()
    assert response.status == 410
    assert "expired" in text and "/web" in text
    assert (await client.get("/guilds", allow_redirects=False)).status == 302


async def test_link_just_inside_ten_minutes_works(
    client: TestClient, ctx: WebContext, clock: Clock
) -> None:
    link = await ctx.signin.issue(ADMIN_ID)
    clock.advance(minutes=9, seconds=59)
    assert (await client.get(_path(link), allow_redirects=False)).status == 302


async def test_reused_link_is_refused(client: TestClient, ctx: WebContext) -> None:
    link = await ctx.signin.issue(ADMIN_ID)
    assert (await client.get(_path(link), allow_redirects=False)).status == 302
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
    assert preview.status == 200
    assert (await client.get(_path(link), allow_redirects=False)).status == 302


async def test_logout_needs_csrf_and_ends_the_session(client: TestClient, ctx: WebContext) -> None:
    from tests.web.conftest import csrf_token

    await sign_in(client, ctx, ADMIN_ID)
    assert (await client.post("/logout")).status == 403
    token = await csrf_token(client)
    response = await client.post("/logout", data={"csrf_token": token}, allow_redirects=False)
    assert response.status == 303
    assert (await client.get("/guilds", allow_redirects=False)).status == 302
