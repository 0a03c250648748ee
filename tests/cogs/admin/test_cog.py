"""`/guild list`'s text: servers the bot is in, pending ones and left ones apart."""

from datetime import UTC, datetime

from bot.models import GuildRecord
from cogs.admin.cog import guild_list_text

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
