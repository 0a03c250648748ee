"""The cache on both backends, and the fall-back when Redis goes away while running."""

from __future__ import annotations

import asyncio
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.cache import Cache, CacheLockTimeout, FallbackCache, MemoryCache, RedisCache
from tests import backends

pytestmark = pytest.mark.backend


@pytest.fixture(params=["memory", "redis"])
async def cache(
    request: pytest.FixtureRequest, redis_reason: str | None, redis_prefix: str
) -> AsyncIterator[Cache]:
    if request.param == "memory":
        yield MemoryCache()
        return
    if redis_reason:
        pytest.skip(redis_reason)
    redis_cache = RedisCache.from_url(backends.REDIS_URL, prefix=redis_prefix)
    yield redis_cache
    await redis_cache.close()


async def test_set_get_delete_round_trip(cache: Cache) -> None:
    await cache.set("k1", {"a": [1, 2], "b": None})
    assert await cache.get("k1") == {"a": [1, 2], "b": None}
    await cache.delete("k1")
    assert await cache.get("k1") is None
    assert await cache.get("never-set") is None


async def test_values_expire_after_their_ttl(cache: Cache) -> None:
    # Both backends keep milliseconds (Redis: PX), so a short TTL proves expiry quickly.
    await cache.set("short", "x", ttl=0.3)
    await cache.set("long", "y", ttl=600)
    assert await cache.get("short") == "x"
    for _ in range(500):  # expiry is the backend's own clock: wait for it, up to 10 s
        if await cache.get("short") is None:
            break
        await asyncio.sleep(0.02)
    assert await cache.get("short") is None
    assert await cache.get("long") == "y"


async def test_lock_serialises_holders_and_times_out(cache: Cache) -> None:
    order: list[str] = []

    async def holder(name: str) -> None:
        async with cache.lock("job"):
            order.append(f"{name}-in")
            await asyncio.sleep(0.05)
            order.append(f"{name}-out")

    await asyncio.gather(holder("a"), holder("b"))
    assert order in (["a-in", "a-out", "b-in", "b-out"], ["b-in", "b-out", "a-in", "a-out"])

    async with cache.lock("busy"):
        with pytest.raises(CacheLockTimeout, match="'busy'"):
            async with cache.lock("busy", wait=0.1):
                pass


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_redis(port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    # An append-only file synced on every write: what was stored survives a kill -9, so a
    # restarted server still holds the values from before the outage.
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            str(data_dir),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    process.kill()
    raise RuntimeError("private redis-server did not start")


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[tuple[int, list[subprocess.Popen[bytes]]]]:
    """A redis-server of this test's own, so it can be stopped mid-test."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed, so Redis cannot be stopped mid-test")
    port = _free_port()
    processes = [_start_redis(port, tmp_path)]
    yield port, processes
    for process in processes:
        process.kill()
        process.wait()


async def test_redis_going_away_falls_back_with_one_warning(
    private_redis: tuple[int, list[subprocess.Popen[bytes]]],
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    port, processes = private_redis
    now = [0.0]
    cache = FallbackCache(
        RedisCache.from_url(f"redis://127.0.0.1:{port}/0"), retry_after=30, clock=lambda: now[0]
    )
    try:
        await cache.set("before", 1)
        await cache.set("stale", "old")
        assert await cache.get("before") == 1
        assert not cache.degraded

        processes[0].kill()
        processes[0].wait()
        caplog.set_level(logging.INFO, logger="bot.cache")
        await cache.delete("stale")  # only the in-process cache sees this
        for i in range(20):
            await cache.set(f"during-{i}", i)
            assert await cache.get(f"during-{i}") == i
        async with cache.lock("still-works", wait=0.5):
            pass
        assert cache.degraded
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 1 and "in-process cache" in warnings[0].getMessage()

        processes.append(_start_redis(port, tmp_path))
        now[0] += 31  # past retry_after: the next call tries Redis again
        await cache.set("after", "back")
        assert not cache.degraded
        assert await cache.get("after") == "back"
        assert await cache.get("stale") is None  # deleted during the outage: not resurrected
        assert await cache.get("before") == 1  # untouched keys are still served from Redis
        assert any("reachable again" in r.getMessage() for r in caplog.records)
    finally:
        await cache.close()


async def test_memory_cache_honours_an_injected_clock() -> None:
    now = [100.0]
    cache = MemoryCache(clock=lambda: now[0])
    await cache.set("k", "v", ttl=10)
    now[0] += 9.9
    assert await cache.get("k") == "v"
    now[0] += 0.2
    assert await cache.get("k") is None
