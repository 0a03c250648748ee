"""The dashboards at run time: loads them, renders them, answers their buttons and
selects, and hands them to the scheduler; shared by the slash commands and the web pages."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import nextcord

from bot.guild_objects import ForeignObject, text_channel_of
from bot.mentions import no_mentions
from bot.metrics import METRICS_SERVICE, MetricsSource
from cogs.dashboards import limits
from cogs.dashboards.layout import Layout, LayoutError, unknown_metrics
from cogs.dashboards.publisher import NextcordPublisher
from cogs.dashboards.render import (
    Rendered,
    Snapshot,
    ViewState,
    custom_id,
    cut,
    fit_lines,
    parse_custom_id,
    render,
    widget_value,
)
from cogs.dashboards.scheduler import ChannelGone, Entry, RateLimited, Scheduler, owns_guild
from cogs.dashboards.sources import ServerStats, collect
from cogs.dashboards.store import DashboardRecord, DashboardStore

if TYPE_CHECKING:
    from bot.client import FoundryBot

log = logging.getLogger(__name__)

ACTIONS_SERVICE = "actions"  # an object with `async run(name) -> str`, offered by a feature
MESSAGE_UPDATE = 7
DEFERRED_UPDATE = 6
SYNC_SECONDS = 15.0  # how often changes made by another process are picked up


class DashboardService:
    """Everything about dashboards that is not a slash command: shared by the cog and the
    web editor (which reaches it as an app key)."""

    def __init__(self, bot: FoundryBot, *, scheduler: Scheduler | None = None) -> None:
        self.bot = bot
        self._store: DashboardStore | None = None
        self.publisher = NextcordPublisher(bot.http)
        self.scheduler = scheduler or Scheduler(
            self.publisher, self, owns=self.owns, check_channel=self.check_channel
        )
        self.records: dict[int, DashboardRecord] = {}
        self._views_added: set[tuple[int, str]] = set()
        self._sync_task: asyncio.Task[None] | None = None
        # Button and select handlers running now: a shutdown lets them finish their writes.
        self.in_flight: set[asyncio.Task[Any]] = set()
        self.started = False

    @property
    def store(self) -> DashboardStore:
        # Made on first use: loading the extension needs no database yet.
        if self._store is None:
            self._store = DashboardStore(self.bot.services.db)
        return self._store

    # who refreshes what

    def owns(self, guild_id: int) -> bool:
        # A plain Bot has shard_id/shard_count; AutoShardedBot has shard_ids (None = all).
        shard_ids = getattr(self.bot, "shard_ids", None)
        if shard_ids is None and getattr(self.bot, "shard_id", None) is not None:
            shard_ids = [self.bot.shard_id]
        return owns_guild(guild_id, self.bot.shard_count, shard_ids)

    def check_channel(self, guild_id: int, channel_id: int) -> None:
        """Before each send: the channel must still be a text channel of the guild."""
        if self.bot.get_guild(guild_id) is None:
            raise RateLimited(30.0)  # not visible right now (an outage): try again later
        try:
            text_channel_of(self.bot, guild_id, channel_id)
        except ForeignObject as exc:
            raise ChannelGone(exc.message) from None

    def check_metrics(self, layout: Layout) -> None:
        """LayoutError listing every metric the catalogue does not know, with close names
        (nothing to check against while monitoring is not loaded)."""
        metrics = self.metrics
        if metrics is None:
            return
        problems = unknown_metrics(layout, metrics.catalogue)
        if problems:
            raise LayoutError(problems)

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
        """Exactly what the message would show now: the same code path as a refresh."""
        record = self.records.get(dashboard_id)
        state = record.view_state if record is not None else ViewState()
        snapshot = await self.snapshot(layout, state, guild_id)
        return render(layout, snapshot, state, dashboard_id)

    def _renderer(self, dashboard_id: int):  # type: ignore[no-untyped-def]
        async def render_now() -> Rendered:
            return await self.render_record(self.records[dashboard_id])

        return render_now

    # lifecycle

    async def start(self) -> None:
        """Load every dashboard, re-register its buttons, start the scheduler (once)."""
        if self.started:
            return  # on_ready fires again after a reconnect
        self.started = True
        records = await self.store.list()
        claimed = {r.message_id for r in records if r.message_id is not None}
        for record in records:
            pending = record.post_nonce is not None or record.layout.actions
            if record.message_id is None and pending and self.owns(record.guild_id):
                record = await self._adopt_posted(record, claimed)
            self._attach(record)
        self.scheduler.start()
        self._sync_task = asyncio.create_task(self._sync_loop(), name="dashboard-sync")
        log.info("Dashboards: %d loaded", len(self.records))

    async def sync(self) -> None:
        """Follow changes another process made in the shared database: new, edited and
        removed dashboards (this process may be the one whose shards hold their guilds)."""
        stored = {record.id: record for record in await self.store.list()}
        for dashboard_id in set(self.records) - set(stored):
            self.records.pop(dashboard_id, None)
            self.scheduler.remove(dashboard_id)
        for dashboard_id, record in stored.items():
            known = self.records.get(dashboard_id)
            if known is None or (known.layout, known.channel_id, known.name) != (
                record.layout,
                record.channel_id,
                record.name,
            ):
                self._attach(record)
                self.scheduler.request(dashboard_id)

    async def _sync_loop(self) -> None:
        while True:
            await asyncio.sleep(SYNC_SECONDS)
            try:
                await self.sync()
            except Exception:
                log.exception("Reading dashboards from the database failed")

    async def _adopt_posted(self, record: DashboardRecord, claimed: set[int]) -> DashboardRecord:
        """A dashboard without a stored message id may have been posted just before the
        process stopped (the post was recorded as intended first): find that message by its
        nonce, its buttons' custom_ids, or its title after the recorded moment; adopt the
        newest and delete any other copy, rather than leave an orphan or post twice."""
        try:
            messages = await self.bot.http.logs_from(record.channel_id, 50)
        except nextcord.HTTPException:
            return record
        bot_id = str(self.bot.user.id) if self.bot.user else ""
        found = [
            int(m["id"])
            for m in messages  # newest first
            if m.get("author", {}).get("id") == bot_id
            and int(m["id"]) not in claimed
            and self._is_post_of(record, m)
        ]
        if not found:
            return record
        message_id, *extra = found
        for duplicate in extra:
            await self.publisher.delete(record.channel_id, duplicate)
        await self.store.message_posted(record.id, message_id, "")
        claimed.add(message_id)
        log.info("Dashboard %s re-attached to message %s", record.id, message_id)
        return replace(record, message_id=message_id, last_hash="", post_nonce=None)

    @staticmethod
    def _is_post_of(record: DashboardRecord, message: dict[str, Any]) -> bool:
        if record.post_nonce is not None and message.get("nonce") == record.post_nonce:
            return True
        prefix = parse_prefix(record.id)
        ids = [
            item.get("custom_id", "")
            for row in message.get("components") or []
            for item in row.get("components") or []
        ]
        if any(i.startswith(prefix) for i in ids):
            return True
        if record.post_nonce is None or record.post_after is None:
            return False
        # No buttons and no nonce in what Discord returns: the same title, posted after
        # the intent was recorded, by this bot, and no other dashboard's message.
        embeds = message.get("embeds") or [{}]
        title = cut(record.layout.title, limits.TITLE) if record.layout.title else None
        return int(message["id"]) > record.post_after and embeds[0].get("title") == title

    def stop(self) -> None:
        tasks = [self.scheduler._loop_task, *self.scheduler._workers.values(), self._sync_task]
        for task in tasks:
            if task is not None:
                task.cancel()

    def _attach(self, record: DashboardRecord) -> None:
        self.records[record.id] = record
        self._register_view(record)
        existing = self.scheduler.entries.get(record.id)
        if existing is not None:
            existing.interval = record.layout.interval
            existing.channel_id = record.channel_id
            return
        self.scheduler.add(
            Entry(
                dashboard_id=record.id,
                guild_id=record.guild_id,
                channel_id=record.channel_id,
                message_id=record.message_id,
                interval=record.layout.interval,
                render=self._renderer(record.id),
                last_hash=record.last_hash,
                post_nonce=record.post_nonce,
            )
        )

    def _register_view(self, record: DashboardRecord) -> None:
        """A persistent view (no timeout, fixed custom_ids) for the dashboard's components."""
        rendered = render(record.layout, Snapshot(), record.view_state, record.id)
        view = nextcord.ui.View(timeout=None)
        for row in rendered.payload["components"]:
            for item in row["components"]:
                if (record.id, item["custom_id"]) in self._views_added:
                    continue
                self._views_added.add((record.id, item["custom_id"]))
                component: nextcord.ui.Item[Any]
                if item["type"] == 2:
                    component = nextcord.ui.Button(custom_id=item["custom_id"], label="x")
                else:
                    component = nextcord.ui.StringSelect(
                        custom_id=item["custom_id"],
                        options=[nextcord.SelectOption(label="x", value="x")],
                    )
                component.callback = self._callback_for(item["custom_id"])  # type: ignore[method-assign]
                view.add_item(component)
        if view.children:
            # No message id: custom_ids carry the dashboard id, and a re-posted message
            # keeps working without registering again.
            self.bot.add_view(view)

    def _callback_for(self, custom_id: str):  # type: ignore[no-untyped-def]
        async def callback(interaction: nextcord.Interaction) -> None:
            task = asyncio.current_task()
            if task is not None:
                self.in_flight.add(task)
            try:
                await self.on_component(interaction, custom_id)
            finally:
                self.in_flight.discard(task)  # type: ignore[arg-type]

        return callback

    # changes

    async def create(
        self, guild_id: int, channel_id: int, name: str, layout: Layout, actor_id: int
    ) -> DashboardRecord:
        """A new dashboard; ForeignObject when the channel is not a text channel of the guild,
        LayoutError when it names a metric monitoring never writes."""
        text_channel_of(self.bot, guild_id, channel_id)
        self.check_metrics(layout)
        record = await self.store.create(guild_id, channel_id, name, layout, actor_id)
        self._attach(record)
        self.scheduler.request(record.id)
        return record

    async def update_layout(
        self, dashboard_id: int, layout: Layout, actor_id: int, name: str | None = None
    ) -> DashboardRecord:
        self.check_metrics(layout)
        record = await self.store.update_layout(dashboard_id, layout, actor_id, name)
        self._attach(record)
        self.scheduler.request(record.id)
        return record

    async def remove(self, dashboard_id: int, actor_id: int) -> DashboardRecord | None:
        record = await self.store.remove(dashboard_id, actor_id)
        self.records.pop(dashboard_id, None)
        entry = self.scheduler.remove(dashboard_id)
        message_id = entry.message_id if entry is not None else None
        if record is not None and message_id is not None:
            await self.publisher.delete(record.channel_id, message_id)
        return record

    # the scheduler's Persistence, through the store

    # Shielded: a shutdown that cancels the scheduler must not cut a write in half (the
    # message id of a message just posted must be kept, or a restart would post again).

    async def post_intended(self, dashboard_id: int, nonce: str) -> None:
        # A minute early: Discord's clock and ours may differ a little.
        after = nextcord.utils.time_snowflake(datetime.now(UTC) - timedelta(seconds=60))
        await asyncio.shield(self.store.post_intended(dashboard_id, nonce, after))

    async def message_posted(self, dashboard_id: int, message_id: int, digest: str) -> None:
        await asyncio.shield(self.store.message_posted(dashboard_id, message_id, digest))

    async def message_edited(self, dashboard_id: int, digest: str) -> None:
        await asyncio.shield(self.store.message_edited(dashboard_id, digest))

    async def failed(self, dashboard_id: int, reason: str) -> None:
        await asyncio.shield(self.store.failed(dashboard_id, reason))

    def message_deleted(self, message_id: int) -> None:
        if self.scheduler.message_deleted(message_id) is not None:
            log.info("A dashboard message (%s) was deleted; posting it again", message_id)

    # buttons and selects

    async def on_component(self, interaction: nextcord.Interaction, custom_id: str) -> None:
        parsed = parse_custom_id(custom_id)
        record = self.records.get(parsed[0]) if parsed else None
        if parsed is None or record is None or not self.press_is_for(record, interaction):
            # A custom_id is only text: a press is honoured for the dashboard on that very
            # message in that very server, never for one named by a forged or stale id.
            await interaction.response.send_message(
                "This dashboard no longer exists.", ephemeral=True, allowed_mentions=no_mentions()
            )
            return
        _, key = parsed
        keys = {a.key for a in record.layout.actions}
        if key not in keys:
            await interaction.response.send_message(
                "That control is no longer on this dashboard.",
                ephemeral=True,
                allowed_mentions=no_mentions(),
            )
            return
        state = record.view_state
        values = (interaction.data or {}).get("values") or []
        if key == "details":
            await interaction.response.send_message(
                await self.details(record), ephemeral=True, allowed_mentions=no_mentions()
            )
            return
        if key.startswith("run:"):
            await self._run_action(interaction, key.removeprefix("run:"))
            return
        last_page = record.layout.page_count - 1
        if key == "prev_page":
            state = replace(state, page=max(state.page - 1, 0))
        elif key == "next_page":
            state = replace(state, page=min(state.page + 1, last_page))
        elif key == "page" and values and values[0].isdigit():
            state = replace(state, page=min(int(values[0]), last_page))
        elif key == "host" and values:
            state = replace(state, host=values[0], disk="")
        elif key == "disk" and values:
            state = replace(state, disk=values[0])
        if state != record.view_state:
            await self.store.set_view_state(record.id, state)
            record = replace(record, view_state=state)
            self.records[record.id] = record
        rendered = await self.render_record(record)
        entry = self.scheduler.entries.get(record.id)
        if rendered.charts:
            # Files cannot ride on this answer cheaply: acknowledge, then edit as usual.
            await interaction.response.defer()
            self.scheduler.request(record.id, force=True)
            return
        await respond_raw(interaction, MESSAGE_UPDATE, rendered.payload)
        if entry is not None:
            entry.last_hash = rendered.digest
            entry.verified = True
        await self.store.message_edited(record.id, rendered.digest)

    def press_is_for(self, record: DashboardRecord, interaction: nextcord.Interaction) -> bool:
        """Whether `interaction` was pressed on `record`'s own message, in its own server."""
        if interaction.guild_id != record.guild_id:
            return False
        message = interaction.message
        if message is None:
            return False
        entry = self.scheduler.entries.get(record.id)
        known = {record.message_id, entry.message_id if entry is not None else None} - {None}
        return message.id in known

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

    async def _run_action(self, interaction: nextcord.Interaction, name: str) -> None:
        user = interaction.user
        perms = getattr(user, "guild_permissions", None)
        if perms is None or not perms.manage_guild:
            await interaction.response.send_message(
                f"You need Manage Server to run {name}.",
                ephemeral=True,
                allowed_mentions=no_mentions(),
            )
            return
        actions = self.bot.services.provided.get(ACTIONS_SERVICE)
        if actions is None:
            await interaction.response.send_message(
                f"The action {name!r} is unavailable: no loaded feature provides actions.",
                ephemeral=True,
                allowed_mentions=no_mentions(),
            )
            return
        await interaction.response.defer(ephemeral=True)
        try:
            result = await actions.run(name)
        except Exception as exc:
            log.exception("Dashboard action %s failed", name)
            result = f"{name} failed: {exc}"
        await interaction.followup.send(
            cut(str(result), 2000), ephemeral=True, allowed_mentions=no_mentions()
        )


async def respond_raw(interaction: nextcord.Interaction, kind: int, data: dict[str, Any]) -> None:
    """Answer with the renderer's payload byte for byte, not rebuilt by nextcord."""
    from nextcord.webhook.async_ import async_context

    adapter = async_context.get()
    await adapter.create_interaction_response(
        interaction.id,
        interaction.token,
        session=interaction._session,
        type=kind,
        data=data,
    )
    interaction.response._responded = True


def parse_prefix(dashboard_id: int) -> str:
    """The start of every custom_id on a dashboard's message."""
    return custom_id(dashboard_id, "")
