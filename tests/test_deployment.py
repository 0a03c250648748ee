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
