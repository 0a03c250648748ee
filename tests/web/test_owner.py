"""/owner: bot status and recent log lines, for owners only."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from aiohttp.test_utils import TestClient

from tests.web.conftest import (
    ADMIN_ID,
    GUILD_ID,
    OTHER_GUILD_ID,
    OWNER_ID,
    Clock,
    FakeLive,
    csrf_token,
    sign_in,
)
from web.context import WebContext


async def test_owner_page_is_forbidden_for_non_owners(client: TestClient, ctx: WebContext) -> None:
    await sign_in(client, ctx, ADMIN_ID)
    response = await client.get("/owner")
    assert response.status == 403
    assert "OWNER_IDS" in await response.text()
    assert "/owner" not in await (await client.get("/guilds")).text()


async def test_owner_sees_status_and_escaped_log_lines(
    client: TestClient, ctx: WebContext, live: FakeLive, clock: Clock
) -> None:
    live.started = clock.now - timedelta(hours=2, minutes=3)
    ctx.log_buffer.emit(logging.makeLogRecord({"msg": "hello <script>alert(1)</script>"}))
    await sign_in(client, ctx, OWNER_ID)
    response = await client.get("/owner")
    text = await response.text()
    assert response.status == 200
    assert "connected" in text and "42.5 ms" in text and "2h 3m 0s" in text
    assert "hello &lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "<script>alert(1)" not in text
    assert 'href="/owner"' in text


async def test_the_owner_page_shows_the_version_python_m_bot_prints(
    client: TestClient, ctx: WebContext, capsys: pytest.CaptureFixture[str]
) -> None:
    """One source of the version (issue 14.11): the page said "FoundryCord unknown" while
    `--version` printed 0.1.0, because it asked the (never installed) package metadata."""
    import re
    import tomllib
    from pathlib import Path

    from bot import __version__
    from bot.__main__ import build_parser

    await sign_in(client, ctx, OWNER_ID)
    text = await (await client.get("/owner")).text()
    shown = re.search(r"FoundryCord</span><span>([^<]+)</span>", text)
    assert shown and shown.group(1) == __version__
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--version"])
    assert capsys.readouterr().out.strip() == f"FoundryCord {__version__}"
    project = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    assert project["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "bot.__version__"}


async def test_the_favicon_is_served_not_a_404(client: TestClient) -> None:
    for path in ("/favicon.ico", "/static/favicon.svg"):  # signed out: every page asks
        response = await client.get(path)
        assert response.status == 200, path
        assert response.content_type == "image/svg+xml"
        assert (await response.text()).startswith("<svg")
    login = await (await client.get("/login")).text()
    assert '<link rel="icon" href="/static/favicon.svg"' in login


async def test_being_an_owner_opens_no_server_pages(client: TestClient, ctx: WebContext) -> None:
    """Least privilege, as the README's table says: owners approve and refuse servers, but a
    server's pages need Manage Server in that server, for owners too. OWNER_ID manages
    GUILD_ID only; OTHER_GUILD_ID is approved and the owner is not a manager there."""
    await sign_in(client, ctx, OWNER_ID)
    text = await (await client.get("/guilds")).text()
    assert f"/guilds/{GUILD_ID}/settings" in text
    assert f"/guilds/{OTHER_GUILD_ID}/settings" not in text
    assert (await client.get(f"/guilds/{GUILD_ID}/settings")).status == 200
    response = await client.get(f"/guilds/{OTHER_GUILD_ID}/settings")
    assert response.status == 403
    assert "Manage Server" in await response.text()
    token = await csrf_token(client)
    response = await client.post(
        f"/guilds/{OTHER_GUILD_ID}/settings", data={"csrf_token": token, "prefix": "?"}
    )
    assert response.status == 403
