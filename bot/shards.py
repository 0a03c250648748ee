"""Which guilds this process holds: the one place every per-guild job asks.

Discord puts a guild on shard `(guild_id >> 22) % shard_count`. A process that runs every
shard (or is not sharded) holds every guild."""

from __future__ import annotations

from collections.abc import Iterable

import nextcord


def shard_of(guild_id: int, shard_count: int) -> int:
    """The shard that holds a guild, as Discord assigns it."""
    return (guild_id >> 22) % shard_count


def owns_guild(guild_id: int, shard_count: int | None, shard_ids: Iterable[int] | None) -> bool:
    """Whether a process running `shard_ids` of `shard_count` shards holds the guild."""
    if not shard_count or shard_ids is None:
        return True
    return shard_of(guild_id, shard_count) in set(shard_ids)


def client_owns_guild(client: nextcord.Client, guild_id: int) -> bool:
    """Whether this client's shards hold `guild_id` (True when unsharded)."""
    # A plain Client has shard_id/shard_count; AutoShardedClient has shard_ids (None = all).
    shard_ids = getattr(client, "shard_ids", None)
    if shard_ids is None and getattr(client, "shard_id", None) is not None:
        shard_ids = [client.shard_id]
    return owns_guild(guild_id, getattr(client, "shard_count", None), shard_ids)
