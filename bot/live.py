"""What the web editor may ask of the running bot, behind a small protocol so the web
is tested without a gateway connection."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import nextcord

log = logging.getLogger(__name__)

# Asking Discord whether a user is a member answers 404 for "no", an ordinary answer here;
# nextcord logs every 404 as "resulted in error 404, check your path?".
_EXPECTING_404: ContextVar[bool] = ContextVar("foundrycord_expecting_404", default=False)
_NEXTCORD_404 = "Path %s resulted in error 404"


class _Expected404Filter(logging.Filter):
    """Drops nextcord's 404 warning for requests made inside `_member_lookup()`."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (_EXPECTING_404.get() and str(record.msg).startswith(_NEXTCORD_404))


_FILTER = _Expected404Filter()


@contextmanager
def _member_lookup() -> Iterator[None]:
    """Within this block (this task only), a 404 from Discord logs no warning."""
    http_log = logging.getLogger("nextcord.http")
    if _FILTER not in http_log.filters:
        http_log.addFilter(_FILTER)
    token = _EXPECTING_404.set(True)
    try:
        yield
    finally:
        _EXPECTING_404.reset(token)


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


NOT_MEMBER_TTL_S = 60.0
_NOT_MEMBER_PRUNE_AT = 4096


class NextcordLiveState:
    """LiveState read from a running nextcord client's cache, with REST as the fallback.

    A user the member cache does not know is looked up over REST; Discord's "not a member"
    is remembered for NOT_MEMBER_TTL_S per (guild, user), so listing servers does not ask
    Discord again for every server the user is not in on every page view. A member who
    joins is asked about at once again (the join event, or the member cache knowing them).
    """

    def __init__(
        self, client: nextcord.Client, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._client = client
        self._started_at = datetime.now(UTC)
        self._clock = clock
        self._not_members: dict[tuple[int, int], float] = {}  # -> when the answer expires
        client.add_listener(self._member_joined, "on_member_join")

    async def _member_joined(self, member: nextcord.Member) -> None:
        self._not_members.pop((member.guild.id, member.id), None)

    def _known_not_member(self, guild_id: int, user_id: int) -> bool:
        expires = self._not_members.get((guild_id, user_id))
        if expires is None:
            return False
        if self._clock() < expires:
            return True
        del self._not_members[(guild_id, user_id)]
        return False

    def _remember_not_member(self, guild_id: int, user_id: int) -> None:
        now = self._clock()
        if len(self._not_members) >= _NOT_MEMBER_PRUNE_AT:
            self._not_members = {k: t for k, t in self._not_members.items() if t > now}
        self._not_members[(guild_id, user_id)] = now + NOT_MEMBER_TTL_S

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
        if member is not None:
            self._not_members.pop((guild_id, user_id), None)  # the cache learnt of them
        else:
            if self._known_not_member(guild_id, user_id):
                return False
            try:
                with _member_lookup():
                    member = await guild.fetch_member(user_id)
            except nextcord.NotFound:
                self._remember_not_member(guild_id, user_id)
                return False
            except nextcord.HTTPException as exc:
                log.warning("Could not fetch member %s of guild %s: %s", user_id, guild_id, exc)
                return False
        # Read from the member object on every call (never cached), so a role or permission
        # change reaches the next request.
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
            with _member_lookup():
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
