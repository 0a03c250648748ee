"""`python -m bot` as a user runs it: one clear line and a non-zero exit on bad input."""

from __future__ import annotations

import io
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.line_reader import LineReader

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
    for text in ("DISCORD_TOKEN", "sandbox", "--record", "db upgrade", "--sandbox-reset", "--yes"):
        assert text in result.stdout


def test_a_bad_setting_stops_with_one_line_naming_it(tmp_path: Path) -> None:
    result = run_bot(["--check-config"], {"WEB_PORT": "abc"}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "foundrycord: error: WEB_PORT='abc' is not valid: expected a port number 0-65535"
    ]


def test_an_unknown_feature_is_one_line_listing_the_features(tmp_path: Path) -> None:
    result = run_bot(["--check-config"], {"FEATURES": "admin, telepathy"}, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "FEATURES names telepathy, which is not a feature" in lines[0]
    assert "admin" in lines[0].split("the features are:")[1]


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


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_offline_mode_starts_and_a_signal_shuts_it_down_cleanly(
    tmp_path: Path, stop_signal: signal.Signals
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_"))}
    env.update({"PYTHONPATH": str(ROOT), "WEB_PORT": "0", "PYTHONWARNINGS": "default"})
    process = subprocess.Popen(
        [sys.executable, "-X", "dev", "-m", "bot"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out, err = LineReader(process.stdout), LineReader(process.stderr)
    try:
        assert out.wait_for("Sign-in link for owner", 60), "".join(err.lines)
        assert err.wait_for("Ready as FoundryCord in 1 guild(s)", 60), "".join(err.lines)
        link = next(line for line in out.lines if "Sign-in link" in line).split()[-1]
        assert link.startswith("http://127.0.0.1:") and ":0/" not in link  # the real port
        process.send_signal(stop_signal)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        out.close()
        log = err.close()
    assert "Shutting down" in log
    for bad in ("Task was destroyed", "Unclosed", "Traceback", "never awaited"):
        assert bad not in log, log[-3000:]
    assert (tmp_path / "data" / "logs" / "foundrycord.log").exists()
    assert oct((tmp_path / "data" / "secret_key").stat().st_mode & 0o777) == "0o600"
    world = tmp_path / "data" / "sandbox_world.json"  # saved at shutdown, for the next start
    assert oct(world.stat().st_mode & 0o777) == "0o600"
    assert "Foundry Homelab" in world.read_text()


def test_a_signal_during_start_up_retries_stops_at_once(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_"))}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "DISCORD_TOKEN": "not-a-real-token",
            "DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:1/foundry",
            "DB_CONNECT_RETRIES": "8",  # about four minutes of backoff if not interrupted
            "WEB_PORT": "0",
        }
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    err = LineReader(process.stderr)
    try:
        assert err.wait_for("retrying in", 60), "".join(err.lines)
        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        log = err.close()
    assert "Shutting down" in log and "Traceback" not in log


def test_a_refused_token_is_one_clear_line(tmp_path: Path) -> None:
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--token", "the-right-token", "--no-demo"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    out = LineReader(sandbox.stdout)
    try:
        assert out.wait_for("Sandbox listening on", 30)
        url = next(line for line in out.lines if "listening" in line).split()[-1]
        result = run_bot(
            ["--sandbox-url", url],
            {"DISCORD_TOKEN": "a-wrong-token", "WEB_PORT": "0", "DATA_DIR": "data"},
            tmp_path,
        )
    finally:
        sandbox.terminate()
        sandbox.wait(10)
        out.close()
    assert result.returncode == 2
    assert "foundrycord: error: Discord refused the token: check DISCORD_TOKEN" in result.stderr
    assert "a-wrong-token" not in result.stderr
    assert "Traceback" not in result.stderr


class Terminal(io.StringIO):
    """Typed answers on a terminal."""

    def isatty(self) -> bool:
        return True


def _saved_world(tmp_path: Path) -> Path:
    path = tmp_path / "data" / "sandbox_world.json"
    path.parent.mkdir()
    path.write_text("{}")
    return path


def test_sandbox_reset_without_a_terminal_refuses_and_keeps_the_world(tmp_path: Path) -> None:
    path = _saved_world(tmp_path)
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "DATABASE_"))}
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--sandbox-reset"],
        cwd=tmp_path,
        env={**clean, "PYTHONPATH": str(ROOT), "DATA_DIR": "data", "WEB_PORT": "0"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "foundrycord: error: --sandbox-reset deletes the saved sandbox world in "
        "data/sandbox_world.json; run it in a terminal to confirm, or add --yes"
    ]
    assert path.exists()


@pytest.mark.parametrize(("answer", "deleted"), [("y\n", True), ("yes\n", True), ("\n", False)])
def test_sandbox_reset_asks_on_a_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], answer: str, deleted: bool
) -> None:
    from bot.__main__ import reset_sandbox_world
    from bot.settings import Settings

    path = _saved_world(tmp_path)
    code = reset_sandbox_world(
        Settings(data_dir=path.parent), assume_yes=False, stdin=Terminal(answer)
    )
    out = capsys.readouterr().out
    assert "Delete the saved sandbox world" in out and "[y/N]" in out
    assert path.exists() is not deleted
    assert code == (None if deleted else 0)  # None: go on and run with a fresh world


def test_sandbox_reset_with_yes_does_not_ask(tmp_path: Path) -> None:
    from bot.__main__ import reset_sandbox_world
    from bot.settings import Settings

    path = _saved_world(tmp_path)
    stdin = io.StringIO("")  # not a terminal, and never read
    assert reset_sandbox_world(Settings(data_dir=path.parent), assume_yes=True, stdin=stdin) is None
    assert not path.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--yes"], "--yes only goes with --sandbox-reset"),
        (
            ["--sandbox-reset", "--sandbox-url", "http://127.0.0.1:1"],
            "it does not apply to a sandbox at --sandbox-url",
        ),
    ],
)
def test_sandbox_reset_misuse_is_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    from bot.__main__ import main

    monkeypatch.chdir(tmp_path)
    assert main(["--env-file", os.devnull, *args]) == 2
    assert message in capsys.readouterr().err
