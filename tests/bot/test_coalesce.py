"""Coalesced: concurrent callers share runs, and nobody gets a run older than its question."""

from __future__ import annotations

import asyncio

import pytest

from bot.coalesce import Coalesced, CoalescedMap, VersionedReads


async def test_concurrent_callers_share_at_most_two_runs() -> None:
    runs = 0

    async def call() -> int:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.01)
        return runs

    coalesced = Coalesced(call)
    results = await asyncio.gather(*(coalesced() for _ in range(100)))
    assert runs == 1 and set(results) == {1}
    first = asyncio.create_task(coalesced())
    await asyncio.sleep(0)  # the run has started
    later = await asyncio.gather(*(coalesced() for _ in range(50)))
    assert await first == 2
    assert set(later) == {3}  # started after they asked, shared by all fifty
    assert runs == 3


async def test_errors_reach_every_caller_and_the_next_run_starts_fresh() -> None:
    fail = True

    async def call() -> str:
        await asyncio.sleep(0.01)
        if fail:
            raise ConnectionRefusedError("down")
        return "up"

    coalesced = Coalesced(call)
    results = await asyncio.gather(*(coalesced() for _ in range(10)), return_exceptions=True)
    assert all(isinstance(r, ConnectionRefusedError) for r in results)
    fail = False
    assert await coalesced() == "up"


async def test_a_caller_that_gives_up_does_not_disturb_the_others() -> None:
    async def call() -> str:
        await asyncio.sleep(0.05)
        return "done"

    coalesced = Coalesced(call)
    impatient = asyncio.create_task(coalesced())
    patient = asyncio.create_task(coalesced())
    await asyncio.sleep(0.01)
    impatient.cancel()
    with pytest.raises(asyncio.CancelledError):
        await impatient
    assert await patient == "done"


async def test_fresh_for_hands_out_the_last_outcome_and_refreshes_in_the_background() -> None:
    now = [100.0]
    answers = ["first", "second"]
    runs = 0

    async def call() -> str:
        nonlocal runs
        runs += 1
        await asyncio.sleep(0.01)
        answer = answers[runs - 1]
        if answer == "down":
            raise ConnectionRefusedError(answer)
        return answer

    coalesced = Coalesced(call, fresh_for=1.0, clock=lambda: now[0])
    assert await coalesced() == "first"  # nothing yet: the first caller waits for a run
    now[0] += 0.5
    assert await coalesced() == "first" and runs == 1  # fresh: no run
    now[0] += 1.0
    assert await coalesced() == "first"  # stale: handed out while a refresh runs
    await asyncio.sleep(0.05)
    assert runs == 2
    assert await coalesced() == "second"
    answers.append("down")
    now[0] += 2
    await coalesced()
    await asyncio.sleep(0.05)
    with pytest.raises(ConnectionRefusedError):  # errors are outcomes too
        await coalesced()


async def test_a_map_shares_runs_per_key_and_each_read_sees_earlier_writes() -> None:
    stored = {"a": 1, "b": 10}
    runs: list[str] = []

    async def read(key: str) -> int:
        runs.append(key)
        await asyncio.sleep(0.01)
        return stored[key]

    reads = CoalescedMap(read, limit=2)
    results = await asyncio.gather(*(reads(k) for k in "ababab"))
    assert results == [1, 10, 1, 10, 1, 10] and sorted(runs) == ["a", "b"]
    stored["a"] = 2  # a write: the next read shows it
    assert await reads("a") == 2
    stored["c"] = 0
    assert await reads("c") == 0  # a third key: past the limit, the map starts again
    assert await reads("b") == 10 and await reads("a") == 2


async def test_versioned_reads_keep_an_answer_while_its_version_stays() -> None:
    source = {"a": 1, "b": 2}
    reads: list[str] = []

    async def read(key: str) -> int:
        reads.append(key)
        return source[key]

    versioned = VersionedReads(read, limit=2)
    assert await versioned("a", 7) == 1
    source["a"] = 10  # written, but the counter was read before: not seen yet
    assert await versioned("a", 7) == 1
    assert reads == ["a"]
    assert await versioned("a", 8) == 10  # the counter moved: read again
    assert await versioned("a", 8) == 10 and reads == ["a", "a"]
    assert await versioned("a") == 10 and await versioned("a") == 10  # no counter: every time
    assert reads == ["a"] * 4
    assert await versioned("a", 8) == 10 and reads == ["a"] * 4  # kept again
    source["c"] = 3
    await versioned("b", 8)
    assert await versioned("c", 9) == 3  # a third key past `limit`: the kept ones dropped
    assert await versioned("a", 8) == 10 and reads == ["a"] * 4 + ["b", "c", "a"]
