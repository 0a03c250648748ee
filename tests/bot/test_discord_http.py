"""The corrected REST limiter against the sandbox with Discord's limits on.

Bounds on time are generous and one-sided where they can be: a client that waits for another
channel's bucket, or a whole second per 429, takes several times the bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from typing import Any

import nextcord
import pytest
from nextcord.ext import commands
from nextcord.http import HTTPClient, Route

from bot.discord_http import (
    CorrectedHTTPClient,
    MajorParameterRateLimit,
    SendTimeGlobalRateLimit,
    major_parameters,
    reset_after_of,
    retry_after_of,
    use_corrected_http,
)
from sandbox.ratelimit import DEFAULT_LIMITS, RouteLimit
from sandbox.server import SandboxServer
from sandbox.state import Guild
from tests.sandbox.conftest import (  # noqa: F401  (sandbox and start_bot are fixtures)
    BotStarter,
    make_bot,
    sandbox,
    start_bot,
)

SEND = "POST /channels/{channel_id}/messages"
EDIT = "PATCH /channels/{channel_id}/messages/{message_id}"
PUT_OVERWRITE = "PUT /channels/{channel_id}/permissions/{overwrite_id}"
DELETE_OVERWRITE = "DELETE /channels/{channel_id}/permissions/{overwrite_id}"
PATCH_CHANNEL = "PATCH /channels/{channel_id}"


def load_channels(server: SandboxServer, count: int) -> Guild:
    [guild] = server.load(
        {
            "guilds": [
                {
                    "name": "Busy",
                    "owner": "alice",
                    "members": [{"name": "alice"}],
                    "channels": [{"name": f"room-{n}"} for n in range(count)],
                }
            ]
        }
    )
    return guild


def text_channels(bot: commands.Bot, guild: Guild) -> list[nextcord.TextChannel]:
    channels = [bot.get_channel(c.id) for c in guild.channels.values() if c.type == 0]
    assert all(isinstance(c, nextcord.TextChannel) for c in channels)
    return channels  # type: ignore[return-value]


def set_window(server: SandboxServer, route_key: str, limit: int, per: float) -> None:
    """Discord's limit for ``route_key``, with the window ``per`` seconds long."""
    assert server.limiter is not None
    default = DEFAULT_LIMITS[route_key]
    server.limiter.set_limit(route_key, RouteLimit(limit, per, default.bucket, default.count_key))


def statuses(server: SandboxServer, route_key: str) -> list[int]:
    method, template = route_key.split(" ", 1)
    return [c["status"] for c in server.calls if c["method"] == method and c["route"] == template]


# -- unit --------------------------------------------------------------------------------------


def test_major_parameters_name_each_top_level_resource() -> None:
    send = Route("POST", "/channels/{channel_id}/messages", channel_id=1)
    assert major_parameters(send) != major_parameters(
        Route("POST", "/channels/{channel_id}/messages", channel_id=2)
    )
    assert major_parameters(Route("GET", "/guilds/{guild_id}", guild_id=7)).startswith("None:7:")
    hook = Route("POST", "/webhooks/{webhook_id}/{webhook_token}", webhook_id=3, webhook_token="t")
    other = Route("POST", "/webhooks/{webhook_id}/{webhook_token}", webhook_id=3, webhook_token="u")
    assert major_parameters(hook) != major_parameters(other)
    assert "t" not in major_parameters(hook).split(":")  # a digest, not the token


class FakeResponse:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


def test_retry_after_and_reset_after_are_read_as_discord_sends_them() -> None:
    response = FakeResponse({"X-RateLimit-Reset-After": "0.200", "Retry-After": "1"})
    assert retry_after_of(response, {"retry_after": 0.05}) == 0.05  # type: ignore[arg-type]
    assert retry_after_of(response, "not json") == 1.0  # type: ignore[arg-type]
    assert retry_after_of(FakeResponse({}), None) == 1.0  # type: ignore[arg-type]
    assert reset_after_of(response) == 0.2  # type: ignore[arg-type]
    assert reset_after_of(FakeResponse({})) == 0.0  # type: ignore[arg-type]


async def test_a_hold_outlasts_a_restarted_reset_timer() -> None:
    rate_limit = MajorParameterRateLimit("1:None:None:None")
    rate_limit.hold(0.3)
    rate_limit.start_reset_task()  # as update() does when Reset-After grows: 1.0 s, or less
    rate_limit._tracked_reset_time = 0.01
    rate_limit.start_reset_task()
    started = time.monotonic()
    await rate_limit.acquire()
    assert time.monotonic() - started >= 0.25


async def test_use_corrected_http_switches_the_client_nextcord_built() -> None:
    bot = commands.Bot(intents=nextcord.Intents.none())
    http = bot.http
    use_corrected_http(bot)
    use_corrected_http(bot)  # twice is harmless
    assert bot.http is http and bot._connection.http is http
    assert type(http) is CorrectedHTTPClient and isinstance(http, HTTPClient)


