"""The dashboards' front, shared by the slash commands and the web pages: create, change
and remove dashboards, render and preview them, and start and stop the rest. The parts:
`live.py` (records, the scheduler's entries, views, sync with the database, crash
recovery), `dispatch.py` (button and select presses), `scheduler.py` (when to send),
`sources.py` and `render.py` (what to show)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import nextcord

from bot.guild_objects import ForeignObject, text_channel_of
from bot.metrics import METRICS_SERVICE, MetricsSource
from bot.shards import client_owns_guild
from cogs.dashboards.dispatch import ACTIONS_SERVICE, Dispatcher
from cogs.dashboards.layout import Layout, LayoutError, unknown_metrics
from cogs.dashboards.live import LiveDashboards
from cogs.dashboards.publisher import NextcordPublisher
from cogs.dashboards.render import (
    Rendered,
    Snapshot,
    ViewState,
    fit_lines,
    render,
    widget_value,
)
from cogs.dashboards.scheduler import ChannelGone, RateLimited, Scheduler
from cogs.dashboards.sources import ServerStats, collect
from cogs.dashboards.store import DashboardRecord, DashboardStore

if TYPE_CHECKING:
    from bot.client import FoundryBot

log = logging.getLogger(__name__)

MAX_PREVIEWS = 500


def dashboard_share(bot: FoundryBot) -> int:
    """Dashboard edits a second: 4/5 of this process's REST budget (DISCORD_GLOBAL_RATE,
    its share of the bot's 50 when several processes run it), the rest left for commands."""
    settings = getattr(getattr(bot, "services", None), "settings", None)
    rate = getattr(settings, "discord_global_rate", 50)
    return max(1, rate * 4 // 5)


class DashboardService:
    """Everything about dashboards that is not a slash command: shared by the cog and the
    web editor (which reaches it as an app key)."""

    def __init__(self, bot: FoundryBot, *, scheduler: Scheduler | None = None) -> None:
        self.bot = bot
        self._store: DashboardStore | None = None
        # dashboard id -> (what its last preview was made from, that preview)
        self._previews: dict[int, tuple[object, Rendered]] = {}
        self.publisher = NextcordPublisher(bot.http)
        self.live = LiveDashboards(
            bot,
            lambda: self.store,
            self.publisher,
            self.owns,
            self.render_record,
            lambda custom_id: self.dispatch.callback_for(custom_id),
        )
        self.scheduler = scheduler or Scheduler(
            self.publisher,
            self.live,
            owns=self.owns,
            check_channel=self.check_channel,
            global_rate=(dashboard_share(bot), 1.0),
        )
        self.live.scheduler = self.scheduler
        self.dispatch = Dispatcher(
            bot, self.live, self.render_record, self.details, bot.services.provided
        )

    @property
    def store(self) -> DashboardStore:
        # Made on first use: loading the extension needs no database yet.
        if self._store is None:
            self._store = DashboardStore(self.bot.services.db)
        return self._store

    @property
    def records(self) -> dict[int, DashboardRecord]:
        return self.live.records

    @property
    def started(self) -> bool:
        return self.live.started

    async def start(self) -> None:
        await self.live.start()

    async def sync(self) -> None:
        await self.live.sync()

    def stop(self) -> None:
        """Stop at once (the extension is unloaded)."""
        self.live.cancel()

    async def shutdown(self) -> None:
        """Stop cleanly before the database closes: presses being answered and sends in
        flight finish their writes first."""
        await self.live.shutdown()

    def message_deleted(self, message_id: int) -> None:
        self.live.message_deleted(message_id)

    # checks

    def owns(self, guild_id: int) -> bool:
        """Whether this process's shards hold the guild (it refreshes only those)."""
        return client_owns_guild(self.bot, guild_id)

    def check_channel(self, guild_id: int, channel_id: int) -> None:
        """Before each send: the channel must still be a text channel of the guild."""
        if self.bot.get_guild(guild_id) is None:
            raise RateLimited(30.0)  # not visible right now (an outage): try again later
        try:
            text_channel_of(self.bot, guild_id, channel_id)
        except ForeignObject as exc:
            raise ChannelGone(exc.message) from None

    def check_layout(self, layout: Layout, guild_id: int) -> None:
        """LayoutError listing every action a "run" button names that no loaded feature
        provides, every metric the catalogue does not know (with close names) and every
        pinned host this guild may not see; no metric or host is checked while monitoring
        is not loaded. Checked when saved; reads check hosts again when used."""
        problems = self.unknown_actions(layout)
        metrics = self.metrics
        if metrics is None:
            if problems:
                raise LayoutError(problems)
            return
        problems += unknown_metrics(layout, metrics.catalogue)
        visible = {h.key for h in metrics.hosts(guild_id)}
        for index, widget in enumerate(layout.widgets):
            if widget.source.host and widget.source.host not in visible:
                problems.append(
                    f"widgets[{index}].source.host: not a host this server can see; "
                    "leave it empty for the host chosen on the message"
                )
        if problems:
            raise LayoutError(problems)

    def unknown_actions(self, layout: Layout) -> list[str]:
        """ "path: why" for each "run" button naming an action no loaded feature provides
        (the actions service is looked up now: a feature may load after this one)."""
        provider = self.bot.services.provided.get(ACTIONS_SERVICE)
        available = set(provider.names()) if provider is not None else set()
        problems = []
        for index, action in enumerate(layout.actions):
            if action.action != "run" or action.run in available:
                continue
            offered = ", ".join(sorted(available)) or "none: no loaded feature provides actions"
            problems.append(
                f"actions[{index}].run: no loaded feature provides the action "
                f"{action.run!r} (available: {offered})"
            )
        return problems

    @property
    def metrics(self) -> MetricsSource | None:
        # Looked up each time: monitoring may load after this feature.
        return self.bot.services.provided.get(METRICS_SERVICE)

    def server_stats(self, guild_id: int) -> ServerStats | None:
        guild = self.bot.get_guild(guild_id)
        if guild is None:
            return None
        online = None
        if self.bot.intents.presences:
            online = sum(1 for m in guild.members if m.status != nextcord.Status.offline)
        return ServerStats(
            members=guild.member_count,
            online=online,
            boosts=guild.premium_subscription_count,
            channels=len(guild.channels),
        )

    # rendering

    async def snapshot(self, layout: Layout, state: ViewState, guild_id: int) -> Snapshot:
        return await collect(
            layout, state, self.metrics, self.server_stats(guild_id), datetime.now(UTC), guild_id
        )

    async def render_record(self, record: DashboardRecord) -> Rendered:
        snapshot = await self.snapshot(record.layout, record.view_state, record.guild_id)
        return render(record.layout, snapshot, record.view_state, record.id)

    async def preview(self, layout: Layout, guild_id: int, dashboard_id: int = 0) -> Rendered:
        """Exactly what the message would show now: the same code path as a refresh. Kept
        per dashboard while its inputs compare equal (the layout, view state, server
        statistics, the metrics source's `version`, the minute), so an editor opened again
        and again does not gather and draw the same message each time."""
        record = self.records.get(dashboard_id)
        state = record.view_state if record is not None else ViewState()
        inputs = self._preview_inputs(layout, state, guild_id)
        kept = self._previews.get(dashboard_id)
        if inputs is not None and kept is not None and kept[0] == inputs:
            return kept[1]
        snapshot = await self.snapshot(layout, state, guild_id)
        rendered = render(layout, snapshot, state, dashboard_id)
        if inputs is not None:
            if len(self._previews) >= MAX_PREVIEWS:
                self._previews.clear()
            self._previews[dashboard_id] = (inputs, rendered)
        return rendered

    def _preview_inputs(self, layout: Layout, state: ViewState, guild_id: int) -> object:
        """Everything a preview is made from, or None when the metrics source cannot say
        whether its data changed (then every preview is made afresh)."""
        version, metrics = None, self.metrics
        if metrics is not None:
            try:
                version = metrics.version(guild_id)
            except Exception:
                log.exception("The metrics service failed to tell its version")
            if version is None:
                return None
        minute = int(datetime.now(UTC).timestamp() // 60)  # history windows end at "now"
        return (layout, state, guild_id, self.server_stats(guild_id), version, minute)

    # changes

    async def create(
        self, guild_id: int, channel_id: int, name: str, layout: Layout, actor_id: int
    ) -> DashboardRecord:
        """A new dashboard; ForeignObject when the channel is not a text channel of the guild,
        LayoutError when it names a metric monitoring never writes or a host the guild
        may not see."""
        text_channel_of(self.bot, guild_id, channel_id)
        self.check_layout(layout, guild_id)
        record = await self.store.create(guild_id, channel_id, name, layout, actor_id)
        self.live.attach(record)
        self.scheduler.request(record.id)
        return record

    async def update_layout(
        self, dashboard_id: int, layout: Layout, actor_id: int, name: str | None = None
    ) -> DashboardRecord:
        known = self.records.get(dashboard_id)
        if known is None:  # another process's dashboard: checked all the same
            known = await self.store.get(dashboard_id)
        if known is not None:
            self.check_layout(layout, known.guild_id)
        record = await self.store.update_layout(dashboard_id, layout, actor_id, name)
        self.live.attach(record)
        self.scheduler.request(record.id)
        return record

    async def remove(self, dashboard_id: int, actor_id: int) -> DashboardRecord | None:
        record = await self.store.remove(dashboard_id, actor_id)
        entry = self.live.detach(dashboard_id)
        message_id = entry.message_id if entry is not None else None
        if record is not None and message_id is not None:
            await self.publisher.delete(record.channel_id, message_id)
        return record

    async def details(self, record: DashboardRecord) -> str:
        snapshot = await self.snapshot(record.layout, record.view_state, record.guild_id)
        page = min(record.view_state.page, record.layout.page_count - 1)
        lines = []
        for widget in record.layout.page_widgets(page):
            value = widget_value(widget, snapshot.widgets.get(widget.id))
            lines.append(f"**{widget.title}**: {value}" if "\n" not in value else widget.title)
            if "\n" in value:
                lines.extend(value.splitlines())
        if snapshot.hosts:
            lines.append(f"Hosts: {', '.join(h.label for h in snapshot.hosts)}")
        return fit_lines(lines, 2000) or "Nothing to show."
