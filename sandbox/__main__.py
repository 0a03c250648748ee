"""`python -m sandbox`: run the sandbox on its own, for demos, benchmarks and for running
the bot against it from another process (`python -m bot --sandbox-url URL`)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox", description="A local Discord-compatible server (REST + gateway)."
    )
    parser.add_argument("--host", default="127.0.0.1", help="address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    parser.add_argument("--token", help="the bot token to accept (default: a random one)")
    parser.add_argument("--no-demo", action="store_true", help="start with no guild")
    parser.add_argument("--record", type=Path, metavar="FILE", help="write calls as JSON lines")
    parser.add_argument(
        "--validate", action="store_true", help="validate traffic against Discord's OpenAPI spec"
    )
    parser.add_argument(
        "--shards",
        type=_at_least_one,
        default=1,
        metavar="N",
        help="a sharded Discord: GET /gateway/bot recommends N shards, and each session gets "
        "the guilds of its shard, (guild_id >> 22) %% its shard count, so several bot "
        "processes can share the sandbox",
    )
    parser.add_argument(
        "--max-concurrency",
        type=_at_least_one,
        default=1,
        metavar="M",
        help="IDENTIFYs that may start together, one per bucket shard_id %% M (default 1)",
    )
    parser.add_argument(
        "--identify-window",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="a bucket's next IDENTIFY within this gets op 9, as on Discord (default 5; 0: off)",
    )
    parser.add_argument(
        "--world",
        type=Path,
        metavar="FILE",
        help="load the world from FILE if it exists (else the demo), and save it there as it "
        "changes, like offline mode's",
    )
    parser.add_argument(
        "--guilds",
        type=int,
        default=0,
        metavar="K",
        help="add K guilds (spread over the shards), each with #general and a few members",
    )
    return parser


def _at_least_one(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {raw}")
    return value


def add_guilds(server, count: int, shards: int) -> None:  # type: ignore[no-untyped-def]
    """`count` guilds named `Guild N`, round-robin over the shards."""
    for n in range(count):
        guild = server.add_guild(f"Guild {n}", shard=(n % shards, shards))
        server.add_channel(guild, "general")
        for m in range(3):
            server.add_member(guild, server.add_user(f"g{n}-member{m}"))


async def serve(args: argparse.Namespace) -> None:
    from sandbox.demo import DEMO
    from sandbox.event_log import LONG_RUNNING_LIMIT
    from sandbox.server import SandboxServer
    from sandbox.world_file import WorldSaver, load_saved_world

    options = {} if args.validate else {"spec_path": None}
    server = SandboxServer(
        args.host,
        args.port,
        token=args.token,
        record_path=args.record,
        log_limit=LONG_RUNNING_LIMIT,
        recommended_shards=args.shards,
        max_concurrency=args.max_concurrency,
        identify_window=max(0.0, args.identify_window),
        **options,
    )
    await server.start()
    restored = False
    saver = None
    if args.world is not None:
        loaded = load_saved_world(server, args.world)
        restored = loaded.restored
        if loaded.writable:
            saver = WorldSaver(server, args.world)
            saver.attach()
    if not restored:
        if not args.no_demo:
            server.load(DEMO)
        add_guilds(server, args.guilds, args.shards)
        if saver is not None:
            await saver.save()
    print(f"Sandbox listening on {server.http_url}", flush=True)
    print(f"Bot token: {server.token}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await server.stop()
        if saver is not None:
            await saver.close()


def main(argv: list[str] | None = None) -> int:
    asyncio.run(serve(build_parser().parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