async def test_shedding_also_forgets_buckets_no_route_uses() -> None:
    http = CorrectedHTTPClient(dispatch=lambda *args: None)
    routes = [Route("POST", "/channels/{channel_id}", channel_id=c) for c in (1, 2)]
    idle, busy = (http._make_url_rate_limit("POST", route, None) for route in routes)
    http._buckets.update({"hash:1": idle, "hash:2": busy})
    busy.start_reset_task()  # a bucket counting down a window is kept, as nextcord keeps routes
    try:
        http._shed_ratelimits(600)
        assert list(http._buckets.values()) == [busy]
        assert list(http._url_rate_limits.values()) == [busy]
    finally:
        busy._reset_remaining_task.cancel()  # type: ignore[union-attr]


# -- against the sandbox -----------------------------------------------------------------------


async def test_five_sends_to_each_of_five_channels_fit_in_one_window(
    sandbox: SandboxServer,  # noqa: F811
    start_bot: BotStarter,  # noqa: F811
) -> None:
    """5 per 5 s per channel, as Discord: nextcord as shipped needs 20 s for this."""
    guild = load_channels(sandbox, 5)
    bot = await start_bot(make_bot())
    channels = text_channels(bot, guild)
    sends = [c.send(f"{c.name} {n}") for c in channels for n in range(5)]
    await asyncio.wait_for(asyncio.gather(*sends), timeout=4.0)  # a reset would take 5 s
    assert statuses(sandbox, SEND) == [200] * 25
    for channel in channels:
        assert len(sandbox.state.channel_messages(channel.id)) == 5


async def test_edits_in_ten_channels_proceed_in_parallel(
    sandbox: SandboxServer,  # noqa: F811
    start_bot: BotStarter,  # noqa: F811
) -> None:
    """4 edits per channel: 40 in all stay under the global 50 per second, whose handling is
    nextcord's own (past it, nextcord's global limiter can let a 429 through)."""
    guild = load_channels(sandbox, 10)
    bot = await start_bot(make_bot())
    channels = text_channels(bot, guild)
    posted = [sandbox.post_message_as(sandbox.bot_user, c.id, "draft") for c in channels]
    edits = [
        c.get_partial_message(m.id).edit(content=f"edit {n}")
        for c, m in zip(channels, posted, strict=True)
        for n in range(4)
    ]
    # Shipped nextcord puts all ten channels on one bucket of 5 per 5 s: 30 s for these.
    await asyncio.wait_for(asyncio.gather(*edits), timeout=4.0)
    assert statuses(sandbox, EDIT) == [200] * 40
    assert sandbox.limiter is not None and sandbox.limiter.counters.too_many == 0


async def test_a_second_channel_is_not_held_by_the_first_channels_bucket(
    sandbox: SandboxServer,  # noqa: F811
    start_bot: BotStarter,  # noqa: F811
) -> None:
    """The case tests/sandbox/test_nextcord_limits.py shows stock nextcord holding back."""
    set_window(sandbox, SEND, 2, 5.0)
    guild = load_channels(sandbox, 2)
    general, other = text_channels(await start_bot(make_bot()), guild)
    await general.send("a1")
    await general.send("a2")  # general's window is now used up
    await other.send("b1")
    await asyncio.wait_for(other.send("b2"), timeout=4.0)  # its own window has room
    assert statuses(sandbox, SEND) == [200] * 4


async def test_a_route_whose_hash_changes_gets_a_bucket_of_its_own_channel(
    sandbox: SandboxServer,  # noqa: F811
    start_bot: BotStarter,  # noqa: F811
) -> None:
    """nextcord's IncorrectBucket path: the new hash is keyed with the route's channel too."""
    guild = load_channels(sandbox, 2)
    bot = await start_bot(make_bot())
    first, second = text_channels(bot, guild)
    await first.send("old hash")
    await second.send("old hash")
    assert sandbox.limiter is not None
    sandbox.limiter.set_limit(SEND, RouteLimit(5, 5.0, "f" * 32, "send"))
    await asyncio.gather(*(c.send(f"new hash {n}") for c in (first, second) for n in range(4)))
    http = bot.http
    assert isinstance(http, CorrectedHTTPClient)
    new_names = sorted(name for name in http._buckets if name.startswith("f" * 32))
    assert new_names == sorted(f"{'f' * 32}:{c.id}:None:None:None" for c in (first, second))
    assert statuses(sandbox, SEND) == [200] * 10


