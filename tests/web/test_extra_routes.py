"""Routes and nav links added by features get the same sign-in gate and CSRF check."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.web.conftest import ADMIN_ID, csrf_token, sign_in
from web.app import create_app
from web.context import WebContext


async def test_feature_routes_are_protected(ctx: WebContext, aiohttp_client: Any) -> None:
    extra = web.RouteTableDef()

    @extra.get("/sandbox")
    async def page(request: web.Request) -> web.Response:
        return web.Response(text="sandbox page")

    @extra.post("/sandbox/run")
    async def run(request: web.Request) -> web.Response:
        return web.json_response({"ran": True})

    ctx.extra_routes.append(extra)
    ctx.nav_links.append(("Sandbox", "/sandbox"))
    client: TestClient = await aiohttp_client(create_app(ctx))

    assert (await client.get("/sandbox", allow_redirects=False)).status == 302
    await sign_in(client, ctx, ADMIN_ID)
    assert await (await client.get("/sandbox")).text() == "sandbox page"
    assert 'href="/sandbox"' in await (await client.get("/guilds")).text()
    assert (await client.post("/sandbox/run")).status == 403
    token = await csrf_token(client)
    response = await client.post("/sandbox/run", headers={"X-CSRF-Token": token})
    assert await response.json() == {"ran": True}


async def test_feature_static_files_and_guild_tabs(
    ctx: WebContext, aiohttp_client: Any, tmp_path: Any
) -> None:
    from bot.features import GuildTab
    from tests.web.conftest import GUILD_ID

    (tmp_path / "chart.js").write_text("// feature script")
    ctx.static_dirs["monitoring"] = tmp_path
    ctx.guild_tabs.append(GuildTab("Monitoring", "monitoring"))
    client: TestClient = await aiohttp_client(create_app(ctx))

    assert await (await client.get("/static/monitoring/chart.js")).text() == "// feature script"
    await sign_in(client, ctx, ADMIN_ID)
    page = await (await client.get(f"/guilds/{GUILD_ID}/settings")).text()
    assert f'href="/guilds/{GUILD_ID}/monitoring">Monitoring</a>' in page
