"""Dashboards belong to one server: presses, channels and hosts of another server never
reach them (two servers in one sandbox, the attacker a plain member of the second)."""

from __future__ import annotations

import asyncio
from typing import Any

from sandbox.driver import SandboxDriver
from tests.bot.conftest import Foundry
from tests.cogs.dashboards.test_end_to_end import create, metrics, service

__all__ = ["metrics"]

OTHER: dict[str, Any] = {
    "guilds": [
        {
            "name": "Elsewhere",
            "owner": "mallory",
            "members": [{"name": "mallory"}],
            "channels": [{"name": "lounge"}],
        }
    ]
}


async def second_server(foundry: Foundry):  # type: ignore[no-untyped-def]
    [guild] = foundry.server.load(OTHER)
    for _ in range(200):
        if foundry.bot.get_guild(guild.id) is not None:
            return guild
        await asyncio.sleep(0.02)
    raise AssertionError("the bot never saw the second server")


def forged_press(foundry: Foundry, user: Any, channel: Any, message: Any, custom_id: str):  # type: ignore[no-untyped-def]
    """A component interaction naming `custom_id` on `message`, whatever that message holds."""
    return foundry.server.create_interaction(
        3,
        user=user,
        channel=channel,
        data={"custom_id": custom_id, "component_type": 2},
        message=message,
    )


async def test_a_press_from_another_server_is_not_answered_with_this_dashboard(
    foundry: Foundry, metrics: Any
) -> None:
    driver, _message = await create(foundry)
    other = await second_server(foundry)
    mallory = other.member("mallory")
    lounge = other.channel("lounge")
    bait = foundry.server.post_message_as(mallory, lounge, "anything")
    inter = forged_press(foundry, mallory, lounge, bait, "fcd:1:details")
    answer = await driver.answer(inter, "answer the forged press")
    assert answer.ephemeral
    assert "lab-1" not in answer.content and "CPU" not in answer.content
    assert "no longer exists" in answer.content


async def test_a_press_on_another_message_of_the_same_server_is_refused(
    foundry: Foundry, metrics: Any
) -> None:
    driver, message = await create(foundry)
    carol = foundry.guild.member("carol")
    general = foundry.guild.channel("general")
    bait = foundry.server.post_message_as(carol, general, "not a dashboard")
    inter = forged_press(foundry, carol, general, bait, "fcd:1:details")
    answer = await driver.answer(inter, "answer the press on the wrong message")
    assert "no longer exists" in answer.content and "lab-1" not in answer.content
    # The dashboard's own message still answers.
    own = await driver.member("carol").press(message, "fcd:1:details")
    assert "**CPU**" in own.content
    assert service(foundry).records[1].guild_id == foundry.guild.id
    assert isinstance(driver, SandboxDriver)