@pytest.mark.parametrize("storm", [1, 3])
async def test_a_429_storm_costs_retry_after_per_429(
    sandbox: SandboxServer,  # noqa: F811
    start_bot: BotStarter,  # noqa: F811
    storm: int,
) -> None:
    """Stock nextcord waits at least 1 s per 429 whatever ``retry_after`` says."""
    guild = load_channels(sandbox, 1)
    [channel] = text_channels(await start_bot(make_bot()), guild)
    sandbox.faults.rate_limit_storm(storm, retry_after=0.1, route_key=SEND)
    started = time.monotonic()
    await channel.send("after the storm")
    elapsed = time.monotonic() - started
    calls = [c for c in sandbox.calls if c["route"] == "/channels/{channel_id}/messages"]
    assert [c["status"] for c in calls] == [429] * storm + [200]
    gaps = [after["time"] - before["time"] for before, after in itertools.pairwise(calls)]
    assert all(gap >= 0.09 for gap in gaps), gaps  # never less than Discord asked
    assert elapsed < 0.1 * storm + 0.8  # nowhere near a second per 429


async def learned_send_bucket(
    server: SandboxServer, start: BotStarter
) -> tuple[CorrectedHTTPClient, MajorParameterRateLimit]:
    guild = load_channels(server, 1)
    bot = await start(make_bot())
    [channel] = text_channels(bot, guild)
    await channel.send("learn the bucket")
    http = bot.http
    assert isinstance(http, CorrectedHTTPClient)
    [rate_limit] = [r for name, r in http._buckets.items() if f":{channel.id}:" in name]
    assert isinstance(rate_limit, MajorParameterRateLimit) and rate_limit.remaining == 4
    return http, rate_limit


async def test_a_429_with_room_left_delays_only_that_request(
    sandbox: SandboxServer,  # noqa: F811
    start_bot: BotStarter,  # noqa: F811
) -> None:
    """A hidden sub-limit (a channel rename) answers 429 while the bucket still has room: the
    request waits ``retry_after`` and the bucket stays open to the rest."""
    http, rate_limit = await learned_send_bucket(sandbox, start_bot)
    response = FakeResponse({"X-RateLimit-Remaining": "3", "X-RateLimit-Reset-After": "4.9"})
    started = time.monotonic()
    await http._wait_out(response, {"retry_after": 0.2}, rate_limit)  # type: ignore[arg-type]
    assert 0.19 <= time.monotonic() - started < 2.0  # retry_after, not the bucket's 4.9 s
    assert rate_limit.remaining == 4 and not rate_limit.locked


