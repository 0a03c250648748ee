"""One scheduler for every dashboard: renders each when it is due, edits its message only
when the payload hash changed, keeps within 5 edits per 5 s per channel and a global pace,
and 3 edits per 6 s per channel of messages older than an hour (Discord's code 30046),
backs off after a 429, re-posts a deleted message once, and refreshes only the dashboards
of guilds on this process's shards. Clock and sleep are injected, so tests and the bench
can run simulated time; Discord I/O goes through a Publisher."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from cogs.dashboards.render import Rendered

log = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class MessageGone(Exception):
    """The message was deleted (404 Unknown Message)."""


class ChannelGone(Exception):
    """The channel is gone or the bot may no longer post there; stop trying."""


class RateLimited(Exception):
    def __init__(self, retry_after: float) -> None:
        super().__init__(f"rate limited for {retry_after:.2f} s")
        self.retry_after = retry_after


class Publisher(Protocol):
    async def post(self, channel_id: int, rendered: Rendered, nonce: str | None = None) -> int:
        """Send the message (with `nonce` and enforce_nonce, so a retry cannot post twice);
        its id."""

    async def edit(self, channel_id: int, message_id: int, rendered: Rendered) -> None: ...

    async def exists(self, channel_id: int, message_id: int) -> bool: ...


class Persistence(Protocol):
    async def post_intended(self, dashboard_id: int, nonce: str) -> None:
        """Record, before posting, that a post with `nonce` is about to be sent: a process
        killed between the send and `message_posted` finds it on restart (adopt or delete)."""

    async def message_posted(self, dashboard_id: int, message_id: int, digest: str) -> None: ...

    async def message_edited(self, dashboard_id: int, digest: str) -> None: ...

    async def failed(self, dashboard_id: int, reason: str) -> None: ...


def new_nonce(dashboard_id: int) -> str:
    """A message nonce (Discord allows 25 characters) naming the dashboard it posts."""
    return f"fcd{dashboard_id}-{secrets.token_hex(6)}"[:25]


@dataclass(slots=True)
class Entry:
    dashboard_id: int
    guild_id: int
    channel_id: int
    message_id: int | None
    interval: float
    render: Callable[[], Awaitable[Rendered]]
    last_hash: str | None = None
    next_due: float = 0.0
    verified: bool = False  # the stored message was seen to exist since start
    force: bool = False
    stopped: str | None = None  # why it is no longer refreshed
    post_nonce: str | None = None  # the nonce of a post recorded as intended, not yet done


@dataclass
class SchedulerStats:
    renders: int = 0
    unchanged: int = 0
    edits: int = 0
    posts: int = 0
    reposts: int = 0
    rate_limited: int = 0
    timeouts: int = 0
    errors: int = 0
    last_tick: float | None = None


OLD_MESSAGE_AGE = 3600.0  # Discord: edits of a message older than this have a sub-limit
DISCORD_EPOCH_MS = 1_420_070_400_000


def snowflake_age(message_id: int, now: float | None = None) -> float:
    """Seconds since the message with this id was created (its id says when)."""
    created = ((message_id >> 22) + DISCORD_EPOCH_MS) / 1000
    return (time.time() if now is None else now) - created


class Budget:
    """Sliding-window request budgets: per channel (Discord: 5 edits per 5 s), edits of
    messages older than an hour per channel (3 per 6 s, else 429 code 30046) and global.

    A slot is recorded when the answer arrives, after the server counted it, and the window
    carries a margin, so our window never closes before Discord's."""

    def __init__(
        self,
        clock: Clock,
        *,
        per_channel: tuple[int, float] = (5, 5.0),
        old_edits: tuple[int, float] = (3, 6.0),
        global_rate: tuple[int, float] = (40, 1.0),
        margin: float = 0.25,
    ) -> None:
        self.clock = clock
        self.per_channel = per_channel
        self.old_edits = old_edits
        self.global_rate = global_rate
        self.margin = margin
        self._channels: dict[int, deque[float]] = {}
        self._old: dict[int, deque[float]] = {}
        self._global: deque[float] = deque()
        self._blocked: dict[int, float] = {}

    @staticmethod
    def _wait(window: deque[float], limit: int, per: float, now: float) -> float:
        while window and window[0] + per <= now:
            window.popleft()
        if len(window) < limit:
            return 0.0
        return window[0] + per - now

    def wait_time(self, channel_id: int, *, old: bool = False) -> float:
        """Seconds until a request to this channel fits every budget (`old`: an edit of a
        message older than an hour, which also counts against that sub-limit)."""
        now = self.clock()
        limit, per = self.per_channel
        channel = self._channels.setdefault(channel_id, deque())
        waits = [
            self._wait(channel, limit, per + self.margin, now),
            self._wait(self._global, self.global_rate[0], self.global_rate[1], now),
            max(self._blocked.get(channel_id, 0.0) - now, 0.0),
        ]
        if old:
            old_limit, old_per = self.old_edits
            window = self._old.setdefault(channel_id, deque())
            waits.append(self._wait(window, old_limit, old_per + self.margin, now))
        return max(waits)

    def record(self, channel_id: int, *, old: bool = False) -> None:
        now = self.clock()
        self._channels.setdefault(channel_id, deque()).append(now)
        self._global.append(now)
        if old:
            self._old.setdefault(channel_id, deque()).append(now)

    def block(self, channel_id: int, seconds: float) -> None:
        self._blocked[channel_id] = max(self._blocked.get(channel_id, 0.0), self.clock() + seconds)


