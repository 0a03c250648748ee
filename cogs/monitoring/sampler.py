"""The sampling loop: every `interval` seconds, all periodic collectors run concurrently,
each bounded by its own timeout; blocking ones run in worker threads. A collector still
busy from an earlier tick is skipped rather than piled up.

Before the first real sample the loop primes every collector once and throws that reading
away: rates and psutil's CPU percentages are "since the previous call", so the first
reading after a start is meaningless (0 % CPU), and a rule evaluated on it would post a
false recovery. Snapshots taken before priming are marked `primed=False`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from cogs.monitoring.collectors import Reading, unavailable

log = logging.getLogger(__name__)

MIN_INTERVAL_S = 2.0
PRIME_GAP_S = 1.0  # between the priming reading and the first real one


@dataclass
class Source:
    """One periodic collector: `collect` is sync (run in a thread) or async."""

    name: str
    collect: Callable[[], Reading] | Callable[[], Awaitable[Reading]]
    timeout_s: float = 5.0
    blocking: bool = False
    _busy: Future | None = field(default=None, repr=False)


@dataclass
class Snapshot:
    host: str
    ts: float
    metrics: dict[str, float]
    info: dict[str, dict[str, Any]]
    status: dict[str, str]  # collector -> "ok" or why it gave nothing
    primed: bool = True  # False: taken before the collectors were primed; not for alerts


class Sampler:
    def __init__(
        self,
        host: str,
        sources: list[Source],
        *,
        interval_s: float = 10.0,
        on_sample: Callable[[Snapshot], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.host = host
        self.sources = sources
        self.interval_s = max(MIN_INTERVAL_S, interval_s)
        self.on_sample = on_sample
        self.clock = clock
        self.latest: Snapshot | None = None
        self.ticks = 0
        self.primed = False
        # More than one bot process on one host: only the one allowed samples it (one
        # sample per interval per host); the others call `on_idle` on the same schedule.
        self.may_sample: Callable[[], Awaitable[bool]] | None = None
        self.on_idle: Callable[[], Awaitable[None]] | None = None
        self.sampling: bool | None = None  # as last decided (logged when it changes)
        self._threads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="monitoring")

    async def _one(self, source: Source) -> Reading:
        if source.blocking:
            if source._busy is not None and not source._busy.done():
                return unavailable(f"still busy after its {source.timeout_s:g} s timeout")
            future = self._threads.submit(source.collect)
            source._busy = future
            try:
                return await asyncio.wait_for(asyncio.wrap_future(future), source.timeout_s)
            except TimeoutError:
                return unavailable(f"timed out after {source.timeout_s:g} s")
        try:
            return await asyncio.wait_for(source.collect(), source.timeout_s)  # type: ignore[arg-type]
        except TimeoutError:
            return unavailable(f"timed out after {source.timeout_s:g} s")

    async def prime(self) -> None:
        """Read every collector once and discard it, so counters have a starting point."""
        await asyncio.gather(
            *(self._one(source) for source in self.sources), return_exceptions=True
        )
        self.primed = True

    async def tick(self) -> Snapshot:
        ts = self.clock()
        primed = self.primed
        readings = await asyncio.gather(
            *(self._one(source) for source in self.sources), return_exceptions=True
        )
        metrics: dict[str, float] = {}
        info: dict[str, dict[str, Any]] = {}
        status: dict[str, str] = {}
        for source, reading in zip(self.sources, readings, strict=True):
            if isinstance(reading, BaseException):  # a collector broke its promise
                log.warning("Collector %s raised %r", source.name, reading)
                reading = unavailable(f"{type(reading).__name__}: {reading}")
            status[source.name] = "ok" if reading.ok else str(reading.unavailable)
            metrics.update(reading.metrics)
            info[source.name] = reading.info
        snapshot = Snapshot(self.host, ts, metrics, info, status, primed)
        self.latest = snapshot
        self.ticks += 1
        if self.on_sample is not None:
            try:
                await self.on_sample(snapshot)
            except Exception:
                log.exception("Storing or evaluating a sample failed")
        return snapshot

    async def run(self, stop: asyncio.Event, first_delay_s: float = 0.0) -> None:
        """Tick on a fixed schedule (no drift) until `stop` is set. A tick in progress is
        never cancelled halfway: it may be writing to the database."""
        if await sleep_unless_stopped(stop, first_delay_s):
            return
        if not self.primed:
            await self.prime()
            if await sleep_unless_stopped(stop, min(PRIME_GAP_S, self.interval_s)):
                return
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        while not stop.is_set():
            allowed = self.may_sample is None or await self._allowed()
            if allowed != self.sampling:
                self.sampling = allowed
                if allowed:
                    log.info("Sampling host %s every %g s", self.host, self.interval_s)
                else:
                    log.info("Another bot process samples host %s", self.host)
            if allowed:
                await self.tick()
            elif self.on_idle is not None:  # another process samples this host
                try:
                    await self.on_idle()
                except Exception:
                    log.exception("Between samples of another process")
            next_at += self.interval_s
            delay = next_at - loop.time()
            if delay < 0:  # fell behind (a suspended host): skip missed ticks
                next_at = loop.time() + self.interval_s
                delay = self.interval_s
            if await sleep_unless_stopped(stop, delay):
                return

    async def _allowed(self) -> bool:
        assert self.may_sample is not None
        try:
            return await self.may_sample()
        except Exception:
            log.exception("Could not ask whether to sample")
            return False

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)


async def sleep_unless_stopped(stop: asyncio.Event, seconds: float) -> bool:
    """Sleep `seconds` unless `stop` is set first; True when stopping."""
    try:
        await asyncio.wait_for(stop.wait(), seconds)
    except TimeoutError:
        return False
    return True
