"""The monitoring agent: this host's collectors without the bot (no gateway, no web).

It writes samples to the shared database (DATABASE_URL), or, given a URL and token, posts
them to a web editor's ingestion endpoint. Posts that fail for a moment are kept (up to an
hour's worth) and sent with the next one; a refused token stops the agent with a clear
message, since retrying cannot help."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import deque
from dataclasses import dataclass
from typing import Any

import aiohttp

from cogs.monitoring.collectors.docker import DockerCollector
from cogs.monitoring.collectors.gpu import GpuCollector
from cogs.monitoring.collectors.system import SystemCollector, use_host_proc
from cogs.monitoring.sampler import Sampler, Snapshot, Source, sleep_unless_stopped

log = logging.getLogger(__name__)

INGEST_PATH = "/api/monitoring/ingest"
MAX_BACKLOG = 360


class AgentRefused(Exception):
    """The web editor refused the token; the message says what to do."""


@dataclass
class AgentConfig:
    host: str
    interval_s: float = 10.0
    docker_host: str = "unix:///var/run/docker.sock"
    host_proc: str | None = None
    url: str = ""
    token: str = ""
    database_url: str = ""


class HttpSink:
    """Posts samples to the web editor, keeping a backlog while it cannot be reached."""

    def __init__(self, url: str, token: str, *, timeout_s: float = 10) -> None:
        self.endpoint = url.rstrip("/") + INGEST_PATH
        self.token = token
        self.backlog: deque[dict[str, Any]] = deque(maxlen=MAX_BACKLOG)
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s))
        self._warned = False

    async def __call__(self, snapshot: Snapshot) -> None:
        self.backlog.append({"ts": snapshot.ts, "metrics": snapshot.metrics})
        batch = list(self.backlog)
        try:
            async with self._http.post(
                self.endpoint,
                json={"samples": batch},
                headers={"Authorization": f"Bearer {self.token}"},
            ) as response:
                if response.status == 401:
                    reason = (await _answer(response)).get("error", "refused")
                    raise AgentRefused(f"the web editor refused this agent: {reason}")
                if 400 <= response.status < 500 and response.status not in (408, 429):
                    # Sending the same samples again cannot help: say why and drop them.
                    reason = (await _answer(response)).get("error", f"HTTP {response.status}")
                    log.warning("The web editor refused %d sample(s): %s", len(batch), reason)
                elif response.status != 200:
                    log.warning("Posting samples failed: HTTP %s; will retry", response.status)
                    return
                else:
                    self._report(await _answer(response))
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning(
                "Cannot reach %s (%s); keeping %d sample(s)", self.endpoint, exc, len(batch)
            )
            return
        for _ in batch:
            self.backlog.popleft()

    def _report(self, answer: dict[str, Any]) -> None:
        """Say once which metrics the web editor did not store, and why."""
        refused = answer.get("not_stored") or {}
        if not isinstance(refused, dict) or not refused or self._warned:
            return
        self._warned = True
        name, why = next(iter(refused.items()))
        log.warning(
            "The web editor did not store %s metric(s), e.g. %r: %s",
            answer.get("not_stored_count", len(refused)), name, why,
        )  # fmt: skip

    async def close(self) -> None:
        await self._http.close()


async def _answer(response: aiohttp.ClientResponse) -> dict[str, Any]:
    try:
        answer = await response.json(content_type=None)
    except (ValueError, aiohttp.ClientError):
        return {}
    return answer if isinstance(answer, dict) else {}


class DatabaseSink:
    """Writes samples to the shared database, and keeps this host's history tidy."""

    def __init__(self, db: Any, host: str) -> None:
        from cogs.monitoring.history import HistoryStore

        self.db = db
        self.history = HistoryStore(db)
        self.host = host
        self._ticks = 0

    async def __call__(self, snapshot: Snapshot) -> None:
        await self.history.write(self.host, snapshot.ts, snapshot.metrics)
        self._ticks += 1
        if self._ticks % 30 == 0:
            await self.history.rollup(snapshot.ts)
            await self.history.prune(snapshot.ts)

    async def close(self) -> None:
        await self.db.dispose()


def build_sampler(config: AgentConfig) -> tuple[Sampler, DockerCollector]:
    use_host_proc(config.host_proc)
    system, gpu, docker = SystemCollector(), GpuCollector(), DockerCollector(config.docker_host)
    sampler = Sampler(
        config.host,
        [
            Source("system", system.collect, timeout_s=5, blocking=True),
            Source("gpu", gpu.collect, timeout_s=5, blocking=True),
            Source("docker", docker.collect, timeout_s=8),
        ],
        interval_s=config.interval_s,
    )
    return sampler, docker


async def run_agent(
    config: AgentConfig, *, samples: int | None = None, stop: asyncio.Event | None = None
) -> int:
    """Sample until stopped (or `samples` times); the process exit code."""
    if config.url:
        if not config.token:
            print("foundrycord agent: error: AGENT_URL needs AGENT_TOKEN (--token)")
            return 2
        sink: HttpSink | DatabaseSink = HttpSink(config.url, config.token)
        where = config.url
    else:
        from bot.database import Database, DatabaseUnavailable
        from bot.migrate import MigrationFailed, ensure_migrated

        try:
            db = await Database.connect(config.database_url, retries=3)
        except DatabaseUnavailable as exc:
            print(f"foundrycord agent: error: {exc}")
            return 2
        try:
            await ensure_migrated(db)
        except MigrationFailed as exc:
            await db.dispose()
            print(f"foundrycord agent: error: {exc}")
            return 2
        sink = DatabaseSink(db, config.host)
        where = "the database"
    sampler, docker = build_sampler(config)
    stop = stop or asyncio.Event()
    log.info("Agent for host %s sending every %g s to %s", config.host, sampler.interval_s, where)
    taken = 0
    try:
        while not stop.is_set():
            snapshot = await sampler.tick()
            try:
                await sink(snapshot)
            except AgentRefused:
                raise
            except Exception:  # a database hiccup: keep sampling, log it
                log.exception("Storing a sample failed")
            taken += 1
            if samples is not None and taken >= samples:
                break
            if await sleep_unless_stopped(stop, sampler.interval_s):
                break
    except AgentRefused as exc:
        print(f"foundrycord agent: error: {exc}")
        return 2
    finally:
        await docker.close()
        await sink.close()
        sampler.close()
    return 0


def default_host() -> str:
    return socket.gethostname()[:64]
