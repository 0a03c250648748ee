import dataclasses
from pathlib import Path

import pytest

from bot.cache import MemoryCache
from bot.client import FoundryBot, ShardedFoundryBot, create_bot
from bot.database import Database, create_engine
from bot.discord_http import CorrectedHTTPClient
from bot.guild_access import GuildAccess
from bot.guild_settings import GuildSettingsRegistry, GuildSettingsStore
from bot.logbuffer import LogBuffer
from bot.services import Services
from bot.settings import load_settings


def make_services(tmp_path: Path, **changes) -> Services:  # type: ignore[no-untyped-def]
    settings = dataclasses.replace(load_settings(environ={}, env_file=None), **changes)
    db = Database(create_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"))
    return Services(
        settings=settings,
        db=db,
        cache=MemoryCache(),
        guild_access=GuildAccess(db, auto_approve=False),
        guild_settings=GuildSettingsStore(db, GuildSettingsRegistry()),
        log_buffer=LogBuffer(),
        session_key=b"k" * 32,
    )


async def test_shard_count_makes_an_auto_sharded_bot(tmp_path: Path) -> None:
    services = make_services(tmp_path, shard_count=2)
    bot = create_bot(services)
    try:
        assert isinstance(bot, ShardedFoundryBot)
        assert bot.shard_count == 2
        assert type(bot.http) is CorrectedHTTPClient and bot._connection.http is bot.http
        assert "cogs.admin" in bot.extensions
        assert services.settings_registry.get("web_links").owner == "admin"
    finally:
        await bot.stop_cogs()  # as the runtime does: monitoring's tasks end first
        await bot.close()
        await services.db.dispose()


async def test_without_shard_count_one_connection_and_members_intent(tmp_path: Path) -> None:
    services = make_services(tmp_path)
    bot = create_bot(services)
    try:
        assert type(bot) is FoundryBot
        assert type(bot.http) is CorrectedHTTPClient and bot._connection.http is bot.http
        assert bot.intents.members and bot.intents.guilds
        assert not bot.intents.message_content  # slash commands need no privileged content
    finally:
        await bot.stop_cogs()  # as the runtime does: monitoring's tasks end first
        await bot.close()
        await services.db.dispose()


async def test_startup_settles_after_the_command_sync_and_every_admission() -> None:
    import asyncio

    from bot.startup import StartupWork

    startup = StartupWork()
    release = asyncio.Event()

    async def admission() -> None:
        await release.wait()

    running = asyncio.create_task(startup.run(admission()))
    settled = asyncio.create_task(startup.settled())
    await asyncio.sleep(0.01)
    assert not settled.done()  # neither the sync nor the admission has finished
    startup.commands_synced.set()
    await asyncio.sleep(0.01)
    assert not settled.done()  # the admission still runs
    release.set()
    await asyncio.wait_for(settled, 5)
    await running


def test_features_setting_selects_extensions_and_keeps_admin() -> None:
    from bot.client import UnknownFeature, discover_extensions, selected_extensions

    every = discover_extensions()
    assert selected_extensions(None) == every
    others = [name.removeprefix("cogs.") for name in every if name != "cogs.admin"]
    # Naming one feature loads it and admin, nothing else.
    for name in others:
        assert selected_extensions(frozenset({name})) == sorted(["cogs.admin", f"cogs.{name}"])
    assert selected_extensions(frozenset({"admin"})) == ["cogs.admin"]
    with pytest.raises(UnknownFeature, match="telepathy"):
        selected_extensions(frozenset({"telepathy"}))


async def test_an_unloaded_features_models_module_is_kept_for_the_next_load(
    tmp_path: Path,
) -> None:
    """nextcord forgets an unloaded extension's modules; a feature's tables live on the shared
    metadata, so its models module must be the same one at the next load."""
    import sys

    from bot.client import discover_extensions

    with_models = [
        name for name in discover_extensions() if (Path("cogs") / name[5:] / "models.py").exists()
    ]
    assert with_models, "no feature has models to keep"

    async def load_then_unload(name: str) -> object:
        services = make_services(tmp_path)
        bot = create_bot(services, load_extensions=False)
        try:
            bot.load_extension(name)
            package = sys.modules[name]
            await bot.stop_cogs()
            bot.unload_extension(name)
            return package
        finally:
            await bot.stop_cogs()  # as the runtime does: monitoring's tasks end first
            await bot.close()
            await services.db.dispose()

    for name in with_models:
        package = await load_then_unload(name)
        models = sys.modules.get(f"{name}.models")
        assert models is not None and name not in sys.modules  # the rest is forgotten
        # A restarted bot in the same process: the tables would be declared twice.
        assert await load_then_unload(name) is not package
        assert sys.modules[f"{name}.models"] is models


# Kept out of memory until first used (issue 16): a bot with every feature loaded must not
# have imported these.
LOADED_ON_FIRST_USE = (
    "alembic",  # migrations run in a child process
    "cryptography",
    "redis",  # only with REDIS_URL
    "jsonschema",  # a template document is loaded
    "PIL",  # a chart is drawn
    "cpuinfo",  # /host info asks for the CPU model
    "speedtest",  # a speed test runs
    "py3nvml",  # the GPU collector's first read
    "difflib",  # an unknown metric name is looked up
    "dotenv",  # a .env file is read
    # templates: a preview or an apply plans, checks and runs; a snapshot is taken
    "cogs.templates.plan",
    "cogs.templates.executor",
    "cogs.templates.checks",
    "cogs.templates.snapshot",
    "cogs.templates.api",
    "cogs.templates.discord_template",
)


def test_every_feature_loaded_leaves_the_first_use_libraries_unimported(tmp_path: Path) -> None:
    import subprocess
    import sys

    code = f"""
import asyncio, sys
sys.path.insert(0, {str(Path.cwd())!r})
from tests.bot.test_client import make_services
from bot.client import create_bot
from pathlib import Path

async def main():
    services = make_services(Path({str(tmp_path)!r}))
    bot = create_bot(services)
    assert len(bot.extensions) >= 4, sorted(bot.extensions)
    # Read now: closing the bot unloads its extensions, which forgets their modules.
    loaded = sorted(sys.modules)
    await bot.stop_cogs()
    await bot.stop_cogs()  # as the runtime does: monitoring's tasks end first
    await bot.close()
    await services.db.dispose()
    return loaded

print("\\n".join(asyncio.run(main())))
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    modules = run.stdout.split()
    loaded = set(modules) | {name.split(".")[0] for name in modules}
    assert not loaded & set(LOADED_ON_FIRST_USE), sorted(loaded & set(LOADED_ON_FIRST_USE))
