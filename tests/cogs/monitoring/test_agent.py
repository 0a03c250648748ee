"""The agent: posting to the web editor, being refused, keeping a backlog, writing to the
database, and `python -m bot agent` through the generic feature-CLI hook."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.database import Database
from cogs.monitoring.agent import AgentConfig, HttpSink, run_agent
from cogs.monitoring.history import HistoryStore
from cogs.monitoring.monitor import Monitor
from cogs.monitoring.sampler import Snapshot
from tests.web.conftest import ADMIN_ID, GUILD_ID
from web.app import create_app
from web.context import WebContext
from web.server import start_web

ROOT = Path(__file__).resolve().parents[3]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_agent_posts_and_is_refused_once_revoked(
    monitoring_ctx: WebContext, monitor: Monitor, capsys: pytest.CaptureFixture[str]
) -> None:
    token = await monitor.config.create_token(GUILD_ID, "nas", ADMIN_ID)
    server = await start_web(create_app(monitoring_ctx), "127.0.0.1", 0)
    try:
        config = AgentConfig(host="ignored-locally", interval_s=2, url=server.url, token=token)
        assert await run_agent(config, samples=1) == 0
        _, metrics = await monitor.history.latest("nas")
        assert metrics["mem.total"] > 0 and "cpu.percent" in metrics
        assert await monitor.history.latest("ignored-locally") is None  # the token decides

        [row] = await monitor.config.tokens(GUILD_ID)
        await monitor.config.revoke_token(GUILD_ID, row.id)
        assert await run_agent(config, samples=1) == 2
        assert "refused this agent: the agent token is revoked" in capsys.readouterr().out
        wrong = AgentConfig(host="x", url=server.url, token="fcm_not-a-token")
        assert await run_agent(wrong, samples=1) == 2
        assert "the agent token is wrong" in capsys.readouterr().out
    finally:
        await server.stop()


async def test_unreachable_web_editor_keeps_a_backlog() -> None:
    sink = HttpSink(f"http://127.0.0.1:{closed_port()}", "fcm_x", timeout_s=2)
    try:
        for ts in (1.0, 2.0):
            await sink(Snapshot("h", ts, {"cpu.percent": ts}, {}, {}))
        assert [s["ts"] for s in sink.backlog] == [1.0, 2.0]
    finally:
        await sink.close()


async def test_agent_writes_to_the_shared_database(sqlite_url: str) -> None:
    config = AgentConfig(host="db-agent", interval_s=2, database_url=sqlite_url)
    assert await run_agent(config, samples=2) == 0
    db = await Database.connect(sqlite_url)
    try:
        found = await HistoryStore(db).latest("db-agent")
        assert found is not None and found[1]["procs"] > 0
    finally:
        await db.dispose()


async def test_the_cli_subcommand(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'agent.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_"))}
    env.update({"PYTHONPATH": str(ROOT), "DATABASE_URL": url, "DATA_DIR": str(tmp_path)})
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "agent", "--once", "--host", "cli-host"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    db = await Database.connect(url)
    try:
        found = await HistoryStore(db).latest("cli-host")
        assert found is not None and "mem.percent" in found[1]
    finally:
        await db.dispose()
    refused = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "agent", "--once", "--url", "http://127.0.0.1:1"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert refused.returncode == 2 and "AGENT_URL needs AGENT_TOKEN" in refused.stdout
