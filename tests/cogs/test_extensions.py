"""Every package in cogs/ loads as an extension, and no two define the same command."""

from collections import Counter
from types import SimpleNamespace

import nextcord
from nextcord.ext import commands

from bot.client import discover_extensions
from bot.features import FeatureRegistry, FeatureServices
from bot.guild_settings import GuildSettingsRegistry


async def test_every_extension_loads_and_command_names_are_unique() -> None:
    extensions = discover_extensions()
    assert "cogs.admin" in extensions
    bot = commands.Bot(intents=nextcord.Intents.none())
    registry = GuildSettingsRegistry()
    # what setup() may use: settings, web contributions, services, the database (not opened)
    bot.services = SimpleNamespace(
        settings_registry=registry,
        features=FeatureRegistry(),
        provided=FeatureServices(),
        db=None,
    )
    for name in extensions:
        bot.load_extension(name)
    names = Counter(
        (command.name, tuple(getattr(command, "guild_ids", ()) or ()))
        for command in bot.get_all_application_commands()
    )
    duplicates = [name for name, count in names.items() if count > 1]
    assert duplicates == []
    assert {"guild", "web"} <= {name for name, _ in names}
    # every registered per-guild setting validates its own default
    for spec in registry.specs():
        raw = {True: "on", False: "off", None: ""}.get(spec.default, str(spec.default))
        assert registry.validate(spec.name, raw) == spec.default, spec.name
