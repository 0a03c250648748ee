"""The left-guild purge task: first pass after READY, then on its interval; never the guilds
the bot is in; off with a retention of 0; a pass in progress finishes at shutdown."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from bot.guild_purge import LeftGuildPurge


class FakeAccess:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls: list[tuple[timedelta, set[int]]] = []
        self.finished = 0
        self.delay = delay
        self.changed = asyncio.Condition()

    async def purge_left(self, retention: timedelta, *, keep: object) -> list[int]:
        self.calls.append((retention, set(keep)))  # type: ignore[call-overload]
        async with self.changed:
            self.changed.notify_all()
        await asyncio.sleep(self.delay)
        self.finished += 1
        return []

    async def until(self, condition, timeout: float = 5.0) -> None:  # type: ignore[no-untyped-def]
        async with asyncio.timeout(timeout), self.changed:
            await self.changed.wait_for(condition)


async def test_the_first_pass_waits_for_ready_then_repeats_keeping_current_guilds() -> None:
    access = FakeAccess()
    ready = asyncio.Event()
    purge = LeftGuildPurge(
        access,  # type: ignore[arg-type]
        30,
        current_guilds=lambda: [7, 8],
        wait_ready=ready.wait,
        interval=0.01,
    )
    purge.start()
    await asyncio.sleep(0.05)
    assert access.calls == []  # not before READY: it would not know which guilds it is in
    ready.set()
    await access.until(lambda: len(access.calls) >= 3)
    await purge.stop()
    assert access.calls[0] == (timedelta(days=30), {7, 8})


async def test_a_retention_of_zero_keeps_everything() -> None:
    access = FakeAccess()
    purge = LeftGuildPurge(access, 0, interval=0.01)  # type: ignore[arg-type]
    purge.start()
    assert await purge.run_once() == []
    await asyncio.sleep(0.03)
    await purge.stop()
    assert access.calls == []


async def test_stop_lets_a_pass_in_progress_finish() -> None:
    access = FakeAccess(delay=0.1)
    purge = LeftGuildPurge(access, 30, interval=60)  # type: ignore[arg-type]
    purge.start()
    await access.until(lambda: access.calls)
    await purge.stop()
    assert access.finished == 1  # not cancelled half-way through its query


async def test_only_the_leader_purges() -> None:
    """With several bot processes one purges for the whole bot: the others' passes do
    nothing (each knows only its own guilds, not which the bot is in)."""
    access = FakeAccess()
    leading = False
    purge = LeftGuildPurge(access, 30, should_run=lambda: leading)  # type: ignore[arg-type]
    assert await purge.run_once() == [] and access.calls == []
    leading = True
    await purge.run_once()
    assert len(access.calls) == 1
