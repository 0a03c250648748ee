"""Discord OAuth2 authorization-code sign-in (scopes `identify guilds`)."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp

log = logging.getLogger(__name__)

AUTHORIZE_URL = "https://discord.com/oauth2/authorize"
SCOPES = "identify guilds"
CALLBACK_PATH = "/login/callback"


class OAuthError(Exception):
    """Discord refused or failed the code exchange; the message is safe to show."""


@dataclass(frozen=True)
class DiscordUser:
    id: int
    name: str


class DiscordOAuth:
    """Talks to Discord's token and user endpoints under `api_base` (a fake in tests)."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        client_id: str,
        client_secret: str,
        public_url: str,
        api_base: str,
    ) -> None:
        self._http = http
        self._client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = public_url.rstrip("/") + CALLBACK_PATH
        self._api_base = api_base.rstrip("/")

    @staticmethod
    def new_state() -> str:
        return secrets.token_urlsafe(32)

    def authorize_url(self, state: str) -> str:
        query = urlencode(
            {
                "response_type": "code",
                "client_id": self._client_id,
                "scope": SCOPES,
                "state": state,
                "redirect_uri": self.redirect_uri,
                "prompt": "none",
            }
        )
        return f"{AUTHORIZE_URL}?{query}"

    async def sign_in(self, code: str) -> DiscordUser:
        """Exchange the authorization code and fetch who signed in."""
        token = await self._exchange(code)
        return await self._fetch_user(token)

    async def _exchange(self, code: str) -> str:
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": self.redirect_uri,
        }
        headers = {"Authorization": aiohttp.encode_basic_auth(self._client_id, self._client_secret)}
        try:
            async with self._http.post(
                f"{self._api_base}/oauth2/token", data=form, headers=headers
            ) as response:
                if response.status != 200:
                    log.warning("Discord OAuth token exchange answered HTTP %s", response.status)
                    raise OAuthError(
                        f"Discord refused the sign-in (HTTP {response.status}). Start again; "
                        "if it keeps failing, check DISCORD_CLIENT_ID, DISCORD_CLIENT_SECRET "
                        f"and that {self.redirect_uri} is a redirect URL of the Discord app."
                    )
                payload = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("Discord OAuth token exchange failed: %s", type(exc).__name__)
            raise OAuthError(
                "Discord could not be reached to finish the sign-in. Try again."
            ) from None
        token = payload.get("access_token") if isinstance(payload, dict) else None
        if not isinstance(token, str) or not token:
            raise OAuthError("Discord's answer held no access token. Start the sign-in again.")
        return token

    async def _fetch_user(self, token: str) -> DiscordUser:
        headers = {"Authorization": f"Bearer {token}"}
        try:
            async with self._http.get(f"{self._api_base}/users/@me", headers=headers) as response:
                if response.status != 200:
                    log.warning("Discord /users/@me answered HTTP %s", response.status)
                    raise OAuthError(
                        f"Discord did not say who you are (HTTP {response.status}). "
                        "Start the sign-in again."
                    )
                payload = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("Discord /users/@me failed: %s", type(exc).__name__)
            raise OAuthError(
                "Discord could not be reached to finish the sign-in. Try again."
            ) from None
        try:
            user_id = int(payload["id"])
        except (KeyError, TypeError, ValueError):
            raise OAuthError("Discord's answer held no user id. Start the sign-in again.") from None
        name = payload.get("global_name") or payload.get("username") or str(user_id)
        return DiscordUser(user_id, str(name))
