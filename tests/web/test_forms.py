"""Malformed input gets a 400 or 404 and never an ERROR traceback: bodies before sign-in and
through the CSRF middleware, and guild ids that are not ASCII digits or overflow BIGINT."""

from __future__ import annotations

import logging

import pytest
from aiohttp.test_utils import TestClient

from tests.web.conftest import GUILD_ID, OWNER_ID, PENDING_GUILD_ID, csrf_token, sign_in
from web.context import WebContext
from web.forms import parse_id

URLENCODED = "application/x-www-form-urlencoded"
BAD_BODIES = [
    pytest.param(URLENCODED, b"token=%ff%fe&x=\xff", id="urlencoded-invalid-utf8"),
    pytest.param(URLENCODED + "; charset=no-such-charset", b"token=a", id="unknown-charset"),
    pytest.param("multipart/form-data", b"--x\r\n", id="multipart-without-boundary"),
    pytest.param(
        "multipart/form-data; boundary=x",
        b'--x\r\nContent-Disposition: form-data; name="token"\r\n\r\nabc',
        id="multipart-truncated",
    ),
    pytest.param("multipart/form-data; boundary=x", b"no boundary here", id="multipart-garbage"),
]

BAD_IDS = [
    pytest.param("9223372036854775808", id="above-int64"),
    pytest.param("99999999999999999999999", id="far-above-int64"),
    pytest.param("%C2%B2", id="unicode-superscript-two"),
    pytest.param("%D9%A3%D9%A4", id="arabic-indic-digits"),
    pytest.param("-5", id="negative"),
]


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.parametrize(("content_type", "body"), BAD_BODIES)
async def test_bad_body_before_sign_in_is_400(
    client: TestClient, caplog: pytest.LogCaptureFixture, content_type: str, body: bytes
) -> None:
    response = await client.post(
        "/login/link", data=body, headers={"Content-Type": content_type}, allow_redirects=False
    )
    assert response.status == 400, await response.text()
    assert "form" in (await response.text()).lower()
    assert _errors(caplog) == []


@pytest.mark.parametrize(("content_type", "body"), BAD_BODIES)
async def test_bad_body_signed_in_is_400_in_the_csrf_check(
    client: TestClient,
    ctx: WebContext,
    caplog: pytest.LogCaptureFixture,
    content_type: str,
    body: bytes,
) -> None:
    await sign_in(client, ctx, OWNER_ID)
    await csrf_token(client)
    response = await client.post(
        f"/guilds/{GUILD_ID}/settings",
        data=body,
        headers={"Content-Type": content_type},
        allow_redirects=False,
    )
    assert response.status == 400, await response.text()
    assert _errors(caplog) == []


@pytest.mark.parametrize("raw_id", BAD_IDS)
async def test_bad_guild_id_on_settings_is_404(
    client: TestClient, ctx: WebContext, caplog: pytest.LogCaptureFixture, raw_id: str
) -> None:
    await sign_in(client, ctx, OWNER_ID)
    response = await client.get(f"/guilds/{raw_id}/settings")
    assert response.status == 404, await response.text()
    assert "not a server id" in await response.text()
    assert _errors(caplog) == []


@pytest.mark.parametrize("raw_id", BAD_IDS)
@pytest.mark.parametrize("action", ["approve", "reject"])
async def test_bad_guild_id_on_approve_is_404(
    client: TestClient,
    ctx: WebContext,
    caplog: pytest.LogCaptureFixture,
    raw_id: str,
    action: str,
) -> None:
    await sign_in(client, ctx, OWNER_ID)
    token = await csrf_token(client)
    response = await client.post(
        f"/guilds/{raw_id}/{action}", data={"csrf_token": token}, allow_redirects=False
    )
    assert response.status == 404, await response.text()
    assert _errors(caplog) == []
    assert await ctx.guild_access.status(PENDING_GUILD_ID) == "pending"


def test_parse_id() -> None:
    assert parse_id(str(GUILD_ID)) == GUILD_ID
    assert parse_id("9223372036854775807") == 2**63 - 1
    for raw in ("", "9223372036854775808", "²", "١٢", "12a", " 12", "-1", "1" * 40):
        assert parse_id(raw) is None, raw
