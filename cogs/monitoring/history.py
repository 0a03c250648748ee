"""Sample history: compact rows, downsampling tiers, pruning and range queries.

A row is one host at one moment with all its metrics packed as binary: metric ids
(uint16, names in `monitoring_metrics`) and float32 values; rolled-up rows also carry each
metric's maximum. Tier 0 holds raw samples, tier 1 five-minute averages, tier 2 hourly
averages; each tier keeps its own retention. float32 keeps about seven significant digits,
plenty for gauges and rates (a 1 TB byte counter is off by at most about 60 kB)."""

from __future__ import annotations

import asyncio
import logging
import math
import struct
import sys
import time
from array import array
from bisect import bisect_left, bisect_right
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bot.database import Database
from bot.locks import quota_lock
from cogs.monitoring.hosts import GAMES_HOST_NAME, agent_key, split_key
from cogs.monitoring.models import HostMetric, MetricName, SampleRow

log = logging.getLogger(__name__)

RAW, FIVE_MIN, HOURLY = 0, 1, 2
BUCKET_S = {FIVE_MIN: 300, HOURLY: 3600}
SOURCE_TIER = {FIVE_MIN: RAW, HOURLY: FIVE_MIN}
MAX_METRIC_ID = 65535
# One host may not take more than its share of the 65,535 metric ids: names per host, and
# new names per write (an agent's post), are capped; what is over is refused by name.
MAX_NAMES_PER_HOST = 1000
MAX_NEW_NAMES_PER_WRITE = 200
MAX_NAMES_PER_SERVER = 5000  # over all of one server's agent hosts (not its game servers')
RESERVED_FOR_INSTALLATION = 5000  # the last ids: only the installation's hosts take them
MAX_NAME_LEN = 120
# The largest value a float32 holds; anything beyond would be stored as infinity.
FLOAT32_MAX = 3.4028234663852886e38
NAME_CHARS = frozenset("/-_:@.")
# Rows of a bucket are only rolled up once it is this old, so late samples still count.
ROLLUP_GRACE_S = 60
_KIND_RAW, _KIND_ROLLUP = 0, 1
_SWAP = sys.byteorder != "little"
_FLOAT = struct.Struct("<f")
# Charted series are kept in memory (see HistoryStore.query): this many (host, tier, metric)
# columns at most; rows another process appends are looked for at most every PROBE_S per
# (host, tier); a column is read again whole after REBUILD_S, which also picks up rows
# another process wrote behind the newest one (this process's own writes show at once).
MAX_COLUMNS = 64
PROBE_S = 1.0
REBUILD_S = 300.0
MAX_WINDOWS_PER_COLUMN = 16
# A tier is charted while a range holds at most this many times the points a chart shows;
# past that the next tier's averages and peaks are about as fine as thinning would make.
THIN_AT_MOST = 2


@dataclass(frozen=True)
class Retention:
    raw_s: int = 24 * 3600
    five_min_s: int = 30 * 86400
    hourly_s: int = 365 * 86400

    @classmethod
    def from_setting(cls, value: tuple[int, int, int]) -> Retention:
        hours, five_min_days, hourly_days = value
        return cls(hours * 3600, five_min_days * 86400, hourly_days * 86400)

    def for_tier(self, tier: int) -> int:
        return (self.raw_s, self.five_min_s, self.hourly_s)[tier]


def pack(values: Mapping[int, float], maxima: Mapping[int, float] | None = None) -> bytes:
    ids = array("H", values.keys())
    avg = array("f", values.values())
    parts = [ids, avg]
    if maxima is not None:
        parts.append(array("f", (maxima[key] for key in values)))
    if _SWAP:
        for part in parts:
            part.byteswap()
    kind = _KIND_RAW if maxima is None else _KIND_ROLLUP
    header = bytes([kind]) + len(ids).to_bytes(2, "little")
    return header + b"".join(part.tobytes() for part in parts)


