"""The bot: one nextcord client that loads every package in `cogs/` as an extension."""

from __future__ import annotations

import asyncio
import logging
import pkgutil
import sys
import types
from collections.abc import Sequence
from typing import Any

import nextcord
from nextcord.ext import commands
from nextcord.http import Route

import cogs
from bot.cluster import IDENTIFY_WINDOW
from bot.discord_http import use_corrected_http
from bot.guild_gate import install_guild_gate
from bot.mentions import install_update_default, no_mentions
from bot.ready import install_fast_ready
from bot.services import Services
from bot.startup import StartupWork

log = logging.getLogger(__name__)


COG_STOP_TIMEOUT = 5.0  # seconds a cog's cog_stop may take at shutdown
EVENT_DRAIN_TIMEOUT = 5.0  # seconds event handlers in flight at shutdown may take to finish

# Always loaded: guild approval and sign-in links are the ground every feature stands on.
REQUIRED_FEATURES = frozenset({"admin"})


class UnknownFeature(ValueError):
    """FEATURES names a package that is not in cogs/."""


def discover_extensions() -> list[str]:
    """Every feature package under `cogs/`, in a stable order."""
    return sorted(f"cogs.{m.name}" for m in pkgutil.iter_modules(cogs.__path__) if m.ispkg)


def selected_extensions(features: frozenset[str] | None) -> list[str]:
    """The extensions to load for the FEATURES setting (None: all of them)."""
    available = discover_extensions()
    if features is None:
        return available
    names = {name.removeprefix("cogs.") for name in available}
    unknown = sorted(features - names)
    if unknown:
        raise UnknownFeature(
            f"FEATURES names {', '.join(unknown)}, which is not a feature; "
            f"the features are: {', '.join(sorted(names))}"
        )
    wanted = features | REQUIRED_FEATURES
    return [name for name in available if name.removeprefix("cogs.") in wanted]


def default_intents() -> nextcord.Intents:
    intents = nextcord.Intents.default()
    intents.members = True  # live member data: Manage Server checks, templates
    return intents


# A process that does not lead waits this long, at most, for the leader's command sync.
FOLLOWER_SYNC_TRIES = 30


