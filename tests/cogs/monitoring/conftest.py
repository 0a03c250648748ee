"""Fixtures for the monitoring tests: the real FoundryCord against a sandbox (`foundry`,
from the tests.foundry plugin), and the web editor with the monitoring page registered
(`monitoring_ctx`)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator

import pytest

from bot.guild_objects import ForeignObject
from cogs.monitoring import web as monitoring_web
from cogs.monitoring.cog import SETTINGS, SHOW_HOSTS
from cogs.monitoring.monitor import Monitor
from tests.web.conftest import (  # noqa: F401
    GUILD_ID,
    clock,
    ctx,
    db,
    left_guilds,
    live,
    make_settings,
)
from web.context import WebContext

WEB_HOST = "web-host"
CHANNEL_ID = 123456789012345678
ROLE_ID = 223456789012345678
OTHER_GUILD_CHANNEL_ID = 323456789012345678


class FakeGuildDirectory:
    """The web page's view of the guilds' channels and roles, without a gateway: the test
    guild has #status and @Ops; another guild has a channel of its own."""

    def __init__(self) -> None:
        self.channels = {GUILD_ID: [(CHANNEL_ID, "status")], 1: [(OTHER_GUILD_CHANNEL_ID, "b")]}
        self.role_list = {GUILD_ID: [(ROLE_ID, "Ops")]}

    def text_channels(self, guild_id: int) -> list[tuple[int, str]]:
        return self.channels.get(guild_id, [])

    def roles(self, guild_id: int) -> list[tuple[int, str]]:
        return self.role_list.get(guild_id, [])

    def check_channel(self, guild_id: int, channel_id: int) -> None:
        if channel_id not in dict(self.text_channels(guild_id)):
            raise ForeignObject(f"channel {channel_id} is not a text channel of this server.")

    def check_role(self, guild_id: int, role_id: int) -> None:
        if role_id not in dict(self.roles(guild_id)):
            raise ForeignObject(f"role {role_id} is not a role of this server.")


@pytest.fixture
async def monitor(db) -> AsyncIterator[Monitor]:  # type: ignore[no-untyped-def]  # noqa: F811
    monitor = Monitor(db, host=WEB_HOST, interval_s=10)
    yield monitor
    await monitor.stop()


@pytest.fixture
async def monitoring_ctx(ctx: WebContext, monitor: Monitor) -> WebContext:  # noqa: F811

    ctx.guild_settings.registry.register("monitoring", *SETTINGS)

    async def show_names(guild_id: int) -> bool:
        return bool(await ctx.guild_settings.get(guild_id, SHOW_HOSTS))

    monitor.show_names = show_names
    now = time.time()
    await monitor.ingest(WEB_HOST, now - 20, {"cpu.percent": 12.5, "mem.percent": 40.0})
    await monitor.ingest(WEB_HOST, now - 10, {"cpu.percent": 55.0, "mem.percent": 41.0})
    part = monitoring_web.feature_web(monitor, FakeGuildDirectory())
    assert part.templates is not None and part.static is not None
    return dataclasses.replace(
        ctx,
        extra_routes=list(part.routes),
        template_dirs=[part.templates],
        static_dirs={part.name: part.static},
        guild_tabs=list(part.guild_tabs),
        app_keys=dict(part.app_keys),
        token_paths=frozenset(part.token_paths),
    )
