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


def large_guild_description(count: int, channels: int = 500, members: int = 5000) -> dict:
    """``count`` guilds of ``channels`` channels (10 categories of 49) and ``members``."""
    per_category = channels // 10 - 1
    return {
        "guilds": [
            {
                "name": f"Large {n}",
                "owner": f"owner{n}",
                "roles": [{"name": "Member", "permissions": ["send_messages"]}],
                "members": [{"name": f"user{n}-{m}", "roles": ["Member"]} for m in range(members)],
                "categories": [
                    {
                        "name": f"Category {c}",
                        "channels": [{"name": f"ch-{c}-{i}"} for i in range(per_category)],
                    }
                    for c in range(10)
                ],
            }
            for n in range(count)
        ]
    }


async def guild_create_delay(server: SandboxServer, guild_id: int) -> float:
    """Seconds from sending IDENTIFY to receiving the large guild's GUILD_CREATE frame."""
    import json

    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(server.gateway_url + "?v=10&encoding=json") as ws,
    ):
        await ws.receive_json(timeout=5)  # HELLO
        identify = {"token": server.token, "intents": (1 << 0) | (1 << 1), "properties": {}}
        started = time.perf_counter()
        await ws.send_str(json.dumps({"op": 2, "d": identify}))
        while True:
            frame = await ws.receive_json(timeout=10)
            if frame.get("t") == "GUILD_CREATE" and frame["d"]["id"] == str(guild_id):
                return time.perf_counter() - started


async def large_guild_rows() -> list[Row]:
    """Building 1 and 2 guilds of 500 channels and 5,000 members (linear, not quadratic),
    and the large guild's GUILD_CREATE to a raw gateway client."""
    rows = []
    for count in (1, 2):
        description = large_guild_description(count)
        server = SandboxServer(spec_path=None, log_limit=1000)
        started = time.perf_counter()
        guilds = server.load(description)
        built = time.perf_counter() - started
        assert all(len(g.members) >= 5000 and len(g.channels) == 500 for g in guilds)
        rows.append(
            (
                f"build {count} x 500 channels x 5,000 members",
                f"{built:.2f} s",
                "server.load(description); target under 0.3 s",
            )
        )
    await server.start()
    try:
        delays = [await guild_create_delay(server, guilds[-1].id) for _ in range(5)]
    finally:
        await server.stop()
    rows.append(
        (
            "GUILD_CREATE of a 500 x 5,000 guild",
            f"{statistics.median(delays) * 1000:.1f} ms",
            "IDENTIFY sent to frame received, raw websocket, median of 5; target under 20 ms",
        )
    )
    return rows


async def call_log_rows(calls: int = 20_000) -> list[Row]:
    """What the call log holds after ``calls`` REST GETs: every entry (tests) or a ring."""
    rows = []
    for limit, label in ((None, "kept in full (tests)"), (1000, "ring of 1,000 (offline)")):
        server = SandboxServer(spec_path=None, ratelimits=False, log_limit=limit)
        await server.start()
        try:
            guild = server.load(DEMO)[0]
            url = f"{server.base_url}/channels/{guild.channel('general').id}"
            headers = {"Authorization": f"Bot {server.token}"}
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            async with aiohttp.ClientSession() as session:

                async def worker(n: int, url: str = url, headers: dict = headers) -> None:
                    for _ in range(n):
                        async with session.get(url, headers=headers) as response:
                            await response.read()

                await asyncio.gather(*(worker(calls // 4) for _ in range(4)))
            gc.collect()
            held = tracemalloc.get_traced_memory()[0] - before
            tracemalloc.stop()
            assert len(server.calls) >= calls
        finally:
            await server.stop()
        rows.append(
            (
                f"memory after {calls:,} GETs, call log {label}",
                f"{held / 1024 / 1024:.1f} MiB",
                f"tracemalloc; {len(list(server.calls)):,} entries kept",
            )
        )
    return rows


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
    rows += await large_guild_rows()
    rows += await call_log_rows()
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
