"""Guild approvals and guild settings held in memory, never served stale.

Every write to the `guilds`, `guild_settings` and `web_sessions` tables bumps a counter in
`state_versions` in the same transaction (database triggers, migration 0003), whoever
writes: this process, another process on the same database, or a hand-run SQL statement.
Before answering from memory, a reader compares the counters with the ones its copy was
loaded at; any difference drops the copy and reloads it. The counters are read once per web
request, and concurrent requests share one read (`StateVersions`), so the database sees
about one tiny query at a time instead of several per request.

A read shared this way always *started after* the caller asked, so a change committed
before a request began is always seen by that request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, MutableMapping
from typing import Any

from sqlalchemy import select

from bot.database import Database
from bot.guild_settings import GuildSettingsRegistry
from bot.models import GuildRecord, GuildSettingValue, StateVersion

GUILDS = "guilds"
SESSIONS = "sessions"
SNAPSHOT_KEY = "foundrycord_state_versions"

Versions = Mapping[str, int]


class StateVersions:
    """Reads the `state_versions` counters, coalescing concurrent callers."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._running: asyncio.Future[dict[str, int]] | None = None
        self._queued: asyncio.Future[dict[str, int]] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def read(self) -> dict[str, int]:
        """The counters, from a query that started after this call."""
        if self._running is None:
            future = self._running = self._new_future()
            self._start(future)
        else:
            # The running query may have started before a commit we must see: wait for
            # the next one, shared by everyone who arrives meanwhile.
            if self._queued is None:
                self._queued = self._new_future()
            future = self._queued
        return dict(await asyncio.shield(future))

    async def for_request(self, memo: MutableMapping[str, Any]) -> Versions:
        """The counters read once per request (`memo` is the request)."""
        versions = memo.get(SNAPSHOT_KEY)
        if versions is None:
            versions = memo[SNAPSHOT_KEY] = await self.read()
        return versions

    def _new_future(self) -> asyncio.Future[dict[str, int]]:
        future: asyncio.Future[dict[str, int]] = asyncio.get_running_loop().create_future()
        # A caller that went away must not leave an unretrieved exception behind.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        return future

    def _start(self, future: asyncio.Future[dict[str, int]]) -> None:
        task = asyncio.create_task(self._run(future))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, future: asyncio.Future[dict[str, int]]) -> None:
        try:
            async with self._db.session() as session:
                rows = await session.execute(select(StateVersion.scope, StateVersion.version))
                result = {scope: version for scope, version in rows}
        except Exception as exc:
            future.set_exception(exc)
        else:
            future.set_result(result)
        finally:
            queued, self._queued = self._queued, None
            self._running = queued
            if queued is not None:
                self._start(queued)


class GuildStateCache:
    """Guild records and settings values from memory, reloaded when the 'guilds' counter
    moves. Writes still go through GuildAccess and GuildSettingsStore (and so the database);
    the next read here sees them."""

    def __init__(self, db: Database, registry: GuildSettingsRegistry, versions: StateVersions):
        self._db = db
        self._registry = registry
        self.versions = versions
        self._loaded_at: int | None = None
        self._records: dict[int, GuildRecord] | None = None
        self._settings: dict[int, dict[str, Any]] = {}
        self._epoch = 0  # bumped on every drop, so a load that raced a drop is not stored

    def _sync(self, versions: Versions) -> None:
        version = versions.get(GUILDS)
        if version is None or version != self._loaded_at:
            self._records = None
            self._settings = {}
            self._epoch += 1
            self._loaded_at = version

    async def _all_records(self, versions: Versions) -> dict[int, GuildRecord]:
        self._sync(versions)
        if self._records is not None:
            return self._records
        epoch = self._epoch
        async with self._db.session() as session:
            records = {r.id: r for r in await session.scalars(select(GuildRecord))}
        if epoch == self._epoch:
            self._records = records
        return records

    async def status(self, versions: Versions, guild_id: int) -> str | None:
        record = (await self._all_records(versions)).get(guild_id)
        return record.status if record else None

    async def records(self, versions: Versions, status: str | None = None) -> list[GuildRecord]:
        """Like GuildAccess.list: by name, optionally of one status."""
        records = (await self._all_records(versions)).values()
        chosen = [r for r in records if status is None or r.status == status]
        return sorted(chosen, key=lambda r: r.name)

    async def settings(self, versions: Versions, guild_id: int) -> dict[str, Any]:
        """Like GuildSettingsStore.get_all: every registered setting, defaults filled in."""
        self._sync(versions)
        stored = self._settings.get(guild_id)
        if stored is None:
            epoch = self._epoch
            async with self._db.session() as session:
                rows = await session.scalars(
                    select(GuildSettingValue).where(GuildSettingValue.guild_id == guild_id)
                )
                stored = {row.key: row.value for row in rows}
            if epoch == self._epoch:
                self._settings[guild_id] = stored
        values = {spec.name: spec.default for spec in self._registry.specs()}
        values.update({k: v for k, v in stored.items() if k in values})
        return values
