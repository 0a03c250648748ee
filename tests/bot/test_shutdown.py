"""Shutdown and the event handlers nextcord runs in tasks of their own: a handler still
running when the process stops finishes (or is cancelled) while the database is open, and
none starts after; a handler that outlived the database once opened a connection nobody
closed (a ResourceWarning at the next garbage collection)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from tests.foundry import Foundry


async def _database_answers(foundry: Foundry) -> bool:
    services = foundry.process.services
    assert services is not None
    return await services.db.ping()


async def test_a_handler_still_running_at_shutdown_finishes_before_the_database_closes(
    foundry: Foundry,
) -> None:
    bot = foundry.bot
    started, wrote = asyncio.Event(), []

    async def on_slow_write() -> None:
        started.set()
        await asyncio.sleep(0.3)
        wrote.append(await _database_answers(foundry))

    bot.add_listener(on_slow_write, "on_slow_write")
    bot.dispatch("slow_write")
    await started.wait()
    await foundry.process.stop()
    assert wrote == [True]  # let finish, not cancelled: the write happened before the close


async def test_a_handler_past_the_grace_is_cancelled_and_unwinds_with_the_database_open(
    foundry: Foundry, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import bot.client

    monkeypatch.setattr(bot.client, "EVENT_DRAIN_TIMEOUT", 0.2)
    client = foundry.bot
    started, unwound = asyncio.Event(), []

    async def on_endless() -> None:
        started.set()
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            unwound.append(await _database_answers(foundry))
            raise

    client.add_listener(on_endless, "on_endless")
    client.dispatch("endless")
    await started.wait()
    await foundry.process.stop()
    assert unwound == [True]  # cancelled by the stop, and the database still answered
    assert "cancelling 1 event handler(s)" in caplog.text
    assert "nextcord: on_endless" in caplog.text


async def test_no_handler_starts_once_the_shutdown_has_begun(foundry: Foundry) -> None:
    client = foundry.bot
    ran: list[str] = []

    async def on_late() -> None:
        ran.append("late")

    client.add_listener(on_late, "on_late")
    client.dispatch("late")
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert ran == ["late"]  # the listener works while the process runs
    await client.stop_events()
    client.dispatch("late")
    await asyncio.sleep(0.05)
    assert ran == ["late"]


async def test_a_button_callback_still_running_at_shutdown_finishes_before_the_database_closes(
    foundry: Foundry,
) -> None:
    """nextcord runs a component's callback in a task of its own, outside the events."""
    press, wrote = await _slow_button(foundry)
    await press()
    await foundry.process.stop()
    assert wrote == [True]


async def test_a_button_pressed_while_the_features_stop_finishes_before_the_database_closes(
    foundry: Foundry,
) -> None:
    """The gateway is open until the cogs have stopped: a press then still runs."""
    press, wrote = await _slow_button(foundry)
    client = foundry.bot
    stop_cogs = client.stop_cogs

    async def stop_cogs_while_pressed() -> None:
        await stop_cogs()
        await press()

    client.stop_cogs = stop_cogs_while_pressed
    await foundry.process.stop()
    assert wrote == [True]


async def _slow_button(
    foundry: Foundry,
) -> tuple[Callable[[], Awaitable[None]], list[bool]]:
    """A message with a button whose callback takes 0.3 s, then asks the database; `press`
    presses it as bob and returns once the callback runs; the list gets its answer."""
    import nextcord

    from bot.mentions import no_mentions
    from tests.foundry import approve

    driver = await approve(foundry)
    pressed, wrote = asyncio.Event(), []

    class Slow(nextcord.ui.View):
        @nextcord.ui.button(label="Slow", custom_id="shutdown:slow")
        async def slow(self, button: nextcord.ui.Button, interaction: nextcord.Interaction) -> None:
            pressed.set()
            await asyncio.sleep(0.3)
            wrote.append(await _database_answers(foundry))

    channel = foundry.bot.get_channel(foundry.guild.channel("general").id)
    sent = await channel.send("slow", view=Slow(timeout=None), allowed_mentions=no_mentions())

    async def press() -> None:
        foundry.server.click_button(sent.id, "shutdown:slow", user=driver.member("bob").member)
        await asyncio.wait_for(pressed.wait(), 10)

    return press, wrote


async def test_a_slash_command_during_shutdown_is_told_why_it_did_not_run(
    foundry: Foundry,
) -> None:
    from bot.client import STOPPING_REPLY
    from tests.foundry import approve

    driver = await approve(foundry)
    assert (await driver.member("bob").run("ping", channel="general")).content == "pong"
    await foundry.bot.stop_events()
    answer = await driver.member("bob").run("ping", channel="general")
    assert answer.content == STOPPING_REPLY and answer.ephemeral
