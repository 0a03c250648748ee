"""Slash commands and alert delivery for monitoring: /status, /system, /gpu, /containers,
/services, /speedtest and /alert add|list|remove. The logic lives in the other modules."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

import nextcord
from nextcord.ext import commands
from nextcord.http import Route

from bot import checks, guild_objects, mentions
from bot.answers import answer
from bot.errors import UserError
from bot.guild_settings import SettingSpec
from cogs.monitoring import render
from cogs.monitoring.alert_store import PendingEvent, TooManyRules
from cogs.monitoring.alerts import COMPARISONS, SEVERITIES, RuleError, validate_rule
from cogs.monitoring.collectors.system import cpu_model, top_processes
from cogs.monitoring.config_store import GameServerLimit, check_of
from cogs.monitoring.delivery import Outcome
from cogs.monitoring.games import PROTOCOLS, GameServerError, games_host_key
from cogs.monitoring.hosts import HostNames
from cogs.monitoring.monitor import Monitor
from cogs.monitoring.speedtest import SpeedtestError

if TYPE_CHECKING:
    from bot.client import FoundryBot

log = logging.getLogger(__name__)

SHOW_HOSTS = "monitoring_show_hosts"
SHOW_PLAYERS = "monitoring_show_players"
SETTINGS = (
    SettingSpec(
        name=SHOW_HOSTS,
        label="Show host names and addresses",
        type="bool",
        default=False,
        help="Show real host names and service addresses in monitoring commands and alerts "
        "(hidden by default: hosts appear as host 1, host 2, ...).",
    ),
    SettingSpec(
        name=SHOW_PLAYERS,
        label="Show game server player names",
        type="bool",
        default=False,
        help="Show the names of the players on this server's game servers in dashboards "
        "(hidden by default: only the counts are shown).",
    ),
)
SPARK_METRICS = ("cpu.percent", "mem.percent")
# The `host` option of the host commands (nextcord only reads an option, so one serves all).
HOST = nextcord.SlashOption(description="Host (default: this bot's)", required=False)
RULE_ID = nextcord.SlashOption(name="id", description="The rule's number")


def _given_id(interaction: nextcord.Interaction, name: str) -> str | None:
    """The raw id an option carried: nextcord turns an id it cannot find in this guild into
    None, which would read as "not given" instead of "another server's"."""
    options = (interaction.data or {}).get("options") or []
    while options:
        nested = [o for o in options if o.get("type") in (1, 2)]  # subcommand (group)
        for option in options:
            if option.get("name") == name and option.get("type") not in (1, 2):
                return str(option.get("value"))
        options = nested[0].get("options") or [] if nested else []
    return None


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
            await answer(interaction, "These pages belong to whoever ran /system; run it yourself.")
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

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        """Offline: the demo world's game server in each server that has none."""
        if self.monitor.demo_game is None:
            return
        for attempt in range(10):  # the guilds' own rows may still be on their way
            try:
                await self.monitor.ensure_demo_game([guild.id for guild in self.bot.guilds])
                return
            except Exception:
                if attempt == 9:
                    log.exception("Could not add the demo game server")
                await asyncio.sleep(1)

    # --- helpers --------------------------------------------------------------------
    async def _reading(
        self, interaction: nextcord.Interaction, host: str | None
    ) -> tuple[str, HostNames, tuple[float, dict[str, float]]]:
        """The host a command asked for, its names, and its newest sample; UserError for an
        unknown host or one with no sample yet."""
        name, names = await self._host(interaction, host)
        found = await self.monitor.latest(name)
        if found is None:
            raise UserError(f"No samples from {names.label(name)} yet; try again in a few seconds.")
        return name, names, found

    async def _collector_reading(
        self, interaction: nextcord.Interaction, host: str | None, collector: str
    ) -> tuple[str, dict[str, float], Any, str | None]:
        """(host label, newest metrics, the collector's details, why it gave none) for a
        command about one collector."""
        name, names, found = await self._reading(interaction, host)
        local = self.monitor.sampler.latest if name == self.monitor.host else None
        info = local.info.get(collector) if local else None
        reason = local.status.get(collector) if local else None
        return names.label(name), found[1], info, reason

    async def _names(self, guild_id: int | None) -> HostNames:
        """The hosts this server may see and how it names them (Monitor.names)."""
        return await self.monitor.names(guild_id)

    async def _host(
        self, interaction: nextcord.Interaction, given: str | None
    ) -> tuple[str, HostNames]:
        names = await self._names(interaction.guild_id)
        host = names.resolve(given, names.keys[0] if names.keys else None)
        if host is None:
            shown = ", ".join(names.label(h) for h in names.keys) or "none"
            what = f"No host called {given!r}" if given else "No host reports to this server"
            raise UserError(f"{what}. Hosts: {shown}.")
        return host, names

    async def _sparks(self, host: str) -> dict[str, str]:
        now = self.monitor.clock()
        out = {}
        for metric in SPARK_METRICS:
            series = await self.monitor.history.query(host, metric, now - 3600, now, now=now)
            out[metric] = render.sparkline([p[1] for p in series.points])
        return out

    # --- read-only commands ---------------------------------------------------------
    @nextcord.slash_command(name="status", description="The host's health in one embed.")
    async def status(self, interaction: nextcord.Interaction, host: str = HOST) -> None:
        host, names, found = await self._reading(interaction, host)
        ts, metrics = found
        local = self.monitor.sampler.latest
        status = local.status if local is not None and host == self.monitor.host else None
        embed = render.status_embed(
            names.label(host), ts, metrics, await self._sparks(host), status
        )
        await interaction.response.send_message(embed=embed)

    @nextcord.slash_command(name="system", description="Detailed host metrics, in pages.")
    async def system(self, interaction: nextcord.Interaction, host: str = HOST) -> None:
        host, names, found = await self._reading(interaction, host)
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
    async def gpu(self, interaction: nextcord.Interaction, host: str = HOST) -> None:
        label, metrics, info, reason = await self._collector_reading(interaction, host, "gpu")
        await interaction.response.send_message(
            embed=render.gpu_embed(label, metrics, info, reason)
        )

    @nextcord.slash_command(name="containers", description="Docker containers on the host.")
    async def containers(self, interaction: nextcord.Interaction, host: str = HOST) -> None:
        label, metrics, info, reason = await self._collector_reading(interaction, host, "docker")
        embed = render.containers_embed(label, info, metrics, reason)
        await interaction.response.send_message(embed=embed)

    @nextcord.slash_command(name="services", description="This server's service checks.")
    async def services(self, interaction: nextcord.Interaction) -> None:
        guild_id = interaction.guild_id
        if guild_id is None:
            raise UserError(checks.GUILD_ONLY)
        rows = [check_of(row) for row in await self.monitor.config.checks(guild_id)]
        local = self.monitor.sampler.latest
        metrics = local.metrics if local else {}
        details = {
            row["id"]: row["detail"]
            for row in (local.info.get("services", {}).get("services", []) if local else [])
        }
        show = bool(await self.bot.services.guild_settings.get(guild_id, SHOW_HOSTS))
        embed = render.services_embed(rows, metrics, details, show_addresses=show)
        await interaction.response.send_message(embed=embed)

    @nextcord.slash_command(name="speedtest", description="Measure this host's internet speed.")
    @checks.manage_guild()
    async def speedtest(self, interaction: nextcord.Interaction) -> None:
        if self.monitor.speedtest.running:
            raise UserError("A speedtest is already running; wait for its result.")
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

    @checks.manager_subcommand(alert, "add", "Alert a channel when a metric crosses a limit.")
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
        host: str = HOST,
        role: nextcord.Role = nextcord.SlashOption(description="Role to mention", required=False),  # noqa: B008
        hysteresis: float = nextcord.SlashOption(
            description="Margin to recover (default 5 % of the threshold)", required=False
        ),
    ) -> None:
        guild_id = checks.require_manage_guild(interaction)
        # The options are typed, but a forged interaction can still name another server's
        # channel or role: both are looked up through this guild.
        target = guild_objects.text_channel_of(
            self.bot, guild_id, _given_id(interaction, "channel") or channel.id
        )
        role_given = _given_id(interaction, "role") or (role.id if role is not None else None)
        ping = guild_objects.role_of(self.bot, guild_id, role_given) if role_given else None
        real_host, names = await self._host(interaction, host)
        try:
            rule, level = validate_rule(
                metric=metric,
                comparison=comparison,
                threshold=threshold,
                duration_s=duration,
                cooldown_s=cooldown,
                hysteresis=hysteresis,
                severity=severity,
            )
            row = await self.monitor.alerts.add(
                guild_id,
                rule,
                host=real_host,
                severity=level,
                channel_id=target.id,
                role_id=ping.id if ping else None,
                created_by=interaction.user.id,
            )
        except RuleError as exc:
            raise UserError(f"Not added. {exc.field}: {exc.message}") from None
        except TooManyRules as exc:
            raise UserError(f"Not added: {exc}.") from None
        await answer(
            interaction,
            f"Alert #{row.id} added: {render.plain(rule.metric)} {rule.comparison} "
            f"{rule.threshold:g} on {render.plain(names.label(real_host))}, in {target.mention}.",
        )

    @alert.subcommand(name="list", description="This server's alert rules.")
    async def alert_list(self, interaction: nextcord.Interaction) -> None:
        rules = await self.monitor.alerts.list(interaction.guild_id)
        names = await self._names(interaction.guild_id)
        if not rules:
            await answer(interaction, "No alert rules yet.")
            return
        lines = [
            f"#{r.id} **{render.plain(r.metric)}** {r.comparison} {r.threshold:g} on "
            f"{render.plain(names.label(r.host))} "
            f"→ <#{r.channel_id}> · {r.severity} · {r.state}"
            for r in rules
        ]
        await answer(interaction, "\n".join(lines)[:2000])

    @checks.manager_subcommand(alert, "remove", "Delete an alert rule.")
    async def alert_remove(self, interaction: nextcord.Interaction, rule_id: int = RULE_ID) -> None:
        guild_id = checks.require_manage_guild(interaction)
        # a rule id is a 32-bit column: a larger number (Discord allows 2**53) names no rule,
        # and must not reach PostgreSQL as an out-of-range parameter
        removed = 1 <= rule_id <= 2**31 - 1 and await self.monitor.alerts.remove(guild_id, rule_id)
        text = f"Alert #{rule_id} removed." if removed else f"This server has no alert #{rule_id}."
        await answer(interaction, text)

    # --- game servers -------------------------------------------------------------
    @nextcord.slash_command(name="gameserver", description="Game servers this server watches.")
    async def gameserver(self, interaction: nextcord.Interaction) -> None:
        """Parent of /gameserver add|list|remove."""

    @gameserver.subcommand(name="add", description="Watch a game server (polled every 30 s).")
    @checks.manage_guild()
    async def gameserver_add(
        self,
        interaction: nextcord.Interaction,
        name: str = nextcord.SlashOption(description="What to call it", max_length=64),
        protocol: str = nextcord.SlashOption(
            description="How to query it",
            choices={label[:100]: key for key, (label, _) in PROTOCOLS.items()},
        ),
        address: str = nextcord.SlashOption(description="Host name or IP address", max_length=253),
        port: int = nextcord.SlashOption(
            description="Query port (default: the protocol's)", required=False,
            min_value=1, max_value=65535,
        ),
        alert_channel: nextcord.abc.GuildChannel = nextcord.SlashOption(  # noqa: B008
            description="Post offline / back-online alerts here", required=False,
            channel_types=[nextcord.ChannelType.text],
        ),
        offline_after: int = nextcord.SlashOption(
            description="Failed polls in a row before the offline alert (default 2)",
            required=False, default=2, min_value=1, max_value=20,
        ),
    ) -> None:  # fmt: skip
        guild_id = checks.require_manage_guild(interaction)
        target = None
        given = _given_id(interaction, "alert_channel")
        if given or alert_channel is not None:
            target = guild_objects.text_channel_of(self.bot, guild_id, given or alert_channel.id)
        if protocol not in PROTOCOLS:
            raise UserError(f"Not added. protocol: must be one of {', '.join(PROTOCOLS)}.")
        if not 1 <= offline_after <= 20:
            raise UserError("Not added. offline_after: must be from 1 to 20 polls.")
        await interaction.response.defer(ephemeral=True)
        try:
            server, status = await self.monitor.add_game_server(
                guild_id, name, protocol, address,
                port if port is not None else PROTOCOLS[protocol][1], interaction.user.id,
            )  # fmt: skip
        except GameServerError as exc:
            raise UserError(f"Not added. {exc.field}: {exc.message}.") from None
        except GameServerLimit as exc:
            raise UserError(f"Not added: {exc}.") from None
        text = f"Game server #{server.id} **{render.plain(server.name)}** added; "
        text += "it answers." if status.online else "it does not answer yet."
        if target is not None:
            rule, level = validate_rule(
                metric=server.metric("failed_polls"),
                comparison=">=",
                threshold=offline_after,
                cooldown_s=0,
                hysteresis=offline_after - 0.5,  # back online: no failed poll
            )
            try:
                row = await self.monitor.alerts.add(
                    guild_id, rule, host=games_host_key(guild_id), severity=level,
                    channel_id=target.id, role_id=None, created_by=interaction.user.id,
                )  # fmt: skip
                text += (
                    f" Alert #{row.id} tells {target.mention} when it misses {offline_after} "
                    "polls in a row, and when it is back."
                )
            except TooManyRules as exc:
                text += f" No offline alert: {exc}."
        await interaction.followup.send(
            text, ephemeral=True, allowed_mentions=mentions.no_mentions()
        )

    @gameserver.subcommand(name="list", description="This server's game servers.")
    async def gameserver_list(self, interaction: nextcord.Interaction) -> None:
        guild_id = interaction.guild_id
        if guild_id is None:
            raise UserError(checks.GUILD_ONLY)
        games = await self.monitor.config.games(guild_id)
        show = bool(await self.bot.services.guild_settings.get(guild_id, SHOW_HOSTS))
        views = self._game_views(guild_id, games)
        addresses = {g.key: f"{g.address}:{g.port}" for g in games} if show else {}
        await interaction.response.send_message(
            embed=render.games_embed(views, addresses),
            ephemeral=True,
            allowed_mentions=mentions.no_mentions(),
        )

    def _game_views(self, guild_id: int, games: list) -> list:  # type: ignore[type-arg]
        """Views of this guild's game servers (MetricsSource.game_servers), in `games` order,
        a server not polled yet included."""
        from bot.metrics import METRICS_SERVICE, GameServerView

        source = self.bot.services.provided.get(METRICS_SERVICE)
        known = {v.key: v for v in source.game_servers(guild_id)} if source else {}
        return [
            known.get(g.key) or GameServerView(g.key, g.name, g.protocol, "", f"game.{g.id}.")
            for g in games
        ]

    @gameserver.subcommand(name="remove", description="Stop watching a game server.")
    @checks.manage_guild()
    async def gameserver_remove(
        self,
        interaction: nextcord.Interaction,
        server_id: int = nextcord.SlashOption(name="id", description="Its number, from the list"),
    ) -> None:
        guild_id = checks.require_manage_guild(interaction)
        removed = await self.monitor.remove_game_server(guild_id, server_id)
        text = (
            f"Game server #{server_id} removed, with its alert rules."
            if removed
            else f"This server has no game server #{server_id}."
        )
        await interaction.response.send_message(
            text, ephemeral=True, allowed_mentions=mentions.no_mentions()
        )

    # --- delivery -------------------------------------------------------------------
    async def deliver(self, event: PendingEvent) -> Outcome:
        """Send one alert or recovery into the rule's own server (run by the delivery
        task, never inside the sampling tick). The channel and role are looked up through
        the rule's guild: an id of another server is refused, logged and never sent."""
        rule = event.rule
        if not self.bot.is_ready() or self.bot.get_guild(rule.guild_id) is None:
            return "retry"  # starting up, or the guild is unavailable for now
        try:
            channel = guild_objects.text_channel_of(self.bot, rule.guild_id, rule.channel_id)
        except guild_objects.ForeignObject as exc:
            log.warning(
                "Alert #%s of guild %s refused at delivery: %s Not sent.",
                rule.id, rule.guild_id, exc.message,
            )  # fmt: skip
            return "refused"
        role_id: int | None = None
        if rule.role_id and event.kind == "fire":
            try:
                role_id = guild_objects.role_of(self.bot, rule.guild_id, rule.role_id).id
            except guild_objects.ForeignObject as exc:
                log.warning("Alert #%s: %s Sent without the ping.", rule.id, exc.message)
        if event.claimed and await self._already_posted(channel, event.nonce):
            log.info("Alert event %s was already on Discord; not sent again", event.event_id)
            return "sent"
        names = await self._names(rule.guild_id)
        game = self._game_of(rule)
        if game is not None:
            embed = render.game_alert_embed(event.kind, rule, game, event.at, ref=event.nonce)
        else:
            embed = render.alert_embed(
                event.kind, rule, names.label(rule.host), event.value, event.at, ref=event.nonce
            )
        payload: dict[str, Any] = {
            "content": f"<@&{role_id}>" if role_id else "",
            "embeds": [embed.to_dict()],
            "allowed_mentions": (
                mentions.only(roles=[role_id]) if role_id else mentions.no_mentions()
            ).to_dict(),
            # Discord answers a repeated nonce with the message it already made
            "nonce": event.nonce,
            "enforce_nonce": True,
        }
        route = Route("POST", "/channels/{channel_id}/messages", channel_id=channel.id)
        try:
            await self.bot.http.request(route, json=payload)
        except (nextcord.Forbidden, nextcord.NotFound) as exc:
            log.warning("Alert #%s cannot be sent to %s (%s); dropped", rule.id, channel.id, exc)
            return "dropped"
        except nextcord.HTTPException as exc:
            log.warning("Alert #%s not sent (%s); retrying", rule.id, exc)
            return "retry"
        return "sent"

    def _game_of(self, rule: Any) -> str | None:
        """The name of the game server an offline rule watches (failed_polls on the rule's
        own server's game-servers host), else None."""
        parts = rule.metric.split(".")
        if rule.host != games_host_key(rule.guild_id) or len(parts) != 3:
            return None
        if parts[0] != "game" or parts[2] != "failed_polls" or not parts[1].isdigit():
            return None
        server = self.monitor.games.servers.get(int(parts[1]))
        if server is None or server.guild_id != rule.guild_id:
            return None
        return server.name

    async def _already_posted(self, channel: nextcord.TextChannel, nonce: str) -> bool:
        """Whether a recent message of the bot carries this nonce (the sandbox and the
        gateway echo it) or names it in an embed footer (Discord keeps no nonce in history)."""
        try:
            async for message in channel.history(limit=50):
                if message.author.id != self.bot.user.id:
                    continue
                if str(message.nonce or "") == nonce:
                    return True
                if any(nonce in (e.footer.text or "") for e in message.embeds):
                    return True
        except nextcord.HTTPException as exc:  # no Read Message History: enforce_nonce is left
            log.warning("Cannot read #%s to look for alert %s: %s", channel.id, nonce, exc)
        return False
