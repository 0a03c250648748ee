"""The scheduler with a simulated clock and a fake Discord: edits only on change, per-channel
budgets, 429 backoff, a deleted message re-posted once, restart re-attach, shard ownership."""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field

import pytest

from bot.shards import owns_guild, shard_of
from cogs.dashboards.render import Rendered
from cogs.dashboards.scheduler import (
    ChannelGone,
    Entry,
    MessageGone,
    RateLimited,
    Scheduler,
)


class FakeClock:
    """Simulated time: sleepers wake only when the test advances the clock to them."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        future = asyncio.get_running_loop().create_future()
        self.sleepers.append((self.now + max(seconds, 0.0), future))
        await future

    def wake_next(self) -> None:
        self.sleepers.sort(key=lambda s: s[0])
        target, future = self.sleepers.pop(0)
        self.now = max(self.now, target)
        if not future.done():
            future.set_result(None)


async def settle(clock: FakeClock, scheduler: Scheduler) -> None:
    """Run the channel workers to the end, advancing simulated time when all of them wait."""
    while True:
        for _ in range(50):
            await asyncio.sleep(0)
        if all(w.done() for w in scheduler._workers.values()):
            return
        if clock.sleepers:
            clock.wake_next()
        else:  # a worker waits on something real (a call being cut off)
            await asyncio.sleep(0.01)


@dataclass
class FakeDiscord:
    clock: FakeClock
    messages: dict[int, str] = field(default_factory=dict)
    calls: list[tuple[float, str, int]] = field(default_factory=list)
    next_id: int = 500
    fail: list[Exception] = field(default_factory=list)

    async def post(self, channel_id: int, rendered: Rendered, nonce: str | None = None) -> int:
        self.calls.append((self.clock.now, "post", channel_id))
        if self.fail:
            raise self.fail.pop(0)
        self.next_id += 1
        self.messages[self.next_id] = rendered.digest
        return self.next_id

    async def edit(self, channel_id: int, message_id: int, rendered: Rendered) -> None:
        self.calls.append((self.clock.now, "edit", channel_id))
        if self.fail:
            raise self.fail.pop(0)
        if message_id not in self.messages:
            raise MessageGone()
        self.messages[message_id] = rendered.digest

    async def exists(self, channel_id: int, message_id: int) -> bool:
        self.calls.append((self.clock.now, "get", channel_id))
        return message_id in self.messages


@dataclass
class FakeStore:
    posted: dict[int, int] = field(default_factory=dict)
    hashes: dict[int, str] = field(default_factory=dict)
    failures: dict[int, str] = field(default_factory=dict)
    intents: dict[int, str] = field(default_factory=dict)

    async def post_intended(self, dashboard_id: int, nonce: str) -> None:
        self.intents[dashboard_id] = nonce

    async def message_posted(self, dashboard_id: int, message_id: int, digest: str) -> None:
        self.posted[dashboard_id] = message_id
        self.hashes[dashboard_id] = digest

    async def message_edited(self, dashboard_id: int, digest: str) -> None:
        self.hashes[dashboard_id] = digest

    async def failed(self, dashboard_id: int, reason: str) -> None:
        self.failures[dashboard_id] = reason


class Content:
    """A dashboard's content that the test changes at will."""

    def __init__(self) -> None:
        self.version = 0

    async def render(self) -> Rendered:
        return Rendered({"embeds": [{"title": str(self.version)}]}, (), f"h{self.version}")


@pytest.fixture
def world() -> tuple[FakeClock, FakeDiscord, FakeStore, Scheduler]:
    clock = FakeClock()
    discord = FakeDiscord(clock)
    store = FakeStore()
    scheduler = Scheduler(discord, store, clock=clock, sleep=clock.sleep)
    return clock, discord, store, scheduler


def entry(
    dashboard_id: int,
    channel_id: int,
    content: Content,
    message_id: int | None = None,
    last_hash: str | None = None,
) -> Entry:
    return Entry(dashboard_id, 1 << 22, channel_id, message_id, 30.0, content.render, last_hash)


async def run_for(
    clock: FakeClock, scheduler: Scheduler, seconds: float, step: float = 1.0
) -> None:
    end = clock.now + seconds
    while clock.now < end:
        await scheduler.tick()
        await settle(clock, scheduler)
        clock.now += step


async def test_posts_once_then_edits_only_when_the_content_changes(world) -> None:  # type: ignore[no-untyped-def]
    clock, discord, store, scheduler = world
    content = Content()
    scheduler.add(entry(1, 10, content))
    await run_for(clock, scheduler, 600)
    assert [c[1] for c in discord.calls] == ["post"]
    assert scheduler.stats.unchanged == 19  # 20 renders in 10 minutes at 30 s
    content.version = 1
    await run_for(clock, scheduler, 31)
    assert [c[1] for c in discord.calls] == ["post", "edit"]
    assert store.hashes[1] == "h1"


