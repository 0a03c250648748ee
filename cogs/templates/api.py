"""Discord I/O for templates, through nextcord's HTTP client (its rate limiter included).

The bot and the command line use the same class; only this module sends requests."""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

from nextcord.http import HTTPClient, Route

from cogs.templates.live import LiveGuild

# Discord allows 50 requests per second per token across everything the bot sends, counted
# in windows that nextcord cannot see; an apply paces itself below that so it never meets a
# global 429 and leaves room for the bot's other traffic.
PACE_PER_SECOND = 45


class Pacer:
    def __init__(self, per_second: float) -> None:
        self.interval = 1.0 / per_second
        self.next_at = 0.0
        self.lock = asyncio.Lock()

    async def wait(self) -> None:
        async with self.lock:
            now = asyncio.get_running_loop().time()
            if self.next_at > now:
                await asyncio.sleep(self.next_at - now)
                now = self.next_at
            self.next_at = now + self.interval


_pacers: weakref.WeakKeyDictionary[HTTPClient, Pacer] = weakref.WeakKeyDictionary()


def pacer_for(http: HTTPClient) -> Pacer:
    pacer = _pacers.get(http)
    if pacer is None:
        pacer = _pacers[http] = Pacer(PACE_PER_SECOND)
    return pacer


class GuildApi:
    def __init__(self, http: HTTPClient, guild_id: int, *, reason: str | None = None) -> None:
        self.http = http
        self.guild_id = guild_id
        self.reason = reason

    async def _send(self, method: str, path: str, json: Any = None, **params: Any) -> Any:
        route = Route(method, path, guild_id=self.guild_id, **params)
        await pacer_for(self.http).wait()
        if json is None:
            return await self.http.request(route, reason=self.reason)
        return await self.http.request(route, json=json, reason=self.reason)

    async def fetch(self) -> LiveGuild:
        guild = await self._send("GET", "/guilds/{guild_id}")
        channels = await self._send("GET", "/guilds/{guild_id}/channels")
        roles = await self._send("GET", "/guilds/{guild_id}/roles")
        return LiveGuild.from_api(guild, channels, roles)

    async def member(self, user_id: int) -> dict[str, Any]:
        return await self._send("GET", "/guilds/{guild_id}/members/{user_id}", user_id=user_id)

    async def members(self) -> list[dict[str, Any]]:
        """Every member, 1000 per page (needs the server members intent on Discord)."""
        found: list[dict[str, Any]] = []
        after = 0
        while True:
            route = Route("GET", "/guilds/{guild_id}/members", guild_id=self.guild_id)
            await pacer_for(self.http).wait()
            page = await self.http.request(route, params={"limit": 1000, "after": after})
            found += page
            if len(page) < 1000:
                return found
            after = int(page[-1]["user"]["id"])

    async def create_role(self, payload: dict[str, Any]) -> int:
        data = await self._send("POST", "/guilds/{guild_id}/roles", payload)
        return int(data["id"])

    async def edit_role(self, role_id: int, payload: dict[str, Any]) -> None:
        await self._send("PATCH", "/guilds/{guild_id}/roles/{role_id}", payload, role_id=role_id)

    async def reorder_roles(self, payload: list[dict[str, Any]]) -> None:
        await self._send("PATCH", "/guilds/{guild_id}/roles", payload)

    async def delete_role(self, role_id: int) -> None:
        await self._send("DELETE", "/guilds/{guild_id}/roles/{role_id}", role_id=role_id)

    async def create_channel(self, payload: dict[str, Any]) -> int:
        data = await self._send("POST", "/guilds/{guild_id}/channels", payload)
        return int(data["id"])

    async def edit_channel(self, channel_id: int, payload: dict[str, Any]) -> None:
        await self._send("PATCH", "/channels/{channel_id}", payload, channel_id=channel_id)

    async def reorder_channels(self, payload: list[dict[str, Any]]) -> None:
        await self._send("PATCH", "/guilds/{guild_id}/channels", payload)

    async def delete_channel(self, channel_id: int) -> None:
        await self._send("DELETE", "/channels/{channel_id}", channel_id=channel_id)

    async def edit_guild(self, payload: dict[str, Any]) -> None:
        await self._send("PATCH", "/guilds/{guild_id}", payload)


async def fetch_server_template(http: HTTPClient, code: str) -> dict[str, Any]:
    """GET /guilds/templates/{code}: a Discord server template (no auth scope needed)."""
    return await http.request(Route("GET", "/guilds/templates/{code}", code=code))