class FoundryMixin:
    services: Services
    startup: StartupWork
    _gateway_limits: dict[str, Any] | None = None
    _identify_windows: IdentifyWindows
    _event_tasks: set[asyncio.Task[Any]] | None = None
    _events_stopped = False

    def _schedule_event(self, coro: Any, event_name: str, *args: Any, **kwargs: Any) -> Any:
        # nextcord runs every listener in a task of its own and keeps none of them: kept
        # here, so a shutdown can let them finish (or cancel them) before the database
        # closes. A listener started after that would use a closed database: none is.
        if self._events_stopped:
            if event_name == "on_interaction" and coro == getattr(self, "on_interaction", None):
                # A slash command now would get no answer at all: it is told why instead.
                answer = _answer_stopping(args[0])
                return self._keep(asyncio.create_task(answer, name="nextcord: stopping"))
            log.debug("Shutting down: %s not run", event_name)
            return None
        return self._keep(super()._schedule_event(coro, event_name, *args, **kwargs))  # type: ignore[misc]

    def _keep(self, task: asyncio.Task[Any]) -> asyncio.Task[Any]:
        if self._event_tasks is None:
            self._event_tasks = set()
        self._event_tasks.add(task)
        task.add_done_callback(self._event_tasks.discard)
        return task

    async def stop_events(self) -> None:
        """Run no new event handler; give those running, and the component callbacks
        (buttons, selects, modals), EVENT_DRAIN_TIMEOUT seconds to finish, then cancel the
        rest and wait for them to unwind (their transactions roll back)."""
        self._events_stopped = True
        timeout = EVENT_DRAIN_TIMEOUT
        running = set(self._event_tasks or ()) | _component_callbacks(self)
        running.discard(asyncio.current_task())  # type: ignore[arg-type]
        if not running:
            return
        _, late = await asyncio.wait(running, timeout=timeout)
        if late:
            log.warning(
                "Shutting down: cancelling %d event handler(s) still running after %.0f s: %s",
                len(late),
                timeout,
                ", ".join(sorted(task.get_name() for task in late)),
            )
            for task in late:
                task.cancel()
            await asyncio.wait(late)

    async def on_connect(self) -> None:
        # nextcord's on_connect registers the application commands with Discord: only the
        # leader does (bot.cluster); another process learns their ids to run them.
        try:
            if self.services.cluster.is_leader:
                await super().on_connect()  # type: ignore[misc]
            else:
                await self._associate_commands()
        finally:
            self.startup.commands_synced.set()

    async def _associate_commands(self) -> None:
        """Learn the ids of the commands the leader registered, without changing any;
        retried for a while when the leader has not registered them yet."""
        client: Any = self
        client.add_all_application_commands()
        for _ in range(FOLLOWER_SYNC_TRIES):
            await client.sync_application_commands(
                associate_known=True, delete_unknown=False, update_known=False, register_new=False
            )
            unknown = [
                cmd
                for cmd in client.get_all_application_commands()
                if cmd.is_global and None not in cmd.command_ids
            ]
            if not unknown:
                return
            await asyncio.sleep(1.0)
        log.warning("Some slash commands are not registered yet; the leader registers them")

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        # Across processes, one IDENTIFY per max_concurrency bucket per 5 s, claimed in the
        # database; one process alone keeps nextcord's own 5 s between its shards.
        cluster = self.services.cluster
        if shard_id is None or not isinstance(self, commands.AutoShardedBot):
            await super().before_identify_hook(shard_id, initial=initial)  # type: ignore[misc]
            return
        limits = await self._session_start_limit()
        bucket = shard_id % max(1, int(limits.get("max_concurrency", 1)))
        if cluster.enabled:
            waited = await cluster.wait_identify(bucket)
        else:  # every shard here: the windows are this process's own
            waited = await self._identify_windows.wait(bucket)
        if waited:
            log.info("Shard %s waited %.1f s for its identify window", shard_id, waited)

    async def _session_start_limit(self) -> dict[str, Any]:
        if self._gateway_limits is None:
            client: Any = self
            try:
                data = await client.http.request(Route("GET", "/gateway/bot"))
                self._gateway_limits = dict(data.get("session_start_limit") or {})
            except nextcord.HTTPException:
                return {}
        return self._gateway_limits

    def _call_module_finalizers(self, lib: types.ModuleType, key: str) -> None:
        # nextcord's unload (ext/commands/bot.py, Bot._call_module_finalizers, 3.2.0 lines
        # 624-639) forgets every module of the extension, but a feature's `models` module
        # declares its tables on the process-wide `Base`: imported again by the next load,
        # it would declare them twice, which SQLAlchemy refuses. It is kept.
        models = f"{lib.__name__}.models"
        kept = sys.modules.get(models)
        super()._call_module_finalizers(lib, key)  # type: ignore[misc]
        if kept is not None:
            sys.modules[models] = kept

    def load_all_extensions(self: commands.Bot) -> list[str]:  # type: ignore[misc]
        loaded = selected_extensions(self.services.settings.features)
        for name in loaded:
            self.load_extension(name)
        log.info("Loaded extensions: %s", ", ".join(loaded) or "none")
        return loaded

    async def stop_cogs(self: commands.Bot) -> None:  # type: ignore[misc]
        """Await each cog's optional `async cog_stop()` before shutdown: background work that
        holds the database must end while the database is still open (`cog_unload` cannot
        await)."""
        for cog in list(self.cogs.values()):
            stop = getattr(cog, "cog_stop", None)
            if stop is None:
                continue
            try:
                await asyncio.wait_for(stop(), COG_STOP_TIMEOUT)
            except Exception:
                log.exception("Stopping %s failed", type(cog).__name__)


