"""bot/malloc.py: the arena cap applies on glibc, and the operator's MALLOC_ARENA_MAX wins."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

from bot.malloc import limit_arenas

CODE = "from bot.malloc import limit_arenas; print(limit_arenas())"


def run(env: dict[str, str]) -> str:
    result = subprocess.run(
        [sys.executable, "-c", CODE], capture_output=True, text=True, check=True, env=env
    )
    return result.stdout.strip()


def test_the_cap_applies_on_glibc() -> None:
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("mallopt's M_ARENA_MAX is glibc's")
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    assert run(env) == "True"


def test_the_environment_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert limit_arenas() is False
