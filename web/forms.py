"""Reading what a client sent: form bodies and ids in URLs, with a 400 or 404 for anything
malformed instead of an exception from deep inside the parser."""

from __future__ import annotations

import codecs
import math
from urllib.parse import unquote_to_bytes

from aiohttp import web
from multidict import MultiDictProxy

from web.errors import PageError
from web.json_body import LONE_SURROGATE

# Discord ids are unsigned 64-bit in theory, but the database stores them as signed BIGINT.
MAX_ID = 2**63 - 1
URLENCODED = "application/x-www-form-urlencoded"
_FORM_CHECKED = web.RequestKey("foundrycord_form_checked", bool)


def _shown(name: str) -> str:
    """A field name for an error message: short, and printable whatever was sent."""
    return ascii(name[:40]) if LONE_SURROGATE.search(name) or not name.isprintable() else name[:40]


async def read_form(request: web.Request) -> MultiDictProxy[str | web.FileField]:
    """The request's form; PageError(400) when the body cannot be read as one, or holds
    text that is not UTF-8 (also percent-escaped) or not Unicode (a charset such as utf-7
    can carry lone surrogates), naming the field; PageError(413) when too large.

    aiohttp caches the parsed form, so middlewares and the handler may all call this.
    """
    charset = request.charset
    try:
        if charset is not None and codecs.lookup(charset).name not in ("utf-8", "ascii"):
            raise PageError(
                400, f"The form is sent as {charset[:30]}; send it as UTF-8 text instead."
            )
        form = await request.post()
    except UnicodeDecodeError:
        raise PageError(400, "The form was not valid UTF-8 text, so nothing was changed.") from None
    except LookupError:  # an unknown charset= in Content-Type
        raise PageError(
            400, "The form names a character set this server does not know; send UTF-8."
        ) from None
    except ValueError:  # multipart without a boundary, or cut short
        raise PageError(
            400, "The form could not be read (malformed or cut short), so nothing was changed."
        ) from None
    except web.HTTPRequestEntityTooLarge:
        raise PageError(
            413,
            f"The form is larger than {request.client_max_size // 1024} KiB, so nothing was "
            "changed.",
        ) from None
    if not request.get(_FORM_CHECKED):
        await _check_form(request, form)
        request[_FORM_CHECKED] = True
    return form


async def _check_form(request: web.Request, form: MultiDictProxy[str | web.FileField]) -> None:
    """PageError(400) naming the first field whose name or text is not Unicode text."""
    if request.content_type == URLENCODED:
        # aiohttp turns percent-escapes that are not UTF-8 (%ff) into U+FFFD silently, so
        # the text stored would differ from the text sent: decode them strictly here.
        body = (await request.read()).decode("utf-8")  # already decoded once by post()
        if "%" in body:
            for pair in body.split("&"):
                name, _, value = pair.partition("=")
                for part in (name, value):
                    try:
                        unquote_to_bytes(part.replace("+", " ")).decode("utf-8")
                    except UnicodeDecodeError:
                        shown = _shown(unquote_to_bytes(name).decode("utf-8", "replace"))
                        raise PageError(
                            400,
                            f"{shown}: the text is not valid UTF-8, so nothing was changed.",
                        ) from None
    for name, value in form.items():
        if LONE_SURROGATE.search(name) or (isinstance(value, str) and LONE_SURROGATE.search(value)):
            raise PageError(
                400,
                f"{_shown(name)}: the text holds a lone surrogate, which is not Unicode text, "
                "so nothing was changed.",
            )
        if not isinstance(value, str | web.FileField):
            # A multipart part with a Content-Type that is not text/* and no filename.
            raise PageError(400, f"{_shown(name)}: expected text, not binary data.")


def parse_id(raw: str) -> int | None:
    """A database id from URL text: ASCII digits only (not '²' or other Unicode digits),
    and small enough for a signed 64-bit column; else None."""
    if not raw or len(raw) > 19 or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if value <= MAX_ID else None


def guild_id(request: web.Request) -> int:
    """The `{guild_id}` of the route; PageError(404) when it is not an id."""
    value = parse_id(request.match_info.get("guild_id", ""))
    if value is None:
        raise PageError(404, "That is not a server id. Pick a server from the list instead.")
    return value


def _field(form: MultiDictProxy[str | web.FileField], name: str, required: bool) -> str | None:
    raw = form.get(name)
    if isinstance(raw, web.FileField):
        raise PageError(400, f"{name}: expected text, not a file.")
    text = (raw or "").strip()
    if not text:
        if required:
            raise PageError(400, f"{name}: this field is required.")
        return None
    return text


def form_str(
    form: MultiDictProxy[str | web.FileField], name: str, *, max_len: int, required: bool = True
) -> str | None:
    """A text field, stripped; PageError(400) naming the field when missing or too long."""
    text = _field(form, name, required)
    if text is not None and len(text) > max_len:
        raise PageError(400, f"{name}: at most {max_len} characters.")
    return text


def form_int(
    form: MultiDictProxy[str | web.FileField],
    name: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    required: bool = True,
) -> int | None:
    """A whole number in ASCII digits within [minimum, maximum]; else PageError(400)."""
    text = _field(form, name, required)
    if text is None:
        return None
    digits = text.removeprefix("-")
    if not digits or len(digits) > 18 or not (digits.isascii() and digits.isdigit()):
        raise PageError(400, f"{name}: {text[:30]!r} is not a whole number.")
    value = int(text)
    if minimum is not None and value < minimum:
        raise PageError(400, f"{name}: at least {minimum}.")
    if maximum is not None and value > maximum:
        raise PageError(400, f"{name}: at most {maximum}.")
    return value


def form_float(
    form: MultiDictProxy[str | web.FileField],
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    required: bool = True,
) -> float | None:
    """A finite number within [minimum, maximum]; else PageError(400) naming the field."""
    text = _field(form, name, required)
    if text is None:
        return None
    try:
        if not text.isascii() or "_" in text:  # float() takes "1_000" and Unicode digits
            raise ValueError
        value = float(text)
    except ValueError:
        raise PageError(400, f"{name}: {text[:30]!r} is not a number.") from None
    if not math.isfinite(value):
        raise PageError(400, f"{name}: must be a finite number.")
    if minimum is not None and value < minimum:
        raise PageError(400, f"{name}: at least {minimum:g}.")
    if maximum is not None and value > maximum:
        raise PageError(400, f"{name}: at most {maximum:g}.")
    return value


def form_snowflake(
    form: MultiDictProxy[str | web.FileField], name: str, *, required: bool = True
) -> int | None:
    """A Discord id (ASCII digits, at most 2**63 - 1); else PageError(400) naming the field."""
    text = _field(form, name, required)
    if text is None:
        return None
    value = parse_id(text)
    if value is None or value == 0:
        raise PageError(400, f"{name}: {text[:30]!r} is not a Discord id.")
    return value
