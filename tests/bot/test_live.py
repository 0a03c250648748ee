"""`bot.live.NextcordLiveState.can_manage` against the sandbox: a user who is not a member
of a server costs one REST lookup a minute, not one per page view, and Discord's 404 for
"not a member" logs no warning; a member who joins is seen at once."""

from __future__ import annotations

import logging

import pytest

from bot.live import NOT_MEMBER_TTL_S, NextcordLiveState
from sandbox.driver import SandboxDriver
from tests.foundry import Foundry

MEMBER_ROUTE = "/guilds/{guild_id}/members/{user_id}"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def member_lookups(foundry: Foundry, since: int) -> list[dict[str, object]]:
    return [
        call
        for call in foundry.server.calls[since:]
        if call["method"] == "GET" and call["route"] == MEMBER_ROUTE
    ]


def warnings_(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


async def test_not_a_member_is_asked_once_a_minute_and_logs_no_warning(
    foundry: Foundry, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock()
    live = NextcordLiveState(foundry.bot, clock=clock)
    stranger = foundry.server.add_user("stranger")
    guild_id = foundry.guild.id
    since = foundry.server.mark()

    for _ in range(3):
        assert await live.can_manage(guild_id, stranger.id) is False
    assert len(member_lookups(foundry, since)) == 1
    assert warnings_(caplog) == []

    clock.now += NOT_MEMBER_TTL_S + 1  # the answer is forgotten: Discord is asked again
    assert await live.can_manage(guild_id, stranger.id) is False
    assert len(member_lookups(foundry, since)) == 2
    assert warnings_(caplog) == []

    # Another server's answer is its own.
    other = foundry.server.add_guild("Elsewhere")
    await SandboxDriver(foundry.server).until(
        lambda: foundry.bot.get_guild(other.id) is not None or None, "see the new guild"
    )
    assert await live.can_manage(other.id, stranger.id) is False
    assert len(member_lookups(foundry, since)) == 3


async def test_a_member_who_joins_is_seen_at_once(foundry: Foundry) -> None:
    clock = Clock()
    live = NextcordLiveState(foundry.bot, clock=clock)
    newcomer = foundry.server.add_user("newcomer")
    guild = foundry.guild
    assert await live.can_manage(guild.id, newcomer.id) is False

    foundry.server.add_member(guild, newcomer, roles=[guild.role("Admins")])
    await SandboxDriver(foundry.server).until(
        lambda: foundry.bot.get_guild(guild.id).get_member(newcomer.id) or None, "see the join"
    )
    assert await live.can_manage(guild.id, newcomer.id) is True  # clock not moved


async def test_a_join_the_member_cache_misses_still_drops_the_answer(foundry: Foundry) -> None:
    """The join event drops the remembered answer even where the member cache does not
    keep the member (so the next check asks Discord)."""
    clock = Clock()
    live = NextcordLiveState(foundry.bot, clock=clock)
    newcomer = foundry.server.add_user("newcomer")
    guild = foundry.guild
    assert await live.can_manage(guild.id, newcomer.id) is False
    foundry.server.add_member(guild, newcomer, roles=[guild.role("Admins")])
    cached = foundry.bot.get_guild(guild.id)
    await SandboxDriver(foundry.server).until(
        lambda: cached.get_member(newcomer.id) or None, "see the join"
    )
    cached._remove_member(cached.get_member(newcomer.id))  # as if the cache had not kept it
    since = foundry.server.mark()
    assert await live.can_manage(guild.id, newcomer.id) is True
    assert len(member_lookups(foundry, since)) == 1
