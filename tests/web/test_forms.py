"""Malformed input gets a 400 or 404 and never an ERROR traceback: bodies before sign-in and
through the CSRF middleware, and guild ids that are not ASCII digits or overflow BIGINT."""

from __future__ import annotations

import io
import logging
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, make_mocked_request
from multidict import CIMultiDict, CIMultiDictProxy, MultiDict, MultiDictProxy

from tests.web.conftest import GUILD_ID, OWNER_ID, PENDING_GUILD_ID, csrf_token, sign_in
from web.context import WebContext
from web.errors import PageError
from web.forms import form_float, form_int, form_snowflake, form_str, guild_id, parse_id

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


def form(**fields: str) -> MultiDictProxy[str | web.FileField]:
    return MultiDictProxy(MultiDict(fields))


def refused(reader: Any, data: MultiDictProxy[str | web.FileField], **kwargs: Any) -> str:
    """The 400 message a reader gives for `data`'s field "f"."""
    with pytest.raises(PageError) as caught:
        reader(data, "f", **kwargs)
    assert caught.value.status == 400
    assert caught.value.message.startswith("f: "), caught.value.message  # names the field
    return caught.value.message


def test_guild_id_reads_the_route_or_is_404() -> None:
    ok = make_mocked_request("GET", f"/guilds/{GUILD_ID}", match_info={"guild_id": str(GUILD_ID)})
    assert guild_id(ok) == GUILD_ID
    for raw in ("²", str(2**63), "1" * 20, "-1", ""):
        request = make_mocked_request("GET", "/guilds/x", match_info={"guild_id": raw})
        with pytest.raises(PageError) as caught:
            guild_id(request)
        assert caught.value.status == 404, raw


def test_form_str() -> None:
    assert form_str(form(f="  hello  "), "f", max_len=5) == "hello"
    assert form_str(form(), "f", max_len=5, required=False) is None
    assert form_str(form(f="   "), "f", max_len=5, required=False) is None
    assert "required" in refused(form_str, form(), max_len=5)
    assert "at most 5 characters" in refused(form_str, form(f="toolong"), max_len=5)


@pytest.mark.parametrize(
    ("raw", "expected"), [("7", 7), (" -3 ", -3), ("0", 0), ("100", 100), ("-0", 0)]
)
def test_form_int_accepts(raw: str, expected: int) -> None:
    assert form_int(form(f=raw), "f", minimum=-5, maximum=100) == expected


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("²", "not a whole number"),
        ("١٢", "not a whole number"),
        ("1.5", "not a whole number"),
        ("1e3", "not a whole number"),
        ("--1", "not a whole number"),
        ("1_0", "not a whole number"),
        ("9" * 19, "not a whole number"),  # never an overflow further in
        ("101", "at most 100"),
        ("-6", "at least -5"),
    ],
)
def test_form_int_refuses(raw: str, says: str) -> None:
    assert says in refused(form_int, form(f=raw), minimum=-5, maximum=100)


def test_form_int_optional() -> None:
    assert form_int(form(), "f", required=False) is None
    assert "required" in refused(form_int, form())


@pytest.mark.parametrize(("raw", "expected"), [("1.5", 1.5), ("-2", -2.0), ("1e2", 100.0)])
def test_form_float_accepts(raw: str, expected: float) -> None:
    assert form_float(form(f=raw), "f", minimum=-10, maximum=100) == expected


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("nan", "finite"),
        ("NaN", "finite"),
        ("inf", "finite"),
        ("-Infinity", "finite"),
        ("1e999", "finite"),
        ("abc", "not a number"),
        ("١.٥", "not a number"),
        ("1_000", "not a number"),  # float() takes underscores; a person means something else
        ("0x10", "not a number"),
        ("101", "at most 100"),
        ("-11", "at least -10"),
    ],
)
def test_form_float_refuses(raw: str, says: str) -> None:
    assert says in refused(form_float, form(f=raw), minimum=-10, maximum=100)


