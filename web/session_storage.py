"""Encrypted session cookies (Fernet, from the `cryptography` package) that load the
cipher on the first request that needs a session. `cryptography` adds about 6 MiB of
resident memory; a bot whose web editor nobody opens never pays it."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

from aiohttp import web
from aiohttp_session import AbstractStorage, Session

log = logging.getLogger(__name__)


class LazyEncryptedCookieStorage(AbstractStorage):
    def __init__(self, key: bytes, **cookie_options: Any) -> None:
        if len(key) != 32:
            raise ValueError("the session key must be 32 bytes")
        super().__init__(encoder=json.dumps, decoder=json.loads, **cookie_options)
        self._key = base64.urlsafe_b64encode(key)
        self._fernet: Any = None

    def _cipher(self) -> Any:
        if self._fernet is None:
            from cryptography.fernet import Fernet

            self._fernet = Fernet(self._key)
        return self._fernet

    async def load_session(self, request: web.Request) -> Session:
        cookie = self.load_cookie(request)
        if cookie is None:
            return Session(None, data=None, new=True, max_age=self.max_age)
        from cryptography.fernet import InvalidToken

        try:
            plain = self._cipher().decrypt(cookie.encode(), ttl=self.max_age)
            data = self._decoder(plain.decode())
        except (InvalidToken, ValueError):
            # Anyone can send any cookie: a client's fault, not worth a line per request.
            log.debug("Ignoring a session cookie that does not decrypt; starting a new session")
            return Session(None, data=None, new=True, max_age=self.max_age)
        return Session(None, data=data, new=False, max_age=self.max_age)

    async def save_session(
        self, request: web.Request, response: web.StreamResponse, session: Session
    ) -> None:
        if session.empty:
            self.save_cookie(response, "", max_age=session.max_age)
            return
        payload = self._encoder(self._get_session_data(session)).encode()
        self.save_cookie(
            response, self._cipher().encrypt(payload).decode(), max_age=session.max_age
        )
