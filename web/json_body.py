"""Reading JSON a client sent, refusing what would break later: bodies too large or nested
too deep (Python's parser recurses), and numbers that are not finite (NaN, Infinity, 1e999),
which JSON cannot carry back out and databases refuse. Each refusal is a PageError naming
what is wrong."""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from aiohttp import web

from web.errors import PageError

MAX_DEPTH = 64
_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")


class JsonRefused(ValueError):
    """The text is not JSON this application accepts; the message says why."""


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in `text` (strings ignored), without parsing."""
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub('""', text))
    return max(accumulate(1 if c in "[{" else -1 for c in brackets), default=0)


def _finite(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value):
        raise JsonRefused(f"the number {raw[:30]} is too large to store")
    return value


def _no_constant(name: str) -> Any:
    raise JsonRefused(f"{name} is not a number this application accepts")


def parse_json_text(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse `text`, or JsonRefused naming the problem (malformed, too deep, not finite)."""
    depth = json_depth(text)
    if depth > max_depth:
        raise JsonRefused(f"the JSON nests {depth} levels deep; at most {max_depth} are allowed")
    try:
        return json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except JsonRefused:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise JsonRefused(f"the body is not valid JSON ({exc})") from None


async def read_json(request: web.Request, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """The request's JSON body, or PageError(413) when larger than `max_bytes` and
    PageError(400) when malformed, too deep or holding a number that is not finite."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise PageError(413, f"The body is larger than {max_bytes} bytes.")
    # `content.read(n)` returns what has arrived so far, at most n bytes, not the whole
    # body: read until the end, stopping as soon as the limit is passed.
    raw = bytearray()
    try:
        while chunk := await request.content.read(max_bytes + 1 - len(raw)):
            raw += chunk
            if len(raw) > max_bytes:
                raise PageError(413, f"The body is larger than {max_bytes} bytes.")
    except (ValueError, ConnectionError) as exc:
        raise PageError(400, f"The body could not be read: {exc}") from None
    try:
        text = bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        raise PageError(400, "The body is not UTF-8 text.") from None
    try:
        return parse_json_text(text, max_depth=max_depth)
    except JsonRefused as exc:
        raise PageError(400, f"The JSON was refused: {exc}.") from None
