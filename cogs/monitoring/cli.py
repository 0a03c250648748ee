"""`python -m bot agent`: the monitoring agent for other machines (see agent.py)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from typing import Any


def register(sub: Any) -> None:
    agent = sub.add_parser(
        "agent",
        help="monitoring agent: sample this host into the shared database or a web editor",
        description="Sample this host (CPU, memory, disks, network, GPUs, containers) and "
        "write to DATABASE_URL, or post to AGENT_URL with AGENT_TOKEN (a token from the "
        "web editor's Monitoring page). No Discord connection, no web server.",
    )
    agent.add_argument("--url", help="web editor URL (default: AGENT_URL)")
    agent.add_argument("--host", help="host name for the samples (default: MONITORING_HOST)")
    agent.add_argument("--interval", type=float, help="seconds between samples (min 2)")
    agent.add_argument("--once", action="store_true", help="take one sample and exit")
    agent.set_defaults(run=run)


def run(args: argparse.Namespace, settings: Any) -> int:
    from bot.logging_setup import setup_logging
    from cogs.monitoring.agent import AgentConfig, default_host, run_agent

    setup_logging(settings.log_level, settings.data_dir, settings.secrets())
    interval = args.interval if args.interval is not None else settings.monitoring_interval
    if interval < 2:
        print("foundrycord agent: error: --interval must be at least 2 seconds")
        return 2
    config = AgentConfig(
        host=(args.host or settings.monitoring_host or default_host())[:64],
        interval_s=interval,
        docker_host=settings.docker_host,
        host_proc=settings.host_proc,
        url=args.url or settings.agent_url,
        token=settings.agent_token.get() if settings.agent_token else "",
        database_url=settings.database_url,
    )

    async def main() -> int:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        return await run_agent(config, samples=1 if args.once else None, stop=stop)

    return asyncio.run(main())
