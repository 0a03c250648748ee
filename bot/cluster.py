"""More than one process: what the bot processes sharing one PostgreSQL database agree on.

Each process runs a range of shards (`SHARD_IDS`) and holds their guilds (bot.shards). Here
they coordinate through the database, with nothing home-made:

- a table of live processes (their shards, internal URL and a heartbeat) and of the guilds
  each holds, read by the web editor (server list, forwarding a server's pages to its owner);
- one leader, by advisory lock on a connection of its own, for the work that must run once
  for the whole bot (slash-command sync, the left-guild purge, history rollups and pruning,
  scheduled speedtests). A leader that dies loses the lock with its connection, and the next
  heartbeat of another process takes it;
- the identify window: one IDENTIFY per `max_concurrency` bucket per 5 s across processes.

A process that runs every shard (the default, and every SQLite installation) is not
coordinated: it is the leader, holds every guild, and every method here costs nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.database import Database
from bot.locks import LEADER, NAMESPACE, lock_key
from bot.models import ClusterGuild, ClusterProcess, IdentifyWindow, utcnow
from bot.shards import ShardRange, format_shard_ids, shard_of

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 5.0  # seconds between a process's heartbeats
STALE_AFTER = 20.0  # a process silent this long is gone; its rows are removed
# Discord: one IDENTIFY per bucket per 5 s, counted when it arrives. The window is claimed
# before connecting, so the IDENTIFY that follows can reach Discord later than the previous
# one did after its claim: half a second of margin.
IDENTIFY_WINDOW = 5.5


class Cluster:
    """This process's place among the bot's processes (see the module docstring)."""

    def __init__(
        self,
        db: Database,
        shards: ShardRange,
        internal_url: str = "",
        *,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        stale_after: float = STALE_AFTER,
    ) -> None:
        self.db = db
        self.shards = shards
        self.internal_url = internal_url
        self.heartbeat_interval = heartbeat_interval
        self.stale_after = stale_after
        self.process_id = secrets.token_hex(8)
        self.enabled = shards.partial and db.backend == "postgresql"
        self._leader = not self.enabled
        # One connection of this process's own holds its session locks (the leader's and
        # the claims): they go with it, and with the process.
        self._leader_connection: AsyncConnection | None = None
        self._claims: set[str] = set()
        self._held: set[int] = set()  # the guilds this process holds (admitted, not removed)
        self._registered = False
        self._task: asyncio.Task[None] | None = None
        self.on_leadership: list[Callable[[], object]] = []
        # Called after every heartbeat (the web editor refreshes its list of other
        # processes' guilds here).
        self.on_beat: list[Callable[[], Awaitable[object]]] = []

    # who does what

    @property
    def is_leader(self) -> bool:
        """True in the one process that runs the bot-wide work (always, when unclustered)."""
        return self._leader

    def owns(self, guild_id: int) -> bool:
        """Whether this process's shards hold the guild."""
        return self.shards.owns(guild_id)

    # lifecycle

    async def start(self) -> None:
        if not self.enabled:
            return
        await self._beat()
        for callback in self.on_beat:
            with contextlib.suppress(Exception):
                await callback()
        self._task = asyncio.create_task(self._run(), name="cluster-heartbeat")
        log.info(
            "Process %s runs %s%s",
            self.process_id,
            self.shards.describe(),
            " and leads" if self._leader else "",
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if not self.enabled:
            return
        with contextlib.suppress(Exception):
            async with self.db.session() as session, session.begin():
                await session.execute(
                    delete(ClusterGuild).where(ClusterGuild.process_id == self.process_id)
                )
                await session.execute(
                    delete(ClusterProcess).where(ClusterProcess.id == self.process_id)
                )
        await self._drop_leader_connection()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                await self._beat()
            except Exception:  # the database may be away; the next beat tries again
                log.exception("Cluster heartbeat failed")
            for callback in self.on_beat:
                try:
                    await callback()
                except Exception:
                    log.exception("After the cluster heartbeat")

    async def _beat(self) -> None:
        """Say this process is alive, forget processes that are not, and try to lead."""
        now = utcnow()
        async with self.db.session() as session, session.begin():
            row = await session.get(ClusterProcess, self.process_id)
            rejoined = row is None and self._registered
            if row is None:
                session.add(
                    ClusterProcess(
                        id=self.process_id,
                        shard_count=self.shards.count,
                        shard_ids=format_shard_ids(self.shards.shard_ids),
                        internal_url=self.internal_url,
                        started_at=now,
                        heartbeat_at=now,
                    )
                )
            else:
                row.heartbeat_at = now
                row.internal_url = self.internal_url
            cutoff = now - timedelta(seconds=self.stale_after)
            stale = list(
                await session.scalars(
                    select(ClusterProcess.id).where(ClusterProcess.heartbeat_at < cutoff)
                )
            )
            if stale:
                await session.execute(
                    delete(ClusterGuild).where(ClusterGuild.process_id.in_(stale))
                )
                await session.execute(delete(ClusterProcess).where(ClusterProcess.id.in_(stale)))
                log.info("Processes %s stopped beating; forgotten", ", ".join(stale))
            if rejoined:
                # Another process took this one for dead (it stalled): say again which
                # guilds it holds.
                log.warning("This process was taken for stopped; registering its guilds again")
                for guild_id in sorted(self._held):
                    await session.execute(
                        _upsert_holder(guild_id, self.process_id, self._shard_of(guild_id))
                    )
        self._registered = True
        await self._try_lead()

    async def _try_lead(self) -> None:
        if self._leader and self._leader_connection is not None:
            try:  # still ours only while its connection lives
                await self._leader_connection.execute(text("SELECT 1"))
                await self._leader_connection.commit()
                return
            except Exception:
                log.warning("Lost the leader lock's connection")
                self._leader = False
                await self._drop_leader_connection()
        try:
            if self._leader_connection is None:
                self._leader_connection = await self.db.engine.connect()
            taken = bool(
                await self._leader_connection.scalar(
                    text("SELECT pg_try_advisory_lock(:ns, :key)"),
                    {"ns": NAMESPACE, "key": LEADER},
                )
            )
            await self._leader_connection.commit()
        except Exception:
            log.exception("Could not ask for the leader lock")
            await self._drop_leader_connection()
            return
        if taken and not self._leader:
            self._leader = True
            log.info("Process %s is now the leader", self.process_id)
            for callback in self.on_leadership:
                with contextlib.suppress(Exception):
                    callback()

    async def claim(self, name: str) -> bool:
        """Whether this process holds the named lock (one sampler per monitored host): taken
        when free and kept on this process's own connection, so it goes with the process
        and another then takes it. Always True when unclustered."""
        if not self.enabled:
            return True
        if name in self._claims and self._leader_connection is not None:
            return True
        try:
            if self._leader_connection is None:
                self._leader_connection = await self.db.engine.connect()
            taken = bool(
                await self._leader_connection.scalar(
                    text("SELECT pg_try_advisory_lock(:ns, :key)"),
                    {"ns": NAMESPACE, "key": lock_key(name)},
                )
            )
            await self._leader_connection.commit()
        except Exception:
            log.exception("Could not ask for the lock %r", name)
            self._leader = False
            await self._drop_leader_connection()
            return False
        if taken:
            self._claims.add(name)
        return taken

    async def _drop_leader_connection(self) -> None:
        self._claims.clear()  # every session lock went with the connection
        connection, self._leader_connection = self._leader_connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.invalidate()  # closes it: its advisory locks go with it
            with contextlib.suppress(Exception):
                await connection.close()

    # the guilds each process holds

    async def hold(self, guild_id: int) -> None:
        """Record that this process holds `guild_id` (at admission)."""
        if not self.enabled:
            return
        statement = _upsert_holder(guild_id, self.process_id, self._shard_of(guild_id))
        async with self.db.session() as session, session.begin():
            await session.execute(statement)
        self._held.add(guild_id)

    async def release(self, guild_id: int) -> None:
        if not self.enabled:
            return
        self._held.discard(guild_id)
        async with self.db.session() as session, session.begin():
            await session.execute(
                delete(ClusterGuild).where(
                    ClusterGuild.guild_id == guild_id, ClusterGuild.process_id == self.process_id
                )
            )

    def _shard_of(self, guild_id: int) -> int:
        return shard_of(guild_id, self.shards.count) if self.shards.count else 0

    async def processes(self) -> list[ClusterProcess]:
        """The live processes (this one included), oldest first."""
        if not self.enabled:
            return []
        cutoff = utcnow() - timedelta(seconds=self.stale_after)
        async with self.db.session() as session:
            return list(
                await session.scalars(
                    select(ClusterProcess)
                    .where(ClusterProcess.heartbeat_at >= cutoff)
                    .order_by(ClusterProcess.started_at)
                )
            )

    async def holder_url(self, guild_id: int) -> str | None:
        """The internal URL of the live process holding `guild_id` when that is another
        process; None when it is this one, or nobody holds it now."""
        if not self.enabled or self.owns(guild_id):
            return None
        cutoff = utcnow() - timedelta(seconds=self.stale_after)
        async with self.db.session() as session:
            row = await session.scalar(
                select(ClusterProcess.internal_url)
                .join(ClusterGuild, ClusterGuild.process_id == ClusterProcess.id)
                .where(ClusterGuild.guild_id == guild_id, ClusterProcess.heartbeat_at >= cutoff)
            )
        return row or None

    async def held_guilds(self) -> set[int]:
        """Every guild a live process holds (the web editor's server list)."""
        if not self.enabled:
            return set()
        cutoff = utcnow() - timedelta(seconds=self.stale_after)
        async with self.db.session() as session:
            return set(
                await session.scalars(
                    select(ClusterGuild.guild_id)
                    .join(ClusterProcess, ClusterGuild.process_id == ClusterProcess.id)
                    .where(ClusterProcess.heartbeat_at >= cutoff)
                )
            )

    async def others_guilds(self) -> list[tuple[int, str]]:
        """(id, name) of every guild another live process holds."""
        if not self.enabled:
            return []
        from bot.models import GuildRecord

        cutoff = utcnow() - timedelta(seconds=self.stale_after)
        async with self.db.session() as session:
            rows = await session.execute(
                select(ClusterGuild.guild_id, GuildRecord.name)
                .join(ClusterProcess, ClusterGuild.process_id == ClusterProcess.id)
                .join(GuildRecord, GuildRecord.id == ClusterGuild.guild_id)
                .where(
                    ClusterProcess.heartbeat_at >= cutoff,
                    ClusterGuild.process_id != self.process_id,
                )
            )
            return [(int(guild_id), str(name)) for guild_id, name in rows.all()]

    # the identify window

    async def wait_identify(self, bucket: int, window: float = IDENTIFY_WINDOW) -> float:
        """Wait until bucket `bucket` may IDENTIFY, across every process, and claim it;
        returns the seconds waited. Times are the database's, one clock for all."""
        waited = 0.0
        while True:
            async with self.db.session() as session, session.begin():
                await session.execute(
                    text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                    {"ns": NAMESPACE, "key": lock_key(f"identify:{bucket}")},
                )
                now = await session.scalar(text("SELECT clock_timestamp()"))
                row = await session.get(IdentifyWindow, bucket)
                if row is None:
                    session.add(IdentifyWindow(bucket=bucket, last_at=now))
                    return waited
                pause = window - (now - row.last_at).total_seconds()
                if pause <= 0:
                    row.last_at = now
                    return waited
            await asyncio.sleep(pause)
            waited += pause


def _upsert_holder(guild_id: int, process_id: str, shard: int) -> object:
    from sqlalchemy.dialects.postgresql import insert

    statement = insert(ClusterGuild).values(
        guild_id=guild_id, process_id=process_id, shard_id=shard, seen_at=utcnow()
    )
    return statement.on_conflict_do_update(
        index_elements=["guild_id"],
        set_={"process_id": process_id, "shard_id": shard, "seen_at": statement.excluded.seen_at},
    )
