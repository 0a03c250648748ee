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
    return parser


async def serve(args: argparse.Namespace) -> None:
    from sandbox.demo import DEMO
    from sandbox.event_log import LONG_RUNNING_LIMIT
    from sandbox.server import SandboxServer

    options = {} if args.validate else {"spec_path": None}
    server = SandboxServer(
        args.host,
        args.port,
        token=args.token,
        record_path=args.record,
        log_limit=LONG_RUNNING_LIMIT,
        **options,
    )
    await server.start()
    if not args.no_demo:
        server.load(DEMO)
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


def main(argv: list[str] | None = None) -> int:
    asyncio.run(serve(build_parser().parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