def unpack(data: bytes) -> tuple[array, array, array | None]:
    """(ids, values, maxima or None) of a packed row."""
    kind, count = data[0], int.from_bytes(data[1:3], "little")
    ids = array("H")
    ids.frombytes(data[3 : 3 + 2 * count])
    offset = 3 + 2 * count
    values = array("f")
    values.frombytes(data[offset : offset + 4 * count])
    maxima = None
    if kind == _KIND_ROLLUP:
        maxima = array("f")
        maxima.frombytes(data[offset + 4 * count : offset + 8 * count])
    if _SWAP:
        for part in (ids, values, maxima):
            if part is not None:
                part.byteswap()
    return ids, values, maxima


@dataclass(frozen=True)
class Series:
    """One metric over a range: `points` are (unix time, average, maximum)."""

    metric: str
    host: str
    tier: int
    step_s: float
    points: list[tuple[int, float, float]]


@dataclass(eq=False)
class _Column:
    """One metric of one host in one tier, in time order: what charts read."""

    ts: array = field(default_factory=lambda: array("q"))
    avg: array = field(default_factory=lambda: array("d"))
    peak: array = field(default_factory=lambda: array("d"))
    last: int = -(2**62)  # the newest row read for this (host, tier), with the metric or not
    built_at: float = 0.0
    windows: dict[tuple[int, int, int], Series] = field(default_factory=dict)

    def add(self, ts: int, data: bytes, metric_id: int) -> None:
        value = _find(data, metric_id)
        if value is not None:
            self.ts.append(ts)
            self.avg.append(value[0])
            self.peak.append(value[1])
        self.last = max(self.last, ts)


@dataclass
class WriteResult:
    """What a write stored: rows written, values stored in them, and each metric name not
    stored with the reason."""

    rows: int = 0
    values: int = 0
    refused: dict[str, str] = field(default_factory=dict)


def bad_metric_name(name: object) -> str | None:
    """Why `name` cannot be a metric name, or None when it can."""
    if not isinstance(name, str) or not name:
        return "a metric name must be a non-empty string"
    if len(name) > MAX_NAME_LEN:
        return f"a metric name has at most {MAX_NAME_LEN} characters"
    if not all(ch.isalnum() or ch in NAME_CHARS for ch in name):
        return "a metric name holds only letters, digits and / - _ : @ ."
    return None