class Scheduler:
    def __init__(
        self,
        publisher: Publisher,
        persistence: Persistence,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        owns: Callable[[int], bool] = lambda _guild_id: True,
        check_channel: Callable[[int, int], None] = lambda _guild_id, _channel_id: None,
        per_channel: tuple[int, float] = (5, 5.0),
        old_edits: tuple[int, float] = (3, 6.0),
        global_rate: tuple[int, float] = (40, 1.0),
        message_age: Callable[[int], float] = snowflake_age,
        tick: float = 1.0,
        max_backoff: float = 60.0,
        call_timeout: float = 60.0,
    ) -> None:
        self.publisher = publisher
        self.persistence = persistence
        self.clock = clock
        self.sleep = sleep
        self.owns = owns
        # Raises ChannelGone when the channel is not (or no longer) the guild's, before
        # every send: ids are checked when saved and again when used.
        self.check_channel = check_channel
        self.tick_seconds = tick
        self.max_backoff = max_backoff
        self.call_timeout = call_timeout
        self.message_age = message_age
        self.budget = Budget(
            clock, per_channel=per_channel, old_edits=old_edits, global_rate=global_rate
        )
        self.entries: dict[int, Entry] = {}
        self.stats = SchedulerStats()
        self._pending: dict[int, dict[int, tuple[Entry, Rendered, bool]]] = {}
        self._workers: dict[int, asyncio.Task[None]] = {}
        self._backoff: dict[int, float] = {}
        self._loop_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closing = False

    # the set of dashboards

    def add(self, entry: Entry) -> None:
        entry.next_due = min(entry.next_due, self.clock()) if entry.next_due else self.clock()
        self.entries[entry.dashboard_id] = entry
        self._wake.set()

    def remove(self, dashboard_id: int) -> Entry | None:
        entry = self.entries.pop(dashboard_id, None)
        if entry is not None:
            self._pending.get(entry.channel_id, {}).pop(dashboard_id, None)
        return entry

    def request(self, dashboard_id: int, *, force: bool = False) -> None:
        """Refresh this dashboard at the next tick (force: send even if unchanged)."""
        entry = self.entries.get(dashboard_id)
        if entry is None:
            return
        entry.next_due = self.clock()
        entry.force = entry.force or force
        entry.stopped = None if force else entry.stopped
        self._wake.set()

    def message_deleted(self, message_id: int) -> Entry | None:
        """Someone deleted a dashboard's message: post it again, once, at the next tick."""
        for entry in self.entries.values():
            if entry.message_id == message_id:
                entry.message_id = None
                entry.last_hash = None
                self.stats.reposts += 1
                self.request(entry.dashboard_id)
                return entry
        return None

    def by_message(self, message_id: int) -> Entry | None:
        return next((e for e in self.entries.values() if e.message_id == message_id), None)

    # the loop

    def start(self) -> None:
        if self._loop_task is None or self._loop_task.done():
            self._loop_task = asyncio.create_task(self._run(), name="dashboard-scheduler")

    async def close(self, grace: float = 3.0) -> None:
        """Stop scheduling; let each channel finish the send in flight (up to `grace`
        seconds, so its message id is stored), then stop."""
        self._closing = True
        if self._loop_task is not None:
            self._loop_task.cancel()
        workers = [w for w in self._workers.values() if not w.done()]
        if workers:
            await asyncio.wait(workers, timeout=grace)
        await self.stop()

    def cancel(self) -> None:
        """Cancel the loop and every channel's worker now (no waiting)."""
        for task in (self._loop_task, *self._workers.values()):
            if task is not None:
                task.cancel()

    async def stop(self) -> None:
        tasks = [t for t in (self._loop_task, *self._workers.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._loop_task = None
        self._workers.clear()

    def health(self) -> str:
        """One line for people: is the refresh loop alive (a stalled one must be visible)."""
        if not self.running:
            return "stopped"
        last = self.stats.last_tick
        if last is None:
            return "starting"
        age = self.clock() - last
        state = "running" if age <= max(10 * self.tick_seconds, 30.0) else "STALLED"
        return f"{state}: last pass {age:.0f} s ago, {self.stats.edits} edits, " + (
            f"{self.stats.unchanged} unchanged renders skipped, {self.stats.rate_limited} 429s"
        )

    @property
    def running(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("Dashboard scheduler tick failed")
            self._wake.clear()
            waiters = {
                asyncio.ensure_future(self._wake.wait()),
                asyncio.ensure_future(self.sleep(self.tick_seconds)),
            }
            try:
                await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for waiter in waiters:
                    waiter.cancel()

    def due(self) -> list[Entry]:
        now = self.clock()
        return sorted(
            (
                e
                for e in self.entries.values()
                if e.next_due <= now and e.stopped is None and self.owns(e.guild_id)
            ),
            key=lambda e: e.next_due,
        )

    async def tick(self) -> None:
        """Render every due dashboard; queue a send where its message must change."""
        self.stats.last_tick = self.clock()
        for entry in self.due():
            entry.next_due = self.clock() + entry.interval
            try:
                rendered = await entry.render()
            except Exception:
                self.stats.errors += 1
                log.exception("Rendering dashboard %s failed", entry.dashboard_id)
                continue
            self.stats.renders += 1
            unchanged = rendered.digest == entry.last_hash and entry.message_id is not None
            if unchanged and entry.verified and not entry.force:
                self.stats.unchanged += 1
                continue
            force, entry.force = entry.force, False
            self._pending.setdefault(entry.channel_id, {})[entry.dashboard_id] = (
                entry,
                rendered,
                force,
            )
            self._ensure_worker(entry.channel_id)

    def _ensure_worker(self, channel_id: int) -> None:
        worker = self._workers.get(channel_id)
        if worker is None or worker.done():
            self._workers[channel_id] = asyncio.create_task(
                self._drain(channel_id), name=f"dashboard-channel-{channel_id}"
            )

    async def idle(self) -> None:
        """Wait until no channel has sends queued or in flight."""
        while any(not w.done() for w in self._workers.values()):
            await asyncio.gather(*self._workers.values(), return_exceptions=True)

    async def _drain(self, channel_id: int) -> None:
        queue = self._pending.setdefault(channel_id, {})
        while queue and not self._closing:
            dashboard_id = next(iter(queue))
            wait = self.budget.wait_time(channel_id, old=self.edits_old(queue[dashboard_id][0]))
            if wait > 0:
                await self.sleep(wait)
                continue
            entry, rendered, force = queue.pop(dashboard_id)
            if self.entries.get(dashboard_id) is not entry or entry.stopped:
                continue
            if (
                not force
                and entry.verified
                and entry.message_id is not None
                and rendered.digest == entry.last_hash
            ):
                # Queued while an earlier send of the same content was in flight.
                self.stats.unchanged += 1
                continue
            try:
                await self._send(entry, rendered)
                self._backoff.pop(channel_id, None)
            except RateLimited as exc:
                self.stats.rate_limited += 1
                delay = min(
                    max(exc.retry_after, self._backoff.get(channel_id, 0.5) * 2), self.max_backoff
                )
                self._backoff[channel_id] = delay
                self.budget.block(channel_id, delay)
                log.warning("Channel %s rate limited; backing off %.1f s", channel_id, delay)
                queue.setdefault(dashboard_id, (entry, rendered, force))
            except ChannelGone as exc:
                entry.stopped = str(exc) or "the channel is gone"
                self.stats.errors += 1
                await self.persistence.failed(entry.dashboard_id, entry.stopped)
            except Exception:
                self.stats.errors += 1
                log.exception("Updating dashboard %s failed", dashboard_id)

    def edits_old(self, entry: Entry) -> bool:
        """Whether the next send of `entry` is an edit of a message older than an hour
        (a minute early: Discord's clock and ours may differ)."""
        if entry.message_id is None:
            return False
        return self.message_age(entry.message_id) >= OLD_MESSAGE_AGE - 60

    async def _bounded(self, call: Awaitable[T]) -> T:
        """An idempotent call (edit, look-up) that may not hang the channel's worker: a
        client stuck in its own rate-limit wait counts as rate limited and is retried.
        Posts are never cut off this way (a post cut off may still land: a duplicate)."""
        try:
            return await asyncio.wait_for(call, self.call_timeout)
        except TimeoutError:
            self.stats.timeouts += 1
            log.warning("A dashboard request took over %.0f s; retrying later", self.call_timeout)
            raise RateLimited(self.call_timeout / 4) from None

    async def _send(self, entry: Entry, rendered: Rendered) -> None:
        self.check_channel(entry.guild_id, entry.channel_id)
        if (
            entry.message_id is not None
            and not entry.verified
            and (rendered.digest == entry.last_hash)
        ):
            # After a restart: the payload is unchanged, but is the message still there?
            exists = await self._bounded(self.publisher.exists(entry.channel_id, entry.message_id))
            entry.verified = True
            if exists:
                self.stats.unchanged += 1
                return
            entry.message_id = None
            self.stats.reposts += 1
        if entry.message_id is not None:
            old = self.edits_old(entry)
            try:
                await self._bounded(
                    self.publisher.edit(entry.channel_id, entry.message_id, rendered)
                )
            except MessageGone:
                self.budget.record(entry.channel_id, old=old)
                log.info("Dashboard %s's message was deleted; posting it again", entry.dashboard_id)
                entry.message_id = None
                self.stats.reposts += 1
            except BaseException:
                self.budget.record(entry.channel_id, old=old)
                raise
            else:
                self.budget.record(entry.channel_id, old=old)
                entry.verified = True
                entry.last_hash = rendered.digest
                self.stats.edits += 1
                await self.persistence.message_edited(entry.dashboard_id, rendered.digest)
                return
            wait = self.budget.wait_time(entry.channel_id)
            if wait > 0:
                await self.sleep(wait)
        if entry.post_nonce is None:
            entry.post_nonce = new_nonce(entry.dashboard_id)
            await self.persistence.post_intended(entry.dashboard_id, entry.post_nonce)
        try:
            message_id = await self.publisher.post(entry.channel_id, rendered, entry.post_nonce)
        finally:
            self.budget.record(entry.channel_id)
        entry.post_nonce = None
        entry.message_id = message_id
        entry.verified = True
        entry.last_hash = rendered.digest
        self.stats.posts += 1
        await self.persistence.message_posted(entry.dashboard_id, message_id, rendered.digest)
