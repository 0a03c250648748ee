"""`bot.checks`: Manage Server in the interaction's own guild, or a private refusal."""

from __future__ import annotations

from types import SimpleNamespace

import nextcord
import pytest

from bot import checks
from bot.errors import UserError
from tests.bot.test_errors import approved
from tests.foundry import Foundry


def interaction(guild_id: int | None, *, manage: bool | None) -> nextcord.Interaction:
    """A stand-in with the two attributes the checks read; `manage=None`: a plain User
    (a DM), which has no guild permissions at all."""
    user = (
        SimpleNamespace(id=1)
        if manage is None
        else SimpleNamespace(id=1, guild_permissions=nextcord.Permissions(manage_guild=manage))
    )
    return SimpleNamespace(guild_id=guild_id, user=user)  # type: ignore[return-value]


def test_manage_server_in_a_guild_passes() -> None:
    assert checks.has_manage_guild(interaction(5, manage=True))
    assert checks.require_manage_guild(interaction(5, manage=True)) == 5


def test_without_manage_server_is_refused_with_a_sentence() -> None:
    assert not checks.has_manage_guild(interaction(5, manage=False))
    with pytest.raises(UserError, match="Manage Server"):
        checks.require_manage_guild(interaction(5, manage=False))


@pytest.mark.parametrize("manage", [True, None])
def test_outside_a_server_nobody_passes(manage: bool | None) -> None:
    assert not checks.has_manage_guild(interaction(None, manage=manage))
    with pytest.raises(UserError, match="only inside a server"):
        checks.require_manage_guild(interaction(None, manage=manage))


async def test_the_slash_command_guard_refuses_privately(foundry: Foundry) -> None:
    driver = await approved(foundry)
    refused = await driver.member("carol").run("manage", channel="general")
    assert refused.content == checks.NEEDS_MANAGE_GUILD and refused.ephemeral
    allowed = await driver.member("bob").run("manage", channel="general")  # bob is an Admin
    assert allowed.content == "managed"
    owner = await driver.member("alice").run("manage", channel="general")  # the guild's owner
    assert owner.content == "managed"
