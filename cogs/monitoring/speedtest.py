"""Speedtests with speedtest-cli (imported on first use), in a worker thread, one at a time."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SpeedtestResult:
    download_mbps: float
    upload_mbps: float
    ping_ms: float
    server: str
    at: float


class SpeedtestError(Exception):
    """The test could not run; the message is a sentence for the user."""


class SpeedtestBusy(SpeedtestError):
    pass


def _default_client() -> Any:
    import speedtest

    return speedtest.Speedtest(secure=True, timeout=10)


class SpeedtestRunner:
    def __init__(self, client_factory: Callable[[], Any] = _default_client) -> None:
        self.client_factory = client_factory
        self._lock = asyncio.Lock()
        self.last: SpeedtestResult | None = None

    @property
    def running(self) -> bool:
        return self._lock.locked()

    async def run(self) -> SpeedtestResult:
        """Run one test; SpeedtestBusy if one is already running, SpeedtestError on failure."""
        if self._lock.locked():
            raise SpeedtestBusy("A speedtest is already running; wait for its result.")
        async with self._lock:
            result = await asyncio.to_thread(self._run_blocking)
            self.last = result
            return result

    def _run_blocking(self) -> SpeedtestResult:
        try:
            client = self.client_factory()
            client.get_best_server()
            client.download()
            client.upload(pre_allocate=False)
        except Exception as exc:
            raise SpeedtestError(_explain(exc)) from exc
        results = client.results
        server = results.server or {}
        return SpeedtestResult(
            download_mbps=results.download / 1e6,
            upload_mbps=results.upload / 1e6,
            ping_ms=float(results.ping),
            server=f"{server.get('sponsor', '?')} ({server.get('name', '?')})",
            at=time.time(),
        )


def _explain(exc: Exception) -> str:
    from urllib.error import URLError

    if isinstance(exc, URLError | OSError | TimeoutError) or type(exc).__name__ in (
        "ConfigRetrievalError",
        "ServersRetrievalError",
        "NoMatchedServers",
        "SpeedtestBestServerFailure",
    ):
        return (
            "The speedtest could not reach speedtest.net: this host seems to have no internet "
            f"connection ({type(exc).__name__}: {exc})."
        )
    return f"The speedtest failed: {type(exc).__name__}: {exc}"
