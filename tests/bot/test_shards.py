"""The one answer to "does this process hold this guild"."""

from __future__ import annotations

import pytest

from bot.shards import ShardRange, format_shard_ids, owns_guild, parse_shard_ids, shard_of


def guild_on(shard: int, count: int, n: int = 1) -> int:
    return ((n * count + shard) << 22) | 12345


def test_a_guild_sits_on_the_shard_discord_assigns() -> None:
    assert shard_of(guild_on(3, 4), 4) == 3
    assert owns_guild(guild_on(3, 4), 4, [2, 3]) and not owns_guild(guild_on(1, 4), 4, [2, 3])
    assert owns_guild(guild_on(1, 4), None, None) and owns_guild(guild_on(1, 4), 4, None)


@pytest.mark.parametrize(
    ("raw", "ids"), [("0-3", (0, 1, 2, 3)), ("4,5", (4, 5)), ("0-1, 6", (0, 1, 6)), ("2", (2,))]
)
def test_ranges_read_and_written_alike(raw: str, ids: tuple[int, ...]) -> None:
    assert parse_shard_ids(raw) == ids
    assert parse_shard_ids(format_shard_ids(ids)) == ids


@pytest.mark.parametrize("raw", ["", "-1", "3-1", "a", "1-b", "²"])
def test_malformed_ranges_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        parse_shard_ids(raw)


def test_a_range_knows_whether_others_run_the_rest() -> None:
    assert not ShardRange().partial and ShardRange().shard_ids == (0,)
    assert not ShardRange(4).partial and ShardRange(4).shard_ids == (0, 1, 2, 3)
    assert not ShardRange(2, (0, 1)).partial
    half = ShardRange(4, (2, 3))
    assert half.partial and half.owns(guild_on(2, 4)) and not half.owns(guild_on(0, 4))
    assert half.describe() == "shards 2-3 of 4"
