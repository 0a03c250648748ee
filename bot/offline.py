"""Offline mode: no DISCORD_TOKEN, so the bot runs against the local sandbox (a
Discord-compatible server on loopback) with a demo guild. The only place in `bot/` that
imports the sandbox.

The sandbox's world (guild, channels, roles, members, messages, registered commands) is
saved in `DATA_DIR/sandbox_world.json` as it changes and at shutdown, and loaded at the next
offline start, so a restart looks like one on Discord: same guild, same ids."""

from __future__ import annotations

import contextlib
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from bot.runtime import WebExtras
from bot.settings import Settings

WORLD_FILE = "sandbox_world.json"


def world_path(settings: Settings) -> Path:
    """Where the offline sandbox's world is saved."""
    return settings.data_dir / WORLD_FILE


@dataclass
class OfflineSession:
    sandbox: object | None  # the in-process SandboxServer, or None for an external one
    settings: Settings
    token: str
    web_extras: WebExtras
    saver: object | None = None  # sandbox.world_file.WorldSaver, when the world is saved
    restored: bool = False  # True when the saved world was loaded
    game_server: object | None = None  # sandbox.game_servers.A2SServer of the demo world

    async def stop(self) -> None:
        """Stop the sandbox, then save its final world (so nothing changes after)."""
        if self.game_server is not None:
            await self.game_server.stop()  # type: ignore[attr-defined]
        if self.sandbox is not None:
            await self.sandbox.stop()  # type: ignore[attr-defined]
        if self.saver is not None:
            await self.saver.close()  # type: ignore[attr-defined]


async def start_offline(
    settings: Settings,
    *,
    record: Path | None = None,
    sandbox_url: str | None = None,
    spec_path: Path | None = None,
) -> OfflineSession:
    """Start the sandbox with the world saved in DATA_DIR, or else the demo guild (or use
    the sandbox at `sandbox_url`), and point nextcord at it. The demo guild's owner becomes
    a bot owner, and guilds are approved at once, so everything can be tried straight away.
    `spec_path` turns on validation of all traffic against Discord's OpenAPI spec (tests)."""
    from sandbox.client import point_nextcord_at

    if sandbox_url is not None:
        if settings.discord_token is None:
            raise ValueError("--sandbox-url needs DISCORD_TOKEN set to that sandbox's token")
        point_nextcord_at(sandbox_url.rstrip("/") + "/api/v10")
        return OfflineSession(None, settings, settings.discord_token.get(), _web_extras(None))

    from sandbox.demo import DEMO, DEMO_OWNER
    from sandbox.event_log import LONG_RUNNING_LIMIT
    from sandbox.server import SandboxServer
    from sandbox.world_file import WorldSaver, load_saved_world

    server = SandboxServer(
        port=settings.sandbox_port,
        record_path=record,
        spec_path=spec_path,
        log_limit=LONG_RUNNING_LIMIT,  # --record writes every entry to the file regardless
    )
    await server.start()
    path = world_path(settings)
    loaded = load_saved_world(server, path)
    if not loaded.restored:
        server.load(DEMO)
    saver = None
    if loaded.writable:
        saver = WorldSaver(server, path)
        saver.attach()
        if not loaded.restored:
            await saver.save()  # a fresh world is on disk from the start
    point_nextcord_at(server)
    owner_ids = set(settings.owner_ids)
    with contextlib.suppress(KeyError):  # a saved world without the demo owner
        owner_ids.add(server.state.find_user(DEMO_OWNER).id)
    game = await _demo_game_server()
    extra = {**settings.extra, "demo_game_server": f"127.0.0.1:{game.port}"}
    settings = dataclasses.replace(
        settings, owner_ids=frozenset(owner_ids), auto_approve=True, extra=extra
    )
    return OfflineSession(
        server, settings, server.token, _web_extras(server), saver, loaded.restored, game
    )


async def _demo_game_server():  # type: ignore[no-untyped-def]
    """A game server of the demo world on loopback (A2S on 27015 when free), which monitoring
    lists in the demo server (cogs/monitoring/games.py: DEMO_SETTING)."""
    from sandbox.game_servers import A2SServer, GameState

    state = GameState(name="Foundry Homelab CS2", players=["alice", "bob", "carol"])
    try:
        return await A2SServer(state).start(27015)
    except OSError:  # taken: any free port
        return await A2SServer(state).start()


def saved_owner_ids(settings: Settings) -> frozenset[int]:
    """The owner `start_offline` adds: the demo owner of the sandbox world saved in
    DATA_DIR (empty when there is none, or it cannot be read). For `python -m bot signin`,
    which runs beside the offline bot and must sign in the same owner."""
    from sandbox.demo import DEMO_OWNER
    from sandbox.server import SandboxServer
    from sandbox.world_file import install_world, parse_world

    try:
        world = parse_world(world_path(settings).read_text(encoding="utf-8"))
        server = SandboxServer(spec_path=None)  # never started: only its state is read
        install_world(server, world)
        return frozenset({server.state.find_user(DEMO_OWNER).id})
    except Exception:  # no world, an unreadable one, or no demo owner in it
        return frozenset()


def reset_saved_world(settings: Settings) -> bool:
    """Delete the saved sandbox world, so the next offline start builds a fresh demo world;
    True if there was one."""
    from sandbox.world_file import remove_world

    return remove_world(world_path(settings))


def _web_extras(server: object | None) -> WebExtras:
    if server is None:
        return WebExtras(offline=True)
    try:
        from sandbox.page import SANDBOX_KEY, TEMPLATES, routes
    except ImportError:  # the Sandbox page is optional
        return WebExtras(offline=True)
    return WebExtras(
        routes=[routes],
        nav_links=[("Sandbox", "/sandbox")],
        app_keys={SANDBOX_KEY: server},
        template_dirs=[TEMPLATES],
        offline=True,
    )
