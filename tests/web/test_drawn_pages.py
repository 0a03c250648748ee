"""Pages drawn once per content (web.drawn_pages): kept while their key stays, each member's
own name and CSRF token in every answer, flash messages never kept."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from tests.web.conftest import ADMIN_ID, CSRF_META, OWNER_ID, sign_in
from web.app import create_app
from web.auth import flash
from web.context import WebContext
from web.drawn_pages import DRAWN_PAGES_KEY, DrawnPages, render_page

FORM_TOKEN = re.compile(r'<input type="hidden" name="csrf_token" value="([^"]+)">')
PAGE = """{% extends "base.html" %}{% block content %}
<p data-value>{{ value }}</p>
<form method="post" action="/drawn">
<input type="hidden" name="csrf_token" value="{{ csrf_token }}"></form>
{% endblock %}"""


async def drawn_client(ctx: WebContext, aiohttp_client: Any, tmp_path: Path) -> TestClient:
    (tmp_path / "drawn.html").write_text(PAGE)
    ctx.template_dirs.append(tmp_path)
    routes = web.RouteTableDef()

    @routes.get("/drawn")
    async def page(request: web.Request) -> web.Response:
        value = request.query.get("value", "one")
        return await render_page(request, "drawn.html", {"value": value}, key=("drawn", value))

    @routes.post("/drawn/flash")
    async def queue_flash(request: web.Request) -> web.Response:
        await flash(request, "Saved the thing.")
        return web.Response(text="queued")

    ctx.extra_routes.append(routes)
    return await aiohttp_client(create_app(ctx))


def pages_of(client: TestClient) -> DrawnPages:
    return client.app[DRAWN_PAGES_KEY]


def tokens(text: str) -> set[str]:
    return set(CSRF_META.findall(text)) | set(FORM_TOKEN.findall(text))


async def test_a_page_is_drawn_once_while_its_key_stays(
    ctx: WebContext, aiohttp_client: Any, tmp_path: Path
) -> None:
    client = await drawn_client(ctx, aiohttp_client, tmp_path)
    await sign_in(client, ctx, ADMIN_ID)
    first = await (await client.get("/drawn")).text()
    second = await (await client.get("/drawn")).text()
    assert first == second and pages_of(client).drawn == 1
    assert "<p data-value>one</p>" in first
    changed = await (await client.get("/drawn?value=two")).text()
    assert "<p data-value>two</p>" in changed and pages_of(client).drawn == 2


async def test_every_answer_carries_the_members_own_name_and_csrf_token(
    ctx: WebContext, aiohttp_client: Any, tmp_path: Path
) -> None:
    client = await drawn_client(ctx, aiohttp_client, tmp_path)
    await sign_in(client, ctx, ADMIN_ID)
    admin_page = await (await client.get("/drawn")).text()
    (admin_token,) = tokens(admin_page)  # the meta tag, the page's form and Sign out agree
    assert "placeholder" not in admin_page and 'data-testid="username">admin<' in admin_page
    # the same form posts with the token the page carried
    posted = await client.post("/drawn/flash", data={"csrf_token": admin_token})
    assert posted.status == 200, await posted.text()

    await sign_in(client, ctx, OWNER_ID)  # a new session: another member, another token
    owner_page = await (await client.get("/drawn")).text()
    (owner_token,) = tokens(owner_page)
    assert owner_token != admin_token
    assert 'data-testid="username">owner<' in owner_page and 'href="/owner"' in owner_page
    assert 'href="/owner"' not in admin_page


async def test_flash_messages_are_shown_once_and_never_kept(
    ctx: WebContext, aiohttp_client: Any, tmp_path: Path
) -> None:
    client = await drawn_client(ctx, aiohttp_client, tmp_path)
    await sign_in(client, ctx, ADMIN_ID)
    await client.get("/drawn")  # drawn and kept without a flash
    (token,) = tokens(await (await client.get("/drawn")).text())
    await client.post("/drawn/flash", data={"csrf_token": token})
    assert "Saved the thing." in await (await client.get("/drawn")).text()
    assert "Saved the thing." not in await (await client.get("/drawn")).text()


def test_the_least_recently_used_pages_go_first_past_the_size_limit() -> None:
    pages = DrawnPages(max_bytes=10)
    pages.put("a", "aaaa")
    pages.put("b", "bbbb")
    assert pages.get("a") == "aaaa"  # now the most recent
    pages.put("c", "cccc")
    assert pages.get("b") is None and pages.get("a") == "aaaa" and pages.get("c") == "cccc"
    pages.put("huge", "x" * 11)  # larger than the whole limit: not kept
    assert pages.get("huge") is None and len(pages) == 2
