"""Ids a server manager gives: `parse_snowflake` takes ASCII digits within a signed 64-bit
id only, and channels and roles are found through their own guild, never another's."""

from __future__ import annotations

import pytest

from bot.guild_objects import ForeignObject, parse_snowflake, role_of, text_channel_of
from sandbox.driver import SandboxDriver
from tests.foundry import Foundry


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123456789012345678", 123456789012345678),
        (" 12 ", 12),  # slash-command text with spaces around it
        (str(2**63 - 1), 2**63 - 1),
        (2**63 - 1, 2**63 - 1),
        ("²", None),  # str.isdigit() says yes; int() refuses: a 500 before
        ("١٢٣", None),  # Arabic-Indic digits, which int() would accept
        ("-1", None),
        (-1, None),
        ("0", None),
        (0, None),
        (str(2**63), None),  # above BIGINT
        (2**63, None),
        ("1" * 20, None),  # 20 digits
        ("", None),
        ("12a", None),
        ("1.0", None),
        ("1_000", None),
        (True, None),  # a bool is an int in Python, never an id
        (False, None),
        (None, None),
    ],
)
def test_parse_snowflake(raw: object, expected: int | None) -> None:
    assert parse_snowflake(raw) == expected


OTHER = {
    "guilds": [
        {
            "name": "Elsewhere",
            "owner": "dave",
            "roles": [{"name": "Theirs"}],
            "members": [{"name": "dave"}],
            "channels": [{"name": "their-channel"}, {"name": "their-voice", "type": "voice"}],
        }
    ]
}


async def two_guilds(foundry: Foundry):  # type: ignore[no-untyped-def]
    other = foundry.server.load(OTHER)[0]
    await SandboxDriver(foundry.server).until(
        lambda: foundry.bot.get_guild(other.id), "see the second guild"
    )
    return foundry.guild, other


async def test_own_channels_and_roles_are_accepted_and_others_refused(foundry: Foundry) -> None:
    lab, other = await two_guilds(foundry)
    bot = foundry.bot
    general = lab.channel("general")
    admins = next(r for r in lab.roles.values() if r.name == "Admins")
    theirs = next(r for r in other.roles.values() if r.name == "Theirs")

    assert text_channel_of(bot, lab.id, general.id).id == general.id
    assert text_channel_of(bot, lab.id, str(general.id)).id == general.id
    assert role_of(bot, lab.id, str(admins.id)).id == admins.id

    # The same ids through the other guild, and the other guild's ids through ours.
    with pytest.raises(ForeignObject, match="not a text channel of this server"):
        text_channel_of(bot, other.id, general.id)
    with pytest.raises(ForeignObject, match="not a text channel of this server"):
        text_channel_of(bot, lab.id, other.channel("their-channel").id)
    with pytest.raises(ForeignObject, match="not a role of this server"):
        role_of(bot, lab.id, theirs.id)
    with pytest.raises(ForeignObject, match="not a role of this server"):
        role_of(bot, other.id, admins.id)


async def test_malformed_voice_everyone_and_unknown_guilds_are_refused(foundry: Foundry) -> None:
    lab, other = await two_guilds(foundry)
    bot = foundry.bot
    with pytest.raises(ForeignObject, match="not a channel id"):
        text_channel_of(bot, lab.id, "²")
    with pytest.raises(ForeignObject, match="not a role id"):
        role_of(bot, lab.id, str(2**63))
    with pytest.raises(ForeignObject, match="not a text channel"):
        text_channel_of(bot, other.id, other.channel("their-voice").id)
    with pytest.raises(ForeignObject, match="not a role of this server"):
        role_of(bot, lab.id, lab.id)  # @everyone's id is the guild's: pinging it is not a role
    with pytest.raises(ForeignObject, match="cannot see that server"):
        text_channel_of(bot, 42, lab.channel("general").id)
    # A refusal is a UserError: the one handler tells it to the member.
    from bot.errors import UserError

    assert issubclass(ForeignObject, UserError)


async def test_the_live_state_offers_a_guilds_own_channels_and_roles(foundry: Foundry) -> None:
    """What the settings form's selects list: text channels and roles (not @everyone) of
    that guild only."""
    from bot.live import NextcordLiveState

    lab, other = await two_guilds(foundry)
    live = NextcordLiveState(foundry.bot)
    assert [c.name for c in live.text_channels(lab.id)] == ["general", "status"]
    assert [r.name for r in live.roles(lab.id)] == ["Admins"]
    assert [c.name for c in live.text_channels(other.id)] == ["their-channel"]
    assert [r.name for r in live.roles(other.id)] == ["Theirs"]
    assert live.text_channels(42) == [] and live.roles(42) == []
