"""The background task that deletes what the bot keeps of guilds it left long ago.

A guild that removes the bot keeps its settings and feature data for
LEFT_GUILD_RETENTION_DAYS (default 30), so an accidental kick loses nothing; after that,
:meth:`bot.guild_access.GuildAccess.purge_left` deletes its record, and the database's
ON DELETE CASCADE deletes everything that references it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import timedelta

from bot.guild_access import GuildAccess

log = logging.getLogger(__name__)

PURGE_INTERVAL = 3600.0  # seconds between passes


class LeftGuildPurge:
    """Runs :meth:`run_once` after the bot's first READY (so it knows which guilds it is in)
    and then every ``interval`` seconds. ``retention_days`` 0 turns purging off."""

    def __init__(
        self,
        access: GuildAccess,
        retention_days: int,
        *,
        current_guilds: Callable[[], Iterable[int]] = tuple,
        wait_ready: Callable[[], Awaitable[object]] | None = None,
        interval: float = PURGE_INTERVAL,
        should_run: Callable[[], bool] = lambda: True,
    ) -> None:
        self.access = access
        self.retention_days = retention_days
        self.current_guilds = current_guilds
        self.wait_ready = wait_ready
        self.interval = interval
        self.should_run = should_run  # with several processes: only the leader's runs
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._in_pass = False

    @property
    def enabled(self) -> bool:
        return self.retention_days > 0

    async def run_once(self) -> list[int]:
        """One pass: purge guilds left more than the retention ago; returns their ids."""
        if not self.enabled or not self.should_run():
            return []
        return await self.access.purge_left(
            timedelta(days=self.retention_days), keep=self.current_guilds()
        )

    async def _run(self) -> None:
        if self.wait_ready is not None:
            await self.wait_ready()
        while not self._stopping.is_set():
            self._in_pass = True
            try:
                await self.run_once()
            except Exception:  # the database may be away for a while; try again later
                log.exception("Purging the data of left guilds failed; retrying later")
            finally:
                self._in_pass = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self.interval)

    def start(self) -> None:
        if self.enabled and self._task is None:
            self._task = asyncio.create_task(self._run(), name="left-guild-purge")

    async def stop(self) -> None:
        """Stop; a pass in progress finishes first (cancelling it mid-query would leave its
        database connection behind)."""
        self._stopping.set()
        if self._task is not None:
            if not self._in_pass:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
