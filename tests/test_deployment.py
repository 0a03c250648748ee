"""The container files: the compose file validates, and the image runs as a non-root user
with a health check."""

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_compose_file_validates_with_docker_compose() -> None:
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (CI installs Debian's docker-compose)")
    result = subprocess.run(
        ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), "config"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    config = result.stdout
    assert "127.0.0.1:8080:8080" in config  # web port on loopback only
    assert "postgres:17-alpine" in config
    assert "service_healthy" in config


def test_dockerfile_uses_python_312_a_node_stage_a_non_root_user_and_a_healthcheck() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.12-slim" in text
    assert "FROM node:" in text and "npm ci" in text
    assert "\nUSER foundry" in text
    assert "HEALTHCHECK" in text and "/healthz" in text


def test_the_image_compiles_bytecode_at_build_time(tmp_path: Path) -> None:
    import re
    import shlex
    import sys

    text = (ROOT / "Dockerfile").read_text()
    assert "--no-compile" not in text
    assert "PYTHONDONTWRITEBYTECODE" not in text
    match = re.search(r"^RUN (python -m compileall .*)$", text, re.MULTILINE)
    assert match, "the Dockerfile must compile the project with compileall"
    args = shlex.split(match.group(1))
    folders = [arg for arg in args[3:] if not arg.startswith("-") and arg != "0"]
    copied = set(re.findall(r"^COPY (\w+) \./\1$", text, re.MULTILINE))
    assert set(folders) <= copied, "compileall must cover folders the image copies"
    for folder in folders:
        shutil.copytree(
            ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("*.pyc", "node_modules")
        )
    result = subprocess.run(
        [sys.executable, *args[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    sources = [p for folder in folders for p in (tmp_path / folder).rglob("*.py")]
    uncompiled = [
        p for p in sources if not list((p.parent / "__pycache__").glob(f"{p.stem}.cpython-*.pyc"))
    ]
    assert sources and uncompiled == []


def test_the_compose_file_has_a_two_process_example_behind_a_profile() -> None:
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (CI installs Debian's docker-compose)")

    def config(*args: str) -> str:
        result = subprocess.run(
            ["docker-compose", "-f", str(ROOT / "docker-compose.yml"), *args, "config"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=60,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    import re

    cluster = config("--profile", "cluster")
    assert "SHARD_IDS: 0-1" in cluster and "SHARD_IDS: 2-3" in cluster
    assert "INTERNAL_URL: http://bot-a:8080" in cluster
    # Both behind the profile: a plain `docker compose up` runs the one `bot` service.
    for service in ("bot-a", "bot-b"):
        block = re.search(rf"\n  {service}:\n(.*?)\n  \S", cluster, re.DOTALL)
        assert block and "profiles:\n    - cluster" in block.group(1), service
