"""Which guilds this process holds: the one place every per-guild job asks.

Discord puts a guild on shard `(guild_id >> 22) % shard_count`. A process runs the shards of
its range (`SHARD_IDS`, e.g. `0-3`), or every shard when it has no range (or is not sharded)
and then holds every guild. Every per-guild job (admission, reconciliation, alerts,
dashboards, template jobs) asks :func:`client_owns_guild` or a :class:`ShardRange`, so two
processes sharing one database never both act for one guild."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import nextcord


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that holds a guild, as Discord assigns it."""
    return (guild_id >> 22) % shard_count


def owns_guild(guild_id: int, shard_count: int | None, shard_ids: Iterable[int] | None) -> bool:
    """Whether a process running `shard_ids` of `shard_count` shards holds the guild."""
    if not shard_count or shard_ids is None:
        return True
    return shard_of(guild_id, shard_count) in set(shard_ids)


def parse_shard_ids(raw: str) -> tuple[int, ...]:
    """`0-3`, `4,5` or `0-1,6` -> the sorted shard ids; ValueError on anything else."""
    ids: set[int] = set()
    for part in raw.replace(";", ",").split(","):
        part = part.strip()
        if not part:
            continue
        low, sep, high = part.partition("-")
        if not low.strip().isascii() or not low.strip().isdigit():
            raise ValueError(part)
        if sep:
            if not high.strip().isascii() or not high.strip().isdigit():
                raise ValueError(part)
            first, last = int(low), int(high)
            if last < first:
                raise ValueError(part)
            ids.update(range(first, last + 1))
        else:
            ids.add(int(low))
    if not ids:
        raise ValueError(raw)
    return tuple(sorted(ids))


def format_shard_ids(ids: Iterable[int]) -> str:
    """The shortest range text for `ids` (`0-3,6`), as `parse_shard_ids` reads it."""
    runs: list[list[int]] = []
    for shard in sorted(set(ids)):
        if runs and shard == runs[-1][1] + 1:
            runs[-1][1] = shard
        else:
            runs.append([shard, shard])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


@dataclass(frozen=True)
class ShardRange:
    """The shards one process runs: `ids` None means all of them (or unsharded)."""

    count: int | None = None
    ids: tuple[int, ...] | None = None

    @property
    def partial(self) -> bool:
        """True when other processes run some of the shards: coordination is needed."""
        return (
            bool(self.count)
            and self.ids is not None
            and set(self.ids) != set(range(self.count or 0))
        )

    @property
    def shard_ids(self) -> tuple[int, ...]:
        """Every shard this process runs (`(0,)` when unsharded)."""
        if self.ids is not None:
            return self.ids
        return tuple(range(self.count or 1))

    def owns(self, guild_id: int) -> bool:
        return owns_guild(guild_id, self.count, self.ids)

    def describe(self) -> str:
        if not self.count:
            return "unsharded"
        return f"shards {format_shard_ids(self.shard_ids)} of {self.count}"


def client_owns_guild(client: nextcord.Client, guild_id: int) -> bool:
    """Whether this client's shards hold `guild_id` (True when unsharded)."""
    # A plain Client has shard_id/shard_count; AutoShardedClient has shard_ids (None = all).
    shard_ids = getattr(client, "shard_ids", None)
    if shard_ids is None and getattr(client, "shard_id", None) is not None:
        shard_ids = [client.shard_id]
    return owns_guild(guild_id, getattr(client, "shard_count", None), shard_ids)
