"""The monitoring service of one process: collectors, the sampler, history, alert
evaluation and maintenance, with an injectable clock. The cog and the web pages use it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.coalesce import VersionedReads
from bot.database import Database
from cogs.monitoring.alert_store import AlertStore, rules_query
from cogs.monitoring.alerts import SILENCE_METRIC
from cogs.monitoring.collectors import unavailable
from cogs.monitoring.collectors.docker import DockerCollector
from cogs.monitoring.collectors.gpu import GpuCollector
from cogs.monitoring.collectors.services import CheckError, ServicesCollector, TargetPolicy
from cogs.monitoring.collectors.system import SystemCollector, use_host_proc
from cogs.monitoring.config_store import (
    ConfigStore,
    checks_query,
    game_of,
    games_query,
    tokens_query,
)
from cogs.monitoring.delivery import AlertDelivery, Sender
from cogs.monitoring.games import (
    DEMO_NAME,
    GamePoller,
    GameServer,
    GameServerError,
    GameStatus,
    Query,
    games_host_key,
    query_game_server,
)
from cogs.monitoring.history import HistoryStore, Retention, WriteResult
from cogs.monitoring.hosts import Host, HostNames, HostRegistry
from cogs.monitoring.models import AgentToken, AlertRule, ServiceCheckRow
from cogs.monitoring.sampler import Sampler, Snapshot, Source, sleep_unless_stopped
from cogs.monitoring.speedtest import SpeedtestRunner

log = logging.getLogger(__name__)

MAINTENANCE_EVERY_S = 300.0


@dataclass(frozen=True)
class GuildConfig:
    rules: list[AlertRule]
    checks: list[ServiceCheckRow]
    tokens: list[AgentToken]
    games: list[GameServer]


class Monitor:
    def __init__(
        self,
        db: Database,
        *,
        host: str = "",
        interval_s: float = 10.0,
        retention: Retention | None = None,
        docker_host: str = "unix:///var/run/docker.sock",
        host_proc: str | None = None,
        speedtest_every_min: int = 0,
        allow_private_targets: bool = False,
        game_interval_s: float = 30.0,
        game_query: Query = query_game_server,
        demo_game: tuple[str, int] | None = None,
        clock: Callable[[], float] = time.time,
        owns: Callable[[int], bool] | None = None,
        is_leader: Callable[[], bool] = lambda: True,
        claim: Callable[[str], Awaitable[bool]] | None = None,
    ) -> None:
        """`owns`, `is_leader` and `claim` come from bot.cluster when several bot processes
        share the database: each evaluates and delivers its own guilds' alerts, one samples
        each host (`claim`), the leader alone keeps the history and runs speedtests."""
        system_collect = None
        try:
            use_host_proc(host_proc)
        except ValueError as exc:  # reading the container's own /proc would mislead
            log.error("%s; the system collector is off", exc)
            reason = str(exc)
            system_collect = lambda: unavailable(reason)  # noqa: E731
        self.host = (host or socket.gethostname())[:64]
        self.clock = clock
        self.interval_s = interval_s
        self.history = HistoryStore(db, retention, raw_step_s=interval_s)
        self.alerts = AlertStore(db)
        self.alerts.owns = owns
        self.is_leader = is_leader
        self.config = ConfigStore(db)
        self.registry = HostRegistry(db)
        # Whether a server shows real host names (its "Show host names" setting); set by
        # the feature's setup. Unset: names are hidden.
        self.show_names: Callable[[int], Awaitable[bool]] | None = None
        self.system = SystemCollector()
        self.gpu = GpuCollector()
        self.docker = DockerCollector(docker_host)
        self.demo_game = demo_game
        own = frozenset({demo_game}) if demo_game else frozenset()
        self.services = ServicesCollector(
            self.config.all_checks, TargetPolicy(allow_private=allow_private_targets, own=own)
        )
        self.sampler = Sampler(
            self.host,
            [
                Source("system", system_collect or self.system.collect, timeout_s=5, blocking=True),
                Source("gpu", self.gpu.collect, timeout_s=5, blocking=True),
                Source("docker", self.docker.collect, timeout_s=8),
                Source("services", self.services.collect, timeout_s=5),
            ],
            interval_s=interval_s,
            on_sample=self._on_sample,
            clock=lambda: self.clock(),
        )
        # Game servers poll on their own task and schedule, never inside the sampling tick.
        self.games = GamePoller(
            self.config.all_games,
            self.services.policy,
            interval_s=game_interval_s,
            query=game_query,
            on_round=self._on_game_round,
            clock=lambda: self.clock(),
        )
        self._game_guilds: set[int] = set()
        self.games.may_poll = lambda: self.is_leader()
        if claim is not None:
            self.sampler.may_sample = lambda: claim(f"monitoring.sampler:{self.host}")
            self.sampler.on_idle = self.check_alerts  # the host's samples come from elsewhere
        self.speedtest = SpeedtestRunner()
        self.speedtest_every_min = speedtest_every_min
        self.delivery = AlertDelivery(self.alerts, clock=lambda: self.clock())
        self.remote: dict[str, tuple[float, dict[str, float]]] = {}
        self._local_latest: tuple[object, tuple[float, dict[str, float]]] | None = None
        self._tasks: list[asyncio.Task[Any]] = []
        self._stop = asyncio.Event()
        self._alert_lock = asyncio.Lock()
        self._guild_config = VersionedReads(self._read_guild_config)

    @property
    def notify(self) -> Sender | None:
        """What sends one alert event (the cog's Discord edge)."""
        return self.delivery.send

    @notify.setter
    def notify(self, send: Sender | None) -> None:
        self.delivery.send = send

    @property
    def stale_after_s(self) -> float:
        """A value older than this counts as missing for alerts."""
        return max(3 * self.interval_s, 3 * self.games.interval_s, 60.0)

    # --- lifecycle ------------------------------------------------------------------
    def start(self, first_delay_s: float = 2.0) -> None:
        """Start sampling (after `first_delay_s`, so start-up work goes first)."""
        if self._tasks:
            return
        self._stop = asyncio.Event()
        self._tasks = [
            asyncio.create_task(
                self.sampler.run(self._stop, first_delay_s), name="monitoring-sampler"
            ),
            asyncio.create_task(self._maintenance_loop(), name="monitoring-maintenance"),
            asyncio.create_task(self.delivery.run(self._stop), name="monitoring-alerts"),
            asyncio.create_task(self._first_hosts(), name="monitoring-hosts"),
            asyncio.create_task(self.games.run(self._stop, first_delay_s), name="game-servers"),
        ]
        if self.speedtest_every_min:
            self._tasks.append(asyncio.create_task(self._speedtest_loop(), name="speedtest"))

    async def stop(self) -> None:
        """Let the loops finish the step they are in (cancelling a database write halfway
        would leak its connection), then close the collectors' HTTP sessions."""
        tasks, self._tasks = self._tasks, []
        self._stop.set()
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=15)
            for task in late:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        await self.docker.close()
        await self.services.close()
        self.sampler.close()

    async def _first_hosts(self) -> None:
        """Read the host registry at start, so other features' synchronous reads
        (MetricsSource) know the hosts before a page first asks."""
        try:
            await self.refresh_hosts(force=True)
        except Exception:
            log.exception("Could not read the monitored hosts")

    # --- samples --------------------------------------------------------------------
    async def _on_sample(self, snapshot: Snapshot) -> None:
        await self.history.write(snapshot.host, snapshot.ts, snapshot.metrics)
        if snapshot.primed:  # rules see real samples only (see sampler: priming)
            await self.check_alerts()

    async def _on_game_round(self, ts: float, per_guild: dict[int, dict[str, float]]) -> None:
        """One poll round of every game server: each Discord server's results stored under
        its own game-servers host, remembered as that host's live values, then the rules."""
        for guild_id, metrics in per_guild.items():
            key = games_host_key(guild_id)
            await self.history.write(key, ts, metrics)
            self._remember(key, ts, metrics, replace=True)
        await self.registry.ensure([games_host_key(g) for g in per_guild])
        for gone in self._game_guilds - per_guild.keys():  # its last game server went
            self.remote.pop(games_host_key(gone), None)
        self._game_guilds = set(per_guild)
        await self.check_alerts()

    async def add_game_server(
        self, guild_id: int, name: str, protocol: str, address: str, port: int, created_by: int
    ) -> tuple[GameServer, GameStatus]:
        """Check, store and poll once a game server of `guild_id`; GameServerError naming the
        field (the address too when it is not one the owner lets the bot reach), or
        config_store.GameServerLimit. Nothing is stored when a check fails."""
        server = GameServer(0, guild_id, name, protocol, address, port).validate()
        try:
            await self.games.policy.addresses(server.address, server.port)
        except CheckError as exc:
            raise GameServerError("address", exc.message) from None
        saved = await self.config.add_game(server, created_by)
        return saved, await self.games.poll_now(saved)

    async def ensure_demo_game(self, guild_ids: list[int]) -> None:
        """Offline: each server with no game server gets the demo world's, and a demo server
        already there follows the port it runs on now."""
        if self.demo_game is None:
            return
        address, port = self.demo_game
        for guild_id in guild_ids:
            games = await self.config.games(guild_id)
            demos = [g for g in games if g.name == DEMO_NAME and g.address == address]
            if any(g.port == port for g in demos) or (games and not demos):
                continue
            for old in demos:
                await self.remove_game_server(guild_id, old.id)
            server = GameServer(0, guild_id, DEMO_NAME, "source", address, port).validate()
            saved = await self.config.add_game(server, 0)
            await self.games.poll_now(saved)

    async def remove_game_server(self, guild_id: int, server_id: int) -> bool:
        """Remove one of `guild_id`'s game servers and the alert rules on its metrics."""
        if not await self.config.remove_game(guild_id, server_id):
            return False
        self.games.forget(server_id)
        prefix = f"game.{server_id}."
        for rule in await self.alerts.list(guild_id):
            if rule.host == games_host_key(guild_id) and rule.metric.startswith(prefix):
                await self.alerts.remove(guild_id, rule.id)
        return True

    async def ingest(self, host: str, ts: float, metrics: Mapping[str, float]) -> None:
        """A sample from elsewhere (an agent's post, a test): store it and remember it."""
        await self.history.write(host, ts, metrics)
        await self.registry.ensure([host])
        self._remember(host, ts, metrics)

    async def ingest_many(
        self, host: str, samples: list[tuple[float, dict[str, float]]]
    ) -> WriteResult:
        """An agent's post: store what may be stored (names over the caps are refused, by
        name) and remember the newest sample as the host's live values."""
        result = await self.history.store(host, samples)
        await self.registry.ensure([host])
        for ts, metrics in samples:
            kept = {k: v for k, v in metrics.items() if k not in result.refused}
            self._remember(host, ts, kept)
        return result

    def _remember(
        self, host: str, ts: float, metrics: Mapping[str, float], *, replace: bool = False
    ) -> None:
        previous = self.remote.get(host)
        if replace or previous is None or previous[0] <= ts:
            self.remote[host] = (ts, dict(metrics))

    async def latest(self, host: str) -> tuple[float, dict[str, float]] | None:
        """(time, values) of `host`'s newest sample: the same object until a new sample
        comes, so readers may keep what they made from it (live.json)."""
        local = self.sampler.latest
        if local is not None and host == self.host:
            kept = self._local_latest
            if kept is None or kept[0] is not local:
                kept = self._local_latest = (local, (local.ts, local.metrics))
            return kept[1]
        if host in self.remote:
            return self.remote[host]
        return await self.history.latest(host)

    async def hosts(self) -> list[str]:
        """The storage key of every host with samples (whoever owns it)."""
        names = set(await self.history.host_keys()) | {self.host} | set(self.remote)
        return sorted(names)

    # --- who sees which host --------------------------------------------------------
    async def refresh_hosts(self, *, force: bool = False) -> HostRegistry:
        """The host registry, re-read when stale, with every host that has samples in it."""
        registry = self.registry
        if force or not registry.fresh:
            await registry.refresh(force=True)
            await registry.ensure(await self.hosts())
        return registry

    async def visible_hosts(self, guild_id: int) -> list[Host]:
        """The hosts `guild_id` may see (hosts.HostRegistry.visible)."""
        return (await self.refresh_hosts()).visible(guild_id, self.host)

    async def names(self, guild_id: int | None, *, show: bool | None = None) -> HostNames:
        """The hosts a server may see and how it names them; outside a server, none.
        `show` is the server's "show host names" setting where the caller holds it (the web
        editor's request cache); otherwise it is read."""
        if guild_id is None:
            return HostNames([], show=False)
        if show is None:
            show = bool(self.show_names is not None and await self.show_names(guild_id))
        return HostNames(await self.visible_hosts(guild_id), show=show)

    async def guild_config(self, guild_id: int, version: int | None = None) -> GuildConfig:
        """A server's alert rules, service checks and agent tokens, read in one session.
        `version` is the 'monitoring_config' counter (migration monitoring_0004) read before
        this call: while it stays the same, nothing was written and the copy in memory is
        returned; without one, a read that started after the caller asked (bot.coalesce)."""
        return await self._guild_config(guild_id, version)

    async def _read_guild_config(self, guild_id: int) -> GuildConfig:
        async with self.history.db.session() as session:
            return GuildConfig(
                list(await session.scalars(rules_query(guild_id))),
                list(await session.scalars(checks_query(guild_id))),
                list(await session.scalars(tokens_query(guild_id))),
                [game_of(row) for row in await session.scalars(games_query(guild_id))],
            )

    async def host_label(self, guild_id: int, key: str) -> str:
        """How server `guild_id` names host `key`: the one function every display uses."""
        return (await self.names(guild_id)).label(key)

    # --- alerts ---------------------------------------------------------------------
    async def check_alerts(self) -> None:
        """Step every rule with the newest values and record what changed; the delivery
        task announces it (never inside the sampling tick, which must not stall)."""
        async with self._alert_lock:
            now = self.clock()
            watched = await self.alerts.watched()
            if not watched:  # no rules: nothing to evaluate, no database round trip
                return
            latest: dict[str, tuple[float, dict[str, float]] | None] = {}
            for host in {host for host, _ in watched}:
                local = self.sampler.latest
                if host == self.host and local is not None and not local.primed:
                    latest[host] = None  # not a real sample: changes nothing
                    continue
                found = await self.latest(host)
                if host != self.host:  # another process may have written newer rows
                    stored = await self.history.latest(host)
                    if stored is not None and (found is None or stored[0] > found[0]):
                        found = stored
                latest[host] = found

            registry = await self.refresh_hosts()
            visible: dict[int, set[str]] = {}

            def value_of(guild_id: int, host: str, metric: str) -> float | None:
                if guild_id not in visible:  # sharing may have been turned off since
                    visible[guild_id] = {h.key for h in registry.visible(guild_id, self.host)}
                if host not in visible[guild_id]:
                    return None
                found = latest.get(host)
                if metric == SILENCE_METRIC:
                    return None if found is None else max(0.0, now - found[0])
                if found is None or now - found[0] > self.stale_after_s:
                    return None
                return found[1].get(metric)

            if await self.alerts.evaluate(now, value_of):
                self.delivery.wake()

    # --- maintenance ----------------------------------------------------------------
    async def maintain(self) -> tuple[int, int]:
        now = self.clock()
        rolled = await self.history.rollup(now)
        pruned = await self.history.prune(now)
        return rolled, pruned

    async def _maintenance_loop(self) -> None:
        while not await sleep_unless_stopped(self._stop, MAINTENANCE_EVERY_S):
            if not self.is_leader():  # one process keeps the shared history
                continue
            try:
                await self.maintain()
            except Exception:
                log.exception("Monitoring history maintenance failed")

    async def _speedtest_loop(self) -> None:
        while not await sleep_unless_stopped(self._stop, self.speedtest_every_min * 60):
            if not self.is_leader():  # one scheduled speedtest for the whole bot
                continue
            try:
                result = await self.speedtest.run()
            except Exception as exc:
                log.warning("Scheduled speedtest failed: %s", exc)
                continue
            await self.history.write(
                self.host,
                result.at,
                {
                    "speedtest.download_mbps": result.download_mbps,
                    "speedtest.upload_mbps": result.upload_mbps,
                    "speedtest.ping_ms": result.ping_ms,
                },
            )
