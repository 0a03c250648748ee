"""A small cache: get/set with TTL, delete and a lock. In-process by default, Redis when
REDIS_URL is set; if Redis goes away the bot carries on with the in-process cache."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

log = logging.getLogger(__name__)


class CacheLockTimeout(TimeoutError):
    """The lock was not acquired within the time allowed."""


def cache_state(cache: object) -> str:
    """How the cache is doing, for health checks: "ok", or "degraded (memory)" while a
    FallbackCache serves from the in-process cache because Redis is unreachable."""
    return "degraded (memory)" if getattr(cache, "degraded", False) else "ok"


class Cache(Protocol):
    async def get(self, key: str) -> Any | None: ...
    async def set(self, key: str, value: Any, ttl: float | None = None) -> None: ...
    async def delete(self, key: str) -> None: ...
    def lock(
        self, name: str, timeout: float = 10.0, wait: float = 10.0
    ) -> AbstractAsyncContextManager[None]: ...
    async def ping(self) -> bool: ...
    async def close(self) -> None: ...


class MemoryCache:
    """In-process cache; values are JSON round-tripped so both backends behave alike."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._items: dict[str, tuple[str, float | None]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def get(self, key: str) -> Any | None:
        item = self._items.get(key)
        if item is None:
            return None
        payload, expires = item
        if expires is not None and self._clock() >= expires:
            del self._items[key]
            return None
        return json.loads(payload)

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        expires = self._clock() + ttl if ttl is not None else None
        self._items[key] = (json.dumps(value), expires)
        if len(self._items) > 10_000:
            self._evict_expired()

    async def delete(self, key: str) -> None:
        self._items.pop(key, None)

    def _evict_expired(self) -> None:
        now = self._clock()
        for key in [k for k, (_, exp) in self._items.items() if exp is not None and now >= exp]:
            del self._items[key]

    @asynccontextmanager
    async def lock(
        self, name: str, timeout: float = 10.0, wait: float = 10.0
    ) -> AsyncIterator[None]:
        lock = self._locks.setdefault(name, asyncio.Lock())
        try:
            await asyncio.wait_for(lock.acquire(), wait)
        except TimeoutError:
            raise CacheLockTimeout(f"cache lock {name!r} not acquired within {wait} s") from None
        try:
            yield
        finally:
            lock.release()

    async def ping(self) -> bool:
        return True

    async def close(self) -> None:
        self._items.clear()


_RELEASE_SCRIPT = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""


class RedisCache:
    """Redis-backed cache; keys are namespaced so several bots can share one server."""

    def __init__(self, client: Any, prefix: str = "foundrycord:") -> None:
        self._client = client
        self._prefix = prefix

    @classmethod
    def from_url(cls, url: str, prefix: str = "foundrycord:") -> RedisCache:
        import redis.asyncio as redis

        client = redis.from_url(
            url, socket_connect_timeout=2, socket_timeout=2, health_check_interval=30
        )
        return cls(client, prefix)

    def _key(self, key: str) -> str:
        return self._prefix + key

    async def get(self, key: str) -> Any | None:
        raw = await self._client.get(self._key(key))
        return None if raw is None else json.loads(raw)

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        px = max(1, int(ttl * 1000)) if ttl is not None else None
        await self._client.set(self._key(key), json.dumps(value), px=px)

    async def delete(self, key: str) -> None:
        await self._client.delete(self._key(key))

    @asynccontextmanager
    async def lock(
        self, name: str, timeout: float = 10.0, wait: float = 10.0
    ) -> AsyncIterator[None]:
        key, token = self._key("lock:" + name), uuid.uuid4().hex
        deadline = time.monotonic() + wait
        while not await self._client.set(key, token, nx=True, px=int(timeout * 1000)):
            if time.monotonic() >= deadline:
                raise CacheLockTimeout(f"cache lock {name!r} not acquired within {wait} s")
            await asyncio.sleep(0.05)
        try:
            yield
        finally:
            await self._client.eval(_RELEASE_SCRIPT, 1, key, token)

    async def forget(self, keys: set[str]) -> None:
        """Delete `keys` at once (or just check the connection when there are none)."""
        if keys:
            await self._client.delete(*(self._key(k) for k in keys))
        else:
            await self._client.ping()

    async def ping(self) -> bool:
        try:
            return bool(await self._client.ping())
        except Exception:
            return False

    async def check(self) -> None:
        """Ping Redis; raises the connection error when it does not answer."""
        await self._client.ping()

    async def close(self) -> None:
        await self._client.aclose()


