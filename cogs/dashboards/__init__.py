"""Dashboards: messages the bot keeps current, from one layout model (see layout.py),
rendered within Discord's limits (render.py) and refreshed by one scheduler
(scheduler.py); `/dashboard` commands and a per-server web editor."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.features import ServiceKey
from cogs.dashboards.cog import DashboardsCog
from cogs.dashboards.service import DashboardService

if TYPE_CHECKING:
    from bot.client import FoundryBot

DASHBOARDS_SERVICE: ServiceKey[DashboardService] = ServiceKey("dashboards")


def setup(bot: FoundryBot) -> None:
    from cogs.dashboards.web import feature_web

    service = DashboardService(bot)
    bot.services.provided.provide(DASHBOARDS_SERVICE, service)
    bot.services.features.add_web(feature_web(service))
    bot.add_cog(DashboardsCog(bot, service))
