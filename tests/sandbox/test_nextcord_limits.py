"""Discord fidelity of rate limits and faults, proven through a real nextcord client.

nextcord reads the sandbox's X-RateLimit headers, waits out 429s that carry ``Via``, retries
502s and raises Forbidden at once, exactly as it does against Discord. No test asserts a
wall-clock time: they count 429s and check order instead (or, for the stock-nextcord evidence
below, a lower bound on a wait, which noise can only lengthen).

Bots here use FoundryCord's corrected limiter (``bot.discord_http``) unless made with
``stock_http=True``: the tests named ``test_stock_nextcord_...`` keep one piece of evidence for
each defect that module corrects; ``tests/bot/test_discord_http.py`` shows the corrections.
"""

from __future__ import annotations

import asyncio

import nextcord
import pytest
from nextcord.ext import commands

from sandbox.driver import SandboxDriver
from sandbox.ratelimit import RouteLimit, _hash
from sandbox.server import SandboxServer
from sandbox.state import Guild
from tests.sandbox.conftest import BotStarter, make_bot

SEND = "POST /channels/{channel_id}/messages"
SEND_ROUTE = "/channels/{channel_id}/messages"
BUCKET = _hash("channel messages")


def limit_sends(sandbox: SandboxServer, limit: int, per: float) -> None:
    assert sandbox.limiter is not None
    sandbox.limiter.set_limit(SEND, RouteLimit(limit, per, BUCKET, "send"))


def sends(sandbox: SandboxServer) -> list[dict]:
    return SandboxDriver(sandbox).calls(route=SEND_ROUTE, method="POST")


async def test_twelve_sends_obey_the_headers_without_a_429(
    sandbox: SandboxServer, demo: Guild, nextcord_bot: commands.Bot
) -> None:
    limit_sends(sandbox, 5, 0.5)
    channel = nextcord_bot.get_channel(demo.channel("general").id)
    for number in range(12):
        await channel.send(f"message {number}")
    assert sandbox.limiter.counters.too_many == 0
    assert [c["status"] for c in sends(sandbox)] == [200] * 12
    stored = sandbox.state.channel_messages(channel.id)
    assert [m.content for m in stored] == [f"message {n}" for n in range(12)]


async def test_stock_nextcord_waits_a_second_for_a_429_asking_for_less(
    sandbox: SandboxServer, demo: Guild, start_bot: BotStarter
) -> None:
    """nextcord's 429 branch ignores ``retry_after``: the retry waits for the bucket's reset
    timer, ``_tracked_reset_time``, which starts at 1.0 s."""
    bot = await start_bot(make_bot(stock_http=True))
    sandbox.faults.rate_limit_storm(1, retry_after=0.05, route_key=SEND)
    await bot.get_channel(demo.channel("general").id).send("after a second")
    limited, landed = sends(sandbox)
    assert (limited["status"], landed["status"]) == (429, 200)
    assert landed["time"] - limited["time"] >= 0.9  # 0.05 asked for


async def test_a_storm_of_429s_is_waited_out_and_the_send_lands(
    sandbox: SandboxServer, demo: Guild, nextcord_bot: commands.Bot
) -> None:
    limited: list[int] = []

    async def on_http_ratelimit(limit: int, remaining: int, *args: object) -> None:
        limited.append(remaining)

    nextcord_bot.add_listener(on_http_ratelimit)
    sandbox.faults.rate_limit_storm(2, retry_after=0.05, route_key=SEND)
    message = await nextcord_bot.get_channel(demo.channel("general").id).send("after the storm")
    assert [c["status"] for c in sends(sandbox)] == [429, 429, 200]
    assert sandbox.limiter.counters.too_many == 2
    assert all(c["response"]["retry_after"] == 0.05 for c in sends(sandbox)[:2])
    await asyncio.sleep(0)  # listeners run as tasks
    assert limited == [0, 0]
    assert sandbox.state.message(message.channel.id, message.id).content == "after the storm"


async def test_a_502_is_retried_and_the_send_lands(
    sandbox: SandboxServer, demo: Guild, nextcord_bot: commands.Bot
) -> None:
    sandbox.faults.fail_next(1, 502, route=SEND)
    message = await nextcord_bot.get_channel(demo.channel("general").id).send("second try")
    assert [c["status"] for c in sends(sandbox)] == [502, 200]
    assert message.content == "second try"


async def test_missing_permissions_raise_forbidden_at_once(
    sandbox: SandboxServer, start_bot: BotStarter
) -> None:
    [guild] = sandbox.load(
        {
            "guilds": [
                {
                    "name": "Read only",
                    "everyone": ["view_channel", "read_message_history"],
                    "bot": {"permissions": ["view_channel", "read_message_history"]},
                    "channels": [{"name": "news"}],
                }
            ]
        }
    )
    bot = await start_bot(make_bot())
    with pytest.raises(nextcord.Forbidden) as raised:
        await bot.get_channel(guild.channel("news").id).send("not allowed")
    assert raised.value.code == 50013
    assert raised.value.text == "Missing Permissions"
    assert [c["status"] for c in sends(sandbox)] == [403]  # no retry


async def test_slow_replies_still_land_in_order(
    sandbox: SandboxServer, demo: Guild, nextcord_bot: commands.Bot
) -> None:
    sandbox.faults.slow(0.1, count=2, route=SEND)
    channel = nextcord_bot.get_channel(demo.channel("general").id)
    first, second = await asyncio.gather(channel.send("one"), channel.send("two"))
    stored = [m.content for m in sandbox.state.channel_messages(channel.id)]
    assert sorted(stored) == ["one", "two"] and {first.content, second.content} == {"one", "two"}
    await channel.send("three")
    assert [m.content for m in sandbox.state.channel_messages(channel.id)][-1] == "three"
    assert sandbox.faults.http == []  # both slow replies used up


async def test_stock_nextcord_shared_bucket_hash_over_throttles_a_second_channel(
    sandbox: SandboxServer, demo: Guild, start_bot: BotStarter
) -> None:
    """The doc's "unverified" point, verified: nextcord over-throttles.

    Discord sends the same X-RateLimit-Bucket hash for sends in every channel but counts each
    channel apart. nextcord stores learned buckets under the bare hash: the first send to a
    new channel goes out at once (a new route key starts with one request in flight), but its
    response carries the known hash, so nextcord migrates that channel onto the first
    channel's bucket. The second send to the new channel then waits for the *first* channel's
    reset although its own channel has room. No 429 results: it errs on the slow side.
    """
    limit_sends(sandbox, 2, 1.0)
    other = sandbox.add_channel(demo, "other")
    nextcord_bot = await start_bot(make_bot(stock_http=True))
    general = nextcord_bot.get_channel(demo.channel("general").id)
    await general.send("a1")
    await general.send("a2")  # general's window is now used up
    new = nextcord_bot.get_channel(other.id)
    await new.send("b1")  # goes out at once: other's window has 1 of 2 left afterwards
    mark = sandbox.mark()
    held = asyncio.create_task(new.send("b2"))
    with pytest.raises(TimeoutError):
        await sandbox.wait_for_call(route=SEND_ROUTE, since=mark, timeout=0.3)
    assert not held.done()  # held back by general's bucket, though other has room
    await held
    assert [m.content for m in sandbox.state.channel_messages(other.id)] == ["b1", "b2"]
    assert sandbox.limiter.counters.too_many == 0
