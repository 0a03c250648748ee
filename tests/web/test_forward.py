"""web.forward: a server's pages go to the process holding it, as they came, once."""

from __future__ import annotations

import dataclasses
from typing import Any

from aiohttp import web

from tests.web.conftest import GUILD_ID, OTHER_GUILD_ID
from web.app import create_app
from web.context import WebContext
from web.forward import FORWARDED


async def test_a_page_of_another_processs_server_is_forwarded_as_it_came(
    ctx: WebContext, aiohttp_client: Any, aiohttp_server: Any
) -> None:
    seen: list[dict[str, Any]] = []

    async def holder(request: web.Request) -> web.Response:
        seen.append(
            {
                "method": request.method,
                "path": request.path_qs,
                "body": await request.text(),
                "cookie": request.headers.get("Cookie"),
                "forwarded": request.headers.get(FORWARDED),
            }
        )
        response = web.Response(status=201, text="from the holder")
        response.set_cookie("session", "kept")
        return response

    other = web.Application()
    other.router.add_route("*", "/{tail:.*}", holder)
    other_server = await aiohttp_server(other)
    other_url = str(other_server.make_url("")).rstrip("/")

    async def holder_of(guild_id: int) -> str | None:
        return other_url if guild_id == OTHER_GUILD_ID else None

    client = await aiohttp_client(create_app(dataclasses.replace(ctx, holder_of=holder_of)))
    response = await client.post(
        f"/guilds/{OTHER_GUILD_ID}/settings?x=1",
        data="a=b",
        headers={"Cookie": "c=d", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status == 201 and await response.text() == "from the holder"
    assert "session=kept" in response.headers.get("Set-Cookie", "")
    assert seen == [
        {
            "method": "POST",
            "path": f"/guilds/{OTHER_GUILD_ID}/settings?x=1",
            "body": "a=b",
            "cookie": "c=d",
            "forwarded": "1",
        }
    ]

    # This process's own servers, and anything already forwarded, are served here.
    own = await client.get(f"/guilds/{GUILD_ID}/settings", allow_redirects=False)
    again = await client.get(
        f"/guilds/{OTHER_GUILD_ID}/settings", headers={FORWARDED: "1"}, allow_redirects=False
    )
    assert len(seen) == 1 and own.status == again.status == 302  # to sign in, locally


async def test_a_holder_that_does_not_answer_is_a_clear_503(
    ctx: WebContext, aiohttp_client: Any
) -> None:
    async def holder_of(guild_id: int) -> str | None:
        return "http://127.0.0.1:9"  # nothing listens there

    client = await aiohttp_client(create_app(dataclasses.replace(ctx, holder_of=holder_of)))
    response = await client.get(f"/guilds/{OTHER_GUILD_ID}/settings")
    assert response.status == 503
    assert "not answering" in await response.text()