async def test_minimum_interval_is_kept(world) -> None:  # type: ignore[no-untyped-def]
    clock, discord, _, scheduler = world
    content = Content()
    scheduler.add(entry(1, 10, content))

    async def changing() -> Rendered:
        content.version += 1
        return await Content.render(content)

    scheduler.entries[1].render = changing
    await run_for(clock, scheduler, 300)
    times = [c[0] for c in discord.calls]
    assert len(times) == 10
    assert all(b - a >= 30 for a, b in itertools.pairwise(times))


async def test_one_channel_never_gets_more_than_five_sends_in_five_seconds(world) -> None:  # type: ignore[no-untyped-def]
    clock, discord, _, scheduler = world
    contents = [Content() for _ in range(12)]
    for i, content in enumerate(contents):
        scheduler.add(entry(i + 1, 10, content))
    scheduler.add(entry(99, 11, Content()))
    await scheduler.tick()
    await settle(clock, scheduler)
    sends = [c[0] for c in discord.calls if c[2] == 10]
    assert len(sends) == 12
    for i in range(len(sends) - 5):
        assert sends[i + 5] - sends[i] >= 5.0
    # The other channel was not held back by the busy one.
    assert [c[0] for c in discord.calls if c[2] == 11] == [1000.0]


async def test_a_429_backs_off_and_retries(world) -> None:  # type: ignore[no-untyped-def]
    clock, discord, _, scheduler = world
    content = Content()
    scheduler.add(entry(1, 10, content))
    discord.fail = [RateLimited(2.0), RateLimited(0.1)]
    await scheduler.tick()
    await settle(clock, scheduler)
    times = [c[0] for c in discord.calls]
    assert len(times) == 3 and scheduler.entries[1].message_id is not None
    assert times[1] - times[0] >= 2.0  # waited at least retry_after
    assert times[2] - times[1] >= 4.0  # and doubled the wait after the second
    assert scheduler.stats.rate_limited == 2


async def test_a_deleted_message_is_posted_again_once(world) -> None:  # type: ignore[no-untyped-def]
    clock, discord, store, scheduler = world
    content = Content()
    scheduler.add(entry(1, 10, content))
    await run_for(clock, scheduler, 1)
    first = store.posted[1]
    del discord.messages[first]
    content.version = 1
    await run_for(clock, scheduler, 31)
    second = store.posted[1]
    assert second != first and second in discord.messages
    assert [c[1] for c in discord.calls] == ["post", "edit", "post"]
    await run_for(clock, scheduler, 120)
    assert [c[1] for c in discord.calls] == ["post", "edit", "post"]


async def test_a_delete_event_reposts_even_when_nothing_changed(world) -> None:  # type: ignore[no-untyped-def]
    clock, discord, store, scheduler = world
    scheduler.add(entry(1, 10, Content()))
    await run_for(clock, scheduler, 1)
    first = store.posted[1]
    del discord.messages[first]
    assert scheduler.message_deleted(first) is not None
    await run_for(clock, scheduler, 2)
    assert store.posted[1] != first
    assert [c[1] for c in discord.calls] == ["post", "post"]


async def test_after_restart_an_unchanged_dashboard_reattaches_without_posting(world) -> None:  # type: ignore[no-untyped-def]
    clock, discord, store, scheduler = world
    discord.messages[77] = "h0"
    scheduler.add(entry(1, 10, Content(), message_id=77, last_hash="h0"))
    await run_for(clock, scheduler, 120)
    assert [c[1] for c in discord.calls] == ["get"]  # checked once that it still exists
    assert store.posted == {}


async def test_after_restart_a_message_deleted_meanwhile_is_posted_again(world) -> None:  # type: ignore[no-untyped-def]
    clock, discord, store, scheduler = world
    scheduler.add(entry(1, 10, Content(), message_id=77, last_hash="h0"))
    await run_for(clock, scheduler, 60)
    assert [c[1] for c in discord.calls] == ["get", "post"]
    assert store.posted[1] == scheduler.entries[1].message_id


async def test_a_gone_channel_stops_the_dashboard_and_says_why(world) -> None:  # type: ignore[no-untyped-def]
    clock, discord, store, scheduler = world
    discord.fail = [ChannelGone("Missing Access")]
    scheduler.add(entry(1, 10, Content()))
    await run_for(clock, scheduler, 120)
    assert len(discord.calls) == 1
    assert store.failures == {1: "Missing Access"}


