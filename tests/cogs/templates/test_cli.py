"""`python -m bot template export|plan|apply` in a child process against a sandbox."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sandbox.server import SandboxServer
from tests.foundry import LAB

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def sandbox() -> AsyncIterator[SandboxServer]:
    server = SandboxServer()
    await server.start()
    server.load(LAB)
    try:
        yield server
    finally:
        await server.stop()
    assert server.handler_errors == []


async def cli(server: SandboxServer, tmp_path: Path, *args: str) -> tuple[int, str, str]:
    env = {
        **os.environ,
        "DISCORD_TOKEN": server.token,
        "DATA_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    }
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "--env-file",
        str(tmp_path / "none.env"),
        "--sandbox-url",
        server.base_url.removesuffix("/api/v10"),
        "template",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(child.communicate(), 60)
    return child.returncode or 0, out.decode(), err.decode()


async def test_plan_exit_codes_follow_an_apply(sandbox: SandboxServer, tmp_path: Path) -> None:
    guild = str(sandbox.state.find_guild("Lab").id)
    code, out, err = await cli(sandbox, tmp_path, "plan", "builtin:homelab", "--guild", guild)
    assert code == 2, err
    assert any(line.startswith("+") and "#networking" in line for line in out.splitlines())

    code, out, err = await cli(sandbox, tmp_path, "apply", "builtin:homelab", "--guild", guild)
    assert code == 0, err
    assert "done" in out
    assert "networking" in {c.name for c in sandbox.state.find_guild("Lab").channels.values()}

    code, out, err = await cli(sandbox, tmp_path, "plan", "builtin:homelab", "--guild", guild)
    assert code == 0, err
    assert "Nothing to change." in out


async def test_export_then_plan_the_export_changes_nothing(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    exported = tmp_path / "lab.json"
    code, _, err = await cli(sandbox, tmp_path, "export", "-o", str(exported))
    assert code == 0, err
    doc = json.loads(exported.read_text())
    assert {c["name"] for c in doc["channels"]} == {"general", "status"}
    code, out, err = await cli(sandbox, tmp_path, "plan", str(exported))
    assert (code, "Nothing to change.") == (0, out.strip().splitlines()[-1]), err


async def test_a_refused_template_exits_1_and_names_the_problem(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"version": 2, "name": "b", "channels": [{"name": "x", "type": "hologram"}]}')
    code, _, err = await cli(sandbox, tmp_path, "plan", str(bad))
    assert code == 1
    assert "$.channels[0].type: unknown channel type 'hologram'" in err


async def test_a_template_nested_300_deep_is_a_clean_error(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    from tests.cogs.templates.conftest import nested_channels

    deep = tmp_path / "deep.json"
    deep.write_text(json.dumps(nested_channels(300)))
    code, _, err = await cli(sandbox, tmp_path, "plan", str(deep))
    assert code == 1
    assert "levels deep" in err and "Traceback" not in err, err


async def test_the_cli_talks_to_discord_through_the_corrected_client(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import argparse
    import dataclasses

    from bot.discord_http import CorrectedHTTPClient
    from bot.settings import load_settings
    from cogs.templates import cli as template_cli
    from sandbox.client import restore_nextcord

    routes: list[str] = []
    request = CorrectedHTTPClient.request

    async def spy(self, route, **kwargs):  # type: ignore[no-untyped-def]
        routes.append(route.path)
        return await request(self, route, **kwargs)

    monkeypatch.setattr(CorrectedHTTPClient, "request", spy)
    settings = dataclasses.replace(
        load_settings(environ={"DISCORD_TOKEN": sandbox.token}, env_file=None),
        data_dir=tmp_path,
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
    )
    args = argparse.Namespace(
        template_action="plan",
        template="builtin:homelab",
        prune=False,
        no_roles=False,
        delete_with_messages="",
        guild=sandbox.state.find_guild("Lab").id,
        sandbox_url=sandbox.base_url.removesuffix("/api/v10"),
    )
    try:
        assert await template_cli._run(args, settings) == 2
    finally:
        restore_nextcord()
    assert "/guilds/{guild_id}/channels" in routes  # the plan read the server through it
    calls = [c for c in sandbox.calls if c["route"] == "/guilds/{guild_id}/channels"]
    assert len(calls) == routes.count("/guilds/{guild_id}/channels")  # and nothing else did
