"""Offline mode: no DISCORD_TOKEN, so the bot runs against the local sandbox (a
Discord-compatible server on loopback) with a demo guild. The only place in `bot/` that
imports the sandbox."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from bot.runtime import WebExtras
from bot.settings import Settings


@dataclass
class OfflineSession:
    sandbox: object | None  # the in-process SandboxServer, or None for an external one
    settings: Settings
    token: str
    web_extras: WebExtras

    async def stop(self) -> None:
        if self.sandbox is not None:
            await self.sandbox.stop()  # type: ignore[attr-defined]


async def start_offline(
    settings: Settings,
    *,
    record: Path | None = None,
    sandbox_url: str | None = None,
    spec_path: Path | None = None,
) -> OfflineSession:
    """Start the sandbox with the demo guild (or use the one at `sandbox_url`) and point
    nextcord at it. The demo guild's owner becomes a bot owner, and guilds are approved
    at once, so everything can be tried straight away. `spec_path` turns on validation of
    all traffic against Discord's OpenAPI spec (tests)."""
    from sandbox.client import point_nextcord_at

    if sandbox_url is not None:
        if settings.discord_token is None:
            raise ValueError("--sandbox-url needs DISCORD_TOKEN set to that sandbox's token")
        point_nextcord_at(sandbox_url.rstrip("/") + "/api/v10")
        return OfflineSession(None, settings, settings.discord_token.get(), _web_extras(None))

    from sandbox.demo import DEMO, DEMO_OWNER
    from sandbox.server import SandboxServer

    server = SandboxServer(port=settings.sandbox_port, record_path=record, spec_path=spec_path)
    await server.start()
    server.load(DEMO)
    point_nextcord_at(server)
    owner_id = server.state.find_user(DEMO_OWNER).id
    settings = dataclasses.replace(
        settings, owner_ids=settings.owner_ids | {owner_id}, auto_approve=True
    )
    return OfflineSession(server, settings, server.token, _web_extras(server))


def _web_extras(server: object | None) -> WebExtras:
    if server is None:
        return WebExtras()
    try:
        from sandbox.page import SANDBOX_KEY, TEMPLATES, routes
    except ImportError:  # the Sandbox page is optional
        return WebExtras()
    return WebExtras(
        routes=[routes],
        nav_links=[("Sandbox", "/sandbox")],
        app_keys={SANDBOX_KEY: server},
        template_dirs=[TEMPLATES],
    )
