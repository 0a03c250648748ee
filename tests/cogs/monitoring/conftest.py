"""Fixtures for the monitoring tests: the real FoundryCord against a sandbox (`foundry`,
from the tests.foundry plugin), and the web editor with the monitoring page registered
(`monitoring_ctx`)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator

import pytest

from cogs.monitoring import HERE
from cogs.monitoring import web as monitoring_web
from cogs.monitoring.cog import SETTINGS
from cogs.monitoring.monitor import Monitor
from tests.web.conftest import clock, ctx, db, left_guilds, live, make_settings  # noqa: F401
from web.context import WebContext

WEB_HOST = "web-host"


@pytest.fixture
async def monitor(db) -> AsyncIterator[Monitor]:  # type: ignore[no-untyped-def]  # noqa: F811
    monitor = Monitor(db, host=WEB_HOST, interval_s=10)
    yield monitor
    await monitor.stop()


@pytest.fixture
async def monitoring_ctx(ctx: WebContext, monitor: Monitor) -> WebContext:  # noqa: F811
    from bot.features import GuildTab

    ctx.guild_settings.registry.register("monitoring", *SETTINGS)
    now = time.time()
    await monitor.ingest(WEB_HOST, now - 20, {"cpu.percent": 12.5, "mem.percent": 40.0})
    await monitor.ingest(WEB_HOST, now - 10, {"cpu.percent": 55.0, "mem.percent": 41.0})
    return dataclasses.replace(
        ctx,
        extra_routes=[monitoring_web.routes],
        template_dirs=[HERE / "templates"],
        static_dirs={"monitoring": HERE / "static"},
        guild_tabs=[GuildTab("Monitoring", "monitoring")],
        app_keys={monitoring_web.MONITOR_KEY: monitor},
        token_paths=frozenset({monitoring_web.INGEST_PATH}),
    )
