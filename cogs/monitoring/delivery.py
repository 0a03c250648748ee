"""Alert delivery, outside the sampling tick: a task that sends what evaluation decided,
paced per channel and per rule, exactly once.

- Pacing: at most `CHANNEL_BURST` messages per `CHANNEL_WINDOW_S` in one channel (Discord's
  own per-channel limit, see shared/discord-limits.md) and at most `RULE_PER_MINUTE` events
  of one rule a minute, even with cooldown 0. A rule over its cap keeps only its newest
  event: the older ones are superseded (marked, never sent), so the channel still ends on
  the rule's current state.
- Exactly once: an event is claimed in the database before it is sent (with its nonce) and
  marked after. If marking fails after Discord accepted it, the next pass sees a claimed
  event and `send(event)` is told so (`event.claimed`): it looks for the message before
  sending again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from typing import Literal

from cogs.monitoring.alert_store import AlertStore, PendingEvent

log = logging.getLogger(__name__)

CHANNEL_BURST = 5
CHANNEL_WINDOW_S = 5.0
RULE_PER_MINUTE = 4
RULE_WINDOW_S = 60.0
RETRY_S = 30.0
IDLE_S = 60.0

# sent: Discord has it; refused: the rule points outside its server (never sent);
# dropped: the channel is gone or forbidden; retry: try again later.
Outcome = Literal["sent", "refused", "dropped", "retry"]
Sender = Callable[[PendingEvent], Awaitable[Outcome]]


class Pacer:
    """Sliding windows of send times per channel and per rule."""

    def __init__(self) -> None:
        self.channels: dict[int, deque[float]] = defaultdict(deque)
        self.rules: dict[int, deque[float]] = defaultdict(deque)

    @staticmethod
    def _wait(times: deque[float], limit: int, window: float, now: float) -> float:
        while times and times[0] <= now - window:
            times.popleft()
        return 0.0 if len(times) < limit else times[0] + window - now

    def channel_wait(self, channel_id: int, now: float) -> float:
        return self._wait(self.channels[channel_id], CHANNEL_BURST, CHANNEL_WINDOW_S, now)

    def rule_wait(self, rule_id: int, now: float) -> float:
        return self._wait(self.rules[rule_id], RULE_PER_MINUTE, RULE_WINDOW_S, now)

    def record(self, channel_id: int, rule_id: int, now: float) -> None:
        self.channels[channel_id].append(now)
        self.rules[rule_id].append(now)


class AlertDelivery:
    def __init__(
        self, store: AlertStore, *, clock: Callable[[], float], send: Sender | None = None
    ) -> None:
        self.store = store
        self.clock = clock
        self.send = send
        self.pacer = Pacer()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()

    def wake(self) -> None:
        """New events were decided: deliver them soon (never inside the caller)."""
        self._wake.set()

    async def run_once(self) -> float | None:
        """Send what may be sent now; the seconds until more may be sent, None when done."""
        async with self._lock:
            return await self._pass()

    async def _pass(self) -> float | None:
        if self.send is None:
            return None
        events = await self.store.unsent()
        newest: dict[int, int] = {}
        for event in events:
            newest[event.rule.id] = event.event_id
        next_in: float | None = None

        def later(seconds: float) -> None:
            nonlocal next_in
            next_in = seconds if next_in is None else min(next_in, seconds)

        for event in events:
            now = self.clock()
            rule = event.rule
            rule_wait = self.pacer.rule_wait(rule.id, now)
            if rule_wait > 0:
                if newest[rule.id] != event.event_id and not event.claimed:
                    await self.store.mark_sent(event.event_id, now, "superseded")
                    log.info(
                        "Alert #%s over its rate: event %s superseded", rule.id, event.event_id
                    )
                    continue
                later(rule_wait)
                continue
            channel_wait = self.pacer.channel_wait(rule.channel_id, now)
            if channel_wait > 0:
                later(channel_wait)
                continue
            await self.store.claim(event.event_id, now)
            try:
                outcome = await self.send(event)
            except Exception:
                log.exception("Sending alert event %s failed", event.event_id)
                outcome = "retry"
            if outcome == "retry":
                later(RETRY_S)
                continue
            if outcome == "sent":
                self.pacer.record(rule.channel_id, rule.id, now)
            try:
                await self.store.mark_sent(event.event_id, self.clock(), outcome)
            except Exception:
                # Discord may have it: the claim makes the next pass look before resending.
                log.exception("Marking alert event %s as %s failed", event.event_id, outcome)
                later(RETRY_S)
        return next_in

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop`: on each wake-up, and again when pacing allows more."""
        delay: float | None = 0.0
        while not stop.is_set():
            if delay is None or delay > 0:
                waker = asyncio.ensure_future(self._wake.wait())
                stopper = asyncio.ensure_future(stop.wait())
                await asyncio.wait(
                    {waker, stopper},
                    timeout=IDLE_S if delay is None else delay,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                waker.cancel()
                stopper.cancel()
                if stop.is_set():
                    return
            self._wake.clear()
            try:
                delay = await self.run_once()
            except Exception:
                log.exception("Alert delivery failed; retrying in %g s", RETRY_S)
                delay = RETRY_S
            else:
                if delay is not None:
                    delay = max(delay, 0.05)
