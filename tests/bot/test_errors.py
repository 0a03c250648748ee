"""The one error handler (bot.errors), end to end: a UserError raised by a slash command is
told privately; an unexpected error is logged with its traceback and answered with an
apology; both whether the interaction was answered before, deferred, or not at all. The
guard `bot.checks.manage_guild()` answers through the same handler."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from bot.errors import FAILED
from sandbox.driver import SandboxDriver
from sandbox.errors import ApiError
from sandbox.state import EPHEMERAL, Message
from tests.bot.feature_cog import USER_ERROR
from tests.foundry import Foundry, approve


async def approved(foundry: Foundry) -> SandboxDriver:
    await foundry.server.wait_for_command("fail")
    return await approve(foundry)


def private_messages(foundry: Foundry, inter: Any) -> list[Message]:
    """Every message the bot made for `inter` (the original answer and follow-ups)."""
    ids = [i for i in (inter.original_message_id, *inter.followup_ids) if i is not None]
    messages = []
    for message_id in ids:
        try:
            messages.append(foundry.server.state.find_message(message_id))
        except ApiError:  # deleted: a public "thinking..." the handler removed
            continue
    return messages


async def told(foundry: Foundry, driver: SandboxDriver, how: str) -> list[Message]:
    inter = driver.member("bob").invoke("fail", channel="general", options={"how": how})

    def answered_privately() -> list[Message] | None:
        messages = private_messages(foundry, inter)
        told = messages and messages[-1].content in (USER_ERROR, FAILED)
        return messages if told and all(m.flags & EPHEMERAL for m in messages) else None

    return await driver.until(answered_privately, f"answer /fail {how} privately")


@pytest.mark.parametrize(
    "how", ["user", "user-after-defer", "user-after-public-defer", "user-after-answer"]
)
async def test_a_user_error_is_told_privately_and_not_logged(
    foundry: Foundry,
    how: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    driver = await approved(foundry)
    messages = await told(foundry, driver, how)
    assert messages[-1].content == USER_ERROR
    assert all(m.flags & EPHEMERAL for m in messages)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    # nextcord's own default handler must not run as well: it prints a traceback to stderr
    # even when a listener handles the error (nextcord/client.py, on_application_command_error).
    assert "Ignoring exception" not in capsys.readouterr().err


@pytest.mark.parametrize("how", ["crash", "crash-after-answer"])
async def test_an_unexpected_error_is_logged_and_answered_with_an_apology(
    foundry: Foundry,
    how: str,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    driver = await approved(foundry)
    messages = await told(foundry, driver, how)
    assert messages[-1].content == FAILED
    assert all(m.flags & EPHEMERAL for m in messages)
    failures = [r for r in caplog.records if r.getMessage() == "Command failed"]
    assert len(failures) == 1
    assert failures[0].exc_info is not None and failures[0].exc_info[0].__name__ == "Boom"
    assert "an unexpected fault" not in messages[-1].content  # no internals shown
    assert "Ignoring exception" not in capsys.readouterr().err  # logged once, by us
