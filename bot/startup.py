"""What must finish before the bot counts as started."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable


class StartupWork:
    """Work that must finish before the bot counts as started: the application command sync
    nextcord runs on connect, and each guild's admission. `settled()` waits for it."""

    def __init__(self) -> None:
        self.commands_synced = asyncio.Event()
        self._pending: set[asyncio.Future[object]] = set()

    async def run(self, work: Awaitable[object]) -> None:
        future = asyncio.ensure_future(work)
        self._pending.add(future)
        try:
            await future
        finally:
            self._pending.discard(future)

    async def settled(self) -> None:
        await self.commands_synced.wait()
        while self._pending:
            await asyncio.wait(set(self._pending))
