"""The bot: one nextcord client that loads every package in `cogs/` as an extension."""

from __future__ import annotations

import asyncio
import logging
import pkgutil
import sys
import types
from collections.abc import Sequence

import nextcord
from nextcord.ext import commands

import cogs
from bot.discord_http import use_corrected_http
from bot.guild_gate import install_guild_gate
from bot.mentions import install_update_default, no_mentions
from bot.ready import install_fast_ready
from bot.services import Services
from bot.startup import StartupWork

log = logging.getLogger(__name__)


COG_STOP_TIMEOUT = 5.0  # seconds a cog's cog_stop may take at shutdown

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


class FoundryMixin:
    services: Services
    startup: StartupWork

    async def on_connect(self) -> None:
        # nextcord's on_connect registers the application commands with Discord.
        try:
            await super().on_connect()  # type: ignore[misc]
        finally:
            self.startup.commands_synced.set()

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
        bot = ShardedFoundryBot(shard_count=settings.shard_count, **options)
    else:
        bot = FoundryBot(**options)
    use_corrected_http(bot)  # nextcord's REST limiter, corrected: see bot/discord_http.py
    install_update_default()  # component updates name what may ping, too
    bot.services = services
    bot.startup = StartupWork()
    install_fast_ready(bot)
    install_guild_gate(bot, services.guild_access, bot.startup)
    if load_extensions:
        bot.load_all_extensions()
    for name in extra_extensions:
        bot.load_extension(name)
    return bot
