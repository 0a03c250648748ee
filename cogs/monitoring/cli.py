"""`python -m bot agent`: the monitoring agent for other machines (see agent.py)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from pathlib import Path
from typing import Any


def register(sub: Any) -> None:
    agent = sub.add_parser(
        "agent",
        help="monitoring agent: sample this host into the shared database or a web editor",
        description="Sample this host (CPU, memory, disks, network, GPUs, containers) and "
        "post to a web editor (--url / AGENT_URL) with a token from its Monitoring page "
        "(--token-file / AGENT_TOKEN_FILE, or --token / AGENT_TOKEN); without a URL, "
        "write to DATABASE_URL. No Discord connection, no web server.",
    )
    agent.add_argument("--url", help="web editor URL (default: AGENT_URL)")
    agent.add_argument(
        "--token",
        help="the host's agent token (default: AGENT_TOKEN); visible to other users in the "
        "process list, so prefer --token-file or the environment",
    )
    agent.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help="read the agent token from FILE (default: AGENT_TOKEN_FILE)",
    )
    agent.add_argument("--host", help="host name for the samples (default: MONITORING_HOST)")
    agent.add_argument("--interval", type=float, help="seconds between samples (min 2)")
    agent.add_argument("--once", action="store_true", help="take one sample and exit")
    agent.set_defaults(run=run)


class TokenError(Exception):
    """The token cannot be had; the message says why."""


def read_token(args: argparse.Namespace, own: Any) -> str:
    """The agent token: --token, --token-file, AGENT_TOKEN, AGENT_TOKEN_FILE, in that order."""
    if args.token is not None and args.token_file is not None:
        raise TokenError("give --token or --token-file, not both")
    if args.token is not None:
        return args.token.strip()
    path = args.token_file
    if path is None and own.agent_token is not None:
        return own.agent_token.get()
    path = path or own.agent_token_file
    if path is None:
        return ""
    try:
        token = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise TokenError(f"cannot read the token file {path}: {exc.strerror or exc}") from None
    if not token:
        raise TokenError(f"the token file {path} is empty")
    return token


def run(args: argparse.Namespace, settings: Any) -> int:
    from bot.logging_setup import setup_logging
    from cogs.monitoring.agent import AgentConfig, default_host, run_agent
    from cogs.monitoring.settings import SETTINGS

    own = settings.feature(SETTINGS)
    try:
        token = read_token(args, own)
    except TokenError as exc:
        print(f"foundrycord agent: error: {exc}")
        return 2
    secrets = [*settings.secrets(), *([token] if token else [])]
    setup_logging(settings.log_level, settings.data_dir, secrets)
    interval = args.interval if args.interval is not None else own.monitoring_interval
    if interval < 2:
        print("foundrycord agent: error: --interval must be at least 2 seconds")
        return 2
    config = AgentConfig(
        host=(args.host or own.monitoring_host or default_host())[:64],
        interval_s=interval,
        docker_host=own.docker_host,
        host_proc=own.host_proc,
        url=(args.url or own.agent_url).rstrip("/"),
        token=token,
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
