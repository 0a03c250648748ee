"""Sandbox benchmarks: bot start-up time, REST throughput and guilds held per GiB.

Run: ``python bench/sandbox.py [--runs 5] [--seconds 3] [--guilds 200]`` (or
``python -m bench.sandbox``). Everything runs on loopback and every loop is bounded.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's folder comes first on sys.path and its name would hide the
# `sandbox` package: put the repository root there instead.
ROOT = Path(__file__).resolve().parents[1]
if sys.path and Path(sys.path[0]).resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import contextlib  # noqa: E402
import gc  # noqa: E402
import logging  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from typing import Any  # noqa: E402

import aiohttp  # noqa: E402
import nextcord  # noqa: E402
import psutil  # noqa: E402
from nextcord.ext import commands  # noqa: E402

from sandbox.client import point_nextcord_at, restore_nextcord  # noqa: E402
from sandbox.demo import DEMO  # noqa: E402
from sandbox.server import SandboxServer  # noqa: E402

Row = tuple[str, str, str]


class QuickBot(commands.Bot):
    """No 5 s pause before IDENTIFY: the sandbox needs none."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


async def time_to_ready(guild_ready_timeout: float) -> float:
    """Seconds from ``bot.start()`` to on_ready against a sandbox with the demo guild."""
    server = SandboxServer(spec_path=None)
    await server.start()
    server.load(DEMO)
    point_nextcord_at(server)
    bot = QuickBot(
        command_prefix="!",
        intents=nextcord.Intents.all(),
        guild_ready_timeout=guild_ready_timeout,
    )
    started = time.perf_counter()
    task = asyncio.create_task(bot.start(server.token))
    try:
        await asyncio.wait_for(bot.wait_until_ready(), 30)
        return time.perf_counter() - started
    finally:
        await bot.close()
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(task, 5)
        await server.stop()
        restore_nextcord()


async def startup_rows(runs: int) -> list[Row]:
    rows = []
    for timeout in (0.05, 2.0):
        times = [await time_to_ready(timeout) for _ in range(runs)]
        rows.append(
            (
                f"start to ready, guild_ready_timeout={timeout:g}",
                f"{statistics.median(times) * 1000:.0f} ms",
                f"median of {runs}",
            )
        )
    return rows


async def requests_per_second(
    limiter: bool, method: str, seconds: float, workers: int = 4
) -> tuple[float, int]:
    """Requests served per second to one aiohttp client (``workers`` requests in flight)."""
    server = SandboxServer(spec_path=None, ratelimits=None if limiter else False)
    await server.start()
    try:
        guild = server.load(DEMO)[0]
        channel = guild.channel("general")
        url = f"{server.base_url}/channels/{channel.id}"
        headers = {"Authorization": f"Bot {server.token}"}
        served = limited = 0
        deadline = time.perf_counter() + seconds

        async def worker(session: aiohttp.ClientSession) -> None:
            nonlocal served, limited
            while time.perf_counter() < deadline:
                if method == "GET":
                    request = session.get(url, headers=headers)
                else:
                    request = session.post(
                        url + "/messages", json={"content": "x"}, headers=headers
                    )
                async with request as response:
                    await response.read()
                served += 1
                limited += response.status == 429

        async with aiohttp.ClientSession() as session:
            started = time.perf_counter()
            await asyncio.gather(*(worker(session) for _ in range(workers)))
            elapsed = time.perf_counter() - started
        return served / elapsed, limited
    finally:
        await server.stop()


async def throughput_rows(seconds: float) -> list[Row]:
    rows = []
    for limiter in (False, True):
        for method, label in (("GET", "GET /channels/{id}"), ("POST", "POST .../messages")):
            rate, limited = await requests_per_second(limiter, method, seconds)
            note = f"limiter {'on' if limiter else 'off'}, 4 in flight, {seconds:g} s"
            if limited:
                note += f", {limited} of them 429s (global 50/s, sends 5/5 s)"
            rows.append((f"REST {label}", f"{rate:,.0f} req/s", note))
    return rows


def guild_description(count: int, channels: int) -> dict[str, Any]:
    return {
        "guilds": [
            {
                "name": f"Guild {n}",
                "owner": f"owner{n}",
                "roles": [
                    {"name": f"Role {r}", "permissions": ["send_messages"]} for r in range(3)
                ],
                "members": [{"name": f"member{n}-{m}", "roles": ["Role 0"]} for m in range(5)],
                "categories": [
                    {
                        "name": f"Category {c}",
                        "channels": [
                            {"name": f"channel-{c}-{i}"} for i in range(channels // 5 - 1)
                        ],
                    }
                    for c in range(5)
                ],
            }
            for n in range(count)
        ]
    }


def _build(guilds: int) -> SandboxServer:
    server = SandboxServer(spec_path=None)
    server.load(guild_description(guilds, 50))
    server.dispatches.clear()  # the dispatch log is history, not guild state
    assert all(len(g.channels) == 50 for g in server.state.guilds.values())
    return server


def memory_rows(guilds: int) -> list[Row]:
    """Build ``guilds`` guilds of 50 channels (5 categories + 45 text), 3 roles, 6 members:
    once measuring the RSS delta, once (apart, as tracing costs memory) with tracemalloc."""
    process = psutil.Process()
    gc.collect()
    rss_before = process.memory_info().rss
    held = _build(guilds)
    gc.collect()
    per_guild_rss = (process.memory_info().rss - rss_before) / guilds
    del held
    tracemalloc.start()
    held = _build(guilds)
    gc.collect()
    per_guild_traced = tracemalloc.get_traced_memory()[0] / guilds
    tracemalloc.stop()
    assert len(held.state.guilds) == guilds
    gib = 1024**3
    how = f"{guilds} guilds built; delta / {guilds}"
    return [
        ("memory per guild (RSS delta)", f"{per_guild_rss / 1024:.0f} KiB", how),
        ("guilds of 50 channels per GiB (RSS)", f"{gib / per_guild_rss:,.0f}", "1 GiB / per guild"),
        ("memory per guild (tracemalloc)", f"{per_guild_traced / 1024:.0f} KiB", how),
        (
            "guilds of 50 channels per GiB (traced)",
            f"{gib / per_guild_traced:,.0f}",
            "1 GiB / per guild",
        ),
    ]


def print_table(rows: list[Row]) -> None:
    headers = ("measure", "result", "how")
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(3)]
    line = "  ".join("-" * w for w in widths)
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)))
    print(line)
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


async def main(args: argparse.Namespace) -> None:
    rows = memory_rows(args.guilds)  # first, before other runs grow the heap
    rows += await startup_rows(args.runs)
    rows += await throughput_rows(args.seconds)
    print_table(rows)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.sandbox", description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="start-ups per setting (median)")
    parser.add_argument("--seconds", type=float, default=3.0, help="length of each REST loop")
    parser.add_argument("--guilds", type=int, default=200, help="guilds built for memory")
    return parser


if __name__ == "__main__":
    logging.basicConfig(level=logging.ERROR)
    asyncio.run(main(build_parser().parse_args()))
