"""Limits that need time to pass, on the sandbox's advanceable clock (sandbox.clock): edits of
messages older than an hour (code 30046) and 500 channel creations per guild per day."""

from __future__ import annotations

import asyncio
import contextlib

import nextcord
import pytest

from sandbox.clock import SandboxClock
from sandbox.driver import SandboxDriver
from sandbox.server import SandboxServer
from sandbox.snowflake import snowflake_time_ms
from sandbox.state import Guild
from tests.sandbox.conftest import BotStarter, RestClient, forgive_request_violations, make_bot

EDIT = "/channels/{channel_id}/messages/{message_id}"


async def _message(api: RestClient, channel_id: int, text: str = "dashboard") -> str:
    status, body, _ = await api.request(
        "POST", f"/channels/{channel_id}/messages", {"content": text}
    )
    assert status == 200, body
    return str(body["id"])


async def _edit(api: RestClient, channel_id: int, message_id: str, text: str) -> tuple:
    return await api.request(
        "PATCH", f"/channels/{channel_id}/messages/{message_id}", {"content": text}
    )


def test_clock_moves_snowflakes_and_ages_forward_only() -> None:
    clock = SandboxClock()
    server = SandboxServer(spec_path=None)
    server.clock.advance(3600)
    made = server.state.new_id()
    assert server.clock.age_of(made) == pytest.approx(0, abs=1)
    assert snowflake_time_ms(made) / 1000 == pytest.approx(clock.time() + 3600, abs=1)
    with pytest.raises(ValueError, match="only moves forward"):
        server.clock.advance(-1)


async def test_editing_an_hour_old_message_is_3_per_6_s_per_channel(
    sandbox: SandboxServer, demo: Guild, api: RestClient
) -> None:
    general, rules = demo.channel("general").id, demo.channel("rules").id
    old = await _message(api, general)
    other_old = await _message(api, rules)
    for i in range(5):  # young: only the ordinary edit bucket (5 per 5 s) applies
        status, body, _ = await _edit(api, general, old, f"young {i}")
        assert status == 200, body
    SandboxDriver(sandbox).advance_clock(3601)  # the message is an hour old; buckets reset
    young = await _message(api, general, "new")
    for i in range(3):
        status, body, _ = await _edit(api, general, old, f"old {i}")
        assert status == 200, body
    status, body, headers = await _edit(api, general, old, "one too many")
    assert status == 429
    assert body["code"] == 30046 and body["global"] is False
    assert body["message"].startswith("Maximum number of edits to messages older than 1 hour")
    assert 0 < body["retry_after"] <= 6
    assert headers["Via"] == "1.1 google" and headers["X-RateLimit-Scope"] == "user"
    assert sandbox.state.message(general, int(old)).content == "old 2"  # not applied
    status, _, _ = await _edit(api, general, young, "a young message is not limited")
    assert status == 200
    status, _, _ = await _edit(api, rules, other_old, "another channel has its own count")
    assert status == 200
    sandbox.clock.advance(6)
    status, _, _ = await _edit(api, general, old, "the next window")
    assert status == 200


async def test_500_channel_creations_per_guild_per_day(
    sandbox: SandboxServer, demo: Guild, api: RestClient
) -> None:
    assert sandbox.limiter is not None
    path = f"/guilds/{demo.id}/channels"
    status, body, _ = await api.request("POST", path, {"name": "x", "type": 99})
    assert status == 400, body  # a refused payload creates nothing and counts nothing
    forgive_request_violations(sandbox)
    for _ in range(499):  # as if 499 had been created (and deleted) earlier today
        sandbox.limiter.count_channel_creation(str(demo.id))
    status, body, _ = await api.request("POST", path, {"name": "the-500th"})
    assert status == 201, body
    channels = len(demo.channels)
    status, body, headers = await api.request("POST", path, {"name": "the-501st"})
    assert status == 429
    assert body == {
        "message": "You are being rate limited.",
        "retry_after": pytest.approx(86400, abs=5),
        "global": False,
    }
    assert headers["Via"] == "1.1 google" and headers["X-RateLimit-Scope"] == "user"
    assert len(demo.channels) == channels
    sandbox.clock.advance(86400)
    status, body, _ = await api.request("POST", path, {"name": "tomorrow"})
    assert status == 201, body


async def test_nextcord_meets_code_30046_when_it_edits_an_old_message_too_often(
    sandbox: SandboxServer, demo: Guild, start_bot: BotStarter
) -> None:
    """What a bot meets after a dashboard's first hour: its 4th quick edit is answered 429 with
    code 30046. (How long the client then waits or retries is its own affair: nextcord as
    shipped and the project's corrected client differ, and both sleep in real time.)"""
    bot = await start_bot(make_bot())
    channel = bot.get_channel(demo.channel("general").id)
    assert isinstance(channel, nextcord.TextChannel)
    message = await channel.send("dashboard")
    sandbox.clock.advance(3601)
    sandbox.clock.freeze()  # the 6 s window stays open however slowly this machine runs
    for i in range(3):
        await message.edit(content=f"edit {i}")
    since = sandbox.mark()
    fourth = asyncio.create_task(message.edit(content="too many"))
    try:
        refused = await sandbox.wait_for_call(route=EDIT, status=429, since=since)
    finally:
        fourth.cancel()
        with contextlib.suppress(asyncio.CancelledError, nextcord.HTTPException):
            await fourth
    assert refused["response"]["code"] == 30046
    assert refused["json"]["content"] == "too many"
    assert sandbox.state.message(channel.id, message.id).content == "edit 2"


def test_a_limiter_passed_in_follows_the_sandbox_clock_unless_it_has_its_own() -> None:
    from sandbox.ratelimit import RateLimiter

    plain = RateLimiter()
    server = SandboxServer(spec_path=None, ratelimits=plain)
    before = server.clock.monotonic()
    server.clock.advance(100)
    assert plain._clock() >= before + 100
    own = RateLimiter(clock=lambda: 5.0)
    SandboxServer(spec_path=None, ratelimits=own)
    assert own._clock() == 5.0


def test_a_frozen_clock_moves_only_when_advanced() -> None:
    clock = SandboxClock()
    clock.freeze()
    stood = clock.monotonic(), clock.time()
    assert (clock.monotonic(), clock.time()) == stood
    clock.advance(10)
    assert (clock.monotonic(), clock.time()) == (stood[0] + 10, stood[1] + 10)
    clock.thaw()
    assert clock.monotonic() == pytest.approx(stood[0] + 10, abs=0.5)
