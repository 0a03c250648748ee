"""The dashboards this process keeps live: their records in memory, the scheduler entries and
persistent views made from them, recovery after a crash (a post recorded as intended but
never stored), following changes another process made in the shared database, and the
scheduler's record of what was sent (its Persistence)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import nextcord

from cogs.dashboards import limits
from cogs.dashboards.publisher import NextcordPublisher
from cogs.dashboards.render import Rendered, Snapshot, custom_id, cut, render
from cogs.dashboards.scheduler import Entry, Scheduler
from cogs.dashboards.store import DashboardRecord, DashboardStore

log = logging.getLogger(__name__)

SYNC_SECONDS = 15.0  # how often changes made by another process are picked up
Callback = Callable[[nextcord.Interaction], Awaitable[None]]


def parse_prefix(dashboard_id: int) -> str:
    """The start of every custom_id on a dashboard's message."""
    return custom_id(dashboard_id, "")


class LiveDashboards:
    def __init__(
        self,
        bot: nextcord.Client,
        store: Callable[[], DashboardStore],
        publisher: NextcordPublisher,
        owns: Callable[[int], bool],
        render_record: Callable[[DashboardRecord], Awaitable[Rendered]],
        callback_for: Callable[[str], Callback],
    ) -> None:
        self.bot = bot
        self._store = store
        self.publisher = publisher
        self.owns = owns
        self.render_record = render_record
        self.callback_for = callback_for
        self.scheduler: Scheduler  # set by the front, which builds it with this as Persistence
        self.records: dict[int, DashboardRecord] = {}
        self.started = False
        self._views_added: set[tuple[int, str]] = set()
        self._sync_task: asyncio.Task[None] | None = None
        # Button and select handlers running now: a shutdown lets them finish their writes.
        self._in_flight: set[asyncio.Task[Any]] = set()

    @property
    def store(self) -> DashboardStore:
        return self._store()

    # lifecycle

    async def start(self) -> None:
        """Load every dashboard, adopt posts a killed process never recorded, re-register
        buttons, start the scheduler and the sync loop (once)."""
        if self.started:
            return  # on_ready fires again after a reconnect
        self.started = True
        records = await self.store.list()
        claimed = {r.message_id for r in records if r.message_id is not None}
        for record in records:
            pending = record.post_nonce is not None or record.layout.actions
            if record.message_id is None and pending and self.owns(record.guild_id):
                record = await self._adopt_posted(record, claimed)
            self.attach(record)
        self.scheduler.start()
        self._sync_task = asyncio.create_task(self._sync_loop(), name="dashboard-sync")
        log.info("Dashboards: %d loaded", len(self.records))

    def track(self, task: asyncio.Task[Any] | None) -> None:
        if task is not None:
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    def cancel(self) -> None:
        """Stop at once (an unload): the sync loop and the scheduler's tasks."""
        if self._sync_task is not None:
            self._sync_task.cancel()
        self.scheduler.cancel()

    async def shutdown(self, grace: float = 3.0) -> None:
        """Stop following the database, let presses being answered finish their writes,
        then let each channel finish its send in flight (its message id is stored)."""
        if self._sync_task is not None:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sync_task
        if self._in_flight:
            await asyncio.wait(set(self._in_flight), timeout=grace)
        await self.scheduler.close(grace)

    # following the database

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
                self.attach(record)
                self.scheduler.request(dashboard_id)

    async def _sync_loop(self) -> None:
        while True:
            await asyncio.sleep(SYNC_SECONDS)
            try:
                await self.sync()
            except Exception:
                log.exception("Reading dashboards from the database failed")

    # crash recovery

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
            and is_post_of(record, m)
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

    # records, scheduler entries and views

    def attach(self, record: DashboardRecord) -> None:
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

    def detach(self, dashboard_id: int) -> Entry | None:
        self.records.pop(dashboard_id, None)
        return self.scheduler.remove(dashboard_id)

    def _renderer(self, dashboard_id: int) -> Callable[[], Awaitable[Rendered]]:
        async def render_now() -> Rendered:
            return await self.render_record(self.records[dashboard_id])

        return render_now

    def _register_view(self, record: DashboardRecord) -> None:
        """A persistent view (no timeout, fixed custom_ids) for the dashboard's components."""
        rendered = render(record.layout, Snapshot(), record.view_state, record.id)
        # auto_defer off: every callback answers the press itself (an update of the message
        # in place, or a private answer), so nextcord must not answer it a second time.
        view = nextcord.ui.View(timeout=None, auto_defer=False)
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
                component.callback = self.callback_for(item["custom_id"])  # type: ignore[method-assign]
                view.add_item(component)
        if view.children:
            # No message id: custom_ids carry the dashboard id, and a re-posted message
            # keeps working without registering again.
            self.bot.add_view(view)

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


def is_post_of(record: DashboardRecord, message: dict[str, Any]) -> bool:
    """Whether a message in the dashboard's channel is a post of this dashboard."""
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
    # No buttons and no nonce in what Discord returns: the same title, posted after the
    # intent was recorded, by this bot, and no other dashboard's message.
    embeds = message.get("embeds") or [{}]
    title = cut(record.layout.title, limits.TITLE) if record.layout.title else None
    return int(message["id"]) > record.post_after and embeds[0].get("title") == title
