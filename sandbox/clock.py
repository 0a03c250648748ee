"""The sandbox's clock: real time plus an offset that tests advance instead of sleeping.

``server.clock.advance(3600)`` makes every message the sandbox holds an hour older (its
snowflake's time is that much further behind the sandbox's now), expires rate-limit windows,
and makes new snowflakes carry the advanced time. What reads it: snowflakes, message ages
(the 1-hour edit limit, the 14-day bulk-delete limit), edit timestamps, and the REST rate
limiter's windows (route buckets, the hidden sub-limits, daily creation counts), unless that
limiter was given a clock of its own.

What does not: ``X-RateLimit-Reset`` headers (a client compares them with its own wall clock,
so they stay on real time), gateway heartbeats and interaction deadlines (real asyncio time).
A bot under test that judges message ages itself should read :meth:`SandboxClock.time` too.
"""

from __future__ import annotations

import time

from sandbox.snowflake import snowflake_time_ms


class SandboxClock:
    """Wall and monotonic time shifted by :attr:`offset` seconds (0 unless advanced)."""

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset

    def time(self) -> float:
        """Unix time as the sandbox sees it."""
        return time.time() + self.offset

    def monotonic(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the sandbox's time forward (never back: ids must keep increasing)."""
        if seconds < 0:
            raise ValueError("the sandbox's clock only moves forward")
        self.offset += seconds

    def age_of(self, snowflake: int) -> float:
        """Seconds since ``snowflake`` was made, on this clock."""
        return self.time() - snowflake_time_ms(snowflake) / 1000
