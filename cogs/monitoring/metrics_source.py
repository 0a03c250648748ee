"""Monitoring's data offered to other features (dashboards) through `bot.metrics`, so they
never import this package. Reads are synchronous and answered from memory: the local host's
newest sample, agents' posts, and a cache of hosts known only from the shared database,
refreshed in the background at most every `REFRESH_S` seconds.

Every read names the guild that looks (`bot.metrics.MetricsSource`); host keys are opaque and
`host_label` is the one place a host's name is decided for a guild: the real name only where
the guild's "Show host names" setting is on (read in the background, hidden until known)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.metrics import GameServerView, HostView, MetricCatalogue, MetricPoint, StatusItem
from cogs.monitoring.catalogue import CATALOGUE
from cogs.monitoring.games import PROTOCOLS, games_host_key
from cogs.monitoring.hosts import Host, HostNames

if TYPE_CHECKING:
    from cogs.monitoring.monitor import Monitor

log = logging.getLogger(__name__)

REFRESH_S = 30.0


class GuildFlag:
    """A per-guild yes/no setting for synchronous reads: the value as last read, re-read in
    the background at most every REFRESH_S seconds; `False` until first read."""

    def __init__(self, read: Callable[[int], Awaitable[bool]] | None) -> None:
        self._read = read
        self._known: dict[int, tuple[float, bool]] = {}
        self._reading: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    def get(self, guild_id: int) -> bool:
        cached = self._known.get(guild_id)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return bool(cached and cached[1])
        now = loop.time()
        stale = cached is None or now - cached[0] > REFRESH_S
        if self._read is not None and stale and guild_id not in self._reading:
            self._reading.add(guild_id)
            task = loop.create_task(self._load(guild_id, now))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return bool(cached and cached[1])

    async def _load(self, guild_id: int, now: float) -> None:
        try:
            assert self._read is not None
            self._known[guild_id] = (now, bool(await self._read(guild_id)))
        except Exception:
            log.exception("Could not read a monitoring setting of guild %s", guild_id)
        finally:
            self._reading.discard(guild_id)

    def set(self, guild_id: int, value: bool) -> None:
        """Record a value just read or changed (the cog and web pages know it first)."""
        try:
            now = asyncio.get_running_loop().time()
        except RuntimeError:
            now = 0.0
        self._known[guild_id] = (now, value)


class MonitorMetrics:
    """A `bot.metrics.MetricsSource` over a running Monitor."""

    def __init__(
        self,
        monitor: Monitor,
        show_hosts: Callable[[int], Awaitable[bool]] | None = None,
        show_players: Callable[[int], Awaitable[bool]] | None = None,
    ) -> None:
        self.monitor = monitor
        self.show_players = GuildFlag(show_players)
        self._show_hosts = show_hosts
        self._show: dict[int, tuple[float, bool]] = {}  # guild -> (read at, show names)
        self._show_reads: set[int] = set()
        self._stored: dict[str, dict[str, float]] = {}  # hosts seen only in the database
        self._refreshed_at = float("-inf")
        self._refresh: asyncio.Task[None] | None = None

    # -- the cache of hosts that report into the database from elsewhere ------------------
    def _maybe_refresh(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._refresh is not None or loop.time() - self._refreshed_at < REFRESH_S:
            return
        self._refreshed_at = loop.time()
        self._refresh = loop.create_task(self._load_stored(), name="metrics-hosts")

    async def _load_stored(self) -> None:
        try:
            await self.monitor.refresh_hosts()
            stored: dict[str, dict[str, float]] = {}
            for host in await self.monitor.hosts():
                if host == self.monitor.host or host in self.monitor.remote:
                    continue
                found = await self.monitor.history.latest(host)
                if found is not None:
                    stored[host] = dict(found[1])
            self._stored = stored
        except Exception:
            log.exception("Could not read the hosts known to the monitoring history")
        finally:
            self._refresh = None

    async def close(self) -> None:
        if self._refresh is not None:
            self._refresh.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresh

    # -- how a guild names hosts ---------------------------------------------------------
    def _shows_names(self, guild_id: int) -> bool:
        """The guild's "Show host names" setting as last read; hidden until read."""
        cached = self._show.get(guild_id)
        try:
            now = asyncio.get_running_loop().time()
        except RuntimeError:
            return bool(cached and cached[1])
        if (
            self._show_hosts is not None
            and guild_id not in self._show_reads
            and (cached is None or now - cached[0] > REFRESH_S)
        ):
            self._show_reads.add(guild_id)
            asyncio.get_running_loop().create_task(self._read_show(guild_id, now))
        return bool(cached and cached[1])

    async def _read_show(self, guild_id: int, now: float) -> None:
        try:
            assert self._show_hosts is not None
            self._show[guild_id] = (now, bool(await self._show_hosts(guild_id)))
        except Exception:
            log.exception("Could not read whether guild %s shows host names", guild_id)
        finally:
            self._show_reads.discard(guild_id)

    def show_names(self, guild_id: int, show: bool) -> None:
        """Record a guild's setting as just read (the cog and web pages know it first)."""
        try:
            now = asyncio.get_running_loop().time()
        except RuntimeError:
            now = 0.0
        self._show[guild_id] = (now, show)

    def _visible(self, guild_id: int) -> list[Host]:
        self._maybe_refresh()
        return self.monitor.registry.visible(guild_id, self.monitor.host)

    def _key(self, guild_id: int, ref: str) -> str | None:
        """The storage key of host `ref` if this guild may see it, else None. A layout
        saved before keys were opaque names the host by its storage key: still found, but
        only among the hosts this guild may see."""
        visible = self._visible(guild_id)
        for host in visible:
            if host.ref == ref:
                return host.key
        return next((host.key for host in visible if host.key == ref), None)

    # -- MetricsSource --------------------------------------------------------------------
    @property
    def catalogue(self) -> MetricCatalogue:
        return CATALOGUE

    def hosts(self, guild_id: int) -> list[HostView]:
        names = HostNames(self._visible(guild_id), show=self._shows_names(guild_id))
        return [
            HostView(host.ref, names.label(host.key), host.key == self.monitor.host)
            for host in names.hosts
        ]

    def host_label(self, guild_id: int, key: str) -> str:
        names = HostNames(self._visible(guild_id), show=self._shows_names(guild_id))
        host = self.monitor.registry.by_ref.get(key)
        return names.label(host.key) if host is not None else "host ?"

    def unavailable(self, guild_id: int, key: str) -> dict[str, str]:
        sample = self.monitor.sampler.latest
        if self._key(guild_id, key) != self.monitor.host or sample is None:
            return {}
        return {name: why for name, why in sample.status.items() if why != "ok"}

    def latest(self, guild_id: int, key: str) -> dict[str, float]:
        host = self._key(guild_id, key)
        if host is None:
            return {}
        if host == self.monitor.host:
            sample = self.monitor.sampler.latest
            return dict(sample.metrics) if sample is not None else {}
        if host in self.monitor.remote:
            return dict(self.monitor.remote[host][1])
        return dict(self._stored.get(host, {}))

    def metric_names(self, guild_id: int, key: str) -> list[str]:
        return sorted(self.latest(guild_id, key))

    async def history(
        self, guild_id: int, key: str, metric: str, start: datetime, end: datetime
    ) -> list[MetricPoint]:
        await self.monitor.refresh_hosts()
        host = self._key(guild_id, key)
        if host is None:
            return []
        series = await self.monitor.history.query(
            host, metric, start.timestamp(), end.timestamp(), now=self.monitor.clock()
        )
        return [
            MetricPoint(datetime.fromtimestamp(ts, UTC), value)
            for ts, value, _ in series.points
            if math.isfinite(value)
        ]

    def _rows(self, host: str | None, collector: str, key: str) -> list[dict]:
        sample = self.monitor.sampler.latest
        if host != self.monitor.host or sample is None:
            return []  # per-item details are kept for the local host only
        return list((sample.info.get(collector) or {}).get(key, []))

    def containers(self, guild_id: int, key: str) -> list[StatusItem]:
        items = []
        for row in self._rows(self._key(guild_id, key), "docker", "containers"):
            state, health = str(row.get("state", "unknown")), str(row.get("health", "none"))
            detail = state if health in ("none", "") else f"{state}, {health}"
            ok = state == "running" and health != "unhealthy"
            items.append(StatusItem(str(row.get("name", "?")), ok, detail))
        return items

    def services(self, guild_id: int, key: str) -> list[StatusItem]:
        return [
            StatusItem(str(row.get("name", "?")), bool(row.get("ok")), str(row.get("detail", "")))
            for row in self._rows(self._key(guild_id, key), "services", "services")
        ]

    def version(self, guild_id: int) -> object:
        """Everything the reads answer `guild_id` from, held by reference: the visible
        hosts (names included) and how the guild names them, each host's newest values (the
        local sample, an agent's post, the stored cache) with the count of this process's
        history writes for it, the collectors' status and details (in the local sample) and
        the guild's game servers with their newest poll. A new sample or post is a new
        object, so an unchanged source compares by identity, cheaply. A host that only
        another process writes moves with the stored cache (every REFRESH_S), its values
        and its history alike."""
        monitor = self.monitor
        visible = tuple(self._visible(guild_id))
        poller = monitor.games
        return (
            visible,
            self._shows_names(guild_id),
            self.show_players.get(guild_id),
            tuple(
                (
                    monitor.sampler.latest
                    if host.key == monitor.host
                    else monitor.remote.get(host.key) or self._stored.get(host.key),
                    monitor.history.writes(host.key),
                )
                for host in visible
            ),
            tuple(
                (server, poller.status.get(server.id))
                for server in poller.servers.values()
                if server.guild_id == guild_id
            ),
        )

    def game_servers(self, guild_id: int) -> list[GameServerView]:
        poller = self.monitor.games
        names = self.show_players.get(guild_id)
        host = self.monitor.registry.by_key.get(games_host_key(guild_id))
        views = []
        for server in sorted(poller.servers.values(), key=lambda s: s.id):
            if server.guild_id != guild_id:
                continue
            status = poller.status.get(server.id)
            base = GameServerView(
                key=server.key,
                name=server.name,
                game=PROTOCOLS[server.protocol][0].split(" (")[0],
                host_key=host.ref if host is not None else "",
                metric_prefix=f"game.{server.id}.",
            )
            if status is None:
                views.append(base)
                continue
            answer = status.answer
            views.append(
                replace(
                    base,
                    online=status.online,
                    title=answer.title,
                    map=answer.map,
                    game=answer.game or base.game,
                    players=answer.players if status.online else 0,
                    max_players=answer.max_players or None,
                    ping_ms=status.ping_ms if status.online else None,
                    player_names=answer.player_names if names else None,
                    detail=status.error,
                )
            )
        return views
