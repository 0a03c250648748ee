"""Reading JSON a client sent, refusing what would break later: bodies too large or nested
too deep (Python's parser recurses), numbers that are not finite (NaN, Infinity, 1e999),
which JSON cannot carry back out and databases refuse, whole numbers too large for any
column or float (|n| >= 2**64), and text holding lone surrogates (`"\\ud800"`), which is
not Unicode and fails the moment it is encoded, stored or shown. Each refusal is a
PageError naming what is wrong and, for a value, where it is (`widgets[0].title`)."""

from __future__ import annotations

import json
import math
import re
from itertools import accumulate
from typing import Any

from aiohttp import web

from web.errors import PageError, UnreadableBody

MAX_DEPTH = 64
# Discord ids travel as strings in our JSON; every number a client legitimately sends (a
# colour, a size, a byte counter, a timestamp) is far below this. Larger ones overflow
# float() and 64-bit columns further on.
INT_LIMIT = 2**64
# A whole number longer than this is out of range for certain: not converted at all.
_INT_DIGITS = len(str(INT_LIMIT))
LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # in parsed text: never part of a pair
# What could make `_check_values` refuse something, found in the raw text by one C-speed
# scan: a surrogate, escaped (paired or not: the walk tells) or raw, or a run of 20+ digits
# (only those reach 2**64). A body with neither, as every agent post, skips the walk and the
# int hook.
_SUSPECT = re.compile(rf"\\u[dD][89a-fA-F]|[\ud800-\udfff]|[0-9]{{{_INT_DIGITS},}}")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
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


class _HugeInt(str):
    """The digits of a whole number too long to convert; refused by `_check_values`."""


def _bounded_int(raw: str) -> int | _HugeInt:
    return _HugeInt(raw) if len(raw.removeprefix("-")) > _INT_DIGITS else int(raw)


# A path is built only when something is refused: (parent path, key or index), () at the top.
_Path = tuple[Any, ...]


def _where(path: _Path) -> str:
    """`widgets[0].title` for a path; "the top-level value" for the whole document."""
    parts: list[str] = []
    while path:
        path, step = path
        if isinstance(step, int):
            parts.append(f"[{step}]")
        elif _IDENTIFIER.fullmatch(step):
            parts.append(f".{step}")
        else:
            parts.append(f"[{json.dumps(step)}]")
    text = "".join(reversed(parts)).removeprefix(".")
    return text or "the top-level value"


def _check_text(text: str, path: _Path, *, key: bool = False) -> None:
    if text.isascii() or LONE_SURROGATE.search(text) is None:
        return
    what = f"the key {json.dumps(text)[:40]} in {_where(path)}" if key else _where(path)
    raise JsonRefused(
        f"{what} holds a lone surrogate escape (such as \\ud800), which is not Unicode text"
    )


def _out_of_range(path: _Path, digits: str) -> str:
    return (
        f"{_where(path)}: the number {digits} is out of range; whole numbers must be smaller "
        "than 2**64 either way (Discord ids are sent as strings)"
    )


def _check_values(document: Any) -> None:
    """Refuse text that is not Unicode and whole numbers out of range, naming where."""
    stack: list[tuple[Any, _Path]] = [(document, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            if isinstance(value, _HugeInt):
                raise JsonRefused(_out_of_range(path, f"{value[:24]}..."))
            _check_text(value, path)
        elif isinstance(value, int) and not isinstance(value, bool):
            if not -INT_LIMIT < value < INT_LIMIT:
                raise JsonRefused(_out_of_range(path, str(value)))
        elif isinstance(value, dict):
            for name, item in value.items():
                _check_text(name, path, key=True)
                stack.append((item, (path, name)))
        elif isinstance(value, list):
            stack.extend((item, (path, index)) for index, item in enumerate(value))


def parse_json_text(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse `text`, or JsonRefused naming the problem (malformed, too deep, a number not
    finite or out of range, text with a lone surrogate) and where it is."""
    depth = json_depth(text)
    if depth > max_depth:
        raise JsonRefused(f"the JSON nests {depth} levels deep; at most {max_depth} are allowed")
    suspect = _SUSPECT.search(text) is not None
    try:
        document = json.loads(
            text,
            parse_float=_finite,
            parse_int=_bounded_int if suspect else None,
            parse_constant=_no_constant,
        )
    except JsonRefused:
        raise
    except (ValueError, RecursionError) as exc:  # JSONDecodeError is a ValueError
        raise JsonRefused(f"the body is not valid JSON ({exc})") from None
    if suspect:
        _check_values(document)
    return document


async def read_json(request: web.Request, *, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """The request's JSON body, or PageError(413) when larger than `max_bytes` and
    PageError(400) when malformed, too deep, or holding a number that is not finite or out of
    range or text that is not Unicode."""
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
    except web.RequestPayloadError:  # a Content-Encoding the body does not decode with
        raise UnreadableBody(request) from None
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
