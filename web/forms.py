"""Reading what a client sent: form bodies and ids in URLs, with a 400 or 404 for anything
malformed instead of an exception from deep inside the parser."""

from __future__ import annotations

from aiohttp import web
from multidict import MultiDictProxy

from web.errors import PageError

# Discord ids are unsigned 64-bit in theory, but the database stores them as signed BIGINT.
MAX_ID = 2**63 - 1


async def read_form(request: web.Request) -> MultiDictProxy[str | web.FileField]:
    """The request's form; PageError(400) when the body cannot be read as one.

    aiohttp caches the parsed form, so middlewares and the handler may all call this.
    """
    try:
        return await request.post()
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


def parse_id(raw: str) -> int | None:
    """A database id from URL text: ASCII digits only (not '²' or other Unicode digits),
    and small enough for a signed 64-bit column; else None."""
    if not raw or len(raw) > 19 or not (raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if value <= MAX_ID else None
