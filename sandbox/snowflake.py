"""Snowflake IDs with real timestamps, as Discord makes them."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

DISCORD_EPOCH_MS = 1420070400000


def snowflake_time_ms(snowflake: int) -> int:
    """Unix time in milliseconds encoded in ``snowflake``."""
    return (snowflake >> 22) + DISCORD_EPOCH_MS


def snowflake_datetime(snowflake: int) -> datetime:
    return datetime.fromtimestamp(snowflake_time_ms(snowflake) / 1000, tz=UTC)


def iso_timestamp(snowflake: int) -> str:
    """ISO 8601 time of a snowflake, the format Discord uses for timestamps."""
    return snowflake_datetime(snowflake).isoformat()


def snowflake_from_ms(ms: int) -> int:
    """The smallest snowflake at unix time ``ms`` (for before/after queries)."""
    return (ms - DISCORD_EPOCH_MS) << 22


class SnowflakeGenerator:
    """Makes strictly increasing snowflakes from the wall clock.

    ``next_for_shard`` picks a millisecond that puts the ID on a given shard, so
    tests can place guilds on shards without waiting.
    """

    def __init__(
        self, worker: int = 1, process: int = 0, clock: Callable[[], float] = time.time
    ) -> None:
        self._worker = worker & 0x1F
        self._process = process & 0x1F
        self._clock = clock
        self._last_ms = 0
        self._increment = 0

    def _compose(self, ms: int) -> int:
        if ms > self._last_ms:
            self._last_ms = ms
            self._increment = 0
        else:
            self._increment += 1
            if self._increment >= 4096:
                self._last_ms += 1
                self._increment = 0
        return (
            ((self._last_ms - DISCORD_EPOCH_MS) << 22)
            | (self._worker << 17)
            | (self._process << 12)
            | self._increment
        )

    def next(self) -> int:
        return self._compose(int(self._clock() * 1000))

    def next_for_shard(self, shard_id: int, shard_count: int) -> int:
        """A snowflake for which ``(id >> 22) % shard_count == shard_id``."""
        ms = max(int(self._clock() * 1000), self._last_ms + 1)
        while (ms - DISCORD_EPOCH_MS) % shard_count != shard_id:
            ms += 1
        return self._compose(ms)
