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


MANAGE_GUILD = 1 << 5
ADMINISTRATOR = 1 << 3
PERMISSION_CACHE_S = 10.0


class ClusterLiveState:
    """The live state of one process among several (bot.cluster): its own guilds from its
    cache, the other processes' guilds from the shared table (refreshed at each heartbeat),
    so every process's web editor lists every server. A page of another process's server is
    forwarded to that process (web.forward); only the list asks here whether a user may
    manage such a server, over REST, which any process may use for any guild."""

    def __init__(self, local: NextcordLiveState, client: nextcord.Client, cluster) -> None:  # type: ignore[no-untyped-def]
        self._local = local
        self._client = client
        self._cluster = cluster
        self._remote: dict[int, GuildSummary] = {}
        self._allowed: dict[tuple[int, int], tuple[float, bool]] = {}
        cluster.on_beat.append(self.refresh)

    async def refresh(self) -> None:
        self._remote = {
            guild_id: GuildSummary(id=guild_id, name=name, icon_url=None, member_count=0)
            for guild_id, name in await self._cluster.others_guilds()
        }

    def gateway_connected(self) -> bool:
        return self._local.gateway_connected()

    def latency_ms(self) -> float | None:
        return self._local.latency_ms()

    def started_at(self) -> datetime:
        return self._local.started_at()

    def guilds(self) -> list[GuildSummary]:
        local = self._local.guilds()
        mine = {g.id for g in local}
        return local + [g for g in self._remote.values() if g.id not in mine]

    def guild(self, guild_id: int) -> GuildSummary | None:
        return self._local.guild(guild_id) or self._remote.get(guild_id)

    async def can_manage(self, guild_id: int, user_id: int) -> bool:
        if self._local.guild(guild_id) is not None or guild_id not in self._remote:
            return await self._local.can_manage(guild_id, user_id)
        import time

        now = time.monotonic()
        cached = self._allowed.get((guild_id, user_id))
        if cached is not None and now - cached[0] < PERMISSION_CACHE_S:
            return cached[1]
        allowed = await self._can_manage_over_rest(guild_id, user_id)
        self._allowed[(guild_id, user_id)] = (now, allowed)
        return allowed

    async def _can_manage_over_rest(self, guild_id: int, user_id: int) -> bool:
        import nextcord

        http = self._client.http
        try:
            guild = await http.get_guild(guild_id)
            if int(guild["owner_id"]) == user_id:
                return True
            member = await http.get_member(guild_id, user_id)
        except nextcord.HTTPException:
            return False
        held = {int(r) for r in member.get("roles", ())} | {guild_id}  # @everyone's id
        permissions = 0
        for role in guild.get("roles", ()):
            if int(role["id"]) in held:
                permissions |= int(role.get("permissions", 0))
        return bool(permissions & (ADMINISTRATOR | MANAGE_GUILD))

    async def user_name(self, user_id: int) -> str | None:
        return await self._local.user_name(user_id)

    # A server's own pages are served by the process holding it (forwarded), which answers
    # these from its cache; here they only ever concern this process's guilds.
    def text_channels(self, guild_id: int) -> list[NamedId]:
        return self._local.text_channels(guild_id)

    def roles(self, guild_id: int) -> list[NamedId]:
        return self._local.roles(guild_id)
