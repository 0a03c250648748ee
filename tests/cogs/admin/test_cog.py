"""The admin cog: `/guild list`'s text (servers the bot is in, pending ones and left ones
apart), server ids parsed as ids, and refusals told privately."""

import logging
from datetime import UTC, datetime

import pytest

from bot.models import GuildRecord
from cogs.admin.cog import NOT_A_GUILD_ID, guild_list_text, parse_guild_id
from sandbox.driver import SandboxDriver
from tests.foundry import Foundry, approve

LEFT_AT = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def _record(guild_id: int, name: str, status: str, left_at: datetime | None = None) -> GuildRecord:
    return GuildRecord(id=guild_id, name=name, status=status, left_at=left_at)


RECORDS = [
    _record(1, "Home", "approved"),
    _record(2, "Newcomer", "pending"),
    _record(3, "Kicked", "approved", LEFT_AT),
    _record(4, "Refused", "rejected", LEFT_AT),
]


def test_groups_present_pending_and_left_with_the_purge_date() -> None:
    text = guild_list_text(RECORDS, retention_days=30)
    head, _, left = text.partition("**Left**")
    approved, _, pending = head.partition("**Waiting for approval**")
    assert approved.startswith("The bot is in 2 server(s).")
    assert "**Home**" in approved and "Newcomer" not in approved
    assert "**Newcomer**" in pending
    assert "`3` **Kicked**: left 2030-01-01 (was approved), data kept until 2030-01-31" in left
    assert "`4` **Refused**: left 2030-01-01 (was rejected)" in left


def test_no_purge_date_when_data_is_kept_forever() -> None:
    assert "kept until" not in guild_list_text(RECORDS, retention_days=0)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("400000000000000004", 400000000000000004),
        (" 400000000000000004 ", 400000000000000004),
        ("²", None),  # isdigit() said yes, then int() raised
        ("١٢٣٤٥٦٧٨٩٠١٢٣٤٥٦٧", None),
        ("1" * 20, None),  # above BIGINT: it reached the database before
        (str(2**63), None),
        ("-400000000000000004", None),
        ("12345", None),  # too short to be a server id
        ("", None),
    ],
)
def test_parse_guild_id(raw: str, expected: int | None) -> None:
    assert parse_guild_id(raw) == expected


@pytest.mark.parametrize("raw", ["²", "1" * 20, "abc"])
async def test_a_malformed_server_id_is_told_privately(
    foundry: Foundry, raw: str, caplog: pytest.LogCaptureFixture
) -> None:
    driver = await approve(foundry)
    answer = await driver.member("alice").run("guild approve", {"guild_id": raw}, channel="general")
    assert answer.content == NOT_A_GUILD_ID and answer.ephemeral
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_only_owners_decide_and_are_told_privately(foundry: Foundry) -> None:
    driver = SandboxDriver(foundry.server, timeout=10)
    await foundry.server.wait_for_command("guild")
    for sub in ("guild approve", "guild reject", "guild list"):
        answer = await driver.member("bob").run(sub, channel="general")
        assert "Only the bot's owners" in answer.content and answer.ephemeral, sub
    assert await foundry.process.services.guild_access.status(foundry.guild.id) == "pending"
