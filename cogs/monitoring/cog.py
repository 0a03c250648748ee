"""Slash commands and alert delivery for monitoring: /status, /system, /gpu, /containers,
/services, /speedtest and /alert add|list|remove. The logic lives in the other modules."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import nextcord
from nextcord.ext import commands

from bot.guild_settings import SettingSpec
from bot.mentions import no_mentions
from cogs.monitoring import render
from cogs.monitoring.alert_store import PendingEvent
from cogs.monitoring.alerts import COMPARISONS, SEVERITIES, RuleError, validate_rule
from cogs.monitoring.collectors.system import cpu_model, top_processes
from cogs.monitoring.config_store import check_of
from cogs.monitoring.hosts import HostNames
from cogs.monitoring.monitor import Monitor
from cogs.monitoring.speedtest import SpeedtestError

if TYPE_CHECKING:
    from bot.client import FoundryBot

log = logging.getLogger(__name__)

SHOW_HOSTS = "monitoring_show_hosts"
SETTINGS = (
    SettingSpec(
        name=SHOW_HOSTS,
        label="Show host names and addresses",
        type="bool",
        default=False,
        help="Show real host names and service addresses in monitoring commands and alerts "
        "(hidden by default: hosts appear as host 1, host 2, ...).",
    ),
)
NEED_MANAGE = "You need the Manage Server permission to change monitoring here."
SPARK_METRICS = ("cpu.percent", "mem.percent")


def can_manage(interaction: nextcord.Interaction) -> bool:
    user = interaction.user
    return isinstance(user, nextcord.Member) and user.guild_permissions.manage_guild


class PagesView(nextcord.ui.View):
    """Previous/next buttons over a list of embeds, for the member who asked."""

    def __init__(self, pages: list[nextcord.Embed], owner_id: int) -> None:
        super().__init__(timeout=300)
        self.pages = pages
        self.owner_id = owner_id
        self.index = 0
        self.message: nextcord.Message | None = None
        self._sync()

    def _sync(self) -> None:
        self.previous.disabled = self.index == 0
        self.next.disabled = self.index >= len(self.pages) - 1

    async def interaction_check(self, interaction: nextcord.Interaction) -> bool:
        if interaction.user is None or interaction.user.id != self.owner_id:
            await interaction.response.send_message(
                "These pages belong to whoever ran /system; run it yourself.", ephemeral=True
            )
            return False
        return True

    async def _show(self, interaction: nextcord.Interaction, step: int) -> None:
        self.index = max(0, min(len(self.pages) - 1, self.index + step))
        self._sync()
        await interaction.response.edit_message(embed=self.pages[self.index], view=self)

    @nextcord.ui.button(label="Previous", style=nextcord.ButtonStyle.secondary)
    async def previous(self, _: nextcord.ui.Button, interaction: nextcord.Interaction) -> None:
        await self._show(interaction, -1)

    @nextcord.ui.button(label="Next", style=nextcord.ButtonStyle.primary)
    async def next(self, _: nextcord.ui.Button, interaction: nextcord.Interaction) -> None:
        await self._show(interaction, 1)

    async def on_timeout(self) -> None:
        for child in self.children:
            child.disabled = True  # type: ignore[attr-defined]
        if self.message is not None:
            with contextlib.suppress(nextcord.HTTPException):
                await self.message.edit(view=self)


class MonitoringCog(commands.Cog):
    def __init__(self, bot: FoundryBot, monitor: Monitor) -> None:
        self.bot = bot
        self.monitor = monitor
        monitor.notify = self.deliver
        self._stopping: asyncio.Task[None] | None = None

    async def cog_stop(self) -> None:
        """Called by the runtime before shutdown (see bot.client.FoundryMixin.stop_cogs)."""
        from bot.metrics import METRICS_SERVICE
        from cogs.monitoring.metrics_source import MonitorMetrics

        offered = self.bot.services.provided.get(METRICS_SERVICE)
        if isinstance(offered, MonitorMetrics):
            await offered.close()
        await self.monitor.stop()

    def cog_unload(self) -> None:
        # Unloaded without the runtime's stop (a reload): stop in the background.
        if self.monitor._tasks:
            self._stopping = asyncio.get_running_loop().create_task(self.monitor.stop())

    # --- helpers --------------------------------------------------------------------
    async def _reading(
        self, interaction: nextcord.Interaction, host: str | None
    ) -> tuple[str, HostNames, tuple[float, dict[str, float]]] | None:
        """The host a command asked for, its names, and its newest sample; None when the
        interaction was already answered (unknown host, no sample yet)."""
        picked = await self._host(interaction, host)
        if picked is None:
            return None
        name, names = picked
        found = await self._latest(interaction, name, names.label(name))
        if found is None:
            return None
        return name, names, found

    async def _collector_reading(
        self, interaction: nextcord.Interaction, host: str | None, collector: str
    ) -> tuple[str, dict[str, float], Any, str | None] | None:
        """(host label, newest metrics, the collector's details, why it gave none) for a
        command about one collector; None when the interaction was already answered."""
        reading = await self._reading(interaction, host)
        if reading is None:
            return None
        name, names, found = reading
        local = self.monitor.sampler.latest if name == self.monitor.host else None
        info = local.info.get(collector) if local else None
        reason = local.status.get(collector) if local else None
        return names.label(name), found[1], info, reason

    async def _names(self, guild_id: int | None) -> HostNames:
        """The hosts this server may see and how it names them (Monitor.names)."""
        return await self.monitor.names(guild_id)

    async def _host(
        self, interaction: nextcord.Interaction, given: str | None
    ) -> tuple[str, HostNames] | None:
        names = await self._names(interaction.guild_id)
        host = names.resolve(given, names.keys[0] if names.keys else None)
        if host is None:
            shown = ", ".join(names.label(h) for h in names.keys) or "none"
            what = f"No host called {given!r}" if given else "No host reports to this server"
            await interaction.response.send_message(
                f"{what}. Hosts: {shown}.",
                ephemeral=True,
                allowed_mentions=no_mentions(),
            )
            return None
        return host, names

    async def _sparks(self, host: str) -> dict[str, str]:
        now = self.monitor.clock()
        out = {}
        for metric in SPARK_METRICS:
            series = await self.monitor.history.query(host, metric, now - 3600, now, now=now)
            out[metric] = render.sparkline([p[1] for p in series.points])
        return out

    async def _latest(self, interaction: nextcord.Interaction, host: str, label: str):  # type: ignore[no-untyped-def]
        found = await self.monitor.latest(host)
        if found is None:
            await interaction.response.send_message(
                f"No samples from {label} yet; try again in a few seconds.", ephemeral=True
            )
        return found

    # --- read-only commands ---------------------------------------------------------
    @nextcord.slash_command(name="status", description="The host's health in one embed.")
    async def status(
        self,
        interaction: nextcord.Interaction,
        host: str = nextcord.SlashOption(description="Host (default: this bot's)", required=False),
    ) -> None:
        reading = await self._reading(interaction, host)
        if reading is None:
            return
        host, names, found = reading
        ts, metrics = found
        local = self.monitor.sampler.latest
        status = local.status if local is not None and host == self.monitor.host else None
        embed = render.status_embed(
            names.label(host), ts, metrics, await self._sparks(host), status
        )
        await interaction.response.send_message(embed=embed)

    @nextcord.slash_command(name="system", description="Detailed host metrics, in pages.")
    async def system(
        self,
        interaction: nextcord.Interaction,
        host: str = nextcord.SlashOption(description="Host (default: this bot's)", required=False),
    ) -> None:
        reading = await self._reading(interaction, host)
        if reading is None:
            return
        host, names, found = reading
        await interaction.response.defer()
        local = host == self.monitor.host
        cpu = await asyncio.to_thread(cpu_model) if local else None
        processes = await asyncio.to_thread(top_processes, 5, 0.5) if local else None
        pages = render.system_pages(
            names.label(host), found[1], cpu, await self._sparks(host), processes
        )
        view = PagesView(pages, interaction.user.id)
        view.message = await interaction.followup.send(embed=pages[0], view=view, wait=True)

    @nextcord.slash_command(name="gpu", description="NVIDIA GPU utilisation, memory, heat.")
    async def gpu(
        self,
        interaction: nextcord.Interaction,
        host: str = nextcord.SlashOption(description="Host (default: this bot's)", required=False),
    ) -> None:
        shown = await self._collector_reading(interaction, host, "gpu")
        if shown is not None:
            label, metrics, info, reason = shown
            embed = render.gpu_embed(label, metrics, info, reason)
            await interaction.response.send_message(embed=embed)

    @nextcord.slash_command(name="containers", description="Docker containers on the host.")
    async def containers(
        self,
        interaction: nextcord.Interaction,
        host: str = nextcord.SlashOption(description="Host (default: this bot's)", required=False),
    ) -> None:
        shown = await self._collector_reading(interaction, host, "docker")
        if shown is not None:
            label, metrics, info, reason = shown
            embed = render.containers_embed(label, info, metrics, reason)
            await interaction.response.send_message(embed=embed)

    @nextcord.slash_command(name="services", description="This server's service checks.")
    async def services(self, interaction: nextcord.Interaction) -> None:
        guild_id = interaction.guild_id
        if guild_id is None:
            await interaction.response.send_message("Run this in a server.", ephemeral=True)
            return
        checks = [check_of(row) for row in await self.monitor.config.checks(guild_id)]
        local = self.monitor.sampler.latest
        metrics = local.metrics if local else {}
        details = {
            row["id"]: row["detail"]
            for row in (local.info.get("services", {}).get("services", []) if local else [])
        }
        show = bool(await self.bot.services.guild_settings.get(guild_id, SHOW_HOSTS))
        embed = render.services_embed(checks, metrics, details, show_addresses=show)
        await interaction.response.send_message(embed=embed)

    @nextcord.slash_command(name="speedtest", description="Measure this host's internet speed.")
    async def speedtest(self, interaction: nextcord.Interaction) -> None:
        if not can_manage(interaction):
            await interaction.response.send_message(
                "You need the Manage Server permission to run a speedtest.", ephemeral=True
            )
            return
        if self.monitor.speedtest.running:
            await interaction.response.send_message(
                "A speedtest is already running; wait for its result.", ephemeral=True
            )
            return
        await interaction.response.defer()
        try:
            result = await self.monitor.speedtest.run()
        except SpeedtestError as exc:
            await interaction.followup.send(str(exc))
            return
        await interaction.followup.send(embed=render.speedtest_embed(result))

    # --- alerts ---------------------------------------------------------------------
    @nextcord.slash_command(name="alert", description="Threshold alerts on host metrics.")
    async def alert(self, interaction: nextcord.Interaction) -> None:
        """Parent of /alert add|list|remove."""

    @alert.subcommand(name="add", description="Alert a channel when a metric crosses a limit.")
    async def alert_add(
        self,
        interaction: nextcord.Interaction,
        metric: str = nextcord.SlashOption(description="e.g. cpu.percent, mem.percent"),
        comparison: str = nextcord.SlashOption(description="How to compare", choices=COMPARISONS),
        threshold: float = nextcord.SlashOption(description="The limit"),
        channel: nextcord.abc.GuildChannel = nextcord.SlashOption(  # noqa: B008
            description="Where alerts go", channel_types=[nextcord.ChannelType.text]
        ),
        duration: int = nextcord.SlashOption(
            description="Seconds the condition must hold (default 0)", required=False, default=0
        ),
        cooldown: int = nextcord.SlashOption(
            description="Seconds between two alerts (default 300)", required=False, default=300
        ),
        severity: str = nextcord.SlashOption(
            description="Severity", choices=SEVERITIES, required=False, default="warning"
        ),
        host: str = nextcord.SlashOption(description="Host (default: this bot's)", required=False),
        role: nextcord.Role = nextcord.SlashOption(description="Role to mention", required=False),  # noqa: B008
        hysteresis: float = nextcord.SlashOption(
            description="Margin to recover (default 5 % of the threshold)", required=False
        ),
    ) -> None:
        if not can_manage(interaction):
            await interaction.response.send_message(NEED_MANAGE, ephemeral=True)
            return
        picked = await self._host(interaction, host)
        if picked is None:
            return
        real_host, names = picked
        known = set(await self.monitor.history.known_metrics())
        local = self.monitor.sampler.latest
        if local is not None:
            known |= set(local.metrics)
        try:
            rule, level = validate_rule(
                metric=metric,
                comparison=comparison,
                threshold=threshold,
                known_metrics=known,
                duration_s=duration,
                cooldown_s=cooldown,
                hysteresis=hysteresis,
                severity=severity,
            )
        except RuleError as exc:
            await interaction.response.send_message(
                f"Not added. {exc.field}: {exc.message}", ephemeral=True
            )
            return
        row = await self.monitor.alerts.add(
            interaction.guild_id,
            rule,
            host=real_host,
            severity=level,
            channel_id=channel.id,
            role_id=role.id if role else None,
            created_by=interaction.user.id,
        )
        await interaction.response.send_message(
            f"Alert #{row.id} added: {rule.metric} {rule.comparison} {rule.threshold:g} on "
            f"{names.label(real_host)}, in {channel.mention}.",
            ephemeral=True,
        )

    @alert.subcommand(name="list", description="This server's alert rules.")
    async def alert_list(self, interaction: nextcord.Interaction) -> None:
        rules = await self.monitor.alerts.list(interaction.guild_id)
        names = await self._names(interaction.guild_id)
        if not rules:
            await interaction.response.send_message("No alert rules yet.", ephemeral=True)
            return
        lines = [
            f"#{r.id} **{r.metric}** {r.comparison} {r.threshold:g} on {names.label(r.host)} "
            f"→ <#{r.channel_id}> · {r.severity} · {r.state}"
            for r in rules
        ]
        await interaction.response.send_message("\n".join(lines)[:2000], ephemeral=True)

    @alert.subcommand(name="remove", description="Delete an alert rule.")
    async def alert_remove(
        self,
        interaction: nextcord.Interaction,
        rule_id: int = nextcord.SlashOption(name="id", description="The rule's number"),
    ) -> None:
        if not can_manage(interaction):
            await interaction.response.send_message(NEED_MANAGE, ephemeral=True)
            return
        removed = await self.monitor.alerts.remove(interaction.guild_id, rule_id)
        text = f"Alert #{rule_id} removed." if removed else f"This server has no alert #{rule_id}."
        await interaction.response.send_message(text, ephemeral=True)

    # --- delivery -------------------------------------------------------------------
    async def deliver(self, event: PendingEvent) -> bool:
        """Send one alert or recovery; True once it needs no retry."""
        rule = event.rule
        channel = self.bot.get_channel(rule.channel_id)
        if not isinstance(channel, nextcord.TextChannel):
            log.warning("Alert #%s: channel %s is gone; dropped", rule.id, rule.channel_id)
            return True
        names = await self._names(rule.guild_id)
        embed = render.alert_embed(event.kind, rule, names.label(rule.host), event.value, event.at)
        content = None
        mentions = nextcord.AllowedMentions.none()
        if rule.role_id and event.kind == "fire":
            content = f"<@&{rule.role_id}>"
            mentions = nextcord.AllowedMentions(roles=[nextcord.Object(rule.role_id)])
        try:
            await channel.send(content=content, embed=embed, allowed_mentions=mentions)
        except (nextcord.Forbidden, nextcord.NotFound) as exc:
            log.warning("Alert #%s cannot be sent to %s (%s); dropped", rule.id, channel.id, exc)
            return True
        except nextcord.HTTPException as exc:
            log.warning("Alert #%s not sent (%s); retrying next tick", rule.id, exc)
            return False
        return True
