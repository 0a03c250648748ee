"""nextcord's REST limiter as shipped beside FoundryCord's correction (bot/discord_http.py),
measured in one run against the sandbox with Discord's limits on (sends and edits 5 per 5 s per
channel, overwrites 10 per 15 s, channel edits 5 per 15 s, 50 requests per second in all).

Run: ``.venv/bin/python bench/discord_http.py [--mixed-seconds 60]``. Prints a markdown table.
Each measure gets a fresh sandbox and a fresh bot; times run from the first request to the
last reply. The shipped client needs about 40 s for the rows above the mixed loads; each of the
two mixed loads runs ``--mixed-seconds`` for each client (4 minutes at the default).
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path: put the repository root there.
ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import logging  # noqa: E402
import time  # noqa: E402
from collections.abc import AsyncIterator, Awaitable, Callable  # noqa: E402

import nextcord  # noqa: E402
from nextcord.ext import commands  # noqa: E402

from bot.discord_http import use_corrected_http  # noqa: E402
from sandbox.client import point_nextcord_at, restore_nextcord  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402
from sandbox.state import Guild  # noqa: E402

SEND = "POST /channels/{channel_id}/messages"
CLIENTS = (("shipped", False), ("corrected", True))


class QuickBot(commands.Bot):
    """No 5 s pause before IDENTIFY: the sandbox needs none."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


@contextlib.asynccontextmanager
async def connected(
    channels: int, corrected: bool
) -> AsyncIterator[tuple[SandboxServer, list[nextcord.TextChannel]]]:
    """A fresh sandbox with one guild of ``channels`` text channels and a bot, ready."""
    server = SandboxServer(spec_path=None)
    await server.start()
    point_nextcord_at(server)
    [guild] = server.load(
        {
            "guilds": [
                {
                    "name": "Bench",
                    "owner": "alice",
                    "members": [{"name": "alice"}],
                    "channels": [{"name": f"room-{n}"} for n in range(channels)],
                }
            ]
        }
    )
    bot = QuickBot(
        command_prefix=commands.when_mentioned,
        intents=nextcord.Intents.default(),
        guild_ready_timeout=0.05,
    )
    if corrected:
        use_corrected_http(bot)
    task = asyncio.create_task(bot.start(server.token))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), 30)
        yield server, text_channels(bot, guild)
    finally:
        await bot.close()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
        await server.stop()
        restore_nextcord()


def text_channels(bot: commands.Bot, guild: Guild) -> list[nextcord.TextChannel]:
    return [bot.get_channel(c.id) for c in guild.channels.values() if c.type == 0]  # type: ignore[misc]


def too_many(server: SandboxServer) -> int:
    assert server.limiter is not None
    return server.limiter.counters.too_many


async def timed(work: Awaitable[object]) -> float:
    started = time.perf_counter()
    await work
    return time.perf_counter() - started


async def sends(corrected: bool, channels: int = 5, each: int = 5) -> tuple[float, int]:
    async with connected(channels, corrected) as (server, rooms):
        work = asyncio.gather(*(c.send(f"message {n}") for c in rooms for n in range(each)))
        return await timed(work), too_many(server)


async def edits(corrected: bool, channels: int = 10, each: int = 2) -> tuple[float, int]:
    async with connected(channels, corrected) as (server, rooms):
        posted = [server.post_message_as(server.bot_user, c.id, "draft") for c in rooms]
        work = asyncio.gather(
            *(
                c.get_partial_message(m.id).edit(content=f"edit {n}")
                for c, m in zip(rooms, posted, strict=True)
                for n in range(each)
            )
        )
        return await timed(work), too_many(server)


async def storm(corrected: bool, count: int, retry_after: float = 0.05) -> tuple[float, int]:
    async with connected(1, corrected) as (server, [room]):
        server.faults.rate_limit_storm(count, retry_after=retry_after, route_key=SEND)
        return await timed(room.send("after the storm")), too_many(server)


async def mixed(corrected: bool, seconds: float, channels: int) -> tuple[int, int, int]:
    """Per channel for ``seconds``: one worker each sending, editing one message, putting and
    deleting an overwrite, and toggling slowmode. Returns (requests answered 2xx, per-route
    429s, global 429s)."""
    async with connected(channels, corrected) as (server, rooms):
        deadline = time.perf_counter() + seconds
        role = rooms[0].guild.default_role

        async def repeat(action: Callable[[], Awaitable[object]]) -> None:
            while time.perf_counter() < deadline:
                await action()

        workers = []
        for room in rooms:
            first = await room.send("edit me")

            async def overwrite(room: nextcord.TextChannel = room) -> None:
                await room.set_permissions(role, send_messages=False)
                await room.set_permissions(role, overwrite=None)

            async def slowmode(room: nextcord.TextChannel = room) -> None:
                await room.edit(slowmode_delay=5 if room.slowmode_delay == 0 else 0)

            workers += [
                repeat(lambda room=room: room.send("load")),
                repeat(lambda first=first: first.edit(content="edited")),
                repeat(overwrite),
                repeat(slowmode),
            ]
        mark = len(server.calls)
        await asyncio.gather(*workers)
        answered = sum(1 for c in server.calls[mark:] if 200 <= c["status"] < 300)
        assert server.limiter is not None
        global_hits = server.limiter.counters.global_hits
        return answered, server.limiter.counters.too_many - global_hits, global_hits


async def rows(mixed_seconds: float) -> list[tuple[str, str, str]]:
    """Each measure once per client, shipped first, in one process."""
    measures: list[tuple[str, Callable[[bool], Awaitable[str]]]] = [
        ("5 sends to each of 5 fresh channels, at once", lambda c: timed_cell(sends(c))),
        ("2 edits to a message in each of 10 channels, at once", lambda c: timed_cell(edits(c))),
    ]
    for n in (1, 2, 3):
        label = f"send through a storm of {n} × 429, retry_after 0.05"
        measures.append((label, lambda c, n=n: timed_cell(storm(c, n))))
    if mixed_seconds > 0:
        # Each channel's buckets allow 20 requests at once (5 sends or edits, 10 overwrite
        # changes, 5 channel edits): 2 channels stay under 50 in any second, 10 do not, and
        # then nextcord's global limiter (kept as shipped) decides.
        for channels in (2, 10):
            label = f"{mixed_seconds:g} s mixed load, {channels} channels"
            measures.append((label, lambda c, n=channels: mixed_cell(mixed(c, mixed_seconds, n))))
    table = []
    for label, measure in measures:
        table.append((label, *[await measure(corrected) for _, corrected in CLIENTS]))
    return table


async def timed_cell(work: Awaitable[tuple[float, int]]) -> str:
    elapsed, limited = await work
    return f"{elapsed:.2f} s" + (f" ({limited} × 429)" if limited else "")


async def mixed_cell(work: Awaitable[tuple[int, int, int]]) -> str:
    answered, route_429s, global_429s = await work
    return f"{answered} answered; 429s: {route_429s} per-route, {global_429s} global"


def print_table(table: list[tuple[str, str, str]]) -> None:
    print("| measure | nextcord 3.2 as shipped | corrected (bot/discord_http.py) |")
    print("|---|---|---|")
    for row in table:
        print("| " + " | ".join(row) + " |")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench/discord_http.py", description=__doc__)
    parser.add_argument(
        "--mixed-seconds", type=float, default=60.0, help="length of each mixed load (0: skip)"
    )
    return parser


if __name__ == "__main__":
    logging.basicConfig(level=logging.CRITICAL)
    args = build_parser().parse_args()
    print_table(asyncio.run(rows(args.mixed_seconds)))