def _is_connection_error(exc: BaseException) -> bool:
    import redis.exceptions

    return isinstance(
        exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError | OSError
    )


class FallbackCache:
    """Uses Redis while it answers; on a connection failure switches to the in-process cache
    with one warning, and tries Redis again after `retry_after` seconds.

    Keys written or deleted during an outage are deleted from Redis before it is used again,
    so a value from before the outage is never served after it (a cache may forget, but must
    not answer stale). A lock taken during an outage is only held in this process."""

    def __init__(
        self,
        primary: RedisCache,
        fallback: MemoryCache | None = None,
        retry_after: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.fallback = fallback or MemoryCache()
        self._retry_after = retry_after
        self._clock = clock
        self._down_since: float | None = None
        self._touched: set[str] = set()

    @property
    def degraded(self) -> bool:
        return self._down_since is not None

    def _went_down(self, exc: BaseException) -> None:
        if self._down_since is None:
            log.warning(
                "Redis is unreachable (%s); using the in-process cache until it is back",
                type(exc).__name__,
            )
        self._down_since = self._clock()

    async def _primary_ready(self) -> bool:
        """True when Redis may be used; after an outage, first forgets what changed in it."""
        if self._down_since is None:
            return True
        if self._clock() - self._down_since < self._retry_after:
            return False
        try:
            await self.primary.forget(self._touched)
        except Exception as exc:
            if not _is_connection_error(exc):
                raise
            self._went_down(exc)
            return False
        self._touched.clear()
        self._down_since = None
        log.info("Redis is reachable again; using it as the cache")
        return True

    async def _call(self, name: str, key: str, *args: Any) -> Any:
        if await self._primary_ready():
            try:
                return await getattr(self.primary, name)(key, *args)
            except Exception as exc:
                if not _is_connection_error(exc):
                    raise
                self._went_down(exc)
        if name != "get":
            self._touched.add(key)
        return await getattr(self.fallback, name)(key, *args)

    async def get(self, key: str) -> Any | None:
        return await self._call("get", key)

    async def set(self, key: str, value: Any, ttl: float | None = None) -> None:
        await self._call("set", key, value, ttl)

    async def delete(self, key: str) -> None:
        await self._call("delete", key)

    @asynccontextmanager
    async def lock(
        self, name: str, timeout: float = 10.0, wait: float = 10.0
    ) -> AsyncIterator[None]:
        if await self._primary_ready():
            held = self.primary.lock(name, timeout, wait)
            try:
                await held.__aenter__()
            except Exception as exc:
                if not _is_connection_error(exc):
                    raise
                self._went_down(exc)
            else:
                try:
                    yield
                finally:
                    try:
                        await held.__aexit__(None, None, None)
                    except Exception as exc:
                        # Redis went away while held: the lock expires there on its own.
                        if not _is_connection_error(exc):
                            raise
                        self._went_down(exc)
                return
        async with self.fallback.lock(name, timeout, wait):
            yield

    async def ping(self) -> bool:
        """True while some cache works; `degraded` says whether it is the in-process one.

        Asks Redis itself, so a health check notices (and logs) an outage even when nothing
        else has used the cache since Redis went away."""
        if await self._primary_ready():
            try:
                await self.primary.check()
            except Exception as exc:
                if not _is_connection_error(exc):
                    raise
                self._went_down(exc)
        return True

    async def close(self) -> None:
        await self.primary.close()
        await self.fallback.close()


def create_cache(redis_url: str | None) -> Cache:
    if not redis_url:
        return MemoryCache()
    return FallbackCache(RedisCache.from_url(redis_url))