async def test_a_spent_bucket_is_held_until_its_reset_if_that_is_later(
    sandbox: SandboxServer,  # noqa: F811
    start_bot: BotStarter,  # noqa: F811
) -> None:
    http, rate_limit = await learned_send_bucket(sandbox, start_bot)
    response = FakeResponse({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset-After": "0.3"})
    started = time.monotonic()
    await http._wait_out(response, {"retry_after": 0.05}, rate_limit)  # type: ignore[arg-type]
    assert rate_limit.locked  # held, not slept: the caller's retry waits in acquire()
    await rate_limit.acquire()
    assert time.monotonic() - started >= 0.29
    assert rate_limit.remaining == 4  # refilled to the limit, one taken


async def test_mixed_load_obeys_every_limit_without_a_429(
    sandbox: SandboxServer,  # noqa: F811
    start_bot: BotStarter,  # noqa: F811
) -> None:
    """Sends, edits, overwrite PUTs and DELETEs and channel edits in two channels at once for
    3 s, with 1-2 s windows so that covers several: no 429. Two channels cannot reach 50
    requests a second; the next test covers the global limit. (``bench/discord_http.py``
    runs such a load for 60 s with Discord's limits.)"""
    for route_key, limit, per in [
        (SEND, 5, 1.0),
        (EDIT, 5, 1.0),
        (PUT_OVERWRITE, 4, 2.0),
        (DELETE_OVERWRITE, 4, 2.0),
        (PATCH_CHANNEL, 2, 1.0),
    ]:
        set_window(sandbox, route_key, limit, per)
    guild = load_channels(sandbox, 2)
    bot = await start_bot(make_bot())
    done = await mixed_load(bot, text_channels(bot, guild), seconds=3.0)
    assert sandbox.limiter is not None and sandbox.limiter.counters.too_many == 0
    assert all(c["status"] < 300 for c in sandbox.calls if c["route"]), "a request failed"
    # Each channel went past the first window of each bucket: the limiter had to wait.
    for channel in range(2):
        assert done["send"][channel] + done["edit"][channel] > 5, done
        assert done["overwrite"][channel] > 2 and done["slowmode"][channel] > 2, done


async def test_many_channels_at_once_stay_under_the_global_limit(
    sandbox: SandboxServer,  # noqa: F811
    start_bot: BotStarter,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """108 requests at once over twelve channels, far more than 50 a second and each within
    its own channel's bucket: each global slot is taken as its request leaves, never more
    than 50 in 1 s plus the skew allowance, and the sandbox answers no 429. (nextcord as
    shipped, which counts a request before its route's wait, let 93 leave in one second of a
    mixed load over these channels.)"""
    taken: list[float] = []
    take = SendTimeGlobalRateLimit.take

    async def recorded_take(self: SendTimeGlobalRateLimit) -> None:
        await take(self)
        # The time the limiter counted the send at: a clock read here, a few microseconds
        # later, could put two sends exactly one span apart inside one span.
        taken.append(self._sent[-1])

    monkeypatch.setattr(SendTimeGlobalRateLimit, "take", recorded_take)
    guild = load_channels(sandbox, 12)
    bot = await start_bot(make_bot())
    channels = text_channels(bot, guild)
    role = channels[0].guild.default_role
    taken.clear()
    work = [c.send(f"{c.name} {n}") for c in channels for n in range(5)]
    work += [c.set_permissions(role, send_messages=n % 2 == 0) for c in channels for n in range(4)]
    await asyncio.wait_for(asyncio.gather(*work), timeout=30)
    assert len(taken) == 12 * 9
    assert sandbox.limiter is not None
    assert sandbox.limiter.counters.global_hits == 0
    assert sandbox.limiter.counters.too_many == 0
    span = 1.0 + SendTimeGlobalRateLimit.SKEW
    busiest = max(sum(1 for t in taken[i:] if t < start + span) for i, start in enumerate(taken))
    assert busiest == 50  # the limit was reached, and held


async def mixed_load(
    bot: commands.Bot, channels: list[nextcord.TextChannel], *, seconds: float
) -> dict[str, list[int]]:
    """Per channel, four workers for ``seconds``: sends, edits of the first message, overwrite
    PUT/DELETE pairs, slowmode edits. Returns how many of each every channel completed."""
    deadline = time.monotonic() + seconds
    kinds = ("send", "edit", "overwrite", "slowmode")
    done: dict[str, list[int]] = {kind: [0] * len(channels) for kind in kinds}
    role = channels[0].guild.default_role

    async def repeat(kind: str, index: int, action: Any) -> None:
        while time.monotonic() < deadline:
            await action()
            done[kind][index] += 1

    workers = []
    for index, channel in enumerate(channels):
        first = await channel.send("edit me")

        async def overwrite(channel: nextcord.TextChannel = channel) -> None:
            await channel.set_permissions(role, send_messages=False)
            await channel.set_permissions(role, overwrite=None)

        async def slowmode(channel: nextcord.TextChannel = channel) -> None:
            await channel.edit(slowmode_delay=5 if channel.slowmode_delay == 0 else 0)

        workers += [
            repeat("send", index, lambda channel=channel: channel.send("load")),
            repeat("edit", index, lambda first=first: first.edit(content="edited")),
            repeat("overwrite", index, overwrite),
            repeat("slowmode", index, slowmode),
        ]
    await asyncio.gather(*workers)
    return done


async def test_interaction_follow_ups_spend_from_the_global_budget() -> None:
    """nextcord's webhook adapter sends follow-ups outside its HTTPClient; Discord counts
    them against the bot's 50 a second, so they take a global slot (the callback does not:
    Discord exempts it)."""
    import aiohttp
    from nextcord.http import Route as HttpRoute
    from nextcord.webhook.async_ import AsyncWebhookAdapter

    from bot import discord_http
    from sandbox.client import point_nextcord_at, restore_nextcord
    from sandbox.server import SandboxServer

    discord_http.count_follow_ups_globally()
    taken: list[str] = []

    class Counting(discord_http.SendTimeGlobalRateLimit):
        async def take(self) -> None:
            taken.append("slot")

    server = SandboxServer(spec_path=None)
    await server.start()
    point_nextcord_at(server)
    saved = discord_http._BOT_GLOBAL[0]
    discord_http._BOT_GLOBAL[0] = (Counting(), asyncio.get_running_loop())
    try:
        async with aiohttp.ClientSession() as session:
            adapter = AsyncWebhookAdapter()
            follow_up = HttpRoute(
                "POST", "/webhooks/{webhook_id}/{webhook_token}", webhook_id=1, webhook_token="t"
            )
            callback = HttpRoute(
                "POST",
                "/interactions/{interaction_id}/{interaction_token}/callback",
                interaction_id=1,
                interaction_token="t",
            )
            for route in (follow_up, callback):
                with contextlib.suppress(nextcord.HTTPException):
                    await adapter.request(route, session, payload={"content": "x"})
        assert taken == ["slot"]  # the follow-up only
    finally:
        discord_http._BOT_GLOBAL[0] = saved
        restore_nextcord()
        await server.stop()
