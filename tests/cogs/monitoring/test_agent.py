"""The agent: posting to the web editor, being refused, keeping a backlog, writing to the
database, and `python -m bot agent` through the generic feature-CLI hook."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bot.database import Database
from cogs.monitoring.agent import AgentConfig, HttpSink, run_agent
from cogs.monitoring.history import HistoryStore
from cogs.monitoring.monitor import Monitor
from cogs.monitoring.sampler import Snapshot
from tests.web.conftest import ADMIN_ID, GUILD_ID, sign_in
from web.app import create_app
from web.context import WebContext
from web.server import start_web

ROOT = Path(__file__).resolve().parents[3]
PAGE = f"/guilds/{GUILD_ID}/monitoring"


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
        _, metrics = await monitor.history.latest(f"g{GUILD_ID}/nas")
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


async def run_cli(*args: str, env: dict[str, str], cwd: Path) -> tuple[int, str]:
    """`python -m bot agent ...` as a separate process, without blocking the event loop (the
    web server under test answers it meanwhile)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "agent", *args,
        cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, out.decode()


def agent_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DISCORD_", "DATABASE_", "AGENT_", "MONITORING_"))
    }
    env.update({"PYTHONPATH": str(ROOT), "DATA_DIR": str(tmp_path), **extra})
    # a database the agent must NOT write to when it has a URL
    env["DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'not-this.db'}"
    return env


async def agent_host_values(client: Any) -> dict[str, str]:
    """The live values of the one host on the Monitoring tab that has the agent's metrics,
    read as the manager through the page's own host picker."""
    page = await (await client.get(PAGE)).text()
    labels = re.findall(
        r'<option value="([^"]+)"', page.split('id="host-picker"')[1].split("</select>")[0]
    )
    for label in labels:
        live = await (await client.get(PAGE + "/live.json", params={"host": label})).json()
        if "mem.total" in live["values"]:
            series = await client.get(
                PAGE + "/series.json", params={"host": label, "metric": "mem.total"}
            )
            assert series.status == 200 and (await series.json())["points"]
            return live["values"]
    raise AssertionError(f"no host with the agent's values among {labels}")


@pytest.mark.parametrize("how", ["flags", "environment", "token-file"])
async def test_the_real_agent_posts_to_a_running_web_editor(
    monitoring_ctx: WebContext, monitor: Monitor, aiohttp_client: Any, tmp_path: Path, how: str
) -> None:
    client = await aiohttp_client(create_app(monitoring_ctx))
    token = await monitor.config.create_token(GUILD_ID, "nas", ADMIN_ID)
    url = str(client.make_url("")).rstrip("/")
    await sign_in(client, monitoring_ctx, ADMIN_ID)
    page = await (await client.get(PAGE)).text()
    assert ">never<" in page.split('data-testid="tokens"')[1]  # not used yet

    if how == "flags":
        code, out = await run_cli(
            "--url", url, "--token", token, "--once", env=agent_env(tmp_path), cwd=tmp_path
        )
    elif how == "environment":
        env = agent_env(tmp_path, AGENT_URL=url, AGENT_TOKEN=token)
        code, out = await run_cli("--once", env=env, cwd=tmp_path)
    else:
        secret = tmp_path / "token"
        secret.write_text(token + "\n")
        env = agent_env(tmp_path, AGENT_URL=url)
        code, out = await run_cli("--once", "--token-file", str(secret), env=env, cwd=tmp_path)
    assert code == 0, out[-3000:]
    assert token not in out  # never logged

    values = await agent_host_values(client)
    assert values["mem.total"] and "cpu.percent" in values
    page = await (await client.get(PAGE)).text()
    tokens = page.split('data-testid="tokens"')[1].split("</table>")[0]
    assert ">never<" not in tokens  # "Last used" is now a time
    assert not (tmp_path / "not-this.db").exists()  # posted, not written to the database


async def test_agent_token_mistakes_are_named(tmp_path: Path) -> None:
    env = agent_env(tmp_path)
    code, out = await run_cli("--once", "--url", "http://127.0.0.1:1", env=env, cwd=tmp_path)
    assert code == 2 and "AGENT_URL needs AGENT_TOKEN (--token)" in out
    code, out = await run_cli(
        "--once", "--token-file", str(tmp_path / "missing"), env=env, cwd=tmp_path
    )
    assert code == 2 and "cannot read the token file" in out
    (tmp_path / "empty").write_text("\n")
    code, out = await run_cli(
        "--once", "--token-file", str(tmp_path / "empty"), env=env, cwd=tmp_path
    )
    assert code == 2 and "is empty" in out
    code, out = await run_cli(
        "--once", "--token", "a", "--token-file", str(tmp_path / "empty"), env=env, cwd=tmp_path
    )
    assert code == 2 and "not both" in out


LIGHT_AGENT = """
import sys
from bot.__main__ import main
code = main(sys.argv[1:])
heavy = {"sqlalchemy", "nextcord", "jinja2", "aiohttp_jinja2", "alembic", "aiosqlite"}
print("CODE", code, "HEAVY", sorted({m.split(".")[0] for m in sys.modules} & heavy))
"""


async def test_the_agent_posting_to_a_url_imports_only_what_it_needs(tmp_path: Path) -> None:
    """No SQLAlchemy, nextcord or Jinja2 in `python -m bot agent --url ...` (issue 16.2):
    they alone would take the agent far past its memory budget."""
    env = agent_env(tmp_path)
    env.pop("DATABASE_URL")
    url = f"http://127.0.0.1:{closed_port()}"  # unreachable: the sample is kept, exit 0
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", LIGHT_AGENT, "agent", "--url", url, "--token", "fcm_x", "--once",
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out = (await asyncio.wait_for(process.communicate(), 120))[0].decode()
    assert "CODE 0 HEAVY []" in out, out[-3000:]


async def test_a_refused_post_is_dropped_and_named_not_retried_forever(
    monitoring_ctx: WebContext, monitor: Monitor, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import time

    token = await monitor.config.create_token(GUILD_ID, "nas", ADMIN_ID)
    server = await start_web(create_app(monitoring_ctx), "127.0.0.1", 0)
    sink = HttpSink(server.url, token)
    try:
        with caplog.at_level(logging.WARNING, logger="cogs.monitoring.agent"):
            await sink(Snapshot("h", time.time() + 3600, {"cpu.percent": 1.0}, {}, {}))
            assert not sink.backlog  # sending it again cannot help
            assert any("ahead of the server's clock" in r.getMessage() for r in caplog.records)
            caplog.clear()
            many = {f"junk.{i}": 1.0 for i in range(250)}
            for _ in range(2):
                await sink(Snapshot("h", time.time(), many, {}, {}))
            said = [r.getMessage() for r in caplog.records if r.name == "cogs.monitoring.agent"]
            assert len(said) == 1 and "did not store 50 metric(s)" in said[0], said
    finally:
        await sink.close()
        await server.stop()
