"""Share one run of an async call among everyone who asks while it runs."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


class Coalesced[T]:
    """`await coalesced()` returns the result of a run of `call` that *started after* the
    caller asked: a caller arriving while a run is in progress waits for the next run,
    which it shares with everyone else who arrived meanwhile. So at most two runs are ever
    pending, however many callers there are, and no caller gets a result older than its
    question (what a freshness check needs)."""

    def __init__(
        self,
        call: Callable[[], Awaitable[T]],
        *,
        fresh_for: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`fresh_for` > 0 trades freshness for speed, for answers where that is fine: the
        last outcome (result or error) is handed out again while it is at most that many
        seconds old, and once older, while a new run in the background replaces it. No
        caller then waits for a run but the very first."""
        self._call = call
        self._fresh_for = fresh_for
        self._clock = clock
        self._last: tuple[float, T | BaseException] | None = None
        self._running: asyncio.Future[T] | None = None
        self._queued: asyncio.Future[T] | None = None
        self._started = False  # whether the running call has begun (callers may still join)
        self._tasks: set[asyncio.Task[None]] = set()

    async def __call__(self) -> T:
        if self._fresh_for > 0 and self._last is not None:
            taken_at, outcome = self._last
            if self._clock() - taken_at > self._fresh_for and self._running is None:
                self._running = self._new_future()
                self._start(self._running)  # refresh in the background
            if isinstance(outcome, BaseException):
                raise outcome
            return outcome
        if self._running is None:
            future = self._running = self._new_future()
            self._start(future)
        elif not self._started:
            future = self._running  # created but not yet begun: it starts after us
        else:
            if self._queued is None:
                self._queued = self._new_future()
            future = self._queued
        return await asyncio.shield(future)

    def _new_future(self) -> asyncio.Future[T]:
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        # A caller that went away must not leave an unretrieved exception behind.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        return future

    def _start(self, future: asyncio.Future[T]) -> None:
        task = asyncio.create_task(self._run(future))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, future: asyncio.Future[T]) -> None:
        self._started = True
        started = self._clock()
        try:
            result = await self._call()
        except Exception as exc:
            if self._fresh_for > 0:
                self._last = (started, exc)
            future.set_exception(exc)
        else:
            if self._fresh_for > 0:
                self._last = (started, result)
            future.set_result(result)
        finally:
            queued, self._queued = self._queued, None
            self._running, self._started = queued, False
            if queued is not None:
                self._start(queued)


class CoalescedMap[K, T]:
    """A `Coalesced` per key (one server, one name): `await reads(key)` returns the result of
    a run of `call(key)` that started after the caller asked, shared with everyone asking
    for that key meanwhile. At most `limit` keys are kept (all dropped when full)."""

    def __init__(self, call: Callable[[K], Awaitable[T]], *, limit: int = 1024) -> None:
        self._call = call
        self._limit = limit
        self._by_key: dict[K, Coalesced[T]] = {}

    async def __call__(self, key: K) -> T:
        read = self._by_key.get(key)
        if read is None:
            if len(self._by_key) >= self._limit:
                self._by_key.clear()
            read = self._by_key[key] = Coalesced(lambda: self._call(key))
        return await read()


class VersionedReads[K, T]:
    """A `CoalescedMap` whose answers are kept per key with the version of a shared counter
    they were read at (a `state_versions` scope, bumped by database triggers on every write,
    whoever writes). `await reads(key, version)` returns the kept answer while `version`
    stays the same, since nothing was written; a new version, or None (no counter known),
    reads again. The caller reads the counter before calling, so a write committed before
    the question is always seen. At most `limit` keys are kept (all dropped when full)."""

    def __init__(self, call: Callable[[K], Awaitable[T]], *, limit: int = 1000) -> None:
        self._read = CoalescedMap(call, limit=limit)
        self._limit = limit
        self._kept: dict[K, tuple[int, T]] = {}

    async def __call__(self, key: K, version: int | None = None) -> T:
        if version is not None:
            kept = self._kept.get(key)
            if kept is not None and kept[0] == version:
                return kept[1]
        value = await self._read(key)
        if version is not None:
            if len(self._kept) >= self._limit:
                self._kept.clear()
            self._kept[key] = (version, value)
        return value
