"""The sampling loop: concurrency, per-collector timeouts, blocking work off the loop."""

from __future__ import annotations

import asyncio
import threading
import time

from cogs.monitoring.collectors import Reading
from cogs.monitoring.sampler import MIN_INTERVAL_S, PRIME_GAP_S, Sampler, Source


async def test_a_slow_collector_delays_neither_the_others_nor_the_loop() -> None:
    release = threading.Event()
    threads: list[str] = []

    def stuck() -> Reading:
        threads.append(threading.current_thread().name)
        release.wait(5)
        return Reading({"slow.value": 1})

    async def quick() -> Reading:
        return Reading({"quick.value": 2})

    async def broken() -> Reading:
        raise RuntimeError("boom")

    stored = []

    async def store(snapshot) -> None:  # type: ignore[no-untyped-def]
        stored.append(snapshot)

    sampler = Sampler(
        "lab",
        [
            Source("slow", stuck, timeout_s=0.2, blocking=True),
            Source("quick", quick),
            Source("broken", broken),
        ],
        on_sample=store,
        clock=lambda: 1234.0,
    )
    try:
        # the event loop stays free while the blocking collector waits in its thread
        beats = 0

        async def heartbeat() -> None:
            nonlocal beats
            while True:
                beats += 1
                await asyncio.sleep(0.01)

        beat = asyncio.create_task(heartbeat())
        started = time.monotonic()
        snapshot = await sampler.tick()
        beat.cancel()
        assert time.monotonic() - started < 2
        assert beats >= 5
        assert snapshot.metrics == {"quick.value": 2}
        assert snapshot.status["slow"] == "timed out after 0.2 s"
        assert snapshot.status["quick"] == "ok"
        assert "boom" in snapshot.status["broken"]
        assert threads[0].startswith("monitoring")
        assert stored == [snapshot] and snapshot.host == "lab" and snapshot.ts == 1234.0

        # still stuck: the next tick does not start a second copy
        again = await sampler.tick()
        assert again.status["slow"].startswith("still busy")
        assert len(threads) == 1
        release.set()
        await asyncio.sleep(0.05)
        third = await sampler.tick()
        assert third.metrics["slow.value"] == 1
    finally:
        release.set()
        sampler.close()


def test_interval_has_a_floor() -> None:
    assert Sampler("h", [], interval_s=0.1).interval_s == MIN_INTERVAL_S


async def test_run_ticks_on_schedule() -> None:
    async def quick() -> Reading:
        return Reading({"x": 1})

    sampler = Sampler("h", [Source("q", quick)], interval_s=2)
    stop = asyncio.Event()
    task = asyncio.create_task(sampler.run(stop))
    await asyncio.sleep(0.1)
    assert sampler.primed and sampler.ticks == 0  # primed at once, first sample 1 s later
    await asyncio.sleep(PRIME_GAP_S)
    stop.set()
    await asyncio.wait_for(task, 1)  # stops at once, between ticks
    assert sampler.ticks == 1  # the first real tick, the next one 2 s later
    sampler.close()


async def test_a_wrong_host_proc_turns_the_system_collector_off_with_the_reason(
    tmp_path, sqlite_url: str
) -> None:  # type: ignore[no-untyped-def]
    from cogs.monitoring.monitor import Monitor

    monitor = Monitor(None, host_proc=str(tmp_path / "no-proc"))  # type: ignore[arg-type]
    monitor.sampler.on_sample = None
    snapshot = await monitor.sampler.tick()
    assert (
        "HOST_PROC=" in snapshot.status["system"] and "is not a folder" in snapshot.status["system"]
    )
    assert not any(key.startswith("mem.") for key in snapshot.metrics)
    await monitor.stop()
