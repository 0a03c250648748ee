"""The bot: one nextcord client that loads every package in `cogs/` as an extension."""

from __future__ import annotations

import logging
import pkgutil
from collections.abc import Sequence

import nextcord
from nextcord.ext import commands

import cogs
from bot.guild_gate import install_guild_gate
from bot.services import Services

log = logging.getLogger(__name__)


def discover_extensions() -> list[str]:
    """Every feature package under `cogs/`, in a stable order."""
    return sorted(f"cogs.{m.name}" for m in pkgutil.iter_modules(cogs.__path__) if m.ispkg)


def default_intents() -> nextcord.Intents:
    intents = nextcord.Intents.default()
    intents.members = True  # live member data: Manage Server checks, templates
    return intents


class FoundryMixin:
    services: Services

    def load_all_extensions(self: commands.Bot) -> list[str]:  # type: ignore[misc]
        loaded = discover_extensions()
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
                await stop()
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
    }
    bot: FoundryBot | ShardedFoundryBot
    if settings.shard_count:
        bot = ShardedFoundryBot(shard_count=settings.shard_count, **options)
    else:
        bot = FoundryBot(**options)
    bot.services = services
    install_guild_gate(bot)

    async def on_ready() -> None:
        log.info("Ready as %s in %d guild(s)", bot.user, len(bot.guilds))

    bot.add_listener(on_ready, "on_ready")
    if load_extensions:
        bot.load_all_extensions()
    for name in extra_extensions:
        bot.load_extension(name)
    return bot
