"""Channel templates: snapshot a server, preview the difference, apply it as a safe,
idempotent, resumable job (slash commands, web pages and `python -m bot template`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.client import FoundryBot


def setup(bot: FoundryBot) -> None:
    from sqlalchemy.orm import configure_mappers

    from cogs.templates.cog import TemplatesCog
    from cogs.templates.drift import DriftService
    from cogs.templates.service import TemplateService
    from cogs.templates.web import feature_web

    configure_mappers()  # now, not in the event loop while the bot is connecting
    service = TemplateService(bot.services.db, bot.http, lambda: bot.user.id)
    cluster = getattr(bot.services, "cluster", None)
    if cluster is not None and cluster.enabled:  # name the runner as the process table does
        service.runner_id = cluster.process_id
    from cogs.templates.settings import SETTINGS

    core = getattr(bot.services, "settings", None)
    drift = DriftService(service, core.feature(SETTINGS) if core is not None else None)
    bot.services.features.add_web(feature_web(service, drift))
    bot.add_cog(TemplatesCog(bot, service, drift))
