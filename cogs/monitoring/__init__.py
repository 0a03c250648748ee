"""Host monitoring: collectors, history, alerts, commands, a web page and an agent.

Registers its per-guild setting, the cog, and its web page (a "Monitoring" tab on every
server). The heavy libraries (py3nvml, speedtest-cli, py-cpuinfo) load on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.client import FoundryBot


def setup(bot: FoundryBot) -> None:
    from bot.coalesce import CoalescedMap
    from bot.metrics import METRICS_SERVICE
    from cogs.monitoring import web
    from cogs.monitoring.cog import SETTINGS, SHOW_HOSTS, SHOW_PLAYERS, MonitoringCog
    from cogs.monitoring.games import DEMO_SETTING, parse_demo
    from cogs.monitoring.history import Retention
    from cogs.monitoring.metrics_source import MonitorMetrics
    from cogs.monitoring.monitor import Monitor
    from cogs.monitoring.settings import SETTINGS as ENV

    services = bot.services
    services.settings_registry.register("monitoring", *SETTINGS)
    core = getattr(services, "settings", None)
    if core is None:  # loaded without a database (the extension smoke test)
        bot.add_cog(MonitoringCog(bot, Monitor(None)))  # type: ignore[arg-type]
        return
    settings = core.feature(ENV)
    monitor = Monitor(
        services.db,
        host=settings.monitoring_host,
        interval_s=settings.monitoring_interval,
        retention=Retention.from_setting(settings.monitoring_retention),
        docker_host=settings.docker_host,
        host_proc=settings.host_proc,
        speedtest_every_min=settings.speedtest_interval,
        allow_private_targets=settings.monitoring_allow_private_targets,
        game_interval_s=settings.monitoring_game_interval,
        demo_game=parse_demo(core.extra.get(DEMO_SETTING)),
        **_cluster_roles(services),
    )
    bot.add_cog(MonitoringCog(bot, monitor))

    async def read_show_hosts(guild_id: int) -> bool:
        return bool(await services.guild_settings.get(guild_id, SHOW_HOSTS))

    # every page and chart asks: one read shared by the requests asking at once
    show_hosts = CoalescedMap(read_show_hosts)

    monitor.show_names = show_hosts

    async def show_players(guild_id: int) -> bool:
        return bool(await services.guild_settings.get(guild_id, SHOW_PLAYERS))

    services.provided.provide(
        METRICS_SERVICE, MonitorMetrics(monitor, show_hosts, show_players=show_players)
    )
    services.features.add_web(web.feature_web(monitor, web.BotGuildDirectory(bot)))
    monitor.start()


def _cluster_roles(services) -> dict:  # type: ignore[no-untyped-def]
    """With several bot processes (bot.cluster): each evaluates its own guilds' alerts, one
    samples each host, the leader keeps the history. Nothing when unclustered."""
    cluster = getattr(services, "cluster", None)
    if cluster is None or not cluster.enabled:
        return {}
    return {
        "owns": cluster.owns,
        "is_leader": lambda: cluster.is_leader,
        "claim": cluster.claim,
    }
