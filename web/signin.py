"""One-time sign-in links: signed, single use, valid for ten minutes, stored in the database
so a link stays used (and an issued one stays valid) across restarts."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, update

from bot.models import SignInToken
from web.keys import derive_key

if TYPE_CHECKING:
    from bot.database import Database

LINK_LIFETIME = timedelta(minutes=10)
LINK_PATH = "/login/link"


# How to get a fresh link: in Discord, and offline (sandbox mode), where there is no Discord
# to run /web in; the owner runs the command on the machine that runs FoundryCord.
RENEW_IN_DISCORD = "Run the /web command in Discord to get a new one."
SIGNIN_COMMAND = "python -m bot signin"
RENEW_OFFLINE = (
    f"Run {SIGNIN_COMMAND} on the machine that runs FoundryCord (in its folder) to get a new one."
)


class SignInLinkError(Exception):
    """A sign-in link cannot be redeemed; the message tells the user what to do."""

    reason = ""

    def __init__(self) -> None:
        super().__init__(self.message(offline=False))

    def message(self, *, offline: bool) -> str:
        """Why, and how to get a new link in this mode."""
        return f"{self.reason} {RENEW_OFFLINE if offline else RENEW_IN_DISCORD}"


class SignInLinkInvalid(SignInLinkError):
    reason = "This sign-in link is not valid. Copy the whole link, or get a new one."


class SignInLinkExpired(SignInLinkError):
    reason = "This sign-in link has expired: links work for 10 minutes."


class SignInLinkUsed(SignInLinkError):
    reason = "This sign-in link was already used: each link works once."


def _now() -> datetime:
    return datetime.now(UTC)


class SignInLinks:
    """Issues and redeems one-time sign-in links.

    A token is `<id>.<signature>`: the 32-character id is the database row, the HMAC
    signature (key derived from the session key) rejects forged or truncated tokens before
    the database is asked.
    """

    def __init__(
        self,
        db: Database,
        session_key: bytes,
        public_url: str,
        *,
        clock: Callable[[], datetime] = _now,
        lifetime: timedelta = LINK_LIFETIME,
    ) -> None:
        self._db = db
        self._key = derive_key(session_key, "signin-link")
        self.public_url = public_url.rstrip("/")
        self._clock = clock
        self._lifetime = lifetime

    def _sign(self, token_id: str) -> str:
        digest = hmac.new(self._key, token_id.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    async def issue(self, user_id: int) -> str:
        """Store a new token for `user_id` and return the absolute sign-in URL."""
        now = self._clock()
        token_id = secrets.token_hex(16)
        async with self._db.session() as session, session.begin():
            # Housekeeping: rows a day past expiry can no longer tell "expired" from "used".
            await session.execute(
                delete(SignInToken).where(SignInToken.expires_at < now - timedelta(days=1))
            )
            session.add(
                SignInToken(
                    id=token_id, user_id=user_id, created_at=now, expires_at=now + self._lifetime
                )
            )
        return f"{self.public_url}{LINK_PATH}?token={token_id}.{self._sign(token_id)}"

    def _token_id(self, token: str) -> str:
        """The database id of `token` if its signature is right, else SignInLinkInvalid."""
        token_id, _, signature = token.strip().partition(".")
        if len(token_id) != 32 or not hmac.compare_digest(
            signature.encode(), self._sign(token_id).encode()
        ):
            raise SignInLinkInvalid()
        return token_id

    def _check_row(self, row: SignInToken | None, now: datetime) -> SignInToken:
        if row is None:
            raise SignInLinkInvalid()
        if row.used_at is not None:
            raise SignInLinkUsed()
        if row.expires_at <= now:
            raise SignInLinkExpired()
        return row

    async def check(self, token: str) -> int:
        """The user id `token` would sign in, without using it up; raises like `redeem`."""
        token_id = self._token_id(token)
        async with self._db.session() as session:
            row = self._check_row(await session.get(SignInToken, token_id), self._clock())
            return row.user_id

    async def redeem(self, token: str) -> int:
        """Use up `token` and return its user id, or raise a SignInLinkError subclass."""
        token_id = self._token_id(token)
        now = self._clock()
        async with self._db.session() as session, session.begin():
            row = self._check_row(await session.get(SignInToken, token_id), now)
            # The guarded UPDATE makes two concurrent redeems of one link end with one winner.
            result = await session.execute(
                update(SignInToken)
                .where(SignInToken.id == token_id, SignInToken.used_at.is_(None))
                .values(used_at=now)
            )
            if result.rowcount != 1:
                raise SignInLinkUsed()
            return row.user_id