def bad_value(value: object) -> str | None:
    """Why `value` cannot be stored (float32), or None when it can."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "the value must be a number"
    # An int is compared as it is: math.isfinite raises OverflowError past a float's range.
    if (isinstance(value, float) and not math.isfinite(value)) or abs(value) > FLOAT32_MAX:
        return f"the value must be a finite number within ±{FLOAT32_MAX:.4g}"
    return None


@dataclass(frozen=True)
class HostSeen:
    name: str
    last_seen: int


class HistoryStore:
    def __init__(self, db: Database, retention: Retention | None = None, *, raw_step_s=10.0):
        self.db = db
        self.retention = retention or Retention()
        self.raw_step_s = raw_step_s
        self._ids: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self._per_host: dict[str, set[int]] = {}
        self._warned: set[str] = set()
        self.monotonic: Callable[[], float] = time.monotonic
        self._columns: OrderedDict[tuple[str, int, int], _Column] = OrderedDict()
        self._probed_at: dict[tuple[str, int], float] = {}
        self._probing: dict[tuple[str, int], asyncio.Future[None]] = {}
        self._writes: dict[tuple[str, int], int] = {}  # this process's writes, counted
        self._inflight: dict[object, asyncio.Future] = {}  # type: ignore[type-arg]
        self._latest: dict[str, tuple[float, tuple[int, dict[str, float]] | None]] = {}

    # --- metric names ---------------------------------------------------------------
    async def _load_names(self) -> None:
        async with self.db.session() as session:
            for row in await session.execute(select(MetricName.id, MetricName.name)):
                self._ids[row.name] = row.id
                self._names[row.id] = row.name

    async def metric_ids(self, names: Iterable[str]) -> dict[str, int]:
        """Ids for `names`, registering new ones (safe when several processes race); a name
        beyond the id space is left out."""
        ids, _ = await self._register(set(names))
        return ids

    async def _register(self, wanted: set[str]) -> tuple[dict[str, int], set[str]]:
        missing = wanted - self._ids.keys()
        if missing:
            await self._load_names()
            missing = wanted - self._ids.keys()
        if missing:
            async with self.db.session() as session, session.begin():
                await session.execute(
                    _insert(session, MetricName)
                    .values([{"name": name} for name in sorted(missing)])
                    .on_conflict_do_nothing(index_elements=["name"])
                )
            await self._load_names()
        out: dict[str, int] = {}
        full: set[str] = set()
        for name in wanted:
            metric_id = self._ids.get(name)
            if metric_id is None or metric_id > MAX_METRIC_ID:
                full.add(name)
                continue
            out[name] = metric_id
        return out, full

    async def _host_ids(self, host: str) -> set[int]:
        """The metric ids `host` has used (its share of the id space), cached."""
        known = self._per_host.get(host)
        if known is None:
            async with self.db.session() as session:
                rows = await session.scalars(
                    select(HostMetric.metric_id).where(HostMetric.host == host)
                )
                known = set(rows)
            self._per_host[host] = known
        return known

    async def admit(
        self, host: str, names: Iterable[str], *, new_per_write: int = MAX_NEW_NAMES_PER_WRITE
    ) -> tuple[dict[str, int], dict[str, str]]:
        """Ids for the names `host` may store, and each refused name with the reason: a bad
        name, more than MAX_NEW_NAMES_PER_WRITE new names at once, more than
        MAX_NAMES_PER_HOST names for the host, more than MAX_NAMES_PER_SERVER for a server's
        agents, or the shared id space full (its last RESERVED_FOR_INSTALLATION ids kept for
        the installation's hosts)."""
        refused: dict[str, str] = {}
        wanted: set[str] = set()
        for name in names:
            why = bad_metric_name(name)
            if why is None:
                wanted.add(name)
            else:
                refused[str(name)[:MAX_NAME_LEN]] = why
        if not wanted:
            return {}, refused
        # A host's names only grow, so the cached set is never more than the truth: names
        # it holds need no query and no lock (every post after a host's first few).
        have = await self._host_ids(host)
        ids = {name: self._ids[name] for name in wanted if name in self._ids}
        if len(ids) < len(wanted) or not have.issuperset(ids.values()):
            ids = await self._admit_new(host, wanted, new_per_write, refused)
        if refused and host not in self._warned:
            self._warned.add(host)  # one warning per host, not one per name per post
            example, why = next(iter(sorted(refused.items())))
            log.warning(
                "Host %s: %d metric name(s) not stored (e.g. %r: %s)",
                host, len(refused), example, why,
            )  # fmt: skip
        return ids, refused

    async def _admit_new(
        self, host: str, wanted: set[str], new_per_write: int, refused: dict[str, str]
    ) -> dict[str, int]:
        """`admit` for a post naming metrics new to its host: the caps are counted and the
        names registered in one transaction, under one lock for every process sharing the
        database, so parallel posts cannot all pass the same count. The lock is global
        (not per host or server) because the installation's reserve is: it is only taken
        for names new to a host, which a host sends in its first posts only."""
        guild_id, _ = split_key(host)
        async with self.db.session() as session, session.begin():
            await quota_lock(session, "metric-names", 0)
            have = set(
                await session.scalars(select(HostMetric.metric_id).where(HostMetric.host == host))
            )
            known = await _ids_of(session, wanted)
            new = sorted(name for name in wanted if known.get(name) not in have)
            room = max(0, MAX_NAMES_PER_HOST - len(have))
            accept = new[: min(room, new_per_write)]
            for name in new[len(accept) :]:
                refused[name] = (
                    f"this host already has {MAX_NAMES_PER_HOST} metric names"
                    if len(accept) == room
                    else f"at most {new_per_write} new metric names per post"
                )
            if guild_id is not None and accept:
                accept = await self._server_share(session, guild_id, host, accept, known, refused)
            unregistered = [name for name in accept if name not in known]
            if unregistered:
                await session.execute(
                    _insert(session, MetricName)
                    .values([{"name": name} for name in unregistered])
                    .on_conflict_do_nothing(index_elements=["name"])
                )
                known.update(await _ids_of(session, set(unregistered)))
            ids: dict[str, int] = {}
            for name in wanted - set(new) | set(accept):
                metric_id = known.get(name)
                if metric_id is None or metric_id > MAX_METRIC_ID:
                    refused[name] = f"the installation's {MAX_METRIC_ID} metric names are all taken"
                else:
                    ids[name] = metric_id
            fresh = {ids[name] for name in accept if name in ids} - have
            if fresh:
                await session.execute(
                    _insert(session, HostMetric)
                    .values([{"host": host, "metric_id": i} for i in sorted(fresh)])
                    .on_conflict_do_nothing(index_elements=["host", "metric_id"])
                )
        for name, metric_id in known.items():
            self._ids[name] = metric_id
            self._names[metric_id] = name
        self._per_host[host] = have | fresh
        return ids

    async def _server_share(
        self,
        session: AsyncSession,
        guild_id: int,
        host: str,
        accept: list[str],
        known: Mapping[str, int],
        refused: dict[str, str],
    ) -> list[str]:
        """Of the new names an agent host of server `guild_id` would add, those within the
        cap on the server's agents (its "game servers" host is no agent: its names are
        bounded by the game servers it may watch, and do not count) and outside the ids
        kept for the installation's hosts. Read in `admit`'s locked transaction."""
        if split_key(host)[1] != GAMES_HOST_NAME:
            prefix = agent_key(guild_id, "")
            used = await session.scalar(
                select(func.count()).where(
                    HostMetric.host.startswith(prefix, autoescape=True),
                    HostMetric.host != agent_key(guild_id, GAMES_HOST_NAME),
                )
            )
            room = max(0, MAX_NAMES_PER_SERVER - int(used or 0))
            for name in accept[room:]:
                refused[name] = (
                    f"this server's agents already have {MAX_NAMES_PER_SERVER} metric names"
                )
            accept = accept[:room]
        unregistered = [name for name in accept if name not in known]
        if unregistered:
            top = int(await session.scalar(select(func.max(MetricName.id))) or 0)
            left = max(0, MAX_METRIC_ID - RESERVED_FOR_INSTALLATION - top)
            if len(unregistered) > left:
                for name in unregistered[left:]:
                    refused[name] = (
                        "the metric names left are kept for the bot's own hosts; ask the "
                        "bot's owners to clear old hosts"
                    )
                keep = set(unregistered[:left])
                accept = [n for n in accept if n in known or n in keep]
        return accept

    async def known_metrics(self) -> list[str]:
        await self._load_names()
        return sorted(self._ids)

    async def _name(self, metric_id: int) -> str | None:
        if metric_id not in self._names:
            await self._load_names()
        return self._names.get(metric_id)

    # --- writing --------------------------------------------------------------------
    async def write(self, host: str, ts: float, metrics: Mapping[str, float]) -> None:
        await self.write_many(host, [(ts, metrics)])

    async def write_many(
        self, host: str, samples: Iterable[tuple[float, Mapping[str, float]]]
    ) -> int:
        """Store raw samples of one host; a second sample in the same second replaces it."""
        return (await self.store(host, samples, new_per_write=MAX_NAMES_PER_HOST)).rows

    async def store(
        self,
        host: str,
        samples: Iterable[tuple[float, Mapping[str, float]]],
        *,
        new_per_write: int = MAX_NEW_NAMES_PER_WRITE,
    ) -> WriteResult:
        """Store raw samples of one host, leaving out (and naming) each metric that cannot
        be stored: a bad name, a value that is not a finite float32, or over the caps."""
        samples = list(samples)
        result = WriteResult()
        names = {name for _, m in samples for name in m}
        ids, result.refused = await self.admit(host, names, new_per_write=new_per_write)
        rows = []
        for ts, metrics in samples:
            values = {}
            for name, value in metrics.items():
                if name not in ids:
                    continue
                why = bad_value(value)
                if why is not None:
                    result.refused.setdefault(name, why)
                    continue
                values[ids[name]] = float(value)
            rows.append({"host": host, "tier": RAW, "ts": int(ts), "data": pack(values)})
            result.values += len(values)
        if not rows:
            return result
        async with self.db.session() as session, session.begin():
            statement = _insert(session, SampleRow).values(rows)
            await session.execute(
                statement.on_conflict_do_update(
                    index_elements=["host", "tier", "ts"], set_={"data": statement.excluded.data}
                )
            )
        self._written(host, RAW, min(row["ts"] for row in rows))
        result.rows = len(rows)
        return result

    # --- downsampling and pruning ----------------------------------------------------
    async def rollup(self, now: float, *, max_buckets: int = 2000) -> int:
        """Average finished buckets into the 5-minute and hourly tiers; rows written."""
        written = 0
        for tier in (FIVE_MIN, HOURLY):
            for host in await self._hosts_in(SOURCE_TIER[tier]):
                written += await self._rollup_host(host, tier, now, max_buckets)
        return written

    async def _rollup_host(self, host: str, tier: int, now: float, max_buckets: int) -> int:
        bucket = BUCKET_S[tier]
        source = SOURCE_TIER[tier]
        end = int((now - ROLLUP_GRACE_S) // bucket * bucket)
        async with self.db.session() as session:
            last = await session.scalar(
                select(func.max(SampleRow.ts)).where(SampleRow.host == host, SampleRow.tier == tier)
            )
            if last is not None:
                start = int(last) + bucket
            else:
                first = await session.scalar(
                    select(func.min(SampleRow.ts)).where(
                        SampleRow.host == host, SampleRow.tier == source
                    )
                )
                if first is None:
                    return 0
                start = int(first) // bucket * bucket
            end = min(end, start + max_buckets * bucket)
            if end <= start:
                return 0
            result = await session.execute(
                select(SampleRow.ts, SampleRow.data)
                .where(
                    SampleRow.host == host,
                    SampleRow.tier == source,
                    SampleRow.ts >= start,
                    SampleRow.ts < end,
                )
                .order_by(SampleRow.ts)
            )
            groups: dict[int, list[bytes]] = defaultdict(list)
            for ts, data in result:
                groups[int(ts) // bucket * bucket].append(data)
        rows = [
            {"host": host, "tier": tier, "ts": ts, "data": _average(datas)}
            for ts, datas in sorted(groups.items())
        ]
        if not rows:
            return 0
        async with self.db.session() as session, session.begin():
            for chunk in _chunks(rows, 500):
                await session.execute(
                    _insert(session, SampleRow)
                    .values(chunk)
                    .on_conflict_do_nothing(index_elements=["host", "tier", "ts"])
                )
        self._written(host, tier, rows[0]["ts"])
        return len(rows)

    async def prune(self, now: float) -> int:
        """Delete rows older than their tier's retention; rows deleted."""
        deleted = 0
        async with self.db.session() as session, session.begin():
            for tier in (RAW, FIVE_MIN, HOURLY):
                result = await session.execute(
                    delete(SampleRow).where(
                        SampleRow.tier == tier, SampleRow.ts < now - self.retention.for_tier(tier)
                    )
                )
                deleted += result.rowcount or 0
        if deleted:
            self._columns.clear()  # rare (hourly): read again what is still kept
        return deleted

    # --- reading --------------------------------------------------------------------
    async def _hosts_in(self, tier: int) -> list[str]:
        async with self.db.session() as session:
            rows = await session.scalars(
                select(SampleRow.host).where(SampleRow.tier == tier).group_by(SampleRow.host)
            )
            return list(rows)

    async def host_keys(self) -> list[str]:
        """Every host with history, by a skip over the primary key's index (one step per
        host), not a scan of every row as `hosts()` needs for its times."""
        table = SampleRow.__tablename__
        async with self.db.session() as session:
            rows = await session.execute(
                text(
                    f"WITH RECURSIVE h(host) AS (SELECT min(host) FROM {table} UNION ALL "
                    f"SELECT (SELECT min(host) FROM {table} WHERE host > h.host) FROM h "
                    "WHERE h.host IS NOT NULL) SELECT host FROM h WHERE host IS NOT NULL"
                )
            )
            return [str(host) for (host,) in rows]

    async def hosts(self) -> list[HostSeen]:
        """Every host with history, and when it last reported."""
        async with self.db.session() as session:
            rows = await session.execute(
                select(SampleRow.host, func.max(SampleRow.ts)).group_by(SampleRow.host)
            )
            return sorted((HostSeen(host, int(ts)) for host, ts in rows), key=lambda h: h.name)

    async def latest(self, host: str) -> tuple[int, dict[str, float]] | None:
        """The newest raw sample of `host`: from memory, read again after this process
        writes one, or (another process's) at most once per PROBE_S."""
        cached = self._latest.get(host)
        if cached is not None and self.monotonic() - cached[0] < PROBE_S:
            return cached[1]
        return await self._once(("latest", host), lambda: self._read_latest(host))

    async def _read_latest(self, host: str) -> tuple[int, dict[str, float]] | None:
        checked_at = self.monotonic()
        writes = self._writes.get((host, RAW), 0)
        async with self.db.session() as session:
            row = (
                await session.execute(
                    select(SampleRow.ts, SampleRow.data)
                    .where(SampleRow.host == host, SampleRow.tier == RAW)
                    .order_by(SampleRow.ts.desc())
                    .limit(1)
                )
            ).first()
        latest = None
        if row is not None:
            ids, values, _ = unpack(row.data)
            out = {}
            for metric_id, value in zip(ids, values, strict=True):
                name = await self._name(metric_id)
                if name is not None:
                    out[name] = value
            latest = int(row.ts), out
        if writes == self._writes.get((host, RAW), 0):
            self._latest[host] = (checked_at, latest)
        return latest

    async def _once[T](self, key: object, make: Callable[[], Awaitable[T]]) -> T:
        """The result of `make()`, one run shared by everyone who asks while it runs."""
        running = self._inflight.get(key)
        if running is None:
            running = self._inflight[key] = asyncio.ensure_future(make())

            def done(future: asyncio.Future[T]) -> None:
                if self._inflight.get(key) is future:
                    del self._inflight[key]

            running.add_done_callback(done)
        return await asyncio.shield(running)

    def writes(self, host: str) -> int:
        """How many writes of `host`'s rows (any tier) this process made: what it made from
        this host's history is current while the count stays (other processes' rows show
        on reads after PROBE_S)."""
        return sum(count for (written, _), count in self._writes.items() if written == host)

    def pick_tier(self, start: float, end: float, now: float, max_points: int = 1500) -> int:
        """The finest tier that still holds `start` and has at most THIN_AT_MOST times
        `max_points` points in the range (`query` averages neighbours down to `max_points`):
        a 1 h chart sampled every 2 s (1,800 points) reads the raw rows, not the 5-minute
        tier, which is empty for the first five minutes."""
        span = max(1.0, end - start)
        steps = {RAW: self.raw_step_s, FIVE_MIN: 300, HOURLY: 3600}
        for tier in (RAW, FIVE_MIN):
            kept_from = now - self.retention.for_tier(tier)
            if start >= kept_from and span / steps[tier] <= THIN_AT_MOST * max_points:
                return tier
        return HOURLY

    async def query(
        self, host: str, metric: str, start: float, end: float, *, now: float, max_points=1500
    ) -> Series:
        """`metric` of `host` from `start` to `end` in the finest tier that holds it, at most
        `max_points` points (neighbours averaged, peaks kept, past that). Served from memory
        (see _column): the same question on unchanged data returns the same Series object."""
        tier = self.pick_tier(start, end, now, max_points)
        step = {RAW: self.raw_step_s, FIVE_MIN: 300.0, HOURLY: 3600.0}[tier]
        if metric not in self._ids:
            await self._load_names()
        metric_id = self._ids.get(metric)
        if metric_id is None:
            return Series(metric, host, tier, step, [])
        column = await self._column(host, tier, metric_id)
        lo, hi = bisect_left(column.ts, int(start)), bisect_right(column.ts, int(end))
        window = (lo, hi, max_points)
        series = column.windows.get(window)
        if series is None:
            points, factor = _thin(column, lo, hi, max(1, max_points))
            series = Series(metric, host, tier, step * factor, points)
            if len(column.windows) >= MAX_WINDOWS_PER_COLUMN:
                column.windows.clear()
            column.windows[window] = series
        return series

    def _written(self, host: str, tier: int, oldest_ts: int) -> None:
        """This process wrote rows of (host, tier) from `oldest_ts` on: columns holding them
        are read again; columns behind them look for the new rows on their next read."""
        self._writes[(host, tier)] = self._writes.get((host, tier), 0) + 1
        self._probed_at.pop((host, tier), None)
        if tier == RAW:
            self._latest.pop(host, None)
        for key in [k for k in self._columns if k[0] == host and k[1] == tier]:
            if oldest_ts <= self._columns[key].last:
                del self._columns[key]

    async def _column(self, host: str, tier: int, metric_id: int) -> _Column:
        """The column of (host, tier, metric): read whole once (one query), then only the
        rows newer than its last (one query per PROBE_S for every metric of the host)."""
        key = (host, tier, metric_id)
        column = self._columns.get(key)
        clock = self.monotonic()
        if column is not None and clock - column.built_at > REBUILD_S:
            del self._columns[key]
            column = None
        if column is None:  # one read for everyone who asks meanwhile
            return await self._once(key, lambda: self._build(host, tier, metric_id, clock))
        self._columns.move_to_end(key)
        probed = self._probed_at.get((host, tier))
        if probed is None or clock - probed >= PROBE_S:
            await self._probe(host, tier)
        return self._columns.get(key) or await self._column(host, tier, metric_id)

    async def _build(self, host: str, tier: int, metric_id: int, clock: float) -> _Column:
        column = _Column(built_at=clock)
        writes = self._writes.get((host, tier), 0)
        async with self.db.session() as session:
            result = await session.execute(
                select(SampleRow.ts, SampleRow.data)
                .where(SampleRow.host == host, SampleRow.tier == tier)
                .order_by(SampleRow.ts)
            )
            for ts, data in result:
                column.add(int(ts), data, metric_id)
        if writes != self._writes.get((host, tier), 0):
            return column  # this process wrote meanwhile: the next read reads again
        self._columns[(host, tier, metric_id)] = column
        while len(self._columns) > MAX_COLUMNS:
            self._columns.popitem(last=False)
        self._probed_at.setdefault((host, tier), clock)
        return column

    async def _probe(self, host: str, tier: int) -> None:
        """Append the rows of (host, tier) newer than the columns' last to each of them;
        callers arriving meanwhile share the one query."""
        running = self._probing.get((host, tier))
        if running is not None:
            await asyncio.shield(running)
            return
        future = self._probing[(host, tier)] = asyncio.get_running_loop().create_future()
        try:
            self._probed_at[(host, tier)] = self.monotonic()
            columns = {k[2]: c for k, c in self._columns.items() if k[0] == host and k[1] == tier}
            if columns:
                since = min(c.last for c in columns.values())
                async with self.db.session() as session:
                    result = await session.execute(
                        select(SampleRow.ts, SampleRow.data)
                        .where(SampleRow.host == host, SampleRow.tier == tier, SampleRow.ts > since)
                        .order_by(SampleRow.ts)
                    )
                    rows = list(result)
                for metric_id, column in columns.items():
                    fresh = [(int(ts), data) for ts, data in rows if ts > column.last]
                    if fresh:
                        column.windows = {}
                        for ts, data in fresh:
                            column.add(ts, data, metric_id)
            future.set_result(None)
        except BaseException as exc:
            self._probed_at.pop((host, tier), None)
            future.set_exception(exc)
            future.exception()  # retrieved: the callers waiting see it
            raise
        finally:
            del self._probing[(host, tier)]


def _thin(
    column: _Column, lo: int, hi: int, max_points: int
) -> tuple[list[tuple[int, float, float]], int]:
    """The points lo..hi of `column`, every `factor` neighbours averaged (their peak kept)
    so that at most `max_points` remain; (points, factor)."""
    count = hi - lo
    factor = max(1, -(-count // max_points))
    ts, avg, peak = column.ts, column.avg, column.peak
    if factor == 1:
        return list(zip(ts[lo:hi], avg[lo:hi], peak[lo:hi], strict=True)), 1
    points = []
    for at in range(lo, hi, factor):
        upto = min(at + factor, hi)
        points.append((ts[at], sum(avg[at:upto]) / (upto - at), max(peak[at:upto])))
    return points, factor


def _find(data: bytes, metric_id: int) -> tuple[float, float] | None:
    """(value, maximum) of one metric in a packed row, decoding only that metric."""
    count = int.from_bytes(data[1:3], "little")
    ids = array("H")
    ids.frombytes(data[3 : 3 + 2 * count])
    if _SWAP:
        ids.byteswap()
    try:
        index = ids.index(metric_id)
    except ValueError:
        return None
    offset = 3 + 2 * count + 4 * index
    value = _FLOAT.unpack_from(data, offset)[0]
    if data[0] != _KIND_ROLLUP:
        return value, value
    return value, _FLOAT.unpack_from(data, offset + 4 * count)[0]


def _average(datas: list[bytes]) -> bytes:
    sums: dict[int, float] = defaultdict(float)
    counts: dict[int, int] = defaultdict(int)
    maxima: dict[int, float] = {}
    for data in datas:
        ids, values, peaks = unpack(data)
        peaks = peaks if peaks is not None else values
        for metric_id, value, peak in zip(ids, values, peaks, strict=True):
            sums[metric_id] += value
            counts[metric_id] += 1
            if metric_id not in maxima or peak > maxima[metric_id]:
                maxima[metric_id] = peak
    averages = {key: sums[key] / counts[key] for key in sums}
    return pack(averages, maxima)


def _chunks(rows: list[dict], size: int) -> Iterable[list[dict]]:
    for index in range(0, len(rows), size):
        yield rows[index : index + size]


async def _ids_of(session: AsyncSession, names: set[str]) -> dict[str, int]:
    """The registered ids of `names` (those registered), in one query."""
    if not names:
        return {}
    rows = await session.execute(
        select(MetricName.name, MetricName.id).where(MetricName.name.in_(sorted(names)))
    )
    return {row.name: row.id for row in rows}


def _insert(session, table):  # type: ignore[no-untyped-def]
    if session.bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)
