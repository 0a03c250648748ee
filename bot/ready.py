"""Ready as soon as every guild listed in READY has arrived, not `guild_ready_timeout` later.

nextcord 3.2's `ConnectionState._delay_ready` (and `AutoShardedConnectionState._delay_ready`)
drains its queue of GUILD_CREATEs with `asyncio.wait_for(..., timeout=guild_ready_timeout)`
and only dispatches `on_ready` once that wait times out, so every start waits the full
timeout (2 s by default) after the last guild, even when READY said exactly which guilds
were coming. This module watches READY and GUILD_CREATE through the state's parser table
and, once every listed guild is in, lowers the timeout the loop reads on its next turn to
1 ms; nextcord still chunks the guilds and dispatches `guild_available` itself. A listed
guild that never arrives (an outage) keeps the configured timeout as the fallback.

It relies on two nextcord internals, named here so it can be dropped once nextcord stops
waiting: `Client._connection` (the ConnectionState) and its `parsers` dict, filled in
`ConnectionState.__init__` from the `parse_*` methods. A guild that arrives after ready goes
through nextcord's normal path (`guild_join` or `guild_available`), which features listen to.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import nextcord

log = logging.getLogger(__name__)

Parser = Callable[[dict[str, Any]], None]

# Not 0: `asyncio.wait_for` with a timeout of 0 cancels `queue.get()` before it runs even
# when a guild is already queued, and nextcord would never dispatch that guild. Any positive
# timeout returns a queued guild at once and gives up 1 ms after the last one.
SETTLED_WAIT = 0.001


class ReadyGuilds:
    """Which guilds READY promised and which have arrived, for one ready cycle.

    With several shards in one process, nextcord runs one wait for all of them, and a shard
    identifies only after the one before it (5 s apart on Discord): the wait is complete only
    once every shard of the cycle has sent its READY too. Otherwise the wait would end on the
    first shard's guilds, and nextcord drops the GUILD_CREATEs of a later shard that arrive
    while it finishes (they are queued, then the queue is deleted)."""

    def __init__(self) -> None:
        self.expected: set[int] = set()
        self.arrived: set[int] = set()
        self.waiting_shards: set[int] = set()

    def start(
        self,
        guild_ids: set[int],
        *,
        new_cycle: bool,
        shard: int | None = None,
        shards: set[int] | None = None,
    ) -> None:
        """A READY of `shard`; a new cycle waits for the READYs of every shard in `shards`."""
        if new_cycle:
            self.expected, self.arrived = set(), set()
            self.waiting_shards = set(shards or ())
        if shard is not None:
            self.waiting_shards.discard(shard)
        self.expected |= guild_ids

    def arrive(self, guild_id: int) -> None:
        self.arrived.add(guild_id)

    @property
    def complete(self) -> bool:
        return not self.waiting_shards and self.expected <= self.arrived


def install_fast_ready(client: nextcord.Client) -> ReadyGuilds:
    """Make `client` dispatch on_ready once every guild in READY has arrived."""
    state = client._connection
    fallback = state.guild_ready_timeout
    sharded = isinstance(client, nextcord.AutoShardedClient)
    guilds = ReadyGuilds()
    parse_ready: Parser = state.parsers["READY"]
    parse_guild_create: Parser = state.parsers["GUILD_CREATE"]

    def settle() -> None:
        state.guild_ready_timeout = SETTLED_WAIT if guilds.complete else fallback

    first_cycle = True

    def on_ready(data: dict[str, Any]) -> None:
        # Unsharded, every READY restarts the wait; sharded, the READYs of all shards feed
        # one wait until it has finished. The first wait expects every shard of the process;
        # a later one (a shard reconnecting) only the shard that starts it.
        nonlocal first_cycle
        new_cycle = not sharded or getattr(state, "_ready_task", None) is None
        shard = data.get("__shard_id__") if sharded else None
        shards: set[int] = set()
        if sharded and new_cycle:
            shards = set(_process_shards(client)) if first_cycle else {shard}
            first_cycle = False
        guilds.start(
            {int(g["id"]) for g in data.get("guilds", ())},
            new_cycle=new_cycle,
            shard=shard,
            shards=shards,
        )
        state.guild_ready_timeout = fallback
        parse_ready(data)
        settle()

    def on_guild_create(data: dict[str, Any]) -> None:
        parse_guild_create(data)
        if data.get("unavailable") is not True:
            guilds.arrive(int(data["id"]))
            settle()

    state.parsers["READY"] = on_ready
    state.parsers["GUILD_CREATE"] = on_guild_create
    return guilds


def _process_shards(client: nextcord.Client) -> list[int]:
    """The shards this sharded client runs: its SHARD_IDS, or every one of its count."""
    ids = getattr(client, "shard_ids", None)
    if ids is not None:
        return list(ids)
    return list(range(getattr(client, "shard_count", None) or 1))
