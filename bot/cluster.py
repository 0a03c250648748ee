"""More than one process: what the bot processes sharing one PostgreSQL database agree on.

Each process runs a range of shards (`SHARD_IDS`) and holds their guilds (bot.shards). Here
they coordinate through the database, with nothing home-made:

- a table of live processes (their shards, internal URL and a heartbeat) and of the guilds
  each holds, read by the web editor (server list, forwarding a server's pages to its owner);
- one leader, by advisory lock on a connection of its own, for the work that must run once
  for the whole bot (slash-command sync, the left-guild purge, history rollups and pruning,
  scheduled speedtests). A leader that dies loses the lock with its connection, and the next
  heartbeat of another process takes it;
- the identify window: one IDENTIFY per `max_concurrency` bucket per 5 s across processes;
- no shard run twice: each process holds a lock per shard it runs, on that same connection
  (gone the moment the process dies), and registers only when no live process counts
  shards otherwise, so two processes never both answer one guild's events. A process whose
  shards another still runs waits a heartbeat's grace for it to stop, then refuses to
  start, naming it; one that finds its shards taken later (its lock connection went, and
  another took them meanwhile) steps down.

A process that runs every shard (the default, and every SQLite installation) is not
coordinated: it is the leader, holds every guild, and every method here costs nothing; on
PostgreSQL it only holds the every-shard lock, so that no process of part of the shards
starts beside it (nor another of every shard).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.database import Database
from bot.locks import LEADER, NAMESPACE, SHARD_REGISTRY, lock_key
from bot.models import ClusterGuild, ClusterProcess, IdentifyWindow, utcnow
from bot.shards import ShardRange, format_shard_ids, parse_shard_ids, shard_of

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL = 5.0  # seconds between a process's heartbeats
STALE_AFTER = 20.0  # a process silent this long is gone; its rows are removed
# Discord: one IDENTIFY per bucket per 5 s, counted when it arrives. The window is claimed
# before connecting, so the IDENTIFY that follows can reach Discord later than the previous
# one did after its claim: half a second of margin.
IDENTIFY_WINDOW = 5.5
EVERY_SHARD = lock_key("shards")  # shared by processes of part of the shards


class ShardsTaken(Exception):
    """Another live process runs some of this process's shards, or counts shards otherwise;
    the message names it and says what to change."""


def shard_conflict(
    shards: ShardRange, other: ClusterProcess, now: datetime, *, ids: bool = True
) -> str | None:
    """Why a process running `shards` cannot run beside `other` (a live process), or None;
    with `ids` False only a different shard count counts (the shard locks say who runs
    which shard, and a row outlives its process by up to STALE_AFTER)."""
    seen = f"last heartbeat {max(0, round((now - other.heartbeat_at).total_seconds()))} s ago"
    if other.shard_count != shards.count:
        return (
            f"process {other.id} runs shards {other.shard_ids} of {other.shard_count} "
            f"({seen}), and this one is set to {shards.count} shards: every process needs "
            "the same SHARD_COUNT"
        )
    if not ids:
        return None
    try:
        theirs = set(parse_shard_ids(other.shard_ids))
    except ValueError:
        return f"process {other.id} registered shards {other.shard_ids!r}, which do not parse"
    both = theirs & set(shards.shard_ids)
    if both:
        return (
            f"shard{'s' if len(both) > 1 else ''} {format_shard_ids(both)} of {shards.count} "
            f"{'are' if len(both) > 1 else 'is'} run by process {other.id} ({seen}): "
            "give each process its own SHARD_IDS"
        )
    return None


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
        # On PostgreSQL every process takes its shards' locks, a process of every shard
        # included (it holds one lock that excludes all the others).
        self.guarded = db.backend == "postgresql"
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
        # Called with the reason when a heartbeat finds another process running this
        # one's shards (the runtime stops the bot).
        self.on_shards_taken: list[Callable[[str], object]] = []
        self._shards_held = False  # this process's shard locks, on the lock connection

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
        """Register this process (raises ShardsTaken when its shards stay run by another)
        and start the heartbeat."""
        if not self.guarded:
            return
        await self._register()
        self._task = asyncio.create_task(self._run(), name="cluster-heartbeat")
        if not self.enabled:
            return
        for callback in self.on_beat:
            with contextlib.suppress(Exception):
                await callback()
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
            await self._drop_leader_connection()  # the whole-bot process's shard lock
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

    async def _register(self) -> None:
        """Take the shards' locks, then the first heartbeat. A process that died released
        its locks with its connection; one that stalls keeps them, and its row stays live
        until STALE_AFTER: wait that long for the shards, then give up."""
        deadline = asyncio.get_running_loop().time() + self.stale_after + self.heartbeat_interval
        while True:
            try:
                if not self._shards_held:
                    await self._claim_shards()
                await self._beat()
                return
            except ShardsTaken as taken:
                if asyncio.get_running_loop().time() >= deadline:
                    raise
                log.warning("Waiting for the shards: %s", taken)
            await asyncio.sleep(self.heartbeat_interval)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_interval)
            try:
                await self._beat()
            except ShardsTaken as taken:
                # This process lost its lock connection and another took its shards
                # meanwhile: two would answer the same guilds. This one steps down.
                log.error("Another process took this one's shards: %s", taken)
                for callback in self.on_shards_taken:
                    with contextlib.suppress(Exception):
                        callback(str(taken))
                return
            except Exception:  # the database may be away; the next beat tries again
                log.exception("Cluster heartbeat failed")
            for callback in self.on_beat:
                try:
                    await callback()
                except Exception:
                    log.exception("After the cluster heartbeat")

    async def _beat(self) -> None:
        """Say this process is alive, forget processes that are not, and try to lead; then
        make sure the shard locks are still held (taken again if their connection went)."""
        if self.enabled:
            await self._beat_row()
            await self._try_lead()
        elif self._leader_connection is not None:
            try:  # the locks live while their connection does
                await self._leader_connection.execute(text("SELECT 1"))
                await self._leader_connection.commit()
            except Exception:
                log.warning("Lost the shard lock's connection")
                await self._drop_leader_connection()
        if not self._shards_held:
            await self._claim_shards()

    async def _beat_row(self) -> None:
        now = utcnow()
        async with self.db.session() as session, session.begin():
            row = await session.get(ClusterProcess, self.process_id)
            rejoined = row is None and self._registered
            cutoff = now - timedelta(seconds=self.stale_after)
            if row is None:
                # Checked and registered under one lock: two processes starting at once
                # cannot both find the shards free.
                await session.execute(
                    text("SELECT pg_advisory_xact_lock(:ns, :key)"),
                    {"ns": NAMESPACE, "key": SHARD_REGISTRY},
                )
                for other in await session.scalars(self._live_others(cutoff)):
                    reason = shard_conflict(self.shards, other, now, ids=False)
                    if reason is not None:
                        raise ShardsTaken(reason)
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

    async def _claim_shards(self) -> None:
        """Take this process's shard locks on the lock connection: a process of part of
        the shards takes the every-shard lock shared and one lock per shard; a process of
        every shard takes the every-shard lock alone. Raise ShardsTaken, holding none of
        them, when another process holds one."""
        if self._leader_connection is None:
            self._leader_connection = await self.db.engine.connect()
        connection = self._leader_connection
        wanted = [(EVERY_SHARD, self.enabled)]  # (lock key, shared)
        if self.enabled:
            wanted += [(lock_key(f"shard:{shard}"), False) for shard in self.shards.shard_ids]
        taken: list[tuple[int, bool]] = []
        try:
            for key, shared in wanted:
                kind = "_shared" if shared else ""
                held = await connection.scalar(
                    text(f"SELECT pg_try_advisory_lock{kind}(:ns, :key)"),
                    {"ns": NAMESPACE, "key": key},
                )
                if not held:
                    for mine, mine_shared in taken:
                        unlock = "_shared" if mine_shared else ""
                        await connection.execute(
                            text(f"SELECT pg_advisory_unlock{unlock}(:ns, :key)"),
                            {"ns": NAMESPACE, "key": mine},
                        )
                    await connection.commit()
                    raise ShardsTaken(await self._who_runs(key))
                taken.append((key, shared))
            await connection.commit()
        except ShardsTaken:
            raise
        except Exception:
            await self._drop_leader_connection()
            raise
        self._shards_held = True

    async def _who_runs(self, key: int) -> str:
        """Why the shard lock `key` is taken, naming the live process that runs it when it
        has said so."""
        if key == EVERY_SHARD and self.enabled:
            return (
                "a process that runs every shard (no SHARD_IDS) uses this database: give it "
                "SHARD_IDS too, or stop it"
            )
        now = utcnow()
        cutoff = now - timedelta(seconds=self.stale_after)
        async with self.db.session() as session:
            others = list(await session.scalars(self._live_others(cutoff)))
        if key == EVERY_SHARD:
            named = ", ".join(
                f"process {other.id} (shards {other.shard_ids} of {other.shard_count})"
                for other in others
            )
            return (
                f"{named or 'other processes'} run part of the shards (SHARD_IDS) on this "
                "database, and this one runs every shard: give it SHARD_IDS too, or stop them"
            )
        shard = next(s for s in self.shards.shard_ids if lock_key(f"shard:{s}") == key)
        for other in others:
            reason = shard_conflict(self.shards, other, now)
            if reason is not None:
                return reason
        return (
            f"shard {shard} of {self.shards.count} is run by another process (it holds the "
            "shard's lock): give each process its own SHARD_IDS"
        )

    def _live_others(self, cutoff: datetime) -> Select[tuple[ClusterProcess]]:
        """The other processes that have beaten since `cutoff`."""
        return select(ClusterProcess).where(
            ClusterProcess.heartbeat_at >= cutoff, ClusterProcess.id != self.process_id
        )

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
        self._shards_held = False
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
