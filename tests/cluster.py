"""Real bot processes (`python -m bot`) sharing one sharded sandbox and one PostgreSQL
database, for the multi-process tests and bench/cluster.py.

Each process runs as in production: DISCORD_TOKEN set, DISCORD_API_BASE pointing at the
sandbox (as at a REST proxy), its own SHARD_IDS, one SECRET_KEY for all."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SECRET = "cluster-test-secret-key-" + "x" * 24


@dataclass
class BotProc:
    name: str
    shard_ids: str
    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    web_url: str | None = None
    _reader: asyncio.Task[None] | None = None

    async def read(self) -> None:
        assert self.process.stdout is not None
        async for raw in self.process.stdout:
            line = raw.decode(errors="replace").rstrip()
            self.lines.append(line)
            if line.startswith("Web editor: "):
                self.web_url = line.split()[-1]

    def log(self) -> str:
        return "\n".join(self.lines)

    @property
    def pid(self) -> int:
        return self.process.pid


class BotCluster:
    """Starts and stops bot processes against `api_base` and `database_url`."""

    def __init__(
        self,
        api_base: str,
        token: str,
        database_url: str,
        data_root: Path,
        shard_count: int,
        *,
        owner_id: int | None = None,
        features: str = "admin",
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.api_base = api_base
        self.token = token
        self.database_url = database_url
        self.data_root = data_root
        self.shard_count = shard_count
        self.owner_id = owner_id
        self.features = features
        self.extra_env = extra_env or {}
        self.procs: dict[str, BotProc] = {}

    def env(self, name: str, shard_ids: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH")
        }
        env.update(
            {
                "DISCORD_TOKEN": self.token,
                "DISCORD_API_BASE": self.api_base,
                "DATABASE_URL": self.database_url,
                "SECRET_KEY": SECRET,
                "SHARD_COUNT": str(self.shard_count),
                "SHARD_IDS": shard_ids,
                "DATA_DIR": str(self.data_root / name),
                "WEB_PORT": "0",
                "DB_CONNECT_RETRIES": "0",
                "FEATURES": self.features,
                "DISCORD_GLOBAL_RATE": str(max(1, 50 // max(1, self.shard_count))),
                "LOG_LEVEL": "INFO",
                "PYTHONUNBUFFERED": "1",
            }
        )
        if self.owner_id is not None:
            env["OWNER_IDS"] = str(self.owner_id)
        env.update(self.extra_env)
        return env

    async def start(self, name: str, shard_ids: str) -> BotProc:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "--env-file",
            os.devnull,
            cwd=ROOT,
            env=self.env(name, shard_ids),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        proc = BotProc(name, shard_ids, process)
        proc._reader = asyncio.create_task(proc.read())
        self.procs[name] = proc
        return proc

    async def wait_ready(self, proc: BotProc, timeout: float = 60.0) -> None:
        """Until the process logs that it is ready (every guild of its shards admitted)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not any("Ready as" in line for line in proc.lines):
            if proc.process.returncode is not None:
                raise AssertionError(f"{proc.name} exited early:\n{proc.log()}")
            if loop.time() > deadline:
                raise AssertionError(f"{proc.name} not ready within {timeout} s:\n{proc.log()}")
            await asyncio.sleep(0.1)

    async def stop(self, name: str, *, kill: bool = False, timeout: float = 30.0) -> int:
        proc = self.procs.pop(name)
        if proc.process.returncode is None:
            proc.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        try:
            code = await asyncio.wait_for(proc.process.wait(), timeout)
        except TimeoutError:
            proc.process.kill()
            code = await proc.process.wait()
        if proc._reader is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc._reader, 5)
        return code

    async def stop_all(self) -> None:
        for name in list(self.procs):
            await self.stop(name)


async def eventually(check, what: str, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    """`await check()` until truthy, or fail naming `what` (bounded, polled)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        await asyncio.sleep(0.1)
