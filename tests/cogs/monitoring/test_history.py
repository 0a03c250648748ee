"""History on SQLite and PostgreSQL: compact rows, downsampling, pruning, range queries."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.database import Database
from cogs.monitoring.history import (
    FIVE_MIN,
    HOURLY,
    RAW,
    HistoryStore,
    Retention,
    pack,
    unpack,
)
from cogs.monitoring.models import SampleRow

pytestmark = pytest.mark.backend
T0 = 1_800_000_000 - 1_800_000_000 % 3600  # an hour boundary


def test_pack_round_trip() -> None:
    ids, values, maxima = unpack(pack({1: 1.5, 7: 250.25}))
    assert list(ids) == [1, 7] and list(values) == [1.5, 250.25] and maxima is None
    ids, values, maxima = unpack(pack({3: 2.0}, {3: 9.0}))
    assert list(values) == [2.0] and list(maxima) == [9.0]
    assert len(pack({i: 1.0 for i in range(100)})) == 3 + 600  # 6 bytes per metric


async def tier_count(db: Database, tier: int, host: str = "alpha") -> int:
    async with db.session() as session:
        return await session.scalar(
            select(func.count()).where(SampleRow.tier == tier, SampleRow.host == host)
        )


async def test_hosts_stay_apart_and_latest(migrated_db: Database) -> None:
    store = HistoryStore(migrated_db)
    await store.write("alpha", T0, {"cpu.percent": 10, "mem.percent": 40})
    await store.write("beta", T0 + 5, {"cpu.percent": 90})
    await store.write("alpha", T0 + 10, {"cpu.percent": 20, "mem.percent": 41})
    assert await store.latest("alpha") == (T0 + 10, {"cpu.percent": 20.0, "mem.percent": 41.0})
    assert await store.latest("beta") == (T0 + 5, {"cpu.percent": 90.0})
    assert [(h.name, h.last_seen) for h in await store.hosts()] == [
        ("alpha", T0 + 10),
        ("beta", T0 + 5),
    ]
    # a second process registers the same names without clashing
    other = HistoryStore(migrated_db)
    await other.write("gamma", T0, {"cpu.percent": 1, "new.metric": 2})
    assert set(await store.known_metrics()) == {"cpu.percent", "mem.percent", "new.metric"}


async def test_rollup_averages_keeps_peaks_and_prunes(migrated_db: Database) -> None:
    store = HistoryStore(migrated_db, Retention(raw_s=3600, five_min_s=4 * 3600, hourly_s=86400))
    # two hours of samples every 10 s; cpu ramps 0..719, a spike of 5000 at minute 7
    samples = [(T0 + i * 10, {"cpu.percent": float(i % 720)}) for i in range(720)]
    samples[42] = (T0 + 420, {"cpu.percent": 5000.0})
    await store.write_many("alpha", samples)
    now = T0 + 7200 + 120
    written = await store.rollup(now)
    assert await tier_count(migrated_db, FIVE_MIN) == 24
    assert await tier_count(migrated_db, HOURLY) == 2
    assert written == 26
    assert await store.rollup(now) == 0  # nothing new: idempotent

    series = await store.query("alpha", "cpu.percent", T0, T0 + 7199, now=now + 86400)
    assert series.tier == HOURLY
    series = await store.query("alpha", "cpu.percent", T0, T0 + 3 * 3600, now=now)
    assert series.tier == FIVE_MIN and len(series.points) == 24
    ts, avg, peak = series.points[1]  # 5..10 min: samples 30..59 with the spike at 42
    assert ts == T0 + 300
    expected = (sum(range(30, 60)) - 42 + 5000) / 30
    assert avg == pytest.approx(expected, rel=1e-5) and peak == 5000.0
    hourly = await store.query("alpha", "cpu.percent", T0 - 86400 * 2, now, now=now)
    assert hourly.tier == HOURLY and hourly.points[0][2] == 5000.0  # peaks survive upward

    raw = await store.query("alpha", "cpu.percent", now - 600, now, now=now)
    assert raw.tier == RAW and raw.points[-1] == (T0 + 7190, 719.0, 719.0)

    deleted = await store.prune(now)  # raw older than 1 h goes; rollups are younger than 4 h
    old = [s for s in samples if s[0] < now - 3600]
    assert deleted == len(old) > 0
    assert await tier_count(migrated_db, RAW) == len(samples) - len(old)
    assert await tier_count(migrated_db, FIVE_MIN) == 24
    await store.prune(now + 5 * 3600)
    assert await tier_count(migrated_db, FIVE_MIN) == 0
    assert await tier_count(migrated_db, HOURLY) == 2
    await store.prune(now + 2 * 86400)
    assert await tier_count(migrated_db, HOURLY) == 0


def test_pick_tier_follows_range_and_retention() -> None:
    store = HistoryStore(None, Retention(), raw_step_s=10)  # type: ignore[arg-type]
    now = T0
    assert store.pick_tier(now - 3600, now, now) == RAW
    assert store.pick_tier(now - 6 * 3600, now, now) == RAW  # 2160 raw points, thinned
    assert store.pick_tier(now - 86400, now, now) == FIVE_MIN  # 8640 raw points: too many
    assert store.pick_tier(now - 7 * 86400, now, now) == FIVE_MIN  # 2016, thinned
    assert store.pick_tier(now - 30 * 86400, now, now) == HOURLY  # 8640 five-minute points
    assert store.pick_tier(now - 2 * 86400, now - 86400 - 3600, now) == FIVE_MIN  # raw gone
    every_2_s = HistoryStore(None, Retention(), raw_step_s=2)  # type: ignore[arg-type]
    assert every_2_s.pick_tier(now - 3600, now, now) == RAW  # 1800 points: raw, not empty 5-min


async def test_a_1_h_chart_sampled_every_2_s_shows_its_first_minutes(
    migrated_db: Database,
) -> None:
    """1,800 raw points in an hour: thinned raw rows, not the 5-minute tier (empty until
    the first rollup)."""
    store = HistoryStore(migrated_db, raw_step_s=2)
    await store.write_many("alpha", [(T0 + i * 2, {"cpu.percent": float(i)}) for i in range(90)])
    now = T0 + 180
    series = await store.query("alpha", "cpu.percent", now - 3600, now, now=now)
    assert series.tier == RAW and len(series.points) == 90
    full = [(T0 + i * 2, {"cpu.percent": 1.0}) for i in range(90, 1800)]
    await store.write_many("alpha", full)
    now = T0 + 3600
    series = await store.query("alpha", "cpu.percent", now - 3600, now, now=now)
    assert series.tier == RAW and len(series.points) <= 1500 and series.step_s == 4.0


async def test_unknown_metric_gives_an_empty_series(migrated_db: Database) -> None:
    store = HistoryStore(migrated_db)
    await store.write("alpha", T0, {"cpu.percent": 1})
    series = await store.query("alpha", "nope", T0 - 10, T0 + 10, now=T0)
    assert series.points == []


async def test_the_monitors_maintenance_rolls_up_and_prunes(migrated_db: Database) -> None:
    from cogs.monitoring.monitor import Monitor

    now = float(T0 + 2 * 86400)
    monitor = Monitor(migrated_db, host="alpha", clock=lambda: now)
    old = [(T0 + i * 10, {"cpu.percent": 50.0}) for i in range(360)]  # two days ago
    await monitor.history.write_many("alpha", old)
    rolled, pruned = await monitor.maintain()
    assert rolled == 12 + 1 and pruned == 360  # 5-minute buckets, one hour; raw is past 24 h
    assert await tier_count(migrated_db, RAW) == 0
    assert await tier_count(migrated_db, FIVE_MIN) == 12
    await monitor.stop()


# --- the charted series held in memory (HistoryStore.query) -------------------------------


async def test_a_write_shows_on_the_next_query(migrated_db: Database) -> None:
    store = HistoryStore(migrated_db)
    await store.write_many("alpha", [(T0 + i * 10, {"cpu.percent": float(i)}) for i in range(5)])
    now = T0 + 60
    first = await store.query("alpha", "cpu.percent", now - 3600, now, now=now)
    assert [p[1] for p in first.points] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert await store.query("alpha", "cpu.percent", now - 3600, now, now=now) is first
    await store.write("alpha", T0 + 50, {"cpu.percent": 5.0})  # newer than any read
    later = await store.query("alpha", "cpu.percent", now - 3600, now, now=now)
    assert [p[1] for p in later.points] == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    await store.write("alpha", T0 + 20, {"cpu.percent": 99.0})  # the same second again
    replaced = await store.query("alpha", "cpu.percent", now - 3600, now, now=now)
    assert [p[1] for p in replaced.points] == [0.0, 1.0, 99.0, 3.0, 4.0, 5.0]
    await store.write("alpha", T0 + 25, {"cpu.percent": 7.0})  # a late sample in between
    late = await store.query("alpha", "cpu.percent", now - 3600, now, now=now)
    assert [p[1] for p in late.points] == [0.0, 1.0, 99.0, 7.0, 3.0, 4.0, 5.0]


async def test_another_process_appending_shows_within_the_probe_interval(
    migrated_db: Database,
) -> None:
    store = HistoryStore(migrated_db)
    clock = [1000.0]
    store.monotonic = lambda: clock[0]
    await store.write("alpha", T0, {"cpu.percent": 1.0})
    now = T0 + 60
    assert len((await store.query("alpha", "cpu.percent", now - 3600, now, now=now)).points) == 1
    other = HistoryStore(migrated_db)  # the agent writing to the database itself
    await other.write("alpha", T0 + 10, {"cpu.percent": 2.0})
    clock[0] += 1.0  # PROBE_S later
    series = await store.query("alpha", "cpu.percent", now - 3600, now, now=now)
    assert [p[1] for p in series.points] == [1.0, 2.0]


async def test_rollups_and_prunes_show_on_the_next_query(migrated_db: Database) -> None:
    store = HistoryStore(migrated_db, Retention(raw_s=3600, five_min_s=4 * 3600, hourly_s=86400))
    await store.write_many("alpha", [(T0 + i * 10, {"cpu.percent": 1.0}) for i in range(60)])
    now = T0 + 720  # both 5-minute buckets are finished (ROLLUP_GRACE_S)
    before = await store.query("alpha", "cpu.percent", T0, T0 + 3 * 3600, now=now, max_points=100)
    assert before.tier == FIVE_MIN and before.points == []
    await store.rollup(now)
    after = await store.query("alpha", "cpu.percent", T0, T0 + 3 * 3600, now=now, max_points=100)
    assert [p[0] for p in after.points] == [T0, T0 + 300]
    await store.prune(T0 + 4 * 3600 + 1)  # the first 5-minute row is past its retention
    pruned = await store.query("alpha", "cpu.percent", T0, T0 + 3 * 3600, now=now, max_points=100)
    assert [p[0] for p in pruned.points] == [T0 + 300]


async def test_long_ranges_are_thinned_to_max_points_keeping_peaks(migrated_db: Database) -> None:
    store = HistoryStore(migrated_db)
    rows = [
        {"host": "alpha", "tier": HOURLY, "ts": T0 + h * 3600,
         "data": pack({1: float(h)}, {1: 500.0 if h == 13 else float(h)})}
        for h in range(100)
    ]  # fmt: skip
    await store.metric_ids(["cpu.percent"])  # id 1
    async with migrated_db.session() as session, session.begin():
        await session.execute(SampleRow.__table__.insert(), rows)
    now = T0 + 100 * 3600
    series = await store.query("alpha", "cpu.percent", T0 - 86400 * 60, now, now=now, max_points=10)
    assert series.tier == HOURLY and series.step_s == 36000 and len(series.points) == 10
    assert series.points[1] == (T0 + 36000, 14.5, 500.0)  # hours 10..19 averaged, peak kept


async def test_latest_shows_a_new_sample_at_once_and_another_processes_within_a_second(
    migrated_db: Database,
) -> None:
    store = HistoryStore(migrated_db)
    clock = [1000.0]
    store.monotonic = lambda: clock[0]
    await store.write("alpha", T0, {"cpu.percent": 1.0})
    assert await store.latest("alpha") == (T0, {"cpu.percent": 1.0})
    await store.write("alpha", T0 + 10, {"cpu.percent": 2.0})
    assert await store.latest("alpha") == (T0 + 10, {"cpu.percent": 2.0})
    other = HistoryStore(migrated_db)
    await other.write("alpha", T0 + 20, {"cpu.percent": 3.0})
    clock[0] += 1.0  # PROBE_S later
    assert await store.latest("alpha") == (T0 + 20, {"cpu.percent": 3.0})


async def test_host_keys_are_every_host_with_history(migrated_db: Database) -> None:
    store = HistoryStore(migrated_db)
    assert await store.host_keys() == []
    for host in ("beta", "alpha", "gamma"):
        await store.write_many(host, [(T0 + i * 10, {"cpu.percent": 1.0}) for i in range(3)])
    assert await store.host_keys() == ["alpha", "beta", "gamma"]
    assert await store.host_keys() == [h.name for h in await store.hosts()]
