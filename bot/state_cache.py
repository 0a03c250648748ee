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

from collections.abc import Mapping, MutableMapping
from typing import Any

from sqlalchemy import select

from bot.coalesce import Coalesced
from bot.database import Database
from bot.guild_settings import GuildSettingsRegistry
from bot.models import GuildRecord, GuildSettingValue, StateVersion

GUILDS = "guilds"
SESSIONS = "sessions"
SNAPSHOT_KEY = "foundrycord_state_versions"

Versions = Mapping[str, int]
_READ_VERSIONS = f"SELECT scope, version FROM {StateVersion.__tablename__}"


class StateVersions:
    """Reads the `state_versions` counters, coalescing concurrent callers."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._read = Coalesced(self._query)

    async def read(self) -> dict[str, int]:
        """The counters, from a query that started after this call."""
        return dict(await self._read())

    async def for_request(self, memo: MutableMapping[str, Any]) -> Versions:
        """The counters read once per request (`memo` is the request)."""
        versions = memo.get(SNAPSHOT_KEY)
        if versions is None:
            versions = memo[SNAPSHOT_KEY] = await self.read()
        return versions

    async def _query(self) -> dict[str, int]:
        rows = await self._db.read_fresh(_READ_VERSIONS)
        return {str(scope): int(version) for scope, version in rows}


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
        self._load_records = Coalesced(self._query_records)

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
        records = await self._load_records()  # one load for everyone who missed at once
        if epoch == self._epoch:
            self._records = records
        return records

    async def _query_records(self) -> dict[int, GuildRecord]:
        async with self._db.session() as session:
            return {r.id: r for r in await session.scalars(select(GuildRecord))}

    async def record(self, versions: Versions, guild_id: int) -> GuildRecord | None:
        return (await self._all_records(versions)).get(guild_id)

    async def status(self, versions: Versions, guild_id: int) -> str | None:
        record = await self.record(versions, guild_id)
        return record.status if record else None

    async def records(
        self, versions: Versions, status: str | None = None, *, present: bool | None = None
    ) -> list[GuildRecord]:
        """Like GuildAccess.list: by name, optionally of one status; ``present`` True: guilds
        the bot is in, False: guilds it left."""
        records = (await self._all_records(versions)).values()
        chosen = [
            r
            for r in records
            if (status is None or r.status == status)
            and (present is None or (r.left_at is None) == present)
        ]
        return sorted(chosen, key=lambda r: (r.name, r.id))

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
