"""`web.json_body`: JSON a client sends is parsed, or refused with a 4xx naming why (too
deep, not finite, out of range, not Unicode, too large, not UTF-8, malformed) and where,
never a 500 or a traceback."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from web.errors import PageError, error_middleware
from web.json_body import JsonRefused, json_depth, parse_json_text, read_json

MAX_BYTES = 256 * 1024


async def echo(request: web.Request) -> web.Response:
    try:
        value = await read_json(request, max_bytes=MAX_BYTES)
    except PageError as exc:
        return web.json_response({"error": exc.message}, status=exc.status)
    return web.json_response({"value": value})


@pytest.fixture
async def client(aiohttp_client: Any) -> TestClient:
    app = web.Application(middlewares=[error_middleware])
    app.router.add_post("/echo", echo)
    return await aiohttp_client(app)


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        pytest.param(nested(10_000).encode(), 400, "10000 levels deep", id="10000-deep"),
        pytest.param(b'{"ts": NaN}', 400, "NaN is not a number", id="NaN"),
        pytest.param(b'{"v": Infinity}', 400, "Infinity is not a number", id="Infinity"),
        pytest.param(b'{"v": -Infinity}', 400, "-Infinity", id="minus-Infinity"),
        pytest.param(b'{"max": 1e999}', 400, "too large to store", id="1e999"),
        pytest.param(b"x" * (MAX_BYTES + 1), 413, "larger than", id="too-large"),
        pytest.param(b'{"name": "\xff\xfe"}', 400, "not UTF-8", id="not-utf8"),
        pytest.param(b'{"a": 1,}', 400, "not valid JSON", id="malformed"),
        pytest.param(
            b'{"widgets": [{"title": "ok"}, {"title": "x\\ud800"}]}',
            400,
            "widgets[1].title holds a lone surrogate",
            id="lone-surrogate-value",
        ),
        pytest.param(
            b'{"a": {"\\udfff": 1}}', 400, 'the key "\\udfff" in a holds', id="lone-surrogate-key"
        ),
        pytest.param(
            b'["\\ude00\\ud83d"]', 400, "[0] holds a lone surrogate", id="swapped-surrogates"
        ),
        pytest.param(
            b'{"n": [0, ' + b"9" * 401 + b"]}", 400, "n[1]: the number 99", id="401-digits"
        ),
        pytest.param(b'{"max": 18446744073709551616}', 400, "max: the number 1844", id="2**64"),
        pytest.param(b'{"min": -18446744073709551616}', 400, "out of range", id="minus-2**64"),
        pytest.param(b"1" + b"0" * 5000, 400, "the top-level value: the number", id="5000-digits"),
        pytest.param(b"", 400, "not valid JSON", id="empty"),
    ],
)
async def test_refused_bodies_say_why(
    client: TestClient, body: bytes, status: int, says: str, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.post("/echo", data=body)
    assert response.status == status
    assert says in (await response.json())["error"]
    assert not [r for r in caplog.records if r.levelno >= 40]


async def test_a_fine_body_is_parsed(client: TestClient) -> None:
    value = {
        "name": "héllo ✓ 😀",
        "n": [1, 2.5, -3e5, None, True, 2**64 - 1, -(2**64) + 1],
        "deep": json.loads(nested(63)),
    }
    response = await client.post("/echo", data=json.dumps(value).encode())
    assert response.status == 200
    assert (await response.json())["value"] == value


async def test_a_body_sent_in_chunks_is_read_whole(client: TestClient) -> None:
    """A chunked upload (no Content-Length) arrives in pieces; all of it is read."""
    text = json.dumps({"rows": ["x" * 100] * 2000})  # ~200 KB, under MAX_BYTES
    assert len(text) < MAX_BYTES

    async def pieces() -> AsyncIterator[bytes]:
        data = text.encode()
        for start in range(0, len(data), 4096):
            yield data[start : start + 4096]

    response = await client.post("/echo", data=pieces())
    assert response.status == 200, await response.text()
    assert len((await response.json())["value"]["rows"]) == 2000


async def test_a_chunked_body_over_the_limit_is_413(client: TestClient) -> None:
    async def pieces() -> AsyncIterator[bytes]:
        for _ in range(MAX_BYTES // 4096 + 2):
            yield b" " * 4096

    response = await client.post("/echo", data=pieces())
    assert response.status == 413


def test_depth_ignores_brackets_in_strings() -> None:
    assert json_depth('{"a": "[[[[{{{{", "b": [1]}') == 2
    assert json_depth('"\\"[[["') == 0
    assert parse_json_text('{"a": "[[[["}', max_depth=1) == {"a": "[[[["}


def test_parse_json_text_limits_depth_exactly() -> None:
    assert parse_json_text(nested(64)) == json.loads(nested(64))
    with pytest.raises(JsonRefused, match="65 levels"):
        parse_json_text(nested(65))


def test_a_surrogate_pair_is_one_character() -> None:
    """An escaped pair (how JSON spells characters beyond U+FFFF) is fine; only lone
    halves are refused."""
    assert parse_json_text('{"e": "\\ud83d\\ude00"}') == {"e": "\U0001f600"}
    with pytest.raises(JsonRefused, match=r'\["a b"\]\.c\[2\] holds'):
        parse_json_text('{"a b": {"c": ["", "", "\\ud83d"]}}')


def test_a_raw_surrogate_in_text_given_directly_is_refused() -> None:
    """Text that did not come from UTF-8 bytes may hold a surrogate itself, not escaped."""
    with pytest.raises(JsonRefused, match=r"^a holds a lone surrogate"):
        parse_json_text('{"a": "x\ud800"}')


def test_numbers_below_the_limit_and_plain_text_pass_untouched() -> None:
    document = {"n": [2**64 - 1, -(2**64 - 1), 10**19, 0], "t": "é \U0001f600 ☃"}
    assert parse_json_text(json.dumps(document)) == document
    assert parse_json_text(json.dumps(document, ensure_ascii=False)) == document


async def test_a_body_that_does_not_decode_with_its_content_encoding_is_400(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    """A 400 naming it, the connection closed, and no traceback: aiohttp does not try to
    read the rest of a body that cannot be decoded."""
    response = await client.post(
        "/echo",
        data=b'{"samples": []}',
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert response.status == 400
    assert (await response.json())["error"] == (
        "The body could not be decoded as gzip, so nothing was changed."
    )
    assert response.headers.get("Connection", "").lower() == "close"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
