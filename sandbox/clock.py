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
    """Wall and monotonic time shifted by :attr:`offset` seconds (0 unless advanced).

    :meth:`freeze` stops it: from then on only :meth:`advance` moves it, so a test can hold
    a rate-limit window open however slowly the machine runs; :meth:`thaw` lets it run again.
    """

    def __init__(self, offset: float = 0.0) -> None:
        self.offset = offset
        self._frozen: tuple[float, float] | None = None  # (wall, monotonic) when frozen

    def time(self) -> float:
        """Unix time as the sandbox sees it."""
        wall = self._frozen[0] if self._frozen else time.time()
        return wall + self.offset

    def monotonic(self) -> float:
        mono = self._frozen[1] if self._frozen else time.monotonic()
        return mono + self.offset

    def advance(self, seconds: float) -> None:
        """Move the sandbox's time forward (never back: ids must keep increasing)."""
        if seconds < 0:
            raise ValueError("the sandbox's clock only moves forward")
        self.offset += seconds

    def freeze(self) -> None:
        """Stop time where it is now; only :meth:`advance` moves it until :meth:`thaw`."""
        if self._frozen is None:
            self._frozen = (time.time(), time.monotonic())

    def thaw(self) -> None:
        """Let time run again from where it stood (the time spent frozen is skipped)."""
        if self._frozen is not None:
            wall, mono = self._frozen
            self._frozen = None
            self.offset -= min(time.time() - wall, time.monotonic() - mono)

    def age_of(self, snowflake: int) -> float:
        """Seconds since ``snowflake`` was made, on this clock."""
        return self.time() - snowflake_time_ms(snowflake) / 1000
