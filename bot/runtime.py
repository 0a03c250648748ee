"""The process's lifecycle: database, cache, bot and web server start together in one
event loop and stop together, cleanly."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web as aioweb

from bot.cache import create_cache
from bot.client import FoundryBot, ShardedFoundryBot, create_bot
from bot.cluster import Cluster, ShardsTaken
from bot.database import Database
from bot.guild_access import GuildAccess
from bot.guild_purge import LeftGuildPurge
from bot.guild_settings import GuildSettingsRegistry, GuildSettingsStore
from bot.live import ClusterLiveState, NextcordLiveState
from bot.logbuffer import LogBuffer
from bot.migrate import ensure_migrated
from bot.private_files import private_dir
from bot.secret_key import load_session_key
from bot.services import Services
from bot.settings import Settings
from bot.shards import ShardRange

log = logging.getLogger(__name__)


class StartupError(Exception):
    """Start-up cannot continue; the message is the one line the user sees."""


@dataclass
class WebExtras:
    """Pages the entry point adds to the web editor (the offline Sandbox page)."""

    routes: Sequence[aioweb.RouteTableDef] = ()
    nav_links: Sequence[tuple[str, str]] = ()
    app_keys: dict = field(default_factory=dict)
    template_dirs: Sequence[Path] = ()
    offline: bool = False  # sandbox mode: sign-in pages name `python -m bot signin`


class BotProcess:
    """Owns everything that opens at start and must close at shutdown."""

    def __init__(
        self,
        settings: Settings,
        token: str,
        *,
        log_buffer: LogBuffer | None = None,
        web_extras: WebExtras | None = None,
        guild_ready_timeout: float = 2.0,
        extra_extensions: Sequence[str] = (),
        migrate_in_process: bool = False,
    ) -> None:
        self.settings = settings
        self.token = token
        self.log_buffer = log_buffer or LogBuffer()
        self.web_extras = web_extras or WebExtras()
        self.guild_ready_timeout = guild_ready_timeout
        self.extra_extensions = tuple(extra_extensions)
        self.migrate_in_process = migrate_in_process
        self.services: Services | None = None
        self.bot: FoundryBot | ShardedFoundryBot | None = None
        self.web_context = None
        self._web_server = None
        self._connect_task: asyncio.Task[None] | None = None
        self._started_task: asyncio.Task[None] | None = None
        self.purge: LeftGuildPurge | None = None
        self._stepped_down: str | None = None  # why, when another process took our shards
        self._stepping_down: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Open the database (migrated to head), the cache, the web server and the gateway."""
        from web.context import WebContext

        settings = self.settings
        private_dir(settings.data_dir)
        session_key = load_session_key(settings)
        db = await Database.connect(settings.database_url, retries=settings.db_connect_retries)
        try:
            await ensure_migrated(db, in_process=self.migrate_in_process)
        except BaseException:  # a failure, or a signal during start-up
            await db.dispose()
            raise
        cache = create_cache(settings.redis_url)
        registry = GuildSettingsRegistry()
        access = GuildAccess(db, auto_approve=settings.auto_approve)
        cluster = Cluster(db, ShardRange(settings.shard_count, settings.shard_ids))
        self.services = Services(
            cluster=cluster,
            settings=settings,
            db=db,
            cache=cache,
            guild_access=access,
            guild_settings=GuildSettingsStore(db, registry),
            log_buffer=self.log_buffer,
            session_key=session_key,
        )
        bot = create_bot(
            self.services,
            guild_ready_timeout=self.guild_ready_timeout,
            extra_extensions=self.extra_extensions,
        )
        self.bot = bot
        access.leave_guild = self._leave_guild
        self.purge = LeftGuildPurge(
            access,
            settings.left_guild_retention_days,
            current_guilds=lambda: [g.id for g in bot.guilds],
            wait_ready=bot.wait_until_ready,
            should_run=lambda: cluster.is_leader,  # one process purges for the whole bot
        )

        features = self.services.features
        live = NextcordLiveState(bot)
        if cluster.enabled:  # every process's web editor shows and serves every server
            live = ClusterLiveState(live, bot, cluster)
        self.web_context = WebContext(
            holder_of=cluster.holder_url if cluster.enabled else None,
            settings=settings,
            db=db,
            cache=cache,
            live=live,
            guild_access=access,
            guild_settings=self.services.guild_settings,
            log_buffer=self.log_buffer,
            session_key=self.services.session_key,
            extra_routes=[*features.routes, *self.web_extras.routes],
            nav_links=[*features.nav_links, *self.web_extras.nav_links],
            template_dirs=[*features.template_dirs, *self.web_extras.template_dirs],
            static_dirs=features.static_dirs,
            guild_tabs=features.guild_tabs,
            token_paths=features.token_paths,
            app_keys={**features.app_keys, **self.web_extras.app_keys},
            offline=self.web_extras.offline,
        )
        bot.web_context = self.web_context
        if settings.web_enabled:
            await self._start_web()
        # Before the gateway: the leader (command sync) is chosen before anyone connects.
        cluster.internal_url = settings.internal_url or (self.web_url or "")
        cluster.on_shards_taken.append(self._step_down)
        try:
            await cluster.start()
        except ShardsTaken as taken:
            raise StartupError(f"Not starting: {taken}") from None

        await bot.login(self.token)
        self._connect_task = asyncio.create_task(bot.connect(), name="gateway")
        self._started_task = asyncio.create_task(self._until_started(bot), name="startup")
        self.purge.start()

    @staticmethod
    async def _until_started(bot: FoundryBot | ShardedFoundryBot) -> None:
        await bot.wait_until_ready()
        await bot.startup.settled()
        log.info("Ready as %s in %d guild(s)", bot.user, len(bot.guilds))

    async def _start_web(self) -> None:
        from web.app import create_app
        from web.connections import ConnectionLimits
        from web.server import start_web

        app = create_app(self.web_context)
        limits = ConnectionLimits(max_connections=self.settings.web_max_connections)
        self._web_server = await start_web(
            app, self.settings.web_host, self.settings.web_port, limits
        )
        if self.settings.web_port == 0 and self.settings.public_url.endswith(":0"):
            # A free port was picked: links must carry the real one.
            self.web_context.signin.public_url = self._web_server.url

    @property
    def web_url(self) -> str | None:
        if self._web_server is None:
            return None
        return self._web_server.url

    async def _leave_guild(self, guild_id: int) -> None:
        assert self.bot is not None
        guild = self.bot.get_guild(guild_id)
        if guild is not None:
            await guild.leave()

    async def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait for on_ready, the command sync and every guild's admission, failing early
        if the gateway task dies."""
        assert self.bot is not None and self._connect_task is not None
        assert self._started_task is not None
        ready = asyncio.ensure_future(asyncio.shield(self._started_task))
        done, _ = await asyncio.wait(
            {ready, self._connect_task}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
        )
        if ready not in done:
            ready.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ready
            if self._connect_task in done:
                self._connect_task.result()  # re-raises the gateway's error
            raise TimeoutError(f"the bot was not ready within {timeout} s")

    async def wait_closed(self) -> None:
        """Return when the gateway connection ends for good (or raise its error, or
        StartupError when this process stepped down for another that runs its shards)."""
        assert self._connect_task is not None
        await asyncio.shield(self._connect_task)
        if self._stepped_down is not None:
            raise StartupError(f"Stopped: {self._stepped_down}")

    def _step_down(self, reason: str) -> None:
        """Another process runs this one's shards: close the gateway so two never answer
        the same guilds; wait_closed then reports why."""
        self._stepped_down = reason
        if self.bot is not None and not self.bot.is_closed():
            self._stepping_down = asyncio.create_task(self.bot.close(), name="step-down")

    async def stop(self) -> None:
        """Close in reverse order; safe to call more than once or after a failed start."""
        if self._started_task is not None:
            self._started_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._started_task
            self._started_task = None
        if self.purge is not None:
            await self.purge.stop()
            self.purge = None
        if self._web_server is not None:
            await self._web_server.stop()
            self._web_server = None
        if self.bot is not None:
            # Listeners first (a slash command, on_ready's start-up work): they use the
            # cogs' services and the database, which close next.
            await self.bot.stop_events()
            await self.bot.stop_cogs()
            # Unloading runs each cog's cog_unload, which cancels its background work.
            for name in list(self.bot.extensions):
                try:
                    self.bot.unload_extension(name)
                except Exception:
                    log.exception("Unloading %s failed", name)
            if not self.bot.is_closed():
                await self.bot.close()
            # nextcord leaves its own aiohttp session to close(). A button pressed while the
            # cogs stopped still runs its callback (the gateway was open): waited for too.
            await self.bot.stop_events()
            self.bot = None
        if self._connect_task is not None:
            if not self._connect_task.done():
                self._connect_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._connect_task
            self._connect_task = None
        if self.services is not None:
            await self.services.guild_access.drain()  # a listener's last write
            await self.services.cluster.stop()
            await self.services.cache.close()
            await self.services.db.dispose()
            self.services = None