STOPPING_REPLY = "FoundryCord is shutting down; try the command again in a moment."


async def _answer_stopping(interaction: nextcord.Interaction) -> None:
    """Answer a slash command that arrived during shutdown (autocomplete and components
    are not: nextcord sends those elsewhere, and a component's callback still runs)."""
    if interaction.type is not nextcord.InteractionType.application_command:
        return
    try:
        await interaction.response.send_message(
            STOPPING_REPLY, ephemeral=True, allowed_mentions=no_mentions()
        )
    except Exception as exc:  # the HTTP session may be closing too; nothing more to do
        log.debug("Could not answer a command during shutdown: %r", exc)


# nextcord runs a button's, select's or modal's callback in a task of its own, named so
# (nextcord 3.2.0: ui/view.py View._dispatch_item, ui/modal.py Modal._dispatch), with the
# interaction its argument. tests/bot/test_shutdown.py fails if either changes.
COMPONENT_TASK_PREFIXES = ("discord-ui-view-dispatch-", "discord-ui-modal-dispatch-")


def _component_callbacks(client: Any) -> set[asyncio.Task[Any]]:
    """This client's component callbacks running now (their coroutine's `interaction`)."""
    found = set()
    for task in asyncio.all_tasks():
        if task.done() or not task.get_name().startswith(COMPONENT_TASK_PREFIXES):
            continue
        frame = getattr(task.get_coro(), "cr_frame", None)
        interaction = frame.f_locals.get("interaction") if frame is not None else None
        if getattr(interaction, "client", None) is client:
            found.add(task)
    return found


class IdentifyWindows:
    """One process running every shard: one IDENTIFY per max_concurrency bucket per window
    (nextcord's own hook waits 5 s before every shard but the first, whatever the bucket)."""

    def __init__(self, window: float = IDENTIFY_WINDOW) -> None:
        self.window = window
        self._last: dict[int, float] = {}
        self._lock = asyncio.Lock()

    async def wait(self, bucket: int) -> float:
        async with self._lock:
            loop = asyncio.get_running_loop()
            last = self._last.get(bucket)
            pause = 0.0 if last is None else max(0.0, last + self.window - loop.time())
            if pause:
                await asyncio.sleep(pause)
            self._last[bucket] = loop.time()
            return pause


class FoundryBot(FoundryMixin, commands.Bot):
    pass


class ShardedFoundryBot(FoundryMixin, commands.AutoShardedBot):
    pass


def create_bot(
    services: Services,
    *,
    guild_ready_timeout: float = 2.0,
    load_extensions: bool = True,
    extra_extensions: Sequence[str] = (),
) -> FoundryBot | ShardedFoundryBot:
    settings = services.settings
    options = {
        "command_prefix": commands.when_mentioned,
        "intents": default_intents(),
        "help_command": None,
        "guild_ready_timeout": guild_ready_timeout,
        "owner_ids": set(settings.owner_ids),
        # Nothing pings unless a message names what may (bot/mentions.py).
        "allowed_mentions": no_mentions(),
    }
    bot: FoundryBot | ShardedFoundryBot
    if settings.shard_count:
        shard_ids = list(settings.shard_ids) if settings.shard_ids is not None else None
        bot = ShardedFoundryBot(shard_count=settings.shard_count, shard_ids=shard_ids, **options)
    else:
        bot = FoundryBot(**options)
    use_corrected_http(bot)  # nextcord's REST limiter, corrected: see bot/discord_http.py
    # This process's share of the bot's one global REST budget (DISCORD_GLOBAL_RATE).
    bot.http._max_global_requests = settings.discord_global_rate
    install_update_default()  # component updates name what may ping, too
    bot.services = services
    bot._identify_windows = IdentifyWindows()
    bot.startup = StartupWork()
    install_fast_ready(bot)
    install_guild_gate(bot, services.guild_access, bot.startup)
    if load_extensions:
        bot.load_all_extensions()
    for name in extra_extensions:
        bot.load_extension(name)
    return bot