def test_form_snowflake() -> None:
    assert form_snowflake(form(f=f" {GUILD_ID} "), "f") == GUILD_ID
    assert form_snowflake(form(f=""), "f", required=False) is None
    for raw in ("0", "²", str(2**63), "1" * 20, "-5", "12a"):
        assert "not a Discord id" in refused(form_snowflake, form(f=raw)), raw


def test_a_file_where_text_is_expected_is_refused() -> None:
    upload = web.FileField(
        "f", "a.txt", io.BytesIO(b"x"), "text/plain", CIMultiDictProxy(CIMultiDict())
    )
    data = MultiDictProxy(MultiDict({"f": upload}))
    assert "not a file" in refused(form_str, data, max_len=10)


def _part(name: str, body: bytes, content_type: str | None = None) -> bytes:
    head = f'--x\r\nContent-Disposition: form-data; name="{name}"\r\n'
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    return head.encode() + b"\r\n" + body + b"\r\n"


NOT_UNICODE = [
    pytest.param(
        URLENCODED, b"prefix=%ED%A0%80", "prefix: the text is not valid UTF-8", id="pct-surrogate"
    ),
    pytest.param(
        URLENCODED,
        b"prefix=ok&na%FFme=x",
        "na\ufffdme: the text is not valid UTF-8",
        id="pct-ff-name",
    ),
    pytest.param(URLENCODED + "; charset=utf-7", b"prefix=+2AA-", "send it as UTF-8", id="utf-7"),
    pytest.param(
        URLENCODED + "; charset=unicode_escape",
        b"prefix=%5Cud800",
        "send it as UTF-8",
        id="escapes",
    ),
    pytest.param(
        "multipart/form-data; boundary=x",
        _part("prefix", b"+2AA-", "text/plain; charset=utf-7") + b"--x--\r\n",
        "prefix: the text holds a lone surrogate",
        id="multipart-utf-7-part",
    ),
    pytest.param(
        "multipart/form-data; boundary=x",
        _part("prefix", b"\x00\x01", "application/octet-stream") + b"--x--\r\n",
        "prefix: expected text",
        id="multipart-binary-part",
    ),
]


@pytest.mark.parametrize(("content_type", "body", "says"), NOT_UNICODE)
async def test_form_text_that_is_not_unicode_is_400_naming_the_field(
    client: TestClient,
    ctx: WebContext,
    caplog: pytest.LogCaptureFixture,
    content_type: str,
    body: bytes,
    says: str,
) -> None:
    """A lone surrogate (through a charset such as utf-7, or multipart) or percent-escaped
    bytes that are not UTF-8 would be stored as U+FFFD or crash on .encode() later."""
    await sign_in(client, ctx, OWNER_ID)
    token = await csrf_token(client)
    response = await client.post(
        f"/guilds/{GUILD_ID}/settings",
        data=body,
        headers={"Content-Type": content_type, "X-CSRF-Token": token, "Accept": "application/json"},
        allow_redirects=False,
    )
    assert response.status == 400, await response.text()
    assert says in (await response.json())["error"]
    assert _errors(caplog) == []


@pytest.mark.parametrize("signed_in", [False, True], ids=["before-sign-in", "signed-in"])
async def test_a_form_that_does_not_decode_with_its_content_encoding_is_400(
    client: TestClient, ctx: WebContext, caplog: pytest.LogCaptureFixture, signed_in: bool
) -> None:
    """Not a 500 from request.post(), and no traceback from aiohttp reading the rest."""
    if signed_in:
        await sign_in(client, ctx, OWNER_ID)
        await csrf_token(client)
    response = await client.post(
        f"/guilds/{GUILD_ID}/settings" if signed_in else "/login/link",
        data=b"monitoring_show_hosts=true",
        headers={"Content-Type": URLENCODED, "Content-Encoding": "gzip"},
        allow_redirects=False,
    )
    assert response.status == 400, await response.text()
    assert "could not be decoded as gzip" in await response.text()
    assert _errors(caplog) == []
