"""`python -m bot` as a user runs it: one clear line and a non-zero exit on bad input."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_bot(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60):  # type: ignore[no-untyped-def]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_"))}
    clean.update({"PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "error::ResourceWarning"})
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_help_lists_the_modes(tmp_path: Path) -> None:
    result = run_bot(["--help"], {}, tmp_path)
    assert result.returncode == 0
    for text in ("DISCORD_TOKEN", "sandbox", "--record", "db upgrade"):
        assert text in result.stdout


def test_a_bad_setting_stops_with_one_line_naming_it(tmp_path: Path) -> None:
    result = run_bot(["--check-config"], {"WEB_PORT": "abc"}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "foundrycord: error: WEB_PORT='abc' is not valid: expected a port number 0-65535"
    ]


def test_a_corrupt_env_file_line_is_named(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("LOG_LEVEL=INFO\nthis is not a setting\n")
    result = run_bot(["--check-config"], {}, tmp_path)
    assert result.returncode == 2
    assert "line 2 is not a valid KEY=VALUE line" in result.stderr


def test_a_taken_web_port_is_one_clear_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_bot(
            [],
            {"DISCORD_TOKEN": "not-a-real-token", "WEB_PORT": str(port), "DATA_DIR": "data"},
            tmp_path,
        )
    assert result.returncode == 2, result.stderr
    assert f"web port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "not-a-real-token" not in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_retries_then_exits(tmp_path: Path) -> None:
    result = run_bot(
        [],
        {
            "DISCORD_TOKEN": "not-a-real-token",
            "DATABASE_URL": "postgresql+asyncpg://postgres:pw-secret@127.0.0.1:1/foundry",
            "DB_CONNECT_RETRIES": "1",
            "WEB_PORT": "0",
        },
        tmp_path,
    )
    assert result.returncode == 2
    assert "retrying in 1 s" in result.stderr
    assert "cannot reach the database at postgresql+asyncpg://postgres:***@127.0.0.1:1" in (
        result.stderr
    )
    assert "pw-secret" not in result.stderr