async def test_only_dashboards_of_guilds_on_our_shards_are_refreshed() -> None:
    clock = FakeClock()
    discord = FakeDiscord(clock)
    guild_on_0 = next(g << 22 for g in range(1, 50) if shard_of(g << 22, 2) == 0)
    guild_on_1 = next(g << 22 for g in range(1, 50) if shard_of(g << 22, 2) == 1)
    scheduler = Scheduler(
        discord,
        FakeStore(),
        clock=clock,
        sleep=clock.sleep,
        owns=lambda g: owns_guild(g, 2, [1]),
    )
    scheduler.add(Entry(1, guild_on_0, 10, None, 30, Content().render))
    scheduler.add(Entry(2, guild_on_1, 11, None, 30, Content().render))
    await run_for(clock, scheduler, 2)
    assert [c[2] for c in discord.calls] == [11]


def test_shard_of_follows_discord() -> None:
    assert shard_of(41771983423143937, 1) == 0
    assert shard_of(41771983423143937, 4) == (41771983423143937 >> 22) % 4
    assert owns_guild(123 << 22, None, None)
    assert owns_guild(5 << 22, 4, [1]) and not owns_guild(5 << 22, 4, [0, 2])


async def test_an_edit_that_hangs_is_cut_off_and_retried(world) -> None:  # type: ignore[no-untyped-def]
    clock, discord, store, scheduler = world
    content = Content()
    scheduler.add(entry(1, 10, content))
    await run_for(clock, scheduler, 1)
    scheduler.call_timeout = 0.05
    hang = asyncio.Event()
    real_edit = discord.edit

    async def edit_once_hanging(channel_id: int, message_id: int, rendered: Rendered) -> None:
        if not hang.is_set():
            hang.set()
            await asyncio.sleep(3600)  # a client stuck in its own wait
        await real_edit(channel_id, message_id, rendered)

    discord.edit = edit_once_hanging  # type: ignore[method-assign]
    content.version = 1
    scheduler.request(1)
    await scheduler.tick()
    for _ in range(100):
        await settle(clock, scheduler)
        if store.hashes[1] == "h1":
            break
        await asyncio.sleep(0.01)
    assert store.hashes[1] == "h1"
    assert scheduler.stats.timeouts == 1 and scheduler.stats.rate_limited == 1


@pytest.mark.parametrize("age", [7200.0, 60.0])
async def test_edits_of_messages_older_than_an_hour_keep_to_three_per_six_seconds(
    age: float,
) -> None:
    """Discord answers 429 code 30046 beyond 3 edits per 6 s per channel of messages older
    than an hour; younger messages keep the ordinary 5 per 5 s."""
    clock = FakeClock()
    discord = FakeDiscord(clock)
    scheduler = Scheduler(
        discord, FakeStore(), clock=clock, sleep=clock.sleep, message_age=lambda _id: age
    )
    contents = [Content() for _ in range(10)]
    for i, content in enumerate(contents):
        scheduler.add(entry(i + 1, 10, content, message_id=900 + i, last_hash="h0"))
        scheduler.entries[i + 1].verified = True
        content.version = 1
    await scheduler.tick()
    await settle(clock, scheduler)
    edits = [c[0] for c in discord.calls if c[1] == "edit"]
    assert len(edits) == 10  # every change still lands
    limit, window = (3, 6.0) if age > 3600 else (5, 5.0)
    for i in range(len(edits) - limit):
        assert edits[i + limit] - edits[i] >= window, edits
    if age < 3600:  # the young ones are not slowed to the old pace
        assert edits[4] - edits[0] < 6.0


def test_message_age_is_read_from_the_snowflake() -> None:
    from cogs.dashboards.scheduler import snowflake_age

    two_hours_ago_ms = (1_800_000_000 - 7200) * 1000 - 1_420_070_400_000
    assert snowflake_age(two_hours_ago_ms << 22, now=1_800_000_000) == pytest.approx(7200, abs=1)


def test_dashboards_spend_a_share_of_this_processs_rest_budget() -> None:
    """With several bot processes each has its share of the bot's 50 requests a second
    (DISCORD_GLOBAL_RATE); dashboards take 4/5 of it, as they take 40 of 50 alone."""
    from types import SimpleNamespace

    from cogs.dashboards.service import dashboard_share

    def bot(rate: int) -> SimpleNamespace:
        return SimpleNamespace(
            services=SimpleNamespace(settings=SimpleNamespace(discord_global_rate=rate))
        )

    assert dashboard_share(bot(50)) == 40
    assert dashboard_share(bot(22)) == 17
    assert dashboard_share(bot(1)) == 1
