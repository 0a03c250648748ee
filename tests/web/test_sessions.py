"""Sessions end on the server: sign-out, "sign out everywhere", an owner revoking another
user, idleness and the maximum age. A copy of the cookie is worthless afterwards."""

from __future__ import annotations

from aiohttp.test_utils import TestClient
from sqlalchemy import update

from bot.database import Database
from bot.models import WebSession, utcnow
from tests.web.conftest import ADMIN_ID, OWNER_ID, Clock, csrf_token, sign_in
from web.app import SESSION_COOKIE, create_app
from web.context import WebContext


def _cookie(client: TestClient) -> str:
    for cookie in client.session.cookie_jar:
        if cookie.key == SESSION_COOKIE:
            return cookie.value
    raise AssertionError("no session cookie")


async def _status_with(client: TestClient, cookie: str, path: str = "/guilds") -> int:
    """Open `path` with exactly this cookie, as someone who copied it would."""
    client.session.cookie_jar.clear()
    response = await client.get(
        path, headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}, allow_redirects=False
    )
    return response.status


async def _signed_in(client: TestClient) -> bool:
    return (await client.get("/guilds", allow_redirects=False)).status == 200


async def test_a_cookie_copied_before_sign_out_no_longer_works(
    client: TestClient, ctx: WebContext, aiohttp_client
) -> None:  # type: ignore[no-untyped-def]
    other_device = await aiohttp_client(create_app(ctx))
    await sign_in(other_device, ctx, ADMIN_ID)
    await sign_in(client, ctx, ADMIN_ID)
    token = await csrf_token(client)
    copied = _cookie(client)
    response = await client.post("/logout", data={"csrf_token": token}, allow_redirects=False)
    assert response.status == 303
    assert await _status_with(client, copied) == 302  # the copy opens nothing
    assert await _signed_in(other_device)  # signing out here leaves other devices be


async def test_sign_out_everywhere_on_the_owner_page(
    client: TestClient, ctx: WebContext, aiohttp_client
) -> None:  # type: ignore[no-untyped-def]
    laptop = await aiohttp_client(create_app(ctx))
    await sign_in(laptop, ctx, OWNER_ID)
    await sign_in(client, ctx, OWNER_ID)
    page = await (await client.get("/owner")).text()
    assert "Sign me out everywhere" in page and str(OWNER_ID) in page
    response = await client.post(
        "/owner/sessions/revoke",
        data={"csrf_token": await csrf_token(client, "/owner"), "user_id": str(OWNER_ID)},
        allow_redirects=False,
    )
    assert response.status == 303 and response.headers["Location"] == "/login"
    assert not await _signed_in(client)
    assert not await _signed_in(laptop)


async def test_owner_signs_another_user_out(
    client: TestClient, ctx: WebContext, aiohttp_client
) -> None:  # type: ignore[no-untyped-def]
    admin = await aiohttp_client(create_app(ctx))
    await sign_in(admin, ctx, ADMIN_ID)
    # Not an owner: refused, and nothing ended.
    response = await admin.post(
        "/owner/sessions/revoke",
        data={"csrf_token": await csrf_token(admin), "user_id": str(OWNER_ID)},
    )
    assert response.status == 403
    await sign_in(client, ctx, OWNER_ID)
    assert str(ADMIN_ID) in await (await client.get("/owner")).text()
    response = await client.post(
        "/owner/sessions/revoke",
        data={"csrf_token": await csrf_token(client, "/owner"), "user_id": str(ADMIN_ID)},
    )
    assert response.status == 200
    assert f"Signed user {ADMIN_ID} out of 1 session(s)." in await response.text()
    assert not await _signed_in(admin)
    assert await _signed_in(client)
    bad = await client.post(
        "/owner/sessions/revoke",
        data={"csrf_token": await csrf_token(client, "/owner"), "user_id": "²"},
    )
    assert bad.status == 400


async def test_revocation_by_another_process_is_honoured_at_once(
    client: TestClient, ctx: WebContext, sqlite_url: str
) -> None:
    await sign_in(client, ctx, ADMIN_ID)
    assert await _signed_in(client)
    other = await Database.connect(sqlite_url)
    try:
        async with other.session() as session, session.begin():
            await session.execute(update(WebSession).values(revoked_at=utcnow()))
    finally:
        await other.dispose()
    assert not await _signed_in(client)


async def test_idle_sessions_end(client: TestClient, ctx: WebContext, clock: Clock) -> None:
    await sign_in(client, ctx, ADMIN_ID)
    for _ in range(3):  # in use every 6 hours: stays signed in
        clock.advance(hours=6)
        assert await _signed_in(client)
    clock.advance(hours=12, minutes=1)
    assert not await _signed_in(client)


async def test_sessions_end_at_their_maximum_age(
    client: TestClient, ctx: WebContext, clock: Clock
) -> None:
    await sign_in(client, ctx, ADMIN_ID)
    for _ in range(28):  # 7 days of steady use, the last request exactly at the limit
        clock.advance(hours=6)
        assert await _signed_in(client)
    clock.advance(hours=6)
    assert not await _signed_in(client)
