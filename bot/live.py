"""What the web editor may ask of the running bot, behind a small protocol so the web
is tested without a gateway connection."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import nextcord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GuildSummary:
    id: int
    name: str
    icon_url: str | None
    member_count: int


@dataclass(frozen=True)
class NamedId:
    """A channel or role of a guild, as a settings form offers it."""

    id: int
    name: str


class LiveState(Protocol):
    def gateway_connected(self) -> bool: ...
    def latency_ms(self) -> float | None: ...
    def started_at(self) -> datetime: ...
    def guilds(self) -> list[GuildSummary]: ...
    def guild(self, guild_id: int) -> GuildSummary | None: ...
    async def can_manage(self, guild_id: int, user_id: int) -> bool: ...
    async def user_name(self, user_id: int) -> str | None: ...
    def text_channels(self, guild_id: int) -> list[NamedId]: ...
    def roles(self, guild_id: int) -> list[NamedId]: ...


def _summary(guild: nextcord.Guild) -> GuildSummary:
    return GuildSummary(
        id=guild.id,
        name=guild.name,
        icon_url=guild.icon.url if guild.icon else None,
        member_count=guild.member_count or len(guild.members),
    )


class NextcordLiveState:
    """LiveState read from a running nextcord client's cache, with REST as the fallback."""

    def __init__(self, client: nextcord.Client) -> None:
        self._client = client
        self._started_at = datetime.now(UTC)

    def gateway_connected(self) -> bool:
        return self._client.is_ready() and not self._client.is_closed()

    def latency_ms(self) -> float | None:
        latency = self._client.latency
        if latency != latency or latency == float("inf"):  # NaN before the first heartbeat
            return None
        return round(latency * 1000, 1)

    def started_at(self) -> datetime:
        return self._started_at

    def guilds(self) -> list[GuildSummary]:
        return [_summary(g) for g in self._client.guilds]

    def guild(self, guild_id: int) -> GuildSummary | None:
        guild = self._client.get_guild(guild_id)
        return _summary(guild) if guild else None

    def text_channels(self, guild_id: int) -> list[NamedId]:
        """The guild's text channels in Discord's order (none for an unknown guild)."""
        guild = self._client.get_guild(guild_id)
        return [NamedId(c.id, c.name) for c in guild.text_channels] if guild else []

    def roles(self, guild_id: int) -> list[NamedId]:
        """The guild's roles, highest first, without @everyone (not a role to pick) and
        roles managed by an integration (a bot's own role)."""
        guild = self._client.get_guild(guild_id)
        if guild is None:
            return []
        return [
            NamedId(r.id, r.name)
            for r in reversed(guild.roles)
            if not r.is_default() and not r.managed
        ]

    async def can_manage(self, guild_id: int, user_id: int) -> bool:
        import nextcord

        guild = self._client.get_guild(guild_id)
        if guild is None:
            return False
        member = guild.get_member(user_id)
        if member is None:
            try:
                member = await guild.fetch_member(user_id)
            except nextcord.NotFound:
                return False
            except nextcord.HTTPException as exc:
                log.warning("Could not fetch member %s of guild %s: %s", user_id, guild_id, exc)
                return False
        return member.guild_permissions.manage_guild

    async def user_name(self, user_id: int) -> str | None:
        import nextcord

        user = self._client.get_user(user_id)
        if user is None:
            try:
                user = await self._client.fetch_user(user_id)
            except nextcord.HTTPException:
                return None
        return user.name
