"""Purpose-bound keys derived from the web session key."""

from __future__ import annotations

import hashlib
import hmac


def derive_key(master: bytes, purpose: str) -> bytes:
    """A 32-byte key for one purpose, so one secret never signs two kinds of thing."""
    return hmac.new(master, b"foundrycord:" + purpose.encode(), hashlib.sha256).digest()
