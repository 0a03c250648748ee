"""`python -m sandbox` as a sharded Discord for several bot processes."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.bot.test_main import ROOT, LineReader


def test_a_sharded_sandbox_with_a_saved_world(tmp_path: Path) -> None:
    world = tmp_path / "world.json"
    command = [sys.executable, "-m", "sandbox", "--shards", "2", "--max-concurrency", "4"]
    command += ["--world", str(world), "--guilds", "4", "--no-demo", "--token", "t0ken"]
    for run in ("first", "second"):
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        out = LineReader(process.stdout)
        try:
            assert out.wait_for("Sandbox listening on", 30), run
            url = next(line for line in out.lines if "listening" in line).split()[-1]
            request = urllib.request.Request(
                url + "/api/v10/gateway/bot", headers={"Authorization": "Bot t0ken"}
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                body = json.load(response)
            assert body["shards"] == 2
            assert body["session_start_limit"]["max_concurrency"] == 4
        finally:
            process.terminate()
            assert process.wait(10) == 0
            out.close()
        names = sorted(g.name for g in _saved_guilds(world))
        assert names == ["Guild 0", "Guild 1", "Guild 2", "Guild 3"], run  # kept, not re-added


def _saved_guilds(path: Path) -> list:  # type: ignore[type-arg]
    from sandbox.server import SandboxServer
    from sandbox.world_file import load_saved_world

    server = SandboxServer(spec_path=None)
    assert load_saved_world(server, path).restored
    return list(server.state.guilds.values())
